"""Stop under load: how long a Stop takes to end a run ``cancelled`` while 200 runs stream.

    python benchmarks/bench_stop.py [--runs 200] [--stops 40] [--repeat 3] [--delay-ms 20]

The same load as ``bench_load.py`` (``agentnb.ask(display=False)`` runs against the built-in
server in a child process, streamed on agentnb's loop, recorded, usage fetched). While they
stream, the main thread (the kernel, where a Stop click or ``handle.cancel()`` lands) stops
``--stops`` of them, one every 20 ms, and times each from ``handle.cancel()`` to the moment
the handle is done with the run ``cancelled`` (its future's callback, on agentnb's loop).

Beside it, the same for the naive httpx-sse gather: ``task.cancel()`` on the main loop to the
task being done (there the Stop lands on the loop that does all the streaming).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass

import httpx
import httpx_sse
from bench_load import add_load_options, built_in_server, messages, pct
from patience import PATIENCE_S

import agentnb
from agentnb._app.front.connections import disconnect
from agentnb._core.loop import run_sync

STOP_EVERY_S = 0.02


@dataclass
class Stops:
    name: str
    latencies: list[float]
    cancelled: int
    asked: int


def stop_agentnb(base_url: str, api_key: str, texts: list[str], stops: int, delay: int) -> Stops:
    agentnb.connect(
        "operativus",
        base_url=base_url,
        api_key=api_key,
        name="stop",
        headers={"X-AgentNB-Delay-Ms": str(delay)},
    )
    latencies: list[float] = []

    async def work() -> int:
        handles = [agentnb.ask("echo", text, via="stop", display=False) for text in texts]
        await asyncio.sleep(0.3)  # all of them streaming
        victims = handles[:: max(1, len(handles) // stops)][:stops]
        for handle in victims:
            stopped_at = time.perf_counter()

            def done(run: object, event: object, started: float = stopped_at) -> None:
                latencies.append(time.perf_counter() - started)

            handle.add_listener(done, end_only=True)
            handle.cancel()
            await asyncio.sleep(STOP_EVERY_S)
        await asyncio.gather(*handles, return_exceptions=True)
        return sum(h.status == "cancelled" for h in victims)

    try:
        cancelled = asyncio.run(work())
    finally:
        run_sync(agentnb.get_connection("stop").client().aclose())
        disconnect("stop")
    return Stops("agentnb ask, handle.cancel()", latencies, cancelled, stops)


def stop_naive(base_url: str, api_key: str, texts: list[str], stops: int, delay: int) -> Stops:
    url = f"{base_url}/api/agents/echo/runs/stream"
    headers = {"Authorization": f"Bearer {api_key}", "X-AgentNB-Delay-Ms": str(delay)}
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, text: str) -> str:
        pieces: list[str] = []
        async with httpx_sse.aconnect_sse(
            client, "POST", url, json={"message": text}, headers=headers
        ) as source:
            async for sse in source.aiter_sse():
                frame = json.loads(sse.data)
                if frame["event"] == "CONTENT_DELTA":
                    pieces.append(frame["data"])
                elif frame["event"] in ("STOP", "ERROR"):
                    break
        return "".join(pieces)

    async def work() -> int:
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=PATIENCE_S) as client:
            tasks = [asyncio.create_task(one(client, text)) for text in texts]
            await asyncio.sleep(0.3)
            victims = tasks[:: max(1, len(tasks) // stops)][:stops]
            for task in victims:
                stopped_at = time.perf_counter()

                def done(_: object, started: float = stopped_at) -> None:
                    latencies.append(time.perf_counter() - started)

                task.add_done_callback(done)
                task.cancel()
                await asyncio.sleep(STOP_EVERY_S)
            await asyncio.gather(*tasks, return_exceptions=True)
        return sum(task.cancelled() for task in victims)

    cancelled = asyncio.run(work())
    return Stops("naive httpx-sse gather, task.cancel()", latencies, cancelled, stops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_options(parser, words=300)  # long runs: 100 chunks
    parser.add_argument("--stops", type=int, default=40)
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.words, args.delay_ms, args.repeat, args.stops = 5, 30, 5, 1, 2
    print(
        f"{args.runs} concurrent echo runs ({args.words // 3} chunks, {args.delay_ms} ms apart), "
        f"{args.stops} of them stopped one every {STOP_EVERY_S * 1000:.0f} ms, {args.repeat} "
        f"rounds; built-in server in a child process"
    )
    ways = (stop_agentnb, stop_naive)
    results: list[list[Stops]] = [[] for _ in ways]
    with built_in_server(False) as (base_url, api_key):
        for way in ways:
            way(base_url, api_key, messages("warm", 5, 9), 1, args.delay_ms)
        for round_ in range(args.repeat):
            for i, way in enumerate(ways):
                texts = messages(f"s{round_}w{i}", args.runs, args.words)
                results[i].append(way(base_url, api_key, texts, args.stops, args.delay_ms))
    print(f"\n{'Stop to cancelled, ms':40} {'p50':>7} {'p95':>7} {'max':>7} {'cancelled':>10}")
    for rounds in results:
        latencies = [lat for r in rounds for lat in r.latencies]
        cancelled = f"{sum(r.cancelled for r in rounds)}/{sum(r.asked for r in rounds)}"
        print(
            f"{rounds[0].name:40} {pct(latencies, 0.5):7.1f} {pct(latencies, 0.95):7.1f} "
            f"{pct(latencies, 1.0):7.1f} {cancelled:>10}"
        )
    print(
        "\nall rounds' stops together. agentnb: from handle.cancel() on the main thread to the "
        "handle done (run cancelled,\nconnection closed, history told) on agentnb's loop. "
        "naive: task.cancel() to the task done, on the one loop."
    )


if __name__ == "__main__":
    main()
