"""The span tree of real runs against the built-in server (127.0.0.1), read back from the
SDK's in-memory exporter: a span per run, a child for its model calls and one per tool call,
GenAI and OpenInference attributes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agentnb_testing import client_for, run_echo_every_way
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from tracing_testing import Traced

import agentnb
from agentnb import AgentClient, RunCancelledError, RunFailedError
from agentnb._core.pricing import price_call
from agentnb._core.trace_ids import run_span_id, run_trace_id
from agentnb.events import ToolCallStarted
from agentnb.history import EVALUATES
from agentnb.server import DIALECT_PROVIDERS, ServerHandle

PROVIDERS = sorted(DIALECT_PROVIDERS)  # the dialects the built-in server speaks
QUESTION = "What is NVDA trading at, and how did it move this week?"
CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "input.value",
    "input.mime_type",
    "output.value",
    "output.mime_type",
}
MODEL_CALL = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cost",
    "openinference.span.kind",
    "llm.model_name",
    "llm.provider",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.total",
    "llm.cost.total",
    "session.id",
)
"""What Phoenix, Langfuse and the GenAI conventions read as a model call."""


def ns(seconds: float | None) -> int:
    assert seconds is not None
    return int(seconds * 1_000_000_000)


def the_run_span(traced: Traced) -> ReadableSpan:
    [span] = traced.named("invoke_agent")
    return span


def the_model_call(traced: Traced, run_span: ReadableSpan) -> ReadableSpan:
    [span] = [s for s in traced.children(run_span) if s.name.startswith("chat")]
    return span


def the_tool_calls(traced: Traced, run_span: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in traced.children(run_span) if s.name.startswith("execute_tool")]


def summed(spans: list[ReadableSpan], name: str) -> int:
    """What a collector adding ``name`` up over a trace's spans gets."""
    return sum(int((span.attributes or {}).get(name, 0)) for span in spans)  # type: ignore[call-overload]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_finance_agent_run_in_every_dialect(
    server: ServerHandle, traced: Traced, provider: str
) -> None:
    async with client_for(server, provider) as client:
        run = await client.run("finance_agent", QUESTION)
    span = the_run_span(traced)
    attributes = dict(span.attributes or {})
    assert span.name == "invoke_agent finance_agent" and span.kind is SpanKind.CLIENT
    assert span.parent is None and span.status.status_code is StatusCode.UNSET
    assert (span.start_time, span.end_time) == (ns(run.started_at), ns(run.finished_at))
    assert run.usage is not None
    expected = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": provider,
        "gen_ai.agent.name": "finance_agent",
        "gen_ai.request.stream": True,
        "openinference.span.kind": "AGENT",
        "agent.name": "finance_agent",
        "gen_ai.response.id": run.run_id,
        "server.address": "127.0.0.1",
        "server.port": int(server.base_url.rsplit(":", 1)[1]),
        "agentnb.run.id": run.local_id,
        "agentnb.run.status": "completed",
        "agentnb.dialect": provider,
        "agentnb.retries": 0,
        "agentnb.resumes": 0,
        "agentnb.tool_calls": len(run.tool_calls),
        "gen_ai.response.model": "gpt-4o-mini",  # the model the stream named
        "agentnb.usage.input_tokens": run.usage.prompt_tokens,
        "agentnb.usage.output_tokens": run.usage.completion_tokens,
        "agentnb.usage.cost_usd": run.cost,  # the same figure as the Run, runs() and the cell
        "agentnb.usage.cost_source": "genai-prices",
    }
    assert run.cost is not None and run.cost > 0
    assert {name: attributes.get(name) for name in expected} == expected
    assert attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(run.ttft)
    assert attributes.get("gen_ai.conversation.id") == run.thread_id == attributes.get("session.id")
    assert attributes.get("gen_ai.request.model") == (  # where the request names a model
        "finance_agent" if provider in ("openai", "openai-responses") else None
    )
    assert "error.type" not in attributes and not CONTENT_KEYS & set(attributes)
    assert not {name for name in attributes if name.startswith(("gen_ai.usage.", "llm.token"))}
    model = the_model_call(traced, span)
    assert model.name == "chat gpt-4o-mini" and model.kind is SpanKind.INTERNAL
    assert (model.start_time, model.end_time) == (span.start_time, span.end_time)
    assert {name: (model.attributes or {}).get(name) for name in MODEL_CALL} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": run.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": run.usage.completion_tokens,
        "gen_ai.usage.cost": run.cost,
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "llm.token_count.prompt": run.usage.prompt_tokens,
        "llm.token_count.completion": run.usage.completion_tokens,
        "llm.token_count.total": run.usage.total_tokens,
        "llm.cost.total": run.cost,
        "session.id": run.thread_id,
    }
    tools = the_tool_calls(traced, span)
    assert len(traced.spans()) == 2 + len(tools)
    assert [(t.name, (t.attributes or {}).get("gen_ai.tool.call.id")) for t in tools] == [
        (f"execute_tool {call.name}", call.call_id) for call in run.tool_calls
    ]
    for tool, call in zip(tools, run.tool_calls, strict=True):
        assert tool.kind is SpanKind.INTERNAL and tool.context.trace_id == span.context.trace_id
        assert (tool.start_time, tool.end_time) == (ns(call.started_at), ns(call.finished_at))
        assert (tool.attributes or {}).get("gen_ai.operation.name") == "execute_tool"
        assert (tool.attributes or {}).get("openinference.span.kind") == "TOOL"
        assert (tool.attributes or {}).get("agentnb.tool.status") == "succeeded"
        assert not CONTENT_KEYS & set(tool.attributes or {})
    if provider != "runagent":  # the documented runagent stream carries the answer only
        assert {"get_stock_price", "calculator"} <= {c.name for c in run.tool_calls}


