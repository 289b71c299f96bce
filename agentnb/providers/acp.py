"""The Agent Client Protocol (ACP): Claude Code, Codex, Gemini CLI, Goose and every agent that
speaks JSON-RPC 2.0 on its own process's stdio (agentclientprotocol.com; the wire as the
official ``agent-client-protocol`` SDK's schema defines it).

The agent is not reached over HTTP: its command is the connection's address, and the ACP
transport (:mod:`agentnb._client.acp_transport`, the official SDK's connection) runs it. Its
requests are not HTTP requests:

- an :class:`~agentnb.providers.RpcCall` is a JSON-RPC request: its method (``initialize``,
  ``session/new``, ``session/load``, ``session/prompt``, ``session/set_config_option``,
  ``session/list``...) and params; a prompt's answer is the turn's frames, any other
  request's is its result; a ``session/load`` with ``replay`` is sent even for a session
  open in the process (an import reads its replay); ``initialize`` without params is what
  the agent said of itself when it started;
- :class:`~agentnb.providers.RpcDecisions` are the person's decisions on the agent's requests
  of the turn (one answer each): the transport carries them out and reads the turn on.

The transport hands this dialect a turn as frames, each named by its ``event`` and carrying
JSON ``data``: ``update`` (a ``session/update``'s ``update``), ``permission`` (a
``session/request_permission``), ``file`` (an ``fs/*`` request, or a ``terminal/create``
when the connection offers terminals: ``ask``, ``refused``, ``old_text`` as the transport
judged it, ``permitted_by`` for a write a person approved on the agent's own permission
card, made without asking again: :meth:`AcpTranslator.permits`), both naming the request by
``ticket`` (the client's own name for it, the card's approval id, and a file card's call id),
``method``, ``digest`` and ``params``, as a decision
(:class:`~agentnb.providers.RpcDecisions`) names it back; ``file_done`` (its answer, by
``ticket``: ``output`` or ``error``), ``end`` (the prompt's result: ``stopReason``,
``usage``), ``error`` (the prompt's JSON-RPC error, with the transport's ``advice``; a
protocol error of the agent's) and
``exited`` (the agent's process ended mid-turn, or its WebSocket closed: ``status``,
``stderr``, ``over``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ConfigurationError, ProtocolError
from .._core.pricing import sane_cost, sane_count, shown_number
from .._core.request import RunRequest
from .._core.run import fresh_id
from .._core.statuses import DENIED
from .._core.text import excerpt
from .._core.transcript import CardArguments
from .._core.version import __version__
from ..events import (
    CustomEvent,
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallProgress,
    ToolCallStarted,
    Usage,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._acp_calls import AcpCall, block_text, output_of, shell_line, shown_diff
from ._acp_session import (
    SessionState,
    check_config,
    options_of,
    plan_of,
    prompt_blocks,
    resolve_config,
    set_setting,
)
from ._base import Provider, RemoteAgent, RpcCall, RpcDecisions, RunRef, Translator
from ._frames import as_dict, parse_json
from ._frames import unknown as keep_unknown

__all__ = [
    "PROTOCOL_VERSION",
    "Acp",
    "AcpTranslator",
    "answer_to_permission",
    "shown_diff",
]

PROTOCOL_VERSION = 1
"""The ACP version agentnb speaks (the schema's ``PROTOCOL_VERSION``)."""

READS_FOR_RUN = "reads of the working directory"
_PERMISSION = "session/request_permission"
"""What approving one ``fs/read_text_file`` "for this run" allows: the turn's other reads."""

_FINISH = {"end_turn": "stop", "max_tokens": "max_tokens", "max_turn_requests": "max_turns"}
MAX_SESSIONS = 256
"""The most sessions whose settings, commands and plan a connection keeps."""
MAX_REPLAYED = 100_000
"""The most updates a loaded session's replay is read to (an import's turns)."""
OPTION_CHARS = 160
"""Characters of an agent's permission option's name a choice shows."""
_SILENT_UPDATES = frozenset({"user_message_chunk"})
"""Updates a turn has no use for: the agent echoing the prompt, a loaded session's replay."""
_STATE_UPDATES = frozenset(
    {
        "available_commands_update",
        "current_mode_update",
        "config_option_update",
        "session_info_update",
        "plan_update",
        "plan_removed",
    }
)
"""Updates about the session, kept as custom events (shown nowhere, never dropped)."""


def answer_to_permission(options: Sequence[Mapping[str, Any]], decision: ApprovalDecision) -> Any:
    """The ``session/request_permission`` result a decision chooses: the agent's option of the
    kind the decision means (``allow_always`` for an approval for the run, else
    ``allow_once``; ``reject_once``, else ``reject_always``, for a denial); ``cancelled`` when
    the agent offered none that fits. An approval of one call never chooses ``allow_always``:
    the agent would not ask again, and the person did not say so."""
    if decision.approved:
        kinds = ("allow_always", "allow_once") if decision.for_run else ("allow_once",)
    else:
        kinds = ("reject_once", "reject_always")
    for kind in kinds:
        for option in options:
            if option.get("kind") == kind and isinstance(option.get("optionId"), str):
                return {"outcome": {"outcome": "selected", "optionId": option["optionId"]}}
    return {"outcome": {"outcome": "cancelled"}}


def _option_words(option: Mapping[str, Any]) -> str:
    """A permission option as the agent names it, for the choice that picks it: the agent
    decides what "always" covers (Codex amends its command policy, "don't ask again for
    commands that start with …"), so the choice says the agent's words, made visible and
    bounded, not agentnb's "Allow for this run"."""
    name = option.get("name")
    if not isinstance(name, str) or not name.strip():
        return "Allow always (the agent's option, which it does not name)"
    return excerpt(name, OPTION_CHARS, marked=True)


def _asked_of(data: Mapping[str, Any], options: list[dict[str, Any]]) -> _Asked | None:
    """The request a frame names (its ticket, method and digest); None: it names none."""
    named = [data.get("ticket"), data.get("method"), data.get("digest")]
    if not all(isinstance(n, str) and n for n in named):
        return None
    ticket, method, digest = map(str, named)
    return _Asked(ticket, method, digest, options)


def _answer(asked: _Asked, decision: ApprovalDecision) -> dict[str, Any]:
    """A decision as the transport carries it out: naming the request its card asked about
    (its ticket, method and digest), for a permission with the option it chooses."""
    answer: dict[str, Any] = {
        "ticket": asked.ticket,
        "method": asked.method,
        "digest": asked.digest,
        "approved": decision.approved,
        "reason": decision.reason,
    }
    if asked.method == _PERMISSION:
        answer["outcome"] = answer_to_permission(asked.options, decision)
    return answer


def _terminal_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """A ``terminal/create`` as the card shows it: everything that decides what runs, the
    command line, where it runs and the environment it adds (``BASH_ENV`` runs a file)."""
    args = params.get("args") or []
    words = [str(params.get("command")), *(str(a) for a in args if isinstance(a, str))]
    arguments: dict[str, Any] = {"command": shell_line(words)}
    if params.get("cwd") is not None:
        arguments["cwd"] = params["cwd"]
    env = params.get("env")
    if env:  # well formed (the transport refuses any other before it is shown)
        arguments["env"] = {v.get("name"): v.get("value") for v in env if isinstance(v, dict)}
    return arguments


def _file_arguments(method: str, params: Mapping[str, Any], old: Any) -> tuple[str, dict[str, Any]]:
    """A client request (``fs/*``, ``terminal/create``) as its card shows it: its name and
    arguments (a write's diff against the file as it is)."""
    if method == "terminal/create":
        return "terminal", CardArguments(_terminal_arguments(params))
    arguments: dict[str, Any] = {"path": params.get("path")}
    arguments |= {key: params[key] for key in ("line", "limit") if params.get(key) is not None}
    if method == "fs/write_text_file":
        new = params.get("content")
        arguments["diff"] = shown_diff(
            str(params.get("path")),
            old if isinstance(old, str) else None,
            new if isinstance(new, str) else "",
        )
    return method.rsplit("/", 1)[-1], CardArguments(arguments)


def _usage(result: Mapping[str, Any], cost: float | None, refused: list[str]) -> Usage | None:
    """The turn's usage, by the figures' one rule (:func:`~agentnb._core.pricing.sane_count`,
    as every dialect's and the history's): a figure outside it is noted in ``refused``."""
    usage = as_dict(result.get("usage")) or {}

    def count(key: str) -> int | None:
        value = usage.get(key)
        sane = sane_count(value)
        if sane is None and isinstance(value, int | float) and not isinstance(value, bool):
            refused.append(f"{key}={shown_number(value)}")
        return sane

    figures = {
        "prompt_tokens": count("inputTokens"),
        "completion_tokens": count("outputTokens"),
        "total_tokens": count("totalTokens"),
        "cached_tokens": count("cachedReadTokens"),
        "reasoning_tokens": count("thoughtTokens"),
        "cost": cost,
    }
    known: dict[str, Any] = {name: value for name, value in figures.items() if value is not None}
    if refused:
        known["refused"] = ", ".join(refused)
    return Usage(**known) if known else None


class _Asked(NamedTuple):
    """A request of the agent's that a card asks about, as its frame named it: the decision
    goes back naming the same (the transport carries it out only on that request)."""

    ticket: str
    method: str
    digest: str
    options: list[dict[str, Any]]
    """A permission's options (none for a file or terminal request)."""


class AcpTranslator(Translator):
    """One turn's frames (see the module) as events."""

    def __init__(self, provider: Acp, session_id: str | None, *, started: bool = False) -> None:
        self._provider = provider
        self.session_id = session_id
        self.run_id = f"{session_id}:{fresh_id()[:12]}"
        """ACP names no turn: agentnb names it in its session, so a Stop reaches it
        (:meth:`Acp.cancel_request`) however early it comes."""
        self._calls: dict[str, AcpCall] = {}
        self._writes: dict[str, str] = {}
        """Each write the transport made unasked, by its ticket: the call whose approved
        proposal it is (its card is the write's)."""
        self.asked: dict[str, list[_Asked]] = {}
        """Each call awaiting a decision: the requests its card asks about (one, unless the
        agent asked about its call again before the decision: then none is approved)."""
        self.denied: set[str] = set()
        """Calls a decision denied: the agent's report that they failed is the denial."""
        self._after_denial = False
        """Nothing but a denial happened since the turn last said or did something."""
        self._message: Any = None
        """The message being said (its ``messageId``)."""
        self._broken = False
        """A tool call came since the agent last said something: its next words are another
        message."""
        self._tail = ""
        """The last characters of what the agent said."""
        self._cost_before: float | None = None  # the session's cost when the turn began
        self._cost_now: float | None = None
        self._refused: list[str] = []
        """Figures the agent reported outside the sane range (never the run's)."""
        self._started = started
        """Whether the run's start was told (a replayed turn's is its own, not this one's)."""

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        """The run's start, as the transport hands the turn over (the prompt sent): told
        while the agent works on its first words, not with them."""
        return self._start()

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        data = as_dict(parse_json(sse.data))
        if data is None:
            return [keep_unknown(sse)]
        handler = self._HANDLERS.get(sse.event)
        events = handler(self, data) if handler is not None else None
        if events is None:
            return [keep_unknown(sse)]
        return [*self._start(), *events] if not self._started else events

    def _start(self) -> list[Event]:
        """:class:`RunStarted` with the session's settings in effect, once (none for a
        replayed turn, whose start is its own)."""
        if self._started:
            return []
        self._started = True
        state = self._provider.sessions.get(self.session_id or "") or SessionState()
        started = RunStarted(
            run_id=self.run_id,
            thread_id=self.session_id,
            model=state.current("model"),
            extras={"mode": state.current("mode"), "config": state.in_effect() or None},
        )
        return [started]

    # ---- frames ----------------------------------------------------------------------------
    def _on_update(self, update: dict[str, Any]) -> list[Event] | None:
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":
            text = block_text(update.get("content"))
            return None if text is None else self._said(text, update.get("messageId"))
        if kind == "agent_thought_chunk":
            text = block_text(update.get("content"))
            return None if text is None else [reasoning_delta(text)]
        if kind in ("tool_call", "tool_call_update"):
            return self._tool_call(update)
        if kind == "plan":
            return [CustomEvent(name="plan", value=plan_of(update.get("entries")))]
        if kind == "usage_update":
            return self._usage_update(update)
        if kind in _SILENT_UPDATES:
            return []
        if kind in _STATE_UPDATES:
            return [CustomEvent(name=str(kind), value=update)]
        return None

    def _said(self, text: str, message_id: Any) -> list[Event]:
        """A chunk of the agent's message; one of another message (another ``messageId``,
        after a tool call, or, from an agent that names no message, one that starts a
        sentence straight after the last one ended, as Codex's notices are sent whole
        before its answer) starts a paragraph of its own, not glued to the last."""
        if not text:
            return []
        self._after_denial = False
        glued = message_id is None and self._tail.endswith((".", "!", "?")) and text[0].isupper()
        new = self._tail and (self._broken or glued or message_id not in (None, self._message))
        self._message, self._broken = message_id, False
        if new and not self._tail.endswith("\n\n"):
            text = ("\n" if self._tail.endswith("\n") else "\n\n") + text.lstrip("\n")
        self._tail = (self._tail + text)[-2:]
        return [text_delta(text)]

    def _tool_call(self, update: dict[str, Any]) -> list[Event] | None:
        call_id = update.get("toolCallId")
        if not isinstance(call_id, str) or not call_id:
            return None
        self._broken = True
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = AcpCall()
            call.merge(update)
            self._after_denial = False
            return [ToolCallStarted(call_id=call_id, name=call.name, arguments=call.arguments())]
        events = self._re_announced(call_id, call, update)
        status = update.get("status")
        if status == "failed" and call_id in self.denied:
            call.finished = True  # the run shows the call denied, as decided
        if status in ("completed", "failed") and not call.finished:
            call.finished = True
            output = output_of(update)
            error = (
                (str(output) if output else "the tool call failed") if status == "failed" else None
            )
            events.append(
                ToolCallFinished(call_id=call_id, output=None if error else output, error=error)
            )
        elif call.running and not call.finished and (output := output_of(update)) is not None:
            events.append(ToolCallProgress(call_id=call_id, output=output))
        return events

    def _re_announced(self, call_id: str, call: AcpCall, update: dict[str, Any]) -> list[Event]:
        """An update of a known call: its new fields. Before a decision is asked, more or
        other words are a new version of the call (the card asks about the last); once it
        was shown for a decision, only another command, cwd, path or diff is reported (the
        run then flags it), not the agent's other bookkeeping."""
        before = call.arguments()
        call.merge(update)
        after = call.arguments()
        if after == before:
            return []
        if call.asked_action is not None and call.action() == call.asked_action:
            return []
        return [ToolCallStarted(call_id=call_id, name=call.name, arguments=after)]

    def decided(self, decision: ApprovalDecision) -> None:
        """A decision goes to the agent: a denial is the person's, and the turn that stops
        right after it ends as they decided (:data:`DENIED`)."""
        if not decision.approved:
            self.denied.add(decision.call_id)
        self._after_denial = not decision.approved

    def permits(self, call_id: str) -> list[dict[str, Any]]:
        """The writes an approval of ``call_id`` approves: its card's diffs."""
        call = self._calls.get(call_id)
        return call.permits(call_id) if call is not None else []

    def _usage_update(self, update: dict[str, Any]) -> list[Event]:
        cost = as_dict(update.get("cost"))
        claimed = cost.get("amount") if cost else None
        amount = sane_cost(claimed)  # the one rule for a cost, the history's too
        if cost and cost.get("currency") == "USD" and amount is not None:
            if self._cost_before is None:
                self._cost_before = self._provider.session_costs.get(self.session_id or "", 0.0)
            self._cost_now = amount
        elif claimed is not None and amount is None:
            self._refused.append(f"cost={shown_number(claimed)}")
        return [CustomEvent(name="usage_update", value=update)]

    def _on_permission(self, data: dict[str, Any]) -> list[Event] | None:
        params = as_dict(data.get("params")) or {}
        update = as_dict(params.get("toolCall")) or {}
        call_id = update.get("toolCallId")
        options = [o for o in params.get("options") or [] if isinstance(o, dict)]
        asked = _asked_of(data, options)
        if not isinstance(call_id, str) or asked is None:
            return None
        self._broken = True
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = AcpCall()
        call.merge(update, proposal=True)  # the request's fields are the call it asks about
        call.asked_action = call.action()
        self.asked.setdefault(call_id, []).append(asked)
        always = next((o for o in options if o.get("kind") == "allow_always"), None)
        question = call.question()
        return [
            ToolApprovalRequested(
                call_id=call_id,
                approval_id=asked.ticket,
                reason=question,
                name=call.name,
                arguments=call.arguments(),
                for_run=f"{question or call.name}, for the rest of the ACP session"
                if always
                else None,
                agent_option=_option_words(always) if always else None,
            ),
            RunPaused(reason="the agent asks permission"),
        ]

    def _on_file(self, data: dict[str, Any]) -> list[Event] | None:
        params = as_dict(data.get("params")) or {}
        asked = _asked_of(data, [])
        if asked is None:
            return None
        self._broken = True
        permitted = data.get("permitted_by")
        if isinstance(permitted, str) and permitted in self._calls:
            self._writes[asked.ticket] = permitted  # the write its approved card showed
            return [ToolCallProgress(call_id=permitted, output=f"writing {params.get('path')}")]
        call_id, method = asked.ticket, asked.method  # the ticket: no agent's call id is it
        name, arguments = _file_arguments(method, params, data.get("old_text"))
        self._calls[call_id] = AcpCall(arguments, name)
        events: list[Event] = [ToolCallStarted(call_id=call_id, name=name, arguments=arguments)]
        if isinstance(data.get("refused"), str):
            self._calls[call_id].finished = True
            return [*events, ToolCallFinished(call_id=call_id, error=data["refused"])]
        if data.get("ask"):
            self.asked.setdefault(call_id, []).append(asked)
            reads = method == "fs/read_text_file"
            events += [
                ToolApprovalRequested(
                    call_id=call_id,
                    approval_id=asked.ticket,
                    name=name,
                    arguments=arguments,
                    for_run=READS_FOR_RUN if reads else None,
                ),
                RunPaused(reason=f"the agent asks to {name.replace('_', ' ')}"),
            ]
        return events

    def _on_file_done(self, data: dict[str, Any]) -> list[Event] | None:
        call_id = data.get("ticket")
        error = data.get("error")
        if isinstance(call_id, str) and (permitted := self._writes.pop(call_id, None)):
            said = f"the write failed: {error}" if isinstance(error, str) else data.get("output")
            return [ToolCallProgress(call_id=permitted, output=said)]
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None or call.finished:
            return []
        call.finished = True
        if isinstance(error, str):
            return [ToolCallFinished(call_id=call_id, error=error)]
        return [ToolCallFinished(call_id=call_id, output=data.get("output"))]

    def _on_end(self, result: dict[str, Any]) -> list[Event]:
        self.done = True
        cost = None
        if self._cost_now is not None and self._cost_before is not None:
            self._provider.session_costs[self.session_id or ""] = self._cost_now
            cost = sane_cost(max(0.0, self._cost_now - self._cost_before))
        reason = result.get("stopReason")
        if reason == "refusal":
            return [RunFailed(message="the agent refused to go on", code="refusal")]
        if self._after_denial and reason in ("cancelled", "end_turn"):
            reason = DENIED  # it stopped because it was told no: the turn went as decided
        elif reason == "cancelled":
            return [RunFailed(message="the agent cancelled the turn", code="cancelled")]
        return [
            RunCompleted(
                usage=_usage(result, cost, list(self._refused)),
                finish_reason=_FINISH.get(str(reason), str(reason) if reason else None),
            )
        ]

    def _on_error(self, error: dict[str, Any]) -> list[Event]:
        self.done = True
        message = str(error.get("message") or "the agent answered the prompt with an error")
        detail = error.get("data")
        if detail not in (None, "", {}):
            message = f"{message}: {detail}"
        if isinstance(error.get("advice"), str):
            message = f"{message}. {error['advice']}"
        code = error.get("code")
        return [RunFailed(message=message, code=None if code is None else str(code))]

    def _on_exited(self, data: dict[str, Any]) -> list[Event]:
        self.done = True
        status, stderr = data.get("status"), data.get("stderr")
        if data.get("over") == "WebSocket":
            message = f"the agent's WebSocket closed mid-turn (close code {status})"
        else:
            tail = f"; the end of its stderr:\n{stderr}" if stderr else " (its stderr was empty)"
            message = f"the agent's process exited mid-turn with status {status}{tail}"
        return [RunFailed(message=message, code="agent_exited")]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "update": _on_update,
        "permission": _on_permission,
        "file": _on_file,
        "file_done": _on_file_done,
        "end": _on_end,
        "error": _on_error,
        "exited": _on_exited,
    }
    """What each frame (its SSE event name) is translated by."""


