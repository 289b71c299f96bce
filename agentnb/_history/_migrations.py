"""The history file's schema: named migrations applied in order (:data:`MIGRATIONS`), each
recorded by name in ``_migrations`` once applied. Each holds its SQL as shipped and imports
nothing of agentnb, so a fresh file and an upgraded one end the same whatever the code around
them becomes. Append only: never rename, edit or reorder a migration that has shipped (the files
on users' disks name them); add a new one at the end, as literal SQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

__all__ = [
    "MIGRATIONS",
    "Migration",
    "applied_migrations",
    "apply_migrations",
    "pending_migrations",
    "rebuild_side_tables",
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


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    _each(
        db,
        (
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
        ),
    )


@migration
def m002_tool_calls(db: sqlite3.Connection) -> None:
    # NULL for runs recorded before tool calls were: unknown, not zero.
    _each(
        db,
        (
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
        ),
    )


@migration
def m003_resumes_and_execution_time(db: sqlite3.Connection) -> None:
    _each(
        db,
        (
            "ALTER TABLE runs ADD COLUMN resumes INTEGER",
            "ALTER TABLE runs ADD COLUMN execution_time REAL",
        ),
    )


@migration
def m004_tool_call_questions(db: sqlite3.Connection) -> None:
    # NULL for calls that asked nothing, and for calls recorded before questions were.
    _each(
        db,
        (
            "ALTER TABLE tool_calls ADD COLUMN question TEXT",
            "ALTER TABLE tool_calls ADD COLUMN answer TEXT",
        ),
    )


@migration
def m005_cancel_error(db: sqlite3.Connection) -> None:
    # Why the platform could not be told to stop a cancelled run; NULL when it was (or the
    # run was not cancelled, or was recorded before this column).
    db.execute("ALTER TABLE runs ADD COLUMN cancel_error TEXT")


@migration
def m006_call_tree(db: sqlite3.Connection) -> None:
    # Calls recorded before had no tree: NULL (unknown), not top-level; their agent is the run's.
    _each(
        db,
        (
            "ALTER TABLE tool_calls ADD COLUMN parent_call_id TEXT",
            "ALTER TABLE tool_calls ADD COLUMN agent TEXT",
            "ALTER TABLE tool_calls ADD COLUMN depth INTEGER",
        ),
    )


@migration
def m007_search(db: sqlite3.Connection) -> None:
    # Questions, answers, reasoning, and tool names with their arguments, indexed with FTS5;
    # triggers keep the index whichever agentnb version writes the file. A run is indexed
    # once, when it stops running (ends, or is found interrupted): indexing it at its start
    # and at every checkpoint too tripled the writer thread's CPU per run. A Python whose
    # SQLite lacks FTS5 gets no index: search then says so.
    # The calls of a running run are indexed when it stops (above), of a run not written yet
    # when it is; later changes at once.
    try:
        db.execute(
            "CREATE VIRTUAL TABLE runs_search USING fts5(message, answer, reasoning, tools, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as exc:
        if "no such module" in str(exc):
            return
        raise
    _each(
        db,
        (
            (
                "INSERT INTO runs_search (rowid, message, answer, reasoning, tools) SELECT rowid, "
                "message, answer, reasoning, (SELECT group_concat(coalesce(name, '') || ' ' || "
                "coalesce(arguments, ''), ' ') FROM tool_calls WHERE local_id = runs.local_id) "
                "FROM runs"
            ),
            (
                "CREATE TRIGGER runs_search_insert AFTER INSERT ON runs WHEN new.status IS NOT "
                "'running' BEGIN INSERT OR REPLACE INTO runs_search (rowid, message, answer, "
                "reasoning, tools) VALUES (new.rowid, new.message, new.answer, new.reasoning, "
                "(SELECT group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') "
                "FROM tool_calls WHERE local_id = new.local_id)); END"
            ),
            (
                "CREATE TRIGGER runs_search_update AFTER UPDATE OF message, answer, reasoning, "
                "status ON runs WHEN new.status IS NOT 'running' AND (old.status IS 'running' OR "
                "old.message IS NOT new.message OR old.answer IS NOT new.answer OR old.reasoning "
                "IS NOT new.reasoning) BEGIN INSERT OR REPLACE INTO runs_search (rowid, message, "
                "answer, reasoning, tools) VALUES (new.rowid, new.message, new.answer, "
                "new.reasoning, (SELECT group_concat(coalesce(name, '') || ' ' || "
                "coalesce(arguments, ''), ' ') FROM tool_calls WHERE local_id = new.local_id)); "
                "END"
            ),
            (
                "CREATE TRIGGER runs_search_reopen AFTER UPDATE OF status ON runs WHEN new.status "
                "IS 'running' AND old.status IS NOT 'running' BEGIN DELETE FROM runs_search WHERE "
                "rowid = old.rowid; END"
            ),
            (
                "CREATE TRIGGER runs_search_delete AFTER DELETE ON runs BEGIN DELETE FROM "
                "runs_search WHERE rowid = old.rowid; END"
            ),
            (
                "CREATE TRIGGER runs_search_tools_insert AFTER INSERT ON tool_calls WHEN (SELECT "
                "status FROM runs WHERE local_id = new.local_id) <> 'running' BEGIN UPDATE "
                "runs_search SET tools = (SELECT group_concat(coalesce(name, '') || ' ' || "
                "coalesce(arguments, ''), ' ') FROM tool_calls WHERE local_id = new.local_id) "
                "WHERE rowid = (SELECT rowid FROM runs WHERE local_id = new.local_id); END"
            ),
            (
                "CREATE TRIGGER runs_search_tools_delete AFTER DELETE ON tool_calls WHEN (SELECT "
                "status FROM runs WHERE local_id = old.local_id) <> 'running' BEGIN UPDATE "
                "runs_search SET tools = (SELECT group_concat(coalesce(name, '') || ' ' || "
                "coalesce(arguments, ''), ' ') FROM tool_calls WHERE local_id = old.local_id) "
                "WHERE rowid = (SELECT rowid FROM runs WHERE local_id = old.local_id); END"
            ),
            (
                "CREATE TRIGGER runs_search_tools_update AFTER UPDATE OF name, arguments ON "
                "tool_calls WHEN (SELECT status FROM runs WHERE local_id = new.local_id) <> "
                "'running' BEGIN UPDATE runs_search SET tools = (SELECT "
                "group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') FROM "
                "tool_calls WHERE local_id = new.local_id) WHERE rowid = (SELECT rowid FROM runs "
                "WHERE local_id = new.local_id); END"
            ),
        ),
    )


@migration
def m008_model_and_cost(db: sqlite3.Connection) -> None:
    # The model that ran, the run's cost in USD and where that came from (Run.model, .cost,
    # .cost_source). Rows recorded before get the model where their dialect names it by the
    # request alone (Provider.requested_model: the agent of the OpenAI-compatible dialects),
    # and a cost priced from their token counts at their start (each model, token counts and
    # day priced once); the rest stay NULL: unknown, not zero.
    # (The rows' models and costs were filled here from the code of the day: now
    # HistoryStore.fill_models_and_costs() does it, when asked.)
    _each(
        db,
        (
            "ALTER TABLE runs ADD COLUMN model TEXT",
            "ALTER TABLE runs ADD COLUMN cost_usd REAL",
            "ALTER TABLE runs ADD COLUMN cost_source TEXT",
        ),
    )


@migration
def m009_approval_decisions(db: sqlite3.Connection) -> None:
    # Who decided on a call (user, policy, server) and why it ran without the user's approval,
    # and how many of a run's calls did; NULL for what was recorded before: unknown, not the
    # user's.
    _each(
        db,
        (
            "ALTER TABLE tool_calls ADD COLUMN decided_by TEXT",
            "ALTER TABLE tool_calls ADD COLUMN unapproved TEXT",
            "ALTER TABLE runs ADD COLUMN unapproved_calls INTEGER",
        ),
    )


@migration
def m010_paused_time(db: sqlite3.Connection) -> None:
    # duration became the agent's time (a pause for a person's approval left out), with the
    # wall time in elapsed and the pause in paused_seconds. Rows recorded before knew no
    # pause: their wall time is their elapsed, and their duration stays as it was. A ttft
    # without a first token (a cancelled or failed run, once written as 0) is missing.
    _each(
        db,
        (
            "ALTER TABLE runs ADD COLUMN elapsed REAL",
            "ALTER TABLE runs ADD COLUMN paused_seconds REAL",
            "UPDATE runs SET elapsed = duration",
            "UPDATE runs SET ttft = NULL WHERE first_token_at IS NULL",
        ),
    )


@migration
def m011_tool_call_usage(db: sqlite3.Connection) -> None:
    # A sub-agent's tokens, model and cost inside the call that ran it, where the platform
    # reports usage per call (ToolCallFinished.usage / .model). Calls recorded before kept
    # none of it: NULL, unknown, not zero.
    _each(
        db,
        (
            "ALTER TABLE tool_calls ADD COLUMN prompt_tokens INTEGER",
            "ALTER TABLE tool_calls ADD COLUMN completion_tokens INTEGER",
            "ALTER TABLE tool_calls ADD COLUMN total_tokens INTEGER",
            "ALTER TABLE tool_calls ADD COLUMN model TEXT",
            "ALTER TABLE tool_calls ADD COLUMN cost_usd REAL",
            "ALTER TABLE tool_calls ADD COLUMN cost_source TEXT",
        ),
    )


@migration
def m012_summary_rollup(db: sqlite3.Connection) -> None:
    # summary() at a million runs (see _summary_sql): each hour's counts and sums per key in
    # a table kept by triggers (filled here from the runs already recorded), so the counts
    # read a row per hour and key instead of a row per run; and indexes of the runs in each
    # timed metric's order, so a quantile is a walk to its rank instead of a sort. No
    # value of a run changes.
    _each(
        db,
        (
            (
                "CREATE TABLE runs_rollup (hour INTEGER NOT NULL, agent TEXT, model TEXT, "
                "provider TEXT, connection TEXT, host TEXT, status TEXT, error_code TEXT, "
                "cost_source TEXT, runs INTEGER NOT NULL DEFAULT 0, tokens_sum INTEGER, tokens_n "
                "INTEGER NOT NULL DEFAULT 0, cost_sum REAL, cost_n INTEGER NOT NULL DEFAULT 0, "
                "tools_sum INTEGER, tools_n INTEGER NOT NULL DEFAULT 0, paused_sum REAL, paused_n "
                "INTEGER NOT NULL DEFAULT 0, duration_n INTEGER NOT NULL DEFAULT 0, ttft_n "
                "INTEGER NOT NULL DEFAULT 0)"
            ),
            (
                "CREATE INDEX runs_rollup_key ON runs_rollup (hour, agent, model, provider, "
                "connection, host, status, error_code, cost_source)"
            ),
            (
                "INSERT INTO runs_rollup (hour, agent, model, provider, connection, host, status, "
                "error_code, cost_source, runs, tokens_sum, tokens_n, cost_sum, cost_n, "
                "tools_sum, tools_n, paused_sum, paused_n, duration_n, ttft_n) SELECT "
                "CAST(runs.started_at / 3600 AS INTEGER) * 3600, agent, model, provider, "
                "connection, host, status, error_code, cost_source, COUNT(*), "
                "SUM(runs.total_tokens), COUNT(runs.total_tokens), SUM(runs.cost_usd), "
                "COUNT(runs.cost_usd), SUM(runs.tool_call_count), COUNT(runs.tool_call_count), "
                "SUM(runs.paused_seconds), COUNT(runs.paused_seconds), COUNT(runs.duration), "
                "COUNT(runs.ttft) FROM runs WHERE runs.status IS NOT 'running' GROUP BY 1, agent, "
                "model, provider, connection, host, status, error_code, cost_source"
            ),
            (
                "CREATE TRIGGER runs_rollup_insert AFTER INSERT ON runs WHEN new.status IS NOT "
                "'running' BEGIN INSERT INTO runs_rollup (hour, agent, model, provider, "
                "connection, host, status, error_code, cost_source) SELECT CAST(new.started_at / "
                "3600 AS INTEGER) * 3600, new.agent, new.model, new.provider, new.connection, "
                "new.host, new.status, new.error_code, new.cost_source WHERE NOT EXISTS (SELECT 1 "
                "FROM runs_rollup WHERE hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND "
                "agent IS new.agent AND model IS new.model AND provider IS new.provider AND "
                "connection IS new.connection AND host IS new.host AND status IS new.status AND "
                "error_code IS new.error_code AND cost_source IS new.cost_source); UPDATE "
                "runs_rollup SET tokens_sum = CASE WHEN new.total_tokens IS NULL THEN tokens_sum "
                "ELSE COALESCE(tokens_sum, 0) + new.total_tokens END, tokens_n = tokens_n + "
                "(new.total_tokens IS NOT NULL), cost_sum = CASE WHEN new.cost_usd IS NULL THEN "
                "cost_sum ELSE COALESCE(cost_sum, 0) + new.cost_usd END, cost_n = cost_n + "
                "(new.cost_usd IS NOT NULL), tools_sum = CASE WHEN new.tool_call_count IS NULL "
                "THEN tools_sum ELSE COALESCE(tools_sum, 0) + new.tool_call_count END, tools_n = "
                "tools_n + (new.tool_call_count IS NOT NULL), paused_sum = CASE WHEN "
                "new.paused_seconds IS NULL THEN paused_sum ELSE COALESCE(paused_sum, 0) + "
                "new.paused_seconds END, paused_n = paused_n + (new.paused_seconds IS NOT NULL), "
                "duration_n = duration_n + (new.duration IS NOT NULL), ttft_n = ttft_n + "
                "(new.ttft IS NOT NULL), runs = runs + 1 WHERE hour = CAST(new.started_at / 3600 "
                "AS INTEGER) * 3600 AND agent IS new.agent AND model IS new.model AND provider IS "
                "new.provider AND connection IS new.connection AND host IS new.host AND status IS "
                "new.status AND error_code IS new.error_code AND cost_source IS new.cost_source; "
                "END"
            ),
            (
                "CREATE TRIGGER runs_rollup_update_old AFTER UPDATE OF agent, model, provider, "
                "connection, host, status, error_code, cost_source, started_at, total_tokens, "
                "cost_usd, tool_call_count, paused_seconds, duration, ttft ON runs WHEN "
                "old.status IS NOT 'running' AND (old.agent IS NOT new.agent OR old.model IS NOT "
                "new.model OR old.provider IS NOT new.provider OR old.connection IS NOT "
                "new.connection OR old.host IS NOT new.host OR old.status IS NOT new.status OR "
                "old.error_code IS NOT new.error_code OR old.cost_source IS NOT new.cost_source "
                "OR old.started_at IS NOT new.started_at OR old.total_tokens IS NOT "
                "new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS "
                "NOT new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR "
                "old.duration IS NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN UPDATE "
                "runs_rollup SET tokens_sum = CASE WHEN tokens_n - (old.total_tokens IS NOT NULL) "
                "= 0 THEN NULL ELSE tokens_sum - COALESCE(old.total_tokens, 0) END, tokens_n = "
                "tokens_n - (old.total_tokens IS NOT NULL), cost_sum = CASE WHEN cost_n - "
                "(old.cost_usd IS NOT NULL) = 0 THEN NULL ELSE cost_sum - COALESCE(old.cost_usd, "
                "0) END, cost_n = cost_n - (old.cost_usd IS NOT NULL), tools_sum = CASE WHEN "
                "tools_n - (old.tool_call_count IS NOT NULL) = 0 THEN NULL ELSE tools_sum - "
                "COALESCE(old.tool_call_count, 0) END, tools_n = tools_n - (old.tool_call_count "
                "IS NOT NULL), paused_sum = CASE WHEN paused_n - (old.paused_seconds IS NOT NULL) "
                "= 0 THEN NULL ELSE paused_sum - COALESCE(old.paused_seconds, 0) END, paused_n = "
                "paused_n - (old.paused_seconds IS NOT NULL), duration_n = duration_n - "
                "(old.duration IS NOT NULL), ttft_n = ttft_n - (old.ttft IS NOT NULL), runs = "
                "runs - 1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
                "old.agent AND model IS old.model AND provider IS old.provider AND connection IS "
                "old.connection AND host IS old.host AND status IS old.status AND error_code IS "
                "old.error_code AND cost_source IS old.cost_source; DELETE FROM runs_rollup WHERE "
                "hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND "
                "model IS old.model AND provider IS old.provider AND connection IS old.connection "
                "AND host IS old.host AND status IS old.status AND error_code IS old.error_code "
                "AND cost_source IS old.cost_source AND runs <= 0; END"
            ),
            (
                "CREATE TRIGGER runs_rollup_update_new AFTER UPDATE OF agent, model, provider, "
                "connection, host, status, error_code, cost_source, started_at, total_tokens, "
                "cost_usd, tool_call_count, paused_seconds, duration, ttft ON runs WHEN "
                "new.status IS NOT 'running' AND (old.agent IS NOT new.agent OR old.model IS NOT "
                "new.model OR old.provider IS NOT new.provider OR old.connection IS NOT "
                "new.connection OR old.host IS NOT new.host OR old.status IS NOT new.status OR "
                "old.error_code IS NOT new.error_code OR old.cost_source IS NOT new.cost_source "
                "OR old.started_at IS NOT new.started_at OR old.total_tokens IS NOT "
                "new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS "
                "NOT new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR "
                "old.duration IS NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN INSERT INTO "
                "runs_rollup (hour, agent, model, provider, connection, host, status, error_code, "
                "cost_source) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, new.agent, "
                "new.model, new.provider, new.connection, new.host, new.status, new.error_code, "
                "new.cost_source WHERE NOT EXISTS (SELECT 1 FROM runs_rollup WHERE hour = "
                "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND model "
                "IS new.model AND provider IS new.provider AND connection IS new.connection AND "
                "host IS new.host AND status IS new.status AND error_code IS new.error_code AND "
                "cost_source IS new.cost_source); UPDATE runs_rollup SET tokens_sum = CASE WHEN "
                "new.total_tokens IS NULL THEN tokens_sum ELSE COALESCE(tokens_sum, 0) + "
                "new.total_tokens END, tokens_n = tokens_n + (new.total_tokens IS NOT NULL), "
                "cost_sum = CASE WHEN new.cost_usd IS NULL THEN cost_sum ELSE COALESCE(cost_sum, "
                "0) + new.cost_usd END, cost_n = cost_n + (new.cost_usd IS NOT NULL), tools_sum = "
                "CASE WHEN new.tool_call_count IS NULL THEN tools_sum ELSE COALESCE(tools_sum, 0) "
                "+ new.tool_call_count END, tools_n = tools_n + (new.tool_call_count IS NOT "
                "NULL), paused_sum = CASE WHEN new.paused_seconds IS NULL THEN paused_sum ELSE "
                "COALESCE(paused_sum, 0) + new.paused_seconds END, paused_n = paused_n + "
                "(new.paused_seconds IS NOT NULL), duration_n = duration_n + (new.duration IS NOT "
                "NULL), ttft_n = ttft_n + (new.ttft IS NOT NULL), runs = runs + 1 WHERE hour = "
                "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND model "
                "IS new.model AND provider IS new.provider AND connection IS new.connection AND "
                "host IS new.host AND status IS new.status AND error_code IS new.error_code AND "
                "cost_source IS new.cost_source; END"
            ),
            (
                "CREATE TRIGGER runs_rollup_delete AFTER DELETE ON runs WHEN old.status IS NOT "
                "'running' BEGIN UPDATE runs_rollup SET tokens_sum = CASE WHEN tokens_n - "
                "(old.total_tokens IS NOT NULL) = 0 THEN NULL ELSE tokens_sum - "
                "COALESCE(old.total_tokens, 0) END, tokens_n = tokens_n - (old.total_tokens IS "
                "NOT NULL), cost_sum = CASE WHEN cost_n - (old.cost_usd IS NOT NULL) = 0 THEN "
                "NULL ELSE cost_sum - COALESCE(old.cost_usd, 0) END, cost_n = cost_n - "
                "(old.cost_usd IS NOT NULL), tools_sum = CASE WHEN tools_n - (old.tool_call_count "
                "IS NOT NULL) = 0 THEN NULL ELSE tools_sum - COALESCE(old.tool_call_count, 0) "
                "END, tools_n = tools_n - (old.tool_call_count IS NOT NULL), paused_sum = CASE "
                "WHEN paused_n - (old.paused_seconds IS NOT NULL) = 0 THEN NULL ELSE paused_sum - "
                "COALESCE(old.paused_seconds, 0) END, paused_n = paused_n - (old.paused_seconds "
                "IS NOT NULL), duration_n = duration_n - (old.duration IS NOT NULL), ttft_n = "
                "ttft_n - (old.ttft IS NOT NULL), runs = runs - 1 WHERE hour = "
                "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model "
                "IS old.model AND provider IS old.provider AND connection IS old.connection AND "
                "host IS old.host AND status IS old.status AND error_code IS old.error_code AND "
                "cost_source IS old.cost_source; DELETE FROM runs_rollup WHERE hour = "
                "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model "
                "IS old.model AND provider IS old.provider AND connection IS old.connection AND "
                "host IS old.host AND status IS old.status AND error_code IS old.error_code AND "
                "cost_source IS old.cost_source AND runs <= 0; END"
            ),
            (
                "CREATE INDEX runs_duration_order ON runs (status, duration, agent, model, "
                "started_at) WHERE duration IS NOT NULL"
            ),
            (
                "CREATE INDEX runs_duration_by_day ON runs (status, (CAST((started_at - 0) / "
                "86400 AS INTEGER) * 86400 + 0), duration, agent, model, started_at) WHERE "
                "duration IS NOT NULL"
            ),
            (
                "CREATE INDEX runs_ttft_order ON runs (status, ttft, agent, model, started_at) "
                "WHERE ttft IS NOT NULL"
            ),
            (
                "CREATE INDEX runs_ttft_by_day ON runs (status, (CAST((started_at - 0) / 86400 AS "
                "INTEGER) * 86400 + 0), ttft, agent, model, started_at) WHERE ttft IS NOT NULL"
            ),
        ),
    )


@migration
def m013_approval_binding(db: sqlite3.Connection) -> None:
    # Whether the platform reported other arguments for a call after it was shown for
    # approval, and why agentnb denied a call no decision could be bound to. NULL for calls
    # recorded before: unknown.
    _each(
        db,
        (
            "ALTER TABLE tool_calls ADD COLUMN arguments_changed INTEGER",
            "ALTER TABLE tool_calls ADD COLUMN protocol_error TEXT",
        ),
    )


@migration
def m014_scores(db: sqlite3.Connection) -> None:
    # Scores, labels and notes given to runs (agentnb.score, evaluators, a person's verdict):
    # one row per score given, never updated; a run's current score of a name is its latest
    # (see _scores). No value of a run changes.
    _each(
        db,
        (
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
        ),
    )


@migration
def m015_run_metadata(db: sqlite3.Connection) -> None:
    # Metadata as dimensions (runs(metadata=...), summary(by="metadata.<key>")): each run's
    # top-level metadata keys in a side table kept by triggers (see _metadata), filled here
    # from the runs already recorded. No value of a run changes.
    _each(
        db,
        (
            (
                "CREATE TABLE run_metadata (key TEXT NOT NULL, value TEXT NOT NULL, local_id TEXT "
                "NOT NULL, status TEXT, started_at REAL, agent TEXT, total_tokens INTEGER, "
                "cost_usd REAL, tool_call_count INTEGER, paused_seconds REAL, duration REAL, ttft "
                "REAL, PRIMARY KEY (key, value, local_id)) WITHOUT ROWID"
            ),
            "CREATE INDEX run_metadata_by_run ON run_metadata (local_id)",
            (
                "CREATE INDEX run_metadata_duration_order ON run_metadata (key, value, status, "
                "duration, started_at) WHERE duration IS NOT NULL"
            ),
            (
                "CREATE INDEX run_metadata_ttft_order ON run_metadata (key, value, status, ttft, "
                "started_at) WHERE ttft IS NOT NULL"
            ),
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
        ),
    )


@migration
def m016_experiments(db: sqlite3.Connection) -> None:
    # Experiments kept in the history (see _experiment_book): each one's arms, its examples (the
    # dataset's questions with their expected answers), which run answered which example on
    # which arm, and each evaluator's evaluations of a run (an error when it raised). No
    # value of a run changes.
    _each(
        db,
        (
            """
        CREATE TABLE experiments (
            name TEXT PRIMARY KEY,
            created REAL NOT NULL,
            arms TEXT NOT NULL,
            connection TEXT
        )
        """,
            """
        CREATE TABLE experiment_examples (
            experiment TEXT NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            example_id TEXT NOT NULL,
            question TEXT NOT NULL,
            expected TEXT,
            extra TEXT,
            PRIMARY KEY (experiment, position)
        )
        """,
            """
        CREATE TABLE experiment_runs (
            id INTEGER PRIMARY KEY,
            experiment TEXT NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            arm INTEGER NOT NULL,
            local_id TEXT NOT NULL
        )
        """,
            (
                "CREATE INDEX experiment_runs_by_pair ON experiment_runs (experiment, position, "
                "arm, id)"
            ),
            "CREATE INDEX experiment_runs_by_run ON experiment_runs (local_id)",
            """
        CREATE TABLE evaluations (
            id INTEGER PRIMARY KEY,
            local_id TEXT NOT NULL,
            evaluator TEXT NOT NULL,
            error TEXT,
            created REAL NOT NULL
        )
        """,
            "CREATE INDEX evaluations_by_run ON evaluations (local_id, evaluator, id)",
        ),
    )


@migration
def m017_sane_figures_and_refused_note(db: sqlite3.Connection) -> None:
    # A history file is outside input: the triggers that keep runs_rollup and run_metadata
    # now count and copy sane figures only (see _figures: a token count of 10^30, a
    # negative cost, text where a number goes is no figure), and both are filled again from
    # the runs, so nothing summed before the guard, or written into them by another tool,
    # is left. And the run's note of the figures it refused (Run.refused_figures), NULL for
    # runs recorded before and for runs that refused none. No value of a run changes.
    _each(db, _GUARDED_SIDE_TABLES)
    db.execute("ALTER TABLE runs ADD COLUMN refused_figures TEXT")


@migration
def m018_metadata_rollup(db: sqlite3.Connection) -> None:
    # summary(by="metadata.<key>") at a million runs (see _metadata_rollup): each hour's
    # counts and sums per metadata key, value, agent and status in a table kept by triggers
    # from the runs' metadata, filled here from the side table (refilled from the runs by
    # m017). No value of a run changes. The triggers' SQL is as 0.3.0 wrote it (see
    # tests/history/data/history-0.3.0.sqlite3): a copy frozen later named the columns in
    # another order, and a file 0.3.0 wrote was refused as not agentnb's.
    _each(
        db,
        (
            (
                "CREATE TABLE run_metadata_rollup (hour INTEGER NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, agent TEXT, status TEXT, runs INTEGER NOT NULL DEFAULT 0, "
                "tokens_sum INTEGER, tokens_n INTEGER NOT NULL DEFAULT 0, cost_sum REAL, cost_n "
                "INTEGER NOT NULL DEFAULT 0, tools_sum INTEGER, tools_n INTEGER NOT NULL DEFAULT "
                "0, paused_sum REAL, paused_n INTEGER NOT NULL DEFAULT 0, duration_n INTEGER NOT "
                "NULL DEFAULT 0, ttft_n INTEGER NOT NULL DEFAULT 0)"
            ),
            (
                "CREATE INDEX run_metadata_rollup_key ON run_metadata_rollup (key, hour, value, "
                "agent, status, runs, tokens_sum, tokens_n, cost_sum, cost_n, tools_sum, tools_n, "
                "paused_sum, paused_n, duration_n, ttft_n)"
            ),
            (
                "INSERT INTO run_metadata_rollup (hour, key, value, agent, status, runs, "
                "tokens_sum, tokens_n, cost_sum, cost_n, tools_sum, tools_n, paused_sum, "
                "paused_n, duration_n, ttft_n) SELECT CAST(m.started_at / 3600 AS INTEGER) * "
                "3600, m.key, m.value, m.agent, m.status, COUNT(*), SUM(CASE WHEN "
                "typeof(m.total_tokens) IN ('integer') AND m.total_tokens BETWEEN 0 AND "
                "1000000000000 THEN m.total_tokens END), COUNT(CASE WHEN typeof(m.total_tokens) "
                "IN ('integer') AND m.total_tokens BETWEEN 0 AND 1000000000000 THEN "
                "m.total_tokens END), SUM(CASE WHEN typeof(m.cost_usd) IN ('integer', 'real') AND "
                "m.cost_usd BETWEEN 0 AND 1000000.0 THEN m.cost_usd END), COUNT(CASE WHEN "
                "typeof(m.cost_usd) IN ('integer', 'real') AND m.cost_usd BETWEEN 0 AND 1000000.0 "
                "THEN m.cost_usd END), SUM(CASE WHEN typeof(m.tool_call_count) IN ('integer') AND "
                "m.tool_call_count BETWEEN 0 AND 1000000 THEN m.tool_call_count END), COUNT(CASE "
                "WHEN typeof(m.tool_call_count) IN ('integer') AND m.tool_call_count BETWEEN 0 "
                "AND 1000000 THEN m.tool_call_count END), SUM(CASE WHEN typeof(m.paused_seconds) "
                "IN ('integer', 'real') AND m.paused_seconds BETWEEN 0 AND 1000000000 THEN "
                "m.paused_seconds END), COUNT(CASE WHEN typeof(m.paused_seconds) IN ('integer', "
                "'real') AND m.paused_seconds BETWEEN 0 AND 1000000000 THEN m.paused_seconds "
                "END), COUNT(CASE WHEN typeof(m.duration) IN ('integer', 'real') AND m.duration "
                "BETWEEN 0 AND 1000000000 THEN m.duration END), COUNT(CASE WHEN typeof(m.ttft) IN "
                "('integer', 'real') AND m.ttft BETWEEN 0 AND 1000000000 THEN m.ttft END) FROM "
                "run_metadata m WHERE m.status IS NOT 'running' GROUP BY 1, m.key, m.value, "
                "m.agent, m.status"
            ),
            (
                "CREATE TRIGGER run_metadata_rollup_insert AFTER INSERT ON runs WHEN new.metadata "
                "IS NOT NULL AND new.status IS NOT 'running' BEGIN INSERT INTO "
                "run_metadata_rollup (hour, key, value, agent, status) SELECT CAST(new.started_at "
                "/ 3600 AS INTEGER) * 3600, p.key, p.value, new.agent, new.status FROM (SELECT "
                "DISTINCT j.key AS key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN "
                "'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END AS value FROM "
                "json_each(CASE WHEN json_valid(new.metadata) AND json_type(new.metadata) = "
                "'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> 'null') p WHERE NOT "
                "EXISTS (SELECT 1 FROM run_metadata_rollup WHERE key = p.key AND hour = "
                "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND value = p.value AND agent IS "
                "new.agent AND status IS new.status); UPDATE run_metadata_rollup SET tokens_sum = "
                "CASE WHEN CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens "
                "BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NULL THEN tokens_sum "
                "ELSE COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN ('integer') "
                "AND new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END END, "
                "tokens_n = tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
                "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT "
                "NULL), cost_sum = CASE WHEN CASE WHEN typeof(new.cost_usd) IN ('integer', "
                "'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NULL "
                "THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE WHEN typeof(new.cost_usd) IN "
                "('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd "
                "END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) IN ('integer', "
                "'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NOT "
                "NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN "
                "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN "
                "new.tool_call_count END IS NULL THEN tools_sum ELSE COALESCE(tools_sum, 0) + "
                "CASE WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count "
                "BETWEEN 0 AND 1000000 THEN new.tool_call_count END END, tools_n = tools_n + "
                "(CASE WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count "
                "BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), paused_sum = "
                "CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
                "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL "
                "THEN paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN "
                "typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN "
                "0 AND 1000000000 THEN new.paused_seconds END END, paused_n = paused_n + (CASE "
                "WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds "
                "BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NOT NULL), duration_n = "
                "duration_n + (CASE WHEN typeof(new.duration) IN ('integer', 'real') AND "
                "new.duration BETWEEN 0 AND 1000000000 THEN new.duration END IS NOT NULL), ttft_n "
                "= ttft_n + (CASE WHEN typeof(new.ttft) IN ('integer', 'real') AND new.ttft "
                "BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT NULL), runs = runs + 1 WHERE "
                "hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND "
                "status IS new.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE "
                "j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN "
                "'false' ELSE CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
                "json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN "
                "new.metadata ELSE '{}' END) j WHERE j.type <> 'null'); END"
            ),
            (
                "CREATE TRIGGER run_metadata_rollup_update_old AFTER UPDATE OF metadata, agent, "
                "status, started_at, total_tokens, cost_usd, tool_call_count, paused_seconds, "
                "duration, ttft ON runs WHEN old.metadata IS NOT NULL AND old.status IS NOT "
                "'running' AND (old.metadata IS NOT new.metadata OR old.agent IS NOT new.agent OR"
                " old.status IS NOT new.status OR old.started_at IS NOT new.started_at OR "
                "old.total_tokens IS NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR "
                "old.tool_call_count IS NOT new.tool_call_count OR old.paused_seconds IS NOT "
                "new.paused_seconds OR old.duration IS NOT new.duration OR old.ttft IS NOT "
                "new.ttft) BEGIN UPDATE run_metadata_rollup SET tokens_sum = CASE WHEN tokens_n -"
                " (CASE WHEN typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN"
                " 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL) = 0 THEN NULL ELSE "
                "tokens_sum - COALESCE(CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
                "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END, 0) END, "
                "tokens_n = tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
                "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT "
                "NULL), cost_sum = CASE WHEN cost_n - (CASE WHEN typeof(old.cost_usd) IN "
                "('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd "
                "END IS NOT NULL) = 0 THEN NULL ELSE cost_sum - COALESCE(CASE WHEN "
                "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
                "1000000.0 THEN old.cost_usd END, 0) END, cost_n = cost_n - (CASE WHEN "
                "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
                "1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE WHEN tools_n - "
                "(CASE WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count "
                "BETWEEN 0 AND 1000000 THEN old.tool_call_count END IS NOT NULL) = 0 THEN NULL "
                "ELSE tools_sum - COALESCE(CASE WHEN typeof(old.tool_call_count) IN ('integer') "
                "AND old.tool_call_count BETWEEN 0 AND 1000000 THEN old.tool_call_count END, 0) "
                "END, tools_n = tools_n - (CASE WHEN typeof(old.tool_call_count) IN ('integer') "
                "AND old.tool_call_count BETWEEN 0 AND 1000000 THEN old.tool_call_count END IS "
                "NOT NULL), paused_sum = CASE WHEN paused_n - (CASE WHEN "
                "typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds BETWEEN"
                " 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE "
                "paused_sum - COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', "
                "'real') AND old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds "
                "END, 0) END, paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN "
                "('integer', 'real') AND old.paused_seconds BETWEEN 0 AND 1000000000 THEN "
                "old.paused_seconds END IS NOT NULL), duration_n = duration_n - (CASE WHEN "
                "typeof(old.duration) IN ('integer', 'real') AND old.duration BETWEEN 0 AND "
                "1000000000 THEN old.duration END IS NOT NULL), ttft_n = ttft_n - (CASE WHEN "
                "typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND 1000000000 "
                "THEN old.ttft END IS NOT NULL), runs = runs - 1 WHERE hour = CAST(old.started_at"
                " / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND status IS old.status AND "
                "(key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type WHEN 'text' THEN "
                "j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
                "TEXT) END AS value FROM json_each(CASE WHEN json_valid(old.metadata) AND "
                "json_type(old.metadata) = 'object' THEN old.metadata ELSE '{}' END) j WHERE "
                "j.type <> 'null'); DELETE FROM run_metadata_rollup WHERE hour = "
                "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND status "
                "IS old.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type "
                "WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE "
                "CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
                "json_valid(old.metadata) AND json_type(old.metadata) = 'object' THEN "
                "old.metadata ELSE '{}' END) j WHERE j.type <> 'null') AND runs <= 0; END"
            ),
            (
                "CREATE TRIGGER run_metadata_rollup_update_new AFTER UPDATE OF metadata, agent, "
                "status, started_at, total_tokens, cost_usd, tool_call_count, paused_seconds, "
                "duration, ttft ON runs WHEN new.metadata IS NOT NULL AND new.status IS NOT "
                "'running' AND (old.metadata IS NOT new.metadata OR old.agent IS NOT new.agent OR"
                " old.status IS NOT new.status OR old.started_at IS NOT new.started_at OR "
                "old.total_tokens IS NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR "
                "old.tool_call_count IS NOT new.tool_call_count OR old.paused_seconds IS NOT "
                "new.paused_seconds OR old.duration IS NOT new.duration OR old.ttft IS NOT "
                "new.ttft) BEGIN INSERT INTO run_metadata_rollup (hour, key, value, agent, "
                "status) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, p.key, p.value, "
                "new.agent, new.status FROM (SELECT DISTINCT j.key AS key, CASE j.type WHEN "
                "'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE "
                "CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
                "json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN "
                "new.metadata ELSE '{}' END) j WHERE j.type <> 'null') p WHERE NOT EXISTS (SELECT"
                " 1 FROM run_metadata_rollup WHERE key = p.key AND hour = CAST(new.started_at / "
                "3600 AS INTEGER) * 3600 AND value = p.value AND agent IS new.agent AND status IS"
                " new.status); UPDATE run_metadata_rollup SET tokens_sum = CASE WHEN CASE WHEN "
                "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND "
                "1000000000000 THEN new.total_tokens END IS NULL THEN tokens_sum ELSE "
                "COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
                "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END END, "
                "tokens_n = tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
                "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT "
                "NULL), cost_sum = CASE WHEN CASE WHEN typeof(new.cost_usd) IN ('integer', "
                "'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NULL "
                "THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE WHEN typeof(new.cost_usd) IN "
                "('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd "
                "END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) IN ('integer', "
                "'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NOT "
                "NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN "
                "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN "
                "new.tool_call_count END IS NULL THEN tools_sum ELSE COALESCE(tools_sum, 0) + "
                "CASE WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count "
                "BETWEEN 0 AND 1000000 THEN new.tool_call_count END END, tools_n = tools_n + "
                "(CASE WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count "
                "BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), paused_sum = "
                "CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
                "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL "
                "THEN paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN "
                "typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN"
                " 0 AND 1000000000 THEN new.paused_seconds END END, paused_n = paused_n + (CASE "
                "WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds "
                "BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NOT NULL), duration_n = "
                "duration_n + (CASE WHEN typeof(new.duration) IN ('integer', 'real') AND "
                "new.duration BETWEEN 0 AND 1000000000 THEN new.duration END IS NOT NULL), ttft_n"
                " = ttft_n + (CASE WHEN typeof(new.ttft) IN ('integer', 'real') AND new.ttft "
                "BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT NULL), runs = runs + 1 WHERE "
                "hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND "
                "status IS new.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE "
                "j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN "
                "'false' ELSE CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
                "json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN "
                "new.metadata ELSE '{}' END) j WHERE j.type <> 'null'); END"
            ),
            (
                "CREATE TRIGGER run_metadata_rollup_delete AFTER DELETE ON runs WHEN old.metadata "
                "IS NOT NULL AND old.status IS NOT 'running' BEGIN UPDATE run_metadata_rollup SET "
                "tokens_sum = CASE WHEN tokens_n - (CASE WHEN typeof(old.total_tokens) IN "
                "('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000 THEN "
                "old.total_tokens END IS NOT NULL) = 0 THEN NULL ELSE tokens_sum - COALESCE(CASE "
                "WHEN typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND "
                "1000000000000 THEN old.total_tokens END, 0) END, tokens_n = tokens_n - (CASE "
                "WHEN typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND "
                "1000000000000 THEN old.total_tokens END IS NOT NULL), cost_sum = CASE WHEN "
                "cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd "
                "BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL ELSE "
                "cost_sum - COALESCE(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
                "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END, 0) END, cost_n = "
                "cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd "
                "BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE "
                "WHEN tools_n - (CASE WHEN typeof(old.tool_call_count) IN ('integer') AND "
                "old.tool_call_count BETWEEN 0 AND 1000000 THEN old.tool_call_count END IS NOT "
                "NULL) = 0 THEN NULL ELSE tools_sum - COALESCE(CASE WHEN "
                "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
                "1000000 THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE WHEN "
                "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
                "1000000 THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN "
                "paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
                "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT "
                "NULL) = 0 THEN NULL ELSE paused_sum - COALESCE(CASE WHEN "
                "typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds BETWEEN "
                "0 AND 1000000000 THEN old.paused_seconds END, 0) END, paused_n = paused_n - "
                "(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
                "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT "
                "NULL), duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', "
                "'real') AND old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT "
                "NULL), ttft_n = ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND "
                "old.ttft BETWEEN 0 AND 1000000000 THEN old.ttft END IS NOT NULL), runs = runs - "
                "1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
                "old.agent AND status IS old.status AND (key, value) IN (SELECT DISTINCT j.key AS "
                "key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' "
                "THEN 'false' ELSE CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
                "json_valid(old.metadata) AND json_type(old.metadata) = 'object' THEN "
                "old.metadata ELSE '{}' END) j WHERE j.type <> 'null'); DELETE FROM "
                "run_metadata_rollup WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 "
                "AND agent IS old.agent AND status IS old.status AND (key, value) IN (SELECT "
                "DISTINCT j.key AS key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN "
                "'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END AS value FROM "
                "json_each(CASE WHEN json_valid(old.metadata) AND json_type(old.metadata) = "
                "'object' THEN old.metadata ELSE '{}' END) j WHERE j.type <> 'null') AND runs <= "
                "0; END"
            ),
        ),
    )


@migration
def m019_datasets(db: sqlite3.Connection) -> None:
    # Datasets kept by name, each version once (agentnb.dataset: different rows under a name
    # make its next version), and the dataset and version an experiment ran on. No value of a
    # run changes.
    _each(
        db,
        (
            (
                "CREATE TABLE datasets (name TEXT NOT NULL, version INTEGER NOT NULL, "
                "digest TEXT NOT NULL, rows TEXT NOT NULL, created REAL NOT NULL, "
                "PRIMARY KEY (name, version))"
            ),
            "CREATE UNIQUE INDEX datasets_by_digest ON datasets (name, digest)",
            "ALTER TABLE experiments ADD COLUMN dataset TEXT",
            "ALTER TABLE experiments ADD COLUMN dataset_version INTEGER",
        ),
    )


@migration
def m020_tool_call_ran_by(db: sqlite3.Connection) -> None:
    # "client" for a call a notebook function ran (a client tool); NULL: the platform ran it,
    # or the call was recorded before this column.
    db.execute("ALTER TABLE tool_calls ADD COLUMN ran_by TEXT")


@migration
def m021_unpriced_runs(db: sqlite3.Connection) -> None:
    # A summary tells "no price for the model" (unpriced) from "the run reported no usage":
    # both rollups count the runs with a token count and no cost (unpriced_n), kept by their
    # triggers, remade here, and filled again from the runs. No value of a run changes.
    _each(
        db,
        (
            "ALTER TABLE runs_rollup ADD COLUMN unpriced_n INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE run_metadata_rollup ADD COLUMN unpriced_n INTEGER NOT NULL DEFAULT 0",
            "DROP INDEX run_metadata_rollup_key",
            (
                "CREATE INDEX run_metadata_rollup_key ON run_metadata_rollup (key, hour, value, "
                "agent, status, runs, tokens_sum, tokens_n, cost_sum, cost_n, tools_sum, tools_n, "
                "paused_sum, paused_n, duration_n, ttft_n, unpriced_n)"
            ),
            *_UNPRICED_ROLLUPS,
        ),
    )


@migration
def m022_summaries_from_runs(db: sqlite3.Connection) -> None:
    # summary() groups the runs themselves: the hourly rollups, the triggers that kept them,
    # the quantile order indexes and the side table's copies of each run's figures go. The
    # side table keeps each run's metadata keys (runs(metadata=...)). No value of a run changes.
    _each(
        db,
        (
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
        ),
    )


@migration
def m023_search_reads_the_runs(db: sqlite3.Connection) -> None:
    # The search index reads each run's text from runs (an external-content FTS5 table over
    # the view runs_search_text) instead of holding its own copy of every answer: the file
    # shrinks by that copy, and a run's end writes its answer once. The index holds exactly
    # the runs of the view, those not running; an entry is taken out while the view still
    # shows what it indexed (BEFORE triggers), then put back from the new values. A file
    # whose SQLite lacked FTS5 when m007 ran has no index, and gets none.
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs_search'").fetchone() is None:
        return
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
            "DROP TRIGGER runs_search_insert",
            "DROP TRIGGER runs_search_update",
            "DROP TRIGGER runs_search_reopen",
            "DROP TRIGGER runs_search_delete",
            "DROP TRIGGER runs_search_tools_insert",
            "DROP TRIGGER runs_search_tools_delete",
            "DROP TRIGGER runs_search_tools_update",
            "DROP TABLE runs_search",
            (
                "CREATE VIEW runs_search_text AS SELECT rowid AS id, message, answer, "
                "reasoning, " + tools.format(run="runs") + " AS tools FROM runs WHERE status "
                "IS NOT 'running'"
            ),
            (
                "CREATE VIRTUAL TABLE runs_search USING fts5(message, answer, reasoning, tools, "
                "content = 'runs_search_text', content_rowid = 'id', "
                "tokenize = 'unicode61 remove_diacritics 2')"
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


_GUARDED_SIDE_TABLES = (
    "DROP TRIGGER runs_rollup_insert",
    "DROP TRIGGER runs_rollup_update_old",
    "DROP TRIGGER runs_rollup_update_new",
    "DROP TRIGGER runs_rollup_delete",
    "DELETE FROM runs_rollup",
    (
        "INSERT INTO runs_rollup (hour, agent, model, provider, connection, host, status, "
        "error_code, cost_source, runs, tokens_sum, tokens_n, cost_sum, cost_n, tools_sum, "
        "tools_n, paused_sum, paused_n, duration_n, ttft_n) SELECT CAST(runs.started_at / 3600 AS "
        "INTEGER) * 3600, agent, model, provider, connection, host, status, error_code, "
        "cost_source, COUNT(*), SUM(CASE WHEN typeof(runs.total_tokens) IN ('integer') AND "
        "runs.total_tokens BETWEEN 0 AND 1000000000000 THEN runs.total_tokens END), COUNT(CASE "
        "WHEN typeof(runs.total_tokens) IN ('integer') AND runs.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN runs.total_tokens END), SUM(CASE WHEN typeof(runs.cost_usd) IN "
        "('integer', 'real') AND runs.cost_usd BETWEEN 0 AND 1000000.0 THEN runs.cost_usd END), "
        "COUNT(CASE WHEN typeof(runs.cost_usd) IN ('integer', 'real') AND runs.cost_usd BETWEEN 0 "
        "AND 1000000.0 THEN runs.cost_usd END), SUM(CASE WHEN typeof(runs.tool_call_count) IN "
        "('integer') AND runs.tool_call_count BETWEEN 0 AND 1000000 THEN runs.tool_call_count "
        "END), COUNT(CASE WHEN typeof(runs.tool_call_count) IN ('integer') AND "
        "runs.tool_call_count BETWEEN 0 AND 1000000 THEN runs.tool_call_count END), SUM(CASE WHEN "
        "typeof(runs.paused_seconds) IN ('integer', 'real') AND runs.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN runs.paused_seconds END), COUNT(CASE WHEN typeof(runs.paused_seconds) IN "
        "('integer', 'real') AND runs.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "runs.paused_seconds END), COUNT(CASE WHEN typeof(runs.duration) IN ('integer', 'real') "
        "AND runs.duration BETWEEN 0 AND 1000000000 THEN runs.duration END), COUNT(CASE WHEN "
        "typeof(runs.ttft) IN ('integer', 'real') AND runs.ttft BETWEEN 0 AND 1000000000 THEN "
        "runs.ttft END) FROM runs WHERE runs.status IS NOT 'running' GROUP BY 1, agent, model, "
        "provider, connection, host, status, error_code, cost_source"
    ),
    (
        "CREATE TRIGGER runs_rollup_insert AFTER INSERT ON runs WHEN new.status IS NOT 'running' "
        "BEGIN INSERT INTO runs_rollup (hour, agent, model, provider, connection, host, status, "
        "error_code, cost_source) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, "
        "new.agent, new.model, new.provider, new.connection, new.host, new.status, "
        "new.error_code, new.cost_source WHERE NOT EXISTS (SELECT 1 FROM runs_rollup WHERE hour = "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND model IS "
        "new.model AND provider IS new.provider AND connection IS new.connection AND host IS "
        "new.host AND status IS new.status AND error_code IS new.error_code AND cost_source IS "
        "new.cost_source); UPDATE runs_rollup SET tokens_sum = CASE WHEN CASE WHEN "
        "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN new.total_tokens END IS NULL THEN tokens_sum ELSE COALESCE(tokens_sum, 0) + CASE "
        "WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN new.total_tokens END END, tokens_n = tokens_n + (CASE WHEN "
        "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN new.total_tokens END IS NOT NULL), cost_sum = CASE WHEN CASE WHEN "
        "typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN new.cost_usd END IS NULL THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE WHEN "
        "typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN new.cost_usd END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) IN "
        "('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS "
        "NOT NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN ('integer') "
        "AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NULL THEN "
        "tools_sum ELSE COALESCE(tools_sum, 0) + CASE WHEN typeof(new.tool_call_count) IN "
        "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END "
        "END, tools_n = tools_n + (CASE WHEN typeof(new.tool_call_count) IN ('integer') AND "
        "new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), "
        "paused_sum = CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
        "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL THEN "
        "paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN typeof(new.paused_seconds) IN "
        "('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END END, paused_n = paused_n + (CASE WHEN typeof(new.paused_seconds) "
        "IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE WHEN "
        "typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND 1000000000 "
        "THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN typeof(new.ttft) IN "
        "('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT "
        "NULL), runs = runs + 1 WHERE hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND "
        "agent IS new.agent AND model IS new.model AND provider IS new.provider AND connection IS "
        "new.connection AND host IS new.host AND status IS new.status AND error_code IS "
        "new.error_code AND cost_source IS new.cost_source; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_update_old AFTER UPDATE OF agent, model, provider, "
        "connection, host, status, error_code, cost_source, started_at, total_tokens, cost_usd, "
        "tool_call_count, paused_seconds, duration, ttft ON runs WHEN old.status IS NOT 'running' "
        "AND (old.agent IS NOT new.agent OR old.model IS NOT new.model OR old.provider IS NOT "
        "new.provider OR old.connection IS NOT new.connection OR old.host IS NOT new.host OR "
        "old.status IS NOT new.status OR old.error_code IS NOT new.error_code OR old.cost_source "
        "IS NOT new.cost_source OR old.started_at IS NOT new.started_at OR old.total_tokens IS "
        "NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN UPDATE runs_rollup SET tokens_sum = "
        "CASE WHEN tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL) = 0 "
        "THEN NULL ELSE tokens_sum - COALESCE(CASE WHEN typeof(old.total_tokens) IN ('integer') "
        "AND old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END, 0) END, "
        "tokens_n = tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
        "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL "
        "ELSE cost_sum - COALESCE(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
        "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END, 0) END, cost_n = cost_n - "
        "(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN old.tool_call_count END IS NOT NULL) = 0 THEN NULL ELSE tools_sum - COALESCE(CASE "
        "WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - (CASE WHEN "
        "typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE paused_sum - "
        "COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), runs = runs - 1 WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model IS "
        "old.model AND provider IS old.provider AND connection IS old.connection AND host IS "
        "old.host AND status IS old.status AND error_code IS old.error_code AND cost_source IS "
        "old.cost_source; DELETE FROM runs_rollup WHERE hour = CAST(old.started_at / 3600 AS "
        "INTEGER) * 3600 AND agent IS old.agent AND model IS old.model AND provider IS "
        "old.provider AND connection IS old.connection AND host IS old.host AND status IS "
        "old.status AND error_code IS old.error_code AND cost_source IS old.cost_source AND runs "
        "<= 0; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_update_new AFTER UPDATE OF agent, model, provider, "
        "connection, host, status, error_code, cost_source, started_at, total_tokens, cost_usd, "
        "tool_call_count, paused_seconds, duration, ttft ON runs WHEN new.status IS NOT 'running' "
        "AND (old.agent IS NOT new.agent OR old.model IS NOT new.model OR old.provider IS NOT "
        "new.provider OR old.connection IS NOT new.connection OR old.host IS NOT new.host OR "
        "old.status IS NOT new.status OR old.error_code IS NOT new.error_code OR old.cost_source "
        "IS NOT new.cost_source OR old.started_at IS NOT new.started_at OR old.total_tokens IS "
        "NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN INSERT INTO runs_rollup (hour, "
        "agent, model, provider, connection, host, status, error_code, cost_source) SELECT "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600, new.agent, new.model, new.provider, "
        "new.connection, new.host, new.status, new.error_code, new.cost_source WHERE NOT EXISTS "
        "(SELECT 1 FROM runs_rollup WHERE hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 "
        "AND agent IS new.agent AND model IS new.model AND provider IS new.provider AND "
        "connection IS new.connection AND host IS new.host AND status IS new.status AND "
        "error_code IS new.error_code AND cost_source IS new.cost_source); UPDATE runs_rollup SET "
        "tokens_sum = CASE WHEN CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NULL THEN "
        "tokens_sum ELSE COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN "
        "('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END "
        "END, tokens_n = tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NULL THEN cost_sum ELSE "
        "COALESCE(cost_sum, 0) + CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END END, cost_n = cost_n + (CASE "
        "WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NOT NULL), tools_sum = CASE WHEN CASE WHEN "
        "typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN new.tool_call_count END IS NULL THEN tools_sum ELSE COALESCE(tools_sum, 0) + CASE "
        "WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND "
        "1000000 THEN new.tool_call_count END END, tools_n = tools_n + (CASE WHEN "
        "typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN new.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN CASE WHEN "
        "typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN new.paused_seconds END IS NULL THEN paused_sum ELSE COALESCE(paused_sum, "
        "0) + CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds "
        "BETWEEN 0 AND 1000000000 THEN new.paused_seconds END END, paused_n = paused_n + (CASE "
        "WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 "
        "AND 1000000000 THEN new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE "
        "WHEN typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND "
        "1000000000 THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN "
        "typeof(new.ttft) IN ('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN "
        "new.ttft END IS NOT NULL), runs = runs + 1 WHERE hour = CAST(new.started_at / 3600 AS "
        "INTEGER) * 3600 AND agent IS new.agent AND model IS new.model AND provider IS "
        "new.provider AND connection IS new.connection AND host IS new.host AND status IS "
        "new.status AND error_code IS new.error_code AND cost_source IS new.cost_source; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_delete AFTER DELETE ON runs WHEN old.status IS NOT 'running' "
        "BEGIN UPDATE runs_rollup SET tokens_sum = CASE WHEN tokens_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN old.total_tokens END IS NOT NULL) = 0 THEN NULL ELSE tokens_sum - COALESCE(CASE "
        "WHEN typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN old.total_tokens END, 0) END, tokens_n = tokens_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN old.total_tokens END IS NOT NULL), cost_sum = CASE WHEN cost_n - (CASE WHEN "
        "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL ELSE cost_sum - COALESCE(CASE WHEN "
        "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN old.cost_usd END, 0) END, cost_n = cost_n - (CASE WHEN typeof(old.cost_usd) IN "
        "('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS "
        "NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN typeof(old.tool_call_count) IN "
        "('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 THEN old.tool_call_count END "
        "IS NOT NULL) = 0 THEN NULL ELSE tools_sum - COALESCE(CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - (CASE WHEN "
        "typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE paused_sum - "
        "COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), runs = runs - 1 WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model IS "
        "old.model AND provider IS old.provider AND connection IS old.connection AND host IS "
        "old.host AND status IS old.status AND error_code IS old.error_code AND cost_source IS "
        "old.cost_source; DELETE FROM runs_rollup WHERE hour = CAST(old.started_at / 3600 AS "
        "INTEGER) * 3600 AND agent IS old.agent AND model IS old.model AND provider IS "
        "old.provider AND connection IS old.connection AND host IS old.host AND status IS "
        "old.status AND error_code IS old.error_code AND cost_source IS old.cost_source AND runs "
        "<= 0; END"
    ),
    "DROP TRIGGER run_metadata_insert",
    "DROP TRIGGER run_metadata_update",
    "DELETE FROM run_metadata",
    (
        "INSERT OR REPLACE INTO run_metadata (key, value, local_id, status, started_at, agent, "
        "total_tokens, cost_usd, tool_call_count, paused_seconds, duration, ttft) SELECT j.key, "
        "CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "ELSE CAST(j.value AS TEXT) END, runs.local_id, runs.status, runs.started_at, runs.agent, "
        "CASE WHEN typeof(runs.total_tokens) IN ('integer') AND runs.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN runs.total_tokens END, CASE WHEN typeof(runs.cost_usd) IN ('integer', "
        "'real') AND runs.cost_usd BETWEEN 0 AND 1000000.0 THEN runs.cost_usd END, CASE WHEN "
        "typeof(runs.tool_call_count) IN ('integer') AND runs.tool_call_count BETWEEN 0 AND "
        "1000000 THEN runs.tool_call_count END, CASE WHEN typeof(runs.paused_seconds) IN "
        "('integer', 'real') AND runs.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "runs.paused_seconds END, CASE WHEN typeof(runs.duration) IN ('integer', 'real') AND "
        "runs.duration BETWEEN 0 AND 1000000000 THEN runs.duration END, CASE WHEN "
        "typeof(runs.ttft) IN ('integer', 'real') AND runs.ttft BETWEEN 0 AND 1000000000 THEN "
        "runs.ttft END FROM runs, json_each(CASE WHEN json_valid(runs.metadata) AND "
        "json_type(runs.metadata) = 'object' THEN runs.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null'"
    ),
    (
        "CREATE TRIGGER run_metadata_insert AFTER INSERT ON runs WHEN new.metadata IS NOT NULL "
        "BEGIN INSERT OR REPLACE INTO run_metadata (key, value, local_id, status, started_at, "
        "agent, total_tokens, cost_usd, tool_call_count, paused_seconds, duration, ttft) SELECT "
        "j.key, CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN "
        "'false' ELSE CAST(j.value AS TEXT) END, new.local_id, new.status, new.started_at, "
        "new.agent, CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens "
        "BETWEEN 0 AND 1000000000000 THEN new.total_tokens END, CASE WHEN typeof(new.cost_usd) IN "
        "('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END, CASE "
        "WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND "
        "1000000 THEN new.tool_call_count END, CASE WHEN typeof(new.paused_seconds) IN "
        "('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END, CASE WHEN typeof(new.duration) IN ('integer', 'real') AND "
        "new.duration BETWEEN 0 AND 1000000000 THEN new.duration END, CASE WHEN typeof(new.ttft) "
        "IN ('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END FROM "
        "json_each(CASE WHEN json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN "
        "new.metadata ELSE '{}' END) j WHERE j.type <> 'null'; END"
    ),
    (
        "CREATE TRIGGER run_metadata_update AFTER UPDATE OF metadata, local_id, status, "
        "started_at, agent, total_tokens, cost_usd, tool_call_count, paused_seconds, duration, "
        "ttft ON runs WHEN old.local_id IS NOT new.local_id OR (new.metadata IS NOT NULL AND "
        "(old.metadata IS NOT new.metadata OR old.status IS NOT new.status OR old.started_at IS "
        "NOT new.started_at OR old.agent IS NOT new.agent OR old.total_tokens IS NOT "
        "new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft)) OR old.metadata IS NOT new.metadata BEGIN "
        "DELETE FROM run_metadata WHERE local_id = old.local_id; INSERT OR REPLACE INTO "
        "run_metadata (key, value, local_id, status, started_at, agent, total_tokens, cost_usd, "
        "tool_call_count, paused_seconds, duration, ttft) SELECT j.key, CASE j.type WHEN 'text' "
        "THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END, new.local_id, new.status, new.started_at, new.agent, CASE WHEN "
        "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN new.total_tokens END, CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END, CASE WHEN "
        "typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN new.tool_call_count END, CASE WHEN typeof(new.paused_seconds) IN ('integer', "
        "'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END, "
        "CASE WHEN typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND "
        "1000000000 THEN new.duration END, CASE WHEN typeof(new.ttft) IN ('integer', 'real') AND "
        "new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END FROM json_each(CASE WHEN "
        "json_valid(new.metadata) AND json_type(new.metadata) = 'object' THEN new.metadata ELSE "
        "'{}' END) j WHERE j.type <> 'null'; END"
    ),
)
"""The triggers that keep the side tables counting sane figures only, and their refill
from the runs (``m017``)."""
_UNPRICED_ROLLUPS = (
    "DROP TRIGGER runs_rollup_insert",
    "DROP TRIGGER runs_rollup_update_old",
    "DROP TRIGGER runs_rollup_update_new",
    "DROP TRIGGER runs_rollup_delete",
    "DROP TRIGGER run_metadata_rollup_insert",
    "DROP TRIGGER run_metadata_rollup_update_old",
    "DROP TRIGGER run_metadata_rollup_update_new",
    "DROP TRIGGER run_metadata_rollup_delete",
    (
        "CREATE TRIGGER runs_rollup_insert AFTER INSERT ON runs WHEN new.status IS NOT 'running' "
        "BEGIN INSERT INTO runs_rollup (hour, agent, model, provider, connection, host, status, "
        "error_code, cost_source) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, "
        "new.agent, new.model, new.provider, new.connection, new.host, new.status, "
        "new.error_code, new.cost_source WHERE NOT EXISTS (SELECT 1 FROM runs_rollup WHERE hour ="
        " CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND model IS "
        "new.model AND provider IS new.provider AND connection IS new.connection AND host IS "
        "new.host AND status IS new.status AND error_code IS new.error_code AND cost_source IS "
        "new.cost_source); UPDATE runs_rollup SET tokens_sum = CASE WHEN CASE WHEN "
        "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN new.total_tokens END IS NULL THEN tokens_sum ELSE COALESCE(tokens_sum, 0) + CASE "
        "WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN new.total_tokens END END, tokens_n = tokens_n + (CASE WHEN "
        "typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN new.total_tokens END IS NOT NULL), cost_sum = CASE WHEN CASE WHEN "
        "typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN new.cost_usd END IS NULL THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE WHEN "
        "typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN new.cost_usd END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) IN "
        "('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS "
        "NOT NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN ('integer') "
        "AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NULL THEN "
        "tools_sum ELSE COALESCE(tools_sum, 0) + CASE WHEN typeof(new.tool_call_count) IN "
        "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END "
        "END, tools_n = tools_n + (CASE WHEN typeof(new.tool_call_count) IN ('integer') AND "
        "new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), "
        "paused_sum = CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
        "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL THEN "
        "paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN typeof(new.paused_seconds) IN "
        "('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END END, paused_n = paused_n + (CASE WHEN typeof(new.paused_seconds) "
        "IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE WHEN "
        "typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND 1000000000 "
        "THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN typeof(new.ttft) IN "
        "('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT "
        "NULL), unpriced_n = unpriced_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL AND "
        "CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NULL), runs = runs + 1 WHERE hour = "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND model IS "
        "new.model AND provider IS new.provider AND connection IS new.connection AND host IS "
        "new.host AND status IS new.status AND error_code IS new.error_code AND cost_source IS "
        "new.cost_source; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_update_old AFTER UPDATE OF agent, model, provider, "
        "connection, host, status, error_code, cost_source, started_at, total_tokens, cost_usd, "
        "tool_call_count, paused_seconds, duration, ttft ON runs WHEN old.status IS NOT 'running'"
        " AND (old.agent IS NOT new.agent OR old.model IS NOT new.model OR old.provider IS NOT "
        "new.provider OR old.connection IS NOT new.connection OR old.host IS NOT new.host OR "
        "old.status IS NOT new.status OR old.error_code IS NOT new.error_code OR old.cost_source "
        "IS NOT new.cost_source OR old.started_at IS NOT new.started_at OR old.total_tokens IS "
        "NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN UPDATE runs_rollup SET tokens_sum = "
        "CASE WHEN tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL) = 0 "
        "THEN NULL ELSE tokens_sum - COALESCE(CASE WHEN typeof(old.total_tokens) IN ('integer') "
        "AND old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END, 0) END, "
        "tokens_n = tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND"
        " old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL "
        "ELSE cost_sum - COALESCE(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
        "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END, 0) END, cost_n = cost_n - "
        "(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN"
        " typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL) = 0 THEN NULL ELSE tools_sum - "
        "COALESCE(CASE WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count "
        "BETWEEN 0 AND 1000000 THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE "
        "WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - "
        "(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds "
        "BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE "
        "paused_sum - COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), unpriced_n = unpriced_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL AND CASE WHEN typeof(old.cost_usd) IN ('integer',"
        " 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NULL), runs ="
        " runs - 1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
        "old.agent AND model IS old.model AND provider IS old.provider AND connection IS "
        "old.connection AND host IS old.host AND status IS old.status AND error_code IS "
        "old.error_code AND cost_source IS old.cost_source; DELETE FROM runs_rollup WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model IS "
        "old.model AND provider IS old.provider AND connection IS old.connection AND host IS "
        "old.host AND status IS old.status AND error_code IS old.error_code AND cost_source IS "
        "old.cost_source AND runs <= 0; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_update_new AFTER UPDATE OF agent, model, provider, "
        "connection, host, status, error_code, cost_source, started_at, total_tokens, cost_usd, "
        "tool_call_count, paused_seconds, duration, ttft ON runs WHEN new.status IS NOT 'running'"
        " AND (old.agent IS NOT new.agent OR old.model IS NOT new.model OR old.provider IS NOT "
        "new.provider OR old.connection IS NOT new.connection OR old.host IS NOT new.host OR "
        "old.status IS NOT new.status OR old.error_code IS NOT new.error_code OR old.cost_source "
        "IS NOT new.cost_source OR old.started_at IS NOT new.started_at OR old.total_tokens IS "
        "NOT new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN INSERT INTO runs_rollup (hour, "
        "agent, model, provider, connection, host, status, error_code, cost_source) SELECT "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600, new.agent, new.model, new.provider, "
        "new.connection, new.host, new.status, new.error_code, new.cost_source WHERE NOT EXISTS "
        "(SELECT 1 FROM runs_rollup WHERE hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 "
        "AND agent IS new.agent AND model IS new.model AND provider IS new.provider AND "
        "connection IS new.connection AND host IS new.host AND status IS new.status AND "
        "error_code IS new.error_code AND cost_source IS new.cost_source); UPDATE runs_rollup SET"
        " tokens_sum = CASE WHEN CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NULL THEN "
        "tokens_sum ELSE COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN "
        "('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END "
        "END, tokens_n = tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NULL THEN cost_sum ELSE "
        "COALESCE(cost_sum, 0) + CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END END, cost_n = cost_n + (CASE "
        "WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NOT NULL), tools_sum = CASE WHEN CASE WHEN "
        "typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND 1000000"
        " THEN new.tool_call_count END IS NULL THEN tools_sum ELSE COALESCE(tools_sum, 0) + CASE "
        "WHEN typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND "
        "1000000 THEN new.tool_call_count END END, tools_n = tools_n + (CASE WHEN "
        "typeof(new.tool_call_count) IN ('integer') AND new.tool_call_count BETWEEN 0 AND 1000000"
        " THEN new.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN CASE WHEN "
        "typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN new.paused_seconds END IS NULL THEN paused_sum ELSE COALESCE(paused_sum,"
        " 0) + CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds"
        " BETWEEN 0 AND 1000000000 THEN new.paused_seconds END END, paused_n = paused_n + (CASE "
        "WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 "
        "AND 1000000000 THEN new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE"
        " WHEN typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND "
        "1000000000 THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN "
        "typeof(new.ttft) IN ('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN "
        "new.ttft END IS NOT NULL), unpriced_n = unpriced_n + (CASE WHEN typeof(new.total_tokens)"
        " IN ('integer') AND new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens "
        "END IS NOT NULL AND CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND "
        "new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS NULL), runs = runs + 1 "
        "WHERE hour = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND "
        "model IS new.model AND provider IS new.provider AND connection IS new.connection AND "
        "host IS new.host AND status IS new.status AND error_code IS new.error_code AND "
        "cost_source IS new.cost_source; END"
    ),
    (
        "CREATE TRIGGER runs_rollup_delete AFTER DELETE ON runs WHEN old.status IS NOT 'running' "
        "BEGIN UPDATE runs_rollup SET tokens_sum = CASE WHEN tokens_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL) = 0 THEN NULL ELSE tokens_sum - COALESCE(CASE "
        "WHEN typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND "
        "1000000000000 THEN old.total_tokens END, 0) END, tokens_n = tokens_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL), cost_sum = CASE WHEN cost_n - (CASE WHEN "
        "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL ELSE cost_sum - COALESCE(CASE WHEN "
        "typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN old.cost_usd END, 0) END, cost_n = cost_n - (CASE WHEN typeof(old.cost_usd) IN "
        "('integer', 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS "
        "NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN typeof(old.tool_call_count) IN "
        "('integer') AND old.tool_call_count BETWEEN 0 AND 1000000 THEN old.tool_call_count END "
        "IS NOT NULL) = 0 THEN NULL ELSE tools_sum - COALESCE(CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000"
        " THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE WHEN "
        "typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND 1000000"
        " THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - (CASE WHEN"
        " typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds BETWEEN 0 AND "
        "1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE paused_sum - "
        "COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), unpriced_n = unpriced_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL AND CASE WHEN typeof(old.cost_usd) IN ('integer',"
        " 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NULL), runs ="
        " runs - 1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
        "old.agent AND model IS old.model AND provider IS old.provider AND connection IS "
        "old.connection AND host IS old.host AND status IS old.status AND error_code IS "
        "old.error_code AND cost_source IS old.cost_source; DELETE FROM runs_rollup WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND model IS "
        "old.model AND provider IS old.provider AND connection IS old.connection AND host IS "
        "old.host AND status IS old.status AND error_code IS old.error_code AND cost_source IS "
        "old.cost_source AND runs <= 0; END"
    ),
    (
        "CREATE TRIGGER run_metadata_rollup_insert AFTER INSERT ON runs WHEN new.metadata IS NOT "
        "NULL AND new.status IS NOT 'running' BEGIN INSERT INTO run_metadata_rollup (hour, key, "
        "value, agent, status) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, p.key, "
        "p.value, new.agent, new.status FROM (SELECT DISTINCT j.key AS key, CASE j.type WHEN "
        "'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value "
        "AS TEXT) END AS value FROM json_each(CASE WHEN json_valid(new.metadata) AND "
        "json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null') p WHERE NOT EXISTS (SELECT 1 FROM run_metadata_rollup WHERE key = p.key AND hour"
        " = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND value = p.value AND agent IS "
        "new.agent AND status IS new.status); UPDATE run_metadata_rollup SET tokens_sum = CASE "
        "WHEN CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 "
        "AND 1000000000000 THEN new.total_tokens END IS NULL THEN tokens_sum ELSE "
        "COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END END, tokens_n = "
        "tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens "
        "BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL), cost_sum = CASE WHEN"
        " CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NULL THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE "
        "WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) "
        "IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS"
        " NOT NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN ('integer') "
        "AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NULL THEN "
        "tools_sum ELSE COALESCE(tools_sum, 0) + CASE WHEN typeof(new.tool_call_count) IN "
        "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END "
        "END, tools_n = tools_n + (CASE WHEN typeof(new.tool_call_count) IN ('integer') AND "
        "new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), "
        "paused_sum = CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
        "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL THEN "
        "paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN typeof(new.paused_seconds) IN "
        "('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END END, paused_n = paused_n + (CASE WHEN typeof(new.paused_seconds) "
        "IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE WHEN "
        "typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND 1000000000 "
        "THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN typeof(new.ttft) IN "
        "('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT "
        "NULL), unpriced_n = unpriced_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL AND "
        "CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NULL), runs = runs + 1 WHERE hour = "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND status IS "
        "new.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type WHEN 'text' "
        "THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END AS value FROM json_each(CASE WHEN json_valid(new.metadata) AND "
        "json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null'); END"
    ),
    (
        "CREATE TRIGGER run_metadata_rollup_update_old AFTER UPDATE OF metadata, status, "
        "started_at, agent, total_tokens, cost_usd, tool_call_count, paused_seconds, duration, "
        "ttft ON runs WHEN old.metadata IS NOT NULL AND old.status IS NOT 'running' AND "
        "(old.metadata IS NOT new.metadata OR old.status IS NOT new.status OR old.started_at IS "
        "NOT new.started_at OR old.agent IS NOT new.agent OR old.total_tokens IS NOT "
        "new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN UPDATE run_metadata_rollup SET "
        "tokens_sum = CASE WHEN tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND"
        " old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL) = 0"
        " THEN NULL ELSE tokens_sum - COALESCE(CASE WHEN typeof(old.total_tokens) IN ('integer') "
        "AND old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END, 0) END, "
        "tokens_n = tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND"
        " old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL "
        "ELSE cost_sum - COALESCE(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
        "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END, 0) END, cost_n = cost_n - "
        "(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN"
        " typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL) = 0 THEN NULL ELSE tools_sum - "
        "COALESCE(CASE WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count "
        "BETWEEN 0 AND 1000000 THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE "
        "WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - "
        "(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds "
        "BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE "
        "paused_sum - COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), unpriced_n = unpriced_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL AND CASE WHEN typeof(old.cost_usd) IN ('integer',"
        " 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NULL), runs ="
        " runs - 1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
        "old.agent AND status IS old.status AND (key, value) IN (SELECT DISTINCT j.key AS key, "
        "CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "ELSE CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
        "json_valid(old.metadata) AND json_type(old.metadata) = 'object' THEN old.metadata ELSE "
        "'{}' END) j WHERE j.type <> 'null'); DELETE FROM run_metadata_rollup WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND status IS "
        "old.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type WHEN 'text' "
        "THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END AS value FROM json_each(CASE WHEN json_valid(old.metadata) AND "
        "json_type(old.metadata) = 'object' THEN old.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null') AND runs <= 0; END"
    ),
    (
        "CREATE TRIGGER run_metadata_rollup_update_new AFTER UPDATE OF metadata, status, "
        "started_at, agent, total_tokens, cost_usd, tool_call_count, paused_seconds, duration, "
        "ttft ON runs WHEN new.metadata IS NOT NULL AND new.status IS NOT 'running' AND "
        "(old.metadata IS NOT new.metadata OR old.status IS NOT new.status OR old.started_at IS "
        "NOT new.started_at OR old.agent IS NOT new.agent OR old.total_tokens IS NOT "
        "new.total_tokens OR old.cost_usd IS NOT new.cost_usd OR old.tool_call_count IS NOT "
        "new.tool_call_count OR old.paused_seconds IS NOT new.paused_seconds OR old.duration IS "
        "NOT new.duration OR old.ttft IS NOT new.ttft) BEGIN INSERT INTO run_metadata_rollup "
        "(hour, key, value, agent, status) SELECT CAST(new.started_at / 3600 AS INTEGER) * 3600, "
        "p.key, p.value, new.agent, new.status FROM (SELECT DISTINCT j.key AS key, CASE j.type "
        "WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE "
        "CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN json_valid(new.metadata) AND"
        " json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null') p WHERE NOT EXISTS (SELECT 1 FROM run_metadata_rollup WHERE key = p.key AND hour"
        " = CAST(new.started_at / 3600 AS INTEGER) * 3600 AND value = p.value AND agent IS "
        "new.agent AND status IS new.status); UPDATE run_metadata_rollup SET tokens_sum = CASE "
        "WHEN CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens BETWEEN 0 "
        "AND 1000000000000 THEN new.total_tokens END IS NULL THEN tokens_sum ELSE "
        "COALESCE(tokens_sum, 0) + CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END END, tokens_n = "
        "tokens_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND new.total_tokens "
        "BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL), cost_sum = CASE WHEN"
        " CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NULL THEN cost_sum ELSE COALESCE(cost_sum, 0) + CASE "
        "WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END END, cost_n = cost_n + (CASE WHEN typeof(new.cost_usd) "
        "IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND 1000000.0 THEN new.cost_usd END IS"
        " NOT NULL), tools_sum = CASE WHEN CASE WHEN typeof(new.tool_call_count) IN ('integer') "
        "AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NULL THEN "
        "tools_sum ELSE COALESCE(tools_sum, 0) + CASE WHEN typeof(new.tool_call_count) IN "
        "('integer') AND new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END "
        "END, tools_n = tools_n + (CASE WHEN typeof(new.tool_call_count) IN ('integer') AND "
        "new.tool_call_count BETWEEN 0 AND 1000000 THEN new.tool_call_count END IS NOT NULL), "
        "paused_sum = CASE WHEN CASE WHEN typeof(new.paused_seconds) IN ('integer', 'real') AND "
        "new.paused_seconds BETWEEN 0 AND 1000000000 THEN new.paused_seconds END IS NULL THEN "
        "paused_sum ELSE COALESCE(paused_sum, 0) + CASE WHEN typeof(new.paused_seconds) IN "
        "('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END END, paused_n = paused_n + (CASE WHEN typeof(new.paused_seconds) "
        "IN ('integer', 'real') AND new.paused_seconds BETWEEN 0 AND 1000000000 THEN "
        "new.paused_seconds END IS NOT NULL), duration_n = duration_n + (CASE WHEN "
        "typeof(new.duration) IN ('integer', 'real') AND new.duration BETWEEN 0 AND 1000000000 "
        "THEN new.duration END IS NOT NULL), ttft_n = ttft_n + (CASE WHEN typeof(new.ttft) IN "
        "('integer', 'real') AND new.ttft BETWEEN 0 AND 1000000000 THEN new.ttft END IS NOT "
        "NULL), unpriced_n = unpriced_n + (CASE WHEN typeof(new.total_tokens) IN ('integer') AND "
        "new.total_tokens BETWEEN 0 AND 1000000000000 THEN new.total_tokens END IS NOT NULL AND "
        "CASE WHEN typeof(new.cost_usd) IN ('integer', 'real') AND new.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN new.cost_usd END IS NULL), runs = runs + 1 WHERE hour = "
        "CAST(new.started_at / 3600 AS INTEGER) * 3600 AND agent IS new.agent AND status IS "
        "new.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type WHEN 'text' "
        "THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END AS value FROM json_each(CASE WHEN json_valid(new.metadata) AND "
        "json_type(new.metadata) = 'object' THEN new.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null'); END"
    ),
    (
        "CREATE TRIGGER run_metadata_rollup_delete AFTER DELETE ON runs WHEN old.metadata IS NOT "
        "NULL AND old.status IS NOT 'running' BEGIN UPDATE run_metadata_rollup SET tokens_sum = "
        "CASE WHEN tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL) = 0 "
        "THEN NULL ELSE tokens_sum - COALESCE(CASE WHEN typeof(old.total_tokens) IN ('integer') "
        "AND old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END, 0) END, "
        "tokens_n = tokens_n - (CASE WHEN typeof(old.total_tokens) IN ('integer') AND "
        "old.total_tokens BETWEEN 0 AND 1000000000000 THEN old.total_tokens END IS NOT NULL), "
        "cost_sum = CASE WHEN cost_n - (CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND"
        " old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NOT NULL) = 0 THEN NULL "
        "ELSE cost_sum - COALESCE(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND "
        "old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END, 0) END, cost_n = cost_n - "
        "(CASE WHEN typeof(old.cost_usd) IN ('integer', 'real') AND old.cost_usd BETWEEN 0 AND "
        "1000000.0 THEN old.cost_usd END IS NOT NULL), tools_sum = CASE WHEN tools_n - (CASE WHEN"
        " typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL) = 0 THEN NULL ELSE tools_sum - "
        "COALESCE(CASE WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count "
        "BETWEEN 0 AND 1000000 THEN old.tool_call_count END, 0) END, tools_n = tools_n - (CASE "
        "WHEN typeof(old.tool_call_count) IN ('integer') AND old.tool_call_count BETWEEN 0 AND "
        "1000000 THEN old.tool_call_count END IS NOT NULL), paused_sum = CASE WHEN paused_n - "
        "(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND old.paused_seconds "
        "BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL) = 0 THEN NULL ELSE "
        "paused_sum - COALESCE(CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END, 0) END, "
        "paused_n = paused_n - (CASE WHEN typeof(old.paused_seconds) IN ('integer', 'real') AND "
        "old.paused_seconds BETWEEN 0 AND 1000000000 THEN old.paused_seconds END IS NOT NULL), "
        "duration_n = duration_n - (CASE WHEN typeof(old.duration) IN ('integer', 'real') AND "
        "old.duration BETWEEN 0 AND 1000000000 THEN old.duration END IS NOT NULL), ttft_n = "
        "ttft_n - (CASE WHEN typeof(old.ttft) IN ('integer', 'real') AND old.ttft BETWEEN 0 AND "
        "1000000000 THEN old.ttft END IS NOT NULL), unpriced_n = unpriced_n - (CASE WHEN "
        "typeof(old.total_tokens) IN ('integer') AND old.total_tokens BETWEEN 0 AND 1000000000000"
        " THEN old.total_tokens END IS NOT NULL AND CASE WHEN typeof(old.cost_usd) IN ('integer',"
        " 'real') AND old.cost_usd BETWEEN 0 AND 1000000.0 THEN old.cost_usd END IS NULL), runs ="
        " runs - 1 WHERE hour = CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS "
        "old.agent AND status IS old.status AND (key, value) IN (SELECT DISTINCT j.key AS key, "
        "CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "ELSE CAST(j.value AS TEXT) END AS value FROM json_each(CASE WHEN "
        "json_valid(old.metadata) AND json_type(old.metadata) = 'object' THEN old.metadata ELSE "
        "'{}' END) j WHERE j.type <> 'null'); DELETE FROM run_metadata_rollup WHERE hour = "
        "CAST(old.started_at / 3600 AS INTEGER) * 3600 AND agent IS old.agent AND status IS "
        "old.status AND (key, value) IN (SELECT DISTINCT j.key AS key, CASE j.type WHEN 'text' "
        "THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS "
        "TEXT) END AS value FROM json_each(CASE WHEN json_valid(old.metadata) AND "
        "json_type(old.metadata) = 'object' THEN old.metadata ELSE '{}' END) j WHERE j.type <> "
        "'null') AND runs <= 0; END"
    ),
    "DELETE FROM runs_rollup",
    (
        "INSERT INTO runs_rollup (hour, agent, model, provider, connection, host, status, "
        "error_code, cost_source, runs, tokens_sum, tokens_n, cost_sum, cost_n, tools_sum, "
        "tools_n, paused_sum, paused_n, duration_n, ttft_n, unpriced_n) SELECT "
        "CAST(runs.started_at / 3600 AS INTEGER) * 3600, agent, model, provider, connection, "
        "host, status, error_code, cost_source, COUNT(*), SUM(CASE WHEN typeof(runs.total_tokens)"
        " IN ('integer') AND runs.total_tokens BETWEEN 0 AND 1000000000000 THEN runs.total_tokens"
        " END), COUNT(CASE WHEN typeof(runs.total_tokens) IN ('integer') AND runs.total_tokens "
        "BETWEEN 0 AND 1000000000000 THEN runs.total_tokens END), SUM(CASE WHEN "
        "typeof(runs.cost_usd) IN ('integer', 'real') AND runs.cost_usd BETWEEN 0 AND 1000000.0 "
        "THEN runs.cost_usd END), COUNT(CASE WHEN typeof(runs.cost_usd) IN ('integer', 'real') "
        "AND runs.cost_usd BETWEEN 0 AND 1000000.0 THEN runs.cost_usd END), SUM(CASE WHEN "
        "typeof(runs.tool_call_count) IN ('integer') AND runs.tool_call_count BETWEEN 0 AND "
        "1000000 THEN runs.tool_call_count END), COUNT(CASE WHEN typeof(runs.tool_call_count) IN "
        "('integer') AND runs.tool_call_count BETWEEN 0 AND 1000000 THEN runs.tool_call_count "
        "END), SUM(CASE WHEN typeof(runs.paused_seconds) IN ('integer', 'real') AND "
        "runs.paused_seconds BETWEEN 0 AND 1000000000 THEN runs.paused_seconds END), COUNT(CASE "
        "WHEN typeof(runs.paused_seconds) IN ('integer', 'real') AND runs.paused_seconds BETWEEN "
        "0 AND 1000000000 THEN runs.paused_seconds END), COUNT(CASE WHEN typeof(runs.duration) IN"
        " ('integer', 'real') AND runs.duration BETWEEN 0 AND 1000000000 THEN runs.duration END),"
        " COUNT(CASE WHEN typeof(runs.ttft) IN ('integer', 'real') AND runs.ttft BETWEEN 0 AND "
        "1000000000 THEN runs.ttft END), COUNT(CASE WHEN CASE WHEN typeof(runs.total_tokens) IN "
        "('integer') AND runs.total_tokens BETWEEN 0 AND 1000000000000 THEN runs.total_tokens END"
        " IS NOT NULL AND CASE WHEN typeof(runs.cost_usd) IN ('integer', 'real') AND "
        "runs.cost_usd BETWEEN 0 AND 1000000.0 THEN runs.cost_usd END IS NULL THEN 1 END) FROM "
        "runs WHERE runs.status IS NOT 'running' GROUP BY 1, agent, model, provider, connection, "
        "host, status, error_code, cost_source"
    ),
    "DELETE FROM run_metadata_rollup",
    (
        "INSERT INTO run_metadata_rollup (hour, key, value, agent, status, runs, tokens_sum, "
        "tokens_n, cost_sum, cost_n, tools_sum, tools_n, paused_sum, paused_n, duration_n, "
        "ttft_n, unpriced_n) SELECT CAST(m.started_at / 3600 AS INTEGER) * 3600, m.key, m.value, "
        "m.agent, m.status, COUNT(*), SUM(CASE WHEN typeof(m.total_tokens) IN ('integer') AND "
        "m.total_tokens BETWEEN 0 AND 1000000000000 THEN m.total_tokens END), COUNT(CASE WHEN "
        "typeof(m.total_tokens) IN ('integer') AND m.total_tokens BETWEEN 0 AND 1000000000000 "
        "THEN m.total_tokens END), SUM(CASE WHEN typeof(m.cost_usd) IN ('integer', 'real') AND "
        "m.cost_usd BETWEEN 0 AND 1000000.0 THEN m.cost_usd END), COUNT(CASE WHEN "
        "typeof(m.cost_usd) IN ('integer', 'real') AND m.cost_usd BETWEEN 0 AND 1000000.0 THEN "
        "m.cost_usd END), SUM(CASE WHEN typeof(m.tool_call_count) IN ('integer') AND "
        "m.tool_call_count BETWEEN 0 AND 1000000 THEN m.tool_call_count END), COUNT(CASE WHEN "
        "typeof(m.tool_call_count) IN ('integer') AND m.tool_call_count BETWEEN 0 AND 1000000 "
        "THEN m.tool_call_count END), SUM(CASE WHEN typeof(m.paused_seconds) IN ('integer', "
        "'real') AND m.paused_seconds BETWEEN 0 AND 1000000000 THEN m.paused_seconds END), "
        "COUNT(CASE WHEN typeof(m.paused_seconds) IN ('integer', 'real') AND m.paused_seconds "
        "BETWEEN 0 AND 1000000000 THEN m.paused_seconds END), COUNT(CASE WHEN typeof(m.duration) "
        "IN ('integer', 'real') AND m.duration BETWEEN 0 AND 1000000000 THEN m.duration END), "
        "COUNT(CASE WHEN typeof(m.ttft) IN ('integer', 'real') AND m.ttft BETWEEN 0 AND "
        "1000000000 THEN m.ttft END), COUNT(CASE WHEN CASE WHEN typeof(m.total_tokens) IN "
        "('integer') AND m.total_tokens BETWEEN 0 AND 1000000000000 THEN m.total_tokens END IS "
        "NOT NULL AND CASE WHEN typeof(m.cost_usd) IN ('integer', 'real') AND m.cost_usd BETWEEN "
        "0 AND 1000000.0 THEN m.cost_usd END IS NULL THEN 1 END) FROM run_metadata m WHERE "
        "m.status IS NOT 'running' GROUP BY 1, m.key, m.value, m.agent, m.status"
    ),
)
"""The triggers that keep both rollups, counting the unpriced runs too, and their refill
from the runs (``m021``)."""


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


def applied_migrations(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations applied to ``db``, in the order they were applied."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if exists is None:
        return []
    return [name for (name,) in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def apply_migrations(
    db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the migrations ``db`` lacks, in one write transaction; return their names.

    ``db`` must be in autocommit mode (``isolation_level=None``). Several processes may call
    this at once: the pending list is re-read under the write lock, so each migration runs once.
    """
    pending = pending_migrations(applied_migrations(db), migrations)
    if not pending:
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
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
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return [migration.__name__ for migration in pending]


def pending_migrations(
    applied: Sequence[str], migrations: Sequence[Migration] = MIGRATIONS
) -> list[Migration]:
    done = set(applied)
    return [migration for migration in migrations if migration.__name__ not in done]