async def test_a_failed_run_carries_the_platforms_error_code(
    server: ServerHandle, traced: Traced
) -> None:
    spec = "stream-error=503;retry-after=0;times=9"
    async with client_for(server, "runagent", max_retries=1, fault=spec) as client:
        with pytest.raises(RunFailedError) as caught:
            await client.run("echo", "x")
    span = the_run_span(traced)
    attributes = span.attributes or {}
    assert caught.value.run is not None and caught.value.run.status == "failed"
    assert attributes["error.type"] == "CAPACITY_ERROR" and attributes["agentnb.retries"] == 1
    assert attributes["agentnb.run.status"] == "failed"
    assert span.status.status_code is StatusCode.ERROR
    # content off: the platform's message may quote user data; its code says what happened
    assert span.status.description == "CAPACITY_ERROR"


async def test_a_refused_run_carries_the_exception_name(
    server: ServerHandle, traced: Traced
) -> None:
    async with client_for(server, "operativus") as client:
        with pytest.raises(agentnb.NotFoundError):
            await client.run("no_such_agent", "x")
    attributes = the_run_span(traced).attributes or {}
    assert attributes["error.type"] == "NotFoundError"
    assert attributes["gen_ai.agent.name"] == "no_such_agent"


async def test_a_cancelled_run_ends_its_open_tool_call(
    server: ServerHandle, traced: Traced
) -> None:
    client = client_for(server, "operativus")
    async with client, client.stream("finance_agent", QUESTION) as stream:
        async for event in stream:
            if isinstance(event, ToolCallStarted):
                break
    run = stream.run
    assert run.status == "cancelled"
    span = the_run_span(traced)
    attributes = span.attributes or {}
    assert attributes["error.type"] == "RunCancelledError"
    assert attributes["agentnb.run.status"] == "cancelled"
    assert span.status.status_code is StatusCode.ERROR
    [tool] = traced.children(span)
    assert (tool.attributes or {}).get("agentnb.tool.status") == "failed"
    assert tool.status.status_code is StatusCode.ERROR and tool.status.description == "tool_error"
    assert isinstance(agentnb._core.exceptions.error_for_run(run), RunCancelledError)


@pytest.mark.parametrize(
    ("provider", "spec", "counted"),
    [
        ("operativus", "status=503;times=1", "agentnb.retries"),
        ("operativus", "drop-after=6", "agentnb.resumes"),
    ],
)
async def test_retries_and_resumes_are_counted(
    server: ServerHandle, traced: Traced, provider: str, spec: str, counted: str
) -> None:
    async with client_for(server, provider, fault=spec) as client:
        run = await client.run("finance_agent", QUESTION)
    assert run.status == "completed" and (run.retries, run.resumes).count(1) == 1
    attributes = the_run_span(traced).attributes or {}
    assert attributes[counted] == 1
    assert (attributes["agentnb.retries"], attributes["agentnb.resumes"]) == (
        run.retries,
        run.resumes,
    )


