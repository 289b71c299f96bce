"""The chat cell's ``visible()`` (js/src/format.js) against Python's
(:func:`agentnb._core.text.visible`) on the same generated inputs, in one ``node`` process:
both write the same characters as ``⟨U+XXXX⟩`` (controls, format characters, separators,
surrogates, private use, unassigned code points, whitespace but the space, blank letters).

Code points Python's Unicode database leaves unassigned are drawn only from those that stay
unassigned (noncharacters): Node's ICU may know a newer Unicode than this Python."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._core.text import visible

FORMAT_JS = Path(__file__).resolve().parents[2] / "js" / "src" / "format.js"
NODE_VISIBLE = """
import(process.argv[1]).then(({ visible }) => {
  const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.stdout.write(JSON.stringify(texts.map(visible)));
});
"""
NONCHARACTERS = ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
TRICKY = [
    "\n", "\r", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
    "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u202e", "\u2066", "\u200b",
    "\u200d", "\ufeff", "\u00ad", "\u061c", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800",
    "\u180e", "\ud800", "\udfff", "\ue000", "\U000e0001", "\U000f0000", " ", "a", "é", "中",
]  # fmt: skip
texts = st.lists(
    st.text(
        st.one_of(
            st.characters(exclude_categories=["Cn"]),
            st.sampled_from(NONCHARACTERS + TRICKY),
        ),
        max_size=40,
    ),
    min_size=200,
    max_size=400,
)


def js_visible(inputs: list[str]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node")
    done = subprocess.run(
        [node, "-e", NODE_VISIBLE, FORMAT_JS.as_uri()],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=True,
    )
    shown: list[str] = json.loads(done.stdout)
    return shown


def test_the_tricky_characters_each_read_the_same() -> None:
    assert js_visible(TRICKY + NONCHARACTERS) == [visible(c) for c in TRICKY + NONCHARACTERS]


@settings(max_examples=5, deadline=None)
@given(texts)
def test_js_and_python_show_the_same_text(inputs: list[str]) -> None:
    assert js_visible(inputs) == [visible(text) for text in inputs]
