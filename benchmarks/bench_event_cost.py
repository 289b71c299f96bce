"""Where agentnb's loop spends its CPU time per event, under bench_load's load.

    python benchmarks/bench_event_cost.py [--runs 200] [--words 90] [--delay-ms 20] [--repeat 3]

The same 200 concurrent ``ask`` runs as ``bench_load.py`` (built-in server in a child
process). During the runs each stage below is timed where it runs (the thread's CPU clock
read around the call), and the loop thread's CPU clock is read before and after; what the stages
do not cover is the rest of the loop's work (the run's state machine, asyncio, sockets).
Printed per event, median of the rounds, beside the naive httpx-sse gather's whole CPU time
per event (its thread does everything: HTTP, SSE, JSON, joining the text).

Stages (inclusive times minus the nested ones listed under them):

- decoding: ``SSEDecoder.feed``
- JSON: the dialect's ``parse_json`` (pydantic-core)
- building the event: the translator's ``translate`` minus its JSON
- folding the run: ``Run.apply``
- listeners: ``RunHandle._notify`` (``ask(display=False)``: the connection's thread tracking)
- history writes: ``RunRecording`` start / checkpoint / end on the loop, plus the CPU of the
  history writer thread (zero when writes happen on the loop)
- HTTP on the wire: aiohttp's ``ResponseHandler.data_received`` (llhttp parsing the bytes a
  socket read brought, and its reader taking the body)

``--smoke``: 5 runs, one round (a few seconds): the test suite runs it.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench_load import (
    add_load_options,
    built_in_server,
    messages,
    run_agentnb,
    run_floor,
    run_naive,
)

STAGES = (
    "decoding",
    "JSON",
    "building the event",
    "folding the run",
    "listeners",
    "history writes (loop)",
    "history writes (writer thread)",
    "HTTP on the wire (aiohttp)",
)


@dataclass
class Tally:
    """Seconds per stage, counted on the loop thread only."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    loop_thread: int | None = None
    depth: list[str] = field(default_factory=list)

    def timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` timed into ``stage``; a nested timed call is taken out of its caller."""

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.loop_thread:
                return function(*args, **kwargs)
            self.depth.append(stage)
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                self.depth.pop()
                self.seconds[stage] += spent
                if self.depth:
                    self.seconds[self.depth[-1]] -= spent

        return wrapper


def _targets() -> list[tuple[str, Any, str]]:
    """(stage, owner, attribute) of every function timed."""
    from aiohttp.client_proto import ResponseHandler

    from agentnb._client.recording import RunRecording
    from agentnb._core.handle import RunHandle
    from agentnb._core.run import Run
    from agentnb.providers import operativus, runagent
    from agentnb.sse import SSEDecoder

    targets: list[tuple[str, Any, str]] = [
        ("decoding", SSEDecoder, "feed"),
        ("building the event", operativus.OperativusTranslator, "translate"),
        ("building the event", runagent.RunAgentTranslator, "translate"),
        ("folding the run", Run, "apply"),
        ("listeners", RunHandle, "_notify"),
        ("HTTP on the wire (aiohttp)", ResponseHandler, "data_received"),
    ]
    targets += [("history writes (loop)", RunRecording, name) for name in ("start", "after", "end")]
    from agentnb.providers import _frames

    for module in (_frames, operativus, runagent):
        if hasattr(module, "parse_json"):
            targets.append(("JSON", module, "parse_json"))
    return targets


@contextmanager
def instrumented(tally: Tally) -> Iterator[None]:
    saved = [(owner, name, owner.__dict__[name]) for _, owner, name in _targets()]
    try:
        for stage, owner, name in _targets():
            setattr(owner, name, tally.timed(stage, owner.__dict__[name]))
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def thread_cpu(ident: int | None) -> float:
    """CPU seconds of the thread ``ident`` (0 when it does not exist)."""
    if ident is None:
        return 0.0
    for thread in threading.enumerate():
        if thread.ident == ident and thread.native_id is not None:
            try:
                return time.clock_gettime(time.pthread_getcpuclockid(ident))
            except OSError:
                return 0.0
    return 0.0


def writer_thread() -> int | None:
    """The history writer thread's id, when history writes run on one."""
    for thread in threading.enumerate():
        if thread.name == "agentnb-history":
            return thread.ident
    return None


@dataclass
class Breakdown:
    events: int
    loop_cpu: float
    writer_cpu: float
    stages: dict[str, float]

    def per_event(self) -> dict[str, float]:
        """Microseconds per event for each stage, the rest of the loop and the total."""
        stages = dict(self.stages)
        stages["history writes (writer thread)"] = self.writer_cpu
        covered = sum(v for k, v in stages.items() if k != "history writes (writer thread)")
        rows = {k: v / self.events * 1e6 for k, v in stages.items()}
        rows["the rest (run state machine, asyncio, sockets)"] = (
            (self.loop_cpu - covered) / self.events * 1e6
        )
        rows["total"] = (self.loop_cpu + self.writer_cpu) / self.events * 1e6
        return rows


def measure_agentnb(base_url: str, api_key: str, texts: list[str], delay_ms: int) -> Breakdown:
    from agentnb._core import loop

    loop.get_loop()
    ident = loop._thread.ident if loop._thread is not None else None
    tally = Tally(loop_thread=ident)
    writer = writer_thread()
    cpu0, writer0 = thread_cpu(ident), thread_cpu(writer)
    with instrumented(tally):
        result = run_agentnb(base_url, api_key, texts, delay_ms)
    writer = writer or writer_thread()
    loop_cpu = thread_cpu(ident) - cpu0
    writer_cpu = thread_cpu(writer) - writer0 if writer is not None else 0.0
    return Breakdown(result.events, loop_cpu, writer_cpu, dict(tally.seconds))


def measure_naive(base_url: str, api_key: str, texts: list[str], delay_ms: int) -> float:
    """Microseconds of main-thread CPU per event for the naive gather."""
    started = time.thread_time()
    result = run_naive(base_url, api_key, texts, delay_ms)
    return (time.thread_time() - started) / result.events * 1e6


def measure_floor(base_url: str, api_key: str, texts: list[str], delay_ms: int) -> float:
    """Microseconds of main-thread CPU per event for the floor (a bare asyncio.Protocol)."""
    started = time.thread_time()
    result = run_floor(base_url, api_key, texts, delay_ms)
    return (time.thread_time() - started) / result.events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_options(parser)
    parser.add_argument(
        "--smoke", action="store_true", help="5 runs, one round: the test suite's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.words, args.delay_ms, args.repeat = 5, 9, 1, 1
    print(
        f"{args.runs} concurrent echo runs (Operativus dialect), {args.words // 3} chunks each, "
        f"{args.delay_ms} ms between chunks, {args.repeat} rounds; CPU µs per event"
    )
    breakdowns: list[dict[str, float]] = []
    naive: list[float] = []
    floor: list[float] = []
    with built_in_server(False) as (base_url, api_key):
        measure_agentnb(base_url, api_key, messages("warm", 5, args.words), args.delay_ms)
        measure_naive(base_url, api_key, messages("warm", 5, args.words), args.delay_ms)
        for round_ in range(args.repeat):
            texts = messages(f"c{round_}", args.runs, args.words)
            breakdowns.append(measure_agentnb(base_url, api_key, texts, args.delay_ms).per_event())
            texts = messages(f"n{round_}", args.runs, args.words)
            naive.append(measure_naive(base_url, api_key, texts, args.delay_ms))
            texts = messages(f"f{round_}", args.runs, args.words)
            floor.append(measure_floor(base_url, api_key, texts, args.delay_ms))
    rows = {name: statistics.median(b[name] for b in breakdowns) for name in breakdowns[0]}
    total = rows["total"]
    print(f"\n{'agentnb ask, stage':50} {'µs/event':>9} {'share':>7}")
    for name, value in rows.items():
        if name == "total":
            continue
        print(f"{name:50} {value:9.1f} {value / total:7.1%}")
    print(f"{'total (loop thread + history writer)':50} {total:9.1f}")
    naive_us = statistics.median(naive)
    print(f"{'naive httpx-sse gather (its one thread, all of it)':50} {naive_us:9.1f}")
    floor_us = statistics.median(floor)
    print(f"{'floor: asyncio.Protocol, frames only (its thread)':50} {floor_us:9.1f}")
    print(
        f"\nagentnb / naive: {total / naive_us:.2f}x (target <= 0.5), agentnb / floor: "
        f"{total / floor_us:.1f}x"
    )
    print(
        "\nmedian of the rounds; stage times are measured on agentnb's loop thread, the rest is "
        "its CPU clock minus them.\nThe naive gather keeps no history, fetches no usage and "
        "cannot resume."
    )


if __name__ == "__main__":
    main()
