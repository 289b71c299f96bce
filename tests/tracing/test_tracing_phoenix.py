"""A real collector: Arize Phoenix (its own venv, ``.tools/phoenix``, made by
``scripts/test.sh``) started on 127.0.0.1 with local storage; agentnb exports runs to it over
OTLP/HTTP, the spans are read back through Phoenix's REST API, its own token and cost totals
(per trace, session and project) through its GraphQL API, and its UI is photographed in
Chromium. Nothing leaves the machine (Phoenix's telemetry, external resources, assistant and
MCP server are off).

Skipped when ``.tools/phoenix`` is absent, except under CI (``CI`` set), where that fails.
The screenshot goes to ``test-artifacts/phoenix-trace.png``; with
``AGENTNB_DOCS_SCREENSHOTS=1`` also to ``docs/img/phoenix-trace.png`` (the picture in docs/tracing.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, TLS, patient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from playwright.sync_api import sync_playwright

import agentnb
from agentnb import AgentClient
from agentnb._core.trace_ids import run_span_id
from agentnb._history import close_default_stores, default_store
from agentnb._tracing import configure_tracing, flush_tracing
from agentnb.history import HistoryStore
from agentnb.server import start_server
from benchmarks.chromium import launch

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DOCS_IMAGE = REPO / "docs" / "img" / "phoenix-trace.png"
QUESTION = "What is NVDA trading at, and how did it move this week?"
pytestmark = [pytest.mark.slow]


def spans_of_trace(phoenix: str, trace_id: str, expected: int) -> list[dict[str, Any]]:
    """The trace's spans as Phoenix's REST API lists them, once all ``expected`` arrived."""
    deadline = time.monotonic() + PATIENCE_S
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 100}, verify=TLS)
        if page.status_code == 200:
            data = page.json()["data"]
            spans = [s for s in data if s["context"]["trace_id"] == trace_id]
            if len(spans) >= expected:
                return spans
        time.sleep(0.5)
    pytest.fail(f"Phoenix holds {len(spans)} of the trace's {expected} spans")


def project_id(phoenix: str) -> str:
    projects = httpx.get(f"{phoenix}/v1/projects", verify=TLS).json()["data"]
    [default] = [p for p in projects if p["name"] == "default"]
    return str(default["id"])


def photograph_trace(url: str, expect: list[str]) -> Path:
    """Chromium on the trace's page, its run span's attributes open; the PNG's path."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "phoenix-trace.png"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = patient(browser.new_page(viewport={"width": 1400, "height": 1000}))
            page.goto(url)
            for text in expect:
                page.get_by_text(text, exact=True).first.wait_for(timeout=PATIENCE_S * 1000)
            page.get_by_role("tab", name="Attributes").click()
            page.get_by_text("agentnb.usage.cost_usd", exact=True).wait_for(
                timeout=PATIENCE_S * 1000
            )
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    return shot


