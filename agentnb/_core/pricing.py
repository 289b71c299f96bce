"""What a run cost in USD, and where that figure came from.

Three sources, the first that applies wins:

1. ``platform``: the platform reported the cost itself (:attr:`agentnb.events.Usage.cost`);
2. ``custom``: a price the user set for the model (``agentnb.set_prices``, or the TOML or JSON
   file ``AGENTNB_PRICES`` names), for private deployments and negotiated rates;
3. ``genai-prices``: pydantic's maintained price table, bundled with the package (offline),
   at the run's time.

Otherwise the cost is missing (None, never 0) and :attr:`RunCost.reason` says why.

Figures have a sane range: a token count is a whole number from 0 to :data:`MAX_TOKENS`
(10^12), a cost a finite number from 0 to :data:`MAX_COST_USD` (10^6 USD); booleans, NaN,
infinities, negatives and anything larger are refused (:func:`sane_count`,
:func:`sane_cost`). A platform's usage is read through them
(:func:`agentnb.providers._frames.parse_usage`, which notes what it refused in
``Usage.refused``), and :func:`price_run` prices by none but sane figures whatever made the
usage, so no figure a platform sends makes a cost or a sum infinite. A price
is per million tokens: ``input_mtok``, ``output_mtok``, ``cache_read_mtok`` (cached prompt
tokens) and ``cache_write_mtok``; reasoning tokens are output tokens and cost as such.

``genai_prices`` takes most of a second to import, so it is imported at the first cost.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from ..events import Usage

if TYPE_CHECKING:
    from genai_prices.types import ModelPrice

    from .transcript import ToolCall

__all__ = [
    "MAX_COST_USD",
    "MAX_TOKENS",
    "CostSource",
    "PriceTable",
    "RunCost",
    "finite_number",
    "parse_prices",
    "price_call",
    "price_run",
    "prices_generation",
    "problems_text",
    "refused_figures",
    "refused_list",
    "sane_cost",
    "sane_count",
    "shown_number",
    "usd",
    "use_prices",
]

PRICES_VAR: Final = "AGENTNB_PRICES"
PRICE_KEYS: Final = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
"""The keys of a custom price: USD per million input, output, cache-read, cache-write tokens."""

MAX_TOKENS: Final = 10**12
"""The largest token count taken as a figure (a trillion tokens in one run)."""
MAX_COST_USD: Final = 1_000_000.0
"""The largest cost in USD taken as a figure (a million dollars for one run)."""
RANGE_TEXT: Final = "token counts are whole numbers from 0 to 10^12, a cost 0 to 10^6 USD"

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
    provider: str | None = None
    """The model's provider as genai-prices names it (``openai``, ``anthropic``...), when
    its table priced the run; else None."""


PriceTable = dict[str, "ModelPrice"]
"""Custom prices by model name."""
_set_by_caller: PriceTable = {}
_from_file: tuple[str, PriceTable | str] | None = None
"""The ``AGENTNB_PRICES`` path read last and its table, or the problem reading it."""
_generation = 0
"""Bumped whenever the custom prices change, so memoized costs are computed again."""


def use_prices(table: PriceTable) -> None:
    """Price runs with ``table`` (from :func:`parse_prices`) before the file's prices."""
    global _set_by_caller, _generation
    _set_by_caller = table
    _generation += 1


def prices_generation() -> tuple[int, str]:
    """A key that changes whenever the custom prices may have changed."""
    return _generation, os.environ.get(PRICES_VAR, "")


