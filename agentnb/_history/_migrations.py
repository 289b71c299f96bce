"""The history file's schema: named migrations applied in order (:data:`MIGRATIONS`), each
recorded by name in ``_migrations`` once applied. The list is append-only: never rename, edit
or reorder a migration that has shipped (the files on users' disks name them); add a new one
at the end."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from .._core.exceptions import ConfigurationError
from .._core.pricing import RunCost, price_run
from .._core.request import build_request
from ..events import Usage
from ..providers import available_providers
from ._experiment_book import experiments_schema
from ._metadata import guarded_metadata, metadata_schema
from ._metadata_rollup import METADATA_ROLLUP, metadata_rollup_fill, metadata_rollup_schema
from ._scores import scores_schema
from ._search_sql import SEARCH_TABLE
from ._summary_sql import guarded_rollup, order_indexes, rollup_schema

__all__ = [
    "MIGRATIONS",
    "Migration",
    "applied_migrations",
    "apply_migrations",
    "rebuild_side_tables",
]

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
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
        """
    )
    db.execute("CREATE INDEX runs_by_started_at ON runs (started_at)")
    db.execute("CREATE INDEX runs_by_agent ON runs (agent, started_at)")
    db.execute("CREATE INDEX runs_by_thread ON runs (thread_id, started_at)")
    db.execute("CREATE INDEX runs_running ON runs (owner_host) WHERE status = 'running'")


