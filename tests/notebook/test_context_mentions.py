"""Round 7 of the notebook's trust: ``@name`` is expanded only where the person typed it.

Issue 66's "Mentions in untrusted text": ``ask()`` expanded ``@name`` anywhere in a message,
so text interpolated into it (a scraped review: ``"… cc @cfg @In[1]"``) pulled variables and
cells into the request, and a handle naming no variable (``@bob_smith``) made the call raise.
Here: how a message is read for mentions (typed, asked, text), ``attach=``, the escape that
keeps text as it is, and how a literal typed in the call is told from text made at run time
(the real kernel's runs are tests/notebook/test_context_kernel.py's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from context_testing import attach_context
from hypothesis import given
from hypothesis import strategies as st

from agentnb import ConfigurationError
from agentnb._app.context.attachments import as_text, attached, notebook_context
from agentnb._app.context.context_tools import Kernel
from agentnb._core.call_site import typed_literal

NONCE = "0123456789abcdef"
REVIEW = "Great product! cc @cfg @In[1] @bob_smith, mail ann@example.com"


def kernel() -> Kernel:
    return Kernel(
        {
            "cfg": {"host": "db.internal"},
            "df": pd.DataFrame({"a": [1]}),
            "In": ["", "plan = 1"],
            "Out": {},
        }
    )


def test_text_not_typed_goes_as_it_is_and_attaches_nothing() -> None:
    sent = attach_context(f"Summarize: {REVIEW}", kernel(), NONCE, mentions="text")
    assert sent == f"Summarize: {REVIEW}"  # no data block, @bob_smith did not raise


def test_text_asked_to_be_read_attaches_what_it_names_and_leaves_the_rest() -> None:
    sent = attach_context(f"Summarize: {REVIEW}", kernel(), NONCE, mentions="asked")
    head, block = sent.split("\n\n", 1)
    assert head == f"Summarize: {REVIEW}"
    assert "@cfg: dict, 1 key" in block and "@In[1]:\nplan = 1" in block
    assert "@bob_smith" not in block


def test_typed_text_refuses_a_name_the_kernel_lacks() -> None:
    with pytest.raises(ConfigurationError, match="@bob_smith: no variable 'bob_smith'"):
        attach_context(REVIEW, kernel(), NONCE)


def test_attach_names_what_to_attach_whatever_the_message_says() -> None:
    sent = attach_context(REVIEW, kernel(), NONCE, mentions="text", attach=["cfg", "@df"])
    head, block = sent.split("\n\n", 1)
    assert head == REVIEW
    assert "@cfg: dict, 1 key" in block and "@df: pandas DataFrame" in block
    assert "@In[1]" not in block
    with pytest.raises(ConfigurationError, match="no variable 'nope'"):
        attach_context("hi", kernel(), NONCE, attach=["nope"])
    with pytest.raises(ConfigurationError, match="attach= takes names as a mention names them"):
        attach_context("hi", kernel(), NONCE, attach=["cfg; @df"])
    with pytest.raises(ConfigurationError, match=r"a list of names, not one string: \['cfg'\]"):
        notebook_context("hi", None, context=False, attach="cfg")


@pytest.mark.parametrize(
    "text",
    [REVIEW, "@@home and @@@x", "`@cfg` in code, @cfg out of it", "a@b.com @", "@In[1]@cfg"],
)
def test_text_written_as_text_is_sent_as_it_was(text: str) -> None:
    assert attach_context(as_text(text), kernel(), NONCE) == text


@given(st.text(alphabet="@@@a_.`[]1InOut \n", max_size=40))
def test_any_text_written_as_text_is_sent_as_it_was(text: str) -> None:
    assert attach_context(as_text(text), kernel(), NONCE) == text


def _as_agentnb(source: str) -> dict[str, Any]:
    """Functions compiled as agentnb's own: their callers are the user's frames."""
    namespace: dict[str, Any] = {"__name__": "agentnb._app.fake", "typed_literal": typed_literal}
    exec(source, namespace)
    return namespace


def test_a_literal_typed_in_the_call_is_told_from_text_made_at_run_time() -> None:
    ns = _as_agentnb(
        "def ask(agent, message):\n"
        "    return typed_literal(message, 1, 'message')\n"
        "class Cell:\n"
        "    def ask(self, text):\n"
        "        return typed_literal(text, 0, 'text')\n"
    )
    ask, cell = ns["ask"], ns["Cell"]()
    review = "cc @cfg"

    def helper(message: str) -> bool:
        return bool(ask("a", message))

    assert ask("a", "What is @df?")
    assert ask(
        "a",
        message=(
            "implicitly "  # two literals, one string
            "joined @df"
        ),
    )
    assert ask("a", f"an f-string with nothing in it @df")  # noqa: F541
    assert cell.ask("What does @cfg say?")
    assert not ask("a", f"Summarize: {review}")
    assert not ask("a", review)
    assert not ask("a", "prefix " + review)
    assert not cell.ask(text=review)
    assert not helper("@df")  # through a function of the user's: not this call's literal
    assert not ask(*["a"], "@df")  # a starred call's places are not read


# ---- @./file: a mention with a / names a file under the working directory -----------------
def test_a_mention_with_a_slash_attaches_the_files_first_lines_redacted(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "io.py").write_text('def read():\n    token = "abcdefgh12345678"\n')
    (tmp_path / "notes.txt").write_text("remember the milk\n")
    at = Kernel({"df": pd.DataFrame({"a": [1]})}, cwd=tmp_path)
    sent = attached("See @src/io.py and @./notes.txt, then @df.a.", at, NONCE)
    head, block = sent.message.split("\n\n", 1)
    assert head == "See @src/io.py and @./notes.txt, then @df.a."
    assert "@src/io.py (first 2 lines):\ndef read():" in block
    assert "abcdefgh12345678" not in block and "token = " in block  # redacted as every read
    assert "@./notes.txt (first 1 line):\nremember the milk" in block
    assert "@df.a: pandas Series" in block  # a name with a dot is still a name
    assert sent.attachments is not None
    assert sent.attachments.message == head
    items = {item.mention: item for item in sent.attachments.items}
    assert items["@src/io.py"].uri == (tmp_path / "src" / "io.py").as_uri()
    assert items["@src/io.py"].mime_type == "text/x-python" and items["@src/io.py"].file
    assert items["@./notes.txt"].mime_type == "text/plain"
    assert items["@df.a"].uri == "agentnb:notebook/df.a" and not items["@df.a"].file
    assert all(item.text.startswith(f'<notebook-data id="{NONCE}">') for item in items.values())


@pytest.mark.parametrize(
    ("mention", "why"),
    [
        ("@./missing.py", "'./missing.py' is not a file under the working directory"),
        ("@../outside.py", "is outside the working directory"),
        ("@./.env", "'.env' is never read: it may hold secrets"),
        ("@.git/config", "inside .git/, a folder that holds secrets"),
    ],
)
def test_a_file_mention_that_cannot_be_read_is_refused_saying_why(
    tmp_path: Path, mention: str, why: str
) -> None:
    (tmp_path / ".env").write_text("KEY=1\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n")
    with pytest.raises(ConfigurationError, match="a mention with a / names a file") as raised:
        attach_context(f"read {mention}", Kernel({}, cwd=tmp_path), NONCE)
    assert why in str(raised.value) and str(raised.value).startswith(mention)


def test_a_file_mention_written_as_text_is_sent_as_it_was(tmp_path: Path) -> None:
    text = "see @./a.py, @src/b.py and mail@host.org/x"
    assert attach_context(as_text(text), Kernel({}, cwd=tmp_path), NONCE) == text
    assert attach_context(text, Kernel({}, cwd=tmp_path), NONCE, mentions="asked") == text


@given(st.text(alphabet="@@a_./-`[]1In \n", max_size=40))
def test_any_text_with_paths_written_as_text_is_sent_as_it_was(text: str) -> None:
    assert attach_context(as_text(text), kernel(), NONCE) == text
