"""A real kernel beside many displayed runs: how long the cell that starts them holds the
kernel, and how fast ``1+1`` answers while they stream; then a fresh kernel's first answer.

    python benchmarks/bench_kernel_cells.py [--runs 200] [--probe-s 5] [--smoke]

A ``python3`` Jupyter kernel (jupyter_client) runs, for each agent below, one cell
``handles = [agentnb.ask(agent, ...) for i in range(runs)]`` (each run displayed: a chat cell
and its static copy), timed from the request to the kernel's reply; then ``1+1`` cells one
after another for ``--probe-s`` seconds, each timed the same way, while the runs stream. A
kernel that answers ``1+1`` alone is the floor. The CPU seconds the kernel's threads spent
while the cell ran (its main thread, and all of them: agentnb's loop, the built-in server's
thread, ipykernel's output thread) move less with the machine's load than its wall time.

- paced: ``writer`` (a long markdown answer, a few seconds of chunks) on a built-in server in
  this process with 20 ms between chunks, so the first runs stream while the cell shows the
  later ones;
- echo: the ``echo`` agent on the default connection (the built-in server the kernel starts).

First answer: a fresh kernel runs ``%load_ext agentnb`` then ``%%agent echo`` and the time
from sending the first cell to the first comm message holding answer text is reported, with
the ``%load_ext`` cell alone (the kernels before it have compiled the bytecode). Each kernel
keeps bytecode as an installed package does, even where ``PYTHONDONTWRITEBYTECODE`` is set.

``--smoke``: 2 runs, a 0.2 s probe (benchmarks/smoke.py runs it).
"""

from __future__ import annotations

import argparse
import ast
import os
import queue
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Any

import jupyter_client
from patience import PATIENCE_S

from agentnb.server import start_server


@contextmanager
def kernel() -> Any:
    env = {**os.environ}
    env.setdefault("AGENTNB_HISTORY", os.path.join(tempfile.mkdtemp(), "history.sqlite3"))
    # bytecode compiled once and kept, as an installed package has it (without it, every
    # kernel compiles each module it imports: seconds of a first answer)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "agentnb-bench-pycache")
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=PATIENCE_S)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def drain(client: Any) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(client.get_iopub_msg(timeout=0))
        except queue.Empty:
            return messages


def timed(client: Any, code: str, timeout: float = PATIENCE_S) -> float:
    """Seconds from sending ``code`` to the kernel's reply; raises if the cell raised."""
    return timed_reply(client, code, timeout)[0]


def timed_reply(
    client: Any, code: str, timeout: float = PATIENCE_S, expressions: dict[str, str] | None = None
) -> tuple[float, dict[str, Any]]:
    """Seconds from sending ``code`` to the kernel's reply, and the reply's user expressions."""
    started = time.perf_counter()
    msg_id = client.execute(code, user_expressions=expressions or {})
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    took = time.perf_counter() - started
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed: {reply['content'].get('evalue')}")
    drain(client)
    return took, reply["content"].get("user_expressions", {})


THREADS_CPU = (
    "{t.name: __import__('time').clock_gettime(__import__('time').pthread_getcpuclockid(t.ident))"
    " for t in __import__('threading').enumerate()}"
)
"""CPU seconds each of the kernel's threads has used (Linux): its main thread, agentnb's
loop, the built-in server's thread, ipykernel's output thread (IOPub)."""


def threads_cpu(client: Any) -> dict[str, float]:
    _, reply = timed_reply(client, "pass", expressions={"cpu": THREADS_CPU})
    cpu: dict[str, float] = ast.literal_eval(reply["cpu"]["data"]["text/plain"])
    return cpu


def cpu_figures(before: dict[str, float], after: dict[str, float]) -> str:
    """The main thread's CPU during the cell, and all threads' together."""
    spent = {name: seconds - before.get(name, 0.0) for name, seconds in after.items()}
    return f"{spent.get('MainThread', 0.0):.2f} / {sum(spent.values()):.2f} s"


def probe(client: Any, seconds: float) -> list[float]:
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        samples.append(timed(client, "1+1"))
    return samples


def probe_while_streaming(client: Any, runs: int, seconds: float) -> list[float]:
    """``1+1`` timed until every run has ended (or ``seconds`` pass): only the cells whose
    reply found a run still going are kept, so cells after the streams end do not dilute it."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    done = {"done": "sum(h.run.done for h in handles)"}
    while time.perf_counter() < deadline:
        took, reply = timed_reply(client, "1+1", expressions=done)
        ended = int(reply["done"]["data"]["text/plain"])
        if ended == runs:
            break
        samples.append(took)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def streaming_figures(samples: list[float]) -> str:
    if not samples:
        return "(every run ended before the cell returned)"
    return f"{ms(statistics.median(samples))} / {ms(pct(samples, 0.99))} ({len(samples)})"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def many_runs(runs: int, probe_s: float, paced_url: str, paced_key: str) -> list[str]:
    rows = []
    setup = (
        "import agentnb\n"
        f"agentnb.connect('operativus', base_url={paced_url!r}, api_key={paced_key!r},"
        " name='paced')\n"
    )
    cases = [
        ("paced", "writer", ", via='paced'"),
        ("echo", "echo", ""),
    ]
    for label, agent, via in cases:
        with kernel() as client:
            timed(client, setup)
            floor = probe(client, min(probe_s, 2.0))
            timed(
                client,
                f"agentnb.ask({agent!r}, 'warm up'{via}, display=False).wait({PATIENCE_S:g})",
            )
            before = threads_cpu(client)
            cell = timed(
                client,
                f"handles = [agentnb.ask({agent!r}, f'Question {{i}} on NVDA'{via})"
                f" for i in range({runs})]",
            )
            cpu = cpu_figures(before, threads_cpu(client))
            during = probe_while_streaming(client, runs, probe_s)
            msg_id = client.execute("print(sum(h.run.done for h in handles))")
            done_after = ""
            while not done_after:
                msg = client.get_iopub_msg(timeout=PATIENCE_S)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                    done_after = msg["content"]["text"].strip()
            rows.append(
                f"| {label} | {runs} | {cell:.2f} s | {cpu}"
                f" | {ms(pct(floor, 0.5))} / {ms(pct(floor, 0.99))}"
                f" | {streaming_figures(during)}"
                f" | {done_after} |"
            )
    return rows


def first_answer() -> str:
    with kernel() as client:
        started = time.perf_counter()
        load = timed(client, "%load_ext agentnb")
        msg_id = client.execute("%%agent echo\nHello there")
        answer = None
        while answer is None:
            msg = client.get_iopub_msg(timeout=PATIENCE_S)
            if msg["msg_type"] == "comm_msg" and "Hello" in str(msg["content"]["data"]):
                answer = time.perf_counter() - started
            elif msg["msg_type"] == "error" and msg["parent_header"].get("msg_id") == msg_id:
                raise RuntimeError(msg["content"]["evalue"])
        return f"| {load:.2f} s | {answer:.2f} s |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--probe-s", type=float, default=5.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    runs, probe_s = (2, 0.2) if args.smoke else (args.runs, args.probe_s)
    server = start_server(delay_ms=20)
    try:
        rows = many_runs(runs, probe_s, server.url_for("operativus"), server.api_key)
    finally:
        server.stop()
    print(
        "| agent | runs | cell returns | kernel CPU in the cell: main thread / all threads "
        "| `1+1` alone p50 / p99 | `1+1` while they stream p50 / p99 (cells) "
        "| runs done after the probe |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("| `%load_ext agentnb` | first `%%agent echo` answer text, from the first cell sent |")
    print("|---|---|")
    print(first_answer())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
