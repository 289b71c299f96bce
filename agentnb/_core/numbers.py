"""The one check of a number given to agentnb (an option, a limit, a score): a bool, text,
NaN, an infinity, an integer too large for a float or a value out of range is a
:class:`ConfigurationError` naming it, never an ``OverflowError`` or a nonsense value."""

from __future__ import annotations

import math
import numbers
from typing import Literal, overload

from .exceptions import ConfigurationError

__all__ = ["MAX_SECONDS", "checked_number", "finite_number", "shown_number"]

MAX_SECONDS = 1e9
"""The longest time limit (some 31 years): the clocks that keep one refuse far larger ones;
None is how to say no limit."""


@overload
def checked_number(
    value: object,
    name: str,
    *,
    whole: Literal[True],
    least: float | None = ...,
    most: float | None = ...,
    above: float | None = ...,
    unit: str = ...,
) -> int: ...
@overload
def checked_number(
    value: object,
    name: str,
    *,
    whole: Literal[False] = ...,
    least: float | None = ...,
    most: float | None = ...,
    above: float | None = ...,
    unit: str = ...,
) -> float: ...
@overload
def checked_number(
    value: object,
    name: str,
    *,
    least: float | None = ...,
    most: float | None = ...,
    above: float | None = ...,
    unit: str = ...,
    optional: Literal[True],
) -> float | None: ...
def checked_number(
    value: object,
    name: str,
    *,
    whole: bool = False,
    least: float | None = None,
    above: float | None = None,
    most: float | None = None,
    unit: str = "",
    optional: bool = False,
) -> float | None:
    """``value`` as a finite number in range (an ``int`` when ``whole``; ``None`` as it is when
    ``optional``), else a :class:`ConfigurationError` saying what ``name`` takes."""
    if value is None and optional:
        return None
    number = finite_number(value, whole=whole)
    in_range = (
        number is not None
        and (least is None or number >= least)
        and (above is None or number > above)
        and (most is None or number <= most)
    )
    if not in_range:
        wanted = ["a whole number" if whole else "a finite number"]
        if least is not None and most is not None:
            wanted.append(f"from {least:g} to {most:g}")
        else:
            low = f"≥ {least:g}" if least is not None else None
            low = f"> {above:g}" if above is not None else low
            high = f"≤ {most:g}" if most is not None else None
            wanted += [" and ".join(b for b in (low, high) if b)] if low or high else []
        wanted += [unit] if unit else []
        wanted += ["or None"] if optional else []
        raise ConfigurationError(f"{name} must be {' '.join(wanted)}, not {shown_number(value)}")
    assert number is not None
    return int(value) if whole else number  # type: ignore[call-overload]


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
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
