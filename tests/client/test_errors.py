"""Mapping HTTP answers to typed errors, and the retry policy's arithmetic (pure)."""

from __future__ import annotations

import email.utils
import random

import httpx
import pytest

from agentnb import (
    AuthenticationError,
    ConfigurationError,
    HTTPStatusError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from agentnb._core.retry import RetryPolicy, parse_retry_after
from agentnb._http.error_map import content_type_error, is_event_stream, status_error

URL = "http://127.0.0.1:8765/v1/agents/nope/stream"
KEY = "sk-test-0123456789abcdef"


def answered(method: str, url: str, content_type: str | None) -> httpx.Response:
    """A 200 to ``method`` of ``url`` with that content type (its body given apart)."""
    headers = {"content-type": content_type} if content_type is not None else {}
    return httpx.Response(200, headers=headers, request=httpx.Request(method, url))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, HTTPStatusError),
        (413, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_status_maps_to_its_typed_error(status: int, kind: type[HTTPStatusError]) -> None:
    error = status_error("POST", URL, status, {}, '{"detail": "went wrong"}', [KEY])
    assert type(error) is kind
    assert str(error).startswith(f"POST {URL} → {status} ")
    assert str(error).endswith(": went wrong")
    assert (error.status_code, error.url) == (status, URL)


def test_validation_errors_are_listed() -> None:
    body = (
        '{"detail": [{"loc": ["body", "model_settings", "temperature"], '
        '"msg": "Input should be less than or equal to 2", "type": "less_than_equal"}]}'
    )
    error = status_error("POST", URL, 422, {}, body, [KEY])
    assert isinstance(error, InvalidRequestError)
    assert error.errors[0]["loc"] == ["body", "model_settings", "temperature"]
    assert "body.model_settings.temperature: Input should be less than or equal to 2" in str(error)


def test_openai_error_shape_and_plain_text_bodies() -> None:
    openai = '{"error": {"message": "The model does not exist", "type": "x", "code": null}}'
    assert str(status_error("POST", URL, 404, {}, openai, [])).endswith(
        ": The model does not exist"
    )
    html = "<html>\n<body>  Bad   gateway </body></html>"
    assert str(status_error("GET", URL, 502, {}, html, [])).endswith(
        ": <html> <body> Bad gateway </body></html>"
    )
    assert str(status_error("GET", URL, 500, {}, "", [])).endswith(": (empty body)")
    long = "x" * 5000
    assert len(str(status_error("GET", URL, 500, {}, long, []))) < 500


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    body = f'{{"detail": "invalid key {KEY}"}}'
    url = f"{URL}?key={KEY}"
    error = status_error("POST", url, 401, {}, body, [KEY])
    assert KEY not in str(error) and KEY not in error.url and KEY not in error.body
    assert "invalid key ***" in str(error)
    html = answered("POST", url, "text/html")
    protocol = content_type_error(html, f"<p>{KEY}</p>", [KEY])
    assert KEY not in str(protocol)


def test_rate_limit_retry_after_from_header_or_body() -> None:
    from_header = status_error("POST", URL, 429, {"retry-after": "7"}, "{}", [])
    assert isinstance(from_header, RateLimitError) and from_header.retry_after == 7.0
    assert "(retry after 7 s)" in str(from_header)
    from_body = status_error("POST", URL, 429, {}, '{"error": {"retry_after": 2.5}}', [])
    assert from_body.retry_after == 2.5
    assert status_error("POST", URL, 429, {}, "{}", []).retry_after is None
    assert status_error("POST", URL, 503, {"retry-after": "1"}, "", []).retry_after == 1.0


def test_content_type_checks() -> None:
    assert is_event_stream("text/event-stream")
    assert is_event_stream("Text/Event-Stream; charset=utf-8")
    assert not is_event_stream("application/json")
    assert not is_event_stream(None)
    error = content_type_error(answered("POST", URL, None), "<!DOCTYPE html><p>login</p>", [])
    assert "no content type, not an event stream" in str(error) and "HTML page" in str(error)
    plain = answered("GET", URL, "text/plain")
    json_error = content_type_error(plain, "hi", [], expected="JSON")
    assert "text/plain, not JSON: hi" in str(json_error)


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("0") == 0.0
    for bad in [None, "", "-1", "soon", "1e3", "nan", "inf", "٣"]:
        assert parse_retry_after(bad) is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_retry_policy_delays() -> None:
    random.seed(7)
    policy = RetryPolicy(backoff=0.5, max_backoff=4.0)
    for attempt in range(10):
        delay = policy.delay(attempt)
        assert 0 <= delay <= min(4.0, 0.5 * 2**attempt)
    assert policy.delay(3, retry_after=12.0) == 12.0
    assert policy.delay(0, retry_after=-3) == 0.0
    assert policy.resume_delay(0, 1000) == 0.0  # the first resume after progress goes at once
    assert 1.0 <= policy.resume_delay(1, 1000) <= 4.0  # then at least the stream's retry:
    assert policy.resume_delay(5, 60_000) == 4.0  # never past max_backoff
    with pytest.raises(ConfigurationError):
        RetryPolicy(backoff=-1)
