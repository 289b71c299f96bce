"""Values that fit what a schema's field means, for the ``structured`` demo agent.

A field's name (then its title, then its description) picks a plausible value about the
message's topic: ``ticker`` → the ticker the message names (NVDA when none), ``price`` → its
DEMO price, ``change_percent`` → its move on the week, ``currency`` → USD, ``summary`` → a
sentence about it, ``name`` → the company (or a person's name outside a stock record), ...
Deterministic: the same message and schema give the same answer. The schema builder still
enforces every constraint (bounds, lengths, formats, enums); a hint only replaces the generic
placeholder.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ._agent_input import tickers_in
from ._tools import Quote, price_table

__all__ = ["Field", "Topic", "words_of"]

_T = TypeVar("_T")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_FINANCE = frozenset(
    {"ticker", "symbol", "price", "stock", "quote", "company", "shares", "market", "trade"}
)


def words_of(text: object) -> tuple[str, ...]:
    """``changePercent`` / ``change_percent`` / "Change, in percent" → change, percent."""
    return tuple(w.lower() for w in _WORD.findall(text)) if isinstance(text, str) else ()


@dataclass(frozen=True)
class Field:
    """What is known of one value to build: its field's words and its neighbours'."""

    name: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    description: tuple[str, ...] = ()
    siblings: frozenset[str] = frozenset()
    index: int = 0
    """The position in its array (so list items differ)."""

    @classmethod
    def of(cls, name: str, schema: object, context: Iterable[str] = ()) -> Field:
        """The field ``name`` of an object whose other field names (and title) are
        ``context``."""
        meta = schema if isinstance(schema, Mapping) else {}
        return cls(
            name=words_of(name),
            title=words_of(meta.get("title")),
            description=words_of(meta.get("description")),
            siblings=frozenset(w for text in context for w in words_of(text)),
        )

    def item(self, index: int) -> Field:
        """The same field, as item ``index`` of its array."""
        return Field(self.name, self.title, self.description, self.siblings, index)


@dataclass(frozen=True)
class Topic:
    """What the answer is about: the stock the message names."""

    quote: Quote
    named: bool
    """The message names the ticker (else the default one stands in)."""

    @classmethod
    def of(cls, message: str) -> Topic:
        ticker = tickers_in(message)[0]
        quote = price_table().quotes.get(ticker) or _invented(ticker)
        return cls(quote, ticker in message)

    @property
    def change(self) -> float:
        return round(self.quote.price - self.quote.week_ago, 2)

    @property
    def change_percent(self) -> float:
        return round(self.change / self.quote.week_ago * 100, 2)

    def about_stocks(self, field: Field) -> bool:
        return self.named or bool(_FINANCE & (field.siblings | set(field.title)))

    def sentence(self) -> str:
        q = self.quote
        return (
            f"{q.name} ({q.ticker}) is at ${q.price:,.2f} in the DEMO data, "
            f"{self.change_percent:+.2f}% on the week."
        )

    # ---- hints ------------------------------------------------------------------------------
    def string(self, field: Field) -> str | None:
        """A string that fits ``field`` (a number's text where a number fits, as in a
        ``price`` sent as a string), or None when nothing does."""
        text = _first(field, lambda words: self._string(words, field))
        number = self.number(field) if text is None else None
        if number is None:
            return text
        return str(int(number)) if number.is_integer() else str(number)

    def number(self, field: Field) -> float | None:
        """A number that fits ``field``, or None when nothing does."""
        return _first(field, self._number)

    def _string(self, words: set[str], field: Field) -> str | None:
        q, table = self.quote, price_table()
        texts: list[tuple[set[str], Callable[[], str]]] = [
            ({"ticker", "symbol"}, lambda: q.ticker),
            ({"company", "issuer"}, lambda: q.name),
            ({"name"}, lambda: q.name if self.about_stocks(field) else "Alex Demo"),
            ({"currency"}, lambda: table.currency),
            ({"exchange", "market"}, lambda: "NYSE" if q.ticker == "IBM" else "NASDAQ"),
            ({"sector", "industry"}, lambda: "Technology"),
            ({"sentiment", "outlook"}, lambda: "positive" if self.change >= 0 else "negative"),
            ({"trend", "direction"}, lambda: "up" if self.change >= 0 else "down"),
            ({"recommendation", "action", "signal", "side"}, lambda: self._advice()),
            ({"date", "day", "asof"}, lambda: table.as_of),
            ({"timestamp", "datetime", "updated", "time"}, lambda: f"{table.as_of}T16:00:00Z"),
            ({"email"}, lambda: "demo@example.com"),
            ({"url", "website", "link", "homepage"}, lambda: f"https://example.com/{q.ticker}"),
            ({"country"}, lambda: "United States"),
            ({"city"}, lambda: "Santa Clara"),
            ({"language", "lang"}, lambda: "en"),
            ({"source", "provider"}, lambda: "agentnb demo data (invented prices)"),
            (
                {"tag", "tags", "keyword", "keywords", "topic", "topics", "label", "labels"},
                lambda: ["demo", q.ticker.lower(), "weekly"][field.index % 3],
            ),
            ({"title", "headline"}, lambda: f"{q.name}: a week in DEMO prices"),
            (
                {
                    "summary",
                    "description",
                    "analysis",
                    "explanation",
                    "reason",
                    "reasons",
                    "rationale",
                    "comment",
                    "notes",
                    "note",
                    "text",
                    "answer",
                    "content",
                    "message",
                    "risk",
                    "risks",
                    "point",
                    "points",
                    "highlight",
                    "highlights",
                },
                lambda: self._numbered(self.sentence(), field),
            ),
        ]
        return next((make() for keys, make in texts if keys & words), None)

    def _number(self, words: set[str]) -> float | None:
        q = self.quote
        percent = bool({"percent", "pct", "percentage"} & words)
        numbers: list[tuple[set[str], Callable[[], float]]] = [
            ({"week", "previous", "prev", "prior"}, lambda: q.week_ago),
            (
                {"change", "move", "return", "performance", "delta"},
                lambda: self.change_percent if percent else self.change,
            ),
            ({"percent", "pct", "percentage"}, lambda: self.change_percent),
            ({"high"}, lambda: round(max(q.price, q.week_ago) * 1.012, 2)),
            ({"low"}, lambda: round(min(q.price, q.week_ago) * 0.988, 2)),
            ({"total", "cost", "notional"}, lambda: round(q.price * 10, 2)),
            ({"price", "close", "last", "current", "open", "quote", "value"}, lambda: q.price),
            ({"volume"}, lambda: float(12_000_000 + zlib.crc32(q.ticker.encode()) % 9_000_000)),
            ({"cap", "capitalization"}, lambda: round(q.price * 2_450_000_000, -6)),
            ({"pe", "ratio", "multiple"}, lambda: 28.4),
            ({"yield", "dividend"}, lambda: 0.5),
            ({"shares", "quantity", "qty", "count", "amount", "units"}, lambda: 10.0),
            ({"age"}, lambda: 36.0),
            ({"year"}, lambda: float(price_table().as_of[:4])),
            ({"confidence", "probability", "likelihood", "score", "certainty"}, lambda: 0.82),
            ({"rating", "stars"}, lambda: 4.0),
        ]
        return next((make() for keys, make in numbers if keys & words), None)

    def _advice(self) -> str:
        return "buy" if self.change_percent > 2 else "hold"

    def _numbered(self, text: str, field: Field) -> str:
        return text if field.index == 0 else f"{field.index + 1}. {text}"


def _first(field: Field, hint: Callable[[set[str]], _T | None]) -> _T | None:
    """The hint for the field's name words, else its title's, else its description's (each
    also as one word: ``as_of`` → ``asof``)."""
    for words in (field.name, field.title, field.description):
        if words and (found := hint({*words, "".join(words)})) is not None:
            return found
    return None


def _invented(ticker: str) -> Quote:
    """A ticker the demo table lacks: an invented, stable price, labelled as such."""
    price = round(10 + zlib.crc32(ticker.encode()) % 49_000 / 100, 2)
    return Quote(ticker, f"{ticker} (invented demo company)", price, round(price * 0.98, 2))
