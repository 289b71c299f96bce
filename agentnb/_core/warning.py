"""agentnb's warnings, said in whole words: :func:`warn`.

A notebook's output and a terminal break a long line anywhere, even inside a word, and the
line Python puts before a warning (``file:line: UserWarning: ``) has no fixed length: so a
warning starts on a line of its own and is cut between words to fit 80 columns."""

from __future__ import annotations

import textwrap
import warnings
from typing import Final

__all__ = ["WARNING_COLUMNS", "warn"]

WARNING_COLUMNS: Final = 78
"""Where a warning's lines are cut, between words, so that a terminal of 80 columns holds
them."""


def warn(message: str, *, stacklevel: int = 1, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message)`` (a ``UserWarning`` unless ``category`` says otherwise) in
    lines of whole words; ``stacklevel`` counts from the caller, as ``warnings.warn``'s does."""
    lines = textwrap.wrap(message, WARNING_COLUMNS, break_long_words=False, break_on_hyphens=False)
    warnings.warn("\n" + "\n".join(lines), category, stacklevel=stacklevel + 1)
