"""One experiment three ways, its histories compared: in process, on a Dask cluster started
by its commands (``dask scheduler``, two ``dask worker`` processes) and on Ray
(``ray start --head``), every run back in the notebook's history, the same pairs,
statuses, answers, usage and scores, each remote run naming its worker. And a Dask worker
killed mid-experiment: its pair is run again, once, and nothing is lost."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import cluster_experiments
import pytest
from agentnb_testing import PROGRAM_PATIENCE_S, sdk_python, wait_until
from cluster_testing import (
    Cluster,
    cluster_env,
    dask_cluster,
    drive,
    driven,
    pairs_of,
    ray_cluster,
    without_place,
)

from agentnb._history import close_default_stores
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def acp_python() -> Path:
    return sdk_python("acp")


@pytest.fixture
def env(
    server: ServerHandle, acp_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The cluster's environment, and this process's the same (the notebook's side of the
    in-process run reads the same connections)."""
    made = cluster_env(
        server.url_for("operativus"), server.api_key, acp_python, tmp_path / "spins.log"
    )
    for key in ("AGENTNB_CLUSTER_PROVIDER", "AGENTNB_CLUSTER_BASE_URL", "AGENTNB_CLUSTER_API_KEY"):
        monkeypatch.setenv(key, made[key])
    return made


