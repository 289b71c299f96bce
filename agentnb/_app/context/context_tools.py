"""The ready read-only tools over the live kernel that ``context=True`` offers the agent:
the variables (paged), one variable described, the recent cells and their outputs, the last
error, the files under the working directory and the head of one.

They run as the notebook's own tools do (:mod:`agentnb._core.client_tools`, through the
run's approval gate: each read asks first unless ``configure(ask_first=False)``, naming what
it will read without running the user's code; the read runs once allowed). They read and
never write; each read takes the settings in force (the privacy level and the deny list
bind the cells, outputs, errors and files too); what they read passes the one summarizer
and its redaction (:mod:`.context_summary`) and reaches the agent inside the run's nonced
data block. Files: nothing outside the working directory, each judged by its path (asked
and resolved): folders that hold secrets (``.git``, ``.ssh``, ``secrets``) are never
listed inside nor read, and files that may hold secrets (``.env``, keys, credentials) are
listed but never read.
"""

from __future__ import annotations

import codecs
import fnmatch
import io
import os
import re
import sys
import time
import tokenize
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import FunctionType, ModuleType
from typing import Any, Final

from ..._core.client_tools import ClientTool, FormedResult, tool
from ..._core.exceptions import ConfigurationError
from ..._core.secrets import REDACTED, FoundSecrets, secret_name, without_a_cut_secret
from ..._display.environment import user_shell
from .context_summary import (
    ITEM_TIME_LIMIT,
    UNSEARCHED,
    ContextSettings,
    Level,
    bounded,
    context_settings,
    counted,
    cut,
    data_block,
    kind_of,
    new_nonce,
    searched,
    secret_values,
    summarize,
)

__all__ = [
    "NO_KERNEL",
    "OUTPUT_SCHEMAS",
    "PAGE_SIZE",
    "Kernel",
    "cell_source",
    "context_tools",
    "denied_in",
    "denied_value",
    "file_head",
    "judged_file",
    "kernel_secrets",
    "kernel_tools",
    "last_error",
    "read_safely",
    "refusal_of",
    "remember_code_error",
    "running_kernel",
    "source_at",
    "the_kernel",
    "user_variables",
]

