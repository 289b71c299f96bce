"""A run's span attributes, following OpenTelemetry's GenAI semantic conventions (v1.41:
``invoke_agent`` client spans, a ``chat`` span for the model calls, ``execute_tool`` spans,
``invoke_workflow`` for a batch) and, alongside, OpenInference's (``openinference.span.kind``,
``llm.*``, ``session.id``: what Arize Phoenix counts and prices), with ``agentnb.*``
attributes where no convention exists (retries, resumes, the run's own id...).

A run's usage and cost are on its ``chat`` span only: collectors add up the usage of every
model-call span of a trace, so the run span, a sub-agent's call (whose usage the run's
already holds) and a batch carry theirs as ``agentnb.usage.*``, which none of them adds up.

Plain data in, plain dicts out: nothing here imports OpenTelemetry. Every text value goes
through :func:`~agentnb._core.secrets.redact`, so a key never reaches a span even when a
message or a tool's output quotes one. Content (message, answer, tool arguments and results)
is included only when ``content`` is true.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .._core.exceptions import error_for_run
from .._core.pricing import price_call
from .._core.request import RunRequest
from .._core.run import Run, ToolCall
from .._core.secrets import redact
from ..events import Usage

__all__ = [
    "Attributes",
    "batch_attributes",
    "batch_outcome_attributes",
    "error_type",
    "model_call_attributes",
    "model_call_span_name",
    "request_attributes",
    "run_attributes",
    "run_span_name",
    "tool_attributes",
    "tool_span_name",
]

AttributeValue = str | bool | int | float | Sequence[str]
Attributes = dict[str, AttributeValue]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_KIND = "openinference.span.kind"


def run_span_name(agent: str) -> str:
    """``invoke_agent {gen_ai.agent.name}``, as the convention names agent spans."""
    return f"invoke_agent {agent}" if agent else "invoke_agent"


def tool_span_name(tool: str) -> str:
    """``execute_tool {gen_ai.tool.name}``."""
    return f"execute_tool {tool}" if tool else "execute_tool"


def model_call_span_name(model: str | None) -> str:
    """``chat {gen_ai.request.model}``, as the convention names inference spans."""
    return f"chat {model}" if model else "chat"


def request_attributes(
    run: Run, request: RunRequest, base_url: str, *, content: bool
) -> Attributes:
    """What is known when the request is sent: the attributes the convention wants at span
    creation (operation, provider, agent, model, server) and the request's settings."""
    dialect = run.provider
    attributes: Attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": dialect or "_OTHER",
        "gen_ai.agent.name": request.agent,
        "gen_ai.request.stream": True,
        _KIND: "AGENT",
        "agent.name": request.agent,
        "agentnb.dialect": dialect,
        "agentnb.connection": run.connection,
        "agentnb.run.id": run.local_id,
    }
    if run.requested_model is not None:  # the dialect says how the request sets it
        attributes["gen_ai.request.model"] = run.requested_model
    attributes.update(_server(base_url))
    for name, value in request.model_settings.as_dict().items():
        attributes[f"gen_ai.request.{name}"] = value
    if request.response_format is not None:
        attributes["gen_ai.output.type"] = "json"
    if request.metadata:  # the run's own dimensions (a user, an experiment's arm): no content
        attributes["metadata"] = _json(request.metadata)
    if content:
        attributes["gen_ai.input.messages"] = _json(
            [{"role": "user", "parts": [{"type": "text", "content": request.message}]}]
        )
        attributes["input.value"] = request.message
        attributes["input.mime_type"] = "text/plain"
    return scrubbed(attributes)


