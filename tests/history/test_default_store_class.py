"""There is one store class, ``agentnb.history.HistoryStore``, and the history agentnb records
in by default is one object of it per file: its ``runs()`` are the table a notebook shows, its
``summary()`` is formatted, whichever part of agentnb opened it first (a run's recorder,
``default_store()``, scoring), and a store a client was handed as its recorder is the same
class. A plain script's run does not load what shows the tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import agentnb
import agentnb._history
import agentnb.history
from agentnb._app.front.connections import disconnect, store_of
from agentnb._app.past.history_tables import summary_class
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import RunCompleted, TextDelta, Usage
from agentnb.server import ServerHandle

BASE_URL = "http://127.0.0.1:8123/v1"


pytestmark = pytest.mark.usefixtures("own_default_store")


def completed_run() -> Run:
    run = Run(agent="echo", message="q", provider="operativus", connection="default")
    run.start()
    t = run.started_at or time.time()
    run.apply(TextDelta(delta="a", received_at=t + 0.1))
    usage = Usage(prompt_tokens=3, completion_tokens=4)
    run.apply(RunCompleted(usage=usage, execution_time=0.2, received_at=t + 0.2))
    return run


def assert_shows_its_tables(store: agentnb.history.HistoryStore, local_id: str) -> None:
    assert type(store.runs()) is agentnb.history.RunHistory
    assert type(store.runs_by_ids([local_id])) is agentnb.history.RunHistory
    assert isinstance(store.summary(), summary_class())
    assert "plain numbers" in repr(store.summary())  # its text is the formatted table's
    assert "success" not in repr(store.summary(columns=["runs"]))


def test_there_is_one_store_class() -> None:
    assert agentnb._history.HistoryStore is agentnb.history.HistoryStore


def test_default_store_is_the_public_store_whose_tables_are_shown() -> None:
    store = agentnb.history.default_store()
    assert isinstance(store, agentnb.history.HistoryStore)
    run = completed_run()
    store.record_start(run, RunRequest(agent="echo", message="q"), base_url=BASE_URL)
    store.record_end(run)
    assert_shows_its_tables(store, run.local_id)
    assert agentnb.history.default_store() is store


def test_every_part_that_opens_the_default_store_gets_the_same_object() -> None:
    from agentnb._app.front.scoring import scores

    recorder = agentnb._default_recorder()
    assert isinstance(recorder, agentnb.history.HistoryStore)
    assert scores() == []  # scoring opened it too
    client = agentnb.AgentClient("operativus", base_url=BASE_URL, api_key="k")
    assert store_of(client.aio) is recorder
    assert agentnb.history.default_store() is recorder
    client.close()


def test_history_of_the_default_connection_is_the_default_store(server: ServerHandle) -> None:
    agentnb.connect("operativus", base_url=server.url_for("operativus"), api_key=server.api_key)
    try:
        store = agentnb.history.history_of()
        assert store is not None and store is agentnb.history.default_store()
        handle = agentnb.ask("echo", "hello", display=False, wait=True)
        assert isinstance(store, agentnb.history.HistoryStore)
        assert_shows_its_tables(store, handle.run.local_id)
    finally:
        disconnect()


def test_history_of_a_client_given_a_store_made_as_the_cli_makes_one(
    server: ServerHandle, tmp_path: Path
) -> None:
    made = agentnb._history.HistoryStore(tmp_path / "cli.sqlite3")
    client = agentnb.AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, recorder=made
    )
    try:
        store = agentnb.history.history_of(client)
        assert store is made and isinstance(store, agentnb.history.HistoryStore)
        run = client.run("echo", "hello")
        assert_shows_its_tables(store, run.local_id)
    finally:
        client.close()
        made.close()


RECORDS_FIRST = """
import json, sys, time
import agentnb
from agentnb._core.recorder import default_recorder
from agentnb._core.request import RunRequest
from agentnb._core.run import Run

recorder = default_recorder()
run = Run(agent="echo", message="q", provider="operativus", connection="default")
run.start()
recorder.record_start(run, RunRequest(agent="echo", message="q"), base_url="http://127.0.0.1:1")
recorder.record_end(run)
recorder.flush()
after_run = {name: name in sys.modules for name in ("agentnb.history",
    "agentnb._app.past.history_tables", "IPython")}

import agentnb.history as history
store = history.default_store()
print(json.dumps({
    "after_run": after_run,
    "same": store is recorder,
    "public": isinstance(store, history.HistoryStore),
    "table": type(store.runs()) is history.RunHistory,
    "ids": [r.local_id for r in store.runs()],
    "run": run.local_id,
}))
"""


def test_a_run_recorded_before_the_history_is_imported_lands_in_the_same_store(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTNB_HISTORY"}
    done = subprocess.run(
        [sys.executable, "-c", RECORDS_FIRST],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "AGENTNB_HISTORY": str(tmp_path / "first.sqlite3")},
    )
    seen = json.loads(done.stdout)
    assert seen["after_run"] == {  # recording loads nothing that shows the tables
        "agentnb.history": False,
        "agentnb._app.past.history_tables": False,
        "IPython": False,
    }
    assert seen["same"] and seen["public"] and seen["table"]
    assert seen["ids"] == [seen["run"]]