PAGE_SIZE: Final = 50
"""Variables one page of the listing names."""
RECENT_CELLS: Final = 5
CELLS_TIME: Final = 3 * ITEM_TIME_LIMIT
"""Seconds ``notebook_cells`` summarizes outputs for, each within its own limit: past them
the rest are not read (the read ends within its tool's time)."""
FILE_LINES: Final = 50
"""Lines the head of a file reads at most (and at most the item budget of characters)."""
NO_KERNEL = (
    "the context tools read the variables of an IPython session (a notebook's kernel or "
    "terminal IPython), and none runs here"
)
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
_PRIVATE_FILE = re.compile(
    r"^\.env(\..*)?$|\.env$|^\.(netrc|pgpass|npmrc|pypirc|git-credentials|dockercfg|boto|s3cfg)$"
    r"|^\.my\.cnf$|^id_[a-z0-9]+(\.pub)?$|^kubeconfig$|^service[-_]?account.*\.json$"
    r"|\.(pem|key|p12|pfx|keystore|jks|ppk|kdbx|tfstate|tfvars|ovpn|asc|gpg)$"
    r"|secret|credential|passw|token",
    re.IGNORECASE,
)
"""Files that may hold secrets, by their name: listed, never read."""
_PRIVATE_FOLDERS: Final = frozenset(
    {
        *(".ssh", ".aws", ".docker", ".git", ".gnupg", ".kube", ".azure", ".gcloud"),
        *(".password-store", ".terraform", ".vault", ".secrets", "secrets", "secret"),
        *(".credentials", "credentials", ".config/gcloud"),
    }
)
"""Folders that hold secrets (a git remote's token, a cloud's keys, a registry's login):
nothing under them is listed or read."""
_LITERALS = frozenset(
    {tokenize.STRING, tokenize.NUMBER, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
)
"""The tokens a cell's source at the ``schema`` level leaves out (an f-string's text,
from Python 3.12, is a token of its own)."""
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
    return context_tools(the_kernel(), new_nonce())


def the_kernel() -> Kernel:
    """The running session; a :class:`ConfigurationError` outside one."""
    kernel = running_kernel()
    if kernel is None:
        raise ConfigurationError(NO_KERNEL)
    return kernel


def user_variables(kernel: Kernel, settings: ContextSettings) -> list[str]:
    """The user's own names, sorted: not modules, IPython's or agentnb's objects, ``_``
    names, denied names, or another name for a denied value (``c = customers``)."""
    denied = _denied_values(kernel, settings)
    return sorted(
        name
        for name, value in list(kernel.namespace.items())
        if not (name.startswith("_") or name in _IPYTHON_NAMES or name in kernel.hidden)
        and not (name in settings.deny or id(value) in denied or isinstance(value, ModuleType))
        and not _of_agentnb(value)
    )


def _denied_values(kernel: Kernel, settings: ContextSettings) -> set[int]:
    """The ids of the values the deny list's names hold (another name for one is denied
    too)."""
    return {id(kernel.namespace[n]) for n in settings.deny if n in kernel.namespace}


def denied_value(kernel: Kernel, settings: ContextSettings, value: object) -> bool:
    """Whether ``value`` is one a name on the deny list holds."""
    return id(value) in _denied_values(kernel, settings)


def denied_in(source: str, settings: ContextSettings) -> str | None:
    """The first name on the deny list that ``source`` (a cell, a traceback's line) names,
    if any: its text and what it made are not read."""
    for name in sorted(settings.deny):
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", source):
            return name
    return None


def _denied_note(name: str) -> str:
    return f"[not read: it names {name}, on the context deny list]"


def kernel_secrets(kernel: Kernel) -> FoundSecrets:
    """The values the user's names hold under secret-looking names (a variable, a dict key,
    a record's attribute, a column, at any depth): redacted from everything read from
    ``kernel``, wherever they show; and whether the search finished."""
    names = kernel.namespace.items()
    return secret_values(
        {n: v for n, v in list(names) if not n.startswith("_") and n not in kernel.hidden}
    )


def _of_agentnb(value: Any) -> bool:
    """agentnb's own objects: its functions, classes and their instances (the module read
    from the type itself: nothing of the user's runs)."""
    if isinstance(value, FunctionType):
        owner = value.__module__
    else:
        kind = value if isinstance(value, type) else type(value)
        owner = type.__dict__["__module__"].__get__(kind)
    return str(owner).split(".")[0] == "agentnb"


def cell_source(
    kernel: Kernel, number: int, secrets: Iterable[str], settings: ContextSettings
) -> str:
    """The source of cell ``number`` as it was typed, redacted (``secrets`` too): at the
    ``schema`` level without its literal values; a :class:`ConfigurationError` for a cell
    that names a denied variable."""
    cells = kernel.cells()
    if cells is None or not 0 < number < len(cells):
        raise ValueError(f"In[{number}]: there is no cell {number} in this kernel")
    source = str(cells[number])
    denied = denied_in(source, settings)
    if denied is not None:
        raise ConfigurationError(
            f"@In[{number}]: cell {number} names {denied}, on the context deny list "
            f"(nothing was sent)"
        )
    return cut(source_at(source, settings.level), settings.item_chars, secrets=secrets)


def source_at(source: str, level: Level) -> str:
    """A cell's ``source`` as a privacy ``level`` sends it: as typed, but at ``schema``
    its literal values (strings, numbers) written ``…``: the code's names and calls are
    its schema, its literals may be data. A source Python cannot read into tokens is not
    sent at ``schema``."""
    if level != "schema":
        return source
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return "[source not sent at the schema level: it is not Python]"
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    parts, done = [], 0
    for token in (t for t in tokens if t.type in _LITERALS):
        (row, col), (end_row, end_col) = token.start, token.end
        start, end = starts[row - 1] + col, starts[end_row - 1] + end_col
        parts += [source[done:start], "…"]
        done = end
    return "".join(parts) + source[done:]


def last_error(kernel: Kernel, secrets: Iterable[str], settings: ContextSettings) -> str:
    """The last exception a cell raised: type, message, the user's frames and the last
    library frame, without colour codes, the home directory as ``~``; redacted
    (``secrets`` too). At the ``schema`` level its message is not sent and its lines are
    sent without their literals; a line that names a denied variable is not sent, nor then
    the message."""
    error = _last_code_error()
    if error is None:
        return "no cell has raised an exception in this kernel"
    frames = traceback.extract_tb(error.__traceback__)
    user = [f for f in frames if _CELL_FILE.search(f.filename)]
    library = [f for f in frames if not _CELL_FILE.search(f.filename)]
    kept = [f for f in frames if f in user or (library and f is library[-1])]
    denied = [d for f in user if f.line and (d := denied_in(f.line, settings))]
    if denied:
        message = _denied_note(denied[0])
    elif settings.level == "schema":
        message = "[message not sent at the schema level]"
    else:
        message = _ANSI.sub("", _message(error))
    lines = [f"{type(error).__name__}: {message}"]
    for frame in kept:
        where = "cell" if frame in user else _home(frame.filename)
        lines.append(f"  {where}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            line = frame.line.strip()
            named = denied_in(line, settings)
            lines.append(f"    {_denied_note(named) if named else source_at(line, settings.level)}")
    if len(kept) < len(frames):
        lines.append(f"  [{counted(len(frames) - len(kept), 'library frame')} left out]")
    return cut("\n".join(lines), settings.item_chars, secrets=secrets)


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


def read_safely(kernel: Kernel, read: Callable[[ContextSettings, tuple[str, ...]], str]) -> str:
    """What ``read`` gives, given the settings and ``kernel``'s secrets as they are now,
    redacted of them (again, as a whole), within the item budget; at the schema level when
    the search for secrets could not finish, saying so."""
    found = kernel_secrets(kernel)
    settings = searched(context_settings(), found)
    text = read(settings, found.values)
    if not found.complete:
        text = f"{UNSEARCHED}\n{text}"
    return cut(text, settings.item_chars, secrets=found.values)


def context_tools(kernel: Kernel, nonce: str) -> tuple[ClientTool, ...]:
    """The context tools over ``kernel``, their results in the data block marked ``nonce``.
    Each read takes the settings in force when it is made (:func:`configure`)."""

    def as_data(read: Callable[[ContextSettings, tuple[str, ...]], str]) -> str:
        """What ``read`` gives, read safely, in the data block."""
        return data_block(read_safely(kernel, read), nonce)

    def notebook_variables(page: int = 1) -> FormedResult:
        """List the variables in the user's notebook, a page at a time.

        :param page: the page to list, from 1
        """
        names = user_variables(kernel, context_settings())
        pages = max(1, -(-len(names) // PAGE_SIZE))
        if not 1 <= page <= pages:
            raise ValueError(f"page {page} does not exist: there are {counted(pages, 'page')}")
        listed: list[dict[str, str]] = []
        text = as_data(
            lambda *_: bounded(lambda: _variables_page(kernel, names, page, pages, listed))
        )
        structured = {"count": len(names), "page": page, "pages": pages, "variables": listed}
        return FormedResult(text, structured=structured)

    def notebook_describe(name: str) -> FormedResult:
        """Describe one variable of the user's notebook (a frame's columns, dtypes, nulls,
        statistics and a few rows; a value in a form that fits it).

        :param name: the variable's name
        """
        if name not in user_variables(kernel, context_settings()):
            raise ValueError(f"no variable {name!r} in the notebook (see notebook_variables)")
        value = kernel.namespace[name]
        said = read_safely(
            kernel, lambda settings, secrets: summarize(value, name, settings, secrets)
        )
        structured = {"name": name, "type": kind_of(value), "description": said}
        return FormedResult(data_block(said, nonce), structured=structured)

    def notebook_cells(count: int = RECENT_CELLS) -> str:
        """Show the notebook's most recent cells as they were typed, and the values they
        returned.

        :param count: how many cells, the latest last
        """
        return as_data(lambda settings, secrets: _recent_cells(kernel, settings, count, secrets))

    def notebook_error() -> str:
        """Show the last exception a cell of the notebook raised, with its traceback."""
        return as_data(
            lambda settings, secrets: bounded(lambda: last_error(kernel, secrets, settings))
        )

    def notebook_files(path: str = ".") -> str:
        """List the files of a folder under the notebook's working directory.

        :param path: a folder relative to the working directory
        """
        return as_data(lambda settings, _: _files(kernel.cwd, path, settings))

    def notebook_read_file(path: str, lines: int = FILE_LINES) -> str:
        """Read the first lines of a text file under the notebook's working directory.

        :param path: the file, relative to the working directory
        :param lines: how many lines from its start
        """
        return as_data(
            lambda settings, secrets: file_head(kernel.cwd, path, lines, secrets, settings)
        )

    reads = (notebook_variables, notebook_describe, notebook_cells, notebook_error)
    functions = (*reads, notebook_files, notebook_read_file)
    ask_first = context_settings().ask_first
    made = (tool(fn, approve=ask_first, time_limit=10) for fn in functions)
    previews = _previews(kernel)
    refusals = {"notebook_read_file": refusal_of(lambda args: _never_read(kernel.cwd, args))}
    return tuple(
        replace(t, reads_notebook=True, preview=previews[t.name], refusal=refusals.get(t.name))
        for t in made
    )


def _never_read(cwd: Path, arguments: dict[str, Any]) -> None:
    """A ``ValueError`` for a file never read (``.env``, outside the working directory, the
    deny list), judged before the person is asked: approving could not make it read."""
    judged_file(cwd, str(arguments.get("path", "")), "read", context_settings())


def refusal_of(
    check: Callable[[dict[str, Any]], object],
) -> Callable[[dict[str, Any]], str | None]:
    """A tool's ``refusal``: why a call is never run, the ``ValueError`` ``check`` raises
    for its arguments (None: it may run)."""

    def refusal(arguments: dict[str, Any]) -> str | None:
        try:
            check(arguments)
        except ValueError as why:
            return str(why)
        return None

    return refusal


def _previews(kernel: Kernel) -> dict[str, Callable[[dict[str, Any]], str]]:
    """What the question about each tool's call says it will read, given the call's
    arguments: names, kinds and places, made without running any of the user's code (no
    ``repr``, no property: the read itself runs only once approved)."""

    def asked(what: str) -> str:
        return f"reads the notebook once approved, at the {context_settings().level} level: {what}"

    def describe(arguments: dict[str, Any]) -> str:
        name = str(arguments.get("name", ""))
        if name not in user_variables(kernel, context_settings()):
            return asked(f"the variable {name} (the notebook has none it may read by that name)")
        return asked(f"a summary of the variable {name} ({kind_of(kernel.namespace[name])})")

    def cells(arguments: dict[str, Any]) -> str:
        typed = kernel.cells() or []
        count = max(1, min(int(arguments.get("count", RECENT_CELLS)), 20))
        first, last = max(1, len(typed) - count), len(typed) - 1
        outputs = kernel.namespace.get("Out")
        shown = [
            f"Out[{n}]: {kind_of(outputs[n])}"
            for n in range(first, last + 1)
            if isinstance(outputs, Mapping) and n in outputs
        ]
        returned = f" ({', '.join(shown)})" if shown else ""
        return asked(
            f"the source of cells {first} to {last} and the values they returned{returned}"
        )

    def error(arguments: dict[str, Any]) -> str:
        raised = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if raised is None:
            return asked("the last exception a cell raised (none has)")
        return asked(
            f"the last exception a cell raised ({kind_of(raised)}): its message and traceback"
        )

    def files(arguments: dict[str, Any]) -> str:
        return asked(
            f"the names and sizes of the files in the folder {str(arguments.get('path', '.'))!r}"
        )

    def read_file(arguments: dict[str, Any]) -> str:
        lines = arguments.get("lines", FILE_LINES)
        return asked(f"the first {lines} lines of the file {str(arguments.get('path'))!r}")

    return {
        "notebook_variables": lambda a: asked(
            f"the names, types and sizes of its variables (page {a.get('page', 1)})"
        ),
        "notebook_describe": describe,
        "notebook_cells": cells,
        "notebook_error": error,
        "notebook_files": files,
        "notebook_read_file": read_file,
    }


def _short(name: str, value: Any) -> str:
    """A variable's line in the listing: its type and size (a secret-looking name's value
    is not looked at: its type only)."""
    text = kind_of(value)
    if secret_name(name):
        return f"{text} = {REDACTED}"
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"{text} {'×'.join(f'{n:,}' for n in shape)}"
    if isinstance(value, str):
        return f"str, {counted(len(value), 'character')}"
    if isinstance(value, list | tuple | dict | set):
        return f"{text}, {counted(len(value), 'item')}"
    return text


def _variables_page(
    kernel: Kernel, names: list[str], page: int, pages: int, listed: list[dict[str, str]]
) -> str:
    """The page's lines; each variable also put in ``listed`` (``{name, summary}``: the
    structured form of the page)."""
    shown = names[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    head = f"{counted(len(names), 'variable')}; page {page} of {pages}"
    if page < pages:
        head += f" (call again with page={page + 1} for more)"
    for name in shown:
        listed.append({"name": name, "summary": _short(name, kernel.namespace[name])})
    return "\n".join([head, *(f"{v['name']}: {v['summary']}" for v in listed)])


OUTPUT_SCHEMAS: Final[Mapping[str, dict[str, Any]]] = {
    "notebook_variables": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "description": "How many variables there are"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "variables": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "summary": {"type": "string"}},
                    "required": ["name", "summary"],
                },
            },
        },
        "required": ["count", "page", "pages", "variables"],
    },
    "notebook_describe": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "description": "The value's type"},
            "description": {"type": "string", "description": "The text the tool returns"},
        },
        "required": ["name", "type", "description"],
    },
}
"""The tools whose results also come as structured content, and its schema (an MCP tool's
``outputSchema``: the notebook's MCP server declares it and returns ``structuredContent``)."""