def m002_tool_calls(db: sqlite3.Connection) -> None:
    db.execute(
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
        """
    )
    db.execute("CREATE INDEX tool_calls_by_name ON tool_calls (name)")
    # NULL for runs recorded before tool calls were: unknown, not zero.
    db.execute("ALTER TABLE runs ADD COLUMN tool_call_count INTEGER")


def m003_resumes_and_execution_time(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN resumes INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN execution_time REAL")


def m004_tool_call_questions(db: sqlite3.Connection) -> None:
    # NULL for calls that asked nothing, and for calls recorded before questions were.
    db.execute("ALTER TABLE tool_calls ADD COLUMN question TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN answer TEXT")


def m005_cancel_error(db: sqlite3.Connection) -> None:
    # Why the platform could not be told to stop a cancelled run; NULL when it was (or the
    # run was not cancelled, or was recorded before this column).
    db.execute("ALTER TABLE runs ADD COLUMN cancel_error TEXT")


def m006_call_tree(db: sqlite3.Connection) -> None:
    # Calls recorded before had no tree: NULL (unknown), not top-level; their agent is the run's.
    db.execute("ALTER TABLE tool_calls ADD COLUMN parent_call_id TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN agent TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN depth INTEGER")


_TOOLS_TEXT = (
    "(SELECT group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') "
    "FROM tool_calls WHERE local_id = {run}.local_id)"
)
"""A run's tool names and arguments as one text (what search reads of its calls)."""


def m007_search(db: sqlite3.Connection) -> None:
    # Questions, answers, reasoning, and tool names with their arguments, indexed with FTS5;
    # triggers keep the index whichever agentnb version writes the file. A run is indexed
    # once, when it stops running (ends, or is found interrupted): indexing it at its start
    # and at every checkpoint too tripled the writer thread's CPU per run. A Python whose
    # SQLite lacks FTS5 gets no index: search then says so.
    try:
        db.execute(
            f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
            "message, answer, reasoning, tools, tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as exc:
        if "no such module" in str(exc):
            return
        raise
    db.execute(
        f"INSERT INTO {SEARCH_TABLE} (rowid, message, answer, reasoning, tools) "
        f"SELECT rowid, message, answer, reasoning, {_TOOLS_TEXT.format(run='runs')} FROM runs"
    )
    index_new_row = (
        f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, message, answer, reasoning, tools) "
        f"VALUES (new.rowid, new.message, new.answer, new.reasoning, "
        f"{_TOOLS_TEXT.format(run='new')}); END"
    )
    db.execute(
        "CREATE TRIGGER runs_search_insert AFTER INSERT ON runs "
        f"WHEN new.status IS NOT 'running' BEGIN {index_new_row}"
    )
    db.execute(
        "CREATE TRIGGER runs_search_update "
        "AFTER UPDATE OF message, answer, reasoning, status ON runs "
        "WHEN new.status IS NOT 'running' AND (old.status IS 'running' "
        "OR old.message IS NOT new.message OR old.answer IS NOT new.answer "
        f"OR old.reasoning IS NOT new.reasoning) BEGIN {index_new_row}"
    )
    db.execute(
        "CREATE TRIGGER runs_search_reopen AFTER UPDATE OF status ON runs "
        "WHEN new.status IS 'running' AND old.status IS NOT 'running' BEGIN "
        f"DELETE FROM {SEARCH_TABLE} WHERE rowid = old.rowid; END"
    )
    db.execute(
        f"CREATE TRIGGER runs_search_delete AFTER DELETE ON runs BEGIN "
        f"DELETE FROM {SEARCH_TABLE} WHERE rowid = old.rowid; END"
    )
    # The calls of a running run are indexed when it stops (above), of a run not written yet
    # when it is; later changes at once.
    for event, row in (("INSERT", "new"), ("DELETE", "old"), ("UPDATE OF name, arguments", "new")):
        db.execute(
            f"CREATE TRIGGER runs_search_tools_{event.split()[0].lower()} AFTER {event} "
            f"ON tool_calls WHEN (SELECT status FROM runs WHERE local_id = {row}.local_id) "
            f"<> 'running' BEGIN UPDATE {SEARCH_TABLE} SET tools = "
            f"{_TOOLS_TEXT.format(run=row)} "
            f"WHERE rowid = (SELECT rowid FROM runs WHERE local_id = {row}.local_id); END"
        )


def m008_model_and_cost(db: sqlite3.Connection) -> None:
    # The model that ran, the run's cost in USD and where that came from (Run.model, .cost,
    # .cost_source). Rows recorded before get the model where their dialect names it by the
    # request alone (Provider.requested_model: the agent of the OpenAI-compatible dialects),
    # and a cost priced from their token counts at their start (each model, token counts and
    # day priced once); the rest stay NULL: unknown, not zero.
    db.execute("ALTER TABLE runs ADD COLUMN model TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN cost_usd REAL")
    db.execute("ALTER TABLE runs ADD COLUMN cost_source TEXT")
    pairs = db.execute(
        "SELECT DISTINCT provider, agent FROM runs WHERE provider IS NOT NULL AND agent IS NOT NULL"
    ).fetchall()
    for provider, agent in pairs:
        model = _requested_model(provider, agent)
        if model is not None:
            db.execute(
                "UPDATE runs SET model = ? WHERE provider = ? AND agent = ? AND model IS NULL",
                (model, provider, agent),
            )
    db.executemany(
        "UPDATE runs SET cost_usd = ?, cost_source = ? WHERE rowid = ?", _costs_of_old_rows(db)
    )


def _requested_model(provider: str, agent: str) -> str | None:
    """The model a request for ``agent`` names in ``provider``'s dialect (None: it names none,
    or the dialect is not installed)."""
    dialect = available_providers().get(provider)
    if dialect is None:
        return None
    try:
        return dialect().requested_model(build_request(agent, ""))
    except (ConfigurationError, TypeError):  # a dialect that needs options to be made
        return None


def _costs_of_old_rows(db: sqlite3.Connection) -> list[tuple[float, str, int]]:
    rows = db.execute(
        "SELECT rowid, model, prompt_tokens, completion_tokens, started_at FROM runs "
        "WHERE model IS NOT NULL AND prompt_tokens IS NOT NULL "
        "AND completion_tokens IS NOT NULL AND cost_usd IS NULL"
    ).fetchall()
    priced: dict[tuple[str, int, int, int], RunCost] = {}
    costs: list[tuple[float, str, int]] = []
    for rowid, model, prompt, completion, started in rows:
        key = (model, prompt, completion, int((started or 0) // 86_400))
        cost = priced.get(key)
        if cost is None:
            usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
            cost = priced[key] = price_run(model, usage, started)
        if cost.usd is not None and cost.source is not None:
            costs.append((cost.usd, cost.source, rowid))
    return costs


def m009_approval_decisions(db: sqlite3.Connection) -> None:
    # Who decided on a call (user, policy, server) and why it ran without the user's approval,
    # and how many of a run's calls did; NULL for what was recorded before: unknown, not the
    # user's.
    db.execute("ALTER TABLE tool_calls ADD COLUMN decided_by TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN unapproved TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN unapproved_calls INTEGER")


def m010_paused_time(db: sqlite3.Connection) -> None:
    # duration became the agent's time (a pause for a person's approval left out), with the
    # wall time in elapsed and the pause in paused_seconds. Rows recorded before knew no
    # pause: their wall time is their elapsed, and their duration stays as it was. A ttft
    # without a first token (a cancelled or failed run, once written as 0) is missing.
    db.execute("ALTER TABLE runs ADD COLUMN elapsed REAL")
    db.execute("ALTER TABLE runs ADD COLUMN paused_seconds REAL")
    db.execute("UPDATE runs SET elapsed = duration")
    db.execute("UPDATE runs SET ttft = NULL WHERE first_token_at IS NULL")


def m011_tool_call_usage(db: sqlite3.Connection) -> None:
    # A sub-agent's tokens, model and cost inside the call that ran it, where the platform
    # reports usage per call (ToolCallFinished.usage / .model). Calls recorded before kept
    # none of it: NULL, unknown, not zero.
    for column, kind in (
        ("prompt_tokens", "INTEGER"),
        ("completion_tokens", "INTEGER"),
        ("total_tokens", "INTEGER"),
        ("model", "TEXT"),
        ("cost_usd", "REAL"),
        ("cost_source", "TEXT"),
    ):
        db.execute(f"ALTER TABLE tool_calls ADD COLUMN {column} {kind}")


def m012_summary_rollup(db: sqlite3.Connection) -> None:
    # summary() at a million runs (see _summary_sql): each hour's counts and sums per key in
    # a table kept by triggers (filled here from the runs already recorded), so the counts
    # read a row per hour and key instead of a row per run; and indexes of the runs in each
    # timed metric's order, so a quantile is a walk to its rank instead of a sort. No
    # value of a run changes.
    for statement in (*rollup_schema(guarded=False), *order_indexes()):
        db.execute(statement)


def m013_approval_binding(db: sqlite3.Connection) -> None:
    # Whether the platform reported other arguments for a call after it was shown for
    # approval, and why agentnb denied a call no decision could be bound to. NULL for calls
    # recorded before: unknown.
    db.execute("ALTER TABLE tool_calls ADD COLUMN arguments_changed INTEGER")
    db.execute("ALTER TABLE tool_calls ADD COLUMN protocol_error TEXT")


def m014_scores(db: sqlite3.Connection) -> None:
    # Scores, labels and notes given to runs (agentnb.score, evaluators, a person's verdict):
    # one row per score given, never updated; a run's current score of a name is its latest
    # (see _scores). No value of a run changes.
    for statement in scores_schema():
        db.execute(statement)


def m015_run_metadata(db: sqlite3.Connection) -> None:
    # Metadata as dimensions (runs(metadata=...), summary(by="metadata.<key>")): each run's
    # top-level metadata keys in a side table kept by triggers (see _metadata), filled here
    # from the runs already recorded. No value of a run changes.
    for statement in metadata_schema(guarded=False):
        db.execute(statement)


def m016_experiments(db: sqlite3.Connection) -> None:
    # Experiments kept in the history (see _experiment_book): each one's arms, its examples (the
    # dataset's questions with their expected answers), which run answered which example on
    # which arm, and each evaluator's evaluations of a run (an error when it raised). No
    # value of a run changes.
    for statement in experiments_schema():
        db.execute(statement)


def rebuild_side_tables(db: sqlite3.Connection) -> None:
    """Remake the triggers that keep the side tables and fill the tables again from the
    runs (what ``m017`` and ``m018`` did; ``HistoryStore.rebuild_side_tables`` does it
    again)."""
    for statement in (*guarded_rollup(), *guarded_metadata()):
        db.execute(statement)
    db.execute(f"DELETE FROM {METADATA_ROLLUP}")
    db.execute(metadata_rollup_fill())


def m017_sane_figures_and_refused_note(db: sqlite3.Connection) -> None:
    # A history file is outside input: the triggers that keep runs_rollup and run_metadata
    # now count and copy sane figures only (see _figures: a token count of 10^30, a
    # negative cost, text where a number goes is no figure), and both are filled again from
    # the runs, so nothing summed before the guard, or written into them by another tool,
    # is left. And the run's note of the figures it refused (Run.refused_figures), NULL for
    # runs recorded before and for runs that refused none. No value of a run changes.
    for statement in (*guarded_rollup(), *guarded_metadata()):
        db.execute(statement)
    db.execute("ALTER TABLE runs ADD COLUMN refused_figures TEXT")


def m018_metadata_rollup(db: sqlite3.Connection) -> None:
    # summary(by="metadata.<key>") at a million runs (see _metadata_rollup): each hour's
    # counts and sums per metadata key, value, agent and status in a table kept by triggers
    # from the runs' metadata, filled here from the side table (refilled from the runs by
    # m017). No value of a run changes.
    for statement in metadata_rollup_schema():
        db.execute(statement)


def m019_datasets(db: sqlite3.Connection) -> None:
    # Datasets kept by name, each version once (agentnb.dataset: different rows under a name
    # make its next version), and the dataset and version an experiment ran on. No value of a
    # run changes.
    db.execute(
        "CREATE TABLE datasets (name TEXT NOT NULL, version INTEGER NOT NULL, "
        "digest TEXT NOT NULL, rows TEXT NOT NULL, created REAL NOT NULL, "
        "PRIMARY KEY (name, version))"
    )
    db.execute("CREATE UNIQUE INDEX datasets_by_digest ON datasets (name, digest)")
    db.execute("ALTER TABLE experiments ADD COLUMN dataset TEXT")
    db.execute("ALTER TABLE experiments ADD COLUMN dataset_version INTEGER")


def m020_tool_call_ran_by(db: sqlite3.Connection) -> None:
    # "client" for a call a notebook function ran (a client tool); NULL: the platform ran it,
    # or the call was recorded before this column.
    db.execute("ALTER TABLE tool_calls ADD COLUMN ran_by TEXT")


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_tool_calls,
    m003_resumes_and_execution_time,
    m004_tool_call_questions,
    m005_cancel_error,
    m006_call_tree,
    m007_search,
    m008_model_and_cost,
    m009_approval_decisions,
    m010_paused_time,
    m011_tool_call_usage,
    m012_summary_rollup,
    m013_approval_binding,
    m014_scores,
    m015_run_metadata,
    m016_experiments,
    m017_sane_figures_and_refused_note,
    m018_metadata_rollup,
    m019_datasets,
    m020_tool_call_ran_by,
)
"""Every migration, oldest first. Append only."""


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
    pending = _pending(applied_migrations(db), migrations)
    if not pending:
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        pending = _pending(applied_migrations(db), migrations)
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


def _pending(applied: Sequence[str], migrations: Sequence[Migration]) -> list[Migration]:
    done = set(applied)
    return [migration for migration in migrations if migration.__name__ not in done]
