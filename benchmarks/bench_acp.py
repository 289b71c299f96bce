"""An ACP agent's first chunk and turn through agentnb, beside the official SDK's own
``ClientSideConnection`` on the same agent, in one run; and what sessions cost in memory.

    python benchmarks/bench_acp.py [--turns 30] [--words 50] [--think-ms 20] [--rounds 3]
                                   [--sessions 10] [--smoke]

The agent is the tests' scripted ACP agent on the official SDK
(``tests/interop/acp_agents/scripted_agent.py``, run by ``.tools/acp``'s Python, which
``scripts/test.sh`` makes), asked ``words N [SECONDS]``: it streams N words, one
``agent_message_chunk`` each, as fast as it can, then ends the turn; with SECONDS it first
waits that long, as a model does before its first token.

1. **Latency**: the time from sending a prompt to its first text chunk and to the turn's
   end, over ``--turns`` turns on one session after two warm-up turns (median and p95), and
   a cold row: from starting the agent's process to the first chunk of its first turn
   (``initialize``, ``session/new``, the prompt). Twice: an agent answering at once (the
   clients' own cost, nothing else in the way), and one that waits ``--think-ms`` first;
   ``--rounds`` times over. The three clients run in this process, in one event loop, each
   on an agent process of its own, and take their turns in rotation (who goes first changes
   each turn): every client's turns meet the machine's load as the others' do. (One client
   after the other, each in its own minute, read 0.9–2.5× for the same code as the load
   drifted.) The SDK's is its own ``ClientSideConnection`` (``spawn_agent_process``) with
   the least client the agent needs, the first chunk taken in its ``session_update``; it
   runs beside the same packages as agentnb (with OpenTelemetry installed, as agentnb's
   ``otel`` extra and its dev install have it, the SDK opens a span for every message it
   handles, in either client). The agent is ``.tools/acp``'s for all three. The agentnb
   side is ``AsyncAgentClient("acp", command=[...])`` streaming each turn, not recorded
   (``agentnb, recorded`` writes each run to a history file, as a notebook does).
   *CPU to first* is each client's own work to the first chunk (``time.thread_time`` of
   the thread that runs the connection, from the call to the chunk in hand; median over
   the turns): what the machine's load decides least, where the wall-clock figures are
   mostly when the scheduler runs each process.
   Target: agentnb's first chunk ≤ 1.2× the SDK's.
2. **Memory**: ``--sessions`` runs on one session against as many runs each on a session of
   its own (a new thread each), on one connection, in a fresh process each: the Python heap
   the client holds after the runs (``tracemalloc``, the runs dropped and collected) and the
   RSS growth, both less the same after one warm-up run. Target: sessions hold no more than
   runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
from acp import PROTOCOL_VERSION, spawn_agent_process, text_block
from acp.schema import AgentMessageChunk, ClientCapabilities
from patience import PATIENCE_S, PROGRAM_PATIENCE_S

from agentnb import AsyncAgentClient
from agentnb.events import TextDelta

if TYPE_CHECKING:  # the name, not the module attribute that warns it is deprecated
    from acp import ClientSideConnection

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "tests" / "interop" / "acp_agents" / "scripted_agent.py"
ACP_PYTHON = Path(os.environ.get("AGENTNB_SDK_ENVS") or ROOT / ".tools") / "acp" / "bin" / "python"
if not ACP_PYTHON.exists():
    ACP_PYTHON = ROOT / ".tools" / "acp" / "bin" / "python"
SDK, AGENTNB, RECORDED = "SDK ClientSideConnection", "agentnb", "agentnb, recorded"
WARM_UP = 2
SETTLE_S = 0.01
"""The pause between two turns, in which the last turn's leftovers run, not in the next."""
PATIENT = httpx.Timeout(PATIENCE_S, connect=PATIENCE_S)
"""How long the agent may take to start and answer: on a busy machine, more than the default
10 s to ``initialize``."""

Turn = tuple[float, float, float, float]
"""A turn's (started, first chunk, end) by ``time.perf_counter``, then the client's CPU to
its first chunk (``time.thread_time``: the thread running the connection, all its work)."""
Timings = dict[str, float | list[Turn]]
"""``cold``: process start to the first chunk; ``turns``: each turn's :data:`Turn`."""


class SdkClient:
    """The least a client of the SDK's needs for this agent: the first chunk's time and
    CPU, no permission asked (the SDK's ``Client`` protocol)."""

    first = first_cpu = 0.0

    async def session_update(self, session_id: str, update: object, **kwargs: object) -> None:
        if not self.first and isinstance(update, AgentMessageChunk):
            self.first, self.first_cpu = time.perf_counter(), time.thread_time()

    async def request_permission(self, *args: object, **kwargs: object) -> object:
        raise NotImplementedError

    def on_connect(self, conn: object) -> None:
        pass


