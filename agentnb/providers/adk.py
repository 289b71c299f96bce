"""Google ADK's own REST server (``adk api_server``, ``adk web``).

A run is one ``POST /run_sse`` on a session: ``{appName, userId, sessionId, newMessage,
streaming: true}``, the app being the agent agentnb was asked for. The session is ADK's
thread: :meth:`ADK.prepare` creates it once (``POST /apps/{app}/users/{user}/sessions``) and
a later turn names it again. Each frame is a whole ADK ``Event`` in camelCase JSON; the stream
ends with the run. A model's turn streams as ``partial`` events and then repeats itself whole
in one event that is not partial: the pieces are shown, the whole is not shown again.

ADK has no cancel endpoint: Stop closes the stream, which ADK's server reads as the end of
the run. The tools are the agent's own: ``/run_sse`` has no field for a tool the client
declares. A notebook function answers the agent's long-running function tool of its name
(``LongRunningFunctionTool`` whose function returns None): ADK pauses the run at that call
and ends the stream with it open, the client runs the function (``tools=``, the client's
tool rounds) and its result goes back on the session as that call's ``functionResponse``
(``{result}`` or ``{error}``), which resumes the run. A tool that needs a person's
confirmation (``require_confirmation=True``) makes ADK call ``adk_request_confirmation``
with the call it holds back and end the run: that is the approval of the call, and the
decision goes back on the session the same way, as that call's response (``{confirmed}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError, HTTPStatusError, ProtocolError
from .._core.request import RunRequest
from ..events import (
    Event,
    RunCompleted,
    RunPaused,
    RunStarted,
    ToolApprovalRequested,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, RemoteAgent, SendJson, Translator
from ._frames import (
    as_dict,
    first_str,
    model_name,
    parse_json,
    quoted,
    reported_failure,
    str_list,
)
from ._frames import parse_usage as read_usage
from ._frames import unknown as keep_unknown
from ._options import carried
from ._paths import segment

__all__ = ["ADK", "ADKTranslator", "function_result"]

CONFIRMATION = "adk_request_confirmation"
"""The call ADK makes to have a tool call confirmed, its arguments holding that call."""

_Obj = dict[str, Any]
DEFAULT_USER = "agentnb"
"""ADK's ``userId`` when the run names none (``user_id=``): sessions belong to a user."""


def _sessions_path(app: str, user: str) -> str:
    return f"/apps/{segment(app, 'app name')}/users/{segment(user, 'user id')}/sessions"


def function_result(response: Any) -> tuple[Any, str | None]:
    """A function response's output and error: ADK wraps a value that is not an object as
    ``{"result": value}`` and a failure as ``{"error": message}``."""
    body = as_dict(response)
    if body is None:
        return response, None
    error = body.get("error")
    if isinstance(error, str) and error:
        return None, error
    return (body["result"] if set(body) == {"result"} else body), None


def _answer(call_id: str, name: str, response: _Obj) -> _Obj:
    """The part that answers one of ADK's calls the run waits on."""
    return {"functionResponse": {"id": call_id, "name": name, "response": response}}


def _result(result: ToolResult) -> _Obj:
    """A notebook function's result, as ADK's own function tools answer (``{"result": ...}``,
    a failure ``{"error": ...}``)."""
    return _answer(
        result.call_id, result.name, {"error" if result.failed else "result": result.text}
    )


