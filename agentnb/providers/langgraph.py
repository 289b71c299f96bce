"""The LangGraph Agent Server (``langgraph-api``: ``langgraph dev`` and every deployment).
The server keeps the conversation in the thread's checkpoints: a retry branches the thread at
the checkpoint before the replaced turn, and a cut stream joins the run again, never posts it
twice. Details: docs/providers.md, ``langgraph``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ConfigurationError, ProtocolError
from .._core.request import RunRequest
from ._base import (
    HttpRequest,
    Provider,
    RemoteAgent,
    RemoteRun,
    RunRef,
    RunsPage,
    SendJson,
    Translator,
)
from ._frames import as_dict, first_str
from ._langgraph_events import LangGraphTranslator
from ._options import carried, decision_value, metadata_with_followups
from ._paths import segment

__all__ = ["LangGraph", "LangGraphTranslator"]

_Obj = dict[str, Any]
STREAM_MODES = ("messages-tuple", "updates", "values", "custom")
"""The stream modes a run asks for (``langgraph-api``'s names)."""
_SSE = {"Accept": "text/event-stream"}
HISTORY_LIMIT = 1000
"""Checkpoints read to find where a retried turn began (newest first)."""


class LangGraph(Provider):
    """``POST /threads/{thread_id}/runs/stream``; LangGraph stream-mode events back.

    Options: ``config`` and ``context`` (sent with each run; a ``response_format`` goes in
    ``config.configurable.response_format``, follow-ups as ``followups: "true"`` in the run's
    ``metadata``), ``stream_modes``
    (default :data:`STREAM_MODES`), ``on_disconnect`` (``cancel`` or ``continue``, the
    server's default when not given).
    """

    name: ClassVar[str] = "langgraph"
    title: ClassVar[str] = "LangGraph Agent Server"
    carries: ClassVar[frozenset[str] | None] = carried(
        "metadata", "followups", "response_format", settings=()
    )
    supports_approvals = True
    supports_answers = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.config = options.get("config")
        self.context = options.get("context")
        self.stream_modes = list(options.get("stream_modes") or STREAM_MODES)
        self.on_disconnect = options.get("on_disconnect")

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("config", "context", "stream_modes", "on_disconnect")

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        if request.fork is not None:
            request = await self._fork(request, send)
        if request.thread_id:
            return request
        created = as_dict(await send(HttpRequest("POST", "/threads", json={})))
        thread_id = first_str(created or {}, "thread_id")
        if thread_id is None:
            raise ProtocolError("the LangGraph server created a thread without a thread_id")
        return request.model_copy(update={"thread_id": thread_id})

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        user = {"type": "human", "content": request.message}
        extra: _Obj = {"input": {"messages": [user]}}
        if request.fork is not None and request.fork.point:
            extra["checkpoint_id"] = request.fork.point  # the thread branches there
        return self._run(request, extra)

    def cannot_fork(self, thread_id: str | None) -> str | None:
        """A retry runs from the thread's checkpoint before the turn it replaces (the Agent
        Server's time travel: the thread branches there and goes on from the new branch)."""
        return None

    async def _fork(self, request: RunRequest, send: SendJson) -> RunRequest:
        """``request`` on the replaced turn's thread, from the checkpoint before that turn
        (found in the thread's history by the run's id); a turn that began the thread is
        replaced on a new thread."""
        fork = request.fork
        assert fork is not None
        path = f"{_thread_path(fork.thread_id)}/history"
        answer = await send(HttpRequest("POST", path, json={"limit": HISTORY_LIMIT}))
        states = answer if isinstance(answer, list) else []
        point = _checkpoint_before(states, fork.run_id)
        if point is None and len(states) < HISTORY_LIMIT:
            # the run wrote nothing to the thread (it failed or was stopped before its
            # input was kept): the thread as it is is the state before it
            return request.model_copy(update={"thread_id": fork.thread_id, "fork": None})
        if point is None:
            raise ConfigurationError(
                f"thread {fork.thread_id!r} has no checkpoint of run {fork.run_id!r} in its "
                f"last {HISTORY_LIMIT} checkpoints: the turn cannot be started again from "
                f"before it"
            )
        if not point:
            return request.model_copy(update={"thread_id": None, "fork": None})
        update = {"thread_id": fork.thread_id, "fork": fork.model_copy(update={"point": point})}
        return request.model_copy(update=update)

    def _run(self, request: RunRequest, extra: _Obj) -> HttpRequest:
        body: _Obj = {
            "assistant_id": request.agent,
            "stream_mode": self.stream_modes,
            "stream_subgraphs": True,
            "stream_resumable": True,
            **extra,
        }
        metadata = metadata_with_followups(request)
        if metadata:
            body["metadata"] = metadata
        config = dict(self.config or {})
        if request.response_format is not None:
            configurable = {
                **config.get("configurable", {}),
                "response_format": request.response_format,
            }
            config["configurable"] = configurable
        if config:
            body["config"] = config
        if self.context is not None:
            body["context"] = self.context
        if self.on_disconnect is not None:
            body["on_disconnect"] = self.on_disconnect
        body = request.with_extra(body)
        path = f"{_thread_path(_thread(request))}/runs/stream"
        return HttpRequest("POST", path, json=body, headers=_SSE)

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """A cut stream is joined again (``GET …/runs/{run_id}/stream``), never re-posted:
        that would start a second run."""
        run_id = translator.run_id if isinstance(translator, LangGraphTranslator) else None
        if run_id is None or not last_event_id:
            return None  # joined without an id, the run's stream would show twice
        return self.attach_request(RunRef(request.agent, run_id, _thread(request)), last_event_id)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, LangGraphTranslator):
            raise ConfigurationError("the LangGraph dialect resumes only its own runs")
        values: _Obj = {}
        for decision in decisions:
            interrupt = translator.interrupts.get(decision.call_id)
            value = decision_value(decision, is_question=bool(interrupt and interrupt.is_question))
            values[interrupt.interrupt_id if interrupt else decision.call_id] = value
            if not decision.approved:
                translator.denied.add(decision.call_id)
            elif interrupt is None or not interrupt.is_tool_call:
                translator.answered[decision.call_id] = value
        resume: Any = next(iter(values.values())) if len(values) == 1 else values
        return self._run(request, {"command": {"resume": resume}})

    def translator(self, request: RunRequest) -> Translator:
        return LangGraphTranslator(request.thread_id)

    # ---- the platform's run ---------------------------------------------------------------
    def cancel_request(self, ref: RunRef) -> HttpRequest | None:
        if ref.thread_id is None:
            return None
        path = f"{_run_path(ref.thread_id, ref.run_id)}/cancel"
        return HttpRequest("POST", path, params={"wait": "false", "action": "interrupt"})

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest | None:
        if ref.thread_id is None:
            return None
        path = f"{_run_path(ref.thread_id, ref.run_id)}/stream"
        return HttpRequest("GET", path, headers=_SSE).after(last_event_id)

    def list_agents_request(self) -> HttpRequest:
        return HttpRequest("POST", "/assistants/search", json={"limit": 1000, "offset": 0})

    def parse_agents(self, body: Any) -> list[RemoteAgent]:
        found = body if isinstance(body, list) else []
        agents = [_agent(a) for a in found if isinstance(a, dict)]
        return [a for a in agents if a is not None]

    def list_runs_request(self, page: RunsPage) -> HttpRequest | None:
        """A thread's runs, newest first (the server's only order)."""
        params = {"limit": str(page.limit), "offset": str(page.offset)}
        return HttpRequest("GET", f"{_thread_path(page.thread_id)}/runs", params=params)

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        runs = body if isinstance(body, list) else []
        return [_remote_run(run) for run in runs if as_dict(run) and first_str(run, "run_id")]


