"""Where agentnb is running, the one check every display decision uses: a notebook (an
IPython shell in a Jupyter kernel: a widget can be shown), terminal IPython (a run printed
there streams in the foreground), or anywhere else (text).

IPython is never imported here: a shell runs only where IPython was imported first, so it is
looked up in ``sys.modules``, and a command line or a script pays nothing for it."""

from __future__ import annotations

import sys
from typing import Any

from .terminal import print_fitted

__all__ = ["in_notebook", "kernel_shell", "note", "terminal_shell", "user_shell"]


def _ipython_shell() -> Any:
    """The IPython shell running in this process, else None."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    return None if get_ipython is None else get_ipython()


def kernel_shell() -> Any:
    """The IPython shell when running inside a Jupyter kernel, else None."""
    shell = _ipython_shell()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def terminal_shell() -> Any:
    """The IPython shell when it is terminal IPython (the prompt it draws would be written
    over by a run printing from a background thread), else None."""
    shell = _ipython_shell()
    # a terminal shell has imported its module; other shells need not pay for prompt_toolkit
    module = sys.modules.get("IPython.terminal.interactiveshell")
    if shell is None or module is None:
        return None
    return shell if isinstance(shell, module.TerminalInteractiveShell) else None


def user_shell() -> Any:
    """The IPython shell a person types into, a notebook's kernel or terminal IPython (what
    ``@name`` and the context tools read), else None."""
    return kernel_shell() or terminal_shell()


def in_notebook() -> bool:
    """True when outputs go to a notebook frontend (a widget can be shown)."""
    return kernel_shell() is not None


def note(text: str, markdown: str | None = None) -> None:
    """Tell the user something that is information, not an error.

    In a notebook it is an ordinary output (``markdown`` if given, else ``text``), so it is
    neither drawn as a red stderr box nor saved as one; elsewhere it is a line on stderr, so
    a command's stdout stays its result (in a terminal wrapped at words to its width)."""
    if not in_notebook():
        print_fitted(text)
        return
    from IPython.display import display  # IPython: in a notebook, whose kernel has loaded it

    bundle = {"text/plain": text}
    if markdown is not None:
        bundle["text/markdown"] = markdown
    display(bundle, raw=True)  # type: ignore[no-untyped-call]
