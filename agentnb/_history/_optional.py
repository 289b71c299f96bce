"""The optional libraries the history's tables use, imported only when asked for."""

from __future__ import annotations

from types import ModuleType

__all__ = ["require_matplotlib_pyplot", "require_pandas"]


def require_pandas() -> ModuleType:
    try:
        import pandas  # optional extra, heavy: loaded on first use
    except ImportError:
        raise ImportError(
            'this needs pandas, which is not installed: pip install "agentnb[pandas]"'
        ) from None
    return pandas


def require_matplotlib_pyplot() -> ModuleType:
    try:
        import matplotlib.pyplot  # optional extra, heavy: loaded on first plot
    except ImportError:
        raise ImportError(
            'plotting needs matplotlib, which is not installed: pip install "agentnb[plot]"'
        ) from None
    return matplotlib.pyplot
