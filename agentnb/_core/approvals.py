"""Human-in-the-loop tool approval: the decisions a paused run waits for.

Some platforms run a tool only once a human approves the call (the AI SDK's
``tool-approval-request``; agentnb's Operativus extension). The call then shows status
``awaiting_approval``; when the platform pauses the run (``RunPaused``) the stream waits until
every such call is decided, sends the decisions the way the platform defines, and reads on.

A call may carry the agent's free-form question (``call.approval.question``: an interrupt's
prompt, A2A's ``input-required``); the human then replies with :meth:`ApprovalGate.answer`,
an approving decision that carries the answer, or denies it.

A call may offer to be allowed "for this run" (``call.approval.for_run`` names what, e.g. the
reads of the notebook): approving it with ``for_run=True`` approves, from then on, every
later call of the run that offers the same, without asking, each recorded as the user's (or
the policy's) approval by that decision (:func:`allowed_for_run`).

A decision comes from :meth:`ApprovalGate.approve` / :meth:`ApprovalGate.deny` /
:meth:`ApprovalGate.answer` (any thread: ``RunHandle.approve``, a widget button) or from an
*approver*, a policy consulted when the run pauses: ``True`` approves every call, ``False``
denies every call, a callable gets the :class:`~agentnb.types.ToolCall` and returns True, False, a
string (the answer to the call's question), an :class:`ApprovalDecision` (to give a reason),
or None to leave the call to a human; it may be async (a plain function runs in a
worker thread, so it may block, e.g. to prompt on a terminal).

A decision is bound to the call as it was shown (see :mod:`.approval_fold`): a call whose
binding broke (its approval id names another call too, or its arguments changed after they
were shown) is a protocol error, denied here before anyone is asked, whatever anyone answered
(:func:`refused`); no one can approve it.

When nothing can decide, calls are not left waiting forever: a caller blocked until the run
ends (``handle.wait()``, ``client.run()``, ``ask(wait=True)``) or a batch run has no one to
click, so :meth:`ApprovalGate.deny_undecided` denies every call the approver leaves undecided,
with a reason that says so (:func:`no_one_could_approve`). Each entry point says which it is;
this module is the one place that decides what happens then.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..events import ToolApprovalResponded
from .exceptions import ConfigurationError, ProtocolError, RunFailedError
from .questions import ACTIONS, QuestionAnswerer, QuestionReply, nobody_could_answer
from .run import Run
from .transcript import DecidedBy, ToolCall

__all__ = [
    "CALLER_WAITING",
    "ApprovalDecision",
    "ApprovalGate",
    "ApprovalPolicy",
    "ApprovalSupport",
    "Approver",
    "PlatformSupport",
    "approver_for",
    "as_approver",
    "collect_decisions",
    "no_one_could_approve",
    "or_denied",
    "question_of",
    "refused",
]


@dataclass(frozen=True)
class ApprovalDecision:
    """A decision on one tool call awaiting approval."""

    call_id: str
    """The decided call."""
    approved: bool
    """True: the platform may run the tool; False: it must not."""
    reason: str | None = None
    """A reason sent with the decision (the AI SDK passes it to the model)."""
    answer: object = None
    """The human's answer to the call's free-form ``question`` (an interrupt's resume value),
    when it asked one; None otherwise."""
    for_run: bool = False
    """Approve, with this call, what its approval offers to allow for the rest of the run
    (``call.approval.for_run``): the later such calls are approved without asking."""
    by_user: bool = False
    """A policy that asked a person (a terminal's prompt) returns their answer with this
    True: it is recorded as the user's decision, as a click on the chat cell's buttons is
    (``decided_by="user"``), not as the policy's."""


Approver = Callable[[ToolCall], object]
"""A policy: gets a call awaiting approval, returns True, False, an :class:`ApprovalDecision`
or None (leave it to a human), or an awaitable of one of those."""

ApprovalPolicy = Approver | bool | None
"""What ``approve=`` takes: True (approve every call), False (deny every call), an
:data:`Approver`, or None (leave every call to a human)."""


def as_approver(policy: ApprovalPolicy) -> Approver | None:
    """``True``/``False`` as the policy that approves/denies every call; a callable as it is;
    anything else is a :class:`ConfigurationError`."""
    if policy is None:
        return None
    if isinstance(policy, bool):
        return _always(policy)
    if callable(policy):
        return policy
    raise ConfigurationError(
        "approve= must be True, False, None or a callable taking a ToolCall, not "
        f"{type(policy).__name__}"
    )


class ApprovalSupport(Protocol):
    """What approvals need to know of a platform (its :class:`~agentnb.providers.Provider`
    is one): whether it carries decisions and answers, and its name for messages."""

    @property
    def named(self) -> str:
        """The platform as the person knows it (a connection, else the dialect)."""
        ...

    @property
    def supports_approvals(self) -> bool: ...

    @property
    def supports_answers(self) -> bool: ...


@dataclass(frozen=True)
class PlatformSupport:
    named: str = "this platform"
    supports_approvals: bool = True
    supports_answers: bool = True


def approver_for(policy: ApprovalPolicy, platform: ApprovalSupport) -> Approver | None:
    """:func:`as_approver`, also refusing a policy on a dialect that cannot carry decisions
    (its tools run without asking, so ``approve=False`` could not keep its promise)."""
    approver = as_approver(policy)
    if approver is not None and not platform.supports_approvals:
        raise ConfigurationError(
            f"{platform.named} cannot carry tool approval decisions (its tools run without "
            "asking), so approve= cannot be honoured here; the vercel and operativus "
            "dialects can"
        )
    return approver


def or_denied(policy: ApprovalPolicy, why: str) -> Approver:
    """``policy``, denying each call it leaves undecided (every call, for None): nothing
    else can decide them (``why`` says why: :func:`no_one_could_approve`)."""
    approver = as_approver(policy)

    async def decided(call: ToolCall) -> object:
        verdict = None if approver is None else await _ask(approver, call)
        if verdict is None:
            return ApprovalDecision(call.call_id, False, no_one_could_approve(why))
        return verdict

    return decided


def _always(approved: bool) -> Approver:
    async def policy(call: ToolCall) -> bool:  # async: nothing to run in a worker thread
        return approved

    return policy


CALLER_WAITING = "the caller was waiting for the run to end"
"""Why a run is unattended when its caller blocks until the end (``handle.wait()``,
``await handle``, ``client.run()``)."""


def no_one_could_approve(why: str) -> str:
    """The reason sent with a call denied because nothing could decide on it."""
    return f"no one could approve it: {why} (pass approve= to decide)"


def allowed_for_run(allowed: str, call_id: str) -> str:
    """The reason recorded with a call approved because ``allowed`` was allowed for the run
    with the decision on ``call_id``."""
    return f"{allowed} allowed for this run (with the decision on {call_id})"


def refused(why: str) -> str:
    """The reason sent with a call agentnb denies because no decision can be bound to it."""
    return f"agentnb denied it, whatever was answered: {why}"


def _decision_of(call: ToolCall, verdict: Any) -> ApprovalDecision | None:
    if verdict is None:
        return None
    if isinstance(verdict, bool):
        return ApprovalDecision(call.call_id, verdict)
    if isinstance(verdict, str) and question_of(call) is not None:
        return ApprovalDecision(call.call_id, True, answer=verdict)
    if isinstance(verdict, ApprovalDecision) and verdict.call_id == call.call_id:
        return verdict
    raise ConfigurationError(
        f"the approve= policy returned {verdict!r} for tool call {call.call_id!r}; it must "
        "return True, False, None, an ApprovalDecision for that call, or a string answering "
        "the call's question (when it asks one)"
    )


def question_of(call: ToolCall) -> str | None:
    """The free-form question the agent asks on ``call``, if any."""
    return call.approval.question if call.approval is not None else None


class ApprovalGate:
    """The decisions on one run's tool calls awaiting approval.

    ``approve``/``deny`` may be called from any thread; the stream collects the decisions on
    its loop with :func:`collect_decisions` when the platform pauses the run. ``platform``
    says whether decisions can be sent at all (default: they can)."""

    def __init__(self, run: Run, platform: ApprovalSupport | None = None) -> None:
        self.run = run
        self.platform: ApprovalSupport = platform if platform is not None else PlatformSupport()
        self._approver: Approver | None = None
        self._lock = threading.Lock()
        self._decided: dict[str, ApprovalDecision] = {}
        self._for_run: dict[str, ApprovalDecision] = {}
        """What was allowed for the run (``call.approval.for_run``), by which decision."""
        self._by_policy: set[str] = set()
        """Calls the approver (or the rule for calls no one can decide) decided."""
        self._delivered: set[str] = set()
        self._consulted: set[str] = set()
        self._unattended: str | None = None
        self._collected: list[ApprovalDecision] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._replies: dict[str, QuestionReply] = {}
        """A person's replies to the questions calls ask while they run, not taken yet."""
        self._replied: asyncio.Event | None = None

    @property
    def approver(self) -> Approver | None:
        """The policy consulted once for each call awaiting approval (see
        :func:`as_approver`); setting it takes anything ``approve=`` takes."""
        return self._approver

    @approver.setter
    def approver(self, policy: ApprovalPolicy) -> None:
        self._approver = approver_for(policy, self.platform)

    def unsupported(self) -> RunFailedError:
        """The error of a run paused for approval on a dialect that cannot send decisions."""
        return RunFailedError(
            f"{self.platform.named} paused the run for tool calls awaiting approval, but "
            "agentnb cannot send decisions to this platform",
            code="approval_unsupported",
            partial_text=self.run.text,
            run=self.run,
        )

    # ---- deciding (any thread) ------------------------------------------------------------
    def approve(
        self,
        call_id: str,
        reason: str | None = None,
        *,
        answer: object = None,
        for_run: bool = False,
    ) -> None:
        """Let the platform run the call; ``answer`` replies to the call's free-form
        ``question`` (an interrupt's resume value: any JSON, where the dialect carries one);
        ``for_run`` also allows what the call offers to allow for the rest of the run."""
        self.decide(ApprovalDecision(call_id, True, reason, answer, for_run))

    def answer(self, call_id: str | None, text: str) -> None:
        """Answer the question the agent asks on ``call_id`` (None: the one call whose
        question waits): ``approve(call_id, answer=text)`` once the call is known."""
        if not isinstance(text, str):
            raise ConfigurationError(f"an answer is text, not {type(text).__name__}")
        self._check_answerable(ApprovalDecision("", True, answer=text))
        self.approve(self._questioned(call_id), answer=text)

    def deny(self, call_id: str, reason: str | None = None) -> None:
        """Tell the platform not to run the call (``reason`` goes with the decision)."""
        self.decide(ApprovalDecision(call_id, False, reason))

    def decide(self, decision: ApprovalDecision) -> None:
        """Record a decision; a :class:`ConfigurationError` for a call that is not awaiting
        approval or was decided already."""
        self._check_answerable(decision)
        with self._lock:
            self._check_decidable(decision)
            self._decided[decision.call_id] = self._allowing(decision)
        self._wake()

    def _check_answerable(self, decision: ApprovalDecision) -> None:
        if decision.answer is not None and not self.platform.supports_answers:
            raise ConfigurationError(
                f"{self.platform.named} takes only approve / deny decisions: it has no place "
                "for a free-form answer"
            )

    def deny_undecided(self, why: str) -> None:
        """Nothing can decide any more (``why`` says what): from now on every call the
        approver leaves undecided is denied, with :func:`no_one_could_approve` as the
        reason. Any thread; the first ``why`` is kept."""
        with self._lock:
            self._unattended = self._unattended or why
        self._wake()

    def forget(self, call_ids: Collection[str]) -> None:
        """Drop what is kept of calls the run forgot (:meth:`Run.forget_calls`). Any thread."""
        with self._lock:
            for call_id in call_ids:
                self._decided.pop(call_id, None)
                self._by_policy.discard(call_id)
                self._delivered.discard(call_id)
                self._consulted.discard(call_id)

    def _questioned(self, call_id: str | None) -> str:
        """``call_id`` when its call asks a question, else why not; None: the one such call."""
        asking = [c.call_id for c in self.undecided() if question_of(c) is not None]
        if call_id is None:
            if len(asking) != 1:
                which = ", ".join(repr(c) for c in asking) or "none"
                raise ConfigurationError(
                    f"name the call to answer: {len(asking)} calls wait for an answer ({which})"
                )
            return asking[0]
        call = self.run.tool_call(call_id)
        if call is not None and call.approval is not None and question_of(call) is None:
            raise ConfigurationError(
                f"tool call {call_id!r} asks no question: approve or deny it instead"
            )
        return call_id

    def _check_decidable(self, decision: ApprovalDecision) -> None:
        call_id = decision.call_id
        if call_id in self._decided:
            verb = "approved" if self._decided[call_id].approved else "denied"
            raise ConfigurationError(f"tool call {call_id!r} was already {verb}")
        call = self.run.tool_call(call_id)
        why = call.approval.protocol_error if call and call.approval else None
        if why is not None and decision.approved:
            raise ConfigurationError(f"tool call {call_id!r} cannot be approved: {why}")
        if decision.for_run and (call is None or _run_scope(call) is None):
            raise ConfigurationError(
                f"tool call {call_id!r} can only be approved on its own: it offers nothing to "
                "allow for the rest of the run"
            )
        if call is None or call.status != "awaiting_approval":
            waiting = ", ".join(repr(c.call_id) for c in self.run.awaiting_approval) or "none"
            state = "is not a call of this run" if call is None else f"is {call.status}"
            raise ConfigurationError(
                f"tool call {call_id!r} {state}, not awaiting approval "
                f"(awaiting approval: {waiting})"
            )

    def nothing_to_decide(self) -> ProtocolError:
        """The error of a pause with no decision to send: no call awaits one, or only calls
        decided already (sending nothing, or the same decisions again, would loop forever)."""
        asked_again = ", ".join(repr(c.call_id) for c in self.run.awaiting_approval)
        again = f" (asked again for {asked_again}, decided already)" if asked_again else ""
        return ProtocolError(
            f"{self.platform.named} paused the run, but no tool call awaits approval{again}"
        )

    def _wake(self) -> None:
        loop = self._loop
        if loop is None:
            return
        for event in (self._changed, self._replied):
            if event is not None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(event.set)

    # ---- a question a running call asks (any thread / the stream's loop) -------------------
    def reply(self, call_id: str, action: str, content: Mapping[str, object] | None = None) -> None:
        """A person's reply to the question call ``call_id`` asks while it runs (an MCP
        server's form or link, ``call.asks``): ``accept`` (a form's ``content``: its fields'
        values), ``decline`` or ``cancel``. A :class:`ConfigurationError` when the call asks
        nothing now, or for an action or content that is not one. Any thread."""
        if action not in ACTIONS:
            raise ConfigurationError(f"a reply is accept, decline or cancel, not {action!r:.100}")
        if content is not None and not isinstance(content, Mapping):
            raise ConfigurationError(
                f"a reply's content is a dict of the form's fields, not {type(content).__name__}"
            )
        call = self.run.tool_call(call_id)
        with self._lock:
            if call is None or call.asks is None or call_id in self._replies:
                raise ConfigurationError(f"tool call {call_id!r} asks no question now")
            kept = dict(content) if action == "accept" and content is not None else None
            self._replies[call_id] = QuestionReply(action, kept, by_user=True)
        self._wake()

    async def ask_person(
        self,
        call: ToolCall,
        guard: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]],
        tick: float,
        progress: Callable[[], None],
    ) -> QuestionReply:
        """The reply to the question ``call`` asks (``call.asks``, shown already): the
        approver's, when it answers questions (the terminal's prompt), else a person's
        (:meth:`reply`), else, once nobody can answer, declined saying so. Waits as
        :func:`collect_decisions` does (``guard``, ``tick``, ``progress``)."""
        self._loop = asyncio.get_running_loop()
        self._replied = asyncio.Event()
        answerer = self._approver
        if isinstance(answerer, QuestionAnswerer):
            said = await answerer.answer_question(call)
            if said is not None:
                return said
        while True:
            with self._lock:
                reply = self._replies.pop(call.call_id, None)
            if reply is not None:
                return reply
            why = self._unattended
            if why is not None:
                return QuestionReply("decline", reason=nobody_could_answer(why))
            progress()
            await guard(lambda: _woken_within(self._replied, tick))

    # ---- collecting (the stream's loop) ----------------------------------------------------
    def undecided(self) -> list[ToolCall]:
        """Calls awaiting approval that have no decision yet."""
        with self._lock:
            return [c for c in self.run.awaiting_approval if c.call_id not in self._decided]

    @property
    def collected(self) -> list[ApprovalDecision]:
        """The decisions collected at the latest pause (what the stream sends next)."""
        return list(self._collected)

    async def _consult(self) -> None:
        for call in self.undecided():
            self._approve_allowed()  # an earlier answer may have allowed this call for the run
            if self._approver is None or call.call_id in self._consulted or self._has(call):
                continue
            self._consulted.add(call.call_id)
            verdict = await _ask(self._approver, call)
            decision = _decision_of(call, verdict)
            if decision is not None:
                self._check_answerable(decision)
                if decision.for_run and _run_scope(call) is None:
                    decision = dataclasses.replace(decision, for_run=False)
                self._settle(decision)

    def _has(self, call: ToolCall) -> bool:
        with self._lock:
            return call.call_id in self._decided

    def _deny_unbound(self) -> None:
        """Deny every call no decision can be bound to, over any approval not sent yet."""
        for call in self.run.awaiting_approval:
            why = call.approval.protocol_error if call.approval is not None else None
            if why is None:
                continue
            with self._lock:
                earlier = self._decided.get(call.call_id)
                if call.call_id in self._delivered or (earlier and not earlier.approved):
                    continue
                self._decided[call.call_id] = ApprovalDecision(call.call_id, False, refused(why))
                self._by_policy.add(call.call_id)

    def _deny_if_unattended(self) -> None:
        why = self._unattended
        if why is not None:
            for call in self.undecided():
                self._settle(ApprovalDecision(call.call_id, False, no_one_could_approve(why)))

    def _settle(self, decision: ApprovalDecision) -> None:
        """Record a policy's decision unless a human's came first."""
        with self._lock:
            if decision.call_id not in self._decided:
                self._decided[decision.call_id] = self._allowing(decision)
                if not decision.by_user:
                    self._by_policy.add(decision.call_id)

    def _allowing(self, decision: ApprovalDecision) -> ApprovalDecision:
        """Keep what an approval ``for_run`` allows (the first decision that allows it); the
        decision, saying so when it gives no reason of its own."""
        call = self.run.tool_call(decision.call_id)
        allowed = _run_scope(call) if call is not None else None
        if not (decision.approved and decision.for_run and allowed is not None):
            return decision
        self._for_run.setdefault(allowed, decision)
        reason = decision.reason or f"{allowed} allowed for this run"
        return dataclasses.replace(decision, reason=reason)

    def allows_for_run(self, call: ToolCall) -> bool:
        """Whether ``call`` offers what was allowed for the run already (it passes unasked)."""
        allowed = _run_scope(call)
        with self._lock:
            return allowed is not None and allowed in self._for_run

    def _approve_allowed(self) -> None:
        """Approve every undecided call that offers what was allowed for the run, as by the
        decision that allowed it."""
        for call in self.undecided():
            allowed = _run_scope(call)
            with self._lock:
                by = self._for_run.get(allowed) if allowed is not None else None
                if by is None or call.call_id in self._decided:
                    continue
                reason = allowed_for_run(str(allowed), by.call_id)
                self._decided[call.call_id] = ApprovalDecision(call.call_id, True, reason)
                if by.call_id in self._by_policy:
                    self._by_policy.add(call.call_id)

    def decided_by(self, call_id: str) -> DecidedBy:
        """Who made the decision on ``call_id``: the user or the user's policy."""
        return "policy" if call_id in self._by_policy else "user"

    def _new_decisions(self) -> list[ApprovalDecision]:
        with self._lock:
            fresh = [d for key, d in self._decided.items() if key not in self._delivered]
            self._delivered.update(d.call_id for d in fresh)
        return fresh

    def _listen(self) -> None:
        """Start a pause: decisions made from now on wake this loop."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._collected = []


async def collect_decisions(
    gate: ApprovalGate,
    guard: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]],
    tick: float,
    progress: Callable[[], None],
) -> AsyncGenerator[ToolApprovalResponded, None]:
    """At a pause: consult the gate's approver, then wait until every call awaiting approval
    is decided, yielding each decision as an event (``gate.collected`` then holds them all);
    a :class:`ProtocolError` when the pause leaves nothing to decide.
    ``guard`` bounds each wait of at most ``tick`` seconds by the run's time limits;
    ``progress`` is called first, since a run waiting for a human is not stalled."""
    if not gate.platform.supports_approvals:
        raise gate.unsupported()
    gate._listen()
    gate._deny_unbound()
    await gate._consult()
    while True:
        gate._deny_unbound()
        gate._approve_allowed()
        gate._deny_if_unattended()
        for decision in gate._new_decisions():
            gate._collected.append(decision)
            yield ToolApprovalResponded(
                call_id=decision.call_id,
                approved=decision.approved,
                reason=decision.reason,
                answer=decision.answer,
                decided_by=gate.decided_by(decision.call_id),
            )
        if not gate.undecided():
            if not gate._collected:
                raise gate.nothing_to_decide()
            return
        progress()
        await guard(lambda: _woken_within(gate._changed, tick))


async def _woken_within(event: asyncio.Event | None, tick: float) -> None:
    """Wait until ``event`` is set (and clear it for the next wait), or ``tick`` seconds."""
    assert event is not None
    try:
        await asyncio.wait_for(event.wait(), tick)
    except TimeoutError:
        return
    event.clear()


def _run_scope(call: ToolCall) -> str | None:
    return call.approval.for_run if call.approval is not None else None


async def _ask(approver: Approver, call: ToolCall) -> Any:
    """The approver's verdict on ``call``: awaited when async; a plain function runs in a
    worker thread, so one that blocks (a terminal prompt) does not stop the loop."""
    if inspect.iscoroutinefunction(approver):
        return await approver(call)
    verdict = await asyncio.to_thread(approver, call)
    return await verdict if inspect.isawaitable(verdict) else verdict
