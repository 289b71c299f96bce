"""Whether a string given to agentnb was typed as a literal where it was called: the message
of ``agentnb.ask("agent", "What is in @df?")`` was written by the person in the cell; the
message of ``agentnb.ask("agent", f"Summarize: {review}")`` or ``ask("agent", email)`` was
not (it may carry text from anywhere). ``@name`` mentions are expanded only in the first.

The call is found from the caller's frame: the first frame outside agentnb, the expression
its current instruction runs (Python's code positions), that expression's call in the
frame's source (parsed, never run), and the argument at the given place. Whatever cannot be
found (no source, a call through a helper function, an argument built at run time) is not a
literal: the answer errs on the side of text.
"""

from __future__ import annotations

import ast
import inspect
import linecache
from types import FrameType

from .ast_parse import parse_module

__all__ = ["typed_literal"]


def typed_literal(value: str, position: int, keyword: str) -> bool:
    """Whether ``value`` is the string literal written as the argument at ``position`` (or
    named ``keyword``) of the call into agentnb that is running now."""
    frame = inspect.currentframe()
    try:
        caller = _users_frame(frame)
        call = _running_call(caller) if caller is not None else None
        if call is None:
            return False
        argument = _argument(call, position, keyword)
        return argument is not None and _literal(argument) == value
    finally:
        del frame


def _users_frame(frame: FrameType | None) -> FrameType | None:
    """The first frame out from ``frame`` that is not agentnb's own."""
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if not (isinstance(module, str) and module.split(".")[0] == "agentnb"):
            return frame
        frame = frame.f_back
    return None


def _running_call(frame: FrameType) -> ast.Call | None:
    """The call expression ``frame`` is running, read from its source."""
    positions = list(frame.f_code.co_positions())
    index = frame.f_lasti // 2
    if not 0 <= index < len(positions):
        return None
    where = positions[index]
    if None in where:
        return None
    source = "".join(linecache.getlines(frame.f_code.co_filename, frame.f_globals))
    try:
        tree = parse_module(source)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            span = (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)
            if span == where:
                return node
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for named in call.keywords:
        if named.arg == keyword:
            return named.value
    if any(isinstance(arg, ast.Starred) for arg in call.args[: position + 1]):
        return None
    return call.args[position] if position < len(call.args) else None


def _literal(node: ast.expr) -> str | None:
    """The text of a string literal (an f-string with nothing interpolated included)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and all(
        isinstance(part, ast.Constant) and isinstance(part.value, str) for part in node.values
    ):
        return "".join(str(part.value) for part in node.values if isinstance(part, ast.Constant))
    return None