async def test_content_is_recorded_only_when_asked(server: ServerHandle, traced_with: Any) -> None:
    traced: Traced = traced_with(content=True)
    async with client_for(server, "seekrflow") as client:
        run = await client.run("finance_agent", QUESTION)
    span = the_run_span(traced)
    attributes = span.attributes or {}
    [asked] = json.loads(str(attributes["gen_ai.input.messages"]))
    [answered] = json.loads(str(attributes["gen_ai.output.messages"]))
    assert asked == {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    assert answered["role"] == "assistant" and answered["finish_reason"]
    assert [p["content"] for p in answered["parts"] if p["type"] == "text"] == [run.text]
    assert (
        "".join(p["content"] for p in answered["parts"] if p["type"] == "reasoning")
        == run.reasoning
    )
    assert (attributes["input.value"], attributes["output.value"]) == (QUESTION, run.text)
    for tool, call in zip(the_tool_calls(traced, span), run.tool_calls, strict=True):
        tool_attributes = tool.attributes or {}
        assert json.loads(str(tool_attributes["gen_ai.tool.call.arguments"])) == call.arguments
        assert json.loads(str(tool_attributes["gen_ai.tool.call.result"])) == call.output


def every_text_of(traced: Traced) -> list[str]:
    """Every string the spans carry out of the process: names, attributes, statuses, events."""
    seen: list[str] = []
    for span in traced.spans():
        seen += [str(value) for value in (span.attributes or {}).values()]
        seen += [str(span.status.description), span.name]
        seen += [str(v) for event in span.events for v in (event.attributes or {}).values()]
        seen += [event.name for event in span.events]
    return seen


async def test_content_off_keeps_tool_errors_questions_and_answers_in(
    server: ServerHandle, traced: Traced
) -> None:
    """A failed tool's error text quotes its arguments (user data): with content off only
    error types and codes leave, in any attribute, event or status message."""
    question = "What is ZZQX trading at today?"
    async with client_for(server, "operativus") as client:
        run = await client.run("finance_agent", question)
    [failed] = [call for call in run.tool_calls if call.status == "failed"]
    assert failed.error is not None and "ZZQX" in failed.error
    seen = every_text_of(traced)
    assert seen and not [text for text in seen if "ZZQX" in text or run.text[:40] in text]
    [tool] = [s for s in traced.spans() if s.name.startswith("execute_tool")]
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "tool_error"


async def test_keys_never_reach_a_span(server: ServerHandle, traced_with: Any) -> None:
    traced: Traced = traced_with(content=True)
    message = f"Repeat after me: my key is {server.api_key}"
    async with client_for(server, "operativus") as client:
        run = await client.run("echo", message)
    assert server.api_key in run.message
    seen: list[str] = []
    for span in traced.spans():
        seen += [str(value) for value in (span.attributes or {}).values()]
        seen += [str(span.status.description), span.name]
        seen += [str(v) for event in span.events for v in (event.attributes or {}).values()]
        seen += [str(v) for v in span.resource.attributes.values()]
    assert seen and not [text for text in seen if server.api_key in text]
    assert any("my key is ***" in text for text in seen)


def test_a_run_started_inside_the_callers_span_is_its_child(
    server: ServerHandle, traced: Traced
) -> None:
    tracer = traced.provider.get_tracer("an evaluation")
    client = AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key
    )
    with tracer.start_as_current_span("evaluation") as outer:
        # the run streams on agentnb's loop thread: asyncio carries the caller's context there
        handle = agentnb.ask("echo", "hello", client=client, display=False, wait=True)
    assert handle.status == "completed"
    span = the_run_span(traced)
    assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    assert span.context.trace_id == outer.get_span_context().trace_id


def test_each_run_of_a_batch_is_its_own_trace_linked_to_the_batchs(
    server: ServerHandle, traced: Traced
) -> None:
    """Collectors file a trace under one session: a batch's runs (as many threads) are
    traces of their own, each linked to the batch's span."""
    client = AgentClient("runtools", base_url=server.url_for("runtools"), api_key=server.api_key)
    questions = [QUESTION, "How did AAPL move this week?", "And MSFT?"]
    history = agentnb.batch("finance_agent", questions, client=client, progress=False)
    assert len(history) == 3
    [batch] = traced.named("invoke_workflow")
    runs = traced.named("invoke_agent")
    attributes = batch.attributes or {}
    assert batch.name == "invoke_workflow batch finance_agent" and batch.parent is None
    assert attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert (attributes["agentnb.batch.size"], attributes["agentnb.batch.completed"]) == (3, 3)
    assert len(runs) == 3 and all(span.parent is None for span in runs)
    assert len({span.context.trace_id for span in runs} | {batch.context.trace_id}) == 4
    batch_trace = format(batch.context.trace_id, "032x")
    for span in runs:
        assert [link.context for link in span.links] == [batch.context]
        assert (span.attributes or {})["agentnb.batch.trace_id"] == batch_trace
    inputs = summed(traced.named("chat"), "gen_ai.usage.input_tokens")
    assert (
        attributes["agentnb.usage.input_tokens"]
        == inputs
        == sum(run.prompt_tokens or 0 for run in history)
    )
    assert summed(traced.spans(), "gen_ai.usage.input_tokens") == inputs  # counted once