def _recent_cells(
    kernel: Kernel, settings: ContextSettings, count: int, secrets: Iterable[str]
) -> str:
    cells = kernel.cells()
    outputs = kernel.namespace.get("Out")
    if cells is None or len(cells) < 2:
        return "no cell has run in this kernel"
    count = max(1, min(count, 20))
    denied = _denied_values(kernel, settings)
    deadline = time.monotonic() + CELLS_TIME
    lines = []
    for number in range(max(1, len(cells) - count), len(cells)):
        source = str(cells[number])
        named = denied_in(source, settings)
        if named is not None:
            lines.append(f"In[{number}]: {_denied_note(named)}")
            continue
        shown = source_at(source, settings.level)
        lines.append(f"In[{number}]:\n{cut(shown, 1_000, secrets=secrets)}")
        if isinstance(outputs, Mapping) and number in outputs:
            output = outputs[number]
            if id(output) in denied:
                lines.append(f"Out[{number}]: [not read: a value on the context deny list]")
                continue
            if time.monotonic() > deadline:
                lines.append(f"Out[{number}]: [not read: the read's time ran out]")
                continue
            summary = summarize(output, f"Out[{number}]", settings, secrets)
            lines.append(cut(summary, 1_000, secrets=secrets))
    return "\n".join(lines)


