"""Round 7 of the notebook's trust: ``@name`` is expanded only where the person typed it.

Issue 66's "Mentions in untrusted text": ``ask()`` expanded ``@name`` anywhere in a message,
so text interpolated into it (a scraped review: ``"… cc @cfg @In[1]"``) pulled variables and
cells into the request, and a handle naming no variable (``@bob_smith``) made the call raise.
Here: how a message is read for mentions (typed, asked, text), ``attach=``, the escape that
keeps text as it is, and how a literal typed in the call is told from text made at run time
(the real kernel's runs are tests/notebook/test_context_kernel.py's)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentnb import ConfigurationError
from agentnb._app.attachments import as_text, attach_context, notebook_context
from agentnb._app.context_tools import Kernel
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
