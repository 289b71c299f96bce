"""`Run`: folds a run's events into its state. The one source of truth that the widget, the
history store and callers read."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    StateDelta,
    StateSnapshot,
    StepReset,
    StepStarted,
    TextDelta,
    ToolApprovalResponded,
    ToolCallFinished,
    ToolCallProgress,
    UnknownEvent,
    Usage,
)
from .call_fold import CallEvent, CallFold
from .json_size import json_size
from .pricing import CostSource, RunCost, price_run, prices_generation, refused_figures, usd
from .run_error import TOO_LARGE, RunErrorInfo
from .short_repr import as_html, one_line
from .state import AgentState, PatchTooLarge, PatchTooMuchWork, patch_work
from .text import counted, seconds
from .transcript import CallVersion, Part, ToolApproval, ToolCall, ToolStatus
from .warning import warn

__all__ = [
    "DEFAULT_MAX_RUN_MIB",
    "MAX_UNKNOWN_BYTES",
    "MAX_UNKNOWN_EVENTS",
    "MIB",
    "TOO_LARGE",
    "CallVersion",
    "Part",
    "Run",
    "RunErrorInfo",
    "RunStatus",
    "ToolApproval",
    "ToolCall",
    "ToolStatus",
]

RunStatus = Literal[
    "pending", "running", "paused", "completed", "failed", "cancelled", "interrupted"
]
"""``paused``: the platform waits for a human decision on tool calls awaiting approval (not an
end: the run goes on once they are decided)."""
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "interrupted"})
MAX_UNKNOWN_EVENTS = 1000
"""A run keeps at most this many frames its dialect did not recognise (the rest are counted)."""
MAX_UNKNOWN_BYTES = 1024 * 1024
"""... and at most this many characters of their data in all."""
DEFAULT_MAX_RUN_MIB = 16.0
"""What one run may keep, in MiB (``max_run_mib``): a batch runs 8 at once, so 128 MiB of
runs at most, about 256 MiB of the process with the views' copies; 16 MiB of text is some
4 million tokens, past any model's longest answer."""
MIB = 1024 * 1024


PLAN_EVENT = "plan"
"""The custom event an agent's plan comes as (its value: the entries)."""

_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)  # a forked child draws ids of its own


def fresh_id() -> str:
    """A new random id of 32 hex digits, as unique as ``uuid.uuid4().hex``. Drawn from a
    generator of agentnb's own, seeded by the system: ``uuid4`` reads ``os.urandom``, which
    lets go of the GIL and costs a run a switch of threads (~10 µs of CPU) while agentnb's
    loop runs; a user's ``random.seed()`` does not touch these ids."""
    return f"{_IDS.getrandbits(128):032x}"


@dataclass(frozen=True)
class _StepMark:
    """Where the current step began: how many parts and tool calls there were, and how long
    the last part was (a step may begin inside a run of text)."""

    parts: int = 0
    last_length: int = 0
    tool_calls: int = 0


class OldExtraNames:
    """``mode``, ``config`` and ``plan``: a run's (and a history record's) own names for what
    is now in its :attr:`~Run.extras`, kept for a release; each warns and goes in 0.11."""

    __slots__ = ()
    extras: Any

    @property
    def mode(self) -> Any:
        """Deprecated: ``extras.get("mode")``."""
        return self._extra("mode")

    @property
    def config(self) -> Any:
        """Deprecated: ``extras.get("config")``."""
        return self._extra("config")

    @property
    def plan(self) -> Any:
        """Deprecated: ``extras.get("plan")``."""
        return self._extra("plan")

    def _extra(self, name: str) -> Any:
        kind = type(self).__name__
        said = f"{kind}.{name} is deprecated and goes in 0.11: use {kind}.extras.get({name!r})"
        warn(said, category=DeprecationWarning, stacklevel=3)
        return self.extras.get(name) if isinstance(self.extras, dict) else None


