"""The LangGraph Agent Server's API (as ``langgraph-api`` 0.16 serves it), under
``/langgraph``: ``POST /threads`` makes a thread, ``POST /threads/{tid}/runs/stream``
(``{assistant_id, input: {messages}, command: {resume}}``) streams a run, ``GET
/threads/{tid}/runs/{rid}/stream`` joins one (after ``Last-Event-ID``), ``GET
/threads/{tid}/runs`` lists a thread's runs, ``POST /threads/{tid}/history`` lists its
checkpoints (a run with ``checkpoint_id`` goes on from one: time travel), ``POST
/assistants/search`` lists the demo agents
as each graph's default assistant (``{assistant_id, graph_id, name, description, metadata:
{created_by: "system"}}``).

Frames are named by stream mode: ``metadata`` ``{run_id, attempt}`` first; ``messages``
``[message, metadata]`` (``AIMessageChunk`` with text ``content``, ``reasoning_content`` in
``additional_kwargs`` or one ``tool_call_chunks`` entry, the run's ``usage_metadata`` on the
last; a ``tool`` message per result, ``status`` ``error`` for a failed or denied call);
``updates`` ``{"__interrupt__": [{id, value}]}`` when calls wait for approval (each value
``{tool_call: {id, name, args}, reason, question?}``; a free-form ``question``'s answer is
the resume value; the response ends there and a run with ``command:
{resume: …}`` goes on: ``{approved, reason}``, or a map of interrupt id to it); ``values``
``{messages, structured_response?, followups?}`` at the end (a schema comes in
``config.configurable.response_format``, follow-ups are asked with ``metadata.followups``);
``error`` ``{error, message}``; and ``end``, which ``langgraph-api`` leaves out (its stream
just closes). The thread keeps the conversation.

Sub-agents are subgraphs, the way ``langgraph-api`` streams them with
``stream_subgraphs: true``. A delegated call (``ToolStart.delegate``) is a subgraph run by a
node named after the sub-agent: its frames' event names carry the namespace, one
``node:task_id`` entry per level (``messages|analyst:<uuid>``,
``messages|analyst:<uuid>|quant:<uuid>``), and each ``messages`` frame's metadata names
``langgraph_node`` and ``langgraph_checkpoint_ns``, as ``langgraph dev`` sends them. The
delegating tool call itself is not a message of its own (the subgraph is the call); it ends
with the ``updates`` frame of the level above (``{analyst: {messages: [the sub-agent's
answer]}}``). The sub-agents' own tool calls have run-wide ids (their path joined with ``/``:
ids must not collide across parallel subgraphs). Without ``stream_subgraphs`` a sub-agent's
frames are left out, as ``langgraph-api`` does. A sub-agent's last message chunk carries what
it spent, as a chat model's last chunk does: ``usage_metadata`` ``{input_tokens,
output_tokens, total_tokens}`` and ``response_metadata.model_name``, in the subgraph's
namespace.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "LANGGRAPH", "LangGraphRenderer", "routes"]

KIND = "langgraph"
PREFIX = "/langgraph"
STREAM_HEADERS = {"Cache-Control": "no-cache"}


class LangGraphRenderer:
    """Steps as LangGraph stream-mode frames (``messages-tuple``, ``updates``, ``values``)."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.asked: list[steps.ApprovalRequest] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.subgraphs = Subgraphs(log.id, log.details.get("stream_subgraphs") is True)

    def _frame(self, event: str, data: Any, **flags: bool) -> kit.Frame:
        return kit.Frame(kit.dumps(data), event=event, **flags)

    def _chunk(self, **fields: Any) -> kit.Frame:
        chunk = {"type": "AIMessageChunk", "id": f"msg_{self.log.id}", "content": "", **fields}
        return self._frame("messages", [chunk, {"run_id": self.log.id}])

    def opening(self) -> list[kit.Frame]:
        return [self._frame("metadata", {"run_id": self.log.id, "attempt": 1})]

    def render(self, step: steps.AnyStep, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.Nested):
            return self.subgraphs.render(step)
        if isinstance(step, steps.Text):
            return [self._chunk(content=step.text)]
        if isinstance(step, steps.Reasoning):
            return [self._chunk(additional_kwargs={"reasoning_content": step.text})]
        if isinstance(step, steps.ToolStart):
            delegated = self.subgraphs.delegated((step.call_id,), step)
            return [] if delegated else [self._tool_call(step)]
        if isinstance(step, steps.ToolEnd) and (step.call_id,) in self.subgraphs.nodes:
            return self.subgraphs.ended((step.call_id,), step)
        if isinstance(step, steps.ToolEnd | steps.ToolDenied):
            return [self._tool_message(step)]
        if isinstance(step, steps.ApprovalRequest):
            self.asked.append(step)
            return []
        if isinstance(step, steps.Paused):
            return [self._interrupt()]
        if isinstance(step, steps.Resumed):
            return self.opening()
        if isinstance(step, steps.Finish):
            # each model's chunks carry its own usage: the sub-agents' came in their subgraphs
            own = self.subgraphs.own_usage(step.usage)
            usage = {
                "input_tokens": own.prompt_tokens,
                "output_tokens": own.completion_tokens,
                "total_tokens": own.total_tokens,
            }
            last = self._chunk(
                usage_metadata=usage,
                response_metadata={"model_name": self.log.model},
                chunk_position="last",
            )
            return [last, self._values(step), self._frame("end", None, terminal=True)]
        return [self._error(step)]

    def _tool_call(self, step: steps.ToolStart) -> kit.Frame:
        self.calls[step.call_id] = {"id": step.call_id, "name": step.name, "args": step.arguments}
        piece = {"name": step.name, "args": json.dumps(step.arguments), "id": step.call_id}
        return self._chunk(tool_call_chunks=[{**piece, "index": 0, "type": "tool_call_chunk"}])

    def _tool_message(self, step: steps.ToolEnd | steps.ToolDenied) -> kit.Frame:
        if isinstance(step, steps.ToolDenied):
            content, status = step.reason or "denied", "error"
        elif step.error is not None:
            content, status = step.error, "error"
        else:
            content, status = json.dumps(step.output), "success"
        message = {
            "type": "tool",
            "content": content,
            "tool_call_id": step.call_id,
            "name": step.name,
            "status": status,
        }
        return self._frame("messages", [message, {"run_id": self.log.id}])

    def _interrupt(self) -> kit.Frame:
        interrupts = [
            {
                "id": asked.approval_id,
                "value": {
                    "tool_call": self.calls.get(asked.call_id),
                    "reason": asked.reason,
                    **({"question": asked.question} if asked.question is not None else {}),
                },
            }
            for asked in self.asked
        ]
        self.asked = []
        return self._frame("updates", {"__interrupt__": interrupts}, ends_response=True)

    def _values(self, step: steps.Finish) -> kit.Frame:
        messages = [
            {"type": "human", "content": self.log.request.message},
            {"type": "ai", "content": self.log.answer_text()},
        ]
        values: dict[str, Any] = {"messages": messages}
        if step.final_output is not None:
            values["structured_response"] = step.final_output
        if step.followups:
            values["followups"] = list(step.followups)
        return self._frame("values", values)

    def _error(self, step: steps.Failure) -> kit.Frame:
        data = {"error": step.code, "message": step.message}
        return self._frame("error", data, terminal=True)