def test_a_run_started_each_way_is_traced_once(server: ServerHandle, traced: Traced) -> None:
    url, key = server.url_for("runagent"), server.api_key
    run_echo_every_way(url, key, "traced-ways")
    run_ids = [(s.attributes or {}).get("agentnb.run.id") for s in traced.named("invoke_agent")]
    assert len(run_ids) == len(set(run_ids)) == 8  # the CLI: test_tracing_setup


async def test_a_sub_agents_call_span_carries_its_model_usage_and_cost(
    server: ServerHandle, traced: Traced
) -> None:
    """Where the platform gives a sub-agent's usage per call (SeekrFlow's nested chunks), the
    call's span has the same model, tokens and cost as ``runs().tool_calls()``, as agentnb's
    own attributes: the run's usage holds them already, and only its model call span has
    the attributes collectors add up, so nothing is counted twice. A plain tool's span has
    none."""
    async with client_for(server, "seekrflow-vercel") as client:
        run = await client.run("research_team", "Compare NVDA and AAPL this week")
    spans = {
        (span.attributes or {}).get("gen_ai.tool.call.id"): dict(span.attributes or {})
        for span in traced.named("execute_tool")
    }
    priced = 0
    for call in run.tool_calls:
        attributes = spans[call.call_id]
        assert not {name for name in attributes if name.startswith(("gen_ai.usage", "llm."))}
        if call.usage is None:
            assert "agentnb.usage.cost_usd" not in attributes
            continue
        priced += 1
        cost = price_call(call)
        assert cost.usd is not None and cost.source == "genai-prices"
        assert {
            "agentnb.tool.model": call.model,
            "agentnb.usage.input_tokens": call.usage.prompt_tokens,
            "agentnb.usage.output_tokens": call.usage.completion_tokens,
            "agentnb.usage.total_tokens": call.usage.total_tokens,
            "agentnb.usage.cost_usd": cost.usd,
            "agentnb.usage.cost_source": "genai-prices",
        }.items() <= attributes.items()
    assert priced == 4
    run_span = dict(the_run_span(traced).attributes or {})
    assert run_span["gen_ai.response.model"] == run.model == "claude-sonnet-4-5"
    assert run_span["agentnb.usage.cost_usd"] == run.cost
    assert run.usage is not None
    model = dict(the_model_call(traced, the_run_span(traced)).attributes or {})
    assert (model["llm.model_name"], model["llm.cost.total"]) == (run.model, run.cost)
    for name, whole in (
        ("gen_ai.usage.input_tokens", run.usage.prompt_tokens),
        ("llm.token_count.prompt", run.usage.prompt_tokens),
        ("llm.token_count.total", run.usage.total_tokens),
    ):
        assert summed(traced.spans(), name) == whole


def test_a_runs_metadata_goes_with_it_and_a_judges_run_links_to_the_run_it_graded(
    server: ServerHandle, traced: Traced
) -> None:
    client = AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key
    )
    graded = agentnb.ask(
        "echo", "hello", client=client, display=False, wait=True, metadata={"user": "ada"}
    )
    agentnb.ask("judge", "grade it", client=client, display=False, wait=True,
                metadata={EVALUATES: graded.run.local_id})  # fmt: skip
    user_run, judge_run = sorted(traced.named("invoke_agent"), key=lambda span: span.name)
    assert json.loads(str((user_run.attributes or {})["metadata"])) == {"user": "ada"}
    assert user_run.links == ()
    # the ids agentnb's own provider gives the graded run's span (this test's provider
    # gives its own: the link names the run as an export or agentnb's provider does)
    graded_id = graded.run.local_id
    [link] = judge_run.links
    assert (link.context.trace_id, link.context.span_id) == (
        run_trace_id(graded_id),
        run_span_id(graded_id),
    )
    assert (judge_run.attributes or {})[
        "agentnb.evaluates.trace_id"
    ] == f"{run_trace_id(graded_id):032x}"


def test_runs_sent_into_a_project_need_the_collector_named(traced: Traced) -> None:
    with pytest.raises(agentnb.ConfigurationError, match=r"project=\.\.\.\) .* give endpoint="):
        agentnb.export_traces(agentnb.runs(limit=1), project="evaluations")