async def sdk_turn(
    conn: ClientSideConnection, client: SdkClient, session_id: str, prompt: str
) -> Turn:
    """One turn through the SDK's own client: ``prompt`` returns at the turn's end."""
    client.first = 0.0
    started, cpu = time.perf_counter(), time.thread_time()
    await conn.prompt(session_id=session_id, prompt=[text_block(prompt)])
    ended = time.perf_counter()
    if not client.first:
        raise SystemExit("the SDK's turn had no text chunk")
    return started, client.first, ended, client.first_cpu - cpu


async def agentnb_turn(
    client: AsyncAgentClient, prompt: str, thread_id: str | None, record: bool
) -> tuple[Turn, str]:
    """One turn streamed: its :data:`Turn` and the session's id."""
    first = first_cpu = 0.0
    started, cpu = time.perf_counter(), time.thread_time()
    async with client.stream("scripted", prompt, thread_id=thread_id, record=record) as stream:
        async for event in stream:
            if not first and isinstance(event, TextDelta):
                first, first_cpu = time.perf_counter(), time.thread_time()
    ended = time.perf_counter()
    run = stream.run
    if run.status != "completed" or not first or not run.text.startswith("w0 "):
        raise SystemExit(f"the turn went wrong: {run.status}, {run.error}, {run.text[:200]!r}")
    return (started, first, ended, first_cpu - cpu), str(run.thread_id)


async def turn_about(turns: int, prompt: str, warm_up: int) -> dict[str, Timings]:
    """The SDK's client, agentnb and agentnb recording, each on an agent process of its own,
    in one event loop, taking their turns in rotation (who goes first changes each turn):
    each client's turns meet the machine's load as the others' do, where one client after
    the other meets whatever the load was in its minute."""
    cold: dict[str, float] = {}
    turn_of: dict[str, Callable[[], Awaitable[Turn]]] = {}
    async with contextlib.AsyncExitStack() as stack:
        sdk = SdkClient()
        started = time.perf_counter()
        conn, _ = await stack.enter_async_context(
            spawn_agent_process(sdk, str(ACP_PYTHON), str(AGENT))
        )
        await conn.initialize(
            protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities()
        )
        session = (await conn.new_session(cwd=".", mcp_servers=[])).session_id
        cold[SDK] = (await sdk_turn(conn, sdk, session, prompt))[1] - started
        turn_of[SDK] = functools.partial(sdk_turn, conn, sdk, session, prompt)
        for name, record in ((AGENTNB, False), (RECORDED, True)):
            started = time.perf_counter()  # the process starts on the client's first use
            client = await stack.enter_async_context(
                AsyncAgentClient(
                    "acp", command=[str(ACP_PYTHON), str(AGENT)], record=record, timeout=PATIENT
                )
            )
            (_, first, _, _), thread = await agentnb_turn(client, prompt, None, record)
            cold[name] = first - started
            turn_of[name] = functools.partial(_agentnb_turn_only, client, prompt, thread, record)
        rows: dict[str, list[Turn]] = {name: [] for name in turn_of}
        names = list(turn_of)
        for index in range(warm_up + turns):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                timing = await turn_of[name]()
                if index >= warm_up:
                    rows[name].append(timing)
                # What a turn leaves to the loop (the SDK's handlers of the burst's last
                # chunks, tasks of its own) runs before the next client's clock starts.
                await asyncio.sleep(SETTLE_S)
    return {name: {"cold": cold[name], "turns": rows[name]} for name in names}


async def _agentnb_turn_only(
    client: AsyncAgentClient, prompt: str, thread_id: str, record: bool
) -> Turn:
    return (await agentnb_turn(client, prompt, thread_id, record))[0]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.95 * (len(ordered) - 1))]


def latency(turns: int, prompt: str, warm_up: int) -> dict[str, Timings]:
    """The three clients turn about on the same agent (:func:`turn_about`)."""
    return asyncio.run(turn_about(turns, prompt, warm_up))