def run_attributes(run: Run, *, content: bool) -> Attributes:
    """What is known when the run has ended: its ids, outcome, model, timings, retries, and
    its usage and cost as ``agentnb.usage.*`` (the ``chat`` span carries them for
    collectors to count: :func:`model_call_attributes`)."""
    attributes: Attributes = {
        "agentnb.run.status": run.status,
        "agentnb.retries": run.retries,
        "agentnb.resumes": run.resumes,
        "agentnb.tool_calls": len(run.tool_calls),
    }
    optional: dict[str, AttributeValue | None] = {
        "gen_ai.conversation.id": run.thread_id,
        "session.id": run.thread_id,
        "gen_ai.response.id": run.run_id,
        "gen_ai.response.time_to_first_chunk": run.ttft,
        "error.type": error_type(run),
    }
    if run.finish_reason:
        optional["gen_ai.response.finish_reasons"] = [run.finish_reason]
    if run.model:
        optional["gen_ai.response.model"] = run.model
    if run.usage is not None:
        # the same figure as runs() and the chat cell, and where it came from
        optional.update(_spent(run.usage, run.cost, run.cost_source))
    attributes.update({name: value for name, value in optional.items() if value is not None})
    if content:
        attributes["gen_ai.output.messages"] = _json([_output_message(run)])
        attributes["output.value"] = run.text
        attributes["output.mime_type"] = "text/plain"
    return scrubbed(attributes)


def model_call_attributes(run: Run) -> Attributes | None:
    """The run's model calls as one ``chat`` span (the platform reports their usage summed
    per run): the model, the tokens and the cost of :func:`agentnb.runs`, in the GenAI
    conventions' and OpenInference's attributes, so that Phoenix, Langfuse and other
    collectors count and price the run once. None when the platform reported no usage.

    ``gen_ai.usage.cost`` and ``llm.cost.total`` carry agentnb's cost (the platform's figure,
    a custom price or genai-prices'): Langfuse shows it; Phoenix prices the tokens with its
    own table for ``llm.model_name`` (it does not read cost attributes yet)."""
    usage = run.usage
    if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
        return None
    priced = run.priced
    provider = priced.provider
    optional: dict[str, AttributeValue | None] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": run.model,
        "gen_ai.response.model": run.model,
        "gen_ai.conversation.id": run.thread_id,
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
        "gen_ai.usage.cost": priced.usd,
        _KIND: "LLM",
        "llm.model_name": run.model,
        "llm.provider": provider,
        "llm.system": provider,
        "llm.token_count.prompt": usage.prompt_tokens,
        "llm.token_count.completion": usage.completion_tokens,
        "llm.token_count.total": usage.total_tokens,
        "llm.token_count.prompt_details.cache_read": usage.cached_tokens,
        "llm.token_count.completion_details.reasoning": usage.reasoning_tokens,
        "llm.cost.total": priced.usd,
        "session.id": run.thread_id,
        "agentnb.usage.cost_source": priced.source,
    }
    return scrubbed({name: value for name, value in optional.items() if value is not None})


def tool_attributes(call: ToolCall, *, content: bool) -> Attributes:
    """An ``execute_tool`` span's attributes: the tool, the call id, how it ended; for a call
    whose sub-agent's usage the platform reports, its model, usage and cost as
    ``agentnb.*`` (the run's usage holds them already: no collector may count them again)."""
    attributes: Attributes = {
        "gen_ai.operation.name": "execute_tool",
        _KIND: "TOOL",
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.call_id,
        "agentnb.tool.status": call.status,
    }
    if call.status == "failed":
        attributes["error.type"] = "tool_error"
    if call.approval is not None and call.approval.approved is not None:
        attributes["agentnb.tool.approved"] = call.approval.approved
    if isinstance(call.usage, Usage):  # a sub-agent's, where the platform gives it per call
        cost = price_call(call)
        spent = {"agentnb.tool.model": call.model, **_spent(call.usage, cost.usd, cost.source)}
        attributes.update({name: value for name, value in spent.items() if value is not None})
    if content:
        arguments = call.arguments if call.arguments is not None else call.arguments_text
        attributes["gen_ai.tool.call.arguments"] = _json(arguments)
        if call.output is not None:
            attributes["gen_ai.tool.call.result"] = _json(call.output)
    return scrubbed(attributes)


