"""One request builder: every way of starting a run turns the same option into the same HTTP
request, or refuses it with the same error, in every dialect.

A capture server (a real HTTP server on 127.0.0.1) records what each path sends (path, headers
and body): it answers JSON side requests (SeekrFlow's thread and message) with an id, and every
stream request with 404, so each run ends right after its request was seen.

Every run option (:data:`agentnb._core.request.RUN_OPTIONS`) is tried on every path that offers
it: the magics and the CLI offer what ``RUN_FLAGS`` declares for them (the magics take
``media``, ``extra`` and the schema as namespace variables; the CLI has no way to pass them).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._app.run_flags import RUN_FLAGS, RunFlag
from agentnb._cli.main import main as cli_main
from agentnb._core.request import RUN_OPTIONS
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
        if name == "metadata":
            flags += [f"--meta {k}={v}" for k, v in value.items()]
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
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
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


def outcome(
    path: Path, dialect: str, base: str, token: str, options: dict[str, Any]
) -> tuple[Any, str]:
    """(the requests the server saw, the configuration error's message or ""). An option the
    dialect cannot send is compared by what was refused and what is sent instead: a client
    names the dialect, a connection (every other path) names itself and the agent."""
    try:
        path(dialect, f"{base}/{token}", "capture_agent", options)
    except agentnb.ConfigurationError as exc:
        return sent(token), refusal(str(exc))
    except agentnb.AgentNBError as exc:
        configuration = re.search(r"(?:Configuration|UnsupportedOption)Error: (.*)", str(exc))
        return sent(token), refusal(configuration.group(1).strip()) if configuration else ""
    return sent(token), ""


def refusal(message: str) -> str:
    unsupported = re.search(
        r"(?:does not support|cannot send) ([\w, ]+?)(?: for agent '[^']*')?; "
        r"it (?:supports|sends) ([\w, ]+)",
        message,
    )
    if unsupported is None:
        return message
    return f"cannot send {unsupported.group(1)}; sends {unsupported.group(2)}"


def test_every_run_option_is_tried() -> None:
    assert set(OPTIONS) == RUN_OPTIONS
    assert set(INVALID) <= RUN_OPTIONS


CASES = [
    (path, option)
    for path in PATHS
    if path != "AsyncAgentClient"
    for option in sorted(OPTIONS)
    if offers(path, option)
]


@pytest.mark.parametrize("dialect", sorted(available_providers()))
@pytest.mark.parametrize(("path", "option"), CASES)
def test_the_same_option_gives_the_same_request_on_every_path(
    capture: str, path: str, dialect: str, option: str
) -> None:
    token = f"{path}-{dialect}-{option}".replace("_", "-")
    options = {option: OPTIONS[option]}
    expected = outcome(via_async_client, dialect, capture, token + "-ref", options)
    got = outcome(PATHS[path], dialect, capture, token, options)
    assert got == expected
    requests, refused = expected
    assert refused or requests, "the reference path neither sent nor refused anything"


@pytest.mark.parametrize("option", sorted(INVALID))
@pytest.mark.parametrize("path", [name for name in PATHS if name != "AsyncAgentClient"])
def test_an_invalid_value_is_refused_alike_on_every_path(
    capture: str, path: str, option: str
) -> None:
    token = f"invalid-{path}-{option}".replace("_", "-")
    options = {option: INVALID[option]}
    expected = outcome(via_async_client, "openai", capture, token + "-ref", options)
    assert expected == ([], expected[1]) and expected[1].startswith("invalid run options:")
    assert outcome(PATHS[path], "openai", capture, token, options) == expected


@pytest.mark.parametrize("path", ["AgentClient", "ask", "chat", "batch"])
def test_an_unknown_option_is_refused_alike_on_every_python_path(capture: str, path: str) -> None:
    token = f"unknown-{path}"
    options = {"temprature": 0.3}
    expected = outcome(via_async_client, "openai", capture, token + "-ref", options)
    assert expected == ([], expected[1]) and "unknown run option(s) 'temprature'" in expected[1]
    assert outcome(PATHS[path], "openai", capture, token, options) == expected


@pytest.mark.parametrize("dialect", sorted(available_providers()))
def test_agentnb_run_as_its_own_process_sends_what_it_sends_in_process(
    capture: str, dialect: str
) -> None:
    token = f"process-{dialect}"
    options = {"temperature": OPTIONS["temperature"], "metadata": OPTIONS["metadata"]}
    expected = outcome(via_cli, dialect, capture, token + "-ref", options)
    assert outcome(via_cli_process, dialect, capture, token, options) == expected
    requests, refused = expected
    assert refused or requests, "the reference path neither sent nor refused anything"
