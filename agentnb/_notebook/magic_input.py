"""Questions ending in ``?``: keep IPython's help syntax away from ``%agent`` lines.

IPython reads a line ending in ``?`` or ``??`` as a help request (``%agent echo what is NVDA
at?`` would look up the object ``at``) and does so before it turns ``%magic`` lines into
calls. Natural questions end in ``?``, so on ``%load_ext agentnb`` a cleanup transform (the
documented hook that runs before IPython's own syntax) turns each ``%agent ...`` line into the
very call IPython would make for it, with the whole line, ``?`` included, as the argument.
``%agent?`` alone (help on the magic), ``%%agent`` cells and other magics are left alone,
except a ``%%agent --help`` cell with no body: IPython would refuse it as empty before the
magic could print its help.
"""

from __future__ import annotations

import tokenize
from collections.abc import Callable
from typing import Any

from IPython.core import inputtransformer2

__all__ = ["install", "protect_agent_lines", "uninstall"]

# IPython's own pieces (unannotated there): the tokenizer it finds special syntax with, and
# the transform it applies to ``%magic`` lines
make_tokens_by_line: Callable[[list[str]], list[list[Any]]] = inputtransformer2.make_tokens_by_line
EscapedCommand: Callable[[tuple[int, int]], Any] = inputtransformer2.EscapedCommand

MAGIC = "agent"


def protect_agent_lines(lines: list[str]) -> list[str]:
    """The cell's lines with every ``%agent ...`` line made a ``run_line_magic`` call, and a
    ``%%agent ... --help`` cell with no body made the call that prints the help (IPython
    refuses a cell magic with an empty body before the magic could answer)."""
    if lines and _is_cell_help(lines):
        line = lines[0].rstrip("\n").removeprefix("%%" + MAGIC)
        return [f"get_ipython().run_cell_magic({MAGIC!r}, {line!r}, '\\n')\n"]
    if not lines or lines[0].startswith("%%"):
        return lines  # a cell magic's body is its text, not code
    for _ in range(len(lines)):
        start = _next_agent_line(lines)
        if start is None:
            break
        lines = list(EscapedCommand(start).transform(lines))
    return lines


def _is_cell_help(lines: list[str]) -> bool:
    """A ``%%agent`` cell asking for help, with nothing in its body."""
    words = lines[0].split()
    return (
        bool(words)
        and words[0] == "%%" + MAGIC
        and bool({"-h", "--help"} & set(words))
        and not "".join(lines[1:]).strip()
    )


def _next_agent_line(lines: list[str]) -> tuple[int, int] | None:
    """Where the first ``%agent`` command starts (1-based line, column), found with tokens
    so that text inside a string is never taken for one."""
    for tokens in make_tokens_by_line(lines):
        code = [t for t in tokens if t.type not in (tokenize.INDENT, tokenize.DEDENT)]
        if len(code) < 3 or code[0].string != "%" or code[1].string != MAGIC:
            continue
        percent, name = code[0], code[1]
        line = lines[percent.start[0] - 1]
        after = name.end[1]
        adjacent = name.start == (percent.start[0], percent.start[1] + 1)
        if adjacent and after < len(line) and line[after] in " \t":
            row, col = percent.start
            return int(row), int(col)
    return None


def install(shell: Any) -> None:
    """Add the transform to ``shell`` (once)."""
    cleanup: list[Any] = shell.input_transformers_cleanup
    if protect_agent_lines not in cleanup:
        cleanup.append(protect_agent_lines)


def uninstall(shell: Any) -> None:
    """Remove the transform from ``shell``."""
    cleanup: list[Any] = shell.input_transformers_cleanup
    while protect_agent_lines in cleanup:
        cleanup.remove(protect_agent_lines)