def _spent(usage: Usage, cost: float | None, source: str | None) -> dict[str, Any]:
    """What a run or a sub-agent spent, as ``agentnb.usage.*`` (counted by no collector)."""
    return {
        "agentnb.usage.input_tokens": usage.prompt_tokens,
        "agentnb.usage.output_tokens": usage.completion_tokens,
        "agentnb.usage.cache_read_tokens": usage.cached_tokens,
        "agentnb.usage.reasoning_tokens": usage.reasoning_tokens,
        "agentnb.usage.total_tokens": usage.total_tokens,
        "agentnb.usage.cost_usd": cost,
        "agentnb.usage.cost_source": source,
    }


def batch_attributes(agent: str, size: int) -> Attributes:
    """A ``batch(...)`` call's ``invoke_workflow`` span, at its start."""
    return scrubbed(
        {
            "gen_ai.operation.name": "invoke_workflow",
            _KIND: "CHAIN",
            "gen_ai.workflow.name": f"batch {agent}",
            "gen_ai.agent.name": agent,
            "agentnb.batch.size": size,
        }
    )


def batch_outcome_attributes(runs: Sequence[Run]) -> Attributes:
    """How a batch's runs ended: counts by status, and the tokens they used (as
    ``agentnb.usage.*``: each run's ``chat`` span carries its own for collectors to add up)."""
    statuses = [run.status for run in runs]
    attributes: Attributes = {
        "agentnb.batch.completed": statuses.count("completed"),
        "agentnb.batch.failed": statuses.count("failed") + statuses.count("interrupted"),
        "agentnb.batch.cancelled": statuses.count("cancelled"),
    }
    usages = [run.usage for run in runs if run.usage is not None]
    inputs = [u.prompt_tokens for u in usages if u.prompt_tokens is not None]
    outputs = [u.completion_tokens for u in usages if u.completion_tokens is not None]
    if inputs:
        attributes["agentnb.usage.input_tokens"] = sum(inputs)
    if outputs:
        attributes["agentnb.usage.output_tokens"] = sum(outputs)
    return attributes


def error_type(run: Run) -> str | None:
    """The class of error a run ended with, None when it completed: the platform's error
    code where it sent one (``CAPACITY_ERROR``...) or the code agentnb gave the error
    (``timeout``, ``interrupted``, the exception's name such as ``NotFoundError``), else the
    name of the exception the run raises (``RunCancelledError``...; the tree in
    ``agentnb._core.exceptions`` lists them all)."""
    error = error_for_run(run)
    if error is None:
        return None
    return run.error.code if run.error is not None and run.error.code else type(error).__name__


def scrubbed(attributes: Mapping[str, AttributeValue]) -> Attributes:
    """``attributes`` with every known secret removed from each text value."""
    clean: Attributes = {}
    for name, value in attributes.items():
        if isinstance(value, str):
            clean[name] = redact(value)
        elif isinstance(value, list | tuple):
            clean[name] = [redact(str(item)) for item in value]
        else:
            clean[name] = value
    return clean


def _server(base_url: str) -> Attributes:
    """``server.address`` and ``server.port`` (never the URL's user or password)."""
    try:
        url = urlsplit(base_url)
        port = url.port or _DEFAULT_PORTS.get(url.scheme)
    except ValueError:
        return {}
    if not url.hostname:
        return {}
    return {"server.address": url.hostname, **({"server.port": port} if port else {})}


def _output_message(run: Run) -> dict[str, Any]:
    parts = [
        {"type": "reasoning" if part.kind == "reasoning" else "text", "content": part.text}
        for part in run.parts
        if part.kind != "tool"
    ]
    finish = run.finish_reason or ("stop" if run.status == "completed" else "error")
    return {"role": "assistant", "parts": parts, "finish_reason": finish}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
