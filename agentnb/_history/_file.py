"""The history file: where it lives (the per-user data directory, or ``AGENTNB_HISTORY``: a
path, ``:memory:`` or ``off``), whether a file is agentnb's before a byte is written to it
(a file is outside input: a schema not agentnb's is refused; what it holds that agentnb did
not make and that would act on agentnb's writes makes it read-only), and what a failing
``sqlite3`` call means to the user."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, TypeVar

import platformdirs

from .._core.exceptions import HistoryError, HistoryLocationError, HistoryWriteError
from ._migrations import Migration, apply_migrations, every_migration, shipped_then_dropped
from ._run_filter import SEARCH_TABLE

__all__ = [
    "ENV_VAR",
    "MEMORY",
    "HistoryLocation",
    "check_schema",
    "default_location",
    "expand_path",
    "is_interrupted",
    "retry_busy",
    "store_error",
]

ENV_VAR: Final = "AGENTNB_HISTORY"
MEMORY: Final = ":memory:"
FILE_NAME: Final = "history.sqlite3"
_OFF_WORDS: Final = frozenset({"off", "0", "false", "no", "none", "disabled"})

HistoryLocation = Path | Literal[":memory:"] | None
"""A database file, an in-memory database, or None when history is off."""


def default_location() -> HistoryLocation:
    """The history database ``AGENTNB_HISTORY`` names, else the per-user data directory's.

    Raises :class:`HistoryLocationError` when the variable names no usable path."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return Path(platformdirs.user_data_dir("agentnb", appauthor=False)) / FILE_NAME
    if value.lower() in _OFF_WORDS:
        return None
    if value == MEMORY:
        return MEMORY
    path = expand_path(value, ENV_VAR)
    return path / FILE_NAME if path.is_dir() else path


def expand_path(value: str | os.PathLike[str], what: str) -> Path:
    """``value`` as a path with ``~`` expanded; a HistoryLocationError naming ``what`` (the
    setting it came from) when it cannot be a path."""
    shown = f"{what}={os.fspath(value)!r}"
    if "\x00" in os.fspath(value):
        raise HistoryLocationError(f"{shown} is not a usable run history path: it holds a NUL byte")
    try:
        return Path(value).expanduser()
    except RuntimeError as exc:  # "~someone" whose home cannot be found
        raise HistoryLocationError(
            f"{shown} is not a usable run history path: {exc} ({str(value).split('/')[0]!r} "
            "names no user's home); give an absolute path, or ~/… for your own home"
        ) from None


T = TypeVar("T")


def is_busy(exc: BaseException) -> bool:
    """Another connection holds a lock (worth waiting for)."""
    return _code(exc).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def is_interrupted(exc: BaseException) -> bool:
    """A query stopped by a Ctrl-C (its progress handler raised): the user's, not an error."""
    return _code(exc) == "SQLITE_INTERRUPT"


