"""An A2A agent served by the ``a2a-sdk`` itself (JSON-RPC routes and agent card from
``a2a.server.routes``, the SDK's ``DefaultRequestHandler`` and in-memory task store) with a
scripted ``AgentExecutor``: no model, no network. Run with the ``.tools/a2a`` venv's Python:

    python a2a_sdk_server.py PORT

What the executor does depends on the user's text:
- ``trade ...``: asks a question (``input-required``); the answer, sent to the same task,
  finishes it with the answer in an artifact;
- ``slow``: works in small steps for a minute (to cancel or resubscribe to);
- ``fail``: a ``failed`` status with a message;
- ``reject``: a ``rejected`` status;
- ``count``: answers with how many user messages the context has seen;
- anything else: a ``working`` status, then the answer streamed as three artifact chunks
  (``append`` / ``lastChunk``), plus a data part, then ``completed``.

``GET /log`` lists what ``cancel()`` saw (task ids), so a test can tell the SDK cancelled.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

import uvicorn
from a2a.helpers.proto_helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Message,
    Part,
    Role,
    Task,
    TaskState,
    TaskStatus,
)
from google.protobuf.struct_pb2 import Value
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CANCELLED: list[str] = []
TURNS: Counter[str] = Counter()


def agent_message(text: str, context_id: str, task_id: str) -> Message:
    """An agent message for a status update."""
    return new_text_message(text, context_id=context_id, task_id=task_id, role=Role.ROLE_AGENT)


class ScriptedExecutor(AgentExecutor):
    """Answers by the rules in the module docstring."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id or "", context.context_id or ""
        text = context.get_user_input()
        TURNS[context_id] += 1
        updater = TaskUpdater(event_queue, task_id, context_id)
        if context.current_task is None:
            await event_queue.enqueue_event(
                Task(
                    id=task_id,
                    context_id=context_id,
                    status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                    history=[context.message] if context.message else [],
                )
            )
        if text.startswith("trade"):
            await updater.requires_input(agent_message("How many shares?", context_id, task_id))
            return
        if context.current_task is not None and context.current_task.status.state == (
            TaskState.TASK_STATE_INPUT_REQUIRED
        ):
            await updater.add_artifact([Part(text=f"Bought {text} shares.")], name="answer")
            await updater.complete()
            return
        if text == "slow":
            await updater.start_work(agent_message("working slowly", context_id, task_id))
            for step in range(600):
                await asyncio.sleep(0.1)
                if step % 5 == 0:
                    await updater.add_artifact(
                        [Part(text=".")], artifact_id="dots", append=step > 0
                    )
            await updater.complete()
            return
        if text == "fail":
            await updater.failed(agent_message("the scripted agent failed", context_id, task_id))
            return
        if text == "reject":
            await updater.reject(agent_message("I do not do that", context_id, task_id))
            return
        if text == "count":
            await updater.add_artifact([Part(text=f"turn {TURNS[context_id]}")])
            await updater.complete()
            return
        await updater.start_work(agent_message("Looking it up", context_id, task_id))
        chunks = ["NVDA ", "trades at ", "875.4"]
        for index, chunk in enumerate(chunks):
            await updater.add_artifact(
                [Part(text=chunk)],
                artifact_id="answer",
                name="answer",
                append=index > 0,
                last_chunk=index == len(chunks) - 1,
            )
        data = Value()
        data.struct_value.update({"ticker": "NVDA", "price": 875.4})
        await updater.add_artifact([Part(data=data)], artifact_id="quote", name="quote")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        CANCELLED.append(context.task_id or "")
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


QUOTE_SKILL = AgentSkill(
    id="quote",
    name="Stock quotes",
    description="The demo price of a ticker",
    tags=["finance"],
)


def scripted_card(url: str) -> AgentCard:
    return AgentCard(
        name="scripted",
        description="A scripted A2A agent for agentnb's tests",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[QUOTE_SKILL],
    )


MOUNTED = "/agents/scripted"
"""A second copy of the agent whose card's URL has a path (no trailing slash): its card at
``MOUNTED/.well-known/agent-card.json``, its JSON-RPC endpoint at ``MOUNTED`` exactly (Starlette
answers ``MOUNTED/`` with a 307 redirect, as real deployments behind a path do)."""


def build_app(port: int) -> Starlette:
    root = f"http://127.0.0.1:{port}"
    card = scripted_card(root + "/")
    mounted_card = scripted_card(root + MOUNTED)
    handler = DefaultRequestHandler(
        agent_executor=ScriptedExecutor(), task_store=InMemoryTaskStore(), agent_card=card
    )
    mounted_handler = DefaultRequestHandler(
        agent_executor=ScriptedExecutor(), task_store=InMemoryTaskStore(), agent_card=mounted_card
    )

    async def log(request: Request) -> JSONResponse:
        return JSONResponse({"cancelled": CANCELLED})

    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=True),
        *create_agent_card_routes(mounted_card, card_url=MOUNTED + "/.well-known/agent-card.json"),
        *create_jsonrpc_routes(mounted_handler, rpc_url=MOUNTED, enable_v0_3_compat=True),
        Route("/log", log),
    ]
    return Starlette(routes=routes)


if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(build_app(port), host="127.0.0.1", port=port, log_level="warning")