def finite_number(value: object, *, whole: bool = False) -> float | None:
    """``value`` as a float when it is a finite real number (a whole one with ``whole``);
    None for a bool, text, NaN, an infinity or an integer too large for a float. The rule
    for numbers given to agentnb and numbers a server sends alike."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if whole and not isinstance(value, numbers.Integral):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def shown_number(value: object) -> str:
    """``value`` for a message: short, even for an integer of thousands of digits (whose
    ``repr`` Python refuses past 4300)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def sane_count(value: Any) -> int | None:
    """``value`` as a token count: a whole number (an int, or a float without a fraction)
    from 0 to :data:`MAX_TOKENS`; None for anything else (a boolean too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= value <= MAX_TOKENS else None


def sane_cost(value: Any) -> float | None:
    """``value`` as a cost in USD: a finite number from 0 to :data:`MAX_COST_USD`; None for
    anything else (a boolean, NaN, an infinity, a negative)."""
    number = finite_number(value)
    return number if number is not None and 0 <= number <= MAX_COST_USD else None


_COUNTS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


def refused_figures(usage: Usage) -> str | None:
    """What in ``usage`` is outside the sane range (noted by the parser, or set by any other
    maker of a ``Usage``), as a note for the run; None when every figure is sane."""
    refused = refused_list(usage)
    if refused is None:
        return None
    return f"figures outside the sane range refused ({RANGE_TEXT}): {refused}"


def refused_list(usage: Usage) -> str | None:
    """The figures in ``usage`` outside the sane range, as ``name=value, ...`` (what the
    history keeps of them: a usage made with it as its ``refused`` says the same again);
    None when every figure is sane."""
    notes = [usage.refused] if usage.refused else []
    notes += [
        f"{name}={value!r}"
        for name in _COUNTS
        if (value := getattr(usage, name)) is not None and sane_count(value) is None
    ]
    if usage.cost is not None and sane_cost(usage.cost) is None:
        notes.append(f"cost={usage.cost!r}")
    return ", ".join(notes) or None


def price_run(model: str | None, usage: Usage | None, at: float | None) -> RunCost:
    """The cost of a run of ``model`` that spent ``usage``, started at Unix time ``at``, by
    its sane figures only."""
    refused = refused_figures(usage) if usage is not None else None
    if usage is not None and sane_cost(usage.cost) is not None:
        return RunCost(usage.cost, "platform")
    prompt = sane_count(usage.prompt_tokens) if usage is not None else None
    completion = sane_count(usage.completion_tokens) if usage is not None else None
    if usage is None or prompt is None or completion is None:
        missing = "the platform reported no input and output token counts"
        return RunCost(reason=f"{refused}; {missing}" if refused else missing)
    if refused:
        cached = sane_count(usage.cached_tokens)
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    if not model:
        return RunCost(reason="the model is unknown: neither the stream nor the request named it")
    custom = _custom_price(model)
    if isinstance(custom, str):
        return RunCost(reason=custom)
    if custom is not None:
        cost = sane_cost(float(custom.calc_price(_priced_usage(usage))["total_price"]))
        if cost is None:
            return RunCost(reason=f"the custom price of {model} gives a cost past 10^6 USD")
        return RunCost(cost, "custom")
    return _genai_price(model, usage, at)


def price_call(call: ToolCall) -> RunCost:
    """The cost of what a sub-agent spent inside ``call`` (its ``usage`` and ``model``,
    where the platform reports them per call), priced as a run is, at the call's start."""
    usage = call.usage if isinstance(call.usage, Usage) else None
    if usage is None:
        return RunCost(reason="the platform reported no usage for this call")
    return price_run(call.model, usage, call.started_at or None)


_UNPRICED: set[tuple[str, str | None, date]] = set()
"""The model references genai-prices had no price for, by UTC day: a lookup of a model is
pure for a day, and a model it does not know (a private one) is then known at a glance."""
_UNPRICED_KEPT: Final = 1024


