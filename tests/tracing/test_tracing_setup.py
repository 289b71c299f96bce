"""Turning tracing on and off: the one environment variable, ``configure_tracing``, the
optional extra, and export over OTLP/HTTP to a real socket (never slowing or breaking a run)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, client_for
from opentelemetry.sdk.trace import TracerProvider
from tracing_testing import OtlpReceiver

from agentnb import AgentClient, ConfigurationError, export_traces, runs
from agentnb._history import default_store
from agentnb._tracing import (
    TracingSettings,
    configure_tracing,
    flush_tracing,
    settings_from_env,
    tracing_status,
)
from agentnb._tracing._phoenix_scores import PhoenixScores
from agentnb.history import ScoreRecord
from agentnb.server import ServerHandle

pytestmark = pytest.mark.usefixtures("tracing_seam")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, TracingSettings()),
        ({"AGENTNB_TRACING": "off"}, TracingSettings()),
        ({"AGENTNB_TRACING": "1"}, TracingSettings(enabled=True)),
        ({"AGENTNB_TRACING": " On "}, TracingSettings(enabled=True)),
        (
            {"AGENTNB_TRACING": "http://localhost:6006/"},
            TracingSettings(enabled=True, endpoint="http://localhost:6006/v1/traces"),
        ),
        (
            {"AGENTNB_TRACING": "https://otel.example/v1/traces"},
            TracingSettings(enabled=True, endpoint="https://otel.example/v1/traces"),
        ),
        ({"AGENTNB_TRACING": "on", "OTEL_SDK_DISABLED": "true"}, TracingSettings()),
        (
            {"AGENTNB_TRACING": "on", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "True"},
            TracingSettings(enabled=True, content=True),
        ),
        (
            {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"},
            TracingSettings(content=True),
        ),
        (
            {"AGENTNB_TRACING": "on", "AGENTNB_TRACING_SCORES": " Phoenix"},
            TracingSettings(enabled=True, scores="phoenix"),
        ),
        ({"AGENTNB_TRACING": "on", "AGENTNB_TRACING_SCORES": "off"}, TracingSettings(enabled=True)),
        ({"AGENTNB_TRACING_SCORES": "phoenix"}, TracingSettings()),
    ],
)
def test_the_environment_decides(environ: dict[str, str], expected: TracingSettings) -> None:
    assert settings_from_env(environ) == expected


def test_a_value_it_cannot_follow_leaves_tracing_off_and_says_why() -> None:
    settings = settings_from_env({"AGENTNB_TRACING": "phoenix"})
    assert not settings.enabled
    assert settings.problem is not None and "'phoenix'" in settings.problem
    settings = settings_from_env({"AGENTNB_TRACING": "on", "AGENTNB_TRACING_SCORES": "langfuse"})
    assert not settings.enabled
    assert settings.problem is not None and "'langfuse'" in settings.problem


def test_configure_tracing_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        configure_tracing(endpoint="localhost:6006")
    with pytest.raises(ConfigurationError, match="not both"):
        configure_tracing(endpoint="http://localhost:6006", tracer_provider=object())
    with pytest.raises(ConfigurationError, match="scores go to phoenix, not 'langfuse'"):
        configure_tracing(endpoint="http://localhost:6006", scores="langfuse")
    with pytest.raises(ConfigurationError, match="give tracing phoenix's URL as its endpoint"):
        configure_tracing(tracer_provider=TracerProvider(), scores="phoenix")
    with pytest.raises(ConfigurationError, match="tracing is off: give an endpoint="):
        export_traces(runs())
    assert configure_tracing(False) == tracing_status() and not tracing_status().enabled


async def test_spans_go_over_otlp_http_to_the_collector_named(server: ServerHandle) -> None:
    with OtlpReceiver() as collector:
        status = configure_tracing(endpoint=collector.url, service_name="agentnb-test")
        assert status.describe() == (
            f"on → OTLP/HTTP {collector.url}/v1/traces (service agentnb-test, content off)"
        )
        async with client_for(server, "vercel") as client:
            run = await client.run("finance_agent", "What is NVDA trading at?")
        assert flush_tracing(timeout=PATIENCE_S)
    [root] = [span for span in collector.spans if span.name == "invoke_agent finance_agent"]
    assert root.resource["service.name"] == "agentnb-test"
    assert root.attributes["agentnb.run.id"] == run.local_id
    [chat] = [span for span in collector.spans if span.name == "chat gpt-4o-mini"]
    assert chat.parent_span_id == root.span_id
    assert chat.attributes["gen_ai.usage.output_tokens"] == run.usage.completion_tokens  # type: ignore[union-attr]
    tools = [span for span in collector.spans if span.name.startswith("execute_tool")]
    assert {span.parent_span_id for span in tools} == {root.span_id}
    assert [span.attributes["gen_ai.tool.call.id"] for span in tools] == [
        call.call_id for call in run.tool_calls
    ]


def test_an_exported_run_carries_the_ids_its_live_spans_carried(server: ServerHandle) -> None:
    with OtlpReceiver() as collector:
        configure_tracing(endpoint=collector.url)
        run = client_for_sync(server).run("finance_agent", "What is NVDA trading at?")
        assert flush_tracing(timeout=PATIENCE_S)
        live = sorted((s.name, s.trace_id, s.span_id, s.parent_span_id) for s in collector.spans)
        store = default_store()
        assert store is not None and store.flush(timeout=PATIENCE_S)
        configure_tracing(False)
        table = runs()  # one reading: the worker's history may gain another test's late run
        assert export_traces(table, endpoint=collector.url) == len(table)
    [root] = [s for s in live if s[0] == "invoke_agent finance_agent"]
    assert len(live) == 2 + len(run.tool_calls) == len({s[2] for s in live})
    exported = sorted(
        (s.name, s.trace_id, s.span_id, s.parent_span_id)
        for s in collector.spans[len(live) :]
        if s.trace_id == root[1]
    )
    assert exported == live


async def test_an_unreachable_collector_is_logged_once_and_runs_go_on(
    server: ServerHandle, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2")  # each export: 2 tries, ~1 s apart
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    configure_tracing(endpoint=closed)
    caplog.set_level(logging.INFO)
    async with client_for(server, "operativus") as client:
        for message in ("one", "two"):
            run = await client.run("echo", message)
            assert run.status == "completed"
            flush_tracing(timeout=PATIENCE_S)  # one failed export per run
    ours = [r for r in caplog.records if r.name == "agentnb.tracing"]
    assert [r.levelno for r in ours] == [logging.WARNING], [r.getMessage() for r in ours]
    said = ours[0].getMessage()
    assert f"{closed}/v1/traces ([Errno " in said and "Connection refused)" in said, said
    assert "retrying" not in said
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry")]


def test_a_phoenix_that_cannot_take_scores_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    scores = PhoenixScores(closed)
    given = ScoreRecord("run-1", "correct", True, None, "person", None, datetime.now(UTC))
    for _ in range(3):
        scores.send([given])
    assert scores.flush(timeout=PATIENCE_S)
    scores.close()
    said = [r.getMessage() for r in caplog.records if r.name == "agentnb.tracing"]
    assert len(said) == 1 and f"cannot send scores to {closed}/v1/span_annotations" in said[0]


def client_for_sync(server: ServerHandle) -> AgentClient:
    return AgentClient("vercel", base_url=server.url_for("vercel"), api_key=server.api_key)


def run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=PATIENCE_S,
        check=False,
    )


def child_env(server: ServerHandle, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTNB_", "OTEL_"))}
    env.update(AGENTNB_HISTORY="off", SERVER_URL=server.url_for("operativus"), **extra)
    env["AGENTNB_API_KEY"] = server.api_key
    return env


def test_importing_agentnb_loads_no_http_client_nor_run_model() -> None:
    """httpx, with the command line it imports along (click, rich, pygments), loads with the
    first client or the first score sent to Phoenix, not with ``import agentnb``; so does the
    run's model (its events are pydantic's, the tools' arguments too) and what shows a run
    (rich) or a table (pandas): a script, a kernel's ``%load_ext`` and every subprocess that
    imports agentnb pay for them when they use them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTNB_", "OTEL_"))}
    names = ("httpx", "click", "pygments", "aiohttp", "pydantic", "rich", "pandas")
    done = run_python(
        f"import sys, agentnb; print([n for n in {names!r} if n in sys.modules])", env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


RUN_ONE = """
import asyncio, os, sys
from agentnb import AsyncAgentClient

async def main():
    url, key = os.environ["SERVER_URL"], os.environ["AGENTNB_API_KEY"]
    async with AsyncAgentClient("operativus", base_url=url, api_key=key) as client:
        return await client.run("echo", "hello")
run = asyncio.run(main())
"""


def test_tracing_off_costs_no_import(server: ServerHandle) -> None:
    script = RUN_ONE + (
        "import json; print(json.dumps([run.status, "
        "sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'agentnb._tracing.otel')))]))"
    )
    done = run_python(script, child_env(server))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["completed", []]


WITHOUT_THE_EXTRA = """
import logging, sys
sys.modules["opentelemetry"] = None  # as if agentnb[otel] were not installed
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
from agentnb import ConfigurationError
from agentnb._tracing import configure_tracing, tracing_recorder
"""


def test_without_the_extra_configure_tracing_says_how_to_install_it(server: ServerHandle) -> None:
    script = (
        WITHOUT_THE_EXTRA
        + """
try:
    configure_tracing()
except ConfigurationError as exc:
    print(exc)
"""
    )
    done = run_python(script, child_env(server))
    assert done.returncode == 0, done.stderr
    assert 'pip install "agentnb[otel]"' in done.stdout


def test_without_the_extra_the_variable_is_logged_once_and_runs_go_on(
    server: ServerHandle,
) -> None:
    script = WITHOUT_THE_EXTRA + "print(tracing_recorder(), tracing_recorder())\n" + RUN_ONE
    script += "print(run.status)"
    done = run_python(script, child_env(server, AGENTNB_TRACING="on"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None", "completed"]
    assert done.stderr.count("tracing needs the OpenTelemetry packages") == 1, done.stderr


def test_the_applications_own_provider_is_used_when_it_has_one(server: ServerHandle) -> None:
    script = """
import asyncio, json, os
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
from agentnb import AsyncAgentClient
from agentnb._tracing import tracing_recorder, tracing_status

async def main():
    client = AsyncAgentClient(
        "operativus",
        base_url=os.environ["SERVER_URL"],
        api_key=os.environ["AGENTNB_API_KEY"],
        recorder=tracing_recorder(),
    )
    async with client:
        return await client.run("echo", "hello")
asyncio.run(main())
print(json.dumps([tracing_status().describe(), [s.name for s in exporter.get_finished_spans()]]))
"""
    done = run_python(script, child_env(server, AGENTNB_TRACING="on"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        "on → the application's tracer provider (content off)",
        ["chat agentnb-echo", "invoke_agent echo"],
    ]


def test_one_environment_variable_traces_a_cli_run(server: ServerHandle) -> None:
    with OtlpReceiver() as collector:
        env = child_env(server, AGENTNB_TRACING=collector.url, OTEL_SERVICE_NAME="nightly-eval")
        script = "import sys, agentnb._cli as c; sys.exit(c.main())"
        args = ["run", "finance_agent", "NVDA?", "--provider", "operativus"]
        args += ["--base-url", server.base_url]
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=PATIENCE_S,
        )
    assert done.returncode == 0, done.stderr
    names: Any = {span.name for span in collector.spans}
    assert "invoke_agent finance_agent" in names and "execute_tool get_stock_price" in names
    assert {span.resource["service.name"] for span in collector.spans} == {"nightly-eval"}
