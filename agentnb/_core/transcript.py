"""The pieces a :class:`~agentnb.Run` is made of: transcript parts, tool calls and their
approvals, and what a run keeps of an error."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

from pydantic_core import from_json

from .short_repr import as_html, one_line
from .text import excerpt, seconds

__all__ = [
    "CallVersion",
    "CardArguments",
    "DecidedBy",
    "Part",
    "ToolApproval",
    "ToolCall",
    "ToolStatus",
    "action_of",
    "parse_json_or_text",
]

DecidedBy = Literal["user", "policy", "server"]
"""Who decided on a call awaiting approval: the user (a click, ``handle.approve``, a prompt),
the user's ``approve=`` policy (or agentnb's rule that denies what no one can decide), or
the server itself (a decision in the stream that agentnb did not send: never the user's)."""

ToolStatus = Literal["running", "awaiting_approval", "succeeded", "failed", "denied", "no_result"]
"""Where a tool call is:

- ``running``: started (or approved), no outcome yet;
- ``awaiting_approval``: the platform runs it only once a human approves (``call.approval``);
- ``succeeded`` / ``failed``: the platform reported its output / its error;
- ``denied``: it was not run, because a human or a policy denied it;
- ``no_result``: the run completed and the server never reported the call's outcome (an
  OpenAI-compatible proxy such as LiteLLM drops agentnb's tool-result extension, and a plain
  model leaves its calls for the client to execute): the arguments are known, the result is not.
"""

_MERGE_LOCK = threading.Lock()
MERGE_EVERY = 512
"""A part joins its last this many chunks into one (an object per token costs ~60 bytes)."""


class CardArguments(dict[str, Any]):
    """A call's arguments as a dialect reads them for a person (an ACP agent's command line,
    cwd, path, diff: text, shown without JSON's quotes where it needs none), with the keys
    ``aside`` holding the platform's bookkeeping about the call (its whole input, its notes):
    a card keeps those behind "Show whole call", and versions of the call that differ only
    there are the same call. Only a dialect makes one: no key of a call's JSON puts a value
    aside."""

    def __init__(self, arguments: dict[str, Any], aside: tuple[str, ...] = ()) -> None:
        super().__init__(arguments)
        self.aside = tuple(key for key in aside if key in arguments)


def action_of(arguments: Any, asked: Any) -> Any:
    """What ``arguments`` do: without the keys the ``asked`` arguments (a version of the
    same call) put aside (:class:`CardArguments`)."""
    if not isinstance(asked, CardArguments) or not isinstance(arguments, dict):
        return arguments
    return {key: value for key, value in arguments.items() if key not in asked.aside}


@dataclass(frozen=True)
class CallVersion:
    """One version of a tool call as a platform sent it: the name and arguments one of its
    events (a call's start, streamed argument text, an approval request) gave."""

    where: str
    """Which event gave it, for a person (``the streamed arguments``, ...)."""
    name: str
    arguments: Any
    text: str | None = None
    """The JSON text the arguments were read from, when they came as text (a key named
    twice is found there); None when they came parsed."""


@dataclass
class ToolApproval:
    """A platform's request that a human decide on one tool call, and the decision."""

    approval_id: str | None = None
    """The platform's id for the request (the AI SDK's ``approvalId``), when it has one."""
    reason: str | None = None
    """Why the platform asks, when it says."""
    approved: bool | None = None
    """None while undecided; then True (run it) or False (do not)."""
    decision_reason: str | None = None
    """The reason given with the decision, if any."""
    question: str | None = None
    """A free-form question the agent asks (the decision then carries an ``answer``)."""
    answer: object = None
    """The human's answer to ``question``, once given."""
    requested_at: float = 0.0
    decided_at: float | None = None
    decided_by: DecidedBy | None = None
    """Who decided (None while undecided); see :data:`DecidedBy`."""
    asked: CallVersion | None = None
    """The call the decision is bound to: the version the platform acts on (the one its
    approval request names, else the call's latest parsed arguments, else its streamed
    text), fixed when the approval is asked. Every surface shows it; a person approves it."""
    other_versions: tuple[CallVersion, ...] = ()
    """Versions of the call the platform sent before asking that disagree with ``asked``
    (streamed text against parsed input, an announcement against the request): shown beside
    it, flagged."""
    arguments_changed: bool = False
    """The platform reported other arguments (or another name) for the call after asking."""
    protocol_error: str | None = None
    """Why no decision can be bound to this call, so agentnb denies it whatever anyone
    answers: its approval id also names another call, or its arguments changed after they
    were shown and before the decision was sent. None when the call can be decided."""
    for_run: str | None = None
    """What approving the call "for this run" allows with it (``"reads of the notebook"``),
    when that is offered; None: the call is decided alone."""
    agent_option: str | None = None
    """The agent's own words for that choice where the agent decides what it covers (an ACP
    agent's ``allow_always`` option): every surface shows them on the choice."""

    @property
    def asked_arguments(self) -> Any:
        """The arguments of :attr:`asked`: what the person was shown and decides on."""
        return self.asked.arguments if self.asked is not None else None

    def to_dict(self) -> dict[str, Any]:
        """Every field but the call's versions (``asked``, ``other_versions``)."""
        versions = ("asked", "other_versions")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in versions}


