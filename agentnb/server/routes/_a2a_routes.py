"""A2A (Agent2Agent 1.0, as ``a2a-sdk`` 1.x speaks it): one JSON-RPC 2.0 endpoint per agent,
``POST /a2a/{agent}``, and its agent card at ``GET /a2a/{agent}/.well-known/agent-card.json``
(whose ``supportedInterfaces[0].url`` is the endpoint).

Methods (A2A 0.3's names are accepted too): ``SendStreamingMessage`` (``message/stream``)
starts a task, a run of the agent, and streams it as SSE whose every frame is a JSON-RPC
response: first the ``task`` (``TASK_STATE_SUBMITTED``; task id = run id, context id =
thread), then reasoning as ``working`` status updates, the answer as chunks of the ``answer``
artifact (``append``), each tool call the agent runs as a ``working`` status update whose
message holds a data part ``{"toolCall": …}`` or ``{"toolResult": …}`` (an agentnb extension:
A2A does not show an agent's own tools), and last a ``completed`` status (``metadata.usage``,
``metadata.followups``) or ``failed`` (``metadata.code``). A message with the ``contextId`` of
an earlier task continues that conversation (the server keeps it). ``params.metadata`` carries
options (``paragraphs``, ``followups``) and ``responseFormat`` (a JSON schema): agentnb's
extensions. ``SubscribeToTask``
(``tasks/resubscribe``) streams the task as it stands, then the rest (after ``Last-Event-ID``
when the request has one);
``GetTask`` (``tasks/get``) and ``CancelTask`` (``tasks/cancel``) answer with the task.
``ListTasks`` (A2A 1.0) answers with the agent's tasks, newest first, ``contextId`` keeping
one conversation's: ``{tasks, nextPageToken, pageSize, totalSize}``, ``pageSize`` (1 to 100,
default 50) tasks a page, the next page asked with ``pageToken`` (empty on the last page);
the tasks carry their artifacts only with ``includeArtifacts``.
Unknown methods, tasks and bad params are JSON-RPC errors (HTTP 200, A2A's codes).
A call awaiting a human's approval puts the task in ``input-required``: the status message
asks (text) and names the call (data part ``{"approval": {callId, approvalId, name}}``), and the
response ends. A message to that task (``taskId``) answers: a data part ``{"decision":
{callId, approved, reason}}``, or text (``yes`` approves; other text denies, as the reason);
the task goes on in that message's response. A denied call shows as ``{"toolDenied": …}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["A2A", "DIALECT", "A2ARenderer", "routes"]

KIND = "a2a"
_Obj = dict[str, Any]

_METHODS = {
    "SendStreamingMessage": "stream",
    "message/stream": "stream",
    "SubscribeToTask": "subscribe",
    "tasks/resubscribe": "subscribe",
    "GetTask": "get",
    "tasks/get": "get",
    "CancelTask": "cancel",
    "tasks/cancel": "cancel",
    "ListTasks": "list",
}
LIST_PAGE_SIZE = 50
"""Tasks a ``ListTasks`` page holds when ``pageSize`` is not given (at most 100)."""
_STATES = {
    "running": "TASK_STATE_WORKING",
    "paused": "TASK_STATE_INPUT_REQUIRED",
    "completed": "TASK_STATE_COMPLETED",
    "failed": "TASK_STATE_FAILED",
    "cancelled": "TASK_STATE_CANCELED",
}


def _response(rpc_id: Any, result: _Obj) -> _Obj:
    return {"jsonrpc": "2.0", "id": rpc_id, "result": result}


def _error(rpc_id: Any, code: int, message: str) -> JSONResponse:
    body = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
    return JSONResponse(body)


class A2ARenderer:
    """Steps as A2A stream responses of one task."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.rpc_id = log.details.get("rpcId")
        self.answered = False
        self.waiting: list[steps.ApprovalRequest] = []

    def _frame(self, result: _Obj, *, terminal: bool = False) -> kit.Frame:
        return kit.Frame(kit.dumps(_response(self.rpc_id, result)), terminal=terminal)

    def _ids(self) -> _Obj:
        return {"taskId": self.log.id, "contextId": self.log.thread_id or ""}

    def _status(self, state: str, parts: list[_Obj] | None, metadata: _Obj) -> _Obj:
        status: _Obj = {"state": state}
        if parts:
            status["message"] = {"messageId": f"msg_{self.log.id}", "role": "ROLE_AGENT"}
            status["message"].update(self._ids(), parts=parts)
        update: _Obj = {**self._ids(), "status": status}
        if metadata:
            update["metadata"] = metadata
        return {"statusUpdate": update}

    def opening(self) -> list[kit.Frame]:
        task = {
            "id": self.log.id,
            "contextId": self.log.thread_id or "",
            "status": {"state": "TASK_STATE_SUBMITTED"},
        }
        return [self._frame({"task": task})]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.ApprovalRequest):
            self.waiting.append(step)
            return []
        if isinstance(step, steps.Paused):
            return [self._input_required()]
        if isinstance(step, steps.Resumed):
            return [self._frame(self._status("TASK_STATE_WORKING", None, {}))]
        if isinstance(step, steps.Reasoning):
            delta = {"agentnbDelta": True}
            return [self._frame(self._status("TASK_STATE_WORKING", [{"text": step.text}], delta))]
        if isinstance(step, steps.Text):
            return [self._frame(self._artifact(step.text))]
        if isinstance(step, steps.ToolStart | steps.ToolEnd | steps.ToolDenied):
            return [self._frame(self._status("TASK_STATE_WORKING", [self._tool(step)], {}))]
        if isinstance(step, steps.Finish):
            return [self._frame(self._finished(step), terminal=True)]
        return [self._frame(self._failed(step), terminal=True)]

    def _artifact(self, text: str) -> _Obj:
        artifact = {"artifactId": "answer", "name": "answer", "parts": [{"text": text}]}
        update = {**self._ids(), "artifact": artifact, "append": self.answered}
        self.answered = True
        return {"artifactUpdate": update}

    def _input_required(self) -> kit.Frame:
        """A call awaiting approval: the task asks (text) and names the call (data)."""
        [request, *_] = self.waiting
        self.waiting = []
        question = request.reason or f"Approve {request.name}?"
        approval = {"callId": request.call_id, "approvalId": request.approval_id}
        parts: list[_Obj] = [
            {"text": question},
            {"data": {"approval": {**approval, "name": request.name}}},
        ]
        status = self._status("TASK_STATE_INPUT_REQUIRED", parts, {})
        return kit.Frame(kit.dumps(_response(self.rpc_id, status)), ends_response=True)

    def _tool(self, step: steps.ToolStart | steps.ToolEnd | steps.ToolDenied) -> _Obj:
        if isinstance(step, steps.ToolStart):
            call = {"id": step.call_id, "name": step.name, "arguments": step.arguments}
            return {"data": {"toolCall": call}}
        if isinstance(step, steps.ToolDenied):
            denied = {"id": step.call_id, "name": step.name, "reason": step.reason}
            return {"data": {"toolDenied": denied}}
        result = {"id": step.call_id, "name": step.name, "output": step.output}
        if step.error is not None:
            result["error"] = step.error
        return {"data": {"toolResult": result}}

    def _finished(self, step: steps.Finish) -> _Obj:
        usage = step.usage
        metadata: _Obj = {
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
            "model": self.log.model,
            "executionTime": step.execution_time,
        }
        if step.followups:
            metadata["followups"] = list(step.followups)
        if step.final_output is not None:
            metadata["finalOutput"] = step.final_output
        return self._status("TASK_STATE_COMPLETED", None, metadata)

    def _failed(self, step: steps.Failure) -> _Obj:
        return self._status("TASK_STATE_FAILED", [{"text": step.message}], {"code": step.code})