class ADKTranslator(Translator):
    """One run's ADK events."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self._announced = False
        self._streamed = False
        """A partial event of the model's current turn was shown: its whole is not."""
        self._calls: set[str] = set()
        self._usage: Usage | None = None
        self._model: str | None = None
        self.awaiting: dict[str, str] = {}
        """The calls held back for a person's decision: their confirmation call's id."""
        self.denied: set[str] = set()

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        event = as_dict(parse_json(sse.data))
        if event is None:
            return [keep_unknown(sse)]
        if "error" in event and "content" not in event:
            return self._fail(event, ("error",), ("error_type",))
        if first_str(event, "errorCode", "errorMessage"):
            return self._fail(event, ("errorMessage", "errorCode"), ("errorCode",))
        events = self._start(event)
        content = as_dict(event.get("content"))
        parts = content.get("parts") if content is not None else None
        if event.get("partial") is True:
            self._streamed = True
            return events + self._texts(parts)
        self._add_usage(event)
        if not self._streamed:
            events += self._texts(parts)
        self._streamed = False
        events += self._tools(parts)
        if len(events) == 0 and content is None and not self._is_bookkeeping(event):
            return [keep_unknown(sse)]
        return events

    def ended(self) -> list[Event]:
        """ADK's server ends the stream when the run is over (or waits for a confirmation)."""
        if self.done:
            return []
        if self.awaiting:
            return [RunPaused(reason="confirmation", usage=self._usage)]
        self.done = True
        return [RunCompleted(usage=self._usage, model=self._model)]

    def next_step(self) -> None:
        """The notebook answered the calls the run paused on: ADK's next step streams, its
        usage counted on its own (the client adds the steps up)."""
        self.done = False
        self._usage = None

    def _start(self, event: _Obj) -> list[Event]:
        if self._announced:
            return []
        self._announced = True
        self.run_id = first_str(event, "invocationId")
        return [RunStarted(run_id=self.run_id, thread_id=self.session_id)]

    def _texts(self, parts: Any) -> list[Event]:
        events: list[Event] = []
        for part in parts if isinstance(parts, list) else []:
            text = first_str(as_dict(part) or {}, "text")
            if text:
                thought = (as_dict(part) or {}).get("thought") is True
                events.append(reasoning_delta(text) if thought else text_delta(text))
        return events

    def _tools(self, parts: Any) -> list[Event]:
        events: list[Event] = []
        for part in parts if isinstance(parts, list) else []:
            part = as_dict(part) or {}
            call = as_dict(part.get("functionCall"))
            response = as_dict(part.get("functionResponse"))
            if call is not None:
                events += self._call(call)
            elif response is not None:
                events += self._response(response)
        return events

    def _call(self, call: _Obj) -> list[Event]:
        call_id = first_str(call, "id")
        name = first_str(call, "name")
        if not call_id or name is None or call_id in self._calls:
            return []
        self._calls.add(call_id)
        if name == CONFIRMATION and (asked := self._confirmation(call_id, call)) is not None:
            return [asked]
        return [ToolCallStarted(call_id=call_id, name=name, arguments=call.get("args"))]

    def _confirmation(self, confirmation_id: str, call: _Obj) -> Event | None:
        """The approval ADK asks for the call its confirmation call holds."""
        asked = as_dict(call.get("args")) or {}
        original = as_dict(asked.get("originalFunctionCall")) or {}
        call_id, name = first_str(original, "id"), first_str(original, "name")
        if not call_id or name is None:
            return None
        self.awaiting[call_id] = confirmation_id
        return ToolApprovalRequested(
            call_id=call_id,
            approval_id=confirmation_id,
            name=name,
            arguments=original.get("args"),
            reason=first_str(as_dict(asked.get("toolConfirmation")) or {}, "hint"),
        )

    def _response(self, response: _Obj) -> list[Event]:
        call_id = first_str(response, "id")
        if not call_id or call_id in self.awaiting:
            return []  # ADK's placeholder while the call waits for its confirmation
        output, error = function_result(response.get("response"))
        if call_id in self.denied:
            return [ToolCallDenied(call_id=call_id, reason=error)]
        return [ToolCallFinished(call_id=call_id, output=output, error=error)]

    def _add_usage(self, event: _Obj) -> None:
        usage = read_usage(event.get("usageMetadata"))
        if usage is not None:
            self._usage = usage.plus(self._usage)
        self._model = model_name(event.get("modelVersion")) or self._model

    @staticmethod
    def _is_bookkeeping(event: _Obj) -> bool:
        """An event of actions only (state, artifacts, an agent transfer): nothing to show."""
        return as_dict(event.get("actions")) is not None

    def _fail(self, event: _Obj, keys: tuple[str, ...], codes: tuple[str, ...]) -> list[Event]:
        self.done = True
        details = as_dict(event.get("error_details")) or {}
        return [reported_failure({**details, **event}, keys, codes)]


_LONG_RUNNING = "NOTE: This is a long-running operation."
"""How ADK's ``LongRunningFunctionTool`` declares itself to the model (its description's
note): the one mark ``app-info`` gives of a tool the client answers."""


@dataclass(frozen=True)
class _AppTools:
    """An ADK app's function tools, its sub-agents' included."""

    declared: frozenset[str]
    long_running: frozenset[str]


async def _app_tools(app: str, send: SendJson) -> _AppTools | None:
    """What ``GET /apps/{app}/app-info`` says of the app's function tools; None when the
    server does not say (not found, refused, or not that shape)."""
    try:
        info = await send(HttpRequest("GET", f"/apps/{segment(app, 'app name')}/app-info"))
    except (HTTPStatusError, ProtocolError):  # an answer that is not the app's info
        return None
    agents = as_dict((as_dict(info) or {}).get("agents"))
    if agents is None:
        return None
    declared: set[str] = set()
    long_running: set[str] = set()
    for agent in agents.values():
        for tool in (as_dict(agent) or {}).get("tools") or []:
            for function in (as_dict(tool) or {}).get("functionDeclarations") or []:
                name = first_str(as_dict(function) or {}, "name")
                if name:
                    declared.add(name)
                    if _LONG_RUNNING in (first_str(function, "description") or ""):
                        long_running.add(name)
    return _AppTools(frozenset(declared), frozenset(long_running))


