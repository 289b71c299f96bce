"""A notebook function as a tool declaration: its schema from the type hints and the
docstring, the refusals at ``tools=`` time, the checking of an agent's arguments, and what a
result becomes on its way back."""

from __future__ import annotations

import dataclasses
import enum
import threading
from typing import Literal

import pandas as pd
import pydantic
import pytest

import agentnb
from agentnb._core.client_tools import MAX_RESULT_CHARS, client_tools, result_text
from agentnb._core.request import build_request


def f(ticker: str, shares: int = 1) -> float:
    """Price a position.

    Uses the demo prices.

    Args:
        ticker: The stock symbol.
        shares: How many shares.
    """
    return 1.0


def test_the_schema_of_a_plain_function() -> None:
    declared = agentnb.tool(f)
    assert declared.declaration() == {
        "name": "f",
        "description": "Price a position.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ticker": {"type": "string", "description": "The stock symbol."},
                "shares": {"type": "integer", "default": 1, "description": "How many shares."},
            },
            "required": ["ticker"],
        },
    }


def test_the_description_is_the_docstrings_whole_first_paragraph() -> None:
    def reST(name: str) -> str:
        """Describe one variable (its columns, dtypes,
        nulls and a few rows).

        Not sent.

        :param name: the variable
        """
        return name

    def google(name: str) -> str:
        """Describe one variable (its columns, dtypes,
        nulls and a few rows).

        Args:
            name: the variable
        """
        return name

    def one_paragraph(name: str) -> str:
        """Describe one variable (its columns, dtypes,
        nulls and a few rows)."""
        return name

    for fn in (reST, google, one_paragraph):
        declared = agentnb.tool(fn)
        assert declared.description == (
            "Describe one variable (its columns, dtypes, nulls and a few rows)."
        ), fn.__name__


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


@dataclasses.dataclass
class Limit:
    price: float


class Account(pydantic.BaseModel):
    number: str


def order(
    side: Side,
    kind: Literal["market", "limit"],
    limit: Limit | None,
    account: Account,
    note: str | None = None,
) -> str:
    """Place an order."""
    return f"{side.value} {kind} {limit} {account.number} {note}"


def test_the_other_parameter_kinds() -> None:
    schema = agentnb.tool(order).parameters
    assert schema["required"] == ["side", "kind", "limit", "account"]
    props = schema["properties"]
    assert props["side"] == {"$ref": "#/$defs/Side"}
    assert schema["$defs"]["Side"]["enum"] == ["buy", "sell"]
    assert props["kind"] == {"type": "string", "enum": ["market", "limit"]}
    assert props["limit"] == {"anyOf": [{"$ref": "#/$defs/Limit"}, {"type": "null"}]}
    assert schema["$defs"]["Limit"]["properties"]["price"]["type"] == "number"
    assert schema["$defs"]["Account"]["required"] == ["number"]
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


def test_arguments_are_checked_and_converted_before_the_function_runs() -> None:
    declared = agentnb.tool(order)
    given = {"side": "buy", "kind": "limit", "limit": {"price": 1.5}, "account": {"number": "7"}}
    checked = declared.checked_arguments(given)
    assert order(**checked) == "buy limit Limit(price=1.5) 7 None"
    with pytest.raises(ValueError, match=r"^invalid arguments for order: side: Input should be"):
        declared.checked_arguments({**given, "side": "hold"})
    with pytest.raises(ValueError, match="extra: Extra inputs are not permitted"):
        declared.checked_arguments({**given, "extra": 1})
    with pytest.raises(ValueError, match="must be a JSON object"):
        declared.checked_arguments(["buy"])


def test_what_an_agent_could_not_call_is_refused_when_tools_are_given() -> None:
    def star(*tickers: str) -> None: ...

    def keywords(**prices: float) -> None: ...

    def locked(lock: threading.Lock) -> None: ...

    for fn, said in (
        (star, "tool 'star' takes *tickers: an agent calls a tool with named arguments only"),
        (keywords, "tool 'keywords' takes **prices"),
        (locked, "tool 'locked' has a parameter type with no JSON form"),
    ):
        with pytest.raises(agentnb.ConfigurationError, match=f"^{said}".replace("*", r"\*")):
            build_request("agent", "hi", tools=[fn])
    with pytest.raises(agentnb.ConfigurationError, match="names f more than once"):
        client_tools([f, agentnb.tool(f)])
    with pytest.raises(agentnb.ConfigurationError, match="'a tool' is not one"):
        agentnb.tool(f, name="a tool")
    with pytest.raises(agentnb.ConfigurationError, match="takes a list"):
        build_request("agent", "hi", tools=f)  # type: ignore[typeddict-item]


def test_a_raw_declaration_is_declared_and_runs_nothing() -> None:
    [raw] = client_tools([{"name": "show_chart", "description": "Draw it."}])
    assert raw.function is None
    assert raw.declaration() == {
        "name": "show_chart",
        "description": "Draw it.",
        "parameters": {"type": "object", "properties": {}},
    }


def test_what_a_result_becomes() -> None:
    assert result_text("plain text") == "plain text"
    assert result_text({"price": 1.5, "side": Side.BUY}) == '{"price": 1.5, "side": "buy"}'
    assert result_text(Limit(2.0)) == '{"price": 2.0}'
    assert result_text(object).startswith("<class 'object'>")
    frame = pd.DataFrame({"n": range(60)})
    table = result_text(frame)
    assert table.startswith("     n\n0    0\n") and table.endswith("\n[50 of 60 rows shown]")
    cut = result_text("x" * (MAX_RESULT_CHARS + 5))
    assert cut == "x" * MAX_RESULT_CHARS + "\n[cut: 5 more characters not sent]"


def test_a_figure_returned_is_read_as_a_person_reads_it() -> None:
    """A notebook tool returning a figure gave the agent its repr, ``<Figure size 400x200
    with 1 Axes>``; it gets what ``@fig`` sends: the size, the titles, each axis's label and
    range, what is drawn and the legend (one reading: a plot returned alone, an ``Axes`` as
    ``df.plot()`` returns, is read the same way)."""
    matplotlib_figure = pytest.importorskip("matplotlib.figure")
    fig = matplotlib_figure.Figure(figsize=(4, 2))
    fig.suptitle("Sales")
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [10, 30, 20], label="north")
    ax.set(title="Revenue by month", xlabel="month", ylabel="revenue (USD)", ylim=(0, 40))
    ax.legend()
    assert result_text(fig) == (
        "matplotlib Figure 400×200 px, 1 plot, titled 'Sales'\n"
        "plot 1: 'Revenue by month'\n"
        "  x: 'month', from 0.9 to 3.1\n"
        "  y: 'revenue (USD)', from 0 to 40\n"
        "  1 line; legend: 'north'"
    )
    assert result_text(ax).startswith("matplotlib Axes 'Revenue by month'\n  x: 'month'")