@dataclass
class Run(OldExtraNames):
    """The state of one agent run, built by :meth:`apply` from its events."""

    agent: str = ""
    message: str = ""
    """The message as sent (in a notebook, with its ``@name`` attachments' data block)."""
    typed: str | None = None
    """The message as the person wrote it, where the one sent differs (``@name``
    attachments added, ``@@`` written ``@``): what a retry or an edit sends again. None:
    :attr:`message` is what they wrote."""
    local_id: str = field(default_factory=fresh_id)
    """agentnb's own id for the run (the history's key); ``run_id`` is the platform's."""
    provider: str = ""
    connection: str = ""
    run_id: str | None = None
    thread_id: str | None = None
    status: RunStatus = "pending"
    parts: list[Part] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    model: str | None = None
    """The model that ran: as the stream named it, else as the request set it (None: unknown)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """What the run's dialect says of it beside what every run has, by name: an ACP
    session's ``mode``, its settings in effect by their id (``config``: model, mode,
    effort...) and its agent's last ``plan`` (entries with ``content``, ``status`` and
    ``priority``); the history keeps them (its ``extras`` column)."""
    imported: bool = False
    """A turn of the agent's own past session, imported (``conn.acp.import_session``), not
    run here."""
    requested_model: str | None = field(default=None, repr=False, compare=False)
    """The model as the request set it (the dialect says how), whatever the stream names."""
    execution_time: float | None = None
    followups: list[str] = field(default_factory=list)
    final_output: Any = None
    finish_reason: str | None = None
    """Why the model stopped, where the platform says (``stop``, ``length``, ``tool-calls``...)."""
    error: RunErrorInfo | None = None
    unknown_events: list[UnknownEvent] = field(default_factory=list)
    """Frames the dialect did not recognise, kept verbatim up to :data:`MAX_UNKNOWN_EVENTS`
    frames and :data:`MAX_UNKNOWN_BYTES` characters of data."""
    unknown_dropped: int = 0
    """Unrecognised frames past those caps: counted, not kept."""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    event_count: int = 0
    retries: int = 0
    resumes: int = 0
    step_resets: int = 0
    """How many times the platform discarded a step (:class:`~agentnb.events.StepReset`):
    parts may then be shorter than before, so a view that sends only what grew starts over."""
    forgotten_calls: int = 0
    """How many of its oldest tool calls the run no longer keeps (:meth:`forget_calls`: a
    run that goes on for hours, the notebook's MCP server's, keeps its latest ones)."""
    version: int = 0
    """Bumped on every change; observers compare it to skip work."""
    cancel_error: str | None = None
    """Why the platform could not be told to stop this cancelled run (its cancel request
    failed or went unanswered): the run ended here all the same, the agent may run on."""
    paused_seconds: float = 0.0
    """Seconds the run waited for a person (paused for approval or an answer), ended pauses
    only; :attr:`paused_time` adds a pause going on. Not the agent's time: :attr:`duration`,
    :attr:`ttft` and :attr:`tokens_per_second` leave it out."""
    paused_at: float | None = None
    """When the pause going on began (None: not paused)."""
    _paused_before_first_token: float = field(default=0.0, repr=False)
    _shared: AgentState = field(default_factory=AgentState, repr=False)
    _calls: CallFold = field(init=False, repr=False, compare=False)
    _unknown_size: int = field(default=0, repr=False)
    _step: _StepMark = field(default_factory=_StepMark, repr=False)
    _priced: tuple[Any, RunCost] | None = field(default=None, repr=False, compare=False)
    recorded_cost: RunCost | None = field(default=None, repr=False, compare=False)
    """For a run read back from the history: the cost it kept, as the run was priced then (a
    prompt cache's discount included, which the history keeps in the cost alone); the run
    is not priced again."""
    max_size: int | None = field(default=None, repr=False, compare=False)
    """How many characters (about bytes) of what the server sent the run may keep: answer,
    reasoning, tool calls, state, custom events, error (None: no bound), counted as kept
    (:func:`~agentnb._core.json_size.json_size`: a list or object costs bytes even empty; the
    state as it is after each delta, a delta past the bound refused unbuilt). Past it the run
    ends ``interrupted`` (error code :data:`TOO_LARGE`), keeping what it had, and folds
    nothing more; its stream raises :class:`~agentnb.RunTooLargeError`. It also bounds one
    delta's work (:func:`~agentnb._core.state.patch_work`): a delta past it ends the run so."""
    _size: int = field(default=0, repr=False, compare=False)
    _replaced: dict[tuple[str, str], int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._calls = CallFold(self.parts, self.tool_calls)

    def __repr__(self) -> str:
        """One line: the agent, status, time, answer length, calls (never the transcript:
        ``run.text``, ``run.parts`` and ``run.tool_calls`` hold it)."""
        return one_line("Run", self.agent, self.status, self._repr_facts())

    def _repr_html_(self) -> str:
        return as_html(repr(self), self.error.message if self.error is not None else self.text)

    def _repr_facts(self) -> list[str]:
        cost = self.cost
        return [
            seconds(self.duration),
            counted(len(self.text), "character"),
            counted(len(self.tool_calls), "tool call"),
            usd(cost) if cost is not None else "",
            f"error {self.error.code}" if self.error is not None and self.error.code else "",
            f"unknown_dropped={self.unknown_dropped}" if self.unknown_dropped else "",
        ]

    # ---- making one ------------------------------------------------------------------------
    @classmethod
    def new(
        cls,
        agent: str,
        message: str,
        *,
        thread_id: str | None,
        provider: str,
        connection: str,
        model: str | None,
        max_size: int | None,
        run_id: str | None = None,
        local_id: str | None = None,
        started_at: float | None = None,
    ) -> Run:
        """A run of a request, not started yet: what the client's one door
        (``AsyncAgentClient._open``) streams, ``model`` as the request set it (the dialect
        says how), ``run_id`` the platform's run it attaches to, ``local_id`` and
        ``started_at`` those of the run it goes on with (None: its own)."""
        run = cls(
            agent=agent,
            message=message,
            provider=provider,
            connection=connection,
            thread_id=thread_id,
            run_id=run_id,
            model=model,
            requested_model=model,
            max_size=max_size,
        )
        if local_id is not None:
            run.local_id = local_id
        run.started_at = started_at
        return run

    def as_started(self) -> Run:
        """What this run shows before its events: its question, running (a chat cell's
        static copy of a run still going). It reads only the fields set before the run
        started, so it may be called off the loop that is changing the rest."""
        return Run(
            agent=self.agent,
            message=self.message,
            typed=self.typed,
            local_id=self.local_id,
            provider=self.provider,
            connection=self.connection,
            status="running",
            created_at=self.created_at,
        )

    # ---- reading -------------------------------------------------------------------------
    @property
    def asked(self) -> str:
        """The question as the person wrote it (:attr:`typed`, else :attr:`message`): what a
        chat cell shows, resends and leaves out of the follow-ups it offers."""
        return self.message if self.typed is None else self.typed

    @property
    def text(self) -> str:
        """The answer so far (markdown)."""
        return "".join(p.text for p in self.parts if p.kind == "text")

    @property
    def reasoning(self) -> str:
        """The reasoning so far."""
        return "".join(p.text for p in self.parts if p.kind == "reasoning")

    def text_span(self, kind: Literal["text", "reasoning"], start: int, end: int) -> str:
        """Characters ``start:end`` of the answer (``text``) or the reasoning: a part's own
        string when they are the whole of one part (nothing is copied), so a reader of the
        run's text (a thread's copy of the answer) can hold it without a copy of its own."""
        pieces: list[str] = []
        at = 0
        for part in self.parts:
            if part.kind != kind:
                continue
            part_end = at + part.length
            if at < end and part_end > start:
                whole = start <= at and part_end <= end
                pieces.append(part.text if whole else part.text[max(start - at, 0) : end - at])
            at = part_end
            if at >= end:
                break
        return "".join(pieces)

    @property
    def state(self) -> Any:
        """The agent's shared state: its last snapshot with later deltas applied (None when
        the platform sent none)."""
        return self._shared.state

    @property
    def custom_events(self) -> list[CustomEvent]:
        """Application events the chat cell does not draw, in arrival order."""
        return self._shared.custom_events

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def awaiting_approval(self) -> list[ToolCall]:
        """The tool calls waiting for a human decision (status ``awaiting_approval``)."""
        return [c for c in self.tool_calls if c.status == "awaiting_approval"]

    @property
    def client_tool_calls(self) -> list[ToolCall]:
        """Calls the platform left for the client to run: the run completed asking for tool
        output (finish reason ``tool_calls``: a Responses API function call, a plain model's
        ``tool_calls``) and these never got a result. Not an error: the agent waits for
        their output in the next turn."""
        if self.status != "completed" or self.finish_reason != "tool_calls":
            return []
        return [c for c in self.tool_calls if c.status == "no_result"]

    @property
    def unapproved_calls(self) -> list[ToolCall]:
        """Calls that asked for approval and ran without the user's (or the user's policy's)
        approval of exactly that call: approved by the server itself, run although denied,
        or run with other arguments than were shown (:attr:`ToolCall.unapproved` says
        which). Every surface that shows the run marks them."""
        return [c for c in self.tool_calls if c.unapproved is not None]

    @property
    def ttft(self) -> float | None:
        """Seconds of the agent's time from the request to the first reasoning or answer token
        (a pause for a person before it is left out); None when no token came (a cancelled
        or failed run has no first token: missing, not zero)."""
        if self.first_token_at is None or self.started_at is None:
            return None
        waited = self._paused_before_first_token
        return max(0.0, self.first_token_at - self.started_at - waited)

    @property
    def paused_time(self) -> float:
        """Seconds the run has waited for a person so far, a pause going on included."""
        going_on = 0.0
        if self.paused_at is not None:
            end = self.finished_at if self.finished_at is not None else time.time()
            going_on = max(0.0, end - self.paused_at)
        return self.paused_seconds + going_on

    @property
    def elapsed(self) -> float | None:
        """Wall-clock seconds from the request to the end (or to now), pauses included; None
        for a run read back from the history that ended when no one knows (its process died)."""
        if self.started_at is None or (self.done and self.finished_at is None):
            return None
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.started_at)

    @property
    def duration(self) -> float | None:
        """The agent's time: seconds from the request to the end (or to now, while running),
        less the time it waited for a person (:attr:`paused_time`)."""
        elapsed = self.elapsed
        return None if elapsed is None else max(0.0, elapsed - self.paused_time)

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second of the agent's generation time (from the first token
        to the end, pauses for a person left out)."""
        if self.usage is None or self.usage.completion_tokens is None:
            return None
        if self.first_token_at is None or self.finished_at is None:
            return None
        after_first = self.paused_time - self._paused_before_first_token
        span = self.finished_at - self.first_token_at - after_first
        return self.usage.completion_tokens / span if span > 0 else None

    @property
    def priced(self) -> RunCost:
        """The run's cost, its source and, when it is missing, why (see :attr:`cost`)."""
        if self.recorded_cost is not None:
            return self.recorded_cost
        key = (self.model, self.usage, self.started_at or self.created_at, prices_generation())
        if self._priced is None or self._priced[0] != key:
            self._priced = (key, price_run(self.model, self.usage, key[2]))
        return self._priced[1]

    @property
    def cost(self) -> float | None:
        """What the run cost in USD: as the platform reported it, else from a custom price or
        genai-prices' table for :attr:`model` at the run's time; None (never 0) when it
        cannot be known, :attr:`cost_reason` saying why."""
        return self.priced.usd

    @property
    def cost_source(self) -> CostSource | None:
        """Where :attr:`cost` came from: ``platform``, ``custom`` or ``genai-prices``; None
        when it is missing."""
        return self.priced.source

    @property
    def cost_reason(self) -> str | None:
        """Why :attr:`cost` is missing (an unknown model, no token counts); None when known."""
        return self.priced.reason

    @property
    def refused_figures(self) -> str | None:
        """Which usage or cost figures the platform reported outside their sane range, which
        the run keeps as no figure (see :mod:`agentnb._core.pricing`); None when all were
        sane."""
        return refused_figures(self.usage) if self.usage is not None else None

    def tool_call(self, call_id: str) -> ToolCall | None:
        return self._calls.get(call_id)

    # ---- folding -------------------------------------------------------------------------
    def start(self, at: float | None = None) -> None:
        """Mark the request as sent."""
        if self.started_at is None:
            self.started_at = at if at is not None else time.time()
        if self.status == "pending":
            self.status = "running"
        self.version += 1

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        self.event_count += 1
        self.version += 1
        if self.status == "pending":
            self.start(event.received_at or None)
        if self.max_size is not None and not self._fits(event, self.max_size):
            return
        match event:  # the most frequent first: a delta of the answer is one check
            case TextDelta() | ReasoningDelta() if event.parent_call_id is not None:
                self._calls.sub_agent_delta(event)
            case TextDelta():
                self._append_delta("text", event)
            case ReasoningDelta():
                self._append_delta("reasoning", event)
            case ToolApprovalResponded():
                self._fold_decision(event)
            case _ if isinstance(event, CallEvent):
                self._calls.apply(event)
            case StepStarted():
                self._mark_step()
            case StepReset():
                self._reset_step()
            case RunStarted():
                self.run_id = event.run_id or self.run_id
                self.thread_id = event.thread_id or self.thread_id
                self.model = event.model or self.model
                self.extras.update((k, v) for k, v in (event.extras or {}).items() if v)
            case RunPaused():
                self._fold_paused(event)
            case RunCompleted():
                self._complete(event)
            case RunFailed():
                self.error = RunErrorInfo(event.message, event.code, event.retry_after)
                self._finish("failed", event.received_at)
            case UnknownEvent():
                self._keep_unknown(event)
            case StateSnapshot() | StateDelta() | CustomEvent():
                self._fold_shared(event)

    def finish(self, status: RunStatus, error: RunErrorInfo | None = None) -> None:
        """End the run from outside the stream (cancelled, interrupted, failed by transport)."""
        if self.done:
            return
        if error is not None:
            self.error = error
        self._finish(status, None)

    def forget_calls(self, count: int) -> set[str]:
        """Forget the ``count`` oldest tool calls that have ended (see
        :meth:`CallFold.forget_oldest`), counted in :attr:`forgotten_calls`; a view draws the
        run anew. The ids forgotten."""
        mark = self._step
        parts_before = self.parts[: mark.parts]
        calls_before = self.tool_calls[: mark.tool_calls]
        gone = self._calls.forget_oldest(count)
        if not gone:
            return gone
        for call_id in gone:
            self._replaced.pop(("output", call_id), None)
        parts = mark.parts - sum(p.call_id in gone for p in parts_before)
        last_length = mark.last_length
        if parts_before and parts_before[-1].call_id in gone:  # the part before the step went
            last_length = self.parts[parts - 1].length if parts else 0  # it never grew since
        calls = mark.tool_calls - sum(c.call_id in gone for c in calls_before)
        self._step = _StepMark(parts, last_length, calls)
        self.forgotten_calls += len(gone)
        self.version += 1
        return gone

    # ---- internals: the folds of :meth:`apply` -------------------------------------------
    def _fold_decision(self, event: ToolApprovalResponded) -> None:
        self._calls.apply(event)
        if self.status == "paused" and not self.awaiting_approval:
            self._end_pause(event.received_at)
            self.status = "running"

    def _fold_paused(self, event: RunPaused) -> None:
        if event.usage is not None:
            self.usage = event.usage.merged(self.usage)
        if self.status != "paused":
            self.paused_at = event.received_at or time.time()
        self.status = "paused"

    def _end_pause(self, at: float | None) -> None:
        """The person decided (or the run ended): the pause's seconds join ``paused_seconds``."""
        if self.paused_at is not None:
            end = at or time.time()
            self.paused_seconds += max(0.0, end - self.paused_at)
            self.paused_at = None

    def _fold_shared(self, event: StateSnapshot | StateDelta | CustomEvent) -> None:
        """The state and the custom events count what they keep once folded (a delta's
        result, not its operations), and a fold past the room left is refused unbuilt."""
        bound = self.max_size
        kept = self._shared.size
        try:
            room = None if bound is None else bound - self._size
            self._shared.apply(event, room, patch_work(bound))
        except PatchTooMuchWork as refused:
            assert bound is not None  # only a bound refuses
            self._too_much_work(bound, refused)
            return
        except PatchTooLarge:
            assert bound is not None
            self._count(bound + 1, bound)
            return
        self._size += self._shared.size - kept
        match event:
            case CustomEvent(name=name, value=list() as plan) if name == PLAN_EVENT:
                self.extras["plan"] = plan  # the agent's last plan

    # ---- internals: the bound on what a run keeps ------------------------------------------
    def _fits(self, event: Event, bound: int) -> bool:
        """Count what ``event`` adds to the run; past ``bound``, end the run instead (False:
        it and every later event are left out). A snapshot of the state and a call's output
        replace the last one: they count once. The shared state and custom events count
        as they are folded (:meth:`_fold_shared`)."""
        size = kept_size(event)
        slot = _replaced_slot(event)
        if slot is not None:
            size -= self._replaced.get(slot, 0)
        if not self._count(size, bound):
            return False
        if slot is not None:
            self._replaced[slot] = self._replaced.get(slot, 0) + size
        return True

    def keep_overhead(self, size: int) -> bool:
        """Count ``size`` bytes the client keeps for this run outside its fields (the replay
        guard's memory of every frame, which a stream of frames that add nothing would grow
        without end) against its bound. False: this ended the run, past its bound."""
        if self.max_size is None or self.done:
            return True
        return self._count(size, self.max_size)

    def _count(self, size: int, bound: int) -> bool:
        if self._size + size > bound:
            if self._size <= bound:
                self._size = bound + 1
                self._too_large(bound)
            return False
        self._size += size
        return True

    def _too_large(self, bound: int) -> None:
        mib = f"{bound / MIB:g}"
        message = (
            f"the run went past {mib} MiB, what one run may keep (max_run_mib): it ended "
            f"here with what it kept; to keep more, pass max_run_mib= to the client or "
            f"agentnb.connect()"
        )
        self.finish("interrupted", RunErrorInfo(message, code=TOO_LARGE))

    def _too_much_work(self, bound: int, refused: PatchTooMuchWork) -> None:
        self._size = bound + 1  # nothing more is folded
        message = (
            f"a STATE_DELTA was more work than one event may do ({refused}): the run ended "
            f"here with what it kept, its state as before that delta; one delta may do more "
            f"under a larger max_run_mib= (None: no bound)"
        )
        self.finish("interrupted", RunErrorInfo(message, code=TOO_LARGE))

    # ---- internals: text and steps --------------------------------------------------------
    def _keep_unknown(self, event: UnknownEvent) -> None:
        size = len(event.data) + len(event.event)
        full = len(self.unknown_events) >= MAX_UNKNOWN_EVENTS
        if full or self._unknown_size + size > MAX_UNKNOWN_BYTES:
            self.unknown_dropped += 1
            return
        self._unknown_size += size
        self.unknown_events.append(event)

    def _append_delta(
        self, kind: Literal["text", "reasoning"], event: TextDelta | ReasoningDelta
    ) -> None:
        delta = event.delta
        if not delta:
            return
        if self.first_token_at is None:
            self.first_token_at = event.received_at or time.time()
            self._paused_before_first_token = self.paused_time
        last = self.parts[-1] if self.parts else None
        if last is None or last.kind != kind:
            last = Part(kind)
            self.parts.append(last)
        last.append(delta)

    def _mark_step(self) -> None:
        last = self.parts[-1].length if self.parts else 0
        self._step = _StepMark(len(self.parts), last, len(self.tool_calls))

    def _reset_step(self) -> None:
        """Drop the parts and tool calls added since the step began (the SDK splices them out
        of the message); with no step begun, that is everything."""
        mark = self._step
        del self.parts[mark.parts :]
        if self.parts:
            self.parts[-1].truncate(mark.last_length)
        self._calls.drop_from(mark.tool_calls)
        self.step_resets += 1

    # ---- internals: the end ---------------------------------------------------------------
    def _complete(self, event: RunCompleted) -> None:
        if event.usage is not None:
            self.usage = event.usage.merged(self.usage)
        self.execution_time = event.execution_time
        self.model = event.model or self.model
        self.followups = list(event.followups)
        self.final_output = event.final_output
        self.finish_reason = event.finish_reason
        if isinstance(event.final_output, str) and not self._has_text():
            self._append_delta(
                "text",
                TextDelta(delta=event.final_output, seq=event.seq, received_at=event.received_at),
            )
        if event.finish_reason == "interrupted":
            self.error = RunErrorInfo(
                "the model's stream ended without a completion signal (finish reason "
                "'interrupted'): the answer may be incomplete",
                code="interrupted",
            )
            self._finish("interrupted", event.received_at)
            return
        self._finish("completed", event.received_at)

    def _has_text(self) -> bool:
        """Whether any answer arrived (its length read, not the answer joined)."""
        return any(part.length for part in self.parts if part.kind == "text")

    def _finish(self, status: RunStatus, at: float | None) -> None:
        self.status = status
        self.finished_at = at or time.time()
        self._end_pause(self.finished_at)
        self._calls.end_open(status == "completed", f"run {status}", self.finished_at)
        self.version += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the whole state, to keep or send a run as JSON
        (``json.dumps(run.snapshot())``); the history and the widget keep their own forms."""
        data = {name: getattr(self, name) for name in _SNAPSHOT_FIELDS}
        data["parts"] = [{"kind": p.kind, "text": p.text, "call_id": p.call_id} for p in self.parts]
        data["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        data["usage"] = self.usage.model_dump() if self.usage else None
        data["followups"] = list(self.followups)
        data["error"] = self.error.to_dict() if self.error else None
        data["duration"] = self.duration if self.done else None
        data["elapsed"] = self.elapsed if self.done else None
        data["custom_events"] = len(self.custom_events)
        priced = self.priced
        data["cost"] = priced.usd
        data["cost_source"] = priced.source
        data["cost_reason"] = priced.reason
        return data


def kept_size(event: Event) -> int:
    """About how many bytes ``event`` adds to a run (:func:`~agentnb._core.json_size.json_size`;
    an unknown frame: none, it has caps of its own; the shared state and custom events: none
    here, they count as they are folded)."""
    if type(event) is TextDelta or type(event) is ReasoningDelta:
        return len(event.delta)
    if isinstance(event, UnknownEvent | StateSnapshot | StateDelta | CustomEvent):
        return 0
    return sum(json_size(value) for name, value in event.__dict__.items() if name != "type")


def _replaced_slot(event: Event) -> tuple[str, str] | None:
    if isinstance(event, ToolCallProgress | ToolCallFinished):
        return ("output", event.call_id)
    return None


_SNAPSHOT_FIELDS = (
    "local_id",
    "agent",
    "message",
    "typed",
    "provider",
    "connection",
    "run_id",
    "thread_id",
    "model",
    "extras",
    "imported",
    "status",
    "execution_time",
    "finish_reason",
    "started_at",
    "first_token_at",
    "finished_at",
    "ttft",
    "tokens_per_second",
    "paused_seconds",
    "event_count",
    "unknown_dropped",
    "step_resets",
    "forgotten_calls",
    "state",
    "cancel_error",
    "refused_figures",
)
"""What :meth:`Run.snapshot` copies as it is (attributes and properties)."""
