"""Shared test helpers (importable from every test folder: pytest puts ``tests/`` on the path
for its root conftest): one way to make a client for the built-in server, one scripted stream.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, TypeVar

import httpx
import psutil
import pytest
import uvicorn
from IPython.core.interactiveshell import InteractiveShell

import agentnb
import agentnb.approvals
import agentnb.context
import agentnb.evals
import agentnb.history
import agentnb.types
from agentnb import AsyncAgentClient, Run
from agentnb._history._records import RUN_COLUMNS
from agentnb._http.clients import shared_ssl_context
from agentnb.events import Event
from agentnb.server import ServerHandle
from benchmarks.patience import PATIENCE_S, PROGRAM_PATIENCE_S, patient, patient_polls

__all__ = [
    "EVALS_DISTRIBUTION",
    "PACKAGE_DIRS",
    "PATIENCE_S",
    "PEER_TIMEOUT",
    "PROGRAM_PATIENCE_S",
    "REPO",
    "STALL_TIMEOUT",
    "TEST_BOUND_S",
    "TLS",
    "RecordedSleeps",
    "Scripted",
    "SharedServers",
    "cli_in_process",
    "client_for",
    "connection_env",
    "free_port",
    "growing_limits",
    "parsed",
    "patient",
    "patient_polls",
    "recording_connection",
    "run_echo_every_way",
    "said_on_page",
    "serving",
    "stall_timeout",
    "wait_for_start",
]


@functools.cache
def parsed(path: Path) -> ast.Module:
    """The module at ``path`` parsed once a test session: the checks that read agentnb's
    source (its layers, its one-of-each rules, its entry points) walk the same trees, and
    none changes one."""
    return ast.parse(path.read_text(), str(path))


REPO = Path(agentnb.__file__).resolve().parent.parent

PUBLIC_FRONTS = (
    agentnb.types,
    agentnb.history,
    agentnb.approvals,
    agentnb.context,
    agentnb.display,
    agentnb.evals,
)
"""The public submodules that hold the types a user rarely names (each with its ``__all__``);
the root's ``__all__`` holds the rest."""
"""The checkout under test: a child process given it as ``PYTHONPATH`` imports this agentnb."""
EVALS_DISTRIBUTION = REPO / "evals"
"""agentnb-evals, the evaluation's own distribution in this repository: its ``agentnb/evals``
joins the ``agentnb`` package where both are installed."""
PACKAGE_DIRS = (REPO / "agentnb", EVALS_DISTRIBUTION / "agentnb")
"""Where the ``agentnb`` package's modules are in the checkout: the core's, and evaluation's."""


# PATIENCE_S, how long a test waits for one step to happen (a run to end, a row to be written,
# a server or a child process to answer, a kernel cell to finish) before it fails, is a bound
# for a hang, never a speed. Every such limit in tests/ is it or a named multiple of it, never
# a number of its own. Five minutes: a step that takes a second on a quiet machine took over a
# minute on 2 cores at load ~22 (a fresh-clone run beside CPU burners), and a hang fails no
# sooner than it would at any bound: a busy machine only makes the test wait longer. No test
# asserts how fast anything went (benchmarks/ measures). It, PROGRAM_PATIENCE_S (a whole
# program of steps), patient() (a Playwright page's) and patient_polls() are the benchmarks'
# too, defined once in benchmarks/patience.py.
TEST_BOUND_S = 4 * PATIENCE_S
"""pytest-timeout's bound on one test (``timeout`` in pyproject.toml, which the root conftest
checks against this): above every wait a test makes, so a test fails by its own wait, saying
what it waited for, and pytest-timeout only ends a test that hangs outside one. A test marks
a larger bound only as a multiple of this."""


PEER_TIMEOUT = httpx.Timeout(PATIENCE_S)
"""An agentnb client's ``timeout`` against another project's server or agent (LiteLLM's
proxy, an SDK's server, an ACP agent's process): each waits up to the suite's patience
for an answer. The client's own default (60 s to read) is the product's choice for a
user's server; such a peer on a loaded machine took longer to write its first bytes."""


