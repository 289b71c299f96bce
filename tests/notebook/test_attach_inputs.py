"""``agentnb.attach``'s bad inputs are refused before any I/O, each with a clear
ConfigurationError (the connection points at a port nothing listens on: any request would
fail with a ConnectError instead)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import agentnb
from agentnb import ConfigurationError, Run
from agentnb._history import close_default_stores
from agentnb.events import RunCompleted, TextDelta
from agentnb.history import HistoryStore
from agentnb.providers import RemoteRun


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    agentnb.connect("seekrflow", base_url="http://127.0.0.1:9", api_key="k", name="gone")
    yield path
    close_default_stores()


def recorded(path: Path, **fields: object) -> Run:
    run = Run(agent="writer", message="hello", provider="seekrflow", connection="gone")
    for name, value in fields.items():
        setattr(run, name, value)
    run.apply(TextDelta(delta="partial"))
    with HistoryStore(path) as store:
        store.record(run)
    return run


def test_a_finished_row_is_refused(nowhere: Path) -> None:
    run = recorded(nowhere, run_id="run_1", thread_id="t")
    run.apply(RunCompleted())
    with HistoryStore(nowhere) as store:
        store.record(run)
    with pytest.raises(ConfigurationError, match="'run_1' has already ended \\(completed\\)"):
        agentnb.attach(agentnb.runs()[0], display=False)
    with pytest.raises(ConfigurationError, match="has already ended"):
        agentnb.attach(run.local_id, display=False)  # by its local id, found in the history


def test_a_row_without_its_run_id_is_refused(nowhere: Path) -> None:
    recorded(nowhere, thread_id="t")
    with pytest.raises(ConfigurationError, match="no platform run id"):
        agentnb.attach(agentnb.runs()[0], display=False)


def test_a_row_without_its_thread_is_refused(nowhere: Path) -> None:
    recorded(nowhere, run_id="run_2")
    with pytest.raises(ConfigurationError, match="pass thread_id="):
        agentnb.attach(agentnb.runs()[0], display=False)


def test_an_id_the_history_does_not_know_needs_its_agent(nowhere: Path) -> None:
    with pytest.raises(ConfigurationError, match="which agent it belongs to"):
        agentnb.attach("run_unknown", via="gone", display=False)


def test_a_finished_remote_run_is_refused(nowhere: Path) -> None:
    remote = RemoteRun(run_id="run_3", agent="writer", thread_id="t", status="completed")
    with pytest.raises(ConfigurationError, match="has already ended"):
        agentnb.attach(remote, via="gone", display=False)


def test_a_row_of_another_platform_is_refused(nowhere: Path) -> None:
    recorded(nowhere, run_id="run_4", thread_id="t", provider="langgraph", connection="x")
    with pytest.raises(ConfigurationError, match="ran on langgraph"):
        agentnb.attach(agentnb.runs()[0], via="gone", display=False)


def test_something_else_is_refused(nowhere: Path) -> None:
    with pytest.raises(ConfigurationError, match="not int"):
        agentnb.attach(42, display=False)
    with pytest.raises(ConfigurationError, match="takes one run"):
        agentnb.attach(agentnb.runs(), display=False)


def test_a_pandas_row_is_a_history_row(nowhere: Path) -> None:
    recorded(nowhere, run_id="run_5")
    row = agentnb.runs().to_pandas().iloc[0]
    with pytest.raises(ConfigurationError, match="pass thread_id="):
        agentnb.attach(row, display=False)
