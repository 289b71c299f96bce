"""An answer the model's token limit cut says so: the terminal's summary line, the static
copy (HTML, markdown, text) and the chat cell's status (the words the kernel sends it) of a run
whose platform ended it for its length."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, asgi_body, serving_asgi

from agentnb._app.front import connections as conns
from agentnb._app.front.run_start import start_run
from agentnb._app.past.past_runs import past_run
from agentnb._core.request import build_request
from agentnb._core.run import Run
from agentnb._display.static_copy import static_html, static_markdown, static_text
from agentnb._display.terminal import TerminalPrinter
from agentnb._display.widget_protocol import meta_wire
from agentnb.events import RunCompleted, RunStarted, TextDelta
from agentnb.history import HistoryStore

CUT = "answer cut at the token limit (length)"


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


async def _cut_short(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A Chat Completions stream whose model ran out of tokens mid-sentence."""
    if await asgi_body(scope, receive, send) is None:
        return
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    frames = [
        chat_chunk({"role": "assistant", "content": "The three reasons are: first, the"}),
        chat_chunk({}, "length"),
        b"data: [DONE]\n\n",
    ]
    for frame in frames:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(_cut_short) as base:
        yield f"{base}/v1"


def _printed_run(url: str) -> tuple[Run, str]:
    out = io.StringIO()
    conn = conns.connect("openai", base_url=url, api_key="k", name="cut")
    handle = start_run(
        conn,
        build_request("m", "three reasons?"),
        listeners=(TerminalPrinter(out, color=False),),
        record=False,
    )
    handle.wait(PATIENCE_S)
    return handle.run, out.getvalue()


def test_the_terminal_says_the_answer_was_cut_at_the_token_limit(url: str) -> None:
    run, printed = _printed_run(url)
    assert (run.status, run.finish_reason) == ("completed", "length")
    assert printed.splitlines()[-1].startswith(f"completed · {CUT}")


def test_the_static_copy_says_the_answer_was_cut_at_the_token_limit(url: str) -> None:
    run, _ = _printed_run(url)
    for copy in (static_html([run]), static_text([run])):
        assert f"completed · {CUT}" in copy
    assert "completed · answer cut at the token limit \\(length\\)" in static_markdown([run])


def ended_run(reason: str | None) -> Run:
    run = Run(agent="a", message="q")
    for event in (RunStarted(), TextDelta(delta="cut"), RunCompleted(finish_reason=reason)):
        run.apply(event)
    return run


@pytest.mark.parametrize(
    "reason", ["length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"]
)
def test_every_token_limit_reads_the_same_in_the_copy_and_the_chat_cell(reason: str) -> None:
    run = ended_run(reason)
    note = f"answer cut at the token limit ({reason})"
    assert f"completed · {note}" in static_text([run])
    assert meta_wire(run)["cut_note"] == note


@pytest.mark.parametrize("reason", [None, "stop", "end_turn", "tool_calls", "refusal"])
def test_an_answer_that_ended_on_its_own_says_nothing_of_a_limit(reason: str | None) -> None:
    run = ended_run(reason)
    assert "token limit" not in static_text([run])
    assert meta_wire(run)["cut_note"] == ""


def test_a_past_run_the_token_limit_cut_still_says_so(url: str, tmp_path: Path) -> None:
    run, _ = _printed_run(url)
    store = HistoryStore(tmp_path / "history.sqlite3")
    try:
        store.record(run)
        assert store.flush(PATIENCE_S)
        [record] = store.runs()
        again = past_run(record, [])
        assert store.runs().to_pandas()["finish_reason"].tolist() == ["length"]
    finally:
        store.close()
    assert (again.finish_reason, again.text) == ("length", run.text)
    assert f"completed · {CUT}" in static_text([again])
