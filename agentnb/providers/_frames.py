"""Small, defensive readers shared by the dialect translators.

Frames come from the network, so nothing here trusts a shape: a wrong type reads as absent,
and the translators turn what they cannot read into ``UnknownEvent`` (kept, never dropped).
JSON is parsed once, by pydantic-core's parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import from_json

from .._core.exceptions import ProtocolError
from .._core.pricing import finite_number, sane_cost, sane_count, shown_number
from .._core.run import fresh_id
from .._core.secrets import redacted_error
from .._core.text import EXCERPT_CHARS, compact_json, terminal_safe
from ..events import RunCompleted, RunFailed, UnknownEvent, Usage
from ..sse import ServerSentEvent
from ._base import RemoteRun

__all__ = [
    "INVALID",
    "as_dict",
    "completed_with",
    "failure",
    "first_number",
    "first_str",
    "is_done_marker",
    "json_or_text",
    "listed_models",
    "listed_runs",
    "local_id",
    "model_name",
    "parse_json",
    "parse_usage",
    "quoted",
    "reported_failure",
    "str_list",
    "unknown",
]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
"""What :func:`parse_json` returns for text that is not JSON."""


def parse_json(text: str) -> Any:
    """The JSON value of ``text``, or :data:`INVALID`."""
    try:
        return from_json(text)
    except ValueError:
        return INVALID


def json_or_text(value: Any) -> Any:
    """A string holding a JSON object or array parsed (Operativus' JSON-in-a-string, OpenAI's
    argument strings); any other value, or a string that is not such JSON, as it is."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        parsed = parse_json(value)
        return value if parsed is INVALID else parsed
    return value


def as_dict(value: Any) -> dict[str, Any] | None:
    """``value`` when it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def first_str(obj: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` whose value is a string."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def listed_models(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(id, model)`` for each model of a ``{"data": [{"id": ...}, ...]}`` listing (OpenAI's
    and Anthropic's ``/models``); an entry without an id is left out."""
    models = (as_dict(body) or {}).get("data")
    found = [as_dict(m) or {} for m in models] if isinstance(models, list) else []
    return [(model_id, model) for model in found if (model_id := first_str(model, "id"))]


def first_number(obj: Mapping[str, Any], *keys: str) -> float | None:
    """The first of ``keys`` whose value is a finite number (booleans are not numbers)."""
    for key in keys:
        value = obj.get(key)
        number = finite_number(value)
        if number is not None:
            return number
    return None


def _count(obj: Mapping[str, Any], *keys: str, refused: list[str] | None = None) -> int | None:
    """The first of ``keys`` that holds a sane token count; a number out of range (a
    boolean, a fraction, a negative, past 10^12) is noted in ``refused``, never a count."""
    for key in keys:
        value = obj.get(key)
        count = sane_count(value)
        if count is not None:
            return count
        if refused is not None and isinstance(value, int | float):
            refused.append(f"{key}={shown_number(value)}")
    return None


def parse_usage(value: Any) -> Usage | None:
    """Token counts in any of the usual spellings (snake_case, camelCase, input/output), with
    the cached and reasoning tokens of their details (OpenAI's ``*_tokens_details``,
    LangChain's ``*_token_details``, the AI SDK's ``cachedInputTokens``, Anthropic's
    ``cache_read_input_tokens``, Gemini's ``usageMetadata`` as Google ADK sends it, Microsoft
    Agent Framework's ``input_token_count``) and a cost in USD the platform reports (``cost``)."""
    obj = as_dict(value)
    if obj is None:
        return None
    refused: list[str] = []
    prompt = _count(
        obj, "prompt_tokens", "input_tokens", "promptTokens", "inputTokens", "promptTokenCount",
        "input_token_count", refused=refused,
    )  # fmt: skip
    completion = _count(
        obj, "completion_tokens", "output_tokens", "completionTokens", "outputTokens",
        "candidatesTokenCount", "output_token_count", refused=refused,
    )  # fmt: skip
    total = _count(
        obj, "total_tokens", "totalTokens", "totalTokenCount", "total_token_count", refused=refused
    )
    cost = sane_cost(obj.get("cost"))
    if obj.get("cost") is not None and cost is None:
        refused.append(f"cost={shown_number(obj['cost'])}")
    if prompt is None and completion is None and total is None and not refused:
        return None
    cached = _detail(obj, _CACHED)
    if prompt is not None and "cache_read_input_tokens" in obj:
        # Anthropic counts cache reads and writes apart from input_tokens; agentnb's prompt
        # tokens include them (as OpenAI's do).
        prompt = sane_count(
            prompt + (cached or 0) + (_count(obj, "cache_creation_input_tokens") or 0)
        )
    thoughts = _count(obj, "thoughtsTokenCount")
    if completion is not None and thoughts is not None and "candidatesTokenCount" in obj:
        # Gemini counts thinking apart from the answer; agentnb's completion tokens hold both.
        completion = sane_count(completion + thoughts)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=cached,
        reasoning_tokens=_detail(obj, _REASONING),
        cost=cost,
        refused=", ".join(refused) or None,
    ).merged(None)


_CACHED = (
    ("prompt_tokens_details", "cached_tokens"),
    ("input_tokens_details", "cached_tokens"),
    ("prompt_tokens_details", "cachedTokens"),
    ("input_tokens_details", "cachedTokens"),
    ("input_token_details", "cache_read"),
    (None, "cachedInputTokens"),
    (None, "cache_read_input_tokens"),
    (None, "cached_tokens"),
    (None, "cachedContentTokenCount"),
)
_REASONING = (
    ("completion_tokens_details", "reasoning_tokens"),
    ("output_tokens_details", "reasoning_tokens"),
    ("completion_tokens_details", "reasoningTokens"),
    ("output_tokens_details", "reasoningTokens"),
    ("output_token_details", "reasoning"),
    (None, "reasoningTokens"),
    (None, "reasoning_tokens"),
    (None, "thoughtsTokenCount"),
)


