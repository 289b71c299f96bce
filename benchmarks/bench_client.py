"""Client speed: events per second through each dialect's translator, alone and end to end.

    python benchmarks/bench_client.py [--paragraphs 200] [--repeat 3]

1. Translator only: a ``writer`` run's frames, recorded once per dialect from the built-in
   server, are decoded and translated again in memory (the client's CPU cost per frame).
2. End to end: the same run streamed from the built-in server (no pacing delay) through
   ``AsyncAgentClient`` over a real socket, events applied to the ``Run``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.request import RunRequest
from agentnb.providers import get_provider
from agentnb.server import DIALECT_PROVIDERS, ServerHandle, start_server
from agentnb.sse import SSEDecoder

DIALECTS = sorted(DIALECT_PROVIDERS)  # the dialects the built-in server speaks


async def record(server: ServerHandle, dialect: str, paragraphs: int) -> bytes:
    """The raw bytes of one run's stream, read with plain httpx."""
    client = AsyncAgentClient(dialect, **server.client_settings(dialect), api_key=server.api_key)
    chunks: list[bytes] = []
    async with client:
        provider = client.provider
        request = RunRequest(
            agent="writer", message="Write.", metadata={"paragraphs": str(paragraphs)}
        )
        request = await provider.prepare(request, client.send_json)
        http = provider.stream_http_request(request)
        headers = {**provider.auth_headers(server.api_key), **http.headers}
        async with (
            httpx.AsyncClient() as raw,
            raw.stream(
                http.method, client.base_url + http.path, json=http.json, headers=headers
            ) as response,
        ):
            async for piece in response.aiter_raw():
                chunks.append(piece)
    return b"".join(chunks)


def translate_only(dialect: str, body: bytes) -> tuple[float, int]:
    provider = get_provider(dialect)
    translator = provider.translator(RunRequest(agent="writer", message="x", thread_id="t"))
    started = time.perf_counter()
    decoder = SSEDecoder()
    events = 0
    for offset in range(0, len(body), 16384):
        for sse in decoder.feed(body[offset : offset + 16384]):
            events += len(translator.translate(sse))
    return time.perf_counter() - started, events


async def end_to_end(server: ServerHandle, dialect: str, paragraphs: int) -> tuple[float, int]:
    client = AsyncAgentClient(dialect, **server.client_settings(dialect), api_key=server.api_key)
    async with client:
        started = time.perf_counter()
        run = await client.run("writer", "Write.", metadata={"paragraphs": str(paragraphs)})
        return time.perf_counter() - started, run.event_count


async def main(paragraphs: int, repeat: int) -> None:
    with start_server(delay_ms=0) as server:
        print(f"writer run, {paragraphs} paragraphs; best of {repeat}")
        print(
            f"{'dialect':18} {'bytes':>9} {'events':>7} {'translate ev/s':>15} "
            f"{'end-to-end ev/s':>16} {'end-to-end s':>13}"
        )
        for dialect in DIALECTS:
            body = await record(server, dialect, paragraphs)
            local = [translate_only(dialect, body) for _ in range(repeat)]
            remote = [await end_to_end(server, dialect, paragraphs) for _ in range(repeat)]
            t_local = min(t for t, _ in local)
            t_remote = min(t for t, _ in remote)
            events = remote[0][1]
            print(
                f"{dialect:18} {len(body):>9,} {events:>7,} {local[0][1] / t_local:>15,.0f} "
                f"{events / t_remote:>16,.0f} {statistics.median(t for t, _ in remote):>13.3f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.paragraphs, args.repeat = 5, 1
    asyncio.run(main(args.paragraphs, args.repeat))