class ADK(Provider):
    """Google ADK's REST server: ``POST /run_sse`` on a session the client made."""

    name: ClassVar[str] = "adk"
    title: ClassVar[str] = "Google ADK"
    resume_mode = "none"  # a cut run cannot be streamed again: ADK has no event ids
    supports_approvals = True
    carries: ClassVar[frozenset[str] | None] = carried("user_id", "metadata", "tools", settings=())

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._sessions: set[tuple[str, str, str]] = set()
        """The sessions this connection made or found: a thread's next turn makes none."""
        self._apps: dict[str, _AppTools | None] = {}
        """Each app's function tools, read once (None: its server does not say)."""

    @staticmethod
    def _user(request: RunRequest) -> str:
        return request.user_id or DEFAULT_USER

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        """Check the notebook's functions against the agent's tools (see
        :meth:`_check_tools`), then make the run's session once: a new one without a thread
        id; the one a thread id names when ADK does not have it yet (one it has answers 409
        and is used)."""
        await self._check_tools(request, send)
        app, user = request.agent, self._user(request)
        if (app, user, request.thread_id or "") in self._sessions:
            return request
        path = _sessions_path(app, user)
        body: _Obj = {"sessionId": request.thread_id} if request.thread_id else {}
        try:
            created = await send(HttpRequest("POST", path, json=body))
        except HTTPStatusError as exc:
            if exc.status_code != 409 or not request.thread_id:
                raise
            created = {"id": request.thread_id}
        session_id = first_str(as_dict(created) or {}, "id")
        if not session_id:
            raise ProtocolError(
                f"{self.named}: POST {path} answered without a session id: {quoted(created)}"
            )
        self._sessions.add((app, user, session_id))
        return request.model_copy(update={"thread_id": session_id})

    async def _check_tools(self, request: RunRequest, send: SendJson) -> None:
        """A notebook function answers only a long-running function tool of its name that
        the agent declares; one that is no such tool would be sent and never called, so it
        is refused before any request, naming the agent's long-running tools. ADK says what
        the agent's tools are at ``GET /apps/{app}/app-info``; a server that does not (an
        older ADK, a root agent that is no ``LlmAgent``) leaves them unchecked."""
        functions = [tool.name for tool in request.tools if tool.function is not None]
        if not functions:
            return
        app = request.agent
        if app not in self._apps:
            self._apps[app] = await _app_tools(app, send)
        tools = self._apps[app]
        if tools is None:
            return
        for name in functions:
            if name in tools.long_running:
                continue
            answers = ", ".join(sorted(tools.long_running)) or "none"
            problem = (
                f"runs its tool {name!r} itself (it is not long-running)"
                if name in tools.declared
                else f"declares no tool {name!r}"
            )
            raise ConfigurationError(
                f"{self.named}: agent {app!r} {problem}, so ADK would never call the "
                f"notebook's {name}; its long-running tools, which a notebook function "
                f"answers: {answers} (an ADK LongRunningFunctionTool of the same name)"
            )

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        return self._run(request, {"role": "user", "parts": [{"text": request.message}]})

    def _run(self, request: RunRequest, message: _Obj) -> HttpRequest:
        """The one ``/run_sse`` body: the question, or the decisions that resume it."""
        body: _Obj = {
            "appName": request.agent,
            "userId": self._user(request),
            "sessionId": request.thread_id,
            "newMessage": message,
            "streaming": True,
        }
        if request.metadata:
            body["customMetadata"] = dict(request.metadata)
        return HttpRequest("POST", "/run_sse", json=request.with_extra(body))

    def translator(self, request: RunRequest) -> Translator:
        return ADKTranslator(request.thread_id)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest | None:
        """The decisions as the responses of ADK's confirmation calls, on the same session."""
        if not isinstance(translator, ADKTranslator):
            return None
        parts = []
        for decision in decisions:
            confirmation_id = translator.awaiting.pop(decision.call_id, None)
            if confirmation_id is None:
                continue
            if not decision.approved:
                translator.denied.add(decision.call_id)
            parts.append(_answer(confirmation_id, CONFIRMATION, {"confirmed": decision.approved}))
        if not parts or translator.awaiting:
            return None
        return self._run(request, {"role": "user", "parts": parts})

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest | None:
        """The notebook's results as the responses of the long-running calls ADK paused the
        run on, on the same session: ADK resumes the run with them."""
        if not isinstance(translator, ADKTranslator):
            return None
        translator.next_step()
        return self._run(request, {"role": "user", "parts": [_result(r) for r in results]})

    def list_agents_request(self) -> HttpRequest | None:
        return HttpRequest("GET", "/list-apps")

    def parse_agents(self, body: Any) -> list[RemoteAgent]:
        return [RemoteAgent(name=app) for app in str_list(body)]