@pytest.fixture
def in_process(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tickers experiment run in this process, without an executor: its history."""
    history = tmp_path / "in-process.sqlite3"
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))
    try:
        cluster_experiments.tickers()
    finally:
        close_default_stores()
    return history


@pytest.fixture
def dask(env: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    with dask_cluster(sdk_python("dask"), env, tmp_path) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def ray(
    server: ServerHandle, acp_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One Ray cluster for the module's two Ray tests, with an environment of its own (the
    same server; a spin log only the cancel test writes): ``ray start`` is the costliest
    start here, and neither test leaves work on the cluster (the experiment ends whole; the
    cancel test waits for its spins to stop). The experiment test comes first in the file,
    so it sees Ray's two workers as started."""
    tmp = tmp_path_factory.mktemp("ray")
    env = cluster_env(server.url_for("operativus"), server.api_key, acp_python, tmp / "spins.log")
    with ray_cluster(sdk_python("ray"), env, tmp) as cluster:
        yield cluster


def remote_history(cluster: Cluster, which: str, tmp_path: Path) -> Path:
    history = tmp_path / f"{cluster.kind}.sqlite3"
    driven(drive(cluster, which, history, tmp_path), tmp_path / f"driver-{which}.log")
    return history


def assert_same_as_in_process(remote: Path, local: Path, kind: str) -> None:
    there, here = pairs_of(remote, "tickers"), pairs_of(local, "tickers")
    assert without_place(there) == without_place(here)
    assert len(here) == 6 and all(p["status"] == "completed" for p in here)
    assert all(p["score.contains"] is True and p["score.names_ticker"] is True for p in here)
    assert {p["ran_on"] for p in here} == {None}  # a local run names no worker
    workers = {p["ran_on"] for p in there}
    assert None not in workers and all(":" in w for w in workers), workers
    assert len(workers) == 2, f"{kind}'s two workers each ran pairs: {workers}"


def test_the_same_experiment_on_dask_has_the_same_history(
    dask: Cluster, in_process: Path, tmp_path: Path
) -> None:
    assert_same_as_in_process(remote_history(dask, "tickers", tmp_path), in_process, "dask")


def test_the_same_experiment_on_ray_has_the_same_history(
    ray: Cluster, in_process: Path, tmp_path: Path
) -> None:
    assert_same_as_in_process(remote_history(ray, "tickers", tmp_path), in_process, "ray")


@pytest.mark.parametrize("sent_again_by", ["dask", "agentnb"])
def test_a_dask_worker_killed_mid_task_loses_nothing(
    sent_again_by: str, env: dict[str, str], tmp_path: Path
) -> None:
    """Dask sends a lost task again itself; told to allow no failure, it fails the task
    (KilledWorker) and the experiment sends it again, once."""
    if sent_again_by == "agentnb":
        env = env | {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with dask_cluster(sdk_python("dask"), env, tmp_path) as dask:
        killed_and_redone(dask, tmp_path)


def killed_and_redone(dask: Cluster, tmp_path: Path) -> None:
    """And the driver's progress showed it: its clock moving while no run was back, how
    many ran where, and the worker lost with its task sent again."""
    spins = Path(dask.env["SCRIPTED_SPIN_LOG"])
    history = tmp_path / "killed.sqlite3"
    log = tmp_path / "driver-spin.log"
    driver = drive(dask, "spin", history, tmp_path)
    wait_until(
        lambda: spins.exists() and "2 running on 2 workers" in log.read_text(errors="replace"),
        "a task's agent started, and the progress saying both workers run a task",
        timeout=PROGRAM_PATIENCE_S,
    )
    name, _, worker_pid = spins.read_text().splitlines()[-1].split()  # the latest started
    killed = next(w for w in dask.workers if w.pid == int(worker_pid))
    os.kill(killed.pid, signal.SIGKILL)  # mid-task: its agent holds its spin
    lost = r"worker tcp://127\.0\.0\.1:\d+ lost with [1-9]\d* tasks? on it: sent again"

    def told(output: str) -> bool:
        """The progress said the worker was lost, and its clock moved while no run was back."""
        return bool(re.search(lost, output)) and len(clocks_while_none_back(output)) >= 2

    wait_until(
        lambda: told(log.read_text(errors="replace")),
        "the progress saying the worker was lost, its clock moving while no run is back",
        timeout=PROGRAM_PATIENCE_S,
    )
    Path(dask.env["SCRIPTED_SPIN_RELEASE"]).touch()  # every spin ends, the redone one too
    output = driven(driver, log)
    assert told(output), output

    pairs = pairs_of(history, "spin")
    assert [(p["id"], p["status"], p["answer"]) for p in pairs] == [
        (f"q{n}", "completed", f"q{n} spun") for n in range(4)
    ]
    starts = cluster_experiments.started(spins)
    assert starts.count(name) == 2, f"{name} redone once: {starts}"
    assert all(starts.count(f"q{n}") == 1 for n in range(4) if f"q{n}" != name), starts
    redone = next(p for p in pairs if p["id"] == name)
    assert not redone["ran_on"].endswith(f":{worker_pid}")
    store_runs = _runs_of(history)
    assert len(store_runs) == 4, "one run a pair: the killed worker's run never came back"


def clocks_while_none_back(output: str) -> set[str]:
    """The clocks the driver's progress drew while no run of four was back."""
    drawn = re.split(r"[\r\n]", output)
    return {line.rsplit("(", 1)[1] for line in drawn if line.startswith("experiment spin: 0/4")}


def _runs_of(history: Path) -> list[str]:
    store = HistoryStore(history)
    try:
        return [r.local_id for r in store.runs()]
    finally:
        store.close()


def test_cancel_on_ray_drops_the_tasks_not_started_and_stops_the_running_ones(
    ray: Cluster, tmp_path: Path
) -> None:
    spins = Path(ray.env["SCRIPTED_SPIN_LOG"])
    history = tmp_path / "cancelled.sqlite3"
    output = driven(
        drive(ray, "spin_cancelled", history, tmp_path), tmp_path / "driver-spin_cancelled.log"
    )
    assert "undone: 4" in output
    running = cluster_experiments.started(spins)
    assert len(running) == 2, running  # the two not started never did

    def stopped() -> set[str]:
        lines = spins.read_text().splitlines()
        return {line.split()[0] for line in lines if line.split()[1:2] == ["stopped"]}

    wait_until(
        lambda: stopped() == set(running), "both running spins stopped", timeout=PROGRAM_PATIENCE_S
    )
    assert _runs_of(history) == []  # nothing half-written