A2A = kit.Dialect(KIND, kit.flat(A2ARenderer), approvals=True)


_LOCATIONS = {
    "response_format": ["body", "params", "metadata", "responseFormat"],
    "paragraphs": ["body", "params", "metadata", "paragraphs"],
}


def _params(body: Any) -> _Obj:
    params = body.get("params") if isinstance(body, dict) else None
    return params if isinstance(params, dict) else {}


def _text(message: _Obj) -> str:
    parts = message.get("parts")
    return "".join(
        part["text"]
        for part in (parts if isinstance(parts, list) else [])
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


async def _begin(request: Request, state: kit.AppState, body: _Obj) -> kit.RunStart | Response:
    rpc_id = body.get("id")
    message = _params(body).get("message")
    if not isinstance(message, dict) or not _text(message):
        return _error(rpc_id, -32602, "params.message needs a text part")
    agent = kit.require_agent(request.path_params["agent"])
    context_id = message.get("contextId")
    conversation = state.conversations.get_or_create(
        KIND, context_id if isinstance(context_id, str) else None
    )
    metadata = _params(body).get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    options = kit.scalar_options(metadata)
    asked = kit.AgentInput(
        message=_text(message),
        history=conversation.history(),
        response_format=kit.json_schema_at(
            metadata.get("responseFormat"), _LOCATIONS["response_format"]
        ),
        options=options,
        followups=kit.wants_followups(options),
    )
    return kit.run_start(
        request, A2A, agent, asked, _LOCATIONS, conversation=conversation, details={"rpcId": rpc_id}
    )


def _task(log: kit.RunLog) -> _Obj:
    return {
        "id": log.id,
        "contextId": log.thread_id or "",
        "status": {"state": _STATES.get(log.status, "TASK_STATE_UNSPECIFIED")},
        "artifacts": [{"artifactId": "answer", "parts": [{"text": log.answer_text()}]}],
    }


def _list_tasks(request: Request, state: kit.AppState, body: _Obj) -> JSONResponse:
    """``ListTasks``: the agent's tasks (of one context, with ``contextId``), newest first,
    a page at a time; the page token is the next task's position (opaque to a client)."""
    params = _params(body)
    size, start = params.get("pageSize", LIST_PAGE_SIZE), params.get("pageToken") or "0"
    context = params.get("contextId")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        return _error(body.get("id"), -32602, f"pageSize must be 1 to 100, not {size!r}")
    if not isinstance(start, str) or not start.isdigit():
        return _error(body.get("id"), -32602, f"pageToken {start!r} is not one this server gave")
    if context is not None and not isinstance(context, str):
        return _error(body.get("id"), -32602, "contextId must be a string")
    agent = request.path_params["agent"]
    tasks = [
        log
        for log in state.runs.all()
        if log.dialect == KIND and log.agent == agent and context in (None, log.thread_id)
    ]
    tasks.sort(key=lambda log: log.created_at, reverse=True)
    offset = int(start)
    page = tasks[offset : offset + size]
    following = offset + len(page)
    with_artifacts = params.get("includeArtifacts") is True
    listed = [_task(log) if with_artifacts else _without_artifacts(_task(log)) for log in page]
    result = {
        "tasks": listed,
        "nextPageToken": str(following) if following < len(tasks) else "",
        "pageSize": size,
        "totalSize": len(tasks),
    }
    return JSONResponse(_response(body.get("id"), result))


def _without_artifacts(task: _Obj) -> _Obj:
    return {key: value for key, value in task.items() if key != "artifacts"}


def _task_of(request: Request, body: _Obj) -> kit.RunLog | JSONResponse:
    task_id = _params(body).get("id")
    log = kit.state_of(request).runs.get(task_id) if isinstance(task_id, str) else None
    if log is None or log.dialect != KIND or log.agent != request.path_params["agent"]:
        return _error(body.get("id"), -32001, f"task {task_id!r} is unknown or has expired")
    return log


async def _rpc(request: Request) -> Response:
    state = kit.state_of(request)
    body = await kit.request_json(request)
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
        return _error(None, -32600, "a JSON-RPC 2.0 request object is expected")
    method = _METHODS.get(str(body.get("method")))
    if method is None:
        return _error(body.get("id"), -32601, f"method {body.get('method')!r} not found")
    message = _params(body).get("message")
    if method == "stream" and isinstance(message, dict) and message.get("taskId"):
        return _answer(request, state, body, message)
    if method == "stream":
        return await kit.run_endpoint(request, A2A, lambda r, s: _begin(r, s, body))
    if method == "list":
        return _list_tasks(request, state, body)
    log = _task_of(request, body)
    if isinstance(log, JSONResponse):
        return log
    if method == "subscribe":
        return _subscribe(request, state, log)
    if method == "cancel" and not log.finished and state.runs.cancel(log.id):
        await log.wait_finished()  # the answer is the task as cancelled
    return JSONResponse(_response(body.get("id"), _task(log)))


_YES = {"yes", "y", "approve", "approved", "ok", "true"}


def _decisions(log: kit.RunLog, message: _Obj) -> tuple[steps.Decision, ...]:
    """The answer to the calls the task waits on: a data part ``{"decision": {callId,
    approved, reason}}`` (what agentnb sends), else the text (``yes``... approves, anything
    else denies with the text as the reason)."""
    parts = message.get("parts")
    for part in parts if isinstance(parts, list) else []:
        data = part.get("data") if isinstance(part, dict) else None
        decision = data.get("decision") if isinstance(data, dict) else None
        if isinstance(decision, dict) and decision.get("callId") in log.pending:
            reason = decision.get("reason")
            reason = reason if isinstance(reason, str) else None
            return (steps.Decision(decision["callId"], decision.get("approved") is True, reason),)
    text = _text(message).strip()
    approved = text.lower() in _YES
    return tuple(steps.Decision(c, approved, None if approved else text) for c in log.pending)


def _answer(request: Request, state: kit.AppState, body: _Obj, message: _Obj) -> Response:
    """A message to a task in ``input-required``: the decisions; the task goes on."""
    log = _task_of(request, {"id": body.get("id"), "params": {"id": message["taskId"]}})
    if isinstance(log, JSONResponse):
        return log
    if log.status != "paused":
        return _error(body.get("id"), -32004, f"task {log.id!r} is not waiting for input")
    return kit.continue_run(state, A2A, log, _decisions(log, message))


class _Resubscribed(A2ARenderer):
    """A subscription's renderer: the task as it stood when the subscription came (its
    answer so far), then the frames after that point."""

    def __init__(self, log: kit.RunLog, task: _Obj) -> None:
        super().__init__(log)
        self.task = task

    def opening(self) -> list[kit.Frame]:
        return [self._frame({"task": self.task})]


def _subscribe(request: Request, state: kit.AppState, log: kit.RunLog) -> Response:
    """``SubscribeToTask``: after ``Last-Event-ID`` when the client has one (nothing lost or
    repeated), else as A2A does it: the task now, then what follows."""
    resume = kit.parse_last_event_id(request.headers)
    if resume is not None:
        return kit.replay(state, A2A, log.id, resume[1])
    # The task and the count of frames it holds are taken at once: the run goes on before
    # the response's first frame is made, and what it adds meanwhile is sent once, after.
    task, counting = _task(log), A2A.renderer(log)
    sent = len(counting.opening()) + sum(
        len(counting.render(entry.step, entry.at)) for entry in list(log.entries)
    )
    return kit.sse_response(
        log,
        kit.flat(lambda log: _Resubscribed(log, task))(log),
        store=state.runs,
        counter=state.streams,
        select=lambda number, frame: number == 0 or number >= sent,
    )


async def _card(request: Request) -> Response:
    agent = kit.require_agent(request.path_params["agent"])
    url = str(request.url_for("a2a_rpc", agent=agent.name))
    card = {
        "name": agent.name,
        "description": agent.description,
        "version": "1.0.0",
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {"id": tool, "name": tool, "description": f"uses {tool}", "tags": [tool]}
            for tool in agent.tools
        ],
    }
    return JSONResponse(card)


def routes() -> list[Route]:
    return [
        Route("/a2a/{agent}", _rpc, methods=["POST"], name="a2a_rpc"),
        Route("/a2a/{agent}/.well-known/agent-card.json", _card, methods=["GET"]),
    ]


DIALECT = kit.ServedDialect(("a2a",), routes, prefix="/a2a", client_options={"path": "/{agent}"})