def _inside(cwd: Path, path: str) -> Path:
    """``path`` under ``cwd``, symlinks followed; a ``ValueError`` for anything outside."""
    root = cwd.resolve()
    target = (root / path).resolve()
    if target != root and not target.is_relative_to(root):
        raise ValueError(f"{path!r} is outside the working directory: only files under it are read")
    return target


def denied_path(relative: PurePosixPath, settings: ContextSettings) -> str | None:
    """The deny list's path pattern (an entry that is no Python name: ``data/*.csv``,
    ``private/``) that ``relative`` (under the working directory) or one of its folders
    matches, if any."""
    for pattern in sorted(p for p in settings.deny if not p.isidentifier()):
        wanted = pattern.strip("/")
        paths = [relative, *relative.parents]
        if any(fnmatch.fnmatchcase(str(p), wanted) for p in paths if str(p) != "."):
            return pattern
    return None


def private_path(relative: PurePosixPath) -> str | None:
    """The folder of ``relative`` (under the working directory) that holds secrets
    (``.git``, ``.ssh``, ``secrets/``...), if any."""
    parts = [part.lower() for part in relative.parts]
    for position, part in enumerate(parts):
        if part in _PRIVATE_FOLDERS or "/".join(parts[position : position + 2]) in _PRIVATE_FOLDERS:
            return part
    return None


