"""The ready read-only tools over the live kernel that ``context=True`` offers the agent:
the variables (paged), one variable described, the recent cells and their outputs, the last
error, the files under the working directory and the head of one.

They run as the notebook's own tools do (:mod:`agentnb._core.client_tools`, through the
run's approval gate: each read asks first unless ``configure(ask_first=False)``). They
read and never write; what they read passes the one summarizer and its redaction
(:mod:`.context_summary`) and reaches the agent inside the run's nonced data block. Files:
nothing outside the working directory (a symlink is followed before it is judged), and
files that may hold secrets (``.env``, keys, credentials) are listed but never read.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FunctionType
from typing import Any, Final

from .._core.client_tools import ClientTool, tool
from .._core.exceptions import ConfigurationError
from .._core.secrets import without_a_cut_secret
from .._display.environment import user_shell
from .context_summary import (
    ContextSettings,
    bounded,
    context_settings,
    counted,
    cut,
    data_block,
    kind_of,
    new_nonce,
    secret_values,
    summarize,
)

__all__ = [
    "FILE_LINES",
    "NO_KERNEL",
    "PAGE_SIZE",
    "PRIVATE_FILE",
    "Kernel",
    "cell_source",
    "context_tools",
    "inside_workdir",
    "kernel_secrets",
    "kernel_tools",
    "last_error",
    "remember_code_error",
    "running_kernel",
    "user_variables",
]

PAGE_SIZE: Final = 50
"""Variables one page of the listing names."""
RECENT_CELLS: Final = 5
FILE_LINES: Final = 50
"""Lines the head of a file reads at most (and at most the item budget of characters)."""
NO_KERNEL = (
    "the context tools read the variables of an IPython session (a notebook's kernel or "
    "terminal IPython), and none runs here"
)
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
PRIVATE_FILE: Final = re.compile(
    r"^\.env(\..*)?$|\.env$|^\.(netrc|pgpass|npmrc|pypirc|git-credentials)$|^id_[a-z0-9]+$"
    r"|\.(pem|key|p12|pfx|keystore)$|secret|credential|passw|token",
    re.IGNORECASE,
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_FILE = re.compile(r"^<ipython-input-|ipykernel_\d+[/\\]\d+\.py$")


@dataclass(frozen=True)
class Kernel:
    """What the context reads: the user's namespace, the names IPython put there itself,
    the working directory files are read under, and the cells as they were typed (IPython's
    raw input history; without it, the namespace's ``In``)."""

    namespace: Mapping[str, Any]
    hidden: Collection[str] = frozenset()
    cwd: Path = field(default_factory=Path.cwd)
    typed: Sequence[str] | None = None

    @classmethod
    def of(cls, shell: Any) -> Kernel:
        """The kernel of an IPython ``shell``."""
        hidden = frozenset(getattr(shell, "user_ns_hidden", ()))
        typed = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
        return cls(shell.user_ns, hidden, Path.cwd(), typed if isinstance(typed, list) else None)

    def cells(self) -> Sequence[str] | None:
        """Each cell's source as it was typed, by its number (``In[N]`` holds a magic cell as
        IPython turned it into Python: ``get_ipython().run_line_magic(...)``)."""
        if self.typed is not None:
            return self.typed
        cells = self.namespace.get("In")
        return cells if isinstance(cells, list) else None


def running_kernel() -> Kernel | None:
    """The kernel of the IPython session this runs in (a notebook's or terminal IPython's),
    else None."""
    shell = user_shell()
    return Kernel.of(shell) if shell is not None else None


def kernel_tools() -> tuple[ClientTool, ...]:
    """The context tools over the running session, their results under a new nonce: what a
    client takes as ``tools=`` (one call per run); a :class:`ConfigurationError` outside one."""
    kernel = running_kernel()
    if kernel is None:
        raise ConfigurationError(NO_KERNEL)
    return context_tools(kernel, new_nonce())


def user_variables(kernel: Kernel, settings: ContextSettings) -> list[str]:
    """The user's own names, sorted: not modules, IPython's or agentnb's objects, ``_``
    names or denied names."""
    names = []
    for name, value in list(kernel.namespace.items()):
        if name.startswith("_") or name in _IPYTHON_NAMES or name in kernel.hidden:
            continue
        if name in settings.deny or type(value).__name__ == "module":
            continue
        if _of_agentnb(value):
            continue
        names.append(name)
    return sorted(names)


def kernel_secrets(kernel: Kernel) -> tuple[str, ...]:
    """The values the user's names hold under secret-looking names (a variable, a dict key,
    a column): redacted from everything read from ``kernel``, wherever they show."""
    names = kernel.namespace.items()
    return secret_values(
        {n: v for n, v in list(names) if not n.startswith("_") and n not in kernel.hidden}
    )


def _of_agentnb(value: Any) -> bool:
    """agentnb's own objects: its functions, classes and their instances."""
    owner = value.__module__ if isinstance(value, type | FunctionType) else type(value).__module__
    return str(owner).split(".")[0] == "agentnb"


def cell_source(kernel: Kernel, number: int, secrets: Iterable[str]) -> str:
    """The source of cell ``number`` as it was typed, redacted (``secrets`` too)."""
    cells = kernel.cells()
    if cells is None or not 0 < number < len(cells):
        raise ValueError(f"In[{number}]: there is no cell {number} in this kernel")
    return cut(str(cells[number]), context_settings().item_chars, secrets=secrets)


def last_error(kernel: Kernel, secrets: Iterable[str]) -> str:
    """The last exception a cell raised: type, message, the user's frames and the last
    library frame, without colour codes, the home directory as ``~``; redacted
    (``secrets`` too)."""
    error = _last_code_error()
    if error is None:
        return "no cell has raised an exception in this kernel"
    frames = traceback.extract_tb(error.__traceback__)
    user = [f for f in frames if _CELL_FILE.search(f.filename)]
    library = [f for f in frames if not _CELL_FILE.search(f.filename)]
    kept = [f for f in frames if f in user or (library and f is library[-1])]
    lines = [f"{type(error).__name__}: {_ANSI.sub('', _message(error))}"]
    for frame in kept:
        where = "cell" if frame in user else _home(frame.filename)
        lines.append(f"  {where}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    if len(kept) < len(frames):
        lines.append(f"  [{counted(len(frames) - len(kept), 'library frame')} left out]")
    return cut("\n".join(lines), context_settings().item_chars, secrets=secrets)


_code_errors: list[BaseException] = []
"""The last exception a cell's code raised, as ``%load_ext agentnb`` saw it (one at most)."""


def remember_code_error(error: BaseException) -> None:
    """Keep ``error``, raised by a cell's code, as what ``@error`` reads. IPython keeps a
    magic's ``UsageError`` (agentnb's refusal of ``@dff``, say) as the last exception too,
    which is not the user's error; the magics leave those out."""
    _code_errors[:] = [error]


def _last_code_error() -> BaseException | None:
    if _code_errors:
        return _code_errors[0]
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    usage = error is not None and type(error).__module__ == "IPython.core.error"
    return None if usage else error


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception as broken:  # its own __str__ failed
        return f"<message failed: {type(broken).__name__}>"


def _home(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "~" and path.startswith(home) else path


def context_tools(kernel: Kernel, nonce: str) -> tuple[ClientTool, ...]:
    """The context tools over ``kernel``, their results in the data block marked ``nonce``."""
    settings = context_settings()

    def as_data(read: Callable[[tuple[str, ...]], str]) -> str:
        """What ``read`` gives, given the kernel's secrets as they are now, redacted of them
        (again, as a whole), within the item budget, in the data block."""
        secrets = kernel_secrets(kernel)
        return data_block(cut(read(secrets), settings.item_chars, secrets=secrets), nonce)

    def notebook_variables(page: int = 1) -> str:
        """List the variables in the user's notebook, a page at a time.

        :param page: the page to list, from 1
        """
        names = user_variables(kernel, settings)
        pages = max(1, -(-len(names) // PAGE_SIZE))
        if not 1 <= page <= pages:
            raise ValueError(f"page {page} does not exist: there are {counted(pages, 'page')}")
        return as_data(lambda _: bounded(lambda: _variables_page(kernel, names, page, pages)))

    def notebook_describe(name: str) -> str:
        """Describe one variable of the user's notebook (a frame's columns, dtypes, nulls,
        statistics and a few rows; a value in a form that fits it).

        :param name: the variable's name
        """
        if name not in user_variables(kernel, settings):
            raise ValueError(f"no variable {name!r} in the notebook (see notebook_variables)")
        value = kernel.namespace[name]
        return as_data(lambda secrets: summarize(value, name, settings, secrets))

    def notebook_cells(count: int = RECENT_CELLS) -> str:
        """Show the notebook's most recent cells as they were typed, and the values they
        returned.

        :param count: how many cells, the latest last
        """
        return as_data(
            lambda secrets: bounded(lambda: _recent_cells(kernel, settings, count, secrets))
        )

    def notebook_error() -> str:
        """Show the last exception a cell of the notebook raised, with its traceback."""
        return as_data(lambda secrets: last_error(kernel, secrets))

    def notebook_files(path: str = ".") -> str:
        """List the files of a folder under the notebook's working directory.

        :param path: a folder relative to the working directory
        """
        return as_data(lambda _: _files(kernel.cwd, path))

    def notebook_read_file(path: str, lines: int = FILE_LINES) -> str:
        """Read the first lines of a text file under the notebook's working directory.

        :param path: the file, relative to the working directory
        :param lines: how many lines from its start
        """
        return as_data(lambda secrets: _head(kernel.cwd, path, lines, secrets))

    functions = (
        notebook_variables,
        notebook_describe,
        notebook_cells,
        notebook_error,
        notebook_files,
        notebook_read_file,
    )
    made = (tool(fn, approve=settings.ask_first, time_limit=10) for fn in functions)
    return tuple(replace(t, reads_notebook=True) for t in made)


def _short(value: Any) -> str:
    text = kind_of(value)
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"{text} {'×'.join(f'{n:,}' for n in shape)}"
    if isinstance(value, str):
        return f"str, {counted(len(value), 'character')}"
    if isinstance(value, list | tuple | dict | set):
        return f"{text}, {counted(len(value), 'item')}"
    return text


def _variables_page(kernel: Kernel, names: list[str], page: int, pages: int) -> str:
    shown = names[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    head = f"{counted(len(names), 'variable')}; page {page} of {pages}"
    if page < pages:
        head += f" (call again with page={page + 1} for more)"
    lines = [head, *(f"{name}: {_short(kernel.namespace[name])}" for name in shown)]
    return "\n".join(lines)


def _recent_cells(
    kernel: Kernel, settings: ContextSettings, count: int, secrets: Iterable[str]
) -> str:
    cells = kernel.cells()
    outputs = kernel.namespace.get("Out")
    if cells is None or len(cells) < 2:
        return "no cell has run in this kernel"
    count = max(1, min(count, 20))
    lines = []
    for number in range(max(1, len(cells) - count), len(cells)):
        lines.append(f"In[{number}]:\n{cut(str(cells[number]), 1_000, secrets=secrets)}")
        if isinstance(outputs, Mapping) and number in outputs:
            output = summarize(outputs[number], f"Out[{number}]", settings, secrets)
            lines.append(cut(output, 1_000, secrets=secrets))
    return "\n".join(lines)


def inside_workdir(cwd: Path, path: str) -> Path:
    """``path`` under ``cwd``, symlinks followed; a ``ValueError`` for anything outside."""
    root = cwd.resolve()
    target = (root / path).resolve()
    if target != root and not target.is_relative_to(root):
        raise ValueError(f"{path!r} is outside the working directory: only files under it are read")
    return target


def _files(cwd: Path, path: str) -> str:
    folder = inside_workdir(cwd, path)
    if not folder.is_dir():
        raise ValueError(f"{path!r} is not a folder under the working directory")
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    lines = [f"{counted(len(entries), 'entry', 'entries')} in {path!r}:"]
    for entry in entries[:200]:
        if entry.is_symlink() and not entry.resolve().is_relative_to(cwd.resolve()):
            lines.append(f"  {entry.name} (a link outside the working directory: not read)")
        elif entry.is_dir():
            lines.append(f"  {entry.name}/")
        elif PRIVATE_FILE.search(entry.name):
            lines.append(f"  {entry.name} (may hold secrets: listed, never read)")
        else:
            lines.append(f"  {entry.name} ({counted(entry.stat().st_size, 'byte')})")
    if len(entries) > 200:
        lines.append(f"  [{counted(len(entries) - 200, 'more entry', 'more entries')}]")
    return "\n".join(lines)


def _head(cwd: Path, path: str, lines: int, secrets: Iterable[str]) -> str:
    target = inside_workdir(cwd, path)
    if PRIVATE_FILE.search(target.name):
        raise ValueError(f"{target.name!r} may hold secrets: it is never read")
    if not target.is_file():
        raise ValueError(f"{path!r} is not a file under the working directory")
    read = context_settings().item_chars * 4
    with target.open("rb") as file:
        start = file.read(read + 1)
    if b"\x00" in start:
        raise ValueError(f"{path!r} is a binary file: only text files are read")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(start[:read], final=len(start) <= read)  # a cut character waits
    if len(start) > read:  # the read stopped inside the file: maybe inside a secret
        text = without_a_cut_secret(text, secrets)
    kept = text.splitlines()[: max(1, min(lines, 1_000))]
    return f"{path} (first {counted(len(kept), 'line')}):\n" + "\n".join(kept)
