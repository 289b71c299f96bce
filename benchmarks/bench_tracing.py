"""Tracing's cost per run: off, on, on with content, and on with a collector that is down.

    python benchmarks/bench_tracing.py [--runs 200] [--repeat 3]

1. The recorder alone: a finished finance_agent run (2 tool calls, recorded once from the
   built-in server) handed to ``record_start`` / ``record_end`` in memory, spans going to
   the SDK's batch processor and a discarding exporter: what a run pays on its own thread.
2. End to end: finance_agent runs streamed from the built-in server (no pacing) over a real
   socket, one at a time, with tracing off, exporting over OTLP/HTTP to a collector (a
   process of its own that discards what it gets), and exporting to a port nobody listens
   on. Export happens in the background: the run should not notice, so on a busy machine
   the differences here are within noise; section 1 is the cost a run really pays.
3. Turning tracing on: ``import agentnb`` alone, and with ``configure_tracing()`` (which
   imports the OpenTelemetry SDK), each in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from patience import PATIENCE_S

os.environ["AGENTNB_HISTORY"] = "off"  # measure tracing, not the history

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.recorder import RunRecorder
from agentnb._core.request import RunRequest, build_request
from agentnb._core.run import Run
from agentnb._tracing import TracingSettings, configure_tracing, tracing_recorder
from agentnb._tracing.otel import start_backend
from agentnb.server import ServerHandle, start_server

QUESTION = "What is NVDA trading at, and how did it move this week?"


class Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


SINK = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
"""A collector in a process of its own (as a real one is) that accepts every OTLP/HTTP
request and keeps nothing."""


def microseconds_per_call(call: Callable[[], None], count: int, repeat: int) -> float:
    best = min(_timed(call, count) for _ in range(repeat))
    return best / count * 1e6


def _timed(call: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return time.perf_counter() - started


def recorder_alone(run: Run, request: RunRequest, runs: int, repeat: int) -> None:
    print(f"\n1. recorder alone (µs per run, best of {repeat} × {runs}; 1 run + 2 tool spans)")
    print(f"{'tracing':28} {'µs/run':>10}")
    for label, content in (("off", None), ("on", False), ("on, with content", True)):
        recorder: RunRecorder | None = None
        if content is not None:
            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(Discard()))
            configure_tracing(tracer_provider=provider, content=content)
            recorder = tracing_recorder()

        def one(recorder: RunRecorder | None = recorder) -> None:
            if recorder is not None:
                recorder.record_start(run, request, base_url="http://127.0.0.1:8000")
                recorder.record_end(run)

        print(f"{label:28} {microseconds_per_call(one, runs, repeat):>10.1f}")
    configure_tracing(False)
    print(f"{'(the SDK alone: 3 bare spans)':28} {sdk_alone(runs, repeat):>10.1f}")


def sdk_alone(runs: int, repeat: int) -> float:
    """What three attribute-less spans cost in the SDK: the floor under agentnb's cost."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracer = provider.get_tracer("bench")

    def three() -> None:
        for _ in range(3):
            tracer.start_span("span").end()

    return microseconds_per_call(three, runs, repeat)


async def one_run(server: ServerHandle, recorder: RunRecorder | None) -> tuple[float, Run]:
    client = AsyncAgentClient(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        record=recorder is not None,
        recorder=recorder,
    )
    async with client:
        started = time.perf_counter()
        run = await client.run("finance_agent", QUESTION)
        return time.perf_counter() - started, run


DOWN = "on → collector down (nobody listening)"


async def end_to_end(server: ServerHandle, runs: int, collector: str) -> None:
    print(f"\n2. end to end (ms per run, median of {runs} finance_agent runs over a socket,")
    print("   the three cases interleaved run by run, in turn first)")
    print(f"{'tracing':40} {'ms/run':>8} {'vs off':>8}")
    down = f"http://127.0.0.1:{unused_port()}/v1/traces"
    backends = {
        "off": None,
        "on → local OTLP/HTTP collector": start_backend(TracingSettings(True, collector)),
        DOWN: start_backend(TracingSettings(True, down)),
    }
    times: dict[str, list[float]] = {label: [] for label in backends}
    labels = list(backends)
    for round_ in range(runs):
        for label in labels[round_ % 3 :] + labels[: round_ % 3]:  # no case always goes first
            backend = backends[label]
            recorder = backend.recorder if backend is not None else None
            times[label].append((await one_run(server, recorder))[0])
    baseline = statistics.median(times["off"]) * 1e3
    for label, measured in times.items():
        median = statistics.median(measured) * 1e3
        print(f"{label:40} {median:>8.2f} {median - baseline:>+8.2f}")
    for label, backend in backends.items():
        if backend is not None:
            if label != DOWN:  # a flush to nobody only waits out the exporter's retries
                backend.flush(timeout=PATIENCE_S)
            backend.close()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def import_costs(repeat: int) -> None:
    print(f"\n3. turning tracing on (ms, fresh interpreter, best of {repeat})")
    print(f"{'':40} {'ms':>8}")
    scripts = {
        "import agentnb (tracing off)": "import agentnb",
        "import agentnb; configure_tracing()": (
            "import agentnb; from agentnb._tracing import configure_tracing; configure_tracing()"
        ),
    }
    for label, script in scripts.items():
        best = min(_python_seconds(script) for _ in range(repeat))
        print(f"{label:40} {best * 1e3:>8.0f}")


def _python_seconds(script: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True)
    return time.perf_counter() - started


async def measure(runs: int, repeat: int, collector: str) -> None:
    with start_server(delay_ms=0) as server:
        _, run = await one_run(server, None)
        request = build_request("finance_agent", QUESTION)
        recorder_alone(run, request, runs * 10, repeat)
        await end_to_end(server, runs, collector)


def main(runs: int, repeat: int, *, import_costs_too: bool = True) -> None:
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        collector = f"http://127.0.0.1:{sink.stdout.readline().strip()}/v1/traces"
        asyncio.run(measure(runs, repeat, collector))
    finally:
        sink.terminate()
        sink.wait()
    if import_costs_too:
        import_costs(repeat)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.repeat = 5, 1
    main(args.runs, args.repeat, import_costs_too=not args.smoke)
