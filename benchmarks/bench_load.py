"""Load: 200 concurrent runs from one "kernel", and how late its event loops run meanwhile.

    python benchmarks/bench_load.py [--runs 200] [--words 90] [--delay-ms 20] [--repeat 3] [--in-process]
                                    [--no-https] [--idle-memory N] [--smoke]

The main thread stands in for a kernel: it runs an asyncio loop (as ipykernel does) with a
probe that asks to wake every 10 ms and records how late it wakes (the lag a cell, a widget
message or a Stop click would see). Three ways to make the same runs against the built-in
server (``echo`` agent, Operativus dialect, ``--words`` words a message = words/3 chunks,
``--delay-ms`` between chunks):

- agentnb: ``agentnb.ask(..., display=False)`` from the main loop, awaited there; the streams
  run on agentnb's background loop (probed the same way) and every run is recorded in the
  history (a temporary file) and gets its usage from the status endpoint (runs that end
  while a status request is in flight share the next one: Operativus' batch endpoint).
- naive: what a user would otherwise write: ``httpx.AsyncClient`` + ``httpx_sse`` in one
  ``asyncio.gather`` on the main loop, JSON-decoding each frame and joining the text (no
  history, no usage, no retries or resume). Its pool is unlimited too, so both stream all runs
  at once.
- aiohttp alone: aiohttp's reader, frames split on blank lines and JSON-decoded: what the
  HTTP library agentnb runs on costs without anything of agentnb.

The server runs in a child process by default (so the numbers are the client's); with
``--in-process`` it runs in a thread of this process, as the default connection's built-in
server does in a notebook, competing for the GIL.

The https rows run the same load against a second built-in server (a child process) on
uvicorn over TLS, with a certificate for 127.0.0.1 made here (trustme, a dev extra) and its
CA given to both agentnb (``verify=`` the CA bundle's path) and the naive gather
(``httpx.AsyncClient(verify=...)``), all on the same TLS.

``--smoke``: 5 runs, one round (a few seconds): benchmarks/smoke.py runs it.

Beside it: ``bench_stop.py`` (a Stop under this load, to the run ending ``cancelled``) and
the floor: a bare ``asyncio.Protocol`` per run that writes the request by hand and only counts
frames (the least any asyncio client can spend per event here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from patience import PATIENCE_S

os.environ["AGENTNB_HISTORY"] = os.path.join(tempfile.mkdtemp(prefix="agentnb-bench-"), "h.db")

import aiohttp
import httpx
import httpx_aiohttp
import httpx_sse

import agentnb
from agentnb._app.front.connections import disconnect
from agentnb._core.loop import get_loop, run_sync
from agentnb._history import default_store

PROBE_S = 0.010
SERVER_CHILD = (
    "import sys\n"
    "from agentnb.server import _run_log, start_server\n"
    "# more runs at once than the server's default cap (256), for --runs 1000\n"
    "_run_log.RunStore.__init__.__defaults__ = (100_000, 3600.0, 100_000)\n"
    "handle = start_server(delay_ms=0)\n"
    "print(handle.base_url, handle.api_key, flush=True)\n"
    "sys.stdin.read()\n"
    "handle.stop()\n"
)


# ---- the floor (a bare asyncio.Protocol that only counts frames) and memory per idle stream
class FloorProtocol(asyncio.Protocol):
    """Counts frames until the server closes the connection (the request asks it to)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.frames = 0
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._last = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.frames += (self._last + data).count(b"\n\n") - self._last.count(b"\n\n")
        self._last = data[-1:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.frames)