def _files(cwd: Path, path: str, settings: ContextSettings) -> str:
    folder = _inside(cwd, path)
    _judged(cwd, path, folder, settings, "listed")
    if not folder.is_dir():
        raise ValueError(f"{path!r} is not a folder under the working directory")
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    entries = [e for e in entries if denied_path(_under(cwd, e), settings) is None]
    lines = [f"{counted(len(entries), 'entry', 'entries')} in {path!r}:"]
    for entry in entries[:200]:
        if entry.is_symlink() and not entry.resolve().is_relative_to(cwd.resolve()):
            lines.append(f"  {entry.name} (a link outside the working directory: not read)")
        elif entry.is_dir() and private_path(_under(cwd, entry)) is not None:
            lines.append(f"  {entry.name}/ (listed, never read: it holds secrets)")
        elif entry.is_dir():
            lines.append(f"  {entry.name}/")
        elif _PRIVATE_FILE.search(entry.name):
            lines.append(f"  {entry.name} (listed, never read: it may hold secrets)")
        else:
            lines.append(f"  {entry.name} ({counted(entry.stat().st_size, 'byte')})")
    if len(entries) > 200:
        lines.append(f"  [{counted(len(entries) - 200, 'more entry', 'more entries')}]")
    return "\n".join(lines)


