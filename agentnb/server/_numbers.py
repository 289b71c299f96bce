"""Numbers read from text (headers, options, fault specs): plain ASCII digits of a sane length
only. ``str.isdigit`` and ``int`` accept far more (``²``, ``٣``, ``1_0``, ``+5``, `` 5 ``) and
``int`` refuses 5,000 digits with a ValueError, so neither is used on request text directly."""

from __future__ import annotations

import re

__all__ = ["MAX_DIGITS", "ascii_decimal", "ascii_int"]

MAX_DIGITS = 9
"""Enough for every count, index and millisecond value the server reads."""

_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")


def ascii_int(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """``text`` as a non-negative integer when it is 1 to ``max_digits`` ASCII digits, else None."""
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def ascii_decimal(text: str) -> float | None:
    """``text`` as a non-negative number when it is ASCII digits with an optional fraction
    (``2``, ``0.5``), else None: no signs, exponents, ``nan``, ``inf`` or underscores."""
    return float(text) if _DECIMAL.fullmatch(text) else None
