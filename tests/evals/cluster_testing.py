"""Clusters for the executor tests, started by their own commands as a person starts them:
``dask scheduler`` and two ``dask worker`` processes, or ``ray start --head``, all on
127.0.0.1, from the venvs ``tests/sdk_envs/dask.txt`` and ``ray.txt`` make (each with agentnb
from the checkout). Each service is waited for while its process lives and makes progress
(``agentnb_testing.wait_for_start``: a loaded machine starts it later, never fails it);
leaving stops exactly the processes started here.

Also: the driver that runs an experiment on a cluster from the cluster's venv, and what two
histories are compared on."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentnb_testing import PATIENCE_S, free_port, wait_for_start

from agentnb import evals
from agentnb.history import HistoryStore

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "cluster_driver.py"
SCRIPTED_AGENT = (
    Path(__file__).resolve().parents[1] / "interop" / "acp_agents" / "scripted_agent.py"
)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process started here (and the group it leads), politely first."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(PATIENCE_S)


@dataclass
class Cluster:
    """A cluster started here: its address, and its worker processes (Dask's)."""

    kind: str
    python: Path
    address: str
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextlib.contextmanager
def spawned(
    command: Sequence[str], log: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped with whatever it started
        )  # fmt: skip
        try:
            yield process
        finally:
            stop(process)


@contextlib.contextmanager
def dask_cluster(python: Path, env: Mapping[str, str], tmp: Path) -> Iterator[Cluster]:
    """``dask scheduler`` and two ``dask worker`` processes (one thread each, no nanny: a
    killed worker stays dead), on 127.0.0.1."""
    dask = str(python.parent / "dask")
    address_file = tmp / "scheduler.json"
    with contextlib.ExitStack() as stack:
        scheduler = stack.enter_context(
            spawned(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(free_port()),
                 "--no-dashboard", "--scheduler-file", str(address_file)],
                tmp / "scheduler.log", env,
            )
        )  # fmt: skip
        wait_for_start(
            scheduler, lambda: _address(address_file), tmp / "scheduler.log", "write its address"
        )
        address = _address(address_file)
        workers = [
            stack.enter_context(spawned(_worker(dask, address, n), tmp / f"worker-{n}.log", env))
            for n in range(2)
        ]
        for n, worker in enumerate(workers):
            log = tmp / f"worker-{n}.log"
            wait_for_start(worker, lambda log=log: "Registered to" in log.read_text(), log,
                           "register with the scheduler")  # fmt: skip
        yield Cluster("dask", python, address, dict(env), workers)


def _worker(dask: str, address: str, n: int) -> list[str]:
    return [
        dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
        "--no-dashboard", "--name", f"worker-{n}",
    ]  # fmt: skip


def _address(path: Path) -> str:
    try:
        return str(json.loads(path.read_text())["address"])
    except (OSError, ValueError, KeyError):
        return ""


@contextlib.contextmanager
def ray_cluster(python: Path, env: Mapping[str, str], tmp: Path) -> Iterator[Cluster]:
    """``ray start --head --block`` on 127.0.0.1 with two CPUs (two tasks at once)."""
    ray = str(python.parent / "ray")
    port = free_port()
    address = f"127.0.0.1:{port}"
    temp = Path(f"/tmp/ray-{os.getpid()}-{port}")  # short: Ray's socket paths have a limit
    command = [
        ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
        str(port), "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats",
        "--temp-dir", str(temp),
    ]  # fmt: skip
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, temp, ignore_errors=True)  # after Ray stopped
        head = stack.enter_context(spawned(command, tmp / "ray.log", env))
        stack.callback(_stop_head_first, head)

        def up() -> bool:
            status = subprocess.run(
                [ray, "status", "--address", address], env=dict(env), capture_output=True
            )
            if status.returncode != 0:
                time.sleep(2)  # each look starts a Python that loads Ray: not too often
            return status.returncode == 0

        wait_for_start(head, up, tmp / "ray.log", f"answer ray status at {address}")
        yield Cluster("ray", python, address, dict(env))


def _stop_head_first(head: subprocess.Popen[bytes]) -> None:
    """Ray's head, signalled alone, stops the processes it started while its GCS still
    answers; signalled with its whole group (``stop``), it waited 30 s to drain the node
    through a GCS already gone. What it leaves is then stopped with its group."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(PATIENCE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)


def drive(cluster: Cluster, which: str, history: Path, tmp: Path) -> subprocess.Popen[bytes]:
    """Start the driver: experiment ``which`` on ``cluster``, written into ``history``."""
    log = tmp / f"driver-{which}.log"
    env = {**cluster.env, "AGENTNB_HISTORY": str(history)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(cluster.python), str(DRIVER), cluster.kind, cluster.address, which],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def driven(process: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for the driver to end; its output, or a failure with it."""
    process.wait()
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output[-4000:]
    return output


COMPARED = (
    "connection", "provider", "host", "agent", "message", "answer", "status", "error_code",
    "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "model",
    "tool_call_count", "model_settings", "finish_reason",
)  # fmt: skip
"""What a run on a worker has as a local run has it (its ids and times are its own)."""


def pairs_of(history: Path, name: str) -> list[dict[str, Any]]:
    """Each pair of experiment ``name`` in ``history``: its question, arm, run (the fields
    :data:`COMPARED` and its metadata but ``worker``), scores and evaluator errors, and
    apart, where it ran."""
    store = HistoryStore(history)
    try:
        exp = evals.experiment(name, store=store)
        frame = exp.to_pandas()
        records = {r.local_id: r for r in store.runs_by_ids(list(frame["local_id"].dropna()))}
        pairs = []
        for row in frame.to_dict("records"):
            record = records[row["local_id"]]
            metadata = dict(record.metadata or {})
            worker = metadata.pop("worker", None)
            pairs.append(
                {
                    "id": row["id"],
                    "arm": row["arm"],
                    **{key: getattr(record, key) for key in COMPARED},
                    "metadata": metadata,
                    **{k: v for k, v in row.items() if k.startswith(("score.", "evaluator_"))},
                    "ran_on": worker,
                }
            )
        return pairs
    finally:
        store.close()


def without_place(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in pair.items() if k != "ran_on"} for pair in pairs]


def cluster_env(server_url: str, api_key: str, acp_python: Path, spin_log: Path) -> dict[str, str]:
    """The environment of the driver and every worker: the two connections the experiments
    use (the key of ``cluster`` only here, in the environment), the experiments' folder on
    the path (the workers import its evaluator), where the scripted agent notes its
    starts, and the file whose existence releases its held spins (beside that log)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTNB_", "PYTEST", "COV_"))}
    return env | {
        "AGENTNB_HISTORY": os.environ["AGENTNB_HISTORY"],
        "AGENTNB_CLUSTER_PROVIDER": "operativus",
        "AGENTNB_CLUSTER_BASE_URL": server_url,
        "AGENTNB_CLUSTER_API_KEY": api_key,
        "AGENTNB_SPINNER_PROVIDER": "acp",
        "AGENTNB_SPINNER_COMMAND": f"{acp_python} {SCRIPTED_AGENT}",
        "PYTHONPATH": str(HERE),
        "SCRIPTED_SPIN_LOG": str(spin_log),
        "SCRIPTED_SPIN_RELEASE": str(spin_log.with_name("release")),
        # Ray on Linux takes the machine's network address even when told 127.0.0.1; off,
        # this setting keeps a one-machine cluster on loopback (ray_constants.py)
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }
