"""A2A, the Agent2Agent protocol over JSON-RPC 2.0 (``a2a-sdk`` 0.3 and 1.x, Google ADK,
pydantic-ai's fasta2a). The agent card names the JSON-RPC endpoint and the protocol version;
the task is the run and its context the thread, which the server keeps. A cut stream resumes
by subscribing to the task again (A2A streams carry no event ids). Details:
docs/providers.md, ``a2a``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ConfigurationError, HTTPStatusError, ProtocolError
from .._core.request import RunRequest
from ._a2a_frames import A2ATranslator, state_name, stream_result
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
from ._frames import as_dict, first_str, local_id, quoted
from ._options import carried, metadata_with_followups
from ._paths import fill_agent

__all__ = ["A2A", "A2ATranslator"]

_Obj = dict[str, Any]

_METHODS = {
    "1.0": {
        "stream": "SendStreamingMessage",
        "get": "GetTask",
        "cancel": "CancelTask",
        "subscribe": "SubscribeToTask",
        "list": "ListTasks",
    },
    "0.3": {
        "stream": "message/stream",
        "get": "tasks/get",
        "cancel": "tasks/cancel",
        "subscribe": "tasks/resubscribe",
    },
}

CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
"""Where an agent's card is below its base URL: A2A 0.3 and 1.0, then 0.2's name."""

_RUN_STATUS = {
    "submitted": "running",
    "working": "running",
    "input-required": "paused",
    "auth-required": "paused",
    "completed": "completed",
    "failed": "failed",
    "rejected": "failed",
    "canceled": "cancelled",
}


class A2A(Provider):
    """JSON-RPC ``SendStreamingMessage`` (or 0.3's ``message/stream``) over SSE.

    Options: ``path`` (the JSON-RPC endpoint below ``base_url``, which then is not looked
    up in an agent card: ``""`` for ``base_url`` itself, ``/{agent}`` for a server with one
    agent per path, ``{agent}`` replaced by the agent name), ``version`` (``"1.0"`` or
    ``"0.3"``; default: what the card's interface names, else ``"1.0"``).
    """

    name: ClassVar[str] = "a2a"
    title: ClassVar[str] = "A2A"
    carries: ClassVar[frozenset[str] | None] = carried(
        "metadata", "followups", "response_format", settings=()
    )
    resume_mode = "cursor"
    status_batch_size = 1
    pages_by_token = True
    json_answers = True
    supports_answers = True
    supports_approvals = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        path = options.get("path")
        self.path: str | None = None if path is None else str(path)
        self._version_given = "version" in options
        self.version = _checked_version(str(options.get("version", "1.0")))
        self.card: _Obj | None = None
        """The agent card read by :meth:`discover`, if the platform serves one."""
        self._endpoint: str | None = None

    def base_url_from(self, url: str) -> str:
        """An agent card's URL stands for its agent's base URL."""
        for card_path in CARD_PATHS:
            if url.endswith(card_path):
                return url[: -len(card_path)] or url
        return url

    async def discover(self, send: SendJson) -> None:
        """Read the agent card and take its JSON-RPC endpoint (and version) from it."""
        if self.path is not None or self._endpoint is not None:
            return
        card = await _read_card(send)
        if card is None:
            self._endpoint = ""  # no card: the base URL is the JSON-RPC endpoint
            return
        url, version = _jsonrpc_interface(card)
        if not self._version_given and version is not None:
            self.version = version
        self.card, self._endpoint = card, url

    def list_agents_request(self) -> HttpRequest:
        return HttpRequest("GET", CARD_PATHS[0])

    def parse_agents(self, body: Any) -> list[RemoteAgent]:
        """The card's one agent: its name, description and skills."""
        card = as_dict(body)
        if card is None or not first_str(card, "name"):
            return []
        skills = [as_dict(s) or {} for s in card.get("skills") or []]
        return [
            RemoteAgent(
                name=first_str(card, "name") or "",
                description=first_str(card, "description"),
                skills=tuple(first_str(s, "name", "id") or "" for s in skills),
                raw=card,
            )
        ]

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "version")

    # ---- JSON-RPC ---------------------------------------------------------------------------
    def _rpc(self, agent: str, method: str, params: _Obj, *, stream: bool) -> HttpRequest:
        headers = {"A2A-Version": self.version}
        if stream:
            headers["Accept"] = "text/event-stream"
        body = {
            "jsonrpc": "2.0",
            "id": local_id("rpc"),
            "method": _METHODS[self.version][method],
            "params": params,
        }
        path = fill_agent(self.path, agent) if self.path is not None else self._endpoint or ""
        return HttpRequest("POST", _method_path(path, method), json=body, headers=headers)

    def _message(self, text: str, *, context_id: str | None, task_id: str | None) -> _Obj:
        message: _Obj
        if self.version == "0.3":
            message = {"kind": "message", "role": "user", "parts": [{"kind": "text", "text": text}]}
        else:
            message = {"role": "ROLE_USER", "parts": [{"text": text}]}
        message["messageId"] = local_id("msg")
        if context_id:
            message["contextId"] = context_id
        if task_id:
            message["taskId"] = task_id
        return {"message": message}

    # ---- runs -------------------------------------------------------------------------------
    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        params = request.with_extra(
            self._message(request.message, context_id=request.thread_id, task_id=None)
        )
        metadata: _Obj = dict(metadata_with_followups(request))
        if request.response_format is not None:
            metadata["responseFormat"] = request.response_format  # agentnb's server reads it
        if metadata:
            params["metadata"] = metadata
        return self._rpc(request.agent, "stream", params, stream=True)

    def translator(self, request: RunRequest) -> Translator:
        return A2ATranslator(context_id=request.thread_id)

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """A cut stream goes on by subscribing to its task again (no event ids in A2A)."""
        if not isinstance(translator, A2ATranslator) or not translator.task_id:
            return None
        sent = self._rpc(request.agent, "subscribe", {"id": translator.task_id}, stream=True)
        return sent.after(last_event_id)  # where a server keeps event ids

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, A2ATranslator):
            raise ConfigurationError("the A2A dialect answers only its own tasks")
        wanted = translator.approving or translator.question_id
        [decision, *_] = [d for d in decisions if d.call_id == wanted] or [*decisions]
        text = _answer_text(decision)
        parts: list[_Obj] = []
        if translator.approving is not None:  # agentnb's server names the call it asked about
            approved = {"callId": decision.call_id, "approved": decision.approved}
            data = {"decision": {**approved, "reason": decision.reason}}
            parts.append(
                {"kind": "data", "data": data} if self.version == "0.3" else {"data": data}
            )
            translator.approving = None
        else:
            translator.answer = text
        params = self._message(text, context_id=translator.context_id, task_id=translator.task_id)
        params["message"]["parts"].extend(parts)
        return self._rpc(request.agent, "stream", params, stream=True)

    # ---- the platform's own task ----------------------------------------------------------------
    def cancel_request(self, ref: RunRef) -> HttpRequest:
        return self._rpc(ref.agent, "cancel", {"id": ref.run_id}, stream=False)

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest:
        return self._rpc(ref.agent, "subscribe", {"id": ref.run_id}, stream=True)

    def run_status_request(self, agent: str, run_ids: Sequence[str]) -> HttpRequest | None:
        """``GetTask`` for one task (A2A reads one task per call: ``status_batch_size`` 1)."""
        if len(run_ids) != 1:
            return None
        return self._rpc(agent, "get", {"id": run_ids[0]}, stream=False)

    def list_runs_request(self, page: RunsPage) -> HttpRequest | None:
        """A2A 1.0's ``ListTasks`` of one context (the thread), newest first (its only
        order), a page at a time by ``pageToken``; A2A 0.3 has no such method (None)."""
        if "list" not in _METHODS[self.version]:
            return None
        if page.agent is None and self.path is not None and "{agent}" in self.path:
            raise ConfigurationError(
                "this A2A connection has one endpoint per agent: say which agent's tasks to "
                "list (agent=...)"
            )
        params: _Obj = {"contextId": page.thread_id, "pageSize": max(1, min(page.limit, 100))}
        if page.page_token:
            params["pageToken"] = page.page_token
        return self._rpc(page.agent or "", "list", params, stream=False)

    def next_page_token(self, body: Any) -> str | None:
        result = as_dict((as_dict(body) or {}).get("result")) or {}
        return first_str(result, "nextPageToken") or None

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        """The task of a ``GetTask`` answer, or the tasks of a ``ListTasks`` page; none for
        a JSON-RPC error (no such task)."""
        answer = as_dict(body) or {}
        error = as_dict(answer.get("error"))
        if error is not None and error.get("code") != TASK_NOT_FOUND:
            message = quoted(first_str(error, "message") or error)
            raise ProtocolError(f"the A2A server answered the listing with an error: {message}")
        if error is not None:
            return []
        result = as_dict(answer.get("result")) or {}
        if isinstance(result.get("tasks"), list):
            tasks = [as_dict(task) for task in result["tasks"]]
            return [_remote_run(task) for task in tasks if task and first_str(task, "id")]
        found = stream_result({"task": result})
        if found is None or found[0] != "task":
            return []
        return [_remote_run(found[1])]