class _StreamedText:
    """A text a tool call streams (its arguments, a sub-agent's text): read as a ``str``,
    kept as a :class:`Part`'s chunks in the call (see :meth:`ToolCall.stream`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get__(self, call: ToolCall | None, owner: type | None = None) -> str:
        part = _streamed(call).get(self.kind) if call is not None else None
        return part.text if part is not None else ""

    def __set__(self, call: ToolCall, text: str) -> None:
        _streamed(call).pop(self.kind, None)
        if text:
            call.stream(self.kind, text)


def _streamed(call: ToolCall) -> dict[str, Part]:
    return call.__dict__.setdefault("_streamed", {})  # type: ignore[no-any-return]


@dataclass
class ToolCall:
    """One tool call of a run."""

    call_id: str
    name: str
    arguments: Any = None
    arguments_text: str = _StreamedText("arguments")  # type: ignore[assignment]
    """The arguments as streamed text (empty when they came parsed only)."""
    output: Any = None
    error: str | None = None
    """The error of a failed call, or the reason a call was denied (None when none was given)."""
    status: ToolStatus = "running"
    started_at: float = 0.0
    finished_at: float | None = None
    approval: ToolApproval | None = None
    """Set when the platform asked for a human decision on this call."""
    parent_call_id: str | None = None
    """The call inside which a sub-agent made this one; None at the top."""
    agent: str | None = None
    """The agent that made the call, when the platform names it."""
    depth: int = 0
    """How many calls this one is nested in (0 at the top)."""
    agent_text: str = _StreamedText("text")  # type: ignore[assignment]
    """Text a sub-agent streamed inside this call (not part of the run's answer)."""
    agent_reasoning: str = _StreamedText("reasoning")  # type: ignore[assignment]
    """Reasoning a sub-agent streamed inside this call."""
    sub_agent: str | None = None
    """The agent that ran inside this call (named by its text, reasoning or calls), when the
    platform names it; ``agent`` is the one that made the call."""
    usage: Any = None
    """Tokens a sub-agent spent inside this call (a ``Usage``), where the platform says."""
    model: str | None = None
    """The model the sub-agent inside this call ran, where the platform names it."""
    ran_by: str | None = None
    """``"client"`` when a notebook function ran the call (a client tool); None: the platform."""
    shown: dict[str, str] | None = None
    """What a notebook function returned as a person sees it, where it has a form beside its
    text (``{"mime", "data"}``: see ``ToolCallFinished.shown``); not kept in the history."""
    asks: dict[str, Any] | None = field(default=None, repr=False)
    """The question the call asks a person while it runs (an MCP server's form or link, as
    ``ToolQuestionAsked.question`` shows it), until it is answered; None when none waits."""
    versions: list[CallVersion] = field(default_factory=list, repr=False)
    """Each name and parsed arguments the platform announced for the call (its starts and
    approval requests), in order, a repeat of the last one left out."""

    def __repr__(self) -> str:
        """One line: the tool, status, time and call id (the arguments and output are
        :attr:`arguments` and :attr:`output`)."""
        facts = [seconds(self.duration), f"call_id={self.call_id!r}"]
        if self.error:
            facts.append(f"error {excerpt(self.error, 80)!r}")
        return one_line("ToolCall", self.name, self.status, facts)

    def _repr_html_(self) -> str:
        return as_html(repr(self), None)

    def stream(self, kind: str, delta: str) -> None:
        """Append ``delta`` to the streamed text ``kind`` (``arguments``, ``text``,
        ``reasoning``), kept as chunks so appending stays linear."""
        _streamed(self).setdefault(kind, Part("text")).append(delta)

    @property
    def duration(self) -> float | None:
        """The tool's own seconds from start to finish, the time it waited for a person's
        decision left out (None while running)."""
        if self.finished_at is None:
            return None
        approval = self.approval
        waited = 0.0
        if approval is not None and approval.decided_at is not None:
            waited = max(0.0, approval.decided_at - approval.requested_at)
        return max(0.0, self.finished_at - self.started_at - waited)

    @property
    def unapproved(self) -> str | None:
        """Why this call, which asked for approval, ran without the user's (or the user's
        policy's) approval of exactly this call; None when it did not. A person must see
        this: the approval gate is the one check on what an agent does."""
        approval = self.approval
        if approval is None or approval.approved is None:
            return None
        ran = self.status in ("running", "succeeded") or self.output is not None
        if approval.decided_by == "server" and approval.approved:
            return "approved by the server itself, not by you"
        if not approval.approved and ran:
            return "it ran although it was denied"
        if approval.arguments_changed and ran:
            return "it ran with other arguments than the ones shown for approval"
        return None

    def settle_arguments(self) -> None:
        """Parse the streamed arguments text when no parsed arguments arrived."""
        if self.arguments is None and self.arguments_text:
            self.arguments = parse_json_or_text(self.arguments_text)

    def to_dict(self) -> dict[str, Any]:
        """The call's fields (but a sub-agent's usage and model, who ran it, what it shows
        and asks, and its versions), with its ``duration`` and why it ran ``unapproved``."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_IN_DICT}
        data["approval"] = self.approval.to_dict() if self.approval is not None else None
        data["duration"] = self.duration
        data["unapproved"] = self.unapproved
        return data


_NOT_IN_DICT: Final = frozenset({"usage", "model", "ran_by", "shown", "asks", "versions"})


@dataclass
class Part:
    """One block of the transcript, in arrival order: reasoning, answer text, or a tool call.

    Consecutive deltas of one kind extend the same part; text is kept as chunks so appending
    stays linear however long the answer grows, and every ``MERGE_EVERY`` small chunks are
    joined into one, so a stream of tiny deltas does not keep an object per delta.
    """

    kind: Literal["reasoning", "text", "tool"]
    chunks: list[str] = field(default_factory=list)
    call_id: str | None = None
    length: int = 0
    _unmerged: int = field(default=0, repr=False, compare=False)

    @property
    def text(self) -> str:
        # Readers on any thread merge the chunks seen so far; the loop thread may append
        # meanwhile, which only adds after position k, so nothing is lost. The lock keeps two
        # readers from merging the same prefix twice.
        with _MERGE_LOCK:
            chunks = self.chunks
            k = len(chunks)
            if k > 1:
                joined = "".join(chunks[:k])
                chunks[:k] = [joined]
                self._unmerged = 0  # a lost count only merges later, never the joined text
                return joined
            return chunks[0] if k else ""

    def pieces(self) -> list[str]:
        """The text as the chunks it is kept in now (a copy of the list, never of the text):
        to write a long text without joining it."""
        with _MERGE_LOCK:
            return list(self.chunks)

    def append(self, delta: str) -> None:
        chunks = self.chunks
        chunks.append(delta)
        self.length += len(delta)
        self._unmerged += 1
        if self._unmerged >= MERGE_EVERY:
            self._unmerged = 0
            with _MERGE_LOCK:
                chunks[-MERGE_EVERY:] = ["".join(chunks[-MERGE_EVERY:])]

    def truncate(self, length: int) -> None:
        """Keep only the first ``length`` characters (a step reset cut into this part)."""
        if length >= self.length:
            return
        kept = self.text[:length]
        with _MERGE_LOCK:
            self.chunks[:] = [kept] if kept else []
            self.length = length
            self._unmerged = 0


def parse_json_or_text(text: str) -> Any:
    """The JSON value of ``text``; the text itself when it is not JSON or is nested too deep
    to parse safely (pydantic-core stops at a depth limit where ``json`` would recurse)."""
    try:
        return from_json(text)
    except ValueError:
        return text