def _detail(obj: Mapping[str, Any], places: tuple[tuple[str | None, str], ...]) -> int | None:
    """The first count found at one of ``places`` (a details object's key, or a top key)."""
    for details, key in places:
        inner = obj if details is None else as_dict(obj.get(details))
        found = _count(inner, key) if inner is not None else None
        if found is not None:
            return found
    return None


def model_name(value: Any) -> str | None:
    """A model's name when ``value`` is a non-empty string (a frame's ``model``), else None."""
    return value.strip() or None if isinstance(value, str) else None


def str_list(value: Any) -> list[str]:
    """The strings of a JSON list (other items skipped); [] for anything else."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def is_done_marker(sse: ServerSentEvent) -> bool:
    """The ``data: [DONE]`` sentinel that OpenAI-style and Vercel streams end with."""
    return sse.data.strip() == "[DONE]"


def unknown(sse: ServerSentEvent) -> UnknownEvent:
    """The frame kept verbatim."""
    return UnknownEvent(event=sse.event, data=sse.data, id=sse.id or None)


def local_id(prefix: str) -> str:
    """A fresh client-side id (threads of stateless dialects, calls without ids)."""
    return f"{prefix}_{fresh_id()}"


_TRANSIENT_MARKERS = (
    "CAPACITY",
    "RATE_LIMIT",
    "RATELIMIT",
    "OVERLOAD",
    "UNAVAILABLE",
    "429",
    "503",
)


def failure(message: str, code: Any = None, retry_after: float | None = None) -> RunFailed:
    """A RunFailed; capacity and rate-limit codes, or a ``retry_after``, make it retryable.
    The server's text becomes an exception's message, which a terminal prints as it is: it
    is kept without control sequences."""
    message = terminal_safe(message)
    code_text = (
        terminal_safe(str(code))
        if isinstance(code, str | int) and not isinstance(code, bool)
        else None
    )
    normalized = (code_text or "").upper().replace("-", "_")
    transient = retry_after is not None or any(m in normalized for m in _TRANSIENT_MARKERS)
    return RunFailed(message=message, code=code_text, retry_after=retry_after, retryable=transient)


def quoted(answer: Any) -> str:
    """What a platform answered, as an error message quotes it: an excerpt, every known
    secret redacted (a side request's answer is read as the platform sent it)."""
    text = answer if isinstance(answer, str) else compact_json(answer)
    return redacted_error(text, limit=EXCERPT_CHARS)


def reported_failure(
    value: Any, keys: tuple[str, ...] = ("message", "error"), codes: tuple[str, ...] = ("code",)
) -> RunFailed:
    """The failure an error frame reports: a text as its message; an object's first of
    ``keys`` (looked for in its ``error`` object first, when it has one), its first of
    ``codes`` and its ``retry_after``."""
    if isinstance(value, str):
        return failure(value or _REPORTED)
    obj = as_dict(value) or {}
    inner = as_dict(obj.get("error")) or obj
    message = first_str(inner, *keys) or first_str(obj, *keys) or _REPORTED
    code = next((c for c in (*map(inner.get, codes), obj.get("code")) if c is not None), None)
    return failure(message, code, first_number(inner, "retry_after", "retryAfter"))


_REPORTED = "the agent reported an error"


def listed_runs(body: Any, platform: str) -> list[RemoteRun]:
    """The run objects a platform's status or listing answers (SeekrFlow's, Operativus'):
    one run, a JSON array of runs or ``{"data": [...]}``, fields in snake_case or camelCase."""
    single = as_dict(body)
    items = body if single is None else single.get("data") if "data" in single else [single]
    if not isinstance(items, list):
        raise ProtocolError(f"{platform}'s run list is not JSON runs: {quoted(body)}")
    return [run for run in map(_listed_run, items) if run is not None]


def _listed_run(item: Any) -> RemoteRun | None:
    obj = as_dict(item)
    run_id = first_str(obj, "id", "runId") if obj is not None else None
    if obj is None or run_id is None:
        return None
    usage = parse_usage(obj.get("usage"))
    return RemoteRun(
        run_id=run_id,
        agent=first_str(obj, "agent_id", "agentId"),
        thread_id=first_str(obj, "thread_id", "sessionId", "session_id"),
        status=first_str(obj, "status") or "unknown",
        created_at=first_str(obj, "created_at", "createdAt"),
        started_at=first_str(obj, "started_at", "startedAt"),
        finished_at=first_str(
            obj, "completed_at", "completedAt", "finishedAt", "failed_at", "cancelled_at"
        ),
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        total_tokens=usage.total_tokens if usage else None,
        model=model_name(obj.get("model")),
        raw=obj,
        usage=usage,
    )


def completed_with(completed: RunCompleted, usage: Usage | None, model: str | None) -> RunCompleted:
    """``completed`` with what the platform's run object says of it (SeekrFlow's and
    Operativus' streams do not carry usage): its usage filling the stream's unknown figures,
    its model where the stream named none."""
    update: dict[str, Any] = {"model": completed.model or model}
    if usage is not None:
        update["usage"] = usage.merged(completed.usage)
    return completed.model_copy(update=update)