def _request(url: str, headers: dict[str, str], body: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def floor_run(url: str, headers: dict[str, str], text: str) -> int:
    """The frames of one run read by :class:`FloorProtocol`."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = _request(url, headers, {"message": text})
    _, protocol = await loop.create_connection(
        lambda: FloorProtocol(request), parts.hostname, parts.port
    )
    return await protocol.done


def rss_growth_per_stream(
    start: Callable[[], Awaitable[object]], streams: int, idle_s: float
) -> float:
    """Bytes of Python heap (tracemalloc, every thread) per stream while ``start()`` (which
    opens ``streams`` runs that stay idle a while) has had ``idle_s`` seconds to open them."""

    async def measure() -> float:
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            waiting = asyncio.ensure_future(start())
            await asyncio.sleep(idle_s)
            during, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await waiting
        return (during - before) / streams

    return asyncio.run(measure())


@dataclass
class Result:
    name: str
    wall: float
    runs_ok: int
    events: int
    main_lag: list[float]
    loop_lag: list[float] = field(default_factory=list)
    cpu: float = 0.0  # this process's CPU seconds (all threads), less sensitive to load
    ttft: list[float] = field(default_factory=list)  # seconds from a run's start to its text


@contextlib.contextmanager
def built_in_server(in_process: bool) -> Iterator[tuple[str, str]]:
    """(base_url, api_key) of a built-in server, in a child process or in this one."""
    if in_process:
        with agentnb.start_server(delay_ms=0) as handle:
            yield handle.base_url, handle.api_key
        return
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url, api_key = child.stdout.readline().split()
        yield base_url, api_key
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


class Probe:
    """Wakes every PROBE_S on the loop it runs on and records how late each wake was."""

    def __init__(self) -> None:
        self.lag: list[float] = []
        self.stopped = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopped:
            before = loop.time()
            await asyncio.sleep(PROBE_S)
            self.lag.append(loop.time() - before - PROBE_S)


def messages(tag: str, runs: int, words: int) -> list[str]:
    filler = " ".join(f"w{j}" for j in range(words - 1))
    return [f"{tag}-{i:03d} {filler}" for i in range(runs)]


async def with_main_probe(
    work: Callable[[], Awaitable[int]],
) -> tuple[float, int, list[float], float]:
    probe = Probe()
    ticker = asyncio.create_task(probe.run())
    await asyncio.sleep(0.05)  # a few ticks of the idle loop first
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        count = await work()
    finally:
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        probe.stopped = True
        await ticker
    return wall, count, probe.lag, cpu


def run_agentnb(
    base_url: str,
    api_key: str,
    texts: list[str],
    delay_ms: int,
    dialect: str = "operativus",
    verify: str | None = None,
) -> Result:
    agentnb.connect(
        dialect,
        base_url=base_url,
        api_key=api_key,
        name="bench",
        headers={"X-AgentNB-Delay-Ms": str(delay_ms)},
        **({} if verify is None else {"verify": verify}),
    )
    loop_probe = Probe()
    handles: list[agentnb.types.RunHandle] = []
    ttft: list[float] = []

    async def work() -> int:
        probing = asyncio.run_coroutine_threadsafe(loop_probe.run(), get_loop())
        try:
            for text in texts:
                handle = agentnb.ask("echo", text, via="bench", display=False)
                handle.add_listener(first_text(time.perf_counter(), ttft))
                handles.append(handle)
            await asyncio.gather(*handles, return_exceptions=True)
        finally:
            loop_probe.stopped = True
            await asyncio.wrap_future(probing)
        return sum(h.run.event_count for h in handles)

    try:
        wall, events, main_lag, cpu = asyncio.run(with_main_probe(work))
    finally:
        run_sync(agentnb.get_connection("bench").client().aclose())
        disconnect("bench")
    ok = sum(h.status == "completed" and h.text == t for h, t in zip(handles, texts, strict=True))
    scheme = base_url.partition(":")[0]
    name = f"agentnb ask, {dialect}, {scheme}"
    return Result(name, wall, ok, events, main_lag, loop_probe.lag, cpu, ttft)


def first_text(started: float, into: list[float]) -> Callable[[agentnb.Run, object], None]:
    """A run listener noting when the run's first text arrived."""
    seen = False

    def listener(run: agentnb.Run, event: object) -> None:
        nonlocal seen
        if not seen and run.text:
            seen = True
            into.append(time.perf_counter() - started)

    return listener


async def naive_gather(
    base_url: str,
    api_key: str,
    texts: list[str],
    delay_ms: int,
    answers: list[str],
    verify: str | None = None,
    ttft: list[float] | None = None,
    on_aiohttp: bool = False,
) -> int:
    """The naive gather's runs; their texts go to ``answers``; returns the events read.
    ``on_aiohttp``: httpx on the ``httpx-aiohttp`` transport instead of httpcore."""
    url = f"{base_url}/api/agents/echo/runs/stream"
    headers = {"Authorization": f"Bearer {api_key}", "X-AgentNB-Delay-Ms": str(delay_ms)}

    async def one(client: httpx.AsyncClient, text: str) -> tuple[str, int]:
        pieces: list[str] = []
        events = 0
        started = time.perf_counter()
        async with httpx_sse.aconnect_sse(
            client, "POST", url, json={"message": text}, headers=headers
        ) as source:
            async for sse in source.aiter_sse():
                events += 1
                frame = json.loads(sse.data)
                if frame["event"] == "CONTENT_DELTA":
                    if not pieces and ttft is not None:
                        ttft.append(time.perf_counter() - started)
                    pieces.append(frame["data"])
                elif frame["event"] in ("STOP", "ERROR"):
                    break
        return "".join(pieces), events

    limits = httpx.Limits(max_connections=None)
    tls = True if verify is None else ssl.create_default_context(cafile=verify)
    transport = None
    if on_aiohttp:
        connector = aiohttp.TCPConnector(limit=0, ssl=tls)
        session = aiohttp.ClientSession(connector=connector)
        transport = httpx_aiohttp.AiohttpTransport(client=session)
    async with httpx.AsyncClient(
        limits=limits, timeout=PATIENCE_S, verify=tls, transport=transport
    ) as client:
        done = await asyncio.gather(*(one(client, text) for text in texts))
    if on_aiohttp:
        await session.close()
    answers.extend(text for text, _ in done)
    return sum(events for _, events in done)


def run_naive(
    base_url: str,
    api_key: str,
    texts: list[str],
    delay_ms: int,
    verify: str | None = None,
    on_aiohttp: bool = False,
) -> Result:
    answers: list[str] = []
    ttft: list[float] = []
    work = functools.partial(
        naive_gather, base_url, api_key, texts, delay_ms, answers, verify, ttft, on_aiohttp
    )
    wall, events, main_lag, cpu = asyncio.run(with_main_probe(work))
    ok = sum(a == t for a, t in zip(answers, texts, strict=True))
    scheme = base_url.partition(":")[0]
    how = "httpx-aiohttp" if on_aiohttp else "httpx-sse"
    name = f"naive {how} gather, operativus, {scheme}"
    return Result(name, wall, ok, events, main_lag, cpu=cpu, ttft=ttft)


async def aiohttp_gather(
    base_url: str,
    api_key: str,
    texts: list[str],
    delay_ms: int,
    answers: list[str],
    verify: str | None = None,
) -> int:
    """The same runs with aiohttp alone: its reader, frames split on blank lines, each
    frame's ``data:`` JSON-decoded (no SSE decoder beyond that)."""
    url = f"{base_url}/api/agents/echo/runs/stream"
    headers = {"Authorization": f"Bearer {api_key}", "X-AgentNB-Delay-Ms": str(delay_ms)}

    async def one(session: aiohttp.ClientSession, text: str) -> tuple[str, int]:
        pieces: list[str] = []
        events = 0
        rest = b""
        async with session.post(url, json={"message": text}, headers=headers) as response:
            async for data in response.content.iter_any():
                *frames, rest = (rest + data).split(b"\n\n")
                for frame in frames:
                    events += 1
                    payload = b"".join(
                        line[5:].lstrip() for line in frame.split(b"\n") if line[:5] == b"data:"
                    )
                    event = json.loads(payload)
                    if event["event"] == "CONTENT_DELTA":
                        pieces.append(event["data"])
                    elif event["event"] in ("STOP", "ERROR"):
                        return "".join(pieces), events
        return "".join(pieces), events

    tls = True if verify is None else ssl.create_default_context(cafile=verify)
    connector = aiohttp.TCPConnector(limit=0, ssl=tls)
    async with aiohttp.ClientSession(connector=connector) as session:
        done = await asyncio.gather(*(one(session, text) for text in texts))
    answers.extend(text for text, _ in done)
    return sum(events for _, events in done)


def run_aiohttp(
    base_url: str, api_key: str, texts: list[str], delay_ms: int, verify: str | None = None
) -> Result:
    answers: list[str] = []
    work = functools.partial(aiohttp_gather, base_url, api_key, texts, delay_ms, answers, verify)
    wall, events, main_lag, cpu = asyncio.run(with_main_probe(work))
    ok = sum(a == t for a, t in zip(answers, texts, strict=True))
    scheme = base_url.partition(":")[0]
    return Result(
        f"aiohttp alone gather, operativus, {scheme}", wall, ok, events, main_lag, cpu=cpu
    )


TLS_SERVER_CHILD = (
    "import asyncio, sys, threading\n"
    "from agentnb.server import _run_log, create_app\n"
    "from agentnb.server._auth import generate_api_key\n"
    "from agentnb.server._serve import base_url_of, bind_socket, make_server\n"
    "_run_log.RunStore.__init__.__defaults__ = (100_000, 3600.0, 100_000)\n"
    "key = generate_api_key()\n"
    "server = make_server(create_app(key, delay_ms=0), background=True)\n"
    "server.config.ssl_certfile = server.config.ssl_keyfile = sys.argv[1]\n"
    "sock = bind_socket('127.0.0.1', 0)\n"
    "print(base_url_of(sock).replace('http://', 'https://'), key, flush=True)\n"
    "def stop():\n"
    "    sys.stdin.read()\n"
    "    server.should_exit = True\n"
    "threading.Thread(target=stop, daemon=True).start()\n"
    "asyncio.run(server.serve(sockets=[sock]))\n"
)


def handshake_cpu(base_url: str, ca_path: str, connections: int) -> float:
    """CPU seconds this process spends opening ``connections`` TLS connections at once to
    ``base_url`` (handshakes only, no request): what every https row pays per round."""
    url = httpx.URL(base_url)
    context = ssl.create_default_context(cafile=ca_path)

    async def connect_all() -> float:
        started = time.process_time()
        opened = await asyncio.gather(
            *(
                asyncio.open_connection(url.host, url.port or 443, ssl=context)
                for _ in range(connections)
            )
        )
        spent = time.process_time() - started
        for _, writer in opened:
            writer.transport.abort()
        return spent

    return asyncio.run(connect_all())


@contextlib.contextmanager
def tls_server() -> Iterator[tuple[str, str, str]]:
    """(base_url, api_key, CA bundle path) of a built-in server over TLS in a child process,
    its certificate for 127.0.0.1 signed by a CA made here."""
    import trustme  # a dev extra, needed only for the https rows

    folder = tempfile.mkdtemp(prefix="agentnb-bench-tls-")
    ca = trustme.CA()
    ca_path, pem_path = os.path.join(folder, "ca.pem"), os.path.join(folder, "server.pem")
    ca.cert_pem.write_to_path(ca_path)
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(pem_path)
    child = subprocess.Popen(
        [sys.executable, "-c", TLS_SERVER_CHILD, pem_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url, api_key = child.stdout.readline().split()
        yield base_url, api_key, ca_path
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def run_floor(base_url: str, api_key: str, texts: list[str], delay_ms: int) -> Result:
    """The floor: a bare asyncio.Protocol per run that only counts frames ."""
    url = f"{base_url}/api/agents/echo/runs/stream"
    headers = {"Authorization": f"Bearer {api_key}", "X-AgentNB-Delay-Ms": str(delay_ms)}
    expected = 2 + len(texts[0].split()) // 3 if texts else 0

    async def work() -> int:
        counts = await asyncio.gather(*(floor_run(url, headers, text) for text in texts))
        floor_counts.extend(counts)
        return sum(counts)

    floor_counts: list[int] = []
    wall, events, main_lag, cpu = asyncio.run(with_main_probe(work))
    ok = sum(count >= expected for count in floor_counts)
    return Result("floor: asyncio.Protocol, frames only", wall, ok, events, main_lag, cpu=cpu)


def idle_memory(base_url: str, api_key: str, streams: int) -> tuple[float, float]:
    """Python heap bytes per idle open stream: (agentnb, naive gather); each run waits 3 s
    between its two chunks. Each way makes a few whole runs first, so what the first runs of
    a process pay once (lazy imports, genai-prices' table read at the first cost, the
    history's writer thread) is not counted per stream."""
    delay_ms, texts = 3000, messages("idle", streams, 6)
    agentnb.connect(
        "operativus",
        base_url=base_url,
        api_key=api_key,
        name="idle",
        headers={"X-AgentNB-Delay-Ms": str(delay_ms)},
    )

    async def agentnb_runs(texts: list[str]) -> object:
        handles = [agentnb.ask("echo", t, via="idle", display=False) for t in texts]
        return await asyncio.gather(*handles, return_exceptions=True)

    try:
        asyncio.run(agentnb_runs(messages("idle-warm", 3, 6)))  # 3 s
        store = default_store()
        if store is not None:
            store.flush()
        ours = rss_growth_per_stream(functools.partial(agentnb_runs, texts), streams, 2.0)
    finally:
        run_sync(agentnb.get_connection("idle").client().aclose())
        disconnect("idle")
    asyncio.run(naive_gather(base_url, api_key, messages("naive-warm", 3, 6), delay_ms, []))
    naive = functools.partial(naive_gather, base_url, api_key, texts, delay_ms, [])
    theirs = rss_growth_per_stream(naive, streams, 2.0)
    return ours, theirs


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def lag_cells(lag: list[float]) -> str:
    if not lag:
        return f"{'—':>7} {'—':>7} {'—':>7} {'—':>7}"
    return " ".join(f"{pct(lag, q):7.1f}" for q in (0.5, 0.95, 0.99, 1.0))


def print_table(results: list[Result], runs: int, rounds: int) -> None:
    runs_per_round = runs // rounds
    lag_head = f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    print()
    print(
        f"{'':48} {'wall':>6} {'CPU':>5} {'CPU/ev':>6} {'CPU/run':>7} {'TTFT p50':>8} "
        f"{'ok':>9} {'events/s':>9}   "
        f"{'main-thread loop lag, ms':^31}   {'agentnb loop lag, ms':^31}"
    )
    print(
        f"{'':48} {'s':>6} {'s':>5} {'µs':>6} {'µs':>7} {'ms':>8} {'':>9} {'':>9}   "
        f"{lag_head}   {lag_head}"
    )
    for r in results:
        ttft = f"{pct(r.ttft, 0.5):8.1f}" if r.ttft else f"{'—':>8}"
        print(
            f"{r.name:48} {r.wall:6.2f} {r.cpu:5.2f} {cpu_per_event(r):6.1f} "
            f"{r.cpu / runs_per_round * 1e6:7.0f} {ttft} "
            f"{f'{r.runs_ok}/{runs}':>9} "
            f"{r.events / r.wall:9.0f}   {lag_cells(r.main_lag)}   {lag_cells(r.loop_lag)}"
        )


def cpu_per_event(result: Result) -> float:
    """Microseconds of this process's CPU time per event (all threads)."""
    return result.cpu / max(result.events, 1) * 1e6


def pooled(results: list[Result]) -> Result:
    """Repeats of one way as one row: median wall time, every lag sample, all runs counted."""
    ordered = sorted(results, key=lambda r: r.wall)
    middle = ordered[len(ordered) // 2]
    return Result(
        middle.name,
        middle.wall,
        sum(r.runs_ok for r in results),
        middle.events,
        [lag for r in results for lag in r.main_lag],
        [lag for r in results for lag in r.loop_lag],
        statistics.median(r.cpu for r in results),
        [t for r in results for t in r.ttft],
    )


def add_load_options(parser: argparse.ArgumentParser, *, words: int = 90) -> None:
    """The load's shape, the same in bench_load and bench_stop."""
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--words", type=int, default=words, help="message words (3 per chunk)")
    parser.add_argument("--delay-ms", type=int, default=20, help="server delay per chunk")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each way")


def measure(
    ways: list[tuple[str, Callable[[str, str, list[str]], Result]]],
    places: dict[str, tuple[str, str]],
    runs: int,
    words: int,
    repeat: int,
) -> list[Result]:
    """Each way ``repeat`` times, interleaved (drift hits every way alike), pooled."""
    rounds: list[list[Result]] = [[] for _ in ways]
    for place, way in ways:  # warm up (imports, the background loop, the history file)
        way(*places[place], messages("warm", 5, words))
    for round_ in range(repeat):
        for i, (place, way) in enumerate(ways):
            texts = messages(f"r{round_}w{i}w{words}", runs, words)
            rounds[i].append(way(*places[place], texts))
    return [pooled(r) for r in rounds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_options(parser)
    parser.add_argument("--short-runs", type=int, default=500, help="runs of the short load")
    parser.add_argument("--in-process", action="store_true", help="server in this process")
    parser.add_argument("--no-https", action="store_true", help="skip the https rows")
    parser.add_argument(
        "--idle-memory", type=int, default=0, metavar="N", help="also: memory per idle stream"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="5 runs, one round: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.words, args.delay_ms, args.repeat, args.short_runs = 5, 9, 1, 1, 5

    where = "in this process" if args.in_process else "in a child process"
    print(
        f"{args.runs} concurrent echo runs, {args.words // 3} chunks each, {args.delay_ms} ms "
        f"between chunks, {args.repeat} rounds; built-in server {where}; probes every "
        f"{PROBE_S * 1000:.0f} ms"
    )
    delay = args.delay_ms
    Way = Callable[[str, str, list[str]], Result]
    schemes = ["http"] if args.no_https else ["http", "https"]
    ways: list[tuple[str, Way]] = []
    short_ways: list[tuple[str, Way]] = []
    with contextlib.ExitStack() as servers:
        places = {"http": servers.enter_context(built_in_server(args.in_process))}
        verify: dict[str, str | None] = {"http": None}
        if not args.no_https:
            url, key, ca_path = servers.enter_context(tls_server())
            places["https"] = (url, key)
            verify["https"] = ca_path
        for scheme in schemes:
            ca = verify[scheme]
            ways += [
                (scheme, functools.partial(run_agentnb, delay_ms=delay, dialect=dialect, verify=ca))
                for dialect in ("operativus", "runagent")
            ]
            ways.append((scheme, functools.partial(run_naive, delay_ms=delay, verify=ca)))
            naive_aiohttp = functools.partial(run_naive, delay_ms=delay, verify=ca, on_aiohttp=True)
            ways.append((scheme, naive_aiohttp))
            ways.append((scheme, functools.partial(run_aiohttp, delay_ms=delay, verify=ca)))
            short_ways += [
                (scheme, functools.partial(run_agentnb, delay_ms=0, verify=ca)),
                (scheme, functools.partial(run_naive, delay_ms=0, verify=ca)),
                (scheme, functools.partial(run_naive, delay_ms=0, verify=ca, on_aiohttp=True)),
            ]
        ways.append(("http", lambda url, key, texts: run_floor(url, key, texts, delay)))
        # first: a heap grown by the load below would hide it
        memory = idle_memory(*places["http"], args.idle_memory) if args.idle_memory else None
        streams = measure(ways, places, args.runs, args.words, args.repeat)
        short = measure(short_ways, places, args.short_runs, 6, args.repeat)
        handshakes = (
            None if args.no_https else handshake_cpu(places["https"][0], ca_path, args.runs)
        )
    print_table(streams, args.runs * args.repeat, args.repeat)
    print_summary(streams)
    print(f"\n{args.short_runs} short runs at once (2 chunks each, no delay):")
    print_table(short, args.short_runs * args.repeat, args.repeat)
    print_short_summary(short)
    if handshakes is not None:
        https_events = next(r.events for r in streams if ", https" in r.name)
        print(
            f"\nTLS handshakes alone: {args.runs} at once cost this process {handshakes:.2f} s "
            f"of CPU ({handshakes / max(https_events, 1) * 1e6:.1f} µs per event of an https "
            f"round), paid by agentnb and the naive gather alike (a new client per round)."
        )
    if memory is not None:
        print(
            f"\nPython heap per idle open stream ({args.idle_memory} streams): agentnb "
            f"{memory[0] / 1024:.1f} KiB, naive gather {memory[1] / 1024:.1f} KiB"
        )
    print(
        "\nwall: median round; CPU: median round's CPU time of this process (all threads; the"
        " server is a child process); CPU/ev, CPU/run: that per event, per run; TTFT: a run's"
        " start to its first text.\nagentnb: httpx's interface on aiohttp"
        " (agentnb._http.aiohttp_transport), bodies read as the run pulls them."
        "\nnaive httpx-aiohttp: the naive gather on httpx with the httpx-aiohttp transport."
        "\naiohttp alone: aiohttp's reader, frames split on blank lines, JSON-decoded."
        "\nlag: how late a 10 ms timer fires (all rounds' samples). agentnb: the main (kernel)"
        " loop only\nawaits the handles; the streams, history writes and (operativus) the usage"
        " requests (one batch for runs ending together) run on agentnb's\nloop. naive:"
        " everything on the main loop; no history, no usage request, no retry or resume."
        "\nfloor: a bare asyncio.Protocol per run that counts frames and nothing else."
    )


def print_short_summary(results: list[Result]) -> None:
    """agentnb's CPU per short run against httpx-aiohttp doing the naive work (the target)."""
    print()
    for result in results:
        if not result.name.startswith("agentnb"):
            continue
        scheme = result.name.rpartition(", ")[2]
        theirs = next(
            r for r in results if r.name == f"naive httpx-aiohttp gather, operativus, {scheme}"
        )
        print(
            f"{result.name}: CPU per run {result.cpu / theirs.cpu:.2f}x httpx-aiohttp's "
            f"naive gather (target <= 1.5)"
        )


def print_summary(results: list[Result]) -> None:
    """Each agentnb row against the naive gather on the same scheme (the targets) and the
    floor (plain http)."""
    naive = {r.name.rpartition(", ")[2]: r for r in results if r.name.startswith("naive httpx-sse")}
    floor = next(r for r in results if r.name.startswith("floor"))
    print()
    for result in results:
        if not result.name.startswith("agentnb"):
            continue
        scheme = result.name.split(", ")[2].split(" ")[0]
        theirs = naive[scheme]
        lag = result.loop_lag
        on_aiohttp = next(
            r for r in results if r.name.startswith("naive httpx-aiohttp") and scheme in r.name
        )
        print(
            f"{result.name}: {theirs.wall / result.wall:.2f}x the naive gather's throughput "
            f"(target >= 1.2), {theirs.cpu / result.cpu:.2f}x its events per CPU-second; "
            f"CPU per event {cpu_per_event(result) / cpu_per_event(theirs):.2f}x the naive's "
            f"(target <= 0.5), {cpu_per_event(result) / cpu_per_event(floor):.1f}x the floor's; "
            f"loop p99 lag {pct(lag, 0.99):.0f} ms (target <= 50); CPU per event "
            f"{cpu_per_event(result) / cpu_per_event(on_aiohttp):.2f}x httpx-aiohttp's"
        )


if __name__ == "__main__":
    main()
