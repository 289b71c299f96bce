"""``experiment(..., executor=ex)``: each pair a task for an executor, against the built-in
server. The executor here is the standard library's thread pool, each task pickled on its
way in as a process pool or a cluster pickles it (the bytes are read for the key); the
tests on a Dask and a Ray cluster are in test_cluster_experiments.py."""

from __future__ import annotations

import concurrent.futures
import pickle
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from agentnb_testing import PEER_TIMEOUT, sdk_python
from cluster_testing import SCRIPTED_AGENT, pairs_of, without_place

import agentnb
from agentnb import ConfigurationError, evals
from agentnb._app.front.connections import disconnect
from agentnb._history import close_default_stores
from agentnb.evals._remote_task import _WORKER, RemoteRun
from agentnb.history import HistoryStore, RunRecord
from agentnb.server import ServerHandle
from agentnb.types import env_prefix

ROWS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"},
    {"id": "aapl", "question": "How did AAPL close?", "expected": "AAPL"},
]


class PicklingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that pickles each task as a process pool does, keeping the bytes."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers, thread_name_prefix="worker")
        self.sent: list[bytes] = []

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        data = pickle.dumps((fn, args, kwargs))
        self.sent.append(data)
        task, given, named = pickle.loads(data)
        return super().submit(task, *given, **named)


class Where:
    """An evaluator that says whether it is the notebook's own or a copy a task carried."""

    def __init__(self, name: str, on_worker: bool) -> None:
        self.__name__ = name
        self.on_worker = on_worker
        self.copied = False

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, copied=True)

    def __call__(self, run: RunRecord, example: dict[str, Any]) -> str:
        return "a task's copy" if self.copied else "the notebook's"


@pytest.fixture
def executor() -> Iterator[PicklingExecutor]:
    """The pool; after it, what its tasks kept in this process (the worker) is closed."""
    with PicklingExecutor() as made:
        yield made
    _WORKER.close()


@pytest.fixture
def keyed(connection: str, server: ServerHandle, monkeypatch: pytest.MonkeyPatch) -> str:
    """The connection, its key also in the environment, where a worker reads it."""
    monkeypatch.setenv(f"{env_prefix(connection)}API_KEY", server.api_key)
    return connection


def run_tickers(connection: str, executor: concurrent.futures.Executor | None) -> None:
    evals.experiment(
        "tickers",
        ["finance_agent", "echo"],
        ROWS,
        via=connection,
        evaluators=[evals.contains],
        progress=False,
        executor=executor,
    ).wait()


