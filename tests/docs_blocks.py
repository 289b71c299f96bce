"""The fenced blocks of a docs page, read as a reader follows them: what runs, how, and what it
shows. One rule per kind of block (the page's own mark says what a block is):

- a ``python`` block, or an untagged block whose first line is a magic (``%%agent ...``), is a
  notebook cell; a block marked ``{.python .marimo}`` is a cell of a marimo notebook;
- a shell block (``bash``, ``console``, ``sh``, ``shell``): each ``agentnb ...`` command in it
  is run (a ``$`` prompt before it is dropped; in a ``console`` block the lines up to the next
  prompt are its output); other commands (installs, ``bash scripts/test.sh``, another tool's
  server) are not run;
- a block titled ``Output`` (```` ```text title="Output" ````) shows what the block before it
  prints or returns, ``…`` standing for any text;
- a block whose first line is a comment ending ``not run by the tests`` (``# needs a real
  OpenAI key: not run by the tests``), or whose title does (a magic's cell, where the magic
  must come first: ```` ``` title="Needs ...: not run by the tests" ````), is not run: the
  reader sees why;
- anything else (``text``, ``toml``, ``sql``, an untagged block of what something sends) is
  shown, not run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Block", "Command", "page_blocks", "shell_commands", "shows"]

Kind = Literal["cell", "marimo", "shell", "output", "not run", "shown"]

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>.*)$")
SHELLS = frozenset({"bash", "console", "sh", "shell"})
NOT_RUN = re.compile(r"^\s*(#|--)\s.*not run by the tests\.?\s*$")
TITLE = re.compile(r'title="([^"]*)"')
CLASS = re.compile(r"(?<![\w-])\.([\w-]+)")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    """The line of its opening fence (1-based), where a failure points."""
    language: str
    title: str
    code: str
    classes: tuple[str, ...] = ()
    """The fence's classes, in the ``{.python .marimo}`` form."""

    @property
    def kind(self) -> Kind:
        first = self.code.lstrip("\n").split("\n", 1)[0]
        if self.title == "Output":
            return "output"
        if NOT_RUN.match(first) or self.title.rstrip(".").endswith("not run by the tests"):
            return "not run"
        if "marimo" in self.classes:
            return "marimo"
        if self.language == "python" or (not self.language and first.startswith("%")):
            return "cell"
        if self.language in SHELLS:
            return "shell"
        return "shown"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Command:
    argv: list[str]
    """``agentnb`` and its arguments, as a shell splits the line."""
    output: str | None
    """What a ``console`` block shows it printing (None where the block shows nothing)."""


def page_blocks(path: Path, name: str | None = None) -> list[Block]:
    """Every fenced block of the page, in order (an indented fence, in a list, too)."""
    blocks: list[Block] = []
    opened: tuple[int, str, str, str, tuple[str, ...]] | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if opened is None and fence:
            info = fence["info"].strip()
            classes = tuple(CLASS.findall(info)) if info.startswith("{") else ()
            first = info.split(" ", 1)[0]
            language = classes[0] if classes else "" if not first or "=" in first else first
            found = TITLE.search(info)
            title = found[1] if found else ""
            opened, body = (number, fence["indent"], language, title, classes[1:]), []
        elif opened is not None and fence and not fence["info"].strip():
            start, indent, language, title, classes = opened
            code = "\n".join(b[len(indent) :] if b.startswith(indent) else b for b in body)
            blocks.append(Block(name or path.name, start, language, title, code, classes))
            opened = None
        elif opened is not None:
            body.append(line)
    return blocks


def shell_commands(block: Block) -> list[Command]:
    """The ``agentnb`` commands a shell block gives, each with the output it shows."""
    commands: list[Command] = []
    prompted = block.language == "console"
    lines = block.code.splitlines()
    for i, line in enumerate(lines):
        command = line[2:] if prompted and line.startswith("$ ") else line
        if prompted and not line.startswith("$ "):
            continue
        if not command.startswith("agentnb "):
            continue
        output = None
        if prompted:
            after = [*lines[i + 1 :], "$ "]
            shown = after[: next(j for j, rest in enumerate(after) if rest.startswith("$ "))]
            output = "\n".join(shown) if shown else None
        argv = shlex.split(command, comments=True)
        commands.append(Command(argv, output))
    return commands


def shows(expected: str, actual: str) -> bool:
    """Whether ``actual`` reads as ``expected`` does: the same words in the same order, however
    they are spaced or wrapped (a notebook and a terminal wrap differently), ``…`` standing
    for any text."""
    pattern = r"\s*".join(".*?" if word == "…" else re.escape(word) for word in _words(expected))
    return re.fullmatch(pattern, " ".join(_words(actual)), flags=re.S) is not None


def _words(text: str) -> list[str]:
    return text.replace("…", " … ").split()
