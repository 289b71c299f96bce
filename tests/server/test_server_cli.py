"""``agentnb serve`` as a real subprocess, driven with ``curl -N`` (or httpx without curl)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S
from server_testing import ipv6_loopback_available

from agentnb._cli.main import build_parser

CURL = shutil.which("curl")
KEY = "cli-test-key-0123"


def agentnb_command() -> list[str]:
    script = Path(sys.executable).with_name("agentnb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agentnb"]


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    banner: str


def serve(*args: str, env: dict[str, str] | None = None) -> Served:
    process = subprocess.Popen(
        [*agentnb_command(), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:
        banner.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    text = "".join(banner)
    found = re.search(r"on (http://(?:127\.0\.0\.1|\[::1\]):\d+)$", text, re.MULTILINE)
    if not found:
        process.kill()
        _, errors = process.communicate()
        pytest.fail(f"no URL in banner: {text!r} (stderr: {errors!r})")
    return Served(process, found.group(1), text)


@dataclass
class Stopped:
    returncode: int
    out: str
    errors: str


def interrupt(served: Served, timeout: float = PATIENCE_S) -> Stopped:
    """Ctrl-C, then what the server printed; a server still running after ``timeout`` is
    killed (never left for the garbage collector to warn about in a later test)."""
    served.process.send_signal(signal.SIGINT)
    try:
        out, errors = served.process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        served.process.kill()
        out, errors = served.process.communicate()
        pytest.fail(f"the server ignored Ctrl-C for {timeout} s (stderr: {errors!r})")
    return Stopped(served.process.returncode, out, errors)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    running = serve("--api-key", KEY, "--delay-ms", "0")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


def post_stream(base_url: str, path: str, body: dict[str, object], key: str = KEY) -> str:
    """The raw streamed body, as ``curl -N`` prints it."""
    if CURL is None:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.post(base_url + path, json=body, headers=headers, timeout=PATIENCE_S).text
    command = [
        CURL, "-sS", "-N", "-X", "POST", base_url + path,
        "-H", f"Authorization: Bearer {key}",
        "-H", "Content-Type: application/json",
        "-d", json.dumps(body),
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=PATIENCE_S
    ).stdout


def finance_requests(base_url: str) -> dict[str, tuple[str, dict[str, object]]]:
    headers = {"X-API-Key": KEY}
    thread = httpx.post(base_url + "/v1/threads", json={}, headers=headers).json()["id"]
    message = {"role": "user", "content": "What is NVDA trading at?"}
    httpx.post(f"{base_url}/v1/threads/{thread}/messages", json=message, headers=headers)
    user = {"role": "user", "parts": [{"type": "text", "text": "NVDA?"}]}
    return {
        "seekrflow": (f"/v1/threads/{thread}/runs/stream", {"agent_id": "finance_agent"}),
        "seekrflow-vercel": (
            f"/v1/threads/{thread}/runs/stream/vercel",
            {"agent_id": "finance_agent"},
        ),
        "runagent": ("/v1/agents/finance_agent/stream", {"query": "NVDA?"}),
        "operativus": ("/api/agents/finance_agent/runs/stream", {"message": "NVDA?"}),
        "runtools": ("/v1/run", {"agent": "finance_agent", "prompt": "NVDA?"}),
        "openai": (
            "/v1/chat/completions",
            {
                "model": "finance_agent",
                "stream": True,
                "messages": [{"role": "user", "content": "NVDA?"}],
            },
        ),
        "vercel": ("/api/chat", {"agent": "finance_agent", "messages": [user]}),
    }


EXPECTED_END = {
    "seekrflow": "data: [DONE]",
    "seekrflow-vercel": "data: [DONE]",
    "runagent": "event: done",
    "operativus": '"event":"STOP"',
    "runtools": "event: complete",
    "openai": "data: [DONE]",
    "vercel": "data: [DONE]",
}


def test_serve_streams_finance_agent_in_every_dialect(served: Served) -> None:
    for dialect, (path, body) in finance_requests(served.base_url).items():
        output = post_stream(served.base_url, path, body)
        assert EXPECTED_END[dialect] in output, dialect
        assert "$875.40" in output, dialect
        has_ids = re.search(r"^id: run_[0-9a-f]+:\d+$", output, re.MULTILINE)
        if dialect.startswith("seekrflow"):  # data-only frames, as the platform sends them
            assert output.startswith("data: ") and not has_ids, dialect
        else:
            assert output.startswith("retry: 1000\n") and has_ids, dialect


def test_curl_sees_the_first_frames_before_the_run_ends(served: Served) -> None:
    if CURL is None:
        pytest.skip("curl is not installed")
    body = {"query": "Streaming", "parameters": {"paragraphs": 2, "stream_delay_ms": 25}}
    command = [
        CURL, "-sS", "-N", "-X", "POST", served.base_url + "/v1/agents/writer/stream",
        "-H", f"X-API-Key: {KEY}", "-H", "Content-Type: application/json",
        "-d", json.dumps(body),
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as curl:
        assert curl.stdout is not None
        first_lines = [curl.stdout.readline() for _ in range(4)]
        assert first_lines[1] == "event: start\n"
        assert curl.poll() is None  # curl has printed a frame and the stream is still open
        rest = curl.stdout.read()
    assert "event: done" in rest


def test_serve_prints_a_generated_key_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTNB_SERVER_API_KEY"}
    running = serve(env=env)
    key = re.search(r"API key: (\S+)", running.banner)
    assert key is not None
    assert key.group(1).startswith("anb-")
    assert httpx.get(running.base_url + "/", headers={"X-API-Key": key.group(1)}).status_code == 200
    assert httpx.get(running.base_url + "/").status_code == 401
    stopped = interrupt(running)
    assert stopped.returncode == 0
    assert "stopped" in stopped.out


def test_serve_honours_the_key_from_the_environment() -> None:
    env = {**os.environ, "AGENTNB_SERVER_API_KEY": "env-key-456789"}
    running = serve(env=env)
    assert "env-key-456789" not in running.banner
    assert "AGENTNB_SERVER_API_KEY" in running.banner
    ok = httpx.get(running.base_url + "/", headers={"X-API-Key": "env-key-456789"})
    assert ok.status_code == 200
    assert interrupt(running).returncode == 0


def header_the_shell_sends(banner: str, env: dict[str, str]) -> str:
    """The Authorization header the banner's curl example sends, as bash expands it."""
    example = re.search(r"^Try:\n((?:  .*\\\n)*  .*)$", banner, re.MULTILINE)
    assert example is not None, banner
    script = "curl() { for arg; do printf '%s\\n' \"$arg\"; done; }; " + example.group(1)
    shown = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    return next(line for line in shown.stdout.splitlines() if line.startswith("Authorization"))


