"""A real collector: Arize Phoenix (its own venv, ``.tools/phoenix``, made by
``scripts/test.sh``) started on 127.0.0.1 with local storage; agentnb exports a run to it over
OTLP/HTTP, the spans are read back through Phoenix's REST API, and its UI is photographed in
Chromium. Nothing leaves the machine (Phoenix's telemetry and external resources are off).

Skipped when ``.tools/phoenix`` is absent, except under CI (``CI`` set), where that fails.
The screenshot goes to ``test-artifacts/phoenix-trace.png``; with
``AGENTNB_DOCS_SCREENSHOTS=1`` also to ``docs/img/phoenix-trace.png`` (the picture in docs/tracing.md).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import free_port, serving
from playwright.sync_api import sync_playwright

import agentnb
from agentnb import AgentClient
from agentnb._tracing import configure_tracing, flush_tracing
from agentnb.server import start_server

REPO = Path(__file__).resolve().parents[2]
PHOENIX = REPO / ".tools" / "phoenix" / "bin" / "phoenix"
ARTIFACTS = REPO / "test-artifacts"
DOCS_IMAGE = REPO / "docs" / "img" / "phoenix-trace.png"
QUESTION = "What is NVDA trading at, and how did it move this week?"
STARTUP_SECONDS = 240.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def phoenix_env(working_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
    env.update(
        PHOENIX_WORKING_DIR=str(working_dir),
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(free_port()),
        PHOENIX_TELEMETRY_ENABLED="false",
        PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
    )
    return env


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server's base URL (OTLP/HTTP at ``/v1/traces``, REST at ``/v1/...``)."""
    if not PHOENIX.exists():
        reason = f"Arize Phoenix is not installed at {PHOENIX.parent.parent} (scripts/test.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the real-collector test")
        pytest.skip(reason)
    working_dir = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(
        [str(PHOENIX), "serve"],
        ready_url=f"{url}/healthz",
        log_path=working_dir / "phoenix.log",
        env=phoenix_env(working_dir, port),
        startup_seconds=STARTUP_SECONDS,
    ):
        yield url


def spans_of_trace(phoenix: str, trace_id: str, expected: int) -> list[dict[str, Any]]:
    """The trace's spans as Phoenix's REST API lists them, once all ``expected`` arrived."""
    deadline = time.monotonic() + 60
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 100})
        if page.status_code == 200:
            data = page.json()["data"]
            spans = [s for s in data if s["context"]["trace_id"] == trace_id]
            if len(spans) >= expected:
                return spans
        time.sleep(0.5)
    pytest.fail(f"Phoenix holds {len(spans)} of the trace's {expected} spans")


def project_id(phoenix: str) -> str:
    projects = httpx.get(f"{phoenix}/v1/projects").json()["data"]
    [default] = [p for p in projects if p["name"] == "default"]
    return str(default["id"])


def photograph_trace(url: str, expect: list[str]) -> Path:
    """Chromium on the trace's page, its run span's attributes open; the PNG's path."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "phoenix-trace.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            for text in expect:
                page.get_by_text(text, exact=True).first.wait_for(timeout=30_000)
            page.get_by_role("tab", name="Attributes").click()
            page.get_by_text("llm.token_count.total", exact=True).wait_for(timeout=30_000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    return shot


@pytest.mark.usefixtures("tracing_seam")
def test_phoenix_shows_the_run_its_tool_calls_and_its_tokens(phoenix: str) -> None:
    agents = start_server()  # paced like a real agent, so the trace has real durations
    try:
        status = configure_tracing(endpoint=phoenix, content=True)
        assert status.destination == f"OTLP/HTTP {phoenix}/v1/traces"
        url, key = agents.url_for("operativus"), agents.api_key
        client = AgentClient("operativus", base_url=url, api_key=key)
        handle = agentnb.ask("finance_agent", QUESTION, client=client, display=False, wait=True)
        assert flush_tracing(timeout=30)
    finally:
        agents.stop()
    run = handle.run
    assert run.usage is not None and len(run.tool_calls) >= 2
    spans = spans_of_trace(phoenix, _trace_id_of(phoenix, run.local_id), 1 + len(run.tool_calls))
    [root] = [s for s in spans if s["parent_id"] is None]
    attributes = root["attributes"]
    assert (root["name"], root["span_kind"]) == ("invoke_agent finance_agent", "AGENT")
    assert attributes["gen_ai.usage.input_tokens"] == run.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == run.usage.completion_tokens
    assert attributes["llm.token_count.total"] == run.usage.total_tokens  # Phoenix's own reading
    assert attributes["gen_ai.conversation.id"] == run.thread_id == attributes["session.id"]
    tools = sorted((s for s in spans if s is not root), key=lambda s: s["start_time"])
    assert [(s["name"], s["span_kind"], s["parent_id"]) for s in tools] == [
        (f"execute_tool {c.name}", "TOOL", root["context"]["span_id"]) for c in run.tool_calls
    ]
    page = f"{phoenix}/projects/{project_id(phoenix)}/traces/{root['context']['trace_id']}"
    shot = photograph_trace(page, [tools[0]["name"], tools[-1]["name"]])
    if os.environ.get("AGENTNB_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGE)


def _trace_id_of(phoenix: str, local_id: str) -> str:
    """The trace whose run span carries agentnb's id for the run."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 100})
        if page.status_code == 200:
            for span in page.json()["data"]:
                if span["attributes"].get("agentnb.run.id") == local_id:
                    return str(span["context"]["trace_id"])
        time.sleep(0.5)
    pytest.fail("Phoenix never listed the run's span")
