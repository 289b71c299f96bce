"""A history file is outside input: it may come from someone else (a shared folder, a
repository). Before agentnb writes a byte to a file (a migration, its journal mode) it
checks that the file's schema is agentnb's: every table, view, trigger and index is one that
agentnb's migrations make, as they make it, for the migrations the file says it has. A view
in place of a table (a query over it may never end), a trigger of someone else's (it would
run on agentnb's writes), an index on an expression, a table with a ``CHECK`` of its own: any
of them, and the file is refused with a :class:`HistoryLocationError` naming it and what is
wrong, and left as it was.

A file that names migrations this agentnb does not know was written by a newer agentnb, and
opens as before (kernels of two versions share one file): what this version knows is
checked (each of its objects there, its tables' columns first and unchanged, no view
anywhere), but what the newer migrations made cannot be: a limit written down in
``docs/security.md``.

The schema agentnb makes is read from an in-memory database the same migrations built (once
per set of migrations), so a migration added later is checked the same way. A file written
where SQLite lacked FTS5 has no search index at all: that file is agentnb's too.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable

from .._core.exceptions import HistoryLocationError
from ._location import ENV_VAR
from ._migrations import MIGRATIONS, apply_migrations
from ._search_sql import SEARCH_TABLE

__all__ = ["MAX_SCHEMA_OBJECTS", "check_schema"]

MAX_SCHEMA_OBJECTS = 500
"""More schema objects than this (agentnb makes about 40) and the file is refused unread."""
_SHOWN_PROBLEMS = 6

SchemaObject = tuple[str, str]
"""(type, name): ``("table", "runs")``."""
Schema = dict[SchemaObject, tuple[str, str]]
"""Each object → the table it belongs to and its SQL, spaces folded."""


def check_schema(db: sqlite3.Connection, where: str) -> list[str]:
    """Refuse (HistoryLocationError) a file whose schema is not agentnb's; a new, empty file
    passes. Returns the triggers and views not agentnb's that act on its tables: the file is
    then opened read-only. Reads only: nothing is written to the file."""
    found = _schema_of(db, where)
    if not found:
        return []
    applied, newer = _applied(db, found, where)
    expected = dict(_made_by(applied))
    if (("table", SEARCH_TABLE) not in found) and ("table", SEARCH_TABLE) in expected:
        expected = {key: value for key, value in expected.items() if not _search_part(key)}
    acting = _acting_on_ours(found, expected)
    problems = _differences(
        {key: value for key, value in found.items() if key not in acting}, expected, newer=newer
    )
    if problems:
        _refuse(where, problems)
    return [f"the {kind} {name} on {found[kind, name][0]}" for kind, name in sorted(acting)]


def _acting_on_ours(found: Schema, expected: Schema) -> set[SchemaObject]:
    """The triggers and views agentnb did not make that are on its tables or name one in
    their SQL (a trigger elsewhere may write to them)."""
    ours = {name for kind, name in expected if kind == "table"}
    names = {name for _, name in expected}
    named = re.compile(r"\b(" + "|".join(map(re.escape, sorted(ours))) + r")\b", re.IGNORECASE)
    return {
        (kind, name)
        for (kind, name), (table, sql) in found.items()
        if kind in ("trigger", "view")
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
    every = (migration.__name__ for migration in MIGRATIONS)
    expected = dict(_made_by(every))[("table", "_migrations")]
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
        f"SELECT name FROM _migrations ORDER BY rowid LIMIT {len(MIGRATIONS) + 20}"
    ).fetchall()
    known = {migration.__name__ for migration in MIGRATIONS}
    names = [name for (name,) in rows]
    return tuple(name for name in names if name in known), any(n not in known for n in names)


@functools.cache
def _made_by_cached(applied: frozenset[str]) -> tuple[tuple[SchemaObject, tuple[str, str]], ...]:
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(db, [m for m in MIGRATIONS if m.__name__ in applied])
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchall()
    finally:
        db.close()
    return tuple(
        ((kind, name), (table, " ".join((sql or "").split()))) for kind, name, table, sql in rows
    )


def _made_by(applied: Iterable[str]) -> tuple[tuple[SchemaObject, tuple[str, str]], ...]:
    """The schema agentnb's migrations named ``applied`` make (with ``_migrations``)."""
    return _made_by_cached(frozenset(applied))


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
    """Whether ``found`` is the ``expected`` table with columns added at its end."""
    (table, sql), (expected_table, expected_sql) = found, expected
    return (
        table == expected_table
        and expected_sql.startswith("CREATE TABLE")
        and sql.startswith(expected_sql.removesuffix(")").rstrip() + ",")
    )


def _refuse(where: str, problems: list[str]) -> None:
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    raise HistoryLocationError(
        f"the run history at {where} is not agentnb's: {shown}"
        + (f" (and {more} more)" if more > 0 else "")
        + f". agentnb did not open or change it: move it away, or point {ENV_VAR} elsewhere "
        "(a history file is outside input: agentnb opens only the schema it makes)"
    )