class Subgraphs:
    """One run's subgraph frames."""

    def __init__(self, run_id: str, streamed: bool) -> None:
        self.run_id = run_id
        self.streamed = streamed
        self.nodes: dict[tuple[str, ...], str] = {}
        """The node (sub-agent) each delegating call runs, by the call's path."""
        self.reported = steps.TokenUsage()
        """What the sub-agents' own chunks said they spent, all together."""

    def own_usage(self, run: steps.TokenUsage) -> steps.TokenUsage:
        """The top agent's part of the run's usage: the rest was reported by the subgraphs."""
        return steps.TokenUsage(
            run.prompt_tokens - self.reported.prompt_tokens,
            run.completion_tokens - self.reported.completion_tokens,
        )

    def _entry(self, call_path: tuple[str, ...]) -> str:
        task = uuid.uuid5(
            uuid.NAMESPACE_URL, f"agentnb:{self.run_id}/{steps.run_wide_id(call_path)}"
        )
        return f"{self.nodes.get(call_path, 'subgraph')}:{task}"

    def namespace(self, path: tuple[str, ...]) -> str:
        """``node:task|node:task…`` of the subgraph a delegating call path runs."""
        return "|".join(self._entry(path[: depth + 1]) for depth in range(len(path)))

    def delegated(self, call_path: tuple[str, ...], step: steps.ToolStart) -> bool:
        """Note a call that runs a sub-agent (True: it has no frame of its own)."""
        if step.delegate is None:
            return False
        self.nodes[call_path] = step.delegate
        return True

    def ended(self, call_path: tuple[str, ...], step: steps.ToolEnd) -> list[kit.Frame]:
        """A delegating call ends: the ``updates`` frame of the level above names its node."""
        node = self.nodes.get(call_path)
        if node is None or (not self.streamed and len(call_path) > 1):
            return []
        output = step.output
        answer = step.error or (output if isinstance(output, str) else json.dumps(output))
        update = {node: {"messages": [{"type": "ai", "content": answer}]}}
        above = self.namespace(call_path[:-1])
        return [kit.Frame(kit.dumps(update), event=f"updates|{above}" if above else "updates")]

    def _spent(self, where: steps.SubAgent, done: steps.SubAgentDone) -> list[kit.Frame]:
        """The sub-agent's last chunk: its usage and model, as a chat model's last chunk."""
        if not self.streamed:
            return []
        usage = done.usage
        self.reported = steps.TokenUsage(
            self.reported.prompt_tokens + usage.prompt_tokens,
            self.reported.completion_tokens + usage.completion_tokens,
        )
        chunk: dict[str, Any] = {
            "type": "AIMessageChunk",
            "content": "",
            "usage_metadata": {
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
            "chunk_position": "last",
        }
        if done.model is not None:
            chunk["response_metadata"] = {"model_name": done.model}
        return [
            kit.Frame(
                kit.dumps([chunk, self._metadata(where)]), f"messages|{self.namespace(where.path)}"
            )
        ]

    def _metadata(self, where: steps.SubAgent) -> dict[str, Any]:
        namespace = self.namespace(where.path)
        return {
            "run_id": self.run_id,
            "langgraph_node": where.name,
            "langgraph_checkpoint_ns": namespace,
            "checkpoint_ns": namespace,
        }

    def render(self, nested: steps.Nested) -> list[kit.Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, steps.SubAgentDone):
            return self._spent(where, step)
        call_path = (
            where.call_path(step.call_id)
            if isinstance(step, steps.ToolStart | steps.ToolEnd)
            else ()
        )
        if isinstance(step, steps.ToolStart) and self.delegated(call_path, step):
            return []
        if isinstance(step, steps.ToolEnd) and call_path in self.nodes:
            return self.ended(call_path, step)
        if not self.streamed:
            return []
        message = [self._message(step, call_path), self._metadata(where)]
        return [kit.Frame(kit.dumps(message), f"messages|{self.namespace(where.path)}")]

    def _message(
        self,
        step: steps.Text | steps.Reasoning | steps.ToolStart | steps.ToolEnd,
        call_path: tuple[str, ...],
    ) -> dict[str, Any]:
        if isinstance(step, steps.ToolEnd):
            failed = step.error is not None
            return {
                "type": "tool",
                "content": step.error if failed else json.dumps(step.output),
                "tool_call_id": steps.run_wide_id(call_path),
                "name": step.name,
                "status": "error" if failed else "success",
            }
        chunk: dict[str, Any] = {"type": "AIMessageChunk", "content": ""}
        if isinstance(step, steps.Text):
            chunk["content"] = step.text
        elif isinstance(step, steps.Reasoning):
            chunk["additional_kwargs"] = {"reasoning_content": step.text}
        else:
            call = {"name": step.name, "args": json.dumps(step.arguments)}
            call_id = steps.run_wide_id(call_path)
            chunk["tool_call_chunks"] = [
                {**call, "id": call_id, "index": 0, "type": "tool_call_chunk"}
            ]
        return chunk


LANGGRAPH = kit.Dialect(
    KIND,
    LangGraphRenderer,
    headers=lambda log: STREAM_HEADERS,
    approvals=True,
    questions=True,
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="allow")
    messages: list[dict[str, Any]] = Field(min_length=1)


class _RunCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    assistant_id: str = Field(min_length=1)
    input: _Input | None = None
    command: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    checkpoint_id: str | None = None


_LOCATIONS = {
    "response_format": ["body", "config", "configurable", "response_format"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}


def _response_format(body: _RunCreate) -> dict[str, Any] | None:
    configurable = (body.config or {}).get("configurable")
    schema = configurable.get("response_format") if isinstance(configurable, dict) else None
    return kit.json_schema_at(schema, _LOCATIONS["response_format"])


def _thread_or_404(state: kit.AppState, thread_id: str) -> kit.Conversation:
    thread = state.conversations.get(KIND, thread_id)
    if thread is None:
        raise kit.ApiError(404, f"thread {thread_id!r} not found", code="thread_not_found")
    return thread


def _human_text(body: _RunCreate) -> str:
    messages = body.input.messages if body.input else []
    humans = [m for m in messages if m.get("type", m.get("role")) in ("human", "user")]
    if not humans or not isinstance(humans[-1].get("content"), str):
        raise kit.invalid(["body", "input", "messages"], "needs a human message with text content")
    text: str = humans[-1]["content"]
    return text


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart | Response:
    thread = _thread_or_404(state, request.path_params["tid"])
    body = await kit.request_model(request, _RunCreate)
    agent = kit.require_agent(body.assistant_id)
    if body.command is not None and "resume" in body.command:
        return _resume(state, thread, body.command["resume"])
    if body.checkpoint_id is not None:
        _branch(thread, body.checkpoint_id)
    options = kit.scalar_options(body.metadata)
    asked = kit.AgentInput(
        message=_human_text(body),
        history=thread.history(),
        response_format=_response_format(body),
        options=options,
        followups=kit.wants_followups(options),
    )
    subgraphs = {"stream_subgraphs": (body.model_extra or {}).get("stream_subgraphs") is True}
    return kit.run_start(
        request, LANGGRAPH, agent, asked, _LOCATIONS, conversation=thread, details=subgraphs
    )


def _resume(state: kit.AppState, thread: kit.Conversation, resume: Any) -> Response:
    """A ``Command(resume=…)``: the thread's paused run goes on with the decisions."""
    log = kit.paused_run(
        state, LANGGRAPH, thread.id, f"thread {thread.id!r} has no interrupted run"
    )
    pending = list(log.pending.values())
    if len(pending) == 1 and not _is_map_of(resume, [pending[0].approval_id]):
        resume = {pending[0].approval_id: resume}
    if not isinstance(resume, dict) or set(resume) != {p.approval_id for p in pending}:
        known = sorted(p.approval_id for p in pending)
        raise kit.ApiError(
            409, f"resume must answer the interrupts {known}", code="approval_mismatch"
        )
    decisions = tuple(_decision(p, resume[p.approval_id]) for p in pending)
    return kit.continue_run(state, LANGGRAPH, log, decisions)


# ---- checkpoints: the thread's messages, one checkpoint before a run's input and one after
# each message (as ``langgraph-api`` writes an ``input`` checkpoint, then ``loop`` ones) --------


def _checkpoints(thread: kit.Conversation) -> list[dict[str, Any]]:
    """The thread's checkpoints, newest first, shaped as ``langgraph-api``'s thread states."""
    states: list[dict[str, Any]] = []
    parent: str | None = None
    for index, message in enumerate(thread.messages):
        if message.role == "user":
            parent = _state(thread, f"cp_in_{message.id}", parent, index, message, states)
        parent = _state(thread, f"cp_{message.id}", parent, index + 1, message, states)
    return states[::-1]


def _state(
    thread: kit.Conversation,
    checkpoint_id: str,
    parent: str | None,
    count: int,
    message: kit.StoredMessage,
    states: list[dict[str, Any]],
) -> str:
    source = "input" if checkpoint_id.startswith("cp_in_") else "loop"
    states.append(
        {
            "values": {"messages": [_message_json(m) for m in thread.messages[:count]]},
            "next": [],
            "checkpoint": _checkpoint_ref(thread, checkpoint_id),
            "parent_checkpoint": _checkpoint_ref(thread, parent) if parent else None,
            "metadata": {"run_id": message.run_id, "source": source, "step": len(states) - 1},
            "created_at": kit.iso(message.created_at),
        }
    )
    return checkpoint_id


def _checkpoint_ref(thread: kit.Conversation, checkpoint_id: str) -> dict[str, Any]:
    return {"thread_id": thread.id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}


def _message_json(message: kit.StoredMessage) -> dict[str, Any]:
    kind = "human" if message.role == "user" else "ai"
    return {"type": kind, "content": message.content, "id": message.id}


def _branch(thread: kit.Conversation, checkpoint_id: str) -> None:
    """Run from ``checkpoint_id``: the thread goes on from there (time travel). Unlike
    ``langgraph-api``, which keeps the old branch's checkpoints, this server keeps only the
    branch that goes on."""
    ids = [m.id for m in thread.messages]
    for prefix, after in (("cp_in_", 0), ("cp_", 1)):
        if checkpoint_id.startswith(prefix) and checkpoint_id[len(prefix) :] in ids:
            del thread.messages[ids.index(checkpoint_id[len(prefix) :]) + after :]
            return
    raise kit.ApiError(422, "Invalid checkpoint ID", code="invalid_checkpoint")


class _HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="allow")
    limit: int = Field(default=10, ge=1)


async def _history(request: Request) -> Response:
    thread = _thread_or_404(kit.state_of(request), request.path_params["tid"])
    query = await kit.request_model(request, _HistoryQuery, empty={})
    return JSONResponse(_checkpoints(thread)[: query.limit])


def _is_map_of(value: Any, keys: list[str]) -> bool:
    return isinstance(value, dict) and set(value) == set(keys)


def _decision(waited: steps.ApprovalRequest, value: Any) -> steps.Decision:
    """A question's answer is the value itself (``{approved: false}`` declines it); a tool
    call is approved only by ``{approved: true}`` (or ``true``)."""
    call_id = waited.call_id
    declined = isinstance(value, dict) and value.get("approved") is False
    if waited.question is not None and not declined:
        return steps.Decision(call_id, True, None, value)
    if isinstance(value, dict):
        reason = value.get("reason")
        return steps.Decision(call_id, value.get("approved") is True, reason if reason else None)
    return steps.Decision(call_id, value is True)


async def _create_thread(request: Request) -> Response:
    raw = await kit.request_json(request, empty={})
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    thread = kit.state_of(request).conversations.create(KIND, meta_data=metadata or {})
    return JSONResponse(
        {
            "thread_id": thread.id,
            "created_at": kit.iso(thread.created_at),
            "metadata": thread.meta_data,
            "status": "idle",
        }
    )


def _run_log(state: kit.AppState, request: Request) -> kit.RunLog:
    thread = _thread_or_404(state, request.path_params["tid"])
    log = state.runs.get(request.path_params["rid"])
    if log is None or log.thread_id != thread.id or log.dialect != KIND:
        raise kit.ApiError(404, "run not found", code="run_not_found")
    return log


async def _join(request: Request) -> Response:
    """The run's stream from after ``Last-Event-ID`` (from the start without one)."""
    return kit.rejoin(request, LANGGRAPH, _run_log(kit.state_of(request), request))


_STATUSES = {"running": "running", "paused": "interrupted", "completed": "success"}


def _run_json(log: kit.RunLog) -> dict[str, Any]:
    return {
        "run_id": log.id,
        "thread_id": log.thread_id,
        "assistant_id": log.agent,
        "status": _STATUSES.get(log.status, "error"),
        "created_at": kit.iso(log.created_at),
        "metadata": {},
    }


class _ListQuery(BaseModel):
    limit: int = Field(default=10, ge=0)
    offset: int = Field(default=0, ge=0)


async def _list_runs(request: Request) -> Response:
    state = kit.state_of(request)
    thread = _thread_or_404(state, request.path_params["tid"])
    query = kit.parse_model(_ListQuery, dict(request.query_params), prefix=("query",))
    limit, offset = query.limit, query.offset
    runs = [log for log in state.runs.all() if log.thread_id == thread.id and log.dialect == KIND]
    runs.sort(key=lambda log: log.created_at, reverse=True)
    return JSONResponse([_run_json(log) for log in runs[offset : offset + limit]])


async def _search_assistants(request: Request) -> Response:
    """Every demo agent as its graph's default assistant (the id ``langgraph-api`` derives
    from the graph id: a uuid5 in its namespace)."""
    assistants = [
        {
            "assistant_id": str(uuid.uuid5(_ASSISTANT_NAMESPACE, name)),
            "graph_id": name,
            "name": name,
            "description": agent.description,
            "metadata": {"created_by": "system"},
            "config": {},
            "context": {},
            "version": 1,
            "created_at": kit.iso(0),
            "updated_at": kit.iso(0),
        }
        for name, agent in sorted(kit.AGENTS.items())
    ]
    return JSONResponse(assistants)


_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
"""The namespace ``langgraph-api`` makes a graph's default assistant id in (its
``NAMESPACE_GRAPH``)."""


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/assistants/search", _search_assistants, methods=["POST"]),
        Route(f"{PREFIX}/threads", _create_thread, methods=["POST"]),
        Route(f"{PREFIX}/threads/{{tid}}/runs", _list_runs, methods=["GET"]),
        Route(f"{PREFIX}/threads/{{tid}}/history", _history, methods=["POST"]),
        Route(
            f"{PREFIX}/threads/{{tid}}/runs/stream",
            kit.run_route(LANGGRAPH, _begin),
            methods=["POST"],
        ),
        Route(f"{PREFIX}/threads/{{tid}}/runs/{{rid}}/stream", _join, methods=["GET"]),
    ]


DIALECT = kit.ServedDialect(("langgraph",), routes, prefix=PREFIX)
