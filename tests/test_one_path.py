"""One request builder: every way of starting a run turns the same option into the same run
request, or refuses it with the same error, in every dialect.

In process: every run, whichever way it was started, goes through the client's one door
(``AsyncAgentClient._open``) with the :class:`RunRequest` built for it; the door is replaced
by one that keeps the request and goes no further (:class:`Opened`), so each way of starting a
run is compared by the request it built and the error it refused an option with, for every
run option (:data:`agentnb._core.request.RUN_OPTIONS`) on every path that offers it, in every
dialect: the magics and the CLI offer what ``RUN_FLAGS`` declares for them (the magics take
``media``, ``extra`` and the schema as namespace variables; the CLI has no way to pass them).

Through a server, once per dialect: a capture server (a real HTTP server on 127.0.0.1) records
what each path sends (path, headers and body), for a run carrying every option all paths
offer and the dialect sends; it answers JSON side requests (SeekrFlow's thread and message)
with an id, and every stream request with 404, so each run ends right after its request was
seen. So what the door is given is all a path decides: the same request leaves the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from agentnb_testing import PATIENCE_S, REPO
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._app.front.run_flags import RUN_FLAGS, RunFlag
from agentnb._cli.main import main as cli_main
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.stream import AsyncRunStream
from agentnb._core.request import RUN_OPTIONS, RunRequest, build_request
from agentnb.providers import available_providers

KEY = "sk-capture-key-0123456789"
MESSAGE = "What is NVDA at?"


def position_value(ticker: str, shares: int = 1) -> float:
    """The value of a position."""
    return 1.0


OPTIONS: dict[str, Any] = {
    "temperature": 0.3,
    "top_p": 0.9,
    "max_tokens": 50,
    "frequency_penalty": 0.4,
    "presence_penalty": 0.2,
    "metadata": {"team": "quant"},
    "followups": True,
    "thread_id": "thr_given",
    "team_id": "team_7",
    "user_id": "user_7",
    "org_id": "org_7",
    "media": [agentnb.Media(type="image/png", data="aGVsbG8=")],
    "extra": {"custom_field": 1},
    "response_format": {"type": "object", "properties": {"n": {"type": "integer"}}},
    "tools": [position_value],
    "config": {"model": "m2"},
}
INVALID: dict[str, Any] = {"temperature": 5, "top_p": 2.0, "max_tokens": 0}
"""Values out of range: every path must refuse each with the one builder's message."""
FLAG_OF: dict[str, RunFlag] = {flag.option: flag for flag in RUN_FLAGS if flag.option}
SCHEMA_FLAG = "--schema"
"""The magics take ``response_format`` as ``--schema VAR`` (a dict or a pydantic model)."""
_RANDOM_ID = re.compile(r"\b[a-z]+_[0-9a-f]{32}\b")


