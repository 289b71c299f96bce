"""A run's memory: how much the process grows while one big run streams, and what it keeps
after the run is dropped, beside the naive httpx-sse client doing the same work.

    python benchmarks/bench_memory.py [--mib 100] [--delta 1024] [--repeat 1] [--smoke]

A raw server in a child process streams ``--mib`` MiB of answer text in ``--delta``-character
deltas, as Operativus (``CONTENT_DELTA`` frames) or as the Vercel AI SDK (``text-delta`` parts).
Each measurement runs in a fresh child process, after a small warm-up run:

- operativus, cut: ``AsyncAgentClient`` with the default ``max_run_mib`` (16 MiB), recording
  to a history file (``agentnb``) or not (``unrecorded``); the naive client reads until it
  holds as much, then closes.
- vercel, whole: ``max_run_mib=None``, all of it; the naive client keeps all of it too.

``while`` is the peak RSS while streaming (``ru_maxrss``) less the RSS before the run;
``after`` is the RSS once the run (and the client) is dropped and collected, less the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
from patience import PATIENCE_S, PROGRAM_PATIENCE_S

MIB = 1024 * 1024
SERVER = r"""
import asyncio, json, sys
mib, delta = int(sys.argv[1]), int(sys.argv[2])
piece = "x" * (delta - 1) + "\n"
count = mib * 1024 * 1024 // delta

def sse(obj):
    return b"data: " + json.dumps(obj).encode() + b"\n\n"

def operativus(n):
    yield sse({"event": "START", "data": {"runId": "r1", "sessionId": "s1"}})
    frame = sse({"event": "CONTENT_DELTA", "data": piece})
    for _ in range(n):
        yield frame
    yield sse({"event": "STOP", "data": {}})

def vercel(n):
    yield sse({"type": "start", "messageId": "m1"})
    yield sse({"type": "text-start", "id": "t1"})
    frame = sse({"type": "text-delta", "id": "t1", "delta": piece})
    for _ in range(n):
        yield frame
    yield sse({"type": "text-end", "id": "t1"})
    yield sse({"type": "finish"})
    yield b"data: [DONE]\n\n"

async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = json.loads(await reader.readexactly(length) or b"{}") if length else {}
        path = lines[0].split(" ")[1]
        if lines[0].startswith("GET"):
            data = json.dumps({"runId": "r1", "status": "completed"}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        else:
            n = 4 if "warm" in json.dumps(body) else count
            frames = operativus(n) if path.endswith("/runs/stream") else vercel(n)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"x-vercel-ai-ui-message-stream: v1\r\nConnection: close\r\n\r\n")
            batch = []
            for frame in frames:
                batch.append(frame)
                if len(batch) == 64:
                    writer.write(b"".join(batch)); batch.clear()
                    await writer.drain()
            writer.write(b"".join(batch))
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


@contextlib.contextmanager
def raw_server(mib: int, delta: int) -> Iterator[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(mib), str(delta)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield f"http://127.0.0.1:{child.stdout.readline().strip()}"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(PATIENCE_S)


# ---- the measured side (a child process each) -------------------------------------------------
def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def agentnb_run(
    dialect: str, url: str, message: str, bound: float | None, record: bool = True
) -> int:
    import agentnb
    from agentnb.history import HistoryStore

    with tempfile.TemporaryDirectory() as folder:
        store = HistoryStore(Path(folder) / "history.sqlite3")
        client = agentnb.AsyncAgentClient(
            dialect,
            base_url=url,
            api_key="k",
            recorder=store if record else None,
            record=record,
            max_run_mib=bound,
        )
        async with client:
            try:
                run = await client.run("agent", message)
            except agentnb.RunTooLargeError as too_large:
                run = too_large.run or agentnb.Run()
        kept = len(run.text)
        store.close()  # its writes done: a pending write holds the run until then
    return kept


async def unrecorded_run(dialect: str, url: str, message: str, bound: float | None) -> int:
    return await agentnb_run(dialect, url, message, bound, record=False)


async def naive_run(dialect: str, url: str, message: str, bound: float | None) -> int:
    """What a user would otherwise write: httpx + httpx-sse, the answer's pieces in a list,
    joined at the end (cut at the same bound)."""
    import httpx
    import httpx_sse

    path = "/api/agents/agent/runs/stream" if dialect == "operativus" else "/api/chat"
    body = {"message": message, "messages": [{"role": "user", "content": message}]}
    limit = None if bound is None else int(bound * MIB)
    pieces: list[str] = []
    size = 0
    timeout = httpx.Timeout(PATIENCE_S)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        httpx_sse.aconnect_sse(client, "POST", url + path, json=body) as source,
    ):
        async for sse in source.aiter_sse():
            if sse.data == "[DONE]":
                break
            frame = json.loads(sse.data)
            text = frame.get("data") if dialect == "operativus" else frame.get("delta")
            if isinstance(text, str) and frame.get("event", frame.get("type")) in (
                "CONTENT_DELTA",
                "text-delta",
            ):
                if limit is not None and size + len(text) > limit:
                    break
                pieces.append(text)
                size += len(text)
    answer = "".join(pieces)
    return len(answer)


def child(args: argparse.Namespace) -> None:
    work = {"agentnb": agentnb_run, "unrecorded": unrecorded_run, "naive": naive_run}[args.child]
    bound = None if args.bound == 0 else args.bound
    asyncio.run(work(args.dialect, args.url, "warm", bound))
    gc.collect()
    before, before_peak = rss(), peak()
    kept = asyncio.run(work(args.dialect, args.url, "go", bound))
    streaming = peak() - max(before, before_peak) if peak() > before_peak else 0
    gc.collect()
    after = rss() - before
    print(json.dumps({"kept": kept, "while": streaming, "after": after}))


# ---- the driver -------------------------------------------------------------------------------
CASES = [("operativus", 16.0), ("vercel", 0.0)]
"""Each run: its dialect and ``max_run_mib`` (0: None, all of it)."""


def measure(url: str, client: str, dialect: str, bound: float) -> dict[str, int]:
    command = [sys.executable, __file__, "--child", client, "--dialect", dialect]
    command += ["--url", url, "--bound", str(bound)]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=PROGRAM_PATIENCE_S
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--delta", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=["agentnb", "unrecorded", "naive"])
    parser.add_argument("--dialect", default="operativus")
    parser.add_argument("--url", default="")
    parser.add_argument("--bound", type=float, default=16.0)
    parser.add_argument("--smoke", action="store_true", help="2 MiB, cut at 1 MiB: does it run")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    cases = CASES
    if args.smoke:
        args.mib, cases = 2, [(dialect, 1.0 if bound else 0.0) for dialect, bound in CASES]
    print(f"{args.mib} MiB of answer in {args.delta}-character deltas; MB of RSS")
    print("| run | client | kept (MiB) | while streaming | after dropped |")
    print("|---|---|---|---|---|")
    with raw_server(args.mib, args.delta) as url:
        for dialect, bound in cases:
            title = f"{dialect}, " + (f"cut at {bound:g} MiB" if bound else "all of it")
            for _ in range(args.repeat):
                for client in ("agentnb", "unrecorded", "naive"):
                    r = measure(url, client, dialect, bound)
                    print(
                        f"| {title} | {client} | {r['kept'] / MIB:.1f} | "
                        f"{r['while'] / 1e6:.0f} | {r['after'] / 1e6:.0f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