def test_an_experiment_on_an_executor_keeps_what_a_local_one_keeps(
    keyed: str, executor: PicklingExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    histories = {"local": tmp_path / "local.sqlite3", "remote": tmp_path / "remote.sqlite3"}
    for way, history in histories.items():
        monkeypatch.setenv("AGENTNB_HISTORY", str(history))
        run_tickers(keyed, executor if way == "remote" else None)
        close_default_stores()
    local, remote = (pairs_of(histories[way], "tickers") for way in ("local", "remote"))
    assert without_place(remote) == without_place(local)
    assert [(p["id"], p["arm"], p["status"]) for p in remote] == [
        (row["id"], arm, "completed") for row in ROWS for arm in ("finance_agent", "echo")
    ]
    assert {p["ran_on"] for p in local} == {None}
    assert all(p["ran_on"] and p["ran_on"].rsplit(":", 1)[1].isdigit() for p in remote)
    assert len(executor.sent) == 4  # one task a pair
    assert _WORKER.history().count() == 0  # the worker (this process) forgot what it sent


def test_a_task_carries_no_key(
    keyed: str, executor: PicklingExecutor, server: ServerHandle
) -> None:
    run_tickers(keyed, executor)
    assert executor.sent
    for data in executor.sent:
        assert server.api_key.encode() not in data
        assert b"api_key" not in data.replace(b"API_KEY", b"")  # nor a field named so


def test_a_worker_without_the_key_fails_naming_its_variable_and_a_rerun_finishes(
    connection: str, executor: PicklingExecutor, server: ServerHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    variable = f"{env_prefix(connection)}API_KEY"
    monkeypatch.delenv(variable, raising=False)
    with pytest.warns(UserWarning, match="left 4 pairs undone") as warned:
        run_tickers(connection, executor)
    said = " ".join(str(warned[0].message).split())
    assert "left 4 pairs undone" in said
    assert said.count(f"{variable} is not set on worker") == 1, said  # said once, not 4 times
    frame = evals.experiment("tickers").to_pandas()
    assert frame["status"].isna().all()  # undone, nothing half-written
    assert len(agentnb.runs()) == 0

    monkeypatch.setenv(variable, server.api_key)
    run_tickers(connection, executor)  # the same experiment again: its undone pairs run
    frame = evals.experiment("tickers").to_pandas()
    assert list(frame["status"]) == ["completed"] * 4


@pytest.mark.parametrize(
    ("dialect", "option", "value"),
    [
        ("operativus", "headers", {"X-Api-Key": "sk-header-secret"}),
        ("acp", "env", {"ANTHROPIC_API_KEY": "sk-env-secret"}),
    ],
)
def test_a_connection_whose_options_may_hold_a_key_is_refused_before_anything_is_sent(
    server: ServerHandle, executor: PicklingExecutor, dialect: str, option: str,
    value: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    name = f"carrying_{option}"
    where: dict[str, Any] = (
        {"base_url": server.url_for("operativus"), "api_key": server.api_key}
        if dialect == "operativus"
        else {"command": ["agent-never-started"]}
    )
    agentnb.connect(dialect, name=name, **where, **{option: value})
    try:
        with pytest.raises(ConfigurationError, match=f"has {option}=, which may carry a key"):
            evals.experiment("t", name if dialect == "acp" else "echo", ROWS, via=name,
                             progress=False, executor=executor)  # fmt: skip
    finally:
        disconnect(name)
        close_default_stores()
    assert executor.sent == []


def test_evaluators_marked_on_worker_run_there_and_the_others_here(
    keyed: str, executor: PicklingExecutor
) -> None:
    evals.experiment(
        "where", "echo", ROWS, via=keyed, evaluators=[Where("there", True), Where("here", False)],
        progress=False, executor=executor,
    ).wait()  # fmt: skip
    frame = evals.experiment("where").to_pandas()
    assert list(frame["score.there"]) == ["a task's copy"] * 2
    assert list(frame["score.here"]) == ["the notebook's"] * 2


def test_cancel_cancels_the_tasks_not_started_and_a_rerun_runs_them(keyed: str) -> None:
    held = threading.Event()
    with PicklingExecutor(workers=1) as executor:
        super(PicklingExecutor, executor).submit(held.wait)  # its one worker busy: tasks queue
        exp = evals.experiment(
            "cancelled", ["finance_agent", "echo"], ROWS, via=keyed, progress=False,
            executor=executor,
        )  # fmt: skip
        exp.cancel()
        held.set()
        with pytest.warns(UserWarning, match="left 4 pairs undone") as warned:
            exp.wait()
        said = " ".join(str(warned[0].message).split())
        assert "left 4 pairs undone: its task was cancelled" in said
        assert exp.to_pandas()["status"].isna().all()
        assert len(agentnb.runs()) == 0
        again = evals.experiment(
            "cancelled", ["finance_agent", "echo"], ROWS, via=keyed, progress=False,
            executor=executor,
        ).wait()  # fmt: skip
    _WORKER.close()
    assert list(again.to_pandas()["status"]) == ["completed"] * 4


def test_an_executor_must_be_a_concurrent_futures_executor(keyed: str) -> None:
    with pytest.raises(ConfigurationError, match=r"concurrent\.futures\.Executor"):
        evals.experiment("x", "echo", ROWS, via=keyed, executor="dask")  # type: ignore[arg-type]


@pytest.mark.parametrize("extra", ["dask", "ray"])
def test_neither_dask_nor_ray_is_imported_unless_used(extra: str) -> None:
    """In the venv that has it installed: importing agentnb and its evals loads neither."""
    python = sdk_python(extra)
    installed = "distributed" if extra == "dask" else "ray"
    probe = (
        "import sys, agentnb, agentnb.evals, importlib.util\n"
        f"assert importlib.util.find_spec({installed!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'ray')))\n"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ray_executor_without_ray_says_which_extra_to_install() -> None:
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("Ray is installed here")
    with pytest.raises(ConfigurationError, match=r"agentnb\[ray\]"):
        evals.ray_executor()


def test_a_task_that_hangs_is_bounded_by_its_runs_own_limit(
    executor: PicklingExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent that never ends (``slow``) on a connection with ``run_timeout``: the limit
    travels with the task, ends the run there, and the task comes back with it."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    agentnb.connect(
        "acp", command=[str(sdk_python("acp")), str(SCRIPTED_AGENT)], name="slowpoke",
        run_timeout=3, timeout=PEER_TIMEOUT,
    )  # fmt: skip
    try:
        exp = evals.experiment(
            "hangs", "slowpoke", ["slow"], via="slowpoke", progress=False, executor=executor
        ).wait()
        (record,) = exp.runs()
    finally:
        disconnect("slowpoke")
        close_default_stores()
    # (what came before the limit may be nothing on a loaded machine: not checked)
    assert (record.status, record.error_code) == ("interrupted", "timeout")


class HostileCluster(PicklingExecutor):
    """A cluster whose workers run each task, then hand back what ``tamper`` makes of its
    result: a worker is a peer, and what it returns is input."""

    def __init__(self, tamper: Callable[[RemoteRun], Any]) -> None:
        super().__init__()
        self.tamper = tamper

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        return concurrent.futures.ThreadPoolExecutor.submit(self, lambda: self.tamper(fn()))


def hostile_experiment(name: str, connection: str, tamper: Callable[[RemoteRun], Any]) -> Any:
    with HostileCluster(tamper) as cluster:
        exp = evals.experiment(
            name, "echo", ROWS, via=connection, evaluators=[Where("there", True)],
            progress=False, executor=cluster,
        )  # fmt: skip
        exp.wait()
    _WORKER.close()
    return exp


def test_a_worker_never_names_a_run_of_this_history_nor_its_scores_source(
    keyed: str, tmp_path: Path
) -> None:
    before = evals.experiment("before", "echo", ROWS[:1], via=keyed, progress=False).wait()
    (existing,) = before.runs()

    def as_the_existing_run(ran: RemoteRun) -> RemoteRun:
        runs = tuple(replace(r, local_id=existing.local_id) for r in ran.runs)
        calls = tuple(replace(c, local_id=existing.local_id) for c in ran.calls)
        said = tuple(replace(e, source="person") for e in ran.evaluations)
        return RemoteRun(ran.worker, runs, calls, said)

    exp = hostile_experiment("taken", keyed, as_the_existing_run)
    ids = [run.local_id for run in exp.runs()]
    assert len(set(ids)) == 2 and existing.local_id not in ids  # ids minted here
    store = HistoryStore(tmp_path / "default.sqlite3")
    try:
        assert store.scores([existing.local_id]) == []  # no worker's score on it
        assert {(s.author, s.source) for s in store.scores(ids)} == {("there", "code")}
    finally:
        store.close()


def many_runs(ran: RemoteRun) -> RemoteRun:
    runs = tuple(replace(ran.runs[-1], local_id=f"run-{i}") for i in range(501))
    return RemoteRun(ran.worker, runs, (), ())


def another_agent(ran: RemoteRun) -> RemoteRun:
    return replace(ran, runs=tuple(replace(r, agent="finance_agent") for r in ran.runs))


def another_question(ran: RemoteRun) -> RemoteRun:
    return replace(ran, runs=tuple(replace(r, message="What is 2+2?") for r in ran.runs))


def a_huge_cost(ran: RemoteRun) -> RemoteRun:
    return replace(ran, runs=tuple(replace(r, cost_usd=1e300) for r in ran.runs))


def not_a_result(ran: RemoteRun) -> Any:
    return {"runs": "everything"}


@pytest.mark.parametrize(
    "tamper", [many_runs, another_agent, another_question, a_huge_cost, not_a_result]
)
def test_what_a_worker_hands_back_that_its_task_did_not_ask_leaves_the_pair_undone(
    keyed: str, tamper: Callable[[RemoteRun], Any]
) -> None:
    with pytest.warns(UserWarning, match="left 2 pairs undone") as warned:
        exp = hostile_experiment("hostile", keyed, tamper)
    assert "its run came back and could not be kept" in " ".join(str(warned[0].message).split())
    assert exp.to_pandas()["status"].isna().all()
    assert len(agentnb.runs()) == 0  # nothing of it kept


def test_a_worker_never_names_the_folder_a_later_check_runs_in(keyed: str, tmp_path: Path) -> None:
    def in_the_notebooks_folder(ran: RemoteRun) -> RemoteRun:
        marked = {**(ran.runs[-1].metadata or {}), "workspace": str(tmp_path)}
        return replace(ran, runs=(replace(ran.runs[-1], metadata=marked),))

    exp = hostile_experiment("steered", keyed, in_the_notebooks_folder)
    exp.evaluate(evals.command("touch pwned", name="tests"))
    assert not (tmp_path / "pwned").exists()
    assert all("workspace" not in (run.metadata or {}) for run in exp.runs())


@pytest.mark.parametrize(
    "spelled", ["http://agent:sk-userinfo-secret@{host}{path}", "http://{host}{path}?api_key=sk-q"]
)
def test_a_base_url_carrying_a_credential_is_refused_before_anything_is_sent(
    server: ServerHandle, executor: PicklingExecutor, spelled: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    parts = urlsplit(server.url_for("operativus"))
    url = spelled.format(host=parts.netloc, path=parts.path)
    agentnb.connect("operativus", name="in_url", base_url=url, api_key=server.api_key)
    try:
        with pytest.raises(ConfigurationError, match="base_url carries a credential"):
            evals.experiment("t", "echo", ROWS, via="in_url", progress=False, executor=executor)
    finally:
        disconnect("in_url")
        close_default_stores()
    assert executor.sent == []
