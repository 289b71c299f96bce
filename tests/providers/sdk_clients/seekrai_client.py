"""The SeekrFlow SDK (``seekrai``) against a SeekrFlow endpoint, as its users call it. Run with
the ``.tools/seekrai`` venv's Python:

    python seekrai_client.py BASE_URL API_KEY run AGENT QUESTION
    python seekrai_client.py BASE_URL API_KEY cancel AGENT QUESTION
    python seekrai_client.py BASE_URL API_KEY attach AGENT QUESTION
    python seekrai_client.py BASE_URL API_KEY nested AGENT QUESTION

Prints one JSON object: what the SDK's own stream and flattener saw, and what its run
routes (list, retrieve, cancel) answered.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from typing import Any

from seekrai import SeekrFlow
from seekrai.agent_streaming import _iter_annotated_from
from seekrai.utils.streaming_helpers import get_tool_key, nested_ctx_from_event


def start(client: SeekrFlow, agent: str, question: str, **options: Any) -> tuple[str, Any]:
    thread = client.agents.threads.create()
    client.agents.threads.create_message(thread.id, "user", question)
    stream = client.agents.runs.run(agent, thread.id, stream=True, **options)
    return thread.id, stream


def flattened(stream: Any) -> dict[str, Any]:
    """The answer as the SDK's flattener reads the stream (its ``_iter_annotated_from``)."""
    text, tools, reasoning = [], [], []
    for event, _metadata in _iter_annotated_from(stream.raw_events()):
        kind = event.get("type")
        nested = "_nested" in event
        if kind == "text-delta" and not nested:
            text.append(event.get("delta") or "")
        elif kind == "reasoning-delta":
            reasoning.append(event.get("delta") or "")
        elif kind == "tool-input-available":
            tools.append({"name": event.get("toolName"), "input": event.get("input")})
        elif kind == "tool-output-available":
            tools[-1]["output"] = event.get("output") if tools else None
    return {"text": "".join(text), "reasoning": "".join(reasoning), "tools": tools}


def run(client: SeekrFlow, agent: str, question: str) -> dict[str, Any]:
    thread_id, stream = start(client, agent, question)
    seen = flattened(stream)
    runs = client.agents.runs.list(thread_id)
    retrieved = client.agents.runs.retrieve(runs[-1].id, thread_id)
    return {
        **seen,
        "thread_id": thread_id,
        "runs": [r.id for r in runs],
        "retrieved": {"id": retrieved.id, "status": str(retrieved.status), "agent": agent},
    }


def cancel(client: SeekrFlow, agent: str, question: str) -> dict[str, Any]:
    thread_id, stream = start(client, agent, question, metadata={"paragraphs": "40"})
    events = stream.raw_events()
    for event in events:
        if event.get("type") == "text-delta":
            break
    run_id = client.agents.runs.list(thread_id)[-1].id
    answer = client.agents.runs.cancel(agent, run_id, thread_id)
    rest = sum(1 for _ in events)  # the stream ends once the run is stopped
    retrieved = client.agents.runs.retrieve(run_id, thread_id)
    return {
        "run_id": run_id,
        "cancel": answer,
        "status": str(retrieved.status),
        "events_after_cancel": rest,
    }


def attach(client: SeekrFlow, agent: str, question: str) -> dict[str, Any]:
    """Start a run, walk away after its first words, and attach to it (the SDK's ``attach``):
    the run's stream from its start to its end."""
    thread_id, stream = start(client, agent, question, metadata={"paragraphs": "4"})
    for event in stream.raw_events():
        if event.get("type") == "text-delta":
            break
    run_id = client.agents.runs.list(thread_id)[-1].id
    chunks = [
        c if isinstance(c, dict) else json.loads(c)
        for c in client.agents.runs.attach(run_id, thread_id)
    ]
    text = "".join(c.get("delta") or "" for c in chunks if c.get("type") == "text-delta")
    retrieved = client.agents.runs.retrieve(run_id, thread_id)
    return {"run_id": run_id, "thread_id": thread_id, "text": text, "status": str(retrieved.status)}


def nested(client: SeekrFlow, agent: str, question: str) -> dict[str, Any]:
    """A run with sub-agents as the SDK sees it: each tool call keyed by its ``get_tool_key``
    (the whole path), with the agent its metadata names and its nested context; each agent's
    text and reasoning; and what its ``pretty_print`` shows as the answer."""
    _, stream = start(client, agent, question)
    calls: dict[str, dict[str, Any]] = {}
    texts: dict[str, str] = {}
    reasoning: dict[str, str] = {}
    for event, metadata in _iter_annotated_from(stream.raw_events()):
        kind = event.get("type")
        context = nested_ctx_from_event(event)
        key = "/".join(get_tool_key(event)) if str(kind).startswith("tool-") else ""
        if kind == "tool-input-available":
            calls[key] = {
                "name": event.get("toolName"),
                "input": event.get("input"),
                "agent_id": metadata.agent_id,
                "parent_agent_id": metadata.parent_agent_id,
                "depth": context.depth if context else 0,
                "source_tool": context.source_tool_name if context else None,
            }
        elif kind in ("tool-output-available", "tool-output-error"):
            calls[key]["output"] = event.get("output", event.get("errorText"))
        elif kind in ("text-delta", "reasoning-delta"):
            path = "/".join(context.tool_call_path) if context else ""
            into = texts if kind == "text-delta" else reasoning
            into[path] = into.get(path, "") + (event.get("delta") or "")
    _, again = start(client, agent, question)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        again.pretty_print(show_nested_context=True)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", printed.getvalue())
    return {"calls": calls, "texts": texts, "reasoning": reasoning, "printed": shown}


def main() -> None:
    base_url, api_key, mode, agent, question = sys.argv[1:6]
    # The SDK's stream parser reads data-only frames, which SeekrFlow and agentnb's server send.
    # A cancel needs the run still going when it lands: its chunks paced (the built-in
    # server's header), where a busy machine let 40 paragraphs end before the SDK's cancel.
    paced = {"X-AgentNB-Delay-Ms": "20"} if mode == "cancel" else None
    client = SeekrFlow(api_key=api_key, base_url=base_url, max_retries=0, supplied_headers=paced)
    result = {"run": run, "cancel": cancel, "attach": attach, "nested": nested}[mode](
        client, agent, question
    )
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
