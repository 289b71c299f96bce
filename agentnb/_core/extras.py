"""The optional extras (pandas for frames and summaries, matplotlib for plots): imported only
when a frame or a plot is asked for, with the ``pip install`` that brings each when it is
missing."""

from __future__ import annotations

from types import ModuleType

__all__ = ["require_pandas", "require_pyplot"]


def require_pandas() -> ModuleType:
    try:
        import pandas  # optional extra, heavy: loaded on first use
    except ImportError:
        raise ImportError(
            'this needs pandas, which is not installed: pip install "agentnb[pandas]"'
        ) from None
    return pandas


def require_pyplot() -> ModuleType:
    try:
        import matplotlib.pyplot  # optional extra, heavy: loaded on first plot
    except ImportError:
        raise ImportError(
            'plotting needs matplotlib, which is not installed: pip install "agentnb[plot]"'
        ) from None
    return matplotlib.pyplot