class Capture(BaseHTTPRequestHandler):
    seen: ClassVar[dict[str, list[tuple[str, str, dict[str, str], Any]]]] = {}
    lock = threading.Lock()

    def log_message(self, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        _, token, *rest = self.path.split("/", 2)  # AG-UI posts to the base URL itself
        headers = {
            name.lower(): value
            for name, value in self.headers.items()
            if name.lower() not in ("host", "content-length")
        }
        with self.lock:
            self.seen.setdefault(token, []).append(("POST", "/" + "".join(rest), headers, body))
        if "text/event-stream" in (self.headers.get("accept") or ""):
            self._answer(404, {"detail": "captured"})
        else:
            self._answer(200, {"id": "thr_capture"})

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def capture() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sent(token: str) -> list[tuple[str, str, dict[str, str], Any]]:
    """What reached the server under ``token``, with random client-side ids blanked."""
    with Capture.lock:
        requests = Capture.seen.pop(token, [])
    return json.loads(_RANDOM_ID.sub("<id>", json.dumps(requests)))


# ---- the paths --------------------------------------------------------------------------
Path = Callable[[str, str, str, dict[str, Any]], None]


def via_async_client(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    async def go() -> None:
        async with agentnb.AsyncAgentClient(dialect, base_url=url, api_key=KEY) as client:
            await client.run(agent, MESSAGE, **options)

    asyncio.run(go())


def via_sync_client(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(dialect, base_url=url, api_key=KEY) as client:
        client.run(agent, MESSAGE, **options)


def via_ask(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(dialect, base_url=url, api_key=KEY) as client:
        agentnb.ask(agent, MESSAGE, client=client, display=False, wait=True, **options)


def via_chat(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    options = {"followups": False, **options}  # chat asks for follow-ups by default
    with agentnb.AgentClient(dialect, base_url=url, api_key=KEY) as client:
        cell = agentnb.chat(agent, client=client, **options)
        cell.ask(MESSAGE).wait()


def via_batch(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(dialect, base_url=url, api_key=KEY) as client:
        table = agentnb.batch(agent, [MESSAGE], client=client, progress=False, **options)
    assert table[0].status == "failed"
    raise agentnb.NotFoundError("batch records failures", url=url, status_code=404)


def offers(path: str, option: str) -> bool:
    """Whether ``path`` has a way to pass ``option`` (the Python paths take every option)."""
    if path not in ("magic", "cli"):
        return True
    if option == "response_format":
        return path == "magic"
    flag = FLAG_OF[option]
    return flag.where in ("both", path) and not (path == "cli" and flag.from_namespace)


def magic_flags(options: dict[str, Any], namespace: dict[str, Any] | None = None) -> str:
    """The flags that ask for ``options`` (values the magics read from the notebook's
    namespace are put in ``namespace`` under a made-up name)."""
    flags = []
    for name, value in options.items():
        flag = SCHEMA_FLAG if name == "response_format" else FLAG_OF[name].flag
        if name in ("metadata", "config"):
            flags += [f"{flag} {k}={v}" for k, v in value.items()]
        elif name == "followups":
            flags += ["--followups"] if value else []
        elif name == "tools":
            assert namespace is not None, "--tool names a function: only the magics take it"
            namespace.update({fn.__name__: fn for fn in value})
            flags += [f"--tool {fn.__name__}" for fn in value]
        elif flag == SCHEMA_FLAG or FLAG_OF[name].from_namespace:
            assert namespace is not None, f"{flag} names a variable: only the magics take it"
            namespace[f"capture_{name}"] = value
            flags.append(f"{flag} capture_{name}")
        else:
            flags.append(f"{flag} {value}")
    return " ".join(flags)


def via_magic(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    agentnb.connect(dialect, base_url=url, api_key=KEY, name="capture")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agentnb")
    flags = magic_flags(options, shell.user_ns)
    line = f"{agent} --via capture --wait --no-record {flags} {MESSAGE}"
    try:
        shell.run_line_magic("agent", line)
    except UsageError as exc:  # its lines joined again, its class back in front
        words = " ".join(str(exc).split())
        said = re.fullmatch(r"(.*) \((\w+Error)\)", words)
        raise agentnb.AgentNBError(f"{said[2]}: {said[1]}" if said else words) from None


def cli_args(dialect: str, url: str, agent: str, options: dict[str, Any]) -> list[str]:
    args = ["run", agent, MESSAGE, "--provider", dialect, "--base-url", url, "--no-color"]
    return args + magic_flags(options).split()


@contextlib.contextmanager
def key_in_environment() -> Iterator[None]:
    before = os.environ.get("AGENTNB_API_KEY")
    os.environ["AGENTNB_API_KEY"] = KEY
    try:
        yield
    finally:
        if before is None:
            del os.environ["AGENTNB_API_KEY"]
        else:
            os.environ["AGENTNB_API_KEY"] = before


def via_cli(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    """``agentnb run`` in this process (as its own process once per dialect, below)."""
    errors = io.StringIO()
    with (
        key_in_environment(),
        contextlib.redirect_stderr(errors),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            code = cli_main(cli_args(dialect, url, agent, options))
        except SystemExit as exc:
            code = exc.code
    if code != 0:
        raise agentnb.AgentNBError(errors.getvalue())


def via_cli_process(dialect: str, url: str, agent: str, options: dict[str, Any]) -> None:
    env = {**os.environ, "AGENTNB_API_KEY": KEY}
    args = [sys.executable, "-m", "agentnb", *cli_args(dialect, url, agent, options)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=PATIENCE_S)
    if done.returncode != 0:
        raise agentnb.AgentNBError(done.stderr)


PATHS: dict[str, Path] = {
    "AsyncAgentClient": via_async_client,
    "AgentClient": via_sync_client,
    "ask": via_ask,
    "chat": via_chat,
    "batch": via_batch,
    "magic": via_magic,
    "cli": via_cli,
}
DIALECTS = sorted(n for n, cls in available_providers().items() if cls.wire == "http")
"""The dialects a capturing HTTP server reaches (an ACP agent is a process: its paths, ask,
``%%agent``, batch, an experiment and ``agentnb run``, are run in
``tests/interop/test_acp_agents.py``)."""


def refusal(message: str) -> str:
    """A refusal as every path says it: a client names the dialect, a connection (every other
    path) names itself and the agent."""
    unsupported = re.search(
        r"(?:does not support|cannot send) ([\w, ]+?)(?: for agent '[^']*')?; "
        r"it (?:supports|sends) ([\w, ]+)",
        message,
    )
    if unsupported is None:
        return message
    return f"cannot send {unsupported.group(1)}; sends {unsupported.group(2)}"


def refused_by(exc: agentnb.AgentNBError) -> str:
    """The configuration error ``exc`` is or carries (the magics and the CLI say it as text),
    as :func:`refusal` words it; "" for any other error (the run was started)."""
    if isinstance(exc, agentnb.ConfigurationError):
        return refusal(str(exc))
    configuration = re.search(r"(?:Configuration|UnsupportedOption)Error: (.*)", str(exc))
    return refusal(configuration.group(1).strip()) if configuration else ""


# ---- in process: the request each path gives the client's one door ----------------------
class Opened(Exception):
    """Raised by the door in place of opening the stream, once it has kept the request."""


Kept = list[tuple[str, dict[str, Any]]]


def comparable(request: RunRequest) -> dict[str, Any]:
    """The request's fields, its tools by what they declare and run (not the pydantic model
    of their arguments, made afresh from the function each time, nor the loop they were
    declared on, which is the caller's by design)."""
    tools = [
        (tool.declaration(), tool.function, tool.approve, tool.parallel, tool.time_limit)
        for tool in request.tools
    ]
    return {**request.model_dump(), "tools": tools}


@pytest.fixture
def door(monkeypatch: pytest.MonkeyPatch) -> Kept:
    """Every request that reaches the client's one door, with the dialect it was for; the run
    goes no further."""
    kept: Kept = []

    def keep(self: AsyncAgentClient, request: RunRequest, **_: Any) -> AsyncRunStream:
        kept.append((self.provider.name, comparable(request)))
        raise Opened

    monkeypatch.setattr(AsyncAgentClient, "_open", keep)
    return kept


NOWHERE = "http://127.0.0.1:9/in-process"
"""A base URL nothing is sent to: the door keeps each request before any I/O."""


def built(
    path: Path, dialect: str, options: dict[str, Any], kept: Kept, url: str = NOWHERE
) -> tuple[Kept, str]:
    """(the requests ``path`` gave the door, the configuration error's message or "")."""
    kept.clear()
    refused = ""
    try:
        path(dialect, url, "capture_agent", options)
    except Opened:
        pass
    except agentnb.AgentNBError as exc:
        refused = refused_by(exc)
    return list(kept), refused


def test_every_run_option_is_tried() -> None:
    assert set(OPTIONS) == RUN_OPTIONS
    assert set(INVALID) <= RUN_OPTIONS


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_same_option_builds_the_same_request_on_every_path(door: Kept, dialect: str) -> None:
    """Each option alone, on each path that offers it: the request the door is given (or the
    refusal before it) is the asynchronous client's."""
    differ: dict[tuple[str, str], tuple[Any, Any]] = {}
    for option in sorted(OPTIONS):
        options = {option: OPTIONS[option]}
        expected = built(via_async_client, dialect, options, door)
        requests, refused = expected
        assert refused or len(requests) == 1, (option, expected)
        for name, path in PATHS.items():
            if name != "AsyncAgentClient" and offers(name, option):
                got = built(path, dialect, options, door)
                if got != expected:
                    differ[name, option] = (got, expected)
    assert differ == {}


def test_the_paths_are_told_apart_by_what_they_build(door: Kept) -> None:
    """The comparison can fail: an option a path drops on its way to the door shows."""
    expected = built(via_async_client, "openai", {"temperature": 0.3}, door)
    assert expected[0][0][1]["model_settings"]["temperature"] == 0.3
    assert built(via_ask, "openai", {}, door) != expected


@pytest.mark.parametrize("path", [name for name in PATHS if name != "AsyncAgentClient"])
def test_an_invalid_value_is_refused_alike_on_every_path(door: Kept, path: str) -> None:
    for option, value in sorted(INVALID.items()):
        expected = built(via_async_client, "openai", {option: value}, door)
        assert expected == ([], expected[1]) and expected[1].startswith("invalid run options:")
        assert built(PATHS[path], "openai", {option: value}, door) == expected, option


@pytest.mark.parametrize("path", ["AgentClient", "ask", "chat", "batch"])
def test_an_unknown_option_is_refused_alike_on_every_python_path(door: Kept, path: str) -> None:
    options = {"temprature": 0.3}
    expected = built(via_async_client, "openai", options, door)
    assert expected == ([], expected[1]) and "unknown run option(s) 'temprature'" in expected[1]
    assert built(PATHS[path], "openai", options, door) == expected


NOTES_SERVER = REPO / "tests" / "mcp" / "notes_server.py"
AT_AN_ACP_AGENT = "ws://127.0.0.1:9/in-process"
"""An ACP agent served over the network that is never reached: the door keeps each request."""


def test_every_path_hands_an_acp_agent_mcp_tools_as_that_server(
    door: Kept, tmp_path: pathlib.Path
) -> None:
    """A dialect that takes MCP servers, not functions (ACP), gets ``tools=mcp_tools(...)``
    as the server's entry in ``extra``'s ``mcpServers``, the same on every path that takes
    such tools (``Connection._fit_tools``); a client of its own has no connection to fit them
    and refuses them as any dialect without tools does."""
    command = [sys.executable, str(NOTES_SERVER), str(tmp_path / "notes.txt")]
    with agentnb.mcp_tools(command=command) as tools:
        expected = built(via_ask, "acp", {"tools": tools}, door, AT_AN_ACP_AGENT)
        [(_, request)] = expected[0]
        assert request["tools"] == [] and request["extra"]["mcpServers"][0]["name"] == "notes"
        for name in ("chat", "batch"):
            options = {"tools": tools, **({"followups": False} if name == "chat" else {})}
            assert built(PATHS[name], "acp", options, door, AT_AN_ACP_AGENT) == expected, name
        _, refused = built(via_async_client, "acp", {"tools": tools}, door, AT_AN_ACP_AGENT)
    assert "cannot send tools" in refused


# ---- through a server, once per dialect: the same request leaves the same way -----------
def outcome(
    path: Path, dialect: str, base: str, token: str, options: dict[str, Any]
) -> tuple[Any, str]:
    """(the requests the capture server saw, the configuration error's message or "")."""
    try:
        path(dialect, f"{base}/{token}", "capture_agent", options)
    except agentnb.AgentNBError as exc:
        return sent(token), refused_by(exc)
    return sent(token), ""


EVERY_PATH_OFFERS = sorted(o for o in OPTIONS if all(offers(path, o) for path in PATHS))
"""The options a run started any way can carry (the CLI's are the fewest)."""


def sent_by(dialect: str) -> dict[str, Any]:
    """Of the options every path offers, those ``dialect`` sends (the others it refuses)."""
    provider = available_providers()[dialect]()
    sends = {}
    for option in EVERY_PATH_OFFERS:
        with contextlib.suppress(agentnb.ConfigurationError):
            provider.check_request(
                build_request("capture_agent", MESSAGE, **{option: OPTIONS[option]})
            )
            sends[option] = OPTIONS[option]
    return sends


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_path_sends_the_same_run_through_a_server(capture: str, dialect: str) -> None:
    """One run with every option the dialect sends and every path offers, started every way
    (``agentnb run`` also as its own process): the same requests reach the server."""
    options = sent_by(dialect)
    assert options, f"{dialect} sends none of {EVERY_PATH_OFFERS}"
    expected = outcome(via_async_client, dialect, capture, f"e2e-{dialect}-ref", options)
    requests, refused = expected
    assert requests and not refused, expected
    for name, path in {**PATHS, "cli process": via_cli_process}.items():
        token = f"e2e-{dialect}-{name}".replace(" ", "-")
        assert outcome(path, dialect, capture, token, options) == expected, name
