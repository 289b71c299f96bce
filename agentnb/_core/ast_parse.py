"""``ast.parse`` that another thread's parse cannot break.

CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread
(python/cpython#106905, #95185): a parse that yields the GIL midway (a finalizer run by the
garbage collector) to a thread that parses too fails with ``SystemError: AST constructor
recursion depth mismatch``. agentnb parses in the kernel's thread (the source of a call into
it) while the built-in server parses in its own (the demo calculator), and other libraries
parse in theirs (tracebacks' carets, IPython): agentnb's parses hold one lock, so they never
race each other, and one that another library's parse raced is parsed again.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["parse_expression", "parse_module"]

_Tree = TypeVar("_Tree", bound=ast.AST)

_LOCK = threading.Lock()
_RETRIES = 2
_RACE = "AST constructor recursion depth mismatch"


def parse_module(source: str) -> ast.Module:
    """``ast.parse(source)``; a ``SyntaxError`` (or ``ValueError``: a null byte) is the
    caller's to handle."""
    return _parsed(lambda: ast.parse(source))


def parse_expression(source: str) -> ast.Expression:
    """``ast.parse(source, mode="eval")``, errors as :func:`parse_module`'s."""
    return _parsed(lambda: ast.parse(source, mode="eval"))


def _parsed(parse: Callable[[], _Tree]) -> _Tree:
    """``parse()`` under the lock, run again when another thread's parse raced it."""
    for _ in range(_RETRIES):
        try:
            with _LOCK:
                return parse()
        except SystemError as exc:
            if _RACE not in str(exc):
                raise
    with _LOCK:
        return parse()