@pytest.mark.usefixtures("tracing_seam")
def test_phoenix_shows_the_run_its_model_calls_its_tool_calls_and_its_tokens(
    phoenix: str,
) -> None:
    agents = start_server()  # paced like a real agent, so the trace has real durations
    try:
        status = configure_tracing(endpoint=phoenix, content=True)
        assert status.destination == f"OTLP/HTTP {phoenix}/v1/traces"
        url, key = agents.url_for("operativus"), agents.api_key
        client = AgentClient("operativus", base_url=url, api_key=key)
        handle = agentnb.ask("finance_agent", QUESTION, client=client, display=False, wait=True)
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        agents.stop()
    run = handle.run
    assert run.usage is not None and len(run.tool_calls) >= 2
    spans = spans_of_trace(phoenix, _trace_id_of(phoenix, run.local_id), 2 + len(run.tool_calls))
    [root] = [s for s in spans if s["parent_id"] is None]
    attributes = root["attributes"]
    assert (root["name"], root["span_kind"]) == ("invoke_agent finance_agent", "AGENT")
    assert attributes["gen_ai.conversation.id"] == run.thread_id == attributes["session.id"]
    assert attributes["input.value"] == QUESTION and attributes["output.value"] == run.text
    [model] = [s for s in spans if s["span_kind"] == "LLM"]
    assert (model["name"], model["parent_id"]) == ("chat gpt-4o-mini", root["context"]["span_id"])
    assert model["attributes"]["llm.token_count.prompt"] == run.usage.prompt_tokens
    assert model["attributes"]["llm.token_count.total"] == run.usage.total_tokens
    tools = sorted((s for s in spans if s["span_kind"] == "TOOL"), key=lambda s: s["start_time"])
    assert [(s["name"], s["parent_id"]) for s in tools] == [
        (f"execute_tool {c.name}", root["context"]["span_id"]) for c in run.tool_calls
    ]
    page = f"{phoenix}/projects/{project_id(phoenix)}/traces/{root['context']['trace_id']}"
    shot = photograph_trace(page, [model["name"], tools[0]["name"], tools[-1]["name"]])
    if os.environ.get("AGENTNB_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGE)


def _trace_id_of(phoenix: str, local_id: str) -> str:
    """The trace whose run span carries agentnb's id for the run."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        page = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 100}, verify=TLS)
        if page.status_code == 200:
            for span in page.json()["data"]:
                if span["attributes"].get("agentnb.run.id") == local_id:
                    return str(span["context"]["trace_id"])
        time.sleep(0.5)
    pytest.fail("Phoenix never listed the run's span")


TOTALS_PROJECT = "agentnb-totals"
PROBE_PROJECT = "agentnb-probe"
CUSTOM_MODEL = "gpt-4o"  # the structured agent's
CUSTOM_PRICE = {"input_mtok": 7.0, "output_mtok": 21.0}  # not gpt-4o's list price
CREATE_MODEL = """
mutation ($input: CreateModelMutationInput!) { createModel(input: $input) { model { id } } }
"""
TRACE_COST = """
query ($traceId: ID!) {
  projects { edges { node { name trace(traceId: $traceId) { costSummary { total { cost } } } } } }
}
"""
TOTALS_QUERY = """
query {
  projects { edges { node {
    name tokenCountPrompt tokenCountCompletion tokenCountTotal
    costSummary { total { cost } }
    sessions(first: 100) { edges { node {
      sessionId tokenUsage { prompt completion total } costSummary { total { cost } }
    } } }
    spans(first: 1000) { edges { node {
      parentId attributes
      cumulativeTokenCountPrompt cumulativeTokenCountCompletion cumulativeTokenCountTotal
      trace { costSummary { total { cost } } }
    } } }
  } } }
}
"""
"""Phoenix's own figures: the project's token counts and cost, each session's, and each
trace's (its root span's cumulative token counts, the trace's cost summary)."""

Totals = dict[str, float]


@pytest.fixture
def fresh_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    """The default history, in a file of this test's (so runs() holds this test's runs)."""
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    store = default_store()
    assert store is not None
    try:
        yield store
    finally:
        close_default_stores()


@pytest.mark.usefixtures("tracing_seam")
def test_phoenix_totals_equal_the_historys_for_traces_sessions_and_the_project(
    phoenix: str, fresh_history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phoenix counts and prices only LLM-kind spans that name their model: each run's usage
    must reach it as one such span, and a sub-agent's usage (already in its run's) must not
    be counted again. Several models (one Phoenix has no price for), tool calls, sub-agents
    reporting their own usage, reasoning tokens, and a conversation of two turns. One model
    has a custom price, added to Phoenix's models as docs/tracing.md says."""
    price_in_phoenix(phoenix, CUSTOM_MODEL, CUSTOM_PRICE)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={TOTALS_PROJECT}")
    agents = start_server(delay_ms=0)
    try:
        agentnb.set_prices({CUSTOM_MODEL: CUSTOM_PRICE})
        configure_tracing(endpoint=phoenix)

        def client(dialect: str) -> AgentClient:
            return AgentClient(dialect, base_url=agents.url_for(dialect), api_key=agents.api_key)

        client("operativus").run("finance_agent", QUESTION)  # gpt-4o-mini, two tool calls
        client("langgraph").run("research_team", "Compare NVDA and AAPL this week")
        client("openai-responses").run("finance_agent", QUESTION)  # reasoning tokens
        client("openai").run("structured", "NVDA as JSON")  # gpt-4o, at the custom price
        client("runtools").run("echo", "hello")  # a model no one has a price for
        writer = client("seekrflow")
        first = writer.run("writer", "Write a haiku about the market")
        second = writer.run("writer", "Now one about bonds", thread_id=first.thread_id)
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        agents.stop()
        agentnb.set_prices(None)
    assert fresh_history.flush(timeout=PATIENCE_S)
    rows = agentnb.runs().to_dicts()
    assert len(rows) == 7 and {row["status"] for row in rows} == {"completed"}
    sources = {row["model"]: row["cost_source"] for row in rows}
    assert (sources[CUSTOM_MODEL], sources["gpt-4o-mini"]) == ("custom", "genai-prices")
    assert any(call.total_tokens for call in agentnb.runs().tool_calls())  # sub-agents
    assert second.thread_id == first.thread_id is not None  # one session of two turns
    expected = history_totals(rows)
    assert expected["project cost"] > 0 and expected[f"session {first.thread_id} total"] > 0

    assert settled_totals(phoenix, TOTALS_PROJECT, expected) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


BATCH_PROJECT = "agentnb-batch"
TOPICS = ("the market", "bonds", "gold", "oil", "the dollar")


@pytest.mark.usefixtures("tracing_seam")
def test_each_thread_of_a_batch_is_a_session_with_its_own_totals(
    phoenix: str, fresh_history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phoenix files a trace under one session: a batch's runs, each a thread of its own,
    must be as many traces (linked to the batch's), or their sessions merge."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={BATCH_PROJECT}")
    agents = start_server(delay_ms=0)
    try:
        configure_tracing(endpoint=phoenix)
        client = AgentClient(
            "seekrflow", base_url=agents.url_for("seekrflow"), api_key=agents.api_key
        )
        questions = [f"Write a haiku about {topic}" for topic in TOPICS]
        agentnb.batch("writer", questions, client=client, progress=False)
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        agents.stop()
    assert fresh_history.flush(timeout=PATIENCE_S)
    rows = agentnb.runs().to_dicts()
    assert len({row["thread_id"] for row in rows}) == len(TOPICS) == len(rows)
    expected = history_totals(rows)
    seen = settled_totals(phoenix, BATCH_PROJECT, expected)
    assert len([key for key in seen if key.startswith("session ")]) == 4 * len(TOPICS)
    assert seen == pytest.approx(expected, rel=1e-9, abs=1e-12)


def settled_totals(phoenix: str, project: str, expected: Totals) -> Totals:
    """Phoenix's totals for ``project`` once they equal ``expected`` (else after 60 s):
    Phoenix inserts spans, then their costs, in batches."""
    seen = phoenix_totals(phoenix, project)
    deadline = time.monotonic() + PATIENCE_S
    while seen != pytest.approx(expected, rel=1e-9, abs=1e-12) and time.monotonic() < deadline:
        time.sleep(1)
        seen = phoenix_totals(phoenix, project)
    return seen


def price_in_phoenix(phoenix: str, model: str, price: dict[str, float]) -> None:
    """Add ``model``'s custom price to Phoenix's models (what Settings → Models → Add new
    model does), and wait until Phoenix prices with it: it reloads its models every few
    seconds, and prices a span when it arrives."""
    costs = [
        {"tokenType": "input", "costPerMillionTokens": price["input_mtok"], "kind": "PROMPT"},
        {"tokenType": "output", "costPerMillionTokens": price["output_mtok"], "kind": "COMPLETION"},
    ]
    model_input = {
        "name": f"{model} (custom)",
        "namePattern": f"^{re.escape(model)}$",
        "costs": costs,
    }
    reply = httpx.post(
        f"{phoenix}/graphql",
        json={"query": CREATE_MODEL, "variables": {"input": model_input}},
        timeout=PATIENCE_S,
        verify=TLS,
    )
    assert reply.status_code == 200 and "errors" not in reply.json(), reply.text
    provider = TracerProvider(
        resource=Resource.create({"openinference.project.name": PROBE_PROJECT})
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{phoenix}/v1/traces")))
    probe = {"openinference.span.kind": "LLM", "llm.model_name": model}
    deadline = time.monotonic() + PATIENCE_S
    try:
        while time.monotonic() < deadline:  # a million prompt tokens cost input_mtok
            with provider.get_tracer("probe").start_as_current_span(
                "probe", attributes={**probe, "llm.token_count.prompt": 1_000_000}
            ) as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
            if probed_cost(phoenix, trace_id) == pytest.approx(price["input_mtok"]):
                return
    finally:
        provider.shutdown()
    pytest.fail(f"Phoenix did not price {model} at the custom price within 90 s")


def probed_cost(phoenix: str, trace_id: str) -> float | None:
    """The probe trace's cost once Phoenix has stored it (None if not within PATIENCE_S)."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        reply = httpx.post(
            f"{phoenix}/graphql",
            json={"query": TRACE_COST, "variables": {"traceId": trace_id}},
            timeout=PATIENCE_S,
            verify=TLS,
        )
        projects = [edge["node"] for edge in reply.json()["data"]["projects"]["edges"]]
        for project in projects:
            if project["name"] == PROBE_PROJECT and project["trace"] is not None:
                cost = project["trace"]["costSummary"]["total"]["cost"]
                if cost is not None:
                    return float(cost)
        time.sleep(0.5)
    return None


def history_totals(rows: list[dict[str, Any]]) -> Totals:
    """What runs() says each run, each thread and all of them used and cost, keyed as
    :func:`phoenix_totals` keys Phoenix's figures (an unknown cost counts as nothing)."""
    groups: dict[str, list[dict[str, Any]]] = {"project": rows}
    for row in rows:
        groups.setdefault(f"trace {row['local_id']}", []).append(row)
        if row["thread_id"] is not None:
            groups.setdefault(f"session {row['thread_id']}", []).append(row)
    totals: Totals = {}
    for group, members in groups.items():
        for column, name in (
            ("prompt_tokens", "prompt"),
            ("completion_tokens", "completion"),
            ("total_tokens", "total"),
            ("cost_usd", "cost"),
        ):
            totals[f"{group} {name}"] = float(sum(row[column] or 0 for row in members))
    return totals


def phoenix_totals(phoenix: str, project_name: str) -> Totals:
    """Phoenix's own token counts and costs for ``project_name``: the project's, each
    session's, and each trace's (named by the agentnb run id on its root span)."""
    reply = httpx.post(
        f"{phoenix}/graphql", json={"query": TOTALS_QUERY}, timeout=PATIENCE_S, verify=TLS
    )
    reply.raise_for_status()
    assert "errors" not in reply.json(), reply.json()
    projects = [edge["node"] for edge in reply.json()["data"]["projects"]["edges"]]
    found = [p for p in projects if p["name"] == project_name]
    if not found:
        return {}
    project = found[0]
    totals: Totals = {}

    def add(group: str, prompt: Any, completion: Any, total: Any, cost: Any) -> None:
        for name, value in (
            ("prompt", prompt),
            ("completion", completion),
            ("total", total),
            ("cost", cost),
        ):
            totals[f"{group} {name}"] = float(value or 0)

    add(
        "project",
        project["tokenCountPrompt"],
        project["tokenCountCompletion"],
        project["tokenCountTotal"],
        project["costSummary"]["total"]["cost"],
    )
    for edge in project["sessions"]["edges"]:
        session = edge["node"]
        usage = session["tokenUsage"]
        cost = session["costSummary"]["total"]["cost"]
        add(
            f"session {session['sessionId']}",
            usage["prompt"],
            usage["completion"],
            usage["total"],
            cost,
        )
    for edge in project["spans"]["edges"]:
        span = edge["node"]
        if span["parentId"] is not None:
            continue
        run_id = json.loads(span["attributes"]).get("agentnb", {}).get("run", {}).get("id")
        if run_id is None:  # a batch's own span: its runs are traces of their own
            continue
        add(
            f"trace {run_id}",
            span["cumulativeTokenCountPrompt"],
            span["cumulativeTokenCountCompletion"],
            span["cumulativeTokenCountTotal"],
            span["trace"]["costSummary"]["total"]["cost"],
        )
    return totals


EXPORT_PROJECT = "agentnb-export"


@pytest.mark.usefixtures("tracing_seam")
def test_runs_recorded_before_tracing_reach_phoenix_once_with_their_scores(
    phoenix: str, fresh_history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs recorded with tracing off are exported with the ids a live run's spans carry: a
    second export, and the export of a run traced live, leave Phoenix's totals as they
    were. Every run's current scores, given before tracing, live or after the export, are
    annotations on its span."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={EXPORT_PROJECT}")
    agents = start_server(delay_ms=0)
    try:
        configure_tracing(False)
        client = AgentClient(
            "seekrflow", base_url=agents.url_for("seekrflow"), api_key=agents.api_key
        )
        before = [client.run("writer", f"Write a haiku about {topic}") for topic in TOPICS[:3]]
        assert fresh_history.flush(timeout=PATIENCE_S)
        agentnb.score(before[0].local_id, "correct", True, "a fine haiku")
        agentnb.score(before[1].local_id, "quality", 0.4, source="code")
        agentnb.score(before[1].local_id, "quality", 0.6, source="code")  # the current one
        configure_tracing(endpoint=phoenix, scores="phoenix")
        live = client.run("writer", "Write a haiku about oil")
        assert fresh_history.flush(timeout=PATIENCE_S)
        agentnb.score(live.local_id, "verdict", False, "too long")
        assert agentnb.export_traces(agentnb.runs()) == 4  # the live run too: sent again
        agentnb.score(before[2].local_id, "tone", "wistful", source="agent", author="judge")
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        agents.stop()
    rows = agentnb.runs().to_dicts()
    expected = history_totals(rows)
    assert len([key for key in expected if key.startswith("session ")]) == 4 * 4
    assert settled_totals(phoenix, EXPORT_PROJECT, expected) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )
    assert agentnb.runs().export_traces(endpoint=phoenix) == 4  # a second send, as a method
    probe_after(phoenix, EXPORT_PROJECT)  # Phoenix took in the second send before the probe
    assert phoenix_totals(phoenix, EXPORT_PROJECT) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    scores = fresh_history.scores()
    assert len(scores) == 4
    assert settled_annotations(phoenix, EXPORT_PROJECT, scores) == {
        (format(run_span_id(s.local_id), "016x"), s.name): as_annotation(s, content=False)
        for s in scores
    }


def as_annotation(score: Any, *, content: bool) -> tuple[Any, ...]:
    """A score as Phoenix should show it: annotator, score, label, explanation (its comment,
    with content capture on only)."""
    value = score.value
    number = float(value) if isinstance(value, bool | float | int) else None
    label = str(value).lower() if isinstance(value, bool) else value if number is None else None
    kind = {"person": "HUMAN", "code": "CODE", "agent": "LLM"}[score.source]
    return (kind, number, label, score.comment if content else None)


def phoenix_annotations(phoenix: str, project: str, span_ids: list[str]) -> dict[Any, Any]:
    reply = httpx.get(
        f"{phoenix}/v1/projects/{project}/span_annotations",
        params={"span_ids": span_ids, "limit": 100},
        timeout=PATIENCE_S,
        verify=TLS,
    )
    if reply.status_code != 200:
        return {}
    found = {}
    for item in reply.json()["data"]:
        result = item["result"] or {}
        found[(item["span_id"], item["name"])] = (
            item["annotator_kind"],
            result.get("score"),
            result.get("label"),
            result.get("explanation"),
        )
    return found


def settled_annotations(phoenix: str, project: str, scores: list[Any]) -> dict[Any, Any]:
    """Phoenix's annotations of the scored runs' spans, once there are as many as scores
    (Phoenix retries an annotation whose span arrives later every 10 s)."""
    span_ids = sorted({format(run_span_id(s.local_id), "016x") for s in scores})
    deadline = time.monotonic() + PATIENCE_S
    seen = phoenix_annotations(phoenix, project, span_ids)
    while len(seen) < len(scores) and time.monotonic() < deadline:
        time.sleep(1)
        seen = phoenix_annotations(phoenix, project, span_ids)
    return seen


def probe_after(phoenix: str, project: str) -> None:
    """Send a span of no run to ``project`` and wait until Phoenix lists it: Phoenix inserts
    spans in the order they came, so what was sent before is in by then."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{phoenix}/v1/traces")))
    with provider.get_tracer("probe").start_as_current_span("probe") as span:
        span_id = format(span.get_span_context().span_id, "016x")
    provider.shutdown()
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        page = httpx.get(
            f"{phoenix}/v1/projects/{project}/spans", params={"limit": 100}, verify=TLS
        )
        if any(s["context"]["span_id"] == span_id for s in page.json()["data"]):
            return
        time.sleep(0.5)
    pytest.fail("Phoenix never listed the probe span")