def judged_file(cwd: Path, path: str, done: str, settings: ContextSettings) -> Path:
    """``path`` resolved under ``cwd``, judged as a context tool judges a file before it is
    ``done`` ("read", "written"): outside the working directory, inside a folder or under a
    name that holds secrets, or on the deny list is a ``ValueError`` saying so. What an ACP
    agent reads and writes is judged so (:mod:`agentnb._app.coding_agents.acp_files`)."""
    target = _inside(cwd, path)
    _judged(cwd, path, target, settings, done)
    return target


def _under(cwd: Path, entry: Path) -> PurePosixPath:
    """``entry`` (a path under the resolved ``cwd``) relative to it."""
    return PurePosixPath(entry.relative_to(cwd.resolve()).as_posix())


def _judged(cwd: Path, path: str, target: Path, settings: ContextSettings, done: str) -> None:
    """A ``ValueError`` when ``target`` (``path`` resolved) may not be ``done`` ("read",
    "listed"): judged by the path asked for and by where it leads (a link to ``.ssh`` is
    ``.ssh``), by its folders and its name."""
    asked = PurePosixPath(os.path.normpath(path).replace(os.sep, "/"))
    for relative in (asked, PurePosixPath(target.relative_to(cwd.resolve()).as_posix())):
        folder = private_path(relative)
        if folder is not None:
            raise ValueError(
                f"{path!r} is never {done}: it is inside {folder}/, a folder that holds secrets"
            )
        if done in ("read", "written") and _PRIVATE_FILE.search(relative.name):
            raise ValueError(f"{relative.name!r} is never {done}: it may hold secrets")
    pattern = denied_path(_under(cwd, target), settings)
    if pattern is not None:
        raise ValueError(
            f"{path!r} is not {done}: it matches {pattern!r}, on the context deny list"
        )


def file_head(
    cwd: Path, path: str, lines: int, secrets: Iterable[str], settings: ContextSettings
) -> str:
    """The first ``lines`` of the text file ``path`` under ``cwd`` (judged as every read of a
    file is, at the ``sample`` level only), after a line naming it: what
    ``notebook_read_file`` and an ``@./file`` attachment read. Not yet redacted: the caller
    cuts it (:func:`~.context_summary.cut`, which redacts)."""
    target = _inside(cwd, path)
    _judged(cwd, path, target, settings, "read")
    if settings.level != "sample":
        raise ValueError(
            f"{path!r} is not read: a file's lines are rows of data, read at the sample "
            f"level only (the level in force is {settings.level})"
        )
    if not target.is_file():
        raise ValueError(f"{path!r} is not a file under the working directory")
    read = settings.item_chars * 4
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