def stall_timeout(read: float) -> httpx.Timeout:
    """The client's ``timeout`` in a test of a stream that stalls: ``read`` seconds of silence
    is the stall; connecting, sending and the pool keep the test's patience. A test that needs
    what comes before the stall takes ``read`` from :func:`growing_limits` (a loaded machine
    can be silent for seconds between two frames, or before the first)."""
    return httpx.Timeout(PATIENCE_S, read=read)


STALL_TIMEOUT = stall_timeout(2.0)
"""``stall_timeout`` for a test that only needs the stream to stall somewhere: two seconds of
silence, wherever it falls, is the stall the test is about."""


class RecordedSleeps:
    """The client's one sleep seam (``client.transport.sleep``): each wait recorded in
    ``delays``, never slept."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client_for(
    server: ServerHandle,
    dialect: str = "operativus",
    *,
    fault: str | None = None,
    delay_ms: int | None = None,
    **options: Any,
) -> AsyncAgentClient:
    """An async client for ``dialect`` on the built-in server, retrying without waiting.

    ``options`` go to ``AsyncAgentClient`` (``api_key=`` overrides the server's key,
    ``recorder=`` / ``record=`` choose the history). ``fault`` asks the server for a fault
    (an ``X-AgentNB-Fault`` spec, tagged unique to this client so one-shot faults fire
    once per client); ``delay_ms`` slows every streamed chunk."""
    headers = dict(options.pop("headers", None) or {})
    if fault is not None:
        headers["X-AgentNB-Fault"] = f"{fault};tag={uuid.uuid4().hex}"
    if delay_ms is not None:
        headers["X-AgentNB-Delay-Ms"] = str(delay_ms)
    options.setdefault("backoff", 0.0)
    options.setdefault("api_key", server.api_key)
    return AsyncAgentClient(
        dialect, **server.client_settings(dialect), headers=headers or None, **options
    )


def connection_env(server: ServerHandle, base: Path, **extra: str) -> dict[str, str]:
    """This process's environment for a child (a kernel, a Jupyter or marimo server) whose
    agentnb connects by default to ``server``'s SeekrFlow dialect, with its history in
    ``base``; ``extra`` variables on top."""
    return {
        **os.environ,
        "AGENTNB_PROVIDER": "seekrflow",
        "AGENTNB_BASE_URL": server.url_for("seekrflow"),
        "AGENTNB_API_KEY": server.api_key,
        "AGENTNB_HISTORY": str(base / "history.sqlite3"),
        **extra,
    }


@contextlib.contextmanager
def recording_connection(
    server: ServerHandle, history: Path, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> Iterator[str]:
    """A connection named ``prefix_<random>`` to ``server``'s Operativus dialect, whose runs
    go to ``history`` made the default store; disconnected and the stores closed after."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    agentnb.connect(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, name=name
    )
    try:
        yield name
    finally:
        from agentnb._app.front.connections import disconnect
        from agentnb._history import close_default_stores

        disconnect(name)
        time.sleep(0.05)  # let the old client close on the loop
        close_default_stores()


class Scripted:
    """A stream source (what ``RunHandle`` consumes) replaying ``events`` into ``.run``,
    each stamped with its position and arrival time.

    Events arrive one loop turn apart; with ``pace_every=n``, a 1 ms sleep before every
    n-th event takes the place of that turn (so timers on the loop get to run). With
    ``pause_after=n`` it sets ``paused`` (a thread-safe flag) before the n-th event and
    waits there until ``resume()`` is called from any thread; never resumed, it stalls
    there until cancelled."""

    def __init__(
        self,
        events: Sequence[Event],
        *,
        agent: str = "echo",
        message: str = "hi",
        pause_after: int | None = None,
        pace_every: int = 0,
    ) -> None:
        self.run = Run(agent=agent, message=message)
        self.events = list(events)
        self.pause_after = pause_after
        self.pace_every = pace_every
        self.paused = threading.Event()
        self.closed = False
        self._resume_asked = threading.Event()
        self._resumed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def resume(self) -> None:
        """Let a source paused at ``pause_after`` go on (callable from any thread)."""
        self._resume_asked.set()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._resumed.set)

    async def __aenter__(self) -> Scripted:
        self.run.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        for i, event in enumerate(self.events):
            if i == self.pause_after:
                await self._wait_to_resume()
            paced = self.pace_every and i % self.pace_every == 0
            await asyncio.sleep(0.001 if paced else 0)
            stamped = event.model_copy(update={"seq": i, "received_at": time.time()})
            self.run.apply(stamped)
            yield stamped

    async def _wait_to_resume(self) -> None:
        # the loop is known before the flag is read: a resume() racing this either sees the
        # loop (and sets the event on it) or is seen here
        self._loop = asyncio.get_running_loop()
        self.paused.set()
        if not self._resume_asked.is_set():
            await self._resumed.wait()


