"""Bad history files, bad settings and bad filters: each is a clear agentnb error, never a raw
``sqlite3``, ``RuntimeError`` or ``OverflowError``; and a dead process's rows are seen as
interrupted by a store that was already open."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, REPO

import agentnb
from agentnb import runs
from agentnb._cli.main import main as cli_main
from agentnb._core.exceptions import ConfigurationError
from agentnb._core.request import RunRequest
from agentnb._core.run import Run, RunErrorInfo
from agentnb._history import HistoryError
from agentnb._history._run_filter import RunFilter
from agentnb.events import (
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from agentnb.history import HistoryStore

PAGE_SIZE = 4096
TABLE_LEAF = 0x0D


pytestmark = pytest.mark.usefixtures("own_default_store")


def finished_run(i: int, status: str = "completed", agent: str = "echo") -> Run:
    run = Run(agent=agent, message=f"question {i} " * 20)
    run.start()
    run.apply(ToolCallStarted(call_id="c", name="calculator"))
    run.apply(ToolCallFinished(call_id="c", output=i))
    run.apply(TextDelta(delta=f"answer {i} " * 60))
    if status == "completed":
        run.apply(RunCompleted())
    else:
        run.finish(status, RunErrorInfo("went wrong", "E1"))  # type: ignore[arg-type]
    return run


def fill(path: Path, count: int = 400) -> None:
    with HistoryStore(path) as store:
        for i in range(count):
            run = finished_run(i)
            store.record(run, RunRequest(agent=run.agent, message=run.message))
    # closing the last connection checkpoints the WAL into the main file
    assert not Path(f"{path}-wal").exists()


def damage_a_table_page(path: Path, *, last: bool = False) -> None:
    """Overwrite a table b-tree leaf page with garbage: one in the middle of the file, or the
    last one (where new rows go)."""
    data = bytearray(path.read_bytes())
    pages = len(data) // PAGE_SIZE
    runs = runs_pages(path)  # in the middle: a page of the runs table, which every read reads
    leaves = [
        n
        for n in range(pages // 4, pages)
        if data[n * PAGE_SIZE] == TABLE_LEAF and (last or n in runs)
    ]
    assert leaves, "no table leaf page found"
    page = leaves[-1] if last else leaves[len(leaves) // 2]
    data[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] = b"\xa5" * PAGE_SIZE
    path.write_bytes(bytes(data))


def runs_pages(path: Path) -> set[int]:
    """The 0-based numbers of the pages holding the runs table (not the search index's)."""
    db = sqlite3.connect(path)
    try:
        return {n - 1 for (n,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'runs'")}
    finally:
        db.close()


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.sqlite3"
    fill(path)
    damage_a_table_page(path)
    return path


DAMAGED = r"damaged.*(move it away|\.recover)"


# ---- a damaged file ----------------------------------------------------------------------
def test_reading_a_file_damaged_in_the_middle_is_a_history_store_error(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(damaged))
    with pytest.raises(HistoryError, match=DAMAGED) as caught:
        runs().summary(by="thread_id")
    assert isinstance(caught.value, ConfigurationError)
    assert str(damaged) in str(caught.value)
    with pytest.raises(HistoryError, match=DAMAGED), HistoryStore(damaged) as store:
        store.runs().to_pandas()


READS: dict[str, Callable[[HistoryStore, list[str]], object]] = {
    "runs": lambda store, ids: store.runs().local_ids,  # its rows past the first ones
    "tool_calls": lambda store, ids: store.runs().tool_calls().to_pandas(),
    "runs_by_ids": lambda store, ids: store.runs_by_ids([*ids, "x"]),
    "get": lambda store, ids: [store.get(local_id) for local_id in ids],
    "summary": lambda store, ids: store.runs().summary(by="thread_id"),
}


@pytest.mark.parametrize("read", list(READS))
def test_every_read_of_an_open_store_maps_damage(tmp_path: Path, read: str) -> None:
    path = tmp_path / "h.sqlite3"
    fill(path)
    with HistoryStore(path) as reader:
        every_id = reader.runs().local_ids
    damage_a_table_page(path)
    with HistoryStore(path) as store, pytest.raises(HistoryError, match="damaged"):
        READS[read](store, every_id)


@pytest.fixture
def damaged_at_the_end(tmp_path: Path) -> Path:
    path = tmp_path / "damaged-end.sqlite3"
    fill(path)
    damage_a_table_page(path, last=True)
    return path


def test_the_first_rows_of_a_damaged_file_say_it_is_damaged(damaged_at_the_end: Path) -> None:
    """``runs()`` reads its first rows in a read transaction: the damage is what it reports
    (not the end of a transaction SQLite already rolled back)."""
    with HistoryStore(damaged_at_the_end) as store, pytest.raises(HistoryError, match=DAMAGED):
        store.runs()


def test_recording_into_a_damaged_file_does_not_break_the_run_and_logs_once(
    damaged_at_the_end: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = HistoryStore(damaged_at_the_end)
    with caplog.at_level(logging.DEBUG, logger="agentnb.history"):
        for i in range(5):
            run = finished_run(i)
            store.record_start(run, RunRequest(agent="echo", message="m"), base_url="")
            store.record_progress(run)
            store.record_end(run)
        store.close()
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, problems
    assert "damaged" in problems[0]


def test_a_write_that_fails_raises_a_history_store_error(damaged_at_the_end: Path) -> None:
    with (
        HistoryStore(damaged_at_the_end) as store,
        pytest.raises(HistoryError, match="damaged"),
    ):
        store.record(finished_run(1), RunRequest(agent="echo", message="m"))


def cli(*argv: str) -> int:
    return cli_main(["runs", *argv])


def test_the_cli_reports_a_damaged_file(damaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--db", str(damaged), "--all") == 2
    err = capsys.readouterr().err
    assert "agentnb runs: error:" in err and "damaged" in err and ".recover" in err


# ---- bad settings ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["~nosuchuser-agentnb/history.sqlite3", "~nosuchuser-agentnb"])
def test_an_unexpandable_history_path_names_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", value)
    with pytest.raises(HistoryError, match=r"AGENTNB_HISTORY=.*nosuchuser") as caught:
        runs()
    assert "home" in str(caught.value)
    with pytest.warns(UserWarning, match="nosuchuser"):
        assert agentnb._history.default_store() is None
    with pytest.raises(HistoryError, match="nosuchuser"):
        HistoryStore(value)
    assert cli() == 2
    err = capsys.readouterr().err
    assert "AGENTNB_HISTORY" in err and "nosuchuser" in err


def test_a_history_path_with_a_nul_byte_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="history"):
        HistoryStore(str(tmp_path / "a\x00b.sqlite3"))


# ---- bad filters -------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [99999999999999999999, 2**63, 10**400])
def test_a_limit_past_sqlite_range_means_all(limit: int, tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        for i in range(3):
            store.record(finished_run(i), RunRequest(agent="echo", message="m"))
        assert len(store.runs(RunFilter.build(limit=limit))) == 3
    assert len(runs(limit=limit)) == 0


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"since": 10**400}, "since"),
        ({"since": float("nan")}, "since"),
        ({"agent": "\ud800"}, "agent"),
        ({"thread": "\udcff"}, "thread"),
    ],
)
def test_filters_out_of_range_are_configuration_errors(
    filters: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        runs(**filters)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted_as_a_limit(tmp_path: Path) -> None:
    numpy = pytest.importorskip("numpy")
    assert RunFilter.build(limit=numpy.int64(5)).limit == 5  # type: ignore[arg-type]


# ---- a dead process's rows, seen by a store that was already open ------------------------
HOLDER = textwrap.dedent(
    """
    import sys, time
    from agentnb.history import HistoryStore
    from agentnb._core.request import RunRequest
    from agentnb._core.run import Run
    from agentnb.events import TextDelta

    store = HistoryStore(sys.argv[1])
    run = Run(agent="echo", message="held open")
    run.start()
    store.record_start(run, RunRequest(agent="echo", message="held open"), base_url="")
    run.apply(TextDelta(delta="half an answer"))
    store.record_progress(run)
    store.flush()  # recorder writes are queued: on disk now, before the kill
    print(run.local_id, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_an_open_store_sees_a_killed_process_row_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert process.stdout is not None
            local_id = process.stdout.readline().strip()
            assert local_id, process.communicate()[1]
            assert store.get(local_id).status == "running"  # type: ignore[union-attr]
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()
        deadline = time.monotonic() + PATIENCE_S
        while store.get(local_id).status == "running":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the open store never saw the row as interrupted"
            time.sleep(0.2)
        record = store.get(local_id)
        assert record is not None
        assert (record.status, record.error_code) == ("interrupted", "process_exited")
        assert record.answer == "half an answer"
        assert [r.status for r in store.runs()] == ["interrupted"]


def test_reads_do_not_touch_this_process_own_running_rows(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = Run(agent="echo", message="mine")
        run.start()
        store.record_start(run, RunRequest(agent="echo", message="mine"), base_url="")
        for _ in range(3):
            assert store.get(run.local_id).status == "running"  # type: ignore[union-attr]
            assert store.runs()[0].status == "running"
            time.sleep(0.6)


# ---- summaries ---------------------------------------------------------------------------
def test_summary_counts_cancelled_interrupted_and_failed_apart(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        statuses = ["completed", "cancelled", "cancelled", "cancelled", "failed"]
        statuses += ["interrupted", "completed"]
        for i, status in enumerate(statuses):
            store.record(finished_run(i, status, agent="writer"), None)
        summary = store.runs().summary(by="agent")
    writer = summary.loc["writer"]
    assert writer["runs"] == 7
    assert writer["completed"] == 2
    assert writer["failed"] == 1
    assert writer["cancelled"] == 3
    assert writer["interrupted"] == 1
    assert writer["success_rate"] == pytest.approx(2 / 7)


def test_summary_by_an_unknown_column_is_a_configuration_error(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with (
        HistoryStore(tmp_path / "h.sqlite3") as store,
        pytest.raises(ConfigurationError, match="cannot summarise by"),
    ):
        store.runs().summary(by="message")


def test_sqlite_errors_never_escape_a_read_only_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    path = tmp_path / "h.sqlite3"
    fill(path, 3)
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(HistoryError), HistoryStore(path) as store:
            store.record(finished_run(9), RunRequest(agent="echo", message="m"))
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)


# ---- hostile values from a server ---------------------------------------------------------
def test_a_run_with_out_of_range_numbers_and_bad_text_is_still_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = Run(agent="a\ud800", message="m\udcff")
    run.start()
    with HistoryStore(tmp_path / "h.sqlite3") as store, caplog.at_level(logging.WARNING):
        store.record_start(run, RunRequest(agent="a", message="m"), base_url="")
        run.apply(RunStarted(run_id="r\ud800", thread_id="t\udfff"))
        run.apply(TextDelta(delta="x\ud800y"))
        run.apply(ToolCallStarted(call_id="c\ud800", name="n\ud800", arguments={"a": 10**30}))
        run.apply(ToolCallFinished(call_id="c\ud800", output=float("nan")))
        usage = Usage(prompt_tokens=10**30, completion_tokens=5)
        run.apply(RunCompleted(usage=usage, execution_time=float("inf")))
        store.record_progress(run)
        store.record_end(run)
        record = store.get(run.local_id)
        calls = store.tool_calls([run.local_id])
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert record is not None
    assert record.status == "completed"
    assert record.answer == "x?y"
    assert (record.prompt_tokens, record.completion_tokens) == (None, 5)
    assert record.execution_time is None
    assert [call.name for call in calls] == ["n?"]


def test_a_lookup_no_store_can_bind_is_a_history_store_error(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        with pytest.raises(HistoryError, match="could not read"):
            store.get("\ud800")
        with pytest.raises(HistoryError, match="could not read"):
            store.runs_by_ids(["\ud800"])


def test_importing_records_with_out_of_range_values_is_clean(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        store.record(finished_run(1), None)
        record = store.runs()[0]
    odd = dataclasses.replace(record, local_id="other", total_tokens=2**70, ttft=float("nan"))
    with HistoryStore(tmp_path / "h2.sqlite3") as other:
        assert other.import_records([odd]) == 1
        (copied,) = other.runs()
    assert (copied.total_tokens, copied.ttft) == (None, None)


# ---- a server's terminal escapes in the rows ------------------------------------------------
ESCAPES = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]0;pwned\x1b\\\x1b[2J\x9b2J\x9d0;t\x9c\x1bc\r"
"""Clipboard write (OSC 52), window title, clear screen (7- and 8-bit), reset, CR."""
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile_history(path: Path) -> None:
    run = Run(agent="echo", message=f"ask{ESCAPES}me")
    run.start()
    run.apply(RunStarted(run_id=f"run{ESCAPES}1", thread_id=f"t{ESCAPES}1"))
    run.apply(ToolCallStarted(call_id="c", name=f"tool{ESCAPES}name"))
    run.apply(TextDelta(delta=f"answer{ESCAPES}text"))
    run.finish("failed", RunErrorInfo(f"boom{ESCAPES}end", f"E{ESCAPES}"))
    with HistoryStore(path) as store:
        store.record(run, RunRequest(agent="echo", message=run.message))


@pytest.mark.parametrize("json_output", [False, True])
def test_agentnb_runs_prints_no_terminal_escape_from_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], json_output: bool
) -> None:
    path = tmp_path / "h.sqlite3"
    hostile_history(path)
    assert cli("--db", str(path), *(["--json"] if json_output else [])) == 0
    out = capsys.readouterr().out
    assert "boom" in out and "ask" in out
    assert not UNSAFE.search(out), repr(out)
    if json_output:  # escaped, not dropped: the JSON still holds what was recorded
        assert json.loads(out)[0]["error_message"] == f"boom{ESCAPES}end"


def test_the_run_table_repr_a_terminal_shows_has_no_terminal_escape(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    hostile_history(path)
    with HistoryStore(path) as store:
        shown = repr(store.runs())
    assert "boom" in shown and "ask" in shown
    assert not UNSAFE.search(shown), repr(shown)


def test_agentnb_runs_refuses_no_absurd_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.sqlite3"
    fill(path, 3)
    for limit in ("99999999999999999999", str(2**63), "1" + "0" * 400):
        assert cli("--db", str(path), "--limit", limit) == 0
        assert "3 runs" in capsys.readouterr().err
