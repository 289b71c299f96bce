"""The chat input's attachments are read one at a time per cell: requests that come while a
read is under way wait, and only the latest of them is read next, so typing never queues
work in the kernel; a read that fails answers with its reason. The reads are a recording
fake at the seam (:class:`~agentnb._display.attachment_preview.Attachments`); the loop is
agentnb's own."""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from agentnb_testing import PATIENCE_S, wait_until

from agentnb._core.exceptions import ConfigurationError
from agentnb._core.loop import get_loop
from agentnb._display.attachment_preview import AttachmentPreview


class Held:
    """Reads held until released, each recorded."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.release = threading.Event()

    def preview(self, message: str) -> list[tuple[str, str]]:
        self.read.append(message)
        self.release.wait(PATIENCE_S)
        if "@dff" in message:
            raise ConfigurationError("@dff: did you mean @df?")
        return [("@df", f"summary for {message}")]

    def without(self, message: str, mentions: Collection[str]) -> str:
        return message


def test_only_the_latest_waiting_request_is_read_after_the_one_under_way() -> None:
    held, answers = Held(), []
    loop = get_loop()
    preview = AttachmentPreview(held, answers.append, loop)

    def ask(n: int, text: str) -> None:
        loop.call_soon_threadsafe(preview.request, {"kind": "preview", "n": n, "text": text})

    ask(1, "@d")
    wait_until(lambda: held.read == ["@d"])
    for n, text in enumerate(["@df", "@df,", "@dff"], start=2):
        ask(n, text)
    ask(5, "@df and more")
    held.release.set()
    wait_until(lambda: len(answers) == 2)
    assert held.read == ["@d", "@df and more"]
    assert [a["n"] for a in answers] == [1, 5]
    assert answers[1]["items"] == [{"mention": "@df", "text": "summary for @df and more"}]


def test_a_refused_message_answers_with_the_reason() -> None:
    held, answers = Held(), []
    held.release.set()
    loop = get_loop()
    preview = AttachmentPreview(held, answers.append, loop)
    bad: dict[str, Any] = {"kind": "preview", "n": 7, "text": "@dff"}
    loop.call_soon_threadsafe(preview.request, bad)
    wait_until(lambda: len(answers) == 1)
    assert answers == [
        {"kind": "attachments", "n": 7, "items": [], "error": "@dff: did you mean @df?"}
    ]