def _checked_version(version: str) -> str:
    if version not in _METHODS:
        raise ConfigurationError(
            f"A2A version {version!r} is not spoken; use one of {sorted(_METHODS)}"
        )
    return version


TASK_NOT_FOUND = -32001
"""A2A's JSON-RPC error code for a task the server does not know (a listing leaves it out)."""

NO_CARD_STATUS = frozenset({404, 405, 501})
"""Answers to a card request that mean "no card here" (the base URL is then the endpoint)."""


async def _read_card(send: SendJson) -> _Obj | None:
    """The agent card below the base URL, or None when none is served there (not found, no
    GET there, or an answer that is no card: an HTML page, a redirect). A refused key or a
    server error is raised: the run would meet it too."""
    for card_path in CARD_PATHS:
        try:
            found = as_dict(await send(HttpRequest("GET", card_path)))
        except HTTPStatusError as exc:
            if exc.status_code in NO_CARD_STATUS:
                continue
            raise
        except ProtocolError:
            continue
        if found is not None and first_str(found, "name"):
            return found
    return None


def _jsonrpc_interface(card: _Obj) -> tuple[str, str | None]:
    """The card's JSON-RPC endpoint and the version it speaks there; a clear error when
    the card offers only transports agentnb does not speak (gRPC, HTTP+JSON)."""
    offered: list[tuple[str, str, str | None]] = []  # (transport, url, version)
    card_version = first_str(card, "protocolVersion")
    for raw in card.get("supportedInterfaces") or []:  # A2A 1.0
        iface = as_dict(raw) or {}
        version = first_str(iface, "protocolVersion")
        offered.append((first_str(iface, "protocolBinding") or "", iface.get("url") or "", version))
    if first_str(card, "url"):  # A2A 0.3
        offered.append((first_str(card, "preferredTransport") or "JSONRPC", card["url"], None))
    for raw in card.get("additionalInterfaces") or []:
        iface = as_dict(raw) or {}
        offered.append((first_str(iface, "transport") or "", iface.get("url") or "", None))
    for transport, url, version in offered:
        if transport.upper() == "JSONRPC" and isinstance(url, str) and url:
            return url, _spoken_version(version or card_version)
    name = first_str(card, "name") or "the agent"
    kinds = ", ".join(sorted({t for t, _, _ in offered if t})) or "none"
    raise ConfigurationError(
        f"the A2A card of {name} offers no JSON-RPC interface (it offers: {kinds}); agentnb "
        f"speaks A2A over JSON-RPC. Give the endpoint as base_url with "
        "provider_options={'path': ''}"
    )