def cli_in_process(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``agentnb ARGS`` run by the CLI's ``main`` in this process, where a test is about what an
    option does, not about the process (that needs ``python -m agentnb``): this process's
    ``AGENTNB_`` settings set aside, history off unless ``env`` sets it, stdout and stderr
    captured, argparse's exit (``SystemExit``) taken as the exit code; the history stores it
    opened are closed (flushed), as the process's exit would. Like a process's end, ``main``
    closes and forgets every connection (``agentnb.connect``): call it before making any."""
    from agentnb._cli.main import main
    from agentnb._history import close_default_stores

    kept = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        for name in [name for name in os.environ if name.startswith("AGENTNB_")]:
            del os.environ[name]
        os.environ.update({"AGENTNB_HISTORY": "off", **(env or {})})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        close_default_stores()
        os.environ.clear()
        os.environ.update(kept)
    return subprocess.CompletedProcess(["agentnb", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def ctrl_c_as_a_wait_takes_its_lock_back() -> Iterator[None]:
    """A Ctrl-C landing in this thread at the one moment CPython's ``Condition.wait`` has
    given its lock up and not yet taken it back (python/cpython#78667, #118433): raised as
    the wait calls ``_acquire_restore``, Python's for a ``Lock``'s condition (an ``Event``'s)
    and C's for an ``RLock``'s (a ``Future``'s), as a signal's handler raises there."""

    landed: list[bool] = []  # once: what the interrupted code does next waits unhindered

    def interrupt() -> None:
        if not landed:
            landed.append(True)
            raise KeyboardInterrupt

    def tracer(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "_acquire_restore":
            interrupt()

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__name__", "") == "_acquire_restore":
            interrupt()

    sys.settrace(tracer)
    sys.setprofile(profiler)
    try:
        yield
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    assert landed, "no wait took its lock back: the interrupt never landed"


def wait_until(
    condition: Callable[[], object], what: str = "the condition", timeout: float = PATIENCE_S
) -> None:
    """Return once ``condition()`` is true; fail saying ``what`` was not met if ``timeout``
    seconds pass first (a busy machine makes a test slower, never red)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


def growing_limits(what: str, first: float = 1.0) -> Iterator[float]:
    """Time limits for a test of what happens when one passes (a stream's idle limit, a run's,
    an evaluator's): ``first`` seconds, then twice as long each time the test goes on to the
    next, which it does when the machine was slower than the limit before the step the test
    is about (the decision not yet posted when the stream stalled): so the limit is short on
    a quiet machine and never races a loaded one. Past the suite's patience the test fails,
    saying ``what`` step the limit never let come."""
    limit = first
    while limit <= PATIENCE_S:
        yield limit
        limit *= 2
    pytest.fail(f"{what}: not before a limit of {limit / 2:g} s passed, in any attempt")


def process_ended(pid: int) -> bool:
    """Whether process ``pid`` has ended: gone, or a zombie (ended, its parent has not yet
    reaped it). Read from ``/proc`` in one step: the process may be reaped at any moment."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):  # reaped before the open, or during the read
        return True


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


T = TypeVar("T")


class SharedServers:
    """Servers that take seconds to start, shared by the test modules of one ``folder`` while
    its tests run back to back: each started on first use, all stopped when the next test is
    elsewhere (``after``, from the root conftest's ``pytest_runtest_teardown``) or the
    session ends (``close``). A module fixture hands a module the shared server; what one
    module changes in it, the fixture puts back."""

    everywhere: ClassVar[list[SharedServers]] = []
    """Every folder's shared servers (the root conftest's hooks stop them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = contextlib.ExitStack()
        self._started: dict[str, Any] = {}
        SharedServers.everywhere.append(self)

    def get(self, name: str, start: Callable[[], contextlib.AbstractContextManager[T]]) -> T:
        if name not in self._started:
            self._started[name] = self._stack.enter_context(start())
        value: T = self._started[name]
        return value

    def after(self, nextitem: pytest.Item | None) -> None:
        if nextitem is None or self.folder not in nextitem.path.parents:
            self.close()

    def close(self) -> None:
        self._started.clear()
        self._stack.close()


@contextlib.contextmanager
def serving(
    command: Sequence[str],
    *,
    ready_url: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server ``command`` (output to ``log_path``) until ``ready_url`` answers 200, and
    stop it on leaving. Fails with the log's tail if it exits or stops making progress before
    it answers (:func:`wait_for_start`)."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_start(process, lambda: _answers(ready_url), log_path, f"answer {ready_url}")
            yield process
        finally:
            process.terminate()
            try:
                process.wait(PATIENCE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(PATIENCE_S)


@contextlib.contextmanager
def serving_asgi(app: Any) -> Iterator[str]:
    """A raw ASGI ``app`` served by uvicorn on 127.0.0.1 in a thread: its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(PATIENCE_S)
        sock.close()


async def asgi_body(scope: dict[str, Any], receive: Any, send: Any) -> bytes | None:
    """The request's whole body; None for the lifespan scope, which this answers."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return None
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


SERVICE_STALL_S = 2 * PATIENCE_S
"""A service starting (LiteLLM, Phoenix, an SDK's server) that neither writes a line nor uses
the CPU for this long, and does not answer, has stopped making progress: it fails."""
SERVICE_START_BOUND_S = 6 * PATIENCE_S
"""The bound on a start that keeps making progress: a bound for a hang, never a speed (a
start at load 12 took over 120 s; LiteLLM's took 527 s at load ~22, Phoenix's over 900 s)."""


def wait_for_start(
    process: subprocess.Popen[bytes], ready: Callable[[], object], log_path: Path, what: str
) -> None:
    """Return once ``ready()`` is true (the service can ``what``: answer its URL, or what a
    service without one shows). While it is not, wait as long as the process lives and makes
    progress (its output grows or it uses the CPU), up to :data:`SERVICE_START_BOUND_S`;
    fail with its output's tail otherwise. pytest-timeout's bound on the test is held
    meanwhile: a module's service starts in its first test's set-up, and the start is
    bounded here."""
    name = Path(str(process.args[0] if isinstance(process.args, list) else process.args)).name
    held, _ = signal.setitimer(signal.ITIMER_REAL, 0)  # pytest-timeout's timer (0: none)
    try:
        started = progressed = time.monotonic()
        seen: tuple[int, float] | None = None
        while not ready():
            now = time.monotonic()
            if process.poll() is not None:
                problem = f"exited ({process.returncode})"
            elif now - progressed > SERVICE_STALL_S:
                problem = f"wrote nothing and used no CPU for {SERVICE_STALL_S:g} s"
            elif now - started > SERVICE_START_BOUND_S:
                problem = f"kept working for {SERVICE_START_BOUND_S:g} s"
            else:
                if (progress := (log_path.stat().st_size, _cpu_seconds(process.pid))) != seen:
                    seen, progressed = progress, now
                time.sleep(0.3)
                continue
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} {problem} and did not {what}:\n{tail}")
    finally:
        if held:
            signal.setitimer(signal.ITIMER_REAL, held)


TLS = shared_ssl_context()
"""The TLS context a test's ``httpx`` call is given (``verify=TLS``), made once: each
``httpx.get`` or client made its own, reading the CA bundle (40 ms of CPU), a request a
poll or a fixture (50 CPU-seconds of the suite, most of it for plain HTTP to 127.0.0.1)."""


_PROBE = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""What asks a starting service whether it answers: urllib, straight to 127.0.0.1. An
``httpx.get`` a poll built a client, and with it an SSL context reading the CA bundle: a
JupyterLab's start, polled every 0.3 s, cost seconds of CPU in that alone."""


def _answers(url: str) -> bool:
    refused = contextlib.suppress(OSError, http.client.HTTPException)  # refused, reset, 4xx/5xx
    with refused, _PROBE.open(url, timeout=PATIENCE_S) as response:
        return bool(response.status == 200)
    return False


def _cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` and its children have used (0 once it is gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def run_echo_every_way(url: str, key: str, name: str) -> agentnb.types.Connection:
    """One ``echo`` run of the runagent server at ``url`` started each way a user can start
    one in Python: async and sync client, a sync stream, ``ask`` with ``client=`` and with
    ``via=`` (a connection named ``name``, returned), ``batch``, ``chat`` and the magic
    (seven runs; the CLI is left to the caller, which runs it in a subprocess)."""
    conn = agentnb.connect("runagent", base_url=url, api_key=key, name=name)

    async def async_client() -> None:
        async with agentnb.AsyncAgentClient("runagent", base_url=url, api_key=key) as client:
            await client.run("echo", "way async")

    asyncio.run(async_client())
    with agentnb.AgentClient("runagent", base_url=url, api_key=key) as client:
        client.run("echo", "way sync")
        with client.stream("echo", "way sync stream") as stream:
            for _ in stream:
                pass
        agentnb.ask("echo", "way ask client", client=client, display=False, wait=True)
    agentnb.ask("echo", "way ask", via=conn.name, display=False, wait=True)
    agentnb.batch("echo", ["way batch"], via=conn.name, progress=False)
    cell = agentnb.chat("echo", via=conn.name, followups=False)
    cell.ask("way chat").wait(PATIENCE_S)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agentnb")
    shell.run_line_magic("agent", f"echo --via {conn.name} --wait way magic")
    return conn


def sdk_python(name: str, on_demand: str | None = None) -> Path:
    """The Python of ``.tools/NAME``, the venv ``scripts/test.sh`` makes from
    ``tests/sdk_envs/NAME.txt`` for another project's server or SDK (``AGENTNB_SDK_ENVS``:
    a folder of such venvs looked in first, e.g. ones built by hand beside a checkout).
    Missing, the test is skipped saying so, except under CI (``CI`` set), where that fails.
    ``on_demand``: why ``scripts/test.sh`` does not make it (its pins are in
    ``tests/sdk_envs/on_demand/NAME.txt``); missing, the test is skipped with the command
    that makes it, under CI too."""
    venv, pins = f".tools/{name}", f"tests/sdk_envs/on_demand/{name}.txt"
    make = f"uv venv {venv} && uv pip install --python {venv}/bin/python -r {pins}"
    return _sdk_tool(name, Path("bin") / "python", on_demand, make)


def sdk_npm_file(name: str, path: str, on_demand: str | None = None) -> Path:
    """A file of the npm packages ``scripts/test.sh`` installs into ``.tools/NAME`` from
    ``tests/sdk_envs/NAME.npm`` (``path`` under its ``node_modules``), found and missed as
    :func:`sdk_python` does; on demand, its pins are in ``tests/sdk_envs/on_demand/NAME.npm``."""
    pins = f"tests/sdk_envs/on_demand/{name}.npm"
    make = f"npm install --prefix .tools/{name} --no-save $(cat {pins})"
    return _sdk_tool(name, Path("node_modules") / path, on_demand, make)


def _sdk_tool(name: str, inside: Path, on_demand: str | None, make: str) -> Path:
    """``inside`` ``.tools/NAME`` (``AGENTNB_SDK_ENVS`` looked in first); missing, the
    test skipped (or failed under CI, but for a tool made on demand by ``make``)."""
    found = Path(__file__).resolve().parents[1] / ".tools" / name / inside
    mine = os.environ.get("AGENTNB_SDK_ENVS")
    if mine and (Path(mine) / name / inside).exists():
        found = Path(mine) / name / inside
    if found.exists():
        return found
    tool = found.parents[len(inside.parts) - 1]
    if on_demand:
        pytest.skip(f"{tool} is missing, and not installed for every run ({on_demand}): {make}")
    reason = f"{tool} is missing: bash scripts/test.sh installs it"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run this test against the real {name}")
    pytest.skip(reason)


def new_thread(client: httpx.Client, message: str) -> str:
    thread_id: str = client.post("/v1/threads", json={}).json()["id"]
    posted = client.post(f"/v1/threads/{thread_id}/messages", json={"content": message})
    assert posted.status_code == 200
    return thread_id


def run_request(
    client: httpx.Client, kind: str, agent: str = "finance_agent", message: str = "NVDA?"
) -> tuple[str, dict[str, Any]]:
    """(path, body) that starts a streamed run in dialect ``kind``."""
    if kind in ("seekrflow", "seekrflow-vercel"):
        thread_id = new_thread(client, message)
        suffix = "/vercel" if kind == "seekrflow-vercel" else ""
        return f"/v1/threads/{thread_id}/runs/stream{suffix}", {"agent_id": agent}
    if kind == "runagent":
        return f"/v1/agents/{agent}/stream", {"query": message}
    if kind == "operativus":
        return f"/api/agents/{agent}/runs/stream", {"message": message}
    if kind == "runtools":
        return "/v1/run", {"agent": agent, "prompt": message}
    if kind == "openai":
        messages = [{"role": "user", "content": message}]
        return "/v1/chat/completions", {"model": agent, "messages": messages, "stream": True}
    if kind == "openai-responses":
        return "/v1/responses", {"model": agent, "input": message, "stream": True}
    if kind == "langgraph":
        thread_id = client.post("/langgraph/threads", json={}).json()["thread_id"]
        run = {
            "assistant_id": agent,
            "input": {"messages": [{"type": "human", "content": message}]},
        }
        return f"/langgraph/threads/{thread_id}/runs/stream", run
    if kind == "ag-ui":
        messages = [{"id": "m1", "role": "user", "content": message}]
        return f"/ag-ui/{agent}", {"threadId": "t1", "runId": "r1", "messages": messages}
    if kind == "a2a":
        a2a_message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": message}]}
        params = {"message": a2a_message}
        return f"/a2a/{agent}", {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "SendStreamingMessage",
            "params": params,
        }
    user = {"id": "m1", "role": "user", "parts": [{"type": "text", "text": message}]}
    return "/api/chat", {"id": "chat_1", "agent": agent, "messages": [user]}


AGENTS = ("finance_agent", "echo", "writer", "research")
STATUSES = ("completed", "completed", "completed", "failed", "cancelled")
TICKERS = ("NVDA", "AMD", "AAPL", "MSFT", "TSLA", "ORCL")


def history_records(count: int, *, start: float | None = None) -> list[agentnb.history.RunRecord]:
    """``count`` finished runs for a history file, one a minute back from ``start``: agents,
    statuses, tokens, costs, tool-call counts and questions vary with the run's number, so a
    test can say which runs a filter or a sort keeps (run ``i``'s ``local_id`` is
    :func:`history_id` ``(i)``; run 0 is the latest)."""
    now = time.time() if start is None else start
    records = []
    for i in range(count):
        status = STATUSES[i % len(STATUSES)]
        ticker = TICKERS[i % len(TICKERS)]
        values: dict[str, Any] = {
            "local_id": history_id(i),
            "run_id": f"run_{i:06d}",
            "provider": "operativus",
            "agent": AGENTS[i % len(AGENTS)],
            "thread_id": f"thread_{i // 3}",
            "message": f"Question {i}: how did {ticker} move this week?",
            "answer": f"{ticker} moved {i % 7 - 3:+d}% on earnings (answer {i}).",
            "status": status,
            "error_message": "Model overloaded" if status == "failed" else None,
            "total_tokens": 100 + (i * 37) % 1000 if status == "completed" else None,
            "started_at": now - 60 * i,
            "finished_at": now - 60 * i + 2,
            "duration": 1 + (i % 10) / 4,
            "tool_call_count": i % 4,
            "model": ("gpt-4.1", "gpt-4o-mini")[i % 2],
            "cost_usd": (100 + (i * 37) % 1000) / 1e5 if status == "completed" else None,
            "cost_source": "genai-prices" if status == "completed" else None,
            "event_count": 10,
            "retries": 0,
        }
        row = tuple(values.get(name) for name, _ in RUN_COLUMNS)
        records.append(agentnb.history.RunRecord.from_row(row))
    return records


def history_id(i: int) -> str:
    """The ``local_id`` of run ``i`` of :func:`history_records`: its number first, as a
    run's short id shows the first eight characters."""
    return f"{i:08x}{'ab' * 12}"


def said_on_page(page: str, sentence: str) -> str:
    """``sentence`` as docs/``page`` writes it (runs of white space read as one space): the
    test that calls this holds the sentence, and fails when the page no longer says it."""
    sentence = " ".join(sentence.split())
    written = " ".join((REPO / "docs" / page).read_text().split())
    assert sentence in written, f"docs/{page} no longer says: {sentence}"
    return sentence