@pytest.mark.parametrize("where", ["environment", "generated"])
def test_the_banners_curl_example_sends_the_key(where: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTNB_SERVER_API_KEY"}
    if where == "environment":
        env["AGENTNB_SERVER_API_KEY"] = "env-key-456789"
    running = serve(env=env)
    try:
        header = header_the_shell_sends(running.banner, env)
        key = header.removeprefix("Authorization: Bearer ")
        assert httpx.get(running.base_url + "/", headers={"X-API-Key": key}).status_code == 200
        if where == "environment":
            assert key == "env-key-456789"
    finally:
        interrupt(running)


def test_serve_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [*agentnb_command(), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "--allow-remote" in result.stderr


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
def test_serve_listens_on_ipv6_loopback() -> None:
    running = serve("--host", "::1", "--api-key", KEY)
    try:
        assert running.base_url.startswith("http://[::1]:")
        assert f"base URL {running.base_url}/v1" in running.banner
        ok = httpx.get(running.base_url + "/", headers={"X-API-Key": KEY}, timeout=PATIENCE_S)
        assert ok.status_code == 200
    finally:
        assert interrupt(running).returncode == 0


def serve_and_fail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agentnb_command(), "serve", *args], capture_output=True, text=True, timeout=PATIENCE_S
    )


def test_serve_explains_an_unresolvable_host_in_one_line() -> None:
    # (a port outside 0-65535 takes the same path; tests/server/test_server_hardening.py)
    result = serve_and_fail("--host", "no-such-host.invalid", "--allow-remote")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("agentnb serve: error: cannot resolve host 'no-such-host.invalid'")


def test_cli_has_a_command_table_for_more_subcommands() -> None:
    args = build_parser().parse_args(["serve", "--port", "9000"])
    assert args.port == 9000
    assert args.host == "127.0.0.1"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--delay-ms", "-1"])


def test_ctrl_c_the_moment_the_banner_shows_stops_the_server(tmp_path: Path) -> None:
    """The banner comes once Ctrl-C is the server's. Sent earlier, while uvicorn still
    imported its modules, it broke the start half-way (a coroutine never awaited) or was
    swallowed by an import-lock callback and the server ran on. An empty bytecode cache makes
    every import slow, as on a cold CI machine, so the window is wide."""
    cold = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    stopped = interrupt(serve("--api-key", KEY, env=cold))
    assert stopped.returncode == 0 and "agentnb server stopped." in stopped.out
    assert "Traceback" not in stopped.errors and "Warning" not in stopped.errors


def env_without_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "AGENTNB_SERVER_API_KEY"}


def test_serve_takes_its_key_from_a_file(tmp_path: Path) -> None:
    """A key in a file never shows in ``ps``; the banner names the file, not the key."""
    key_file = tmp_path / "key.txt"
    key_file.write_text("file-key-0123456789\n")
    key_file.chmod(0o600)
    running = serve("--api-key-file", str(key_file), env=env_without_key())
    try:
        assert "file-key-0123456789" not in running.banner
        assert str(key_file) in running.banner
        headers = {"X-API-Key": "file-key-0123456789"}
        assert httpx.get(running.base_url + "/", headers=headers).status_code == 200
    finally:
        assert interrupt(running).errors == ""


def test_a_key_on_the_command_line_is_warned_about() -> None:
    running = serve("--api-key", KEY, env=env_without_key())
    errors = interrupt(running).errors
    assert "warning" in errors and "ps" in errors
    assert "AGENTNB_SERVER_API_KEY" in errors and "--api-key-file" in errors
    assert KEY not in errors


def test_a_key_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text("file-key-0123456789")
    key_file.chmod(0o644)
    running = serve("--api-key-file", str(key_file), env=env_without_key())
    errors = interrupt(running).errors
    assert "readable by other users" in errors and "chmod 600" in errors


@pytest.mark.parametrize("content", [None, "", "  \n", "two\nlines"])
def test_a_bad_key_file_is_refused_in_one_line(tmp_path: Path, content: str | None) -> None:
    key_file = tmp_path / "key.txt"
    if content is not None:
        key_file.write_text(content)
    result = serve_and_fail("--port", "0", "--api-key-file", str(key_file))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("agentnb serve: error:") and str(key_file) in line


def test_a_key_and_a_key_file_together_are_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--api-key", KEY, "--api-key-file", "k.txt"])


def test_the_banners_curl_example_reads_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "my key.txt"
    key_file.write_text("file-key-0123456789\n")
    key_file.chmod(0o600)
    env = env_without_key()
    running = serve("--api-key-file", str(key_file), env=env)
    try:
        header = header_the_shell_sends(running.banner, env)
        assert header == "Authorization: Bearer file-key-0123456789"
    finally:
        interrupt(running)
