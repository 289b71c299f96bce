"""The demo agents' tools: a stock-price lookup over bundled DEMO data and a safe calculator.

Both really run; a bad argument becomes a tool error (a failed tool call), never a crash.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..._core.ast_parse import parse_expression

__all__ = [
    "TOOLS",
    "PriceTable",
    "Quote",
    "ToolError",
    "ToolOutput",
    "calculate",
    "call_tool",
    "get_stock_price",
    "place_trade",
    "price_table",
]

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 100
MAX_RESULT_BITS = 1024
MAX_SHARES = 1_000_000

ToolOutput = dict[str, Any]


class ToolError(Exception):
    """A tool could not do what it was asked; the message is what the tool call reports."""


@dataclass(frozen=True)
class Quote:
    ticker: str
    name: str
    price: float
    week_ago: float


@dataclass(frozen=True)
class PriceTable:
    notice: str
    as_of: str
    currency: str
    quotes: Mapping[str, Quote]


@cache
def price_table() -> PriceTable:
    """The bundled demo price table (invented numbers, labelled as such)."""
    raw = json.loads(resources.files(__package__).joinpath("demo_prices.json").read_text("utf-8"))
    quotes = {
        ticker: Quote(ticker, entry["name"], float(entry["price"]), float(entry["week_ago"]))
        for ticker, entry in raw["prices"].items()
    }
    return PriceTable(raw["notice"], raw["as_of"], raw["currency"], quotes)


def get_stock_price(ticker: object) -> ToolOutput:
    """Look ``ticker`` up in the demo table."""
    if not isinstance(ticker, str) or not ticker.strip():
        raise ToolError("ticker must be a non-empty string such as 'NVDA'")
    symbol = ticker.strip().lstrip("$").upper()
    table = price_table()
    quote = table.quotes.get(symbol)
    if quote is None:
        known = ", ".join(sorted(table.quotes))
        raise ToolError(f"unknown ticker {symbol!r} (the demo price table has {known})")
    return {
        "ticker": quote.ticker,
        "name": quote.name,
        "price": quote.price,
        "week_ago_close": quote.week_ago,
        "currency": table.currency,
        "as_of": table.as_of,
        "source": "agentnb demo data (invented prices, not real quotes)",
    }


def place_trade(ticker: object, side: object, shares: object) -> ToolOutput:
    """Fill a DEMO order at the demo table's price. Nothing is traded: the order is invented."""
    quote = get_stock_price(ticker)
    if side not in ("buy", "sell"):
        raise ToolError("side must be 'buy' or 'sell'")
    if isinstance(shares, bool) or not isinstance(shares, int) or not 1 <= shares <= MAX_SHARES:
        raise ToolError(f"shares must be a whole number from 1 to {MAX_SHARES}")
    digest = hashlib.sha256(f"{quote['ticker']}:{side}:{shares}".encode()).hexdigest()
    return {
        "order_id": f"demo_{digest[:12]}",
        "status": "filled",
        "ticker": quote["ticker"],
        "side": side,
        "shares": shares,
        "price": quote["price"],
        "total": round(quote["price"] * shares, 2),
        "currency": quote["currency"],
        "note": "agentnb demo: no real order was placed",
    }


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def calculate(expression: object) -> ToolOutput:
    """Evaluate an arithmetic expression: numbers, + - * / % **, parentheses, unary minus."""
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("expression must be a non-empty string such as '(2 + 3) * 4'")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = parse_expression(expression.strip())
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {exc.msg}") from None
    value = _evaluate(tree.body)
    if isinstance(value, float):
        value = round(value, 10)
    return {"expression": expression, "result": value}


def _evaluate(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _checked(_UNARY[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        try:
            return _checked(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        except OverflowError:
            raise ToolError("the result is too large") from None
    raise ToolError(f"unsupported syntax: {ast.unparse(node)!r} (only numbers and + - * / % **)")


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"unsupported value {value!r}: only numbers are allowed")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is too large")
    return value


def _checked(value: object) -> int | float:
    if isinstance(value, complex):
        raise ToolError("the result is not a real number")
    number = _number(value)
    if isinstance(number, int) and number.bit_length() > MAX_RESULT_BITS:
        raise ToolError("the result is too large")
    return number


TOOLS: dict[str, Callable[[Mapping[str, Any]], ToolOutput]] = {
    "get_stock_price": lambda args: get_stock_price(args.get("ticker")),
    "calculator": lambda args: calculate(args.get("expression")),
    "place_trade": lambda args: place_trade(
        args.get("ticker"), args.get("side"), args.get("shares")
    ),
}


def call_tool(name: str, arguments: Mapping[str, Any]) -> tuple[ToolOutput | None, str | None]:
    """Run a tool: ``(output, None)`` on success, ``(None, error message)`` on failure."""
    tool = TOOLS.get(name)
    if tool is None:
        return None, f"unknown tool {name!r}"
    try:
        return tool(arguments), None
    except ToolError as exc:
        return None, str(exc)
