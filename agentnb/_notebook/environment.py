"""Where agentnb is running: the one check every display decision uses.

A *notebook* here is an IPython shell attached to a Jupyter kernel (JupyterLab, Notebook 7,
VS Code, nbclient, papermill): there a widget can be displayed. Anything else — a plain
script, terminal IPython, the CLI — gets text.
"""

from __future__ import annotations

from typing import Any

from IPython import get_ipython

__all__ = ["in_notebook", "kernel_shell"]


def kernel_shell() -> Any:
    """The IPython shell when running inside a Jupyter kernel, else None."""
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def in_notebook() -> bool:
    """True when outputs go to a notebook frontend (a widget can be shown)."""
    return kernel_shell() is not None
