"""The history file's schema: named migrations applied in order (:data:`MIGRATIONS`), each
recorded by name in ``_migrations`` once applied. Each holds its SQL as shipped and imports
nothing of agentnb, so a fresh file and an upgraded one end the same whatever the code around
them becomes. Append only: never rename, edit or reorder a migration that has shipped (the files
on users' disks name them); add a new one at the end, as literal SQL. The one exception: a step
whose every object a later step drops may be emptied (:func:`_step`), its objects then known
to the schema check by their SQL's digest (:func:`shipped_then_dropped`).

A package built on agentnb keeps tables of its own through the same machinery
(:func:`add_migrations`): its named steps of frozen SQL, applied after the core's, in order,
recorded by name in the same ``_migrations`` table. Evaluation's (``agentnb-evals``) are there:
its three steps were the core's ``m016``, ``m019`` and ``m028`` until 0.8.0, and keep their
names, so every file those made counts them applied."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from .._core.exceptions import ConfigurationError

__all__ = [
    "MIGRATIONS",
    "Migration",
    "add_migrations",
    "applied_migrations",
    "apply_migrations",
    "every_migration",
    "pending_migrations",
    "plugin_generation",
    "rebuild_side_tables",
    "shipped_then_dropped",
    "write_transaction",
]

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []
"""Every migration, oldest first. Append only."""


def migration(function: Migration) -> Migration:
    MIGRATIONS.append(function)
    return function


def _each(db: sqlite3.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        db.execute(statement)


def _sql_step(name: str, statements: Sequence[str]) -> Migration:
    def step(db: sqlite3.Connection) -> None:
        _each(db, statements)

    step.__name__ = step.__qualname__ = name
    return step


def _step(name: str, *statements: str) -> None:
    """Append the shipped step ``name``: its SQL statements, run in order. An emptied step
    has none now: all it made a later step drops (:data:`_DROPPED_BY`), and the files that
    applied it still name it."""
    migration(_sql_step(name, statements))


_step(
    "m001_initial",
    """
        CREATE TABLE runs (
            local_id TEXT PRIMARY KEY,
            run_id TEXT,
            connection TEXT,
            provider TEXT,
            host TEXT,
            agent TEXT,
            thread_id TEXT,
            message TEXT,
            answer TEXT,
            reasoning TEXT,
            status TEXT NOT NULL,
            error_code TEXT,
            error_message TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            started_at REAL NOT NULL,
            first_token_at REAL,
            finished_at REAL,
            duration REAL,
            ttft REAL,
            tokens_per_second REAL,
            event_count INTEGER NOT NULL DEFAULT 0,
            retries INTEGER NOT NULL DEFAULT 0,
            model_settings TEXT,
            metadata TEXT,
            owner_host TEXT,
            owner_pid INTEGER,
            owner_token TEXT
        )
        """,
    "CREATE INDEX runs_by_started_at ON runs (started_at)",
    "CREATE INDEX runs_by_agent ON runs (agent, started_at)",
    "CREATE INDEX runs_by_thread ON runs (thread_id, started_at)",
    "CREATE INDEX runs_running ON runs (owner_host) WHERE status = 'running'",
)


# NULL for runs recorded before tool calls were: unknown, not zero.
_step(
    "m002_tool_calls",
    """
        CREATE TABLE tool_calls (
            local_id TEXT NOT NULL REFERENCES runs (local_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            call_id TEXT NOT NULL,
            name TEXT,
            status TEXT,
            arguments TEXT,
            output TEXT,
            error TEXT,
            started_at REAL,
            finished_at REAL,
            duration REAL,
            PRIMARY KEY (local_id, position)
        )
        """,
    "CREATE INDEX tool_calls_by_name ON tool_calls (name)",
    "ALTER TABLE runs ADD COLUMN tool_call_count INTEGER",
)


_step(
    "m003_resumes_and_execution_time",
    "ALTER TABLE runs ADD COLUMN resumes INTEGER",
    "ALTER TABLE runs ADD COLUMN execution_time REAL",
)


# NULL for calls that asked nothing, and for calls recorded before questions were.
_step(
    "m004_tool_call_questions",
    "ALTER TABLE tool_calls ADD COLUMN question TEXT",
    "ALTER TABLE tool_calls ADD COLUMN answer TEXT",
)


# Why the platform could not be told to stop a cancelled run; NULL when it was (or the
# run was not cancelled, or was recorded before this column).
_step(
    "m005_cancel_error",
    "ALTER TABLE runs ADD COLUMN cancel_error TEXT",
)


# Calls recorded before had no tree: NULL (unknown), not top-level; their agent is the run's.
_step(
    "m006_call_tree",
    "ALTER TABLE tool_calls ADD COLUMN parent_call_id TEXT",
    "ALTER TABLE tool_calls ADD COLUMN agent TEXT",
    "ALTER TABLE tool_calls ADD COLUMN depth INTEGER",
)


_step("m007_search")  # emptied: a later step drops all it made (_DROPPED_BY)


# The model that ran, the run's cost in USD and where that came from (Run.model, .cost,
# .cost_source). Rows recorded before get the model where their dialect names it by the
# request alone (Provider.requested_model: the agent of the OpenAI-compatible dialects),
# and a cost priced from their token counts at their start (each model, token counts and
# day priced once); the rest stay NULL: unknown, not zero.
# (The rows' models and costs were filled here from the code of the day: now
# HistoryStore.fill_models_and_costs() does it, when asked.)
_step(
    "m008_model_and_cost",
    "ALTER TABLE runs ADD COLUMN model TEXT",
    "ALTER TABLE runs ADD COLUMN cost_usd REAL",
    "ALTER TABLE runs ADD COLUMN cost_source TEXT",
)


# Who decided on a call (user, policy, server) and why it ran without the user's approval,
# and how many of a run's calls did; NULL for what was recorded before: unknown, not the
# user's.
_step(
    "m009_approval_decisions",
    "ALTER TABLE tool_calls ADD COLUMN decided_by TEXT",
    "ALTER TABLE tool_calls ADD COLUMN unapproved TEXT",
    "ALTER TABLE runs ADD COLUMN unapproved_calls INTEGER",
)


# duration became the agent's time (a pause for a person's approval left out), with the
# wall time in elapsed and the pause in paused_seconds. Rows recorded before knew no
# pause: their wall time is their elapsed, and their duration stays as it was. A ttft
# without a first token (a cancelled or failed run, once written as 0) is missing.
_step(
    "m010_paused_time",
    "ALTER TABLE runs ADD COLUMN elapsed REAL",
    "ALTER TABLE runs ADD COLUMN paused_seconds REAL",
    "UPDATE runs SET elapsed = duration",
    "UPDATE runs SET ttft = NULL WHERE first_token_at IS NULL",
)


# A sub-agent's tokens, model and cost inside the call that ran it, where the platform
# reports usage per call (ToolCallFinished.usage / .model). Calls recorded before kept
# none of it: NULL, unknown, not zero.
_step(
    "m011_tool_call_usage",
    "ALTER TABLE tool_calls ADD COLUMN prompt_tokens INTEGER",
    "ALTER TABLE tool_calls ADD COLUMN completion_tokens INTEGER",
    "ALTER TABLE tool_calls ADD COLUMN total_tokens INTEGER",
    "ALTER TABLE tool_calls ADD COLUMN model TEXT",
    "ALTER TABLE tool_calls ADD COLUMN cost_usd REAL",
    "ALTER TABLE tool_calls ADD COLUMN cost_source TEXT",
)


_step("m012_summary_rollup")  # emptied: a later step drops all it made (_DROPPED_BY)


# Whether the platform reported other arguments for a call after it was shown for
# approval, and why agentnb denied a call no decision could be bound to. NULL for calls
# recorded before: unknown.
_step(
    "m013_approval_binding",
    "ALTER TABLE tool_calls ADD COLUMN arguments_changed INTEGER",
    "ALTER TABLE tool_calls ADD COLUMN protocol_error TEXT",
)


# Scores, labels and notes given to runs (agentnb.score, evaluators, a person's verdict):
# one row per score given, never updated; a run's current score of a name is its latest
# (see _scores). No value of a run changes.
_step(
    "m014_scores",
    """
        CREATE TABLE scores (
            id INTEGER PRIMARY KEY,
            local_id TEXT NOT NULL REFERENCES runs (local_id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('number', 'bool', 'label')),
            number REAL,
            label TEXT,
            comment TEXT,
            source TEXT NOT NULL CHECK (source IN ('person', 'code', 'agent')),
            author TEXT,
            created REAL NOT NULL,
            CHECK ((kind = 'label') = (label IS NOT NULL)),
            CHECK ((kind <> 'label') = (number IS NOT NULL))
        )
        """,
    "CREATE INDEX scores_by_run ON scores (local_id, name, id)",
    "CREATE INDEX scores_by_name ON scores (name, local_id, id)",
)


# Metadata as dimensions (runs(metadata=...), summary(by="metadata.<key>")): each run's
# top-level metadata keys in a side table kept by triggers (see _metadata), filled here
# from the runs already recorded. No value of a run changes.
_step(
    "m015_run_metadata",
    (
        "CREATE TABLE run_metadata (key TEXT NOT NULL, value TEXT NOT NULL, local_id TEXT "
        "NOT NULL, status TEXT, started_at REAL, agent TEXT, total_tokens INTEGER, "
        "cost_usd REAL, tool_call_count INTEGER, paused_seconds REAL, duration REAL, ttft "
        "REAL, PRIMARY KEY (key, value, local_id)) WITHOUT ROWID"
    ),
    "CREATE INDEX run_metadata_by_run ON run_metadata (local_id)",
    (
        "INSERT OR REPLACE INTO run_metadata (key, value, local_id, status, started_at, "
        "agent, total_tokens, cost_usd, tool_call_count, paused_seconds, duration, ttft) "
        "SELECT j.key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN "
        "'false' THEN 'false' ELSE CAST(j.value AS TEXT) END, runs.local_id, runs.status, "
        "runs.started_at, runs.agent, runs.total_tokens, runs.cost_usd, "
        "runs.tool_call_count, runs.paused_seconds, runs.duration, runs.ttft FROM runs, "
        "json_each(CASE WHEN json_valid(runs.metadata) AND json_type(runs.metadata) = "
        "'object' THEN runs.metadata ELSE '{}' END) j WHERE j.type <> 'null'"
    ),
    (
        "CREATE TRIGGER run_metadata_insert AFTER INSERT ON runs WHEN new.metadata IS NOT "
        "NULL BEGIN INSERT OR REPLACE INTO run_metadata (key, value, local_id, status, "
        "started_at, agent, total_tokens, cost_usd, tool_call_count, paused_seconds, "
        "duration, ttft) SELECT j.key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' "
        "THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END, "
        "new.local_id, new.status, new.started_at, new.agent, new.total_tokens, "
        "new.cost_usd, new.tool_call_count, new.paused_seconds, new.duration, new.ttft "
        "FROM json_each(CASE WHEN json_valid(new.metadata) AND json_type(new.metadata) = "
        "'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> 'null'; END"
    ),
    (
        "CREATE TRIGGER run_metadata_update AFTER UPDATE OF metadata, local_id, status, "
        "started_at, agent, total_tokens, cost_usd, tool_call_count, paused_seconds, "
        "duration, ttft ON runs WHEN old.local_id IS NOT new.local_id OR (new.metadata IS "
        "NOT NULL AND (old.metadata IS NOT new.metadata OR old.status IS NOT new.status "
        "OR old.started_at IS NOT new.started_at OR old.agent IS NOT new.agent OR "
        "old.total_tokens IS NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR "
        "old.tool_call_count IS NOT new.tool_call_count OR old.paused_seconds IS NOT "
        "new.paused_seconds OR old.duration IS NOT new.duration OR old.ttft IS NOT "
        "new.ttft)) OR old.metadata IS NOT new.metadata BEGIN DELETE FROM run_metadata "
        "WHERE local_id = old.local_id; INSERT OR REPLACE INTO run_metadata (key, value, "
        "local_id, status, started_at, agent, total_tokens, cost_usd, tool_call_count, "
        "paused_seconds, duration, ttft) SELECT j.key, CASE j.type WHEN 'text' THEN "
        "j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END, new.local_id, new.status, new.started_at, new.agent, "
        "new.total_tokens, new.cost_usd, new.tool_call_count, new.paused_seconds, "
        "new.duration, new.ttft FROM json_each(CASE WHEN json_valid(new.metadata) AND "
        "json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE "
        "j.type <> 'null'; END"
    ),
    (
        "CREATE TRIGGER run_metadata_delete AFTER DELETE ON runs WHEN old.metadata IS NOT "
        "NULL BEGIN DELETE FROM run_metadata WHERE local_id = old.local_id; END"
    ),
)


# The run's note of the figures it refused (Run.refused_figures), NULL for runs recorded
# before and for runs that refused none. (As shipped, it also remade the rollups' and
# the side table's triggers to copy sane figures only: what m022 drops.)
_step(
    "m017_sane_figures_and_refused_note",
    "ALTER TABLE runs ADD COLUMN refused_figures TEXT",
)


_step("m018_metadata_rollup")  # emptied: a later step drops all it made (_DROPPED_BY)


# m016_experiments and m019_datasets were here until 0.8.0: evaluation's tables, now
# agentnb-evals' own steps (add_migrations), under the same names.


# "client" for a call a notebook function ran (a client tool); NULL: the platform ran it,
# or the call was recorded before this column.
_step(
    "m020_tool_call_ran_by",
    "ALTER TABLE tool_calls ADD COLUMN ran_by TEXT",
)


_step("m021_unpriced_runs")  # emptied: a later step drops all it made (_DROPPED_BY)


# summary() groups the runs themselves: the hourly rollups, the triggers that kept them,
# the quantile order indexes and the side table's copies of each run's figures go. The
# side table keeps each run's metadata keys (runs(metadata=...)). No value of a run changes.
_step(
    "m022_summaries_from_runs",
    "DROP TRIGGER IF EXISTS runs_rollup_insert",
    "DROP TRIGGER IF EXISTS runs_rollup_update_old",
    "DROP TRIGGER IF EXISTS runs_rollup_update_new",
    "DROP TRIGGER IF EXISTS runs_rollup_delete",
    "DROP TRIGGER IF EXISTS run_metadata_rollup_insert",
    "DROP TRIGGER IF EXISTS run_metadata_rollup_update_old",
    "DROP TRIGGER IF EXISTS run_metadata_rollup_update_new",
    "DROP TRIGGER IF EXISTS run_metadata_rollup_delete",
    "DROP TABLE IF EXISTS runs_rollup",
    "DROP TABLE IF EXISTS run_metadata_rollup",
    "DROP INDEX IF EXISTS runs_duration_order",
    "DROP INDEX IF EXISTS runs_duration_by_day",
    "DROP INDEX IF EXISTS runs_ttft_order",
    "DROP INDEX IF EXISTS runs_ttft_by_day",
    "DROP INDEX IF EXISTS run_metadata_duration_order",
    "DROP INDEX IF EXISTS run_metadata_ttft_order",
    "DROP TRIGGER run_metadata_insert",
    "DROP TRIGGER run_metadata_update",
    "ALTER TABLE run_metadata DROP COLUMN status",
    "ALTER TABLE run_metadata DROP COLUMN started_at",
    "ALTER TABLE run_metadata DROP COLUMN agent",
    "ALTER TABLE run_metadata DROP COLUMN total_tokens",
    "ALTER TABLE run_metadata DROP COLUMN cost_usd",
    "ALTER TABLE run_metadata DROP COLUMN tool_call_count",
    "ALTER TABLE run_metadata DROP COLUMN paused_seconds",
    "ALTER TABLE run_metadata DROP COLUMN duration",
    "ALTER TABLE run_metadata DROP COLUMN ttft",
    (
        "CREATE TRIGGER run_metadata_insert AFTER INSERT ON runs WHEN new.metadata IS NOT "
        "NULL BEGIN INSERT OR REPLACE INTO run_metadata (key, value, local_id) SELECT "
        "j.key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' "
        "THEN 'false' ELSE CAST(j.value AS TEXT) END, new.local_id FROM json_each(CASE "
        "WHEN json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN "
        "new.metadata ELSE '{}' END) j WHERE j.type <> 'null'; END"
    ),
    (
        "CREATE TRIGGER run_metadata_update AFTER UPDATE OF metadata, local_id ON runs "
        "WHEN old.local_id IS NOT new.local_id OR old.metadata IS NOT new.metadata BEGIN "
        "DELETE FROM run_metadata WHERE local_id = old.local_id; INSERT OR REPLACE INTO "
        "run_metadata (key, value, local_id) SELECT j.key, CASE j.type WHEN 'text' THEN "
        "j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END, new.local_id FROM json_each(CASE WHEN json_valid(new.metadata) AND "
        "json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE "
        "j.type <> 'null'; END"
    ),
)


_M007_TRIGGERS = (
    "insert",
    "update",
    "reopen",
    "delete",
    "tools_insert",
    "tools_delete",
    "tools_update",
)


@migration
def m023_search_reads_the_runs(db: sqlite3.Connection) -> None:
    # The search index reads each run's text from runs (an external-content FTS5 table over
    # the view runs_search_text) instead of holding its own copy of every answer: the file
    # shrinks by that copy, and a run's end writes its answer once. The index holds exactly
    # the runs of the view, those not running; an entry is taken out while the view still
    # shows what it indexed (BEFORE triggers), then put back from the new values. (m007's
    # index, with its own copy of the text, goes.) A Python whose SQLite lacks FTS5 gets no
    # index: search then says so.
    _each(db, [f"DROP TRIGGER IF EXISTS runs_search_{name}" for name in _M007_TRIGGERS])
    db.execute("DROP TABLE IF EXISTS runs_search")
    try:
        db.execute(
            "CREATE VIRTUAL TABLE runs_search USING fts5(message, answer, reasoning, tools, "
            "content = 'runs_search_text', content_rowid = 'id', "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as exc:
        if "no such module" in str(exc):
            return
        raise
    tools = (
        "(SELECT group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') FROM "
        "tool_calls WHERE local_id = {run}.local_id)"
    )
    index_run = (
        "INSERT INTO runs_search (rowid, message, answer, reasoning, tools) SELECT rowid, "
        "message, answer, reasoning, " + tools.format(run="runs") + " FROM runs WHERE "
        "local_id = {call}.local_id AND status IS NOT 'running'"
    )
    unindex_run = (
        "DELETE FROM runs_search WHERE rowid = (SELECT rowid FROM runs WHERE local_id = "
        "{call}.local_id AND status IS NOT 'running')"
    )
    changed = (
        "old.message IS NOT new.message OR old.answer IS NOT new.answer OR old.reasoning IS "
        "NOT new.reasoning"
    )
    _each(
        db,
        (
            (
                "CREATE VIEW runs_search_text AS SELECT rowid AS id, message, answer, "
                "reasoning, " + tools.format(run="runs") + " AS tools FROM runs WHERE status "
                "IS NOT 'running'"
            ),
            "INSERT INTO runs_search (runs_search) VALUES ('rebuild')",
            (
                "CREATE TRIGGER runs_search_insert AFTER INSERT ON runs WHEN new.status IS NOT "
                "'running' BEGIN INSERT INTO runs_search (rowid, message, answer, reasoning, "
                "tools) VALUES (new.rowid, new.message, new.answer, new.reasoning, "
                + tools.format(run="new")
                + "); END"
            ),
            (
                "CREATE TRIGGER runs_search_unindex BEFORE UPDATE OF message, answer, "
                "reasoning, status ON runs WHEN old.status IS NOT 'running' AND (new.status IS "
                "'running' OR " + changed + ") BEGIN DELETE FROM runs_search WHERE rowid = "
                "old.rowid; END"
            ),
            (
                "CREATE TRIGGER runs_search_index AFTER UPDATE OF message, answer, reasoning, "
                "status ON runs WHEN new.status IS NOT 'running' AND (old.status IS 'running' "
                "OR " + changed + ") BEGIN INSERT INTO runs_search (rowid, message, answer, "
                "reasoning, tools) VALUES (new.rowid, new.message, new.answer, new.reasoning, "
                + tools.format(run="new")
                + "); END"
            ),
            (
                "CREATE TRIGGER runs_search_delete BEFORE DELETE ON runs WHEN old.status IS NOT "
                "'running' BEGIN DELETE FROM runs_search WHERE rowid = old.rowid; END"
            ),
            *(
                f"CREATE TRIGGER runs_search_tools_{when.lower()}_{what.split()[0].lower()} "
                f"{when} {what} ON tool_calls BEGIN "
                + (unindex_run if when == "BEFORE" else index_run).format(call=row)
                + "; END"
                for what, row in (
                    ("INSERT", "new"),
                    ("DELETE", "old"),
                    ("UPDATE OF name, arguments", "new"),
                )
                for when in ("BEFORE", "AFTER")
            ),
        ),
    )


@migration
def m024_search_waits_for_long_texts(db: sqlite3.Connection) -> None:
    # A run's answer or reasoning past 1 MiB is written into its row in pieces, after the
    # statement that ends the run has left a placeholder of its size: the search triggers
    # skip a run named in runs_search_pending (they would index the placeholder, and reading
    # it costs the process a copy of the answer), and the writer indexes it once written.
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs_search'").fetchone() is None:
        return
    _each(
        db,
        (
            "CREATE TABLE runs_search_pending (local_id TEXT PRIMARY KEY) WITHOUT ROWID",
            "DROP TRIGGER runs_search_insert",
            "DROP TRIGGER runs_search_index",
            (
                "CREATE TRIGGER runs_search_insert AFTER INSERT ON runs WHEN new.status IS NOT "
                "'running' AND NOT EXISTS (SELECT 1 FROM runs_search_pending WHERE local_id = "
                "new.local_id) BEGIN INSERT INTO runs_search (rowid, message, answer, reasoning, "
                "tools) VALUES (new.rowid, new.message, new.answer, new.reasoning, (SELECT "
                "group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') FROM "
                "tool_calls WHERE local_id = new.local_id)); END"
            ),
            (
                "CREATE TRIGGER runs_search_index AFTER UPDATE OF message, answer, reasoning, "
                "status ON runs WHEN new.status IS NOT 'running' AND NOT EXISTS (SELECT 1 FROM "
                "runs_search_pending WHERE local_id = new.local_id) AND (old.status IS 'running' "
                "OR old.message IS NOT new.message OR old.answer IS NOT new.answer OR "
                "old.reasoning IS NOT new.reasoning) BEGIN INSERT INTO runs_search (rowid, "
                "message, answer, reasoning, tools) VALUES (new.rowid, new.message, new.answer, "
                "new.reasoning, (SELECT group_concat(coalesce(name, '') || ' ' || "
                "coalesce(arguments, ''), ' ') FROM tool_calls WHERE local_id = new.local_id)); "
                "END"
            ),
        ),
    )


# summary() reads each run's figures from an index holding just them instead of the wide
# rows, grouped by agent in its order (no sort); it replaces runs_by_agent, whose agent
# and started_at lead it, so a run's write still updates as many indexes.
_step(
    "m025_summaries_read_an_index",
    "DROP INDEX runs_by_agent",
    (
        "CREATE INDEX runs_by_agent_figures ON runs (agent, started_at, status, model, "
        "total_tokens, cost_usd, tool_call_count, paused_seconds, duration, ttft, "
        "local_id)"
    ),
)


# A run's answer or reasoning past 1,048,576 characters keeps that much in its row (what
# the search index reads) and the rest here, as UTF-8, written in pieces into a value of
# its size: last in its record, such a value costs SQLite no copy of it (in runs it cost
# two). Rows written before keep their texts whole; runs_search_pending (m024) stays,
# empty, so an older agentnb still opens the file (read-only, as a newer one's).
_step(
    "m026_long_texts_apart",
    """
        CREATE TABLE run_texts (
            local_id TEXT NOT NULL REFERENCES runs (local_id) ON DELETE CASCADE,
            field TEXT NOT NULL CHECK (field IN ('answer', 'reasoning')),
            rest BLOB NOT NULL,
            PRIMARY KEY (local_id, field)
        )
        """,
)


# Why the platform ended the answer (stop, length, max_tokens, ...), so a past run cut at
# the token limit still says so; NULL for runs recorded before this column.
_step(
    "m027_run_finish_reason",
    "ALTER TABLE runs ADD COLUMN finish_reason TEXT",
)


# m028_experiment_split_and_agreements was here before 0.8.0 (never in a release): evaluation's,
# now agentnb-evals' own step under the same name.


# What an ACP session says beside its turns: the mode a run was in and the settings in
# effect (model, mode, effort..., as JSON by their id), so runs on two models or modes of
# one agent compare; the agent's last plan (JSON entries); and whether the run was imported
# from the agent's own past sessions (session/load) rather than run here. NULL where the
# agent said none, and for runs recorded before these columns.
_step(
    "m029_acp_session_controls",
    "ALTER TABLE runs ADD COLUMN mode TEXT",
    "ALTER TABLE runs ADD COLUMN config TEXT",
    "ALTER TABLE runs ADD COLUMN plan TEXT",
    "ALTER TABLE runs ADD COLUMN imported INTEGER",
)


# What a run's dialect says of it beside what every run has, one JSON object by name, not a
# column each: an ACP session's mode, config and plan, copied from m029's columns (a value
# that is not JSON kept as its text; a null one left out), which stay, NULL in later rows.
_step(
    "m030_dialect_extras",
    "ALTER TABLE runs ADD COLUMN extras TEXT",
    """
        UPDATE runs SET extras = json_patch('{}', json_object('mode', CAST(mode AS TEXT),
            'config', CASE WHEN json_valid(config) THEN json(config) ELSE CAST(config AS TEXT) END,
            'plan', CASE WHEN json_valid(plan) THEN json(plan) ELSE CAST(plan AS TEXT) END))
        WHERE coalesce(mode, config, plan) IS NOT NULL
        """,
)


_DROPPED_BY: Final = {
    "m022_summaries_from_runs": frozenset(
        [
            "00040c5bdd6858dbfb7a8c7ea377301d",
            "04ec2519f7c0aeec2c650ed7acd2b4b7",
            "159745590ec3f5c4e1052a0c5b8687f8",
            "1a0bf83ffb6cf53d2f23ac69fe52e5f2",
            "1a1caf9a3764cf5eb72d98f298d22456",
            "1e7b90902a4998c232edd844861e0315",
            "21b8332184c5867d4eecf41792f94353",
            "27ede601b73a0d0f95f4d22f5acc5e68",
            "2a2e4f1bcfd65a4369bf0024a2878627",
            "2bfd22964180a5b45379f2c5d2c8d5bb",
            "342aa472623e13b1e97ad4e494a83ea0",
            "477927a35c4dcce0159a2855ff6ebb11",
            "49afc3ada4c15e327cfaacc35d6b8c50",
            "730aeb00930eb4d9126a76316f0e3432",
            "7c508be04d6cf47d334524cc27092258",
            "8065806c070f71d1aca7f0106db637cd",
            "8191028d84abed2497a0bca70f5a002d",
            "8744cddffb22b4203b5fbb1738fefd4c",
            "a0875669a478adb2543add4b0b2839ff",
            "a2f33466792d2f7ca2a0df5c1d25e0ae",
            "ace560fb18134a477519f0975f25d047",
            "bebdd3220739b0fe949f02746703c233",
            "d098384b96b73c71aa553afe11c0b99f",
            "d3c6d06a612764f69d7d8792a57d6c6d",
            "d4064a349d9eca013efb41750a1e827b",
            "d72b3e6c18cd0a65e2e2cad77e6096da",
            "d828d5ff82d2580777eb3e8eb623cfbb",
            "d84f6ce4161f8f968aa3dacf93d8f44d",
            "ec7ec170706ad3af2aa04e8ad856d3f2",
            "ee4206d5d95798e840de6838f38b49c6",
            "eebcf6b5e334543a48b215fa89469aef",
            "f0db7f8ea327ed5efd8ab4ab9793cb75",
            "f28e638b6ed8be690fd9de0e429a90bd",
            "f6c414e23c331f0badaa3a9678e96d3b",
            "f725294d875a6f72096358ce1677082b",
        ]
    ),
    "m023_search_reads_the_runs": frozenset(
        [
            "17f9d087ebc81e82971d2f16fb76bcb3",
            "1ca401fa180d5e46af7afc7cee5f9333",
            "356f2e3f087146c329eead1c709fcc34",
            "41f58f1299af1fa84e9371825a857ce3",
            "5d3fb5f4547493cae1c5cc3ac9d4beb3",
            "615b40443e547e7aa2b43b1efc00bbf3",
            "8fefe263edd5a21c623a04dd0beaf42d",
            "983ad00b4b305b24b204674d367b7544",
            "9df6ff740d02fa36c0cc2d78d6fb8a70",
            "a9a1e79f21dfe2300692d7a2ea955bc9",
            "cee0e7056b2065d238b11a4525fa73ba",
            "d9096a6d6d472749787b258ab7f7aa68",
            "f84e4f5c78c3420c747cb77ccbe8ce37",
        ]
    ),
}
"""What the emptied steps made in shipped versions' files, by :func:`_digest` (the SQL itself
is gone), under the step that drops it: the hourly rollups, their triggers and indexes, the
quantile order indexes and the side table's triggers copying each run's figures (m012, m015,
m017, m018, m021), as each version wrote them; the search index with its own copy (m007)."""


def shipped_then_dropped(
    applied: Collection[str], kind: str, name: str, table: str, sql: str
) -> bool:
    """Whether a file's object is one an emptied step made as shipped, in a file the step
    that drops it (see :data:`_DROPPED_BY`) has not run on yet."""
    digest = _digest(kind, name, table, sql)
    return any(step not in applied and digest in made for step, made in _DROPPED_BY.items())


def _digest(kind: str, name: str, table: str, sql: str) -> str:
    folded = " ".join(sql.split())
    return hashlib.sha256("\n".join((kind, name, table, folded)).encode()).hexdigest()[:32]


def rebuild_side_tables(db: sqlite3.Connection) -> None:
    """Fill the side table the triggers keep (``run_metadata``: each run's metadata keys)
    again from the runs (``HistoryStore.rebuild_side_tables``)."""
    _each(
        db,
        (
            "DELETE FROM run_metadata",
            (
                "INSERT OR REPLACE INTO run_metadata (key, value, local_id) SELECT j.key, CASE "
                "j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                "ELSE CAST(j.value AS TEXT) END, runs.local_id FROM runs, json_each(CASE WHEN "
                "json_valid(runs.metadata) AND json_type(runs.metadata) = 'object' THEN "
                "runs.metadata ELSE '{}' END) j WHERE j.type <> 'null'"
            ),
        ),
    )


_PLUGIN_STEPS: dict[str, tuple[Migration, ...]] = {}
"""Each package's steps (:func:`add_migrations`), in the order the packages added them."""
_PLUGIN_SQL: dict[str, tuple[str, ...]] = {}
"""Each package step's SQL by its name: a step added again must be the same."""
_generation = [0]


def add_migrations(owner: str, steps: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Keep a package's own tables in the history: ``steps`` are ``(name, [sql, ...])``,
    oldest first, each applied once to every history file this process opens (and to the
    ones open now, at their next use), after agentnb's own, and recorded by its name.

    As agentnb's, the steps are frozen: a step that shipped is never edited, renamed or
    reordered, and a new one goes at the end (a file on a user's disk names the steps it
    ran). ``owner`` names the package (``"evals"``); adding its steps again (a reload) is
    a no-op, and a list that does not start with the steps it added before, or a name
    another package's or agentnb's step has, raises :class:`~agentnb.ConfigurationError`."""
    if not owner.isidentifier():
        raise ConfigurationError(f"add_migrations: the owner is a name, not {owner!r}")
    named = [(str(name), tuple(statements)) for name, statements in steps]
    names = [name for name, _ in named]
    before = [step.__name__ for step in _PLUGIN_STEPS.get(owner, ())]
    others = {step.__name__ for step in MIGRATIONS} | {
        step.__name__ for who, made in _PLUGIN_STEPS.items() if who != owner for step in made
    }
    if len(set(names)) != len(names) or others & set(names):
        taken = sorted(others & set(names)) or sorted({n for n in names if names.count(n) > 1})
        raise ConfigurationError(f"{owner}'s migrations: the step names {taken} are taken")
    changed = [name for name, sql in named[: len(before)] if _PLUGIN_SQL.get(name) != sql]
    if names[: len(before)] != before or changed:
        raise ConfigurationError(
            f"{owner}'s migrations change the steps it added before ({before}): a step is "
            "never edited, renamed or reordered; add a new one at the end"
        )
    if len(named) == len(before):
        return
    _PLUGIN_SQL.update(named)
    _PLUGIN_STEPS[owner] = tuple(_sql_step(name, sql) for name, sql in named)
    _generation[0] += 1


def every_migration() -> tuple[Migration, ...]:
    """agentnb's steps, then each package's (:func:`add_migrations`), in order."""
    return (*MIGRATIONS, *(step for made in _PLUGIN_STEPS.values() for step in made))


def plugin_generation() -> int:
    """How many times packages added steps: a store open since applies them at its next use."""
    return _generation[0]


def applied_migrations(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations applied to ``db``, in the order they were applied."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if exists is None:
        return []
    return [name for (name,) in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def apply_migrations(
    db: sqlite3.Connection, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Apply the migrations ``db`` lacks (of ``migrations``; by default agentnb's and every
    package's, :func:`every_migration`), in one write transaction; return their names.

    ``db`` must be in autocommit mode (``isolation_level=None``). Several processes may call
    this at once: the pending list is re-read under the write lock, so each migration runs once.
    """
    migrations = every_migration() if migrations is None else migrations
    pending = pending_migrations(applied_migrations(db), migrations)
    if not pending:
        return []
    with write_transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        pending = pending_migrations(applied_migrations(db), migrations)
        for migration in pending:
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (migration.__name__, time.time()),
            )
    return [migration.__name__ for migration in pending]


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (``BEGIN IMMEDIATE``) around the block: committed at its end,
    rolled back if it raises. ``db`` is in autocommit mode (``isolation_level=None``)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def pending_migrations(
    applied: Sequence[str], migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    migrations = every_migration() if migrations is None else migrations
    done = set(applied)
    return [migration for migration in migrations if migration.__name__ not in done]