def retry_busy(attempt: Callable[[], T], timeout: float) -> T:
    """Run ``attempt``, retrying for up to ``timeout`` seconds while another connection holds
    a lock SQLite's own busy handler does not wait for (changing the journal mode, WAL
    recovery)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def store_error(exc: BaseException, where: str, action: str) -> HistoryError:
    """The error to raise for ``exc``, met while trying to ``action`` the history at ``where``."""
    code, text = _code(exc), str(exc) or type(exc).__name__
    if code.startswith("SQLITE_CORRUPT"):
        return HistoryLocationError(
            f"the run history at {where} is damaged ({text}). Move the file away (agentnb then "
            f"starts a new one there) or point {ENV_VAR} elsewhere; to save what it still "
            f"holds: sqlite3 {where} .recover | sqlite3 recovered.sqlite3"
        )
    if code.startswith("SQLITE_NOTADB"):
        return HistoryLocationError(
            f"the run history at {where} is not a usable agentnb database ({text}); move it "
            f"away or point {ENV_VAR} elsewhere"
        )
    if is_busy(exc):
        return HistoryWriteError(
            f"could not {action} the run history at {where}: another process kept it locked "
            f"({text}); try again, or point {ENV_VAR} elsewhere"
        )
    if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
        return HistoryLocationError(
            f"could not {action} the run history at {where}: {text} (check that the file "
            f"and its folder are writable, or point {ENV_VAR} elsewhere)"
        )
    if code.startswith("SQLITE_FULL"):
        return HistoryWriteError(
            f"could not {action} the run history at {where}: the disk is full ({text})"
        )
    if "closed database" in text:
        return HistoryError(f"the run history at {where} is closed")
    return HistoryWriteError(f"could not {action} the run history at {where}: {text}")


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


MAX_SCHEMA_OBJECTS = 500
"""More schema objects than this (agentnb makes about 40) and the file is refused unread."""
_SHOWN_PROBLEMS = 6

SchemaObject = tuple[str, str]
"""(type, name): ``("table", "runs")``."""
Schema = dict[SchemaObject, tuple[str, str]]
"""Each object → the table it belongs to and its SQL, spaces folded."""


def check_schema(db: sqlite3.Connection, where: str) -> list[str]:
    """Refuse (HistoryLocationError) a file whose schema is not agentnb's; a new, empty file
    passes. Returns what the file holds that agentnb did not make and that would act on its
    writes (triggers, views; in a newer agentnb's file also indexes, tables naming agentnb's
    and clauses of added columns): the file is then opened read-only. Reads only: nothing
    is written to the file."""
    found = _schema_of(db, where)
    if not found:
        return []
    applied, newer = _applied(db, found, where)
    expected = dict(_made_by(frozenset(applied), every_migration()))
    found = _as_the_steps_make_it(found, expected, applied)
    if (("table", SEARCH_TABLE) not in found) and ("table", SEARCH_TABLE) in expected:
        expected = {key: value for key, value in expected.items() if not _search_part(key)}
    acting = _acting_on_ours(found, expected, newer=newer)
    problems = _differences(
        {key: value for key, value in found.items() if key not in acting}, expected, newer=newer
    )
    if problems:
        _refuse(where, problems)
    clauses = [  # (only a newer agentnb's file gets here with columns added)
        f"the columns {added.removeprefix(', ')[:_SHOWN_SQL]} added to the table {name}"
        for (_, name), added in sorted(_added_columns(found, expected).items())
        if not _PLAIN_COLUMNS.fullmatch(added)
    ]
    objects = [
        f"the {kind} {name}" + ("" if table == name else f" on {table}")
        for kind, name in sorted(acting)
        for table in [found[kind, name][0]]
    ]
    return objects + clauses


def _as_the_steps_make_it(found: Schema, expected: Schema, applied: tuple[str, ...]) -> Schema:
    """``found`` with what a shipped version made by a step now emptied (a later step drops
    it) read as the steps make it now: gone, or as an earlier step left it."""
    shipped = {
        key
        for key, (table, sql) in found.items()
        if found[key] != expected.get(key) and shipped_then_dropped(applied, *key, table, sql)
    }
    return {
        key: expected[key] if key in shipped else value
        for key, value in found.items()
        if key not in shipped or key in expected
    }


def _acting_on_ours(found: Schema, expected: Schema, *, newer: bool) -> set[SchemaObject]:
    """The objects agentnb did not make that are on its tables or name one in their SQL (a
    trigger elsewhere may write to them, a foreign key hold them): triggers and views, and
    in a ``newer`` agentnb's file (whose objects of its own are let through) any kind."""
    ours = {name for kind, name in expected if kind == "table"}
    names = {name for _, name in expected}
    named = re.compile(r"\b(" + "|".join(map(re.escape, sorted(ours))) + r")\b", re.IGNORECASE)
    return {
        (kind, name)
        for (kind, name), (table, sql) in found.items()
        if (newer or kind in ("trigger", "view"))
        and (kind, name) not in expected
        and name not in names
        and (table in ours or named.search(sql) is not None)
    }


def _schema_of(db: sqlite3.Connection, where: str) -> Schema:
    rows = db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        f"WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' LIMIT {MAX_SCHEMA_OBJECTS + 1}"
    ).fetchall()
    if len(rows) > MAX_SCHEMA_OBJECTS:
        _refuse(where, [f"it holds more than {MAX_SCHEMA_OBJECTS} tables, views and triggers"])
    return {
        (str(kind), str(name)): (str(table), " ".join(str(sql or "").split()))
        for kind, name, table, sql in rows
    }


def _applied(db: sqlite3.Connection, found: Schema, where: str) -> tuple[tuple[str, ...], bool]:
    """The known migrations the file names (``_migrations`` checked first: a view there could
    make the read endless), and whether it names others (a newer agentnb's)."""
    steps = every_migration()
    every = frozenset(migration.__name__ for migration in steps)
    expected = dict(_made_by(every, steps))[("table", "_migrations")]
    kinds = {kind for kind, name in found if name == "_migrations"}
    if kinds != {"table"} or found[("table", "_migrations")] != expected:
        what = "no _migrations table" if not kinds else None
        if what is None:
            what = (
                f"_migrations is a {sorted(kinds - {'table'})[0]}, not a table"
                if kinds - {"table"}
                else "the table _migrations is not as agentnb makes it"
            )
        _refuse(where, [what])
    rows = db.execute(
        f"SELECT name FROM _migrations ORDER BY rowid LIMIT {len(steps) + MAX_SCHEMA_OBJECTS}"
    ).fetchall()
    names = [name for (name,) in rows]
    return tuple(name for name in names if name in every), any(n not in every for n in names)


