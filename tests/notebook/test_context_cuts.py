"""Every place the notebook's context cuts a text redacts it first: a secret across the cut
(a key's shape, a secret environment variable's value, a value the kernel holds under a
secret-looking name) reaches the agent as the placeholder, never as its first characters.

Each cut point is tried with the secret placed so the cut falls 7 to 20 characters into it,
in the tool result or the attachment the agent gets."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from agentnb_testing import said_on_page
from context_testing import attach_context

from agentnb._app.context import context_summary
from agentnb._app.context.context_summary import CELL_CHARS, ITEM_CHARS, ContextSettings
from agentnb._app.context.context_tools import Kernel, context_tools

SECRETS = {
    "key shape": "sk-proj-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    "environment": "correct-horse-battery-staple-0042",
    "secret name": "plain words the db password holds",
}
PAD = ","  # not a character of a key: the key's shape starts where it starts
NONCE = "0123456789abcdef"
FILE_READ = ITEM_CHARS * 4
"""Bytes the head of a file reads."""
SERIES_WIDTH = 50
"""Where pandas cuts a Series' values (its display width), after the summary's own cut."""
REDACTED_KEYS = ("sk-" + "z" * 40 + " ") * 340
"""Text before a file's cut that redaction shrinks: the cut's neighbourhood comes within the
item budget of what is sent."""


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WAREHOUSE_PASSWORD", SECRETS["environment"])
    monkeypatch.setattr("agentnb._core.secrets._cache", (-10.0, ()))
    yield
    context_summary._settings = ContextSettings()


def kernel(tmp_path: Path, **names: Any) -> Kernel:
    return Kernel({"db_password": SECRETS["secret name"], **names}, cwd=tmp_path)


def tool(k: Kernel, name: str) -> Callable[..., str]:
    function = next(t.function for t in context_tools(k, NONCE) if t.name == name)
    assert function is not None
    return function


def described(value: Any, tmp_path: Path) -> str:
    return tool(kernel(tmp_path, v=value), "notebook_describe")("v")


class Repr:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class Bundle:
    def __init__(self, bundle: object) -> None:
        self.bundle = bundle

    def _ai_repr_(self) -> object:
        return self.bundle


def documented(text: str) -> Callable[[], None]:
    def load() -> None:
        pass

    load.__doc__ = text
    return load


def polars_frame(text: str) -> Any:
    pl = pytest.importorskip("polars")
    return pl.DataFrame({"note": [text]})


def last_error(text: str, tmp_path: Path) -> str:
    try:
        raise ValueError(text)
    except ValueError as error:
        raised = error
    kept = {name: getattr(sys, name, None) for name in ("last_exc", "last_value")}
    sys.last_exc = sys.last_value = raised
    try:
        return tool(kernel(tmp_path), "notebook_error")()
    finally:
        for name, value in kept.items():
            setattr(sys, name, value)


def read_file(text: str, tmp_path: Path) -> str:
    (tmp_path / "notes.txt").write_text(text)
    return tool(kernel(tmp_path), "notebook_read_file")("notes.txt")


def turn(text: str, tmp_path: Path) -> str:
    k = kernel(tmp_path, a=Bundle("a" * 3_000), b=Bundle(text))
    return attach_context("@a and @b", k, NONCE, ContextSettings(turn_chars=4_000))


@dataclass(frozen=True)
class CutPoint:
    limit: int
    """Where the text is cut."""
    before: int
    """Characters the cut text has before the value read."""
    read: Callable[[str, Path], str]
    """What the agent gets of the value."""
    whole: bool = True
    """Whether the secret is read whole (a file's read may stop inside it: then none of it
    is sent)."""


CUT_POINTS = {
    "a frame's cell": CutPoint(CELL_CHARS, 0, lambda t, p: described(pd.DataFrame({"n": [t]}), p)),
    "a series' value": CutPoint(
        SERIES_WIDTH, 0, lambda t, p: described(pd.Series([t, "x", "x"]), p)
    ),
    "a series' most frequent value": CutPoint(
        SERIES_WIDTH, 0, lambda t, p: described(pd.Series([t, t, "x"]), p)
    ),
    "a polars frame's cell": CutPoint(CELL_CHARS, 0, lambda t, p: described(polars_frame(t), p)),
    "a polars frame's statistics": CutPoint(30, 0, lambda t, p: described(polars_frame(t), p)),
    "an array's value": CutPoint(CELL_CHARS, 0, lambda t, p: described(np.array([t]), p)),
    "a dict's value": CutPoint(CELL_CHARS, 1, lambda t, p: described({"note": t}, p)),
    "a dict's key": CutPoint(CELL_CHARS, 1, lambda t, p: described({t: 1}, p)),
    "a list's item": CutPoint(CELL_CHARS, 1, lambda t, p: described([t], p)),
    "a repr": CutPoint(500, 0, lambda t, p: described(Repr(t), p)),
    "an _ai_repr_ bundle": CutPoint(2_000, 7, lambda t, p: described(Bundle({"k": t}), p)),
    "a docstring": CutPoint(500, 0, lambda t, p: described(documented(t), p)),
    "a string": CutPoint(ITEM_CHARS - 200, 0, lambda t, p: described(t, p)),
    "a summary": CutPoint(ITEM_CHARS, 3, lambda t, p: described(Bundle(t), p)),
    "a cell's source": CutPoint(
        1_000, 0, lambda t, p: tool(kernel(p, In=["", t]), "notebook_cells")()
    ),
    "a cell's output": CutPoint(
        1_000, 8, lambda t, p: tool(kernel(p, In=["", "x"], Out={1: Bundle(t)}), "notebook_cells")()
    ),
    "@In[N]": CutPoint(
        ITEM_CHARS, 0, lambda t, p: attach_context("@In[1]", kernel(p, In=["", t]), NONCE)
    ),
    "the last error": CutPoint(ITEM_CHARS, len("ValueError: "), last_error),
    "a tool's result": CutPoint(ITEM_CHARS, len("notes.txt (first 1 line):\n"), read_file),
    "a file's read": CutPoint(
        FILE_READ,
        len(REDACTED_KEYS),
        lambda t, p: read_file(REDACTED_KEYS + t, p),
        whole=False,
    ),
    "a turn's attachments": CutPoint(4_000 - len("@a: " + "a" * 3_000), 4, turn),
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("where", sorted(CUT_POINTS))
def test_a_secret_across_a_cut_is_redacted_before_the_cut(
    where: str, kind: str, tmp_path: Path
) -> None:
    said_on_page(
        "context.md",
        "Each is replaced by `***`, before anything is cut: a secret across a cut (a cell cut at "
        "80 characters, a string or a summary at its budget) is replaced whole, never sent in "
        "part. The head of a file read that stops inside the file leaves out its last "
        "characters where a secret may start.",
    )
    point, secret = CUT_POINTS[where], SECRETS[kind]
    for into in range(7, 21):
        at = point.limit - point.before - into
        sent = point.read(PAD * at + secret + PAD * 100, tmp_path)
        assert secret[:8] not in sent, f"{into} characters in: {sent[-300:]}"
        if point.whole:
            assert PAD + context_summary.REDACTED in sent, f"{into} characters in: {sent}"
