"""Hostile input gets a 4xx, never a 500: deep or odd JSON bodies, numbers that are not plain
ASCII digits, request heads that never finish (slowloris), hosts and ports the server cannot
listen on."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, new_thread, run_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_testing import KINDS, ipv6_loopback_available, parse_sse

from agentnb._core.exceptions import ConfigurationError
from agentnb.server import ServerHandle, start_server
from agentnb.server._http_plumbing import MAX_JSON_DEPTH

# --- JSON bodies ----------------------------------------------------------------------------

JSON_ENDPOINTS = [
    "/v1/threads",
    "/v1/threads/{thread}/messages",
    "/v1/threads/{thread}/runs/stream",
    "/v1/threads/{thread}/runs/stream/vercel",
    "/v1/agents/echo/stream",
    "/api/agents/echo/runs/stream",
    "/v1/run",
    "/v1/chat/completions",
    "/api/chat",
]


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


DEEP_BODIES = {
    "100000 unclosed": b"[" * 100_000,
    "100000 closed": nested(100_000),
    "100000 objects in a field": b'{"metadata": '
    + b'{"a": ' * 100_000
    + b"1"
    + b"}" * 100_000
    + b"}",
    "one past the limit": b'{"metadata": ' + nested(MAX_JSON_DEPTH) + b"}",
}


def error_message(response: httpx.Response) -> str:
    body = response.json()
    if "error" in body:
        message: str = body["error"]["message"]
        return message
    return str(body["detail"])


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_deeply_nested_json_is_a_400(client: httpx.Client, endpoint: str, body: bytes) -> None:
    path = endpoint.format(thread=new_thread(client, "deep"))
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert f"nests deeper than {MAX_JSON_DEPTH} levels" in error_message(response)


def test_json_nested_up_to_the_limit_is_accepted(client: httpx.Client) -> None:
    deep: Any = "bottom"
    for _ in range(MAX_JSON_DEPTH - 2):  # the body object and meta_data are two levels
        deep = [deep]
    response = client.post("/v1/threads", json={"meta_data": {"deep": deep}})
    assert response.status_code == 200, response.text
    assert response.json()["meta_data"]["deep"] == deep


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(client: httpx.Client, constant: bytes) -> None:
    body = b'{"meta_data": {"x": ' + constant + b"}}"
    response = client.post("/v1/threads", content=body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["type"] == "json_invalid"
    assert constant.decode() in problem["msg"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/threads", b'{"meta_data": {"x": "\\ud800"}}'),
        ("/v1/threads", b'{"meta_data": {"\\udfff": 1}}'),
        ("/v1/run", b'{"agent": "echo", "prompt": "a\\ud800b", "stream": false}'),
        ("/v1/agents/echo/stream", b'{"query": "\\ude00"}'),
        ("/v1/threads/{thread}/messages", b'{"content": "\\ud800"}'),
    ],
)
def test_unpaired_surrogates_are_refused(client: httpx.Client, path: str, body: bytes) -> None:
    response = client.post(path.format(thread=new_thread(client, "s")), content=body)
    assert response.status_code == 422
    assert "surrogate" in response.json()["detail"][0]["msg"]


def test_escaped_surrogate_pairs_are_fine(client: httpx.Client) -> None:
    body = json.dumps({"agent": "echo", "prompt": "rocket 🚀", "stream": False}, ensure_ascii=True)
    assert "\\ud83d\\ude80" in body
    response = client.post("/v1/run", content=body)
    assert response.status_code == 200
    assert response.json()["text"] == "rocket 🚀"


odd_characters = st.sampled_from(["\ud800", "\udfff", "²", "٣"]) | st.characters(codec=None)
odd_text = st.lists(odd_characters, max_size=20).map("".join)
odd_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN and Infinity
    | odd_text
)
json_values = odd_scalars | st.recursive(
    odd_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner),
    max_leaves=12,
)

Path = tuple[str | int, ...]


def paths_in(value: Any, prefix: Path = ()) -> list[Path]:
    """Every place in a JSON value, the value itself excluded."""
    if isinstance(value, dict):
        items: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    found: list[Path] = []
    for key, inner in items:
        found += [(*prefix, key), *paths_in(inner, (*prefix, key))]
    return found


def replace_at(value: Any, path: Path, new: Any) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


@pytest.mark.parametrize("kind", KINDS)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mangled_bodies_never_get_a_500(
    client: httpx.Client, kind: str, data: st.DataObject
) -> None:
    path, body = run_request(client, kind, agent="echo", message="fuzz")
    places = [*paths_in(body), ("metadata",), ("stream",), ("unknown",)]
    place = data.draw(st.sampled_from(places), label="place")
    replace_at(body, place, data.draw(json_values, label="value"))
    response = client.post(path, content=json.dumps(body, ensure_ascii=True))
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "minItems": 10**9},
        {"type": "array", "minItems": 10**4, "items": {"type": "array", "minItems": 10**4}},
        {"type": "string", "minLength": 10**9, "maxLength": 10**9},
    ],
)
def test_schemas_asking_for_huge_answers_are_refused_at_once(
    client: httpx.Client, schema: dict[str, Any]
) -> None:
    body = {"agent": "structured", "prompt": "x", "config": {"responseFormat": schema}}
    response = client.post("/v1/run", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "config", "responseFormat"]


# --- numbers in headers and options ---------------------------------------------------------

BAD_NUMBERS = {
    "superscript two (latin-1)": "²".encode("latin-1"),
    "superscript two (utf-8)": "²".encode(),
    "arabic-indic three": "٣".encode(),
    "fullwidth three": "３".encode(),
    "5000 digits": b"9" * 5000,
    "underscore": b"1_0",
    "plus sign": b"+5",
    "minus sign": b"-5",
    "exponent": b"1e3",
}


@pytest.mark.parametrize("number", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
@pytest.mark.parametrize("kind", ["runagent", "openai", "vercel"])
def test_a_bad_number_in_last_event_id_is_a_400(
    client: httpx.Client, kind: str, number: bytes
) -> None:
    path, body = run_request(client, kind, agent="echo")
    run_id = parse_sse(client.post(path, json=body).text)[0].run_id
    header = run_id.encode() + b":" + number
    response = client.post(path, json=body, headers={"Last-Event-ID": header})
    assert response.status_code == 400, response.text
    assert "Last-Event-ID" in error_message(response)


@pytest.mark.parametrize("number", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_a_bad_number_in_the_delay_header_is_a_400(client: httpx.Client, number: bytes) -> None:
    response = client.post(
        "/v1/agents/echo/stream", json={"query": "x"}, headers={"X-AgentNB-Delay-Ms": number}
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"][0]["loc"] == ["header", "x-agentnb-delay-ms"]


def test_the_delay_header_takes_plain_digits(client: httpx.Client) -> None:
    for good in ("0", "7", "0000009"):
        response = client.post(
            "/v1/agents/echo/stream", json={"query": "x"}, headers={"X-AgentNB-Delay-Ms": good}
        )
        assert response.status_code == 200, good
    too_slow = client.post(
        "/v1/agents/echo/stream", json={"query": "x"}, headers={"X-AgentNB-Delay-Ms": "10001"}
    )
    assert too_slow.status_code == 400


@pytest.mark.parametrize("number", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
@pytest.mark.parametrize(
    "template",
    [b"drop-after=%s", b"times=%s;status=503", b"status=%s", b"stream-error=%s;tag=odd"],
)
def test_a_bad_number_in_the_fault_header_is_a_400(
    client: httpx.Client, template: bytes, number: bytes
) -> None:
    headers = {"X-AgentNB-Fault": template % number}
    response = client.post("/v1/run", json={"agent": "echo", "prompt": "x"}, headers=headers)
    assert response.status_code == 400, response.text
    assert "X-AgentNB-Fault" in response.json()["detail"]


@pytest.mark.parametrize("seconds", ["١", "²", "1_0", "nan", "inf", "1e2", "9" * 5000])
def test_a_bad_retry_after_in_the_fault_header_is_a_400(client: httpx.Client, seconds: str) -> None:
    headers = {"X-AgentNB-Fault": f"status=503;retry-after={seconds}".encode()}
    response = client.post("/v1/run", json={"agent": "echo", "prompt": "x"}, headers=headers)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("paragraphs", ["٣", "²", "1_0", "+3", " 3", "9" * 5000])
def test_a_bad_paragraphs_option_is_a_422(client: httpx.Client, paragraphs: str) -> None:
    body = {"agent": "writer", "prompt": "x", "config": {"paragraphs": paragraphs}}
    response = client.post("/v1/run", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "config", "paragraphs"]


@pytest.mark.parametrize("value", ["٣", "²", "9" * 5000])
def test_bad_numbers_in_the_query_are_a_422(client: httpx.Client, value: str) -> None:
    thread_id = new_thread(client, "q")
    for name in ("limit", "offset"):
        response = client.get(f"/v1/threads/{thread_id}/runs", params={name: value})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", name]


# --- request heads that never finish (slowloris) ------------------------------------------

QUICK_HEAD_TIMEOUT_S = 1.0
CLOSE_GRACE_S = PATIENCE_S
"""How long past its timeout a connection may stay open before a test fails: a bound for a
hung test, not a speed claim (a server under load closes late)."""


@pytest.fixture
def quick_server() -> Iterator[ServerHandle]:
    """A server that sends its answers at once."""
    with start_server(delay_ms=0) as handle:
        yield handle


def connect(server: ServerHandle) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=PATIENCE_S)


def partial_head(server: ServerHandle) -> bytes:
    return (
        f"POST /v1/run HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {server.api_key}\r\nX-Slow"
    ).encode()


def read_until_closed(sock: socket.socket, deadline: float) -> bytes | None:
    """Everything the server sends until it closes the connection; None if it has not closed
    it by ``deadline``."""
    received = b""
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a ``content-length`` body."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def get_index(server: ServerHandle) -> int:
    headers = {"X-API-Key": server.api_key}
    return httpx.get(server.base_url + "/", headers=headers, timeout=PATIENCE_S).status_code


def body_head(server: ServerHandle, length: int) -> bytes:
    return (
        f"POST /v1/run HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {server.api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_that_stops_arriving_gets_a_408(
    quick_server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agentnb.server._http_plumbing.BODY_TIMEOUT_S", QUICK_HEAD_TIMEOUT_S)
    with connect(quick_server) as sock:
        started = time.monotonic()
        sock.sendall(body_head(quick_server, 100) + b'{"agent": ')
        answer = read_until_closed(sock, started + QUICK_HEAD_TIMEOUT_S + CLOSE_GRACE_S)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within" in answer


def test_a_client_leaving_mid_body_logs_no_error(
    quick_server: ServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with connect(quick_server) as sock:
        sock.sendall(body_head(quick_server, 100) + b'{"agent": ')
        time.sleep(0.2)
    time.sleep(0.3)
    assert get_index(quick_server) == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_the_server_listens_on_ipv6_loopback(host: str) -> None:
    with start_server(host=host, delay_ms=0) as handle:
        assert handle.base_url.startswith("http://[::1]:")
        assert get_index(handle) == 200
        assert handle.url_for("openai") == handle.base_url + "/v1"


def test_an_unresolvable_host_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"cannot resolve host 'no-such-host\.invalid'"):
        start_server(host="no-such-host.invalid", allow_remote=True)


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_a_port_out_of_range_is_a_configuration_error(port: int) -> None:
    with pytest.raises(ConfigurationError, match="port must be between 0 and 65535"):
        start_server(port=port)


@pytest.mark.parametrize("query", ["limit=ten", "offset=-1", "limit=%C2%B2"])
def test_langgraph_runs_list_refuses_bad_paging_with_a_422(
    client: httpx.Client, query: str
) -> None:
    thread_id = client.post("/langgraph/threads", json={}).json()["thread_id"]
    answer = client.get(f"/langgraph/threads/{thread_id}/runs?{query}")
    assert answer.status_code == 422, answer.text