class Acp(Provider):
    """An ACP agent run as a process (see the module). A connection runs one agent, named by
    what its ``initialize`` says (and by the connection's name)."""

    name: ClassVar[str] = "acp"
    title: ClassVar[str] = "ACP agent"
    wire = "acp"
    resume_mode = "none"
    supports_approvals: ClassVar[bool] = True
    serves_one_agent: ClassVar[bool] = True
    context_by_mcp: ClassVar[bool] = True
    session_controls: ClassVar[bool] = True
    carries: ClassVar[frozenset[str] | None] = frozenset({"metadata", "config", "media"})
    """``metadata`` goes in the prompt's ``_meta`` (``{"agentnb": {"metadata": ...}}``),
    ACP's place for what a client attaches; ``media`` goes as the prompt's ``image``,
    ``resource`` and ``resource_link`` blocks as the agent takes them (:func:`prompt_blocks`);
    ``config`` (the model, the mode, the effort...)
    sets the session's settings before the prompt (``session/set_config_option``); sampling
    settings have no field."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.info: dict[str, Any] = {}
        """What the agent's ``initialize`` answered (its ``agentInfo``, capabilities)."""
        self.sessions: dict[str, SessionState] = {}
        """Each session's settings, commands and plan, as its agent reported them."""
        self.latest: str | None = None
        """The session opened last: the one :meth:`latest_session` describes."""
        self.spare: str | None = None
        """A session opened to read its settings and not used yet: the next new thread's,
        when it asks for no MCP servers."""
        self.watchers: list[weakref.WeakMethod[Callable[[str], None]]] = []
        """Told (on the loop) of each session whose settings, commands or plan changed: a
        chat cell's controls (:meth:`watch`)."""
        self.replaying: dict[str, list[dict[str, Any]]] = {}
        """The updates a ``session/load`` replays, by session, while :meth:`replay` reads
        them."""
        self.config: dict[str, str | bool] = {}
        """The settings every session is given (``agentnb.connect(..., config={...})``);
        a run's own ``config=`` goes over them."""
        self.session_costs: dict[str, float] = {}
        """Each session's cumulative cost (USD) as its agent reported it at a turn's end: a
        turn costs what the agent reports past it (``usage_update``'s ``cost``)."""

    async def discover(self, send: Any) -> None:
        answer = await send(RpcCall("initialize", self.initialize_params()))
        self.info = answer if isinstance(answer, dict) else {}

    def configure(self, config: object) -> None:
        """The settings every session is given (``connect``'s ``config=``), checked."""
        self.config = check_config(config, "connect's")

    def observe(self, session_id: str, update: Mapping[str, Any]) -> None:
        """A ``session/update`` of ``session_id``, in or out of a turn: the session's
        settings, commands and plan kept current."""
        replay = self.replaying.get(session_id)
        if replay is not None and len(replay) < MAX_REPLAYED:
            replay.append(dict(update))
        state = self.sessions.get(session_id)
        if state is None:
            if update.get("sessionUpdate") not in _STATE_UPDATES | {"plan"}:
                return
            state = self.session_state(session_id)
        if state.update(update):
            self.changed(session_id)

    def session_state(self, session_id: str) -> SessionState:
        """The state kept of ``session_id`` (new: an empty one); the oldest go past
        :data:`MAX_SESSIONS` (a batch opens a session a run)."""
        state = self.sessions.get(session_id)
        if state is None:
            state = self.sessions[session_id] = SessionState()
            while len(self.sessions) > MAX_SESSIONS:
                oldest = next(iter(self.sessions))
                if oldest == self.latest:  # kept: the one conn.config_options reads
                    self.sessions[oldest] = self.sessions.pop(oldest)
                    oldest = next(iter(self.sessions))
                del self.sessions[oldest]
        return state

    def watch(self, changed: Callable[[str], None]) -> None:
        """Call the bound method ``changed(session_id)`` when a session's settings, commands
        or plan change (held weakly: a closed chat cell's goes)."""
        self.watchers.append(weakref.WeakMethod(changed))

    def changed(self, session_id: str) -> None:
        self.watchers = [w for w in self.watchers if w() is not None]
        for watcher in self.watchers:
            if (told := watcher()) is not None:
                told(session_id)

    def initialize_params(self) -> dict[str, Any]:
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "clientCapabilities": {
                "fs": {"readTextFile": True, "writeTextFile": True},
                "terminal": False,  # the transport offers it when the person opts in
            },
            "clientInfo": {"name": "agentnb", "title": "agentnb", "version": __version__},
        }

    async def prepare(self, request: RunRequest, send: Any) -> RunRequest:
        """A new thread opens a session (``session/new``); a thread continued is the same
        session, loaded first when this process did not open it (``session/load``)."""
        params: dict[str, Any] = {"mcpServers": self.mcp_servers(request)}
        if request.thread_id:
            session_id = request.thread_id
            loaded = await send(RpcCall("session/load", {**params, "sessionId": session_id}))
            self._opened(session_id, as_dict(loaded) or {})
            await self._configure(session_id, request, send)
            return request
        spare, self.spare = self.spare, None
        if spare is not None and not params["mcpServers"]:
            session_id = spare
        else:
            session_id = await self._new_session(params, send)
        await self._configure(session_id, request, send)
        return request.model_copy(update={"thread_id": session_id})

    async def _new_session(self, params: dict[str, Any], send: Any) -> str:
        opened = await send(RpcCall("session/new", params))
        session = as_dict(opened) or {}
        session_id = session.get("sessionId")
        if not isinstance(session_id, str) or not session_id:
            raise ProtocolError(f"{self.named} answered session/new without a sessionId")
        self._opened(session_id, session)
        return session_id

    def _opened(self, session_id: str, answer: Mapping[str, Any]) -> SessionState:
        """The session's state, with the settings its opening answer offers."""
        state = self.session_state(session_id)
        # a session open in the agent's process answers its load with nothing to read
        if answer and ((options := options_of(answer)) or "configOptions" in answer):
            state.options = options
        self.latest = session_id
        self.changed(session_id)
        return state

    def process_ended(self) -> None:
        """The agent's process ended: a session opened to read its settings is gone too."""
        self.spare = None

    def offers(self, capability: str) -> bool:
        """Whether the agent's ``initialize`` offers ``loadSession``, or ``list`` (its
        ``sessionCapabilities``)."""
        capabilities = as_dict(self.info.get("agentCapabilities")) or {}
        sessions = as_dict(capabilities.get("sessionCapabilities")) or {}
        return bool(capabilities.get(capability)) or sessions.get(capability) is not None

    async def replay(self, session_id: str, send: Any) -> list[dict[str, Any]]:
        """The updates the agent replays loading its past session ``session_id``
        (``session/load`` with ``replay``: the transport loads it even when it is
        open in the agent's process; at most :data:`MAX_REPLAYED`)."""
        self.replaying[session_id] = []
        try:
            loaded = await send(
                RpcCall("session/load", {"mcpServers": [], "sessionId": session_id}, replay=True)
            )
            self._opened(session_id, as_dict(loaded) or {})
            return self.replaying[session_id]
        finally:
            self.replaying.pop(session_id, None)

    async def latest_session(self, send: Any) -> SessionState:
        """The state of the session opened last; with none yet, one is opened (no MCP
        servers) to read, and kept for the next new thread."""
        if self.latest is None or self.latest not in self.sessions:
            self.spare = await self._new_session({"mcpServers": []}, send)
        return self.sessions[self.latest or ""]

    async def _configure(self, session_id: str, request: RunRequest, send: Any) -> None:
        """Set the session's settings the connection and the run ask for, before the
        prompt; a value the agent does not offer fails here, naming what it offers."""
        wanted = {**self.config, **request.config}
        if not wanted:
            return
        state = self.session_state(session_id)
        for option, value in resolve_config(state.options, wanted, self.named):
            await set_setting(state, session_id, option, value, send)
            self.changed(session_id)

    def mcp_servers(self, request: RunRequest) -> list[dict[str, Any]]:
        """The MCP servers ``session/new`` (or ``session/load``) hands the agent: those given
        as ``extra={"mcpServers": [...]}``, in ACP's shape (``{"type": "http", "name",
        "url", "headers": []}``, or a stdio server's ``{"name", "command", "args", "env"}``).
        The seam for the notebook as an MCP server (``context=True``): it goes here too."""
        given = request.extra.get("mcpServers", [])
        if not isinstance(given, list) or not all(isinstance(s, dict) for s in given):
            raise ConfigurationError(
                'extra={"mcpServers": [...]} is a list of MCP servers as ACP describes them, '
                'such as {"type": "http", "name": "docs", "url": "...", "headers": []}'
            )
        return [dict(server) for server in given]

    def stream_http_request(self, request: RunRequest) -> RpcCall:
        taken = as_dict(
            (as_dict(self.info.get("agentCapabilities")) or {}).get("promptCapabilities")
        )
        prompt = prompt_blocks(request, taken or {})
        params: dict[str, Any] = {"sessionId": request.thread_id, "prompt": prompt}
        if request.metadata:
            params["_meta"] = {"agentnb": {"metadata": dict(request.metadata)}}
        if "mcpServers" in request.extra:  # session/new's, not the prompt's
            extra = {k: v for k, v in request.extra.items() if k != "mcpServers"}
            request = request.model_copy(update={"extra": extra})
        return RpcCall("session/prompt", request.with_extra(params))

    def translator(self, request: RunRequest) -> Translator:
        return AcpTranslator(self, request.thread_id)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> RpcDecisions | None:
        assert isinstance(translator, AcpTranslator)
        answers: list[dict[str, Any]] = []
        for decision in decisions:
            asked = translator.asked.pop(decision.call_id, [])
            if len(asked) > 1:  # one card, two requests: the gate denies it; never approved
                decision = ApprovalDecision(decision.call_id, False, "asked about twice")
            if asked:
                translator.decided(decision)
            answers += [_answer(one, decision) for one in asked]
            if decision.approved and len(asked) == 1 and asked[0].method == _PERMISSION:
                answers[-1]["permits"] = translator.permits(decision.call_id)
        return RpcDecisions(request.thread_id, answers)

    def cancel_request(self, ref: RunRef) -> RpcCall | None:
        """``session/cancel`` of the run's session (the transport answers the turn's waiting
        requests ``cancelled`` and ends an agent that goes on past its grace)."""
        if not ref.thread_id:
            return None
        return RpcCall("session/cancel", {"sessionId": ref.thread_id})

    def cannot_fork(self, thread_id: str | None) -> str | None:
        return f"{self.named} keeps the session in its process and cannot branch it"

    def list_agents_request(self) -> RpcCall | None:
        return RpcCall("initialize")  # the agent as it introduced itself

    def parse_agents(self, body: object) -> list[RemoteAgent]:
        info = as_dict((as_dict(body) or {}).get("agentInfo")) or {}
        name = info.get("name")
        if not isinstance(name, str) or not name:
            return []
        version = info.get("version")
        return [
            RemoteAgent(
                name=name,
                title=info.get("title") if isinstance(info.get("title"), str) else None,
                description=f"version {version}" if isinstance(version, str) else None,
                raw=info,
            )
        ]
