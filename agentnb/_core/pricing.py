"""What a run cost in USD, and where that figure came from.

Three sources, the first that applies wins:

1. ``platform``: the platform reported the cost itself (:attr:`agentnb.events.Usage.cost`);
2. ``custom``: a price the user set for the model (:func:`set_prices`, or the TOML or JSON
   file ``AGENTNB_PRICES`` names), for private deployments and negotiated rates;
3. ``genai-prices``: pydantic's maintained price table, bundled with the package (offline),
   at the run's time.

Otherwise the cost is missing (None, never 0) and :attr:`RunCost.reason` says why. A price
is per million tokens: ``input_mtok``, ``output_mtok``, ``cache_read_mtok`` (cached prompt
tokens) and ``cache_write_mtok``; reasoning tokens are output tokens and cost as such.

``genai_prices`` takes most of a second to import, so it is imported at the first cost.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from ..events import Usage
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from genai_prices.types import ModelPrice

__all__ = [
    "PRICES_VAR",
    "PRICE_KEYS",
    "CostSource",
    "RunCost",
    "price_run",
    "prices_generation",
    "set_prices",
]

PRICES_VAR: Final = "AGENTNB_PRICES"
PRICE_KEYS: Final = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
"""The keys of a custom price: USD per million input, output, cache-read, cache-write tokens."""

CostSource = Literal["platform", "custom", "genai-prices"]
"""Where a run's cost came from (see the module docstring)."""


@dataclass(frozen=True)
class RunCost:
    """A run's cost: the figure, its source, or why there is none."""

    usd: float | None = None
    """The cost in US dollars; None when it cannot be known (never 0 for unknown)."""
    source: CostSource | None = None
    """Where :attr:`usd` came from; None when it is missing."""
    reason: str | None = None
    """Why :attr:`usd` is missing (None when it is known)."""


_CustomTable = dict[str, "ModelPrice"]
_set_by_caller: _CustomTable = {}
_from_file: tuple[str, _CustomTable | ConfigurationError] | None = None
_generation = 0
"""Bumped whenever the custom prices change, so memoized costs are computed again."""


def set_prices(prices: Mapping[str, Mapping[str, float | str]] | None) -> None:
    """Set custom prices per model, in USD per million tokens, over the ``AGENTNB_PRICES``
    file's: ``agentnb.set_prices({"my-llama": {"input_mtok": 0.2, "output_mtok": 0.6}})``.

    The model name is matched exactly as the run reports it. ``None`` (or ``{}``) clears
    them. Raises :class:`~agentnb.ConfigurationError` naming every bad entry."""
    global _set_by_caller, _generation
    _set_by_caller = _parse_table(prices or {}, "set_prices()")
    _generation += 1


def prices_generation() -> tuple[int, str]:
    """A key that changes whenever the custom prices may have changed."""
    return _generation, os.environ.get(PRICES_VAR, "")


def price_run(model: str | None, usage: Usage | None, at: float | None) -> RunCost:
    """The cost of a run of ``model`` that spent ``usage``, started at Unix time ``at``."""
    if usage is not None and usage.cost is not None:
        return RunCost(usage.cost, "platform")
    if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return RunCost(reason="the platform reported no input and output token counts")
    if not model:
        return RunCost(reason="the model is unknown: neither the stream nor the request named it")
    try:
        custom = _custom_price(model)
    except ConfigurationError as exc:
        return RunCost(reason=str(exc))
    if custom is not None:
        return RunCost(float(custom.calc_price(_priced_usage(usage))["total_price"]), "custom")
    return _genai_price(model, usage, at)


def _genai_price(model: str, usage: Usage, at: float | None) -> RunCost:
    from genai_prices import calc_price

    when = datetime.fromtimestamp(at, UTC) if at else None
    refs: list[tuple[str, str | None]] = [(model, None)]
    if "/" in model:  # "openai/gpt-4o" (OpenRouter, LiteLLM): the provider, then the model
        provider, _, name = model.partition("/")
        refs.append((name, provider))
    for ref, provider_id in refs:
        try:
            price = calc_price(
                _priced_usage(usage),
                model_ref=ref,
                provider_id=provider_id,
                genai_request_timestamp=when,
            )
        except LookupError:
            continue
        return RunCost(float(price.total_price), "genai-prices")
    return RunCost(
        reason=f"genai-prices has no price for the model {model!r}; set one with "
        f"agentnb.set_prices() or the {PRICES_VAR} file"
    )


def _priced_usage(usage: Usage) -> Any:
    from genai_prices import Usage as PricedUsage

    return PricedUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_read_tokens=usage.cached_tokens,
    )


def _custom_price(model: str) -> ModelPrice | None:
    found = _set_by_caller.get(model)
    if found is not None:
        return found
    return _file_table().get(model)


def _file_table() -> _CustomTable:
    """The ``AGENTNB_PRICES`` file's prices, read once per path; raises its error."""
    global _from_file
    path = os.environ.get(PRICES_VAR, "").strip()
    if not path:
        return {}
    if _from_file is None or _from_file[0] != path:
        try:
            table: _CustomTable | ConfigurationError = _parse_table(
                _read_file(path), f"{PRICES_VAR}={path!r}"
            )
        except ConfigurationError as exc:
            table = exc
        _from_file = (path, table)
    loaded = _from_file[1]
    if isinstance(loaded, ConfigurationError):
        raise loaded
    return loaded


def _read_file(path: str) -> Any:
    where = f"{PRICES_VAR}={path!r}"
    try:
        text = Path(path).expanduser().read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{where}: cannot read the prices file: {exc}") from None
    try:
        if path.lower().endswith(".toml"):
            return tomllib.loads(text)
        return json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.lower().endswith(".toml") else "JSON"
        raise ConfigurationError(f"{where}: the prices file is not valid {kind}: {exc}") from None


def _parse_table(raw: Any, where: str) -> _CustomTable:
    from genai_prices.types import ModelPrice

    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: prices must map model names to prices")
    table: _CustomTable = {}
    problems: list[str] = []
    for model, entry in raw.items():
        prices, problem = _parse_price(entry)
        if problem:
            problems.append(f"{model!r}: {problem}")
        else:
            table[str(model)] = ModelPrice(**prices)
    if problems:
        raise ConfigurationError(
            f"{where}: bad prices ({'; '.join(problems)}); a price is a table of "
            f"{', '.join(PRICE_KEYS)} in USD per million tokens"
        )
    return table


def _parse_price(entry: Any) -> tuple[dict[str, Decimal], str | None]:
    if not isinstance(entry, Mapping):
        return {}, "not a table of prices"
    unknown = sorted(str(key) for key in entry if key not in PRICE_KEYS)
    if unknown:
        return {}, f"unknown key(s) {', '.join(unknown)}"
    prices: dict[str, Decimal] = {}
    for key, value in entry.items():
        try:
            number = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            return {}, f"{key} = {value!r} is not a price (a number ≥ 0)"
        prices[key] = number
    if "input_mtok" not in prices or "output_mtok" not in prices:
        return {}, "input_mtok and output_mtok are required"
    return prices, None