def _agent(assistant: _Obj) -> RemoteAgent | None:
    """A graph's default assistant (made by the server) by its graph id; others by id."""
    assistant_id, graph_id = first_str(assistant, "assistant_id"), first_str(assistant, "graph_id")
    metadata = as_dict(assistant.get("metadata")) or {}
    by_system = metadata.get("created_by") == "system"
    name = graph_id if by_system and graph_id else assistant_id
    if not name:
        return None
    title = first_str(assistant, "name")
    return RemoteAgent(
        name=name,
        title=title if title != name else None,
        description=first_str(assistant, "description"),
        raw=assistant,
    )


def _thread_path(thread_id: str) -> str:
    return f"/threads/{segment(thread_id, 'thread id')}"


def _run_path(thread_id: str, run_id: str) -> str:
    return f"{_thread_path(thread_id)}/runs/{segment(run_id, 'run id')}"


def _thread(request: RunRequest) -> str:
    if not request.thread_id:
        raise ConfigurationError("a LangGraph run needs a thread (prepare() creates one)")
    return request.thread_id


def _checkpoint_before(states: list[Any], run_id: str | None) -> str | None:
    """The checkpoint before the turn of run ``run_id``, in a thread's history (newest
    first): the parent of the turn's first checkpoint, the one its input was written in
    (a turn resumed after an interrupt goes on in runs of its own, so the walk goes back to
    that input). ``""`` when the turn began the thread; None when the run is not there."""
    checkpoints = [state for state in states if isinstance(state, dict)]
    runs = [(as_dict(state.get("metadata")) or {}).get("run_id") for state in checkpoints]
    if run_id is None or run_id not in runs:
        return None
    index = len(runs) - 1 - runs[::-1].index(run_id)  # the run's oldest checkpoint
    for state in checkpoints[index:]:
        if (as_dict(state.get("metadata")) or {}).get("source") == "input":
            parent = as_dict(state.get("parent_checkpoint")) or {}
            return first_str(parent, "checkpoint_id") or ""
    return None


def _remote_run(run: _Obj) -> RemoteRun:
    return RemoteRun(
        run_id=str(run["run_id"]),
        agent=first_str(run, "assistant_id"),
        thread_id=first_str(run, "thread_id"),
        status=first_str(run, "status") or "unknown",
        created_at=first_str(run, "created_at"),
        finished_at=first_str(run, "updated_at") if run.get("status") != "running" else None,
        raw=run,
    )
