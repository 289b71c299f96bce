"""The history store: what a run's row holds, filters, secrets, bad input, threads."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agentnb import runs
from agentnb._core.exceptions import ConfigurationError
from agentnb._core.request import ModelSettings, RunRequest
from agentnb._core.run import Run, RunErrorInfo
from agentnb._core.secrets import register_secret
from agentnb._history import (
    OUTPUT_LIMIT,
    HistoryError,
    HistoryLocationError,
    HistoryWriteError,
    RunRecord,
    default_store,
)
from agentnb._history._file import store_error
from agentnb._history._records import RUN_COLUMNS, host_of, redact_error
from agentnb._history._run_filter import RunFilter
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from agentnb.history import HistoryStore

BASE_URL = "http://127.0.0.1:8123/v1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


pytestmark = pytest.mark.usefixtures("own_default_store")


def request_for(run: Run, **fields: object) -> RunRequest:
    return RunRequest(agent=run.agent, message=run.message, **fields)  # type: ignore[arg-type]


def started_run(
    agent: str = "finance_agent", message: str = "What is NVDA at?", at: float | None = None
) -> Run:
    run = Run(agent=agent, message=message, provider="operativus", connection="default")
    run.start(at)
    return run


def complete(run: Run, *, tokens: tuple[int, int] = (11, 22)) -> Run:
    t = run.started_at or time.time()
    run.apply(RunStarted(run_id="remote-1", thread_id="thread-1", received_at=t + 0.01))
    run.apply(ReasoningDelta(delta="Let me look it up.", received_at=t + 0.1))
    run.apply(ToolCallStarted(call_id="c1", name="get_stock_price", received_at=t + 0.2))
    run.apply(ToolCallDelta(call_id="c1", arguments_delta='{"ticker": ', received_at=t + 0.21))
    run.apply(ToolCallDelta(call_id="c1", arguments_delta='"NVDA"}', received_at=t + 0.22))
    run.apply(ToolCallFinished(call_id="c1", output={"price": 123.4}, received_at=t + 0.3))
    run.apply(TextDelta(delta="NVDA is at **123.4**.", received_at=t + 0.4))
    usage = Usage(prompt_tokens=tokens[0], completion_tokens=tokens[1])
    run.apply(RunCompleted(usage=usage, execution_time=0.45, received_at=t + 0.5))
    return run


def record(store: HistoryStore, run: Run, **fields: object) -> Run:
    store.record_start(run, request_for(run, **fields), base_url=BASE_URL)
    if run.status == "running" and not run.event_count:
        complete(run)
    store.record_end(run)
    return run


# ---- one run's row ---------------------------------------------------------------------
def test_completed_run_row_holds_every_figure(store: HistoryStore) -> None:
    run = started_run()
    request = request_for(
        run, model_settings=ModelSettings(temperature=0.2, max_tokens=50), metadata={"case": "7"}
    )
    store.record_start(run, request, base_url="https://user:pw@api.example.com:8443/v1?x=1")
    complete(run)
    store.record_end(run)

    record = store.get(run.local_id)
    assert record is not None
    assert record.run_id == "remote-1"
    assert record.thread_id == "thread-1"
    assert (record.connection, record.provider, record.agent) == (
        "default",
        "operativus",
        "finance_agent",
    )
    assert record.host == "api.example.com:8443"
    assert record.message == "What is NVDA at?"
    assert record.answer == "NVDA is at **123.4**."
    assert record.reasoning == "Let me look it up."
    assert record.status == "completed"
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (11, 22, 33)
    assert record.started_at is not None and record.started_at.tzinfo is UTC
    assert record.ttft == pytest.approx(0.1, abs=1e-3)
    assert record.duration == pytest.approx(0.5, abs=1e-3)
    assert record.ttft < record.duration
    assert record.tokens_per_second == pytest.approx(22 / 0.4, rel=1e-3)
    assert record.execution_time == 0.45
    assert record.event_count == 8
    assert (record.retries, record.resumes, record.tool_call_count) == (0, 0, 1)
    assert record.model_settings == {"temperature": 0.2, "max_tokens": 50}
    assert record.metadata == {"case": "7"}

    (call,) = store.tool_calls([run.local_id])
    assert (call.call_id, call.name, call.status, call.position) == (
        "c1",
        "get_stock_price",
        "succeeded",
        0,
    )
    assert call.arguments == '{"ticker": "NVDA"}'
    assert call.output == '{"price": 123.4}'
    assert call.agent == "finance_agent"
    assert call.duration == pytest.approx(0.1, abs=1e-3)


def test_row_is_running_between_start_and_end(store: HistoryStore) -> None:
    run = started_run()
    store.record_start(run, request_for(run), base_url=BASE_URL)
    record = store.get(run.local_id)
    assert record is not None
    assert record.status == "running"
    assert record.finished_at is None


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("failed", RunErrorInfo("capacity exceeded", "CAPACITY_ERROR", 2.0), "CAPACITY_ERROR"),
        ("cancelled", None, None),
        ("interrupted", None, None),
    ],
)
def test_unsuccessful_statuses_are_recorded(
    store: HistoryStore, status: str, error: RunErrorInfo | None, code: str | None
) -> None:
    run = started_run()
    store.record_start(run, request_for(run), base_url=BASE_URL)
    run.apply(TextDelta(delta="partial", received_at=time.time()))
    run.apply(ToolCallStarted(call_id="t", name="calculator", received_at=time.time()))
    run.finish(status, error)  # type: ignore[arg-type]
    store.record_end(run)
    record = store.get(run.local_id)
    assert record is not None
    assert record.status == status
    assert record.error_code == code
    assert record.answer == "partial"
    assert record.finished_at is not None
    (call,) = store.tool_calls([run.local_id])
    assert call.status == "failed"
    assert call.error == f"run {status}"


def test_stream_failure_keeps_the_platform_error(store: HistoryStore) -> None:
    run = started_run()
    store.record_start(run, request_for(run), base_url=BASE_URL)
    run.apply(RunFailed(message="model overloaded", code="CAPACITY_ERROR", received_at=time.time()))
    store.record_end(run)
    record = store.get(run.local_id)
    assert record is not None
    assert (record.status, record.error_code, record.error_message) == (
        "failed",
        "CAPACITY_ERROR",
        "model overloaded",
    )


def test_end_without_start_still_records_the_run(store: HistoryStore) -> None:
    run = complete(started_run())
    store.record_end(run)
    record = store.get(run.local_id)
    assert record is not None
    assert record.status == "completed"
    assert record.total_tokens == 33


def test_end_of_a_run_that_never_ended_counts_as_interrupted(store: HistoryStore) -> None:
    run = started_run()
    store.record_start(run, request_for(run), base_url=BASE_URL)
    store.record_end(run)
    record = store.get(run.local_id)
    assert record is not None
    assert record.status == "interrupted"


def test_tool_output_is_truncated_at_the_documented_size(store: HistoryStore) -> None:
    run = started_run()
    big = "é" * OUTPUT_LIMIT  # two bytes each: twice the limit
    run.apply(
        ToolCallStarted(call_id="c", name="dump", arguments={"n": 1}, received_at=time.time())
    )
    run.apply(ToolCallFinished(call_id="c", output=big, received_at=time.time()))
    run.apply(RunCompleted(received_at=time.time()))
    record(store, run)
    (call,) = store.tool_calls([run.local_id])
    assert call.output is not None
    kept, marker = call.output.split("\n…[truncated by agentnb: ")
    assert len(kept.encode()) == OUTPUT_LIMIT
    assert marker == f"{2 * OUTPUT_LIMIT} bytes, first {OUTPUT_LIMIT} kept]"


def test_invalid_unicode_is_stored_not_lost(store: HistoryStore) -> None:
    run = started_run(message="lone \ud800 surrogate")
    run.apply(TextDelta(delta="answer \udfff", received_at=time.time()))
    run.apply(RunCompleted(received_at=time.time()))
    record(store, run)
    stored = store.get(run.local_id)
    assert stored is not None
    assert stored.message == "lone ? surrogate"
    assert stored.answer == "answer ?"


# ---- secrets -------------------------------------------------------------------------
def test_no_secret_reaches_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key = "sk-env-0123456789abcdef"
    code_key = "code-key-9876543210"
    monkeypatch.setenv("SOMEPLATFORM_API_KEY", env_key)
    register_secret(code_key)
    path = tmp_path / "secrets.sqlite3"
    with HistoryStore(path) as store:
        run = started_run(message=f"my key is {env_key}")
        store.record_start(
            run,
            request_for(run, metadata={"auth": code_key}),
            base_url=(f"https://me:{code_key}@api.example.com/v1?api_key={env_key}"),
        )
        run.apply(
            ToolCallStarted(
                call_id="c", name="http", arguments={"key": env_key}, received_at=time.time()
            )
        )
        run.apply(
            ToolCallFinished(
                call_id="c", error=f"401 with Bearer {code_key}", received_at=time.time()
            )
        )
        run.finish(
            "failed",
            RunErrorInfo(
                f"401 Unauthorized: Authorization: Bearer {code_key} / x-api-key={env_key}"
            ),
        )
        store.record_end(run)
        record = store.get(run.local_id)
        assert record is not None
        assert record.error_message == "401 Unauthorized: Authorization: Bearer *** / x-api-key=***"
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert env_key.encode() not in data
    assert code_key.encode() not in data


def test_credential_shapes_are_cut_from_error_messages() -> None:
    assert redact_error("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert redact_error("authorization=Basic Ym9iOnB3ZA==") == "authorization=Basic ***"
    assert redact_error("bad X-API-Key: 'zzzzzzzz' given") == "bad X-API-Key: '***' given"
    assert redact_error("GET /runs?api_key=abcd1234&x=1") == "GET /runs?api_key=***&x=1"
    assert redact_error("connection refused") == "connection refused"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8000/v1", "127.0.0.1:8000"),
        ("https://user:secret@api.example.com/path?key=1", "api.example.com"),
        ("https://[::1]:9000/", "[::1]:9000"),
        ("api.example.com:8080", "api.example.com:8080"),
        ("", None),
        ("http://", None),
    ],
)
def test_only_the_host_of_a_base_url_is_kept(url: str, host: str | None) -> None:
    assert host_of(url) == host


# ---- reading and filters -------------------------------------------------------------
def test_filters_and_order(store: HistoryStore) -> None:
    now = time.time()
    first = record(store, started_run("echo", "one", at=now - 7200))
    second = record(store, started_run("writer", "two", at=now - 60))
    third = started_run("echo", "three", at=now - 30)
    store.record_start(third, request_for(third, thread_id="t-9"), base_url=BASE_URL)
    third.finish("failed", RunErrorInfo("boom"))
    store.record_end(third)

    def ids(**filters: object) -> list[str]:
        return store.runs(RunFilter.build(**filters)).local_ids  # type: ignore[arg-type]

    assert ids() == [third.local_id, second.local_id, first.local_id]
    assert ids(agent="echo") == [third.local_id, first.local_id]
    assert ids(agent=["echo", "writer"], limit=2) == [third.local_id, second.local_id]
    assert ids(status="failed") == [third.local_id]
    assert ids(status=("completed",)) == [second.local_id, first.local_id]
    assert ids(thread="t-9") == [third.local_id]
    assert ids(since=timedelta(hours=1)) == [third.local_id, second.local_id]
    assert ids(since=datetime.fromtimestamp(now - 45, UTC)) == [third.local_id]
    assert ids(since=datetime.fromtimestamp(now - 45, UTC).isoformat()) == [third.local_id]
    assert ids(since=now - 45) == [third.local_id]
    assert ids(since=date.today() + timedelta(days=1)) == []
    assert ids(limit=0) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "complete"}, "unknown run status 'complete'"),
        ({"since": "yesterday"}, "not an ISO 8601 date"),
        ({"since": timedelta(hours=-1)}, "is negative"),
        ({"since": [1]}, "since must be"),
        ({"limit": -1}, "limit must be"),
        ({"limit": "10"}, "limit must be"),
        ({"agent": 3}, "agent must be"),
        ({"thread": 5}, "thread must be"),
    ],
)
def test_bad_filters_are_clear_errors(filters: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        runs(**filters)  # type: ignore[arg-type]


def test_writes_from_another_thread_are_read_on_this_one(store: HistoryStore) -> None:
    recorded: list[str] = []

    def worker() -> None:
        for _ in range(20):
            recorded.append(record(store, started_run()).local_id)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.runs().local_ids) == sorted(recorded)
    assert len(recorded) == 60


def test_memory_store_is_shared_by_threads() -> None:
    with HistoryStore(":memory:") as store:
        done = threading.Thread(target=lambda: record(store, started_run()))
        done.start()
        done.join()
        assert len(store.runs()) == 1
        assert store.path is None


# ---- lifecycle and bad files ---------------------------------------------------------
def test_close_marks_runs_still_open_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    run = started_run()
    store.record_start(run, request_for(run), base_url=BASE_URL)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(HistoryError, match="closed"):
        store.runs()
    with HistoryStore(path) as reopened:
        record = reopened.get(run.local_id)
        assert record is not None
        assert record.status == "interrupted"
        assert record.error_code == "process_exited"


def test_recording_into_a_closed_store_logs_and_does_not_raise(
    store: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.close()
    run = complete(started_run())
    with caplog.at_level(logging.DEBUG, logger="agentnb.history"):
        store.record_start(run, request_for(run), base_url=BASE_URL)
        store.record_end(run)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "could not record the start" in errors[0]
    assert "closed" in errors[0]
    assert "could not record the end" in caplog.text  # the same problem again: debug only


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(HistoryLocationError, match="not a usable agentnb database") as caught:
        HistoryStore(path)
    assert isinstance(caught.value, ConfigurationError)  # fixed by pointing elsewhere
    assert path.read_text().startswith("these are my notes")


def test_a_full_disk_or_a_lock_is_a_write_error_not_a_configuration_error(
    tmp_path: Path,
) -> None:
    """sqlite's own errors, made for real: a database that may not grow (what a full disk
    looks like to sqlite) and one another connection holds locked."""
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        with pytest.raises(sqlite3.OperationalError) as full:
            db.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 100)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as busy:
            sqlite3.connect(path, timeout=0).execute("INSERT INTO t VALUES (1)")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for raw, says in ((full.value, "disk is full"), (busy.value, "locked")):
        error = store_error(raw, str(path), "write to")
        assert isinstance(error, HistoryWriteError) and isinstance(error, HistoryError)
        assert not isinstance(error, ConfigurationError), error
        assert says in str(error)


def test_wal_mode_and_busy_timeout_are_set(store: HistoryStore) -> None:
    assert store.path is not None
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


# ---- the default store ---------------------------------------------------------------
def test_default_store_follows_agentnb_history(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = default_store()
    assert store is not None and store.path == tmp_path / "default.sqlite3"
    assert default_store() is store
    record(store, started_run())
    assert len(runs()) == 1

    monkeypatch.setenv("AGENTNB_HISTORY", "off")
    assert default_store() is None
    assert len(runs()) == 0

    monkeypatch.setenv("AGENTNB_HISTORY", ":memory:")
    memory = default_store()
    assert memory is not None and memory.path is None

    folder = tmp_path / "folder"
    folder.mkdir()
    monkeypatch.setenv("AGENTNB_HISTORY", str(folder))
    in_folder = default_store()
    assert in_folder is not None and in_folder.path == folder / "history.sqlite3"


def test_default_store_that_cannot_open_warns_once_and_runs_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"\x00garbage" * 1000)
    monkeypatch.setenv("AGENTNB_HISTORY", str(bad))
    with pytest.warns(UserWarning, match="runs are not being recorded"):
        assert default_store() is None
    assert default_store() is None  # no second warning (pytest would fail on it)
    with pytest.raises(HistoryError, match="not a usable agentnb database"):
        runs()


def test_import_records_brings_the_tool_calls(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "a.sqlite3") as old, HistoryStore(tmp_path / "b.sqlite3") as new:
        record(old, started_run())
        history = old.runs()
        assert new.import_records(history, history.tool_calls()) == 1
        assert new.import_records(history, history.tool_calls()) == 0  # kept as they are
        calls = new.runs().tool_calls()
        assert [(c.name, c.arguments) for c in calls] == [("get_stock_price", '{"ticker": "NVDA"}')]


def test_import_records_never_drops_a_record_silently(tmp_path: Path) -> None:
    names = [name for name, _ in RUN_COLUMNS]
    bare = dict.fromkeys(names)
    unknown_counts = RunRecord.from_row(
        tuple({**bare, "local_id": "a", "status": "completed", "started_at": 1.0}[n] for n in names)
    )
    no_start = RunRecord.from_row(
        tuple({**bare, "local_id": "b", "status": "completed"}[n] for n in names)
    )
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        assert store.import_records([unknown_counts]) == 1  # counts the table defaults: 0
        assert store.get("a").event_count == 0  # type: ignore[union-attr]
        with pytest.raises(HistoryError, match="started_at"):
            store.import_records([no_start])


def test_runs_filter_by_dialect_whatever_their_connection(store: HistoryStore) -> None:
    """``provider="acp"`` keeps every coding agent's runs, each connection named its own way;
    a dialect agentnb does not know is an error naming the near one, not an empty table."""
    for provider, connection in (("acp", "claude"), ("acp", "codex"), ("openai", "acp")):
        run = Run(agent="coder", message="fix it", provider=provider, connection=connection)
        run.start()
        record(store, run)
    kept = store.runs(RunFilter.build(provider="acp"))
    assert sorted(r.connection or "" for r in kept) == ["claude", "codex"]
    both = store.runs(RunFilter.build(provider=["acp", "openai"]))
    assert len(both) == 3
    with pytest.raises(ConfigurationError, match=r"unknown provider 'acpp': did you mean 'acp'\?"):
        RunFilter.build(provider="acpp")