@functools.cache
def _made_by(
    applied: frozenset[str], steps: tuple[Migration, ...]
) -> tuple[tuple[SchemaObject, tuple[str, str]], ...]:
    """The schema the ``steps`` named ``applied`` make (with ``_migrations``)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(db, [m for m in steps if m.__name__ in applied])
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchall()
    finally:
        db.close()
    return tuple(
        ((kind, name), (table, " ".join((sql or "").split()))) for kind, name, table, sql in rows
    )


def _search_part(key: SchemaObject) -> bool:
    return key[1].startswith(SEARCH_TABLE)


def _differences(found: Schema, expected: Schema, *, newer: bool) -> list[str]:
    """What keeps ``found`` from being ``expected``; for a ``newer`` agentnb's file, what
    the newer migrations may have made is let through: objects of their own (no view) and
    columns added to the tables."""
    problems: list[str] = []
    names = {name: kind for kind, name in expected}
    for kind, name in sorted(found.keys() - expected.keys()):
        if name in names and (names[name], name) not in found:
            problems.append(f"{name} is a {kind}, not a {names[name]}")
        elif not newer or kind == "view":
            problems.append(f"an unknown {kind} {name}")
    for key in sorted(found.keys() & expected.keys()):
        if found[key] != expected[key] and not (newer and _added_to(found[key], expected[key])):
            problems.append(f"the {key[0]} {key[1]} is not as agentnb makes it")
    replaced = {name for kind, name in found}
    problems += [
        f"no {kind} {name}"
        for kind, name in sorted(expected.keys() - found.keys())
        if name not in replaced
    ]
    return problems


def _added_to(found: tuple[str, str], expected: tuple[str, str]) -> bool:
    """Whether ``found`` is the ``expected`` table with columns added to it."""
    return found[0] == expected[0] and _inserted(found[1], expected[1]) is not None


def _added_columns(found: Schema, expected: Schema) -> dict[SchemaObject, str]:
    """The column definitions added to agentnb's tables, each table's as one text."""
    inserted = {
        key: _inserted(sql, expected[key][1])
        for key, (_, sql) in found.items()
        if key in expected and found[key] != expected[key]
    }
    return {key: text for key, text in inserted.items() if text is not None}


# SQLite's ADD COLUMN puts a column after the last one, before any table constraint.
_TABLE_CONSTRAINT = re.compile(r", (?:CONSTRAINT|PRIMARY KEY|UNIQUE|CHECK|FOREIGN KEY)\b", re.I)
# Added columns that change nothing agentnb writes: a name, a type, a constant default.
_PLAIN_COLUMNS = re.compile(
    r"""(?:, (?!(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b)(?:\w+|"[^"]+")"""
    r"(?: (?:TEXT|INTEGER|INT|REAL|BLOB|NUMERIC))?"
    r"(?: DEFAULT (?:NULL|[+-]?\d+(?:\.\d+)?|'(?:[^']|'')*'))?)+",
    re.IGNORECASE,
)
_SHOWN_SQL = 160


def _inserted(sql: str, expected_sql: str) -> str | None:
    """The text (", a TEXT, ...") ADD COLUMN put into ``expected_sql`` to make ``sql``."""
    if not expected_sql.startswith("CREATE TABLE"):
        return None
    constraint = _TABLE_CONSTRAINT.search(expected_sql)
    at = constraint.start() if constraint else len(expected_sql.removesuffix(")").rstrip())
    head, tail = expected_sql[:at], expected_sql[at:]
    inserted = sql[len(head) : len(sql) - len(tail)]
    fits = sql.startswith(head) and sql.endswith(tail) and len(sql) > len(expected_sql)
    return inserted if fits and inserted.startswith(",") else None


def _refuse(where: str, problems: list[str]) -> None:
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    raise HistoryLocationError(
        f"the run history at {where} is not agentnb's: {shown}"
        + (f" (and {more} more)" if more > 0 else "")
        + f". agentnb did not open or change it: move it away, or point {ENV_VAR} elsewhere "
        "(a history file is outside input: agentnb opens only the schema it makes)"
    )