_BESIDE_STREAM = {"get": "tasks:get", "cancel": "tasks:cancel"}


def _method_path(endpoint: str, method: str) -> str:
    """Where ``method`` is posted: the endpoint, but beside it where the endpoint is one
    method's own URL (Agno's card names ``.../v1/message:stream``; it serves
    ``.../v1/tasks:get`` and ``.../v1/tasks:cancel``)."""
    head, stream, tail = endpoint.rpartition("/message:stream")
    if not stream or tail or method not in _BESIDE_STREAM:
        return endpoint
    return f"{head}/{_BESIDE_STREAM[method]}"


def _spoken_version(version: str | None) -> str | None:
    """A card's protocol version (``0.3.0``, ``1.0``) as the method set agentnb speaks."""
    if not version:
        return None
    return "0.3" if version.startswith(("0.2", "0.3")) else "1.0"


def _answer_text(decision: ApprovalDecision) -> str:
    if decision.answer is not None:
        return decision.answer if isinstance(decision.answer, str) else str(decision.answer)
    if decision.approved:
        return "yes"
    return decision.reason or "no"


def _remote_run(task: _Obj) -> RemoteRun:
    status = as_dict(task.get("status")) or {}
    state = state_name(status.get("state")) or "unknown"
    return RemoteRun(
        run_id=first_str(task, "id") or "",
        agent=None,
        thread_id=first_str(task, "contextId"),
        status=_RUN_STATUS.get(state, state),
        finished_at=first_str(status, "timestamp") if state in ("completed", "failed") else None,
        raw=task,
    )