def print_latency(title: str, results: dict[str, Timings]) -> None:
    print(f"\n{title}")
    print(
        f"{'client':26} {'first p50 ms':>13} {'first p95 ms':>13} {'end p50 ms':>11} "
        f"{'end p95 ms':>11} {'cold first ms':>14} {'CPU to first p50 ms':>20}  "
        f"vs SDK: first p50, CPU"
    )
    sdk_first = sdk_cpu = 0.0
    for client, timings in results.items():
        rows = timings["turns"]
        cold = timings["cold"]
        assert isinstance(rows, list)
        assert isinstance(cold, float)
        firsts = [1000 * (chunk - started) for started, chunk, _, _ in rows]
        first = statistics.median(firsts)
        end = [1000 * (ended - started) for started, _, ended, _ in rows]
        cpu = statistics.median(1000 * cpu for _, _, _, cpu in rows)
        sdk_first, sdk_cpu = sdk_first or first, sdk_cpu or cpu
        print(
            f"{client:26} {first:>13.2f} {p95(firsts):>13.2f} "
            f"{statistics.median(end):>11.2f} {p95(end):>11.2f} {1000 * cold:>14.0f} "
            f"{cpu:>20.2f}  {first / sdk_first:.2f}×, {cpu / sdk_cpu:.2f}×"
        )


# ---- memory: a fresh process each -------------------------------------------------------
async def held(mode: str, count: int, prompt: str) -> dict[str, float]:
    """What the client holds after ``count`` runs on one session (``runs``) or each on a
    session of its own (``sessions``), beside after one warm-up run: traced heap and RSS."""
    client = AsyncAgentClient(
        "acp", command=[str(ACP_PYTHON), str(AGENT)], record=False, timeout=PATIENT
    )
    async with client:
        _, thread = await agentnb_turn(client, prompt, None, False)
        gc.collect()
        tracemalloc.start()
        heap, rss = tracemalloc.get_traced_memory()[0], psutil.Process().memory_info().rss
        for _ in range(count):
            await agentnb_turn(client, prompt, thread if mode == "runs" else None, False)
        gc.collect()
        heap_after = tracemalloc.get_traced_memory()[0]
        rss_after = psutil.Process().memory_info().rss
    return {"heap": heap_after - heap, "rss": rss_after - rss}


def memory(count: int, prompt: str) -> dict[str, dict[str, float]]:
    found = {}
    for mode in ("runs", "sessions"):
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", mode, str(count), prompt],
            capture_output=True,
            text=True,
            timeout=PROGRAM_PATIENCE_S,
        )
        if done.returncode:
            raise SystemExit(f"the memory child failed:\n{done.stderr[-3000:]}")
        found[mode] = json.loads(done.stdout)
    return found


def print_memory(found: dict[str, dict[str, float]], count: int) -> None:
    print(f"\n{count} runs on one connection: held after them (runs dropped and collected)")
    print(f"{'runs':34} {'traced heap KB':>15} {'RSS KB':>9}")
    labels = {"runs": f"{count} runs on one session", "sessions": f"{count} sessions, a run each"}
    for mode, label in labels.items():
        print(f"{label:34} {found[mode]['heap'] / 1024:>15.1f} {found[mode]['rss'] / 1024:>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--words", type=int, default=50, help="chunks a turn")
    parser.add_argument(
        "--think-ms", type=float, default=20, help="the waiting agent's wait (0: no such agent)"
    )
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="turns before the clock")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="the latency tables, each again")
    parser.add_argument("--smoke", action="store_true", help="a turn, 3 sessions: runs, fast")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        mode, count, prompt = args.memory_child
        print(json.dumps(asyncio.run(held(mode, int(count), prompt))))
        return
    if args.smoke:
        # Every client and the memory children once; the waiting agent's turns go through
        # the same clients' code as the answering one's.
        args.turns, args.words, args.sessions, args.rounds = 1, 5, 3, 1
        args.think_ms, args.warm_up = 0, 0
    if not ACP_PYTHON.exists():
        print(f"skipped: {ACP_PYTHON} is missing (bash scripts/test.sh makes .tools/acp)")
        return
    home = tempfile.mkdtemp(prefix="agentnb-bench-acp-")
    os.environ["AGENTNB_HISTORY"] = str(Path(home) / "history.sqlite3")  # `recorded` writes here
    try:
        report(args)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(args: argparse.Namespace) -> None:
    print(f"the scripted ACP agent on the SDK, {sys.platform}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    at_once = f"words {args.words}"
    waiting = f"words {args.words} {args.think_ms / 1000:g}"
    each = f"{args.turns} turns of {args.words} chunks on one session, after {args.warm_up} warm-up"
    for round_ in range(1, args.rounds + 1):  # the machine's load drifts: a range, not a point
        print(f"\nround {round_} of {args.rounds}, load average {os.getloadavg()[0]:.1f}")
        print_latency(
            f"agent answering at once: {each}", latency(args.turns, at_once, args.warm_up)
        )
        if args.think_ms:
            print_latency(
                f"agent waiting {args.think_ms:g} ms first: {each}",
                latency(args.turns, waiting, args.warm_up),
            )
    print_memory(memory(args.sessions, at_once), args.sessions)


if __name__ == "__main__":
    main()
