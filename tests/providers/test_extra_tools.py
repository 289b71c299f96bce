"""A ``tools`` list in ``extra=`` beside ``tools=``: the declared tools are sent first, the
extra ones (a platform's hosted tools, a frontend's own) after them, in every dialect that
takes tools, as openai-python sends one ``tools`` list holding both kinds. A name in both,
or an ``extra`` ``tools`` that is no list, is a ConfigurationError naming both."""

from __future__ import annotations

from typing import Any

import pytest

from agentnb import ConfigurationError
from agentnb._core.request import build_request
from agentnb.providers import get_provider

WEB_SEARCH = {"type": "web_search"}


def price(ticker: str) -> float:
    """The last price of a ticker."""
    return 1.0


def names(tools: list[dict[str, Any]]) -> list[str]:
    return [t.get("name") or t.get("function", {}).get("name") or t["type"] for t in tools]


@pytest.mark.parametrize("dialect", ["openai", "openai-responses", "vercel", "ag-ui"])
def test_extra_tools_follow_the_declared_ones(dialect: str) -> None:
    request = build_request("gpt", "hi", tools=[price], extra={"tools": [WEB_SEARCH], "x": 1})
    body = get_provider(dialect).stream_http_request(request).json
    assert names(body["tools"]) == ["price", "web_search"]
    assert body["x"] == 1


@pytest.mark.parametrize("dialect", ["openai", "openai-responses", "vercel", "ag-ui"])
def test_extra_tools_alone_are_sent_as_they_are(dialect: str) -> None:
    request = build_request("gpt", "hi", extra={"tools": [WEB_SEARCH]})
    body = get_provider(dialect).stream_http_request(request).json
    assert body["tools"] == [WEB_SEARCH]


def test_a_tool_named_in_both_is_refused_naming_both() -> None:
    same = {"type": "function", "function": {"name": "price", "parameters": {}}}
    with pytest.raises(ConfigurationError, match=r"price.*tools=.*extra") as caught:
        build_request("gpt", "hi", tools=[price], extra={"tools": [same]})
    assert "extra" in str(caught.value)


def test_extra_tools_that_are_no_list_are_refused_beside_declared_tools() -> None:
    with pytest.raises(ConfigurationError, match=r"extra.*tools.*list"):
        build_request("gpt", "hi", tools=[price], extra={"tools": WEB_SEARCH})


@pytest.mark.parametrize("dialect", ["openai", "openai-responses", "operativus", "runtools"])
def test_extra_metadata_merges_with_the_metadata_option(dialect: str) -> None:
    """``extra={"metadata": ...}`` beside ``metadata=`` sends both (it replaced the option's
    keys without a word); on a key given twice the extra's value wins, as its fields do."""
    request = build_request(
        "agent", "hi", metadata={"user": "ana", "team": "a"}, extra={"metadata": {"team": "b"}}
    )
    body = get_provider(dialect).stream_http_request(request).json
    found = body.get("metadata") or body.get("config", {}).get("metadata")
    assert found is not None and {"user": "ana", "team": "b"}.items() <= found.items()