def _genai_price(model: str, usage: Usage, at: float | None) -> RunCost:
    from genai_prices import calc_price  # slow to import (see the module docstring)

    when = datetime.fromtimestamp(at, UTC) if at else None
    day = (when or datetime.now(UTC)).date()
    refs: list[tuple[str, str | None]] = [(model, None)]
    if "/" in model:  # "openai/gpt-4o" (OpenRouter, LiteLLM): the provider, then the model
        provider, _, name = model.partition("/")
        refs.append((name, provider))
    priced_usage = None
    for ref, provider_id in refs:
        if (ref, provider_id, day) in _UNPRICED:
            continue
        priced_usage = priced_usage or _priced_usage(usage)
        try:
            price = calc_price(
                priced_usage, model_ref=ref, provider_id=provider_id, genai_request_timestamp=when
            )
        except LookupError:
            if len(_UNPRICED) >= _UNPRICED_KEPT:
                _UNPRICED.clear()
            _UNPRICED.add((ref, provider_id, day))
            continue
        return RunCost(float(price.total_price), "genai-prices", provider=price.provider.id)
    return RunCost(
        reason=f"genai-prices has no price for the model {model!r}; set one with "
        f"agentnb.set_prices() or the {PRICES_VAR} file"
    )


def _priced_usage(usage: Usage) -> Any:
    from genai_prices import Usage as PricedUsage  # slow to import (see the module docstring)

    return PricedUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_read_tokens=usage.cached_tokens,
    )


def _custom_price(model: str) -> ModelPrice | str | None:
    """The custom price of ``model``, None, or what is wrong with the prices file."""
    found = _set_by_caller.get(model)
    if found is not None:
        return found
    table = _file_table()
    return table if isinstance(table, str) else table.get(model)


def _file_table() -> PriceTable | str:
    """The ``AGENTNB_PRICES`` file's prices (read once per path), or what is wrong with it."""
    global _from_file
    path = os.environ.get(PRICES_VAR, "").strip()
    if not path:
        return {}
    if _from_file is None or _from_file[0] != path:
        where = f"{PRICES_VAR}={path!r}"
        raw, problem = _read_file(path, where)
        if problem is None:
            table, problems = parse_prices(raw, where)
            problem = problems_text(problems, where) if problems else None
        _from_file = (path, problem if problem is not None else table)
    return _from_file[1]


def _read_file(path: str, where: str) -> tuple[Any, str | None]:
    try:
        text = Path(path).expanduser().read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{where}: cannot read the prices file: {exc}"
    try:
        if path.lower().endswith(".toml"):
            return tomllib.loads(text), None
        return json.loads(text), None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if path.lower().endswith(".toml") else "JSON"
        return None, f"{where}: the prices file is not valid {kind}: {exc}"


def parse_prices(raw: Any, where: str) -> tuple[PriceTable, list[str]]:
    """The prices of ``raw`` (a mapping of model names to prices) and every problem found."""
    from genai_prices.types import ModelPrice  # slow to import (see the module docstring)

    if not isinstance(raw, Mapping):
        return {}, ["prices must map model names to prices"]
    table: PriceTable = {}
    problems: list[str] = []
    for model, entry in raw.items():
        prices, problem = _parse_price(entry)
        if problem:
            problems.append(f"{model!r}: {problem}")
        else:
            table[str(model)] = ModelPrice(**prices)
    return table, problems


def problems_text(problems: list[str], where: str) -> str:
    """One message naming every problem :func:`parse_prices` found."""
    return (
        f"{where}: bad prices ({'; '.join(problems)}); a price is a table of "
        f"{', '.join(PRICE_KEYS)} in USD per million tokens"
    )


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
        if number is None or not number.is_finite() or not 0 <= number <= MAX_COST_USD:
            shown = shown_number(value) if isinstance(value, int) else repr(value)
            return {}, f"{key} = {shown} is not a price (a number from 0 to 10^6)"
        prices[key] = number
    if "input_mtok" not in prices or "output_mtok" not in prices:
        return {}, "input_mtok and output_mtok are required"
    return prices, None


def usd(value: float) -> str:
    """A cost in dollars: cents for a dollar and more, else three significant digits
    (``$1.25``, ``$0.0123``, ``$0.000435``). ``js/src/format.js`` reads the same."""
    if value >= 1:
        return f"${value:,.2f}"
    if value <= 0:
        return "$0.00"
    places = min(12, max(2, 2 - math.floor(math.log10(value))))
    whole, _, fraction = f"{value:.{places}f}".rstrip("0").partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"
