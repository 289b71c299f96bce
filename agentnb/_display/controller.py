"""The kernel side of the chat cell: reads each `Run` and sends the views only what changed,
from agentnb's background loop, so a cell returns at once and Stop works while the kernel is
idle. The messages both ways are described on the Development page ("The chat cell's wire").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .._core.handle import RunHandle
from .._core.loop import get_loop
from .._core.request import Media
from .._core.run import Run
from .._core.warning import warn
from ..events import (
    Event,
    RunPaused,
    StepReset,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    ToolQuestionAnswered,
    ToolQuestionAsked,
)
from .attachment_preview import AttachmentPreview, Attachments
from .display_slot import executing_cell
from .environment import kernel_shell
from .marimo import in_marimo
from .verdicts import VerdictKeeper, watch_verdicts
from .widget_protocol import Turn

__all__ = [
    "ChatActions",
    "ChatController",
    "NewConversation",
    "SendPasted",
    "SessionControls",
    "StartRun",
    "pasted_media",
]

StartRun = Callable[[str], "RunHandle | None"]
SendPasted = Callable[[str, "tuple[Media, ...]"], "RunHandle | None"]
"""Starts the next turn of a conversation for a typed message with the images pasted beside it."""
PASTED_IMAGES = 4
"""The most images one message takes pasted into the chat cell's input."""
PASTED_BYTES = 5 * 1024 * 1024
"""The largest image pasted into the chat cell's input."""
PASTED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def pasted_media(images: object) -> tuple[Media, ...]:
    """The images a view sent beside a message (``[{type, data}]``, base64), checked: a
    ``ValueError`` saying what is wrong with them."""
    if not isinstance(images, list) or not images:
        return ()
    if len(images) > PASTED_IMAGES:
        raise ValueError(f"a message takes {PASTED_IMAGES} pasted images at most")
    media: list[Media] = []
    for image in images:
        kind = image.get("type") if isinstance(image, dict) else None
        data = image.get("data") if isinstance(image, dict) else None
        if kind not in PASTED_TYPES or not isinstance(data, str):
            raise ValueError(f"a pasted image is PNG, JPEG, GIF or WebP, not {str(kind)[:40]!r}")
        try:
            size = len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("a pasted image arrived damaged (not base64)") from None
        if size > PASTED_BYTES:
            raise ValueError(
                f"a pasted image is {size:,} bytes; one of up to {PASTED_BYTES:,} is sent"
            )
        media.append(Media(type=kind, data=data))
    return tuple(media)


"""Starts the next run of a conversation for a follow-up or a typed message."""
NewConversation = Callable[[], None]
"""Makes the next message start a new conversation."""
UndoNotebook = Callable[[Run], Awaitable[list[str]]]
"""Takes back what a run's notebook tools did to the notebook: what was undone."""


class SessionControls(Protocol):
    """An agent session's own controls, beside a chat cell's input (an ACP agent's): the
    settings a person picks (model, mode, effort) and the slash commands ``/`` offers."""

    def wire(self) -> dict[str, Any] | None:
        """What the views show: ``{"settings": [{id, name, category, current, pending,
        choices: [{value, name}]}], "commands": [{name, description, hint}], "more": int,
        "error": str | None}``; None while nothing is known yet."""

    def choose(self, setting: str, value: str | bool) -> None:
        """The person picked ``value`` for ``setting``: the next runs ask for it, and an
        open session is set to it at once (``pending`` until the agent answers); a refusal
        is the wire's ``error``, the selector back as it was."""

    def watch(self, changed: Callable[[], None]) -> None:
        """Call ``changed`` (any thread) once the session's controls may have changed."""


@dataclass(frozen=True)
class ChatActions:
    """What a chat cell's controls do once it can start runs (a past run's cell gets them
    when "Continue this conversation" is clicked)."""

    send: StartRun
    """A typed message or a follow-up chip: the next turn."""
    again: StartRun | None = None
    """Retry / Edit: the last turn's question, or its edit, in place of that turn."""
    new: NewConversation | None = None
    """"New conversation": the next message starts a new thread."""
    retry_note: Callable[[], str] = lambda: ""
    """What to say beside Retry and Edit of the last turn before they are used (that they
    continue the thread); asked again each time a turn is added."""
    attachments: Attachments | None = None
    """How the input's ``@`` mentions are shown before sending and left out when removed."""
    session: SessionControls | None = None
    """The agent session's settings and commands, shown beside the input (ACP)."""
    paste: SendPasted | None = None
    """A typed message with the images pasted into the input (None: the cell takes none: the
    dialect carries no ``media``)."""
    undo: UndoNotebook | None = None
    """"Undo notebook changes" of a turn whose run added or edited cells."""


_BOUNDARIES = (
    ToolCallStarted,
    ToolCallFinished,
    ToolCallDenied,
    ToolApprovalRequested,
    ToolApprovalResponded,
    RunPaused,
    StepReset,
)
"""Events after which the synced transcript is rewritten (never per token)."""
_WAITS_FOR_A_PERSON = (RunPaused, ToolQuestionAsked, ToolQuestionAnswered)
"""What refreshes the static copy before the end: a notebook saved meanwhile says what the
run waits on a person for (an approval, a call's question), or that it no longer does."""


def _waits_for_a_person(run: Run) -> bool:
    """The run is paused for an approval, or one of its calls asks a question."""
    return run.status == "paused" or any(call.asks for call in run.tool_calls)


_DECISIONS = (
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolQuestionAsked,
    ToolQuestionAnswered,
    RunPaused,
)
"""Events that show or take away a card waiting for a person: sent at once, seen or not."""


ALL_CELLS_FPS = 200.0
"""Frames a second all chat cells together send at most while their runs stream: a cell
sends at its own ``max_fps`` while few stream, and its share of this as more do (200 cells
streaming at once: one frame a second each), so that many runs at once do not flood the
kernel's output channel (Jupyter's server drops what passes 1000 messages a second) nor hold
up the kernel's own replies behind it."""

UNSEEN_INTERVAL = 1.0
"""Seconds at least between the frames of a chat cell whose views are all out of sight
(scrolled away, or a page closed without a word: its views are still counted). Its views
still follow the run, once a second; one that comes into sight gets what it lacks at once,
and a run's end, a change of its status, and a card waiting for a person go at once, seen or
not. Fifty asks of one cell stream mostly out of sight: the page handled every frame of
every cell (200 a second), which was most of its work beside those cells. A cell with no view
at all (behind JupyterLab's "Show more outputs", or on no page: nbclient) gets no frame: see
`VIEWS_AT_MOST`."""
VIEWS_AT_MOST = 64
"""The most views a cell keeps count of, the least recently heard from forgotten first (a
page closed without a word leaves its own). A view says it exists when it starts (its first
``seen`` report, its ``hello``) and that it is ``gone`` when it stops; while a cell has none,
it sends no frame at all, nothing drawing it: its synced transcript and static copy are still
written at a run's boundaries and end, and a view that appears gets what it lacks at once.
Until the notebook cell that made it ends, its views cannot say so (the kernel reads their
messages after that cell; marimo, while any cell runs): it is sent frames as if one view out
of sight showed it, until that cell ends or a view speaks."""

_streaming: weakref.WeakSet[ChatController] = weakref.WeakSet()
"""The controllers following a run still going (read and changed on the loop thread only)."""

FIRST_FRAME_HOLD = 0.5
"""Seconds at most a chat cell made while a notebook cell executes holds its first frame,
until that cell ends. anywidget holds a model's messages until the page has imported the
model's module, and JupyterLab handles a kernel's messages one after another: a frame right
behind its model's opening made the page wait for each cell's import in turn (a cell of 50
asks held the kernel 1.0-1.7 s, about half of it these waits). Held, the page opens every
model the cell displays, their imports under way together, before the first frame comes."""

_holding: weakref.WeakSet[ChatController] = weakref.WeakSet()
"""The controllers holding their first frame until the executing cell ends (loop thread)."""
_watching_cells = False
_cells_ended = 0
"""Cells ended since the first held frame (counted on the kernel's thread, as each ends)."""


def _watch_cell_ends() -> None:
    """Release the held first frames when the kernel's cell ends (once per kernel)."""
    global _watching_cells
    shell = kernel_shell()
    if _watching_cells or shell is None:
        return
    _watching_cells = True
    shell.events.register("post_run_cell", _cell_ended)


def _cell_ended(*_result: Any) -> None:
    # counted here, not on the loop: a chat cell the next cell makes must read this cell's end
    # however busy the loop is (else it takes itself for one whose cell ended: no frame)
    global _cells_ended
    _cells_ended += 1
    get_loop().call_soon_threadsafe(_release_held)


def _release_held() -> None:
    for controller in list(_holding):
        controller.release_first_frame()


class ControllerSink(Protocol):
    """Where the controller's output goes (the widget)."""

    def send(self, content: dict[str, Any]) -> None:
        """Send one custom message to every view."""

    def set_transcript(self, transcript: dict[str, Any]) -> None:
        """Write the synced transcript state."""

    def refresh_copies(self) -> None:
        """A run ended, or paused for a human's decision, and its frame went out: refresh the
        static copies (a notebook saved meanwhile says what the run is waiting for)."""


# ---- the controller -----------------------------------------------------------------------


class ChatController:
    """Routes the runs of one widget to its views, on the background loop."""

    def __init__(
        self,
        sink: ControllerSink,
        actions: ChatActions | None,
        *,
        on_turn: Callable[[], None] | None = None,
        keep_verdict: VerdictKeeper | None = None,
        max_fps: float = 30.0,
    ) -> None:
        if max_fps <= 0:
            raise ValueError(f"max_fps must be positive, got {max_fps!r}")
        self._sink = sink
        self._keep_verdict = keep_verdict
        self._on_turn = on_turn
        self._next_started_as: str | None = None
        self._interval = 1.0 / max_fps
        self._loop = get_loop()
        self._actions = actions
        self._preview = self._previewing(actions)
        self._undoing: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly
        self._turns: list[Turn] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._asked_from: int | None = None
        """The oldest frame number held by a view that said hello or asked for a resync,
        until the next flush answers it (-1 where a view could not say)."""
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = float("-inf")
        self._views: dict[str, bool] = {}
        """The views that said they exist and are not gone, each with whether it is on
        screen (or near it), the least recently heard from first (`VIEWS_AT_MOST`); none on
        screen: a frame a second (`UNSEEN_INTERVAL`); none at all: no frame."""
        self._transcript_dirty = False
        self._copy_pending = False
        self._starting = False
        self._closed = False
        self._hold_first = executing_cell()
        """Its first frame waits for the executing cell to end (`FIRST_FRAME_HOLD`)."""
        self._views_unheard = self._hold_first or in_marimo()
        """Made where its views cannot say yet that they exist: in a notebook cell still
        executing (the kernel reads no message before it ends), or in marimo (none while a
        cell runs, and no word of its end). Until that cell ends or a view speaks, it is
        drawn as if a view out of sight showed it (a cell that waits for its run shows it
        streaming)."""
        if self._hold_first:
            _watch_cell_ends()
        self._made_in = _cells_ended
        self.frames_sent = 0
        """Messages sent to the views (deltas, snapshots, answers to hellos), for tests and
        benchmarks."""
        watch_verdicts(self)

    # ---- any thread --------------------------------------------------------------------
    def add(self, run: Run, handle: RunHandle | None = None, *, retryable: bool = True) -> None:
        """Show ``run`` as the next turn; with a handle, follow it live. Its `Turn.started_as`
        is what the view asked last (a new conversation, a retry, an edit) and no turn took
        yet; a turn not ``retryable`` (a view's call) is never replaced by Retry or Edit.
        ``on_turn()`` is called then."""
        with self._lock:
            started_as, self._next_started_as = self._next_started_as, None
            turn = Turn(run=run, handle=handle, started_as=started_as, retryable=retryable)
            self._turns.append(turn)
            index = len(self._turns) - 1
        if self._on_turn is not None:
            self._on_turn()
        self._loop.call_soon_threadsafe(self._follow, index)

    def set_actions(self, actions: ChatActions, *, started_as: str | None = None) -> None:
        """Let the cell start runs from now on (any thread); the next turn's caption says
        ``started_as`` (an opened past run's: "continued")."""
        with self._lock:
            self._actions = actions
            self._next_started_as = started_as
            self._preview = self._previewing(actions)

    def _previewing(self, actions: ChatActions | None) -> AttachmentPreview | None:
        if actions is None or actions.attachments is None:
            return None
        return AttachmentPreview(actions.attachments, self._send, self._loop)

    def show_verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        """The verdict kept for run ``local_id``, shown on its turns (any thread)."""
        self._loop.call_soon_threadsafe(self._show_verdict, local_id, value, comment)

    def notice(self, text: str) -> None:
        """Show ``text`` in the cell's notice line (any thread)."""
        self._loop.call_soon_threadsafe(self._notice, text)

    @property
    def attachments(self) -> Attachments | None:
        """How the cell's messages' ``@`` mentions are read, when they can be."""
        return self._actions.attachments if self._actions is not None else None

    @property
    def start_run(self) -> StartRun | None:
        """The callback that starts the next turn's run, if the cell can start runs."""
        return self._actions.send if self._actions is not None else None

    def receive(self, content: Any) -> None:
        """A message from a view, on whatever thread the kernel delivered it."""
        self._loop.call_soon_threadsafe(self._on_message, content)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._close)

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def runs(self) -> list[Run]:
        return [turn.run for turn in list(self._turns)]

    @property
    def handles(self) -> list[RunHandle]:
        return [turn.handle for turn in list(self._turns) if turn.handle is not None]

    # ---- loop thread -------------------------------------------------------------------
    def _follow(self, index: int) -> None:
        turn = self._turns[index]
        self._transcript_dirty = True
        if turn.handle is not None:
            turn.handle.add_listener(lambda r, e: self._on_event(index, r, e))
            # A run that paused or asked a question before it was followed (a busy kernel)
            # sent that event to no one: its copy says it waits all the same. Events come on
            # this loop, after.
            turn.run = turn.handle.run
            if _waits_for_a_person(turn.run):
                self._copy_pending = True
            if not turn.run.done:
                _streaming.add(self)
        else:
            turn.ended = turn.run.done
        self._schedule(now=True)  # a new turn shows at once, seen or not

    def _on_event(self, index: int, run: Run, event: Event | None) -> None:
        turn = self._turns[index]
        turn.run = run
        urgent = isinstance(event, _DECISIONS) or turn.sent_meta.get("status") != run.status
        if isinstance(event, _BOUNDARIES):
            self._transcript_dirty = True
        if isinstance(event, _WAITS_FOR_A_PERSON):
            self._copy_pending = True
        if event is None and not turn.ended:
            turn.ended = True
            if all(turn.ended for turn in self._turns):
                _streaming.discard(self)
            self._transcript_dirty = True
            self._copy_pending = True
            # The end goes out at once, before the handle's waiters wake: a cell that waited
            # for the run ends with the views and the static copy already final.
            if self._flush_handle is not None:
                self._flush_handle.cancel()
            self._flush()
            return
        self._schedule(now=urgent)

    def _schedule(self, *, now: bool = False, seen: bool = False) -> None:
        """Flush at the next frame this cell may send: ``now`` (a card, a status, a view
        come into sight), at its share of the frame budget where a view shows it or ``seen``
        (a view asked), else once every `UNSEEN_INTERVAL`. A flush already due sooner stays.
        With no view, only what the kernel keeps itself is flushed: the transcript and the
        static copy (`VIEWS_AT_MOST`)."""
        if self._closed:
            return
        if not self._drawn() and not (self._transcript_dirty or self._copy_pending):
            return
        self._hold_first = self._hold_first and self._made_in == _cells_ended
        if self._hold_first:
            if self._flush_handle is None:
                _holding.add(self)
                self._flush_handle = self._loop.call_later(FIRST_FRAME_HOLD, self._flush)
            return
        due = self._loop.time() if now else self._last_flush + self._spacing(seen)
        if self._flush_handle is not None:
            if self._flush_handle.when() <= due:
                return
            self._flush_handle.cancel()
        self._flush_handle = self._loop.call_at(max(due, self._loop.time()), self._flush)

    def _spacing(self, seen: bool) -> float:
        interval = max(self._interval, len(_streaming) / ALL_CELLS_FPS)
        return interval if seen or self._in_sight() else max(interval, UNSEEN_INTERVAL)

    def _drawn(self) -> bool:
        """Some view draws this cell's frames: one said it exists, or asked to catch up, or
        may yet say so once the cell that made this one ends."""
        if self._views or self._asked_from is not None:
            return True
        return self._views_unheard and self._made_in == _cells_ended

    def _in_sight(self) -> bool:
        return any(self._views.values())

    def release_first_frame(self) -> None:
        """The cell that made this chat cell ended: its held first frame goes now (loop)."""
        if self._flush_handle is not None:  # held (a held frame leaves `_holding` once sent)
            self._flush_handle.cancel()
            self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        self._hold_first = False
        _holding.discard(self)
        if self._closed:
            return
        held = self._seq
        if self._drawn():
            self._send_frames(held)
        elif self._transcript_dirty and self._changes():
            # No view draws a frame: the transcript written below carries this frame number,
            # so a view that starts from it (or a hello from it) takes the next delta as next.
            self._seq += 1
        if self._seq != held or self._transcript_dirty:
            self._last_flush = self._loop.time()
        if self._transcript_dirty:
            self._transcript_dirty = False
            self._guard(self._sink.set_transcript, {"seq": self._seq, **self._state()})
        if self._copy_pending:
            self._copy_pending = False
            self._guard(self._sink.refresh_copies)

    def _send_frames(self, held: int) -> None:
        """What changed since the last frame, then the answers to the views that asked."""
        ops = self._changes()
        if ops:
            self._seq += 1
            self._send({"kind": "delta", "seq": self._seq, "now": time.time(), "ops": ops})
        if self._asked_from is not None:
            self._answer_views(current=self._asked_from == held)
            self._last_flush = self._loop.time()

    def _changes(self) -> list[dict[str, Any]]:
        """The ops that bring the views from the last frame to the runs' state, which becomes
        the next frame's starting point (see `Turn.diff`)."""
        return [op for t, turn in enumerate(self._turns) for op in turn.diff(t)]

    def _answer_views(self, *, current: bool) -> None:
        """Answer the views that said hello or asked for a resync: a view that holds every
        frame sent before this flush is told it is current (a few bytes: a page of many chat
        cells, each view saying hello, gets no transcripts it has), the others get a snapshot."""
        self._asked_from = None
        if current:
            self._send({"kind": "current", "seq": self._seq, "now": time.time()})
        else:
            state = self._state()
            self._send({"kind": "snapshot", "seq": self._seq, "now": time.time(), "state": state})

    def _state(self) -> dict[str, Any]:
        return {"turns": [turn.wire() for turn in self._turns]}

    def _send(self, content: dict[str, Any]) -> None:
        self.frames_sent += 1
        self._guard(self._sink.send, content)

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a closed comm must not break the run or the loop
            warn(f"agentnb: chat widget update failed: {exc!r}", stacklevel=1)

    def _notice(self, text: str) -> None:
        self._send({"kind": "notice", "text": text})

    def _on_message(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind in ("hello", "resync"):
            have = content.get("have")
            have = have if isinstance(have, int) and not isinstance(have, bool) else -1
            asked = self._asked_from
            self._asked_from = have if asked is None else min(asked, have)
            self._heard_from(content.get("view"))
            self._schedule(seen=True)
        elif kind == "seen" and isinstance(content.get("seen"), bool):
            self._heard_from(content.get("view"), content["seen"])
        elif kind == "gone":
            self._gone(content.get("view"))
        elif kind == "stop":
            self._stop(content.get("t"))
        elif kind in ("approve", "deny"):
            self._decide(kind == "approve", content)
        elif kind == "answer":
            self._answer(content)
        elif kind == "reply":
            self._reply(content)
        elif kind in ("followup", "send"):
            text = content.get("text")
            if isinstance(text, str) and text.strip():
                text = self._detached(text, content.get("detach")).strip()
                if kind == "followup" and self.attachments is not None:
                    text = self.attachments.as_text(text)  # the agent's words: @ is text
                try:
                    media = pasted_media(content.get("images") if kind == "send" else None)
                except ValueError as exc:
                    self._notice(f"Not sent: {exc}.")
                    return
                self._begin_next(text, media=media)
        elif kind == "preview":
            if self._preview is not None:
                self._preview.request(content)
        elif kind in ("retry", "edit"):
            self._again(kind, content)
        elif kind == "new":
            self._new()
        elif kind == "verdict":
            self._verdict(content)
        elif kind == "config":
            self._choose(content)
        elif kind == "undo_notebook":
            self._undo_notebook(content.get("t"))

    def _heard_from(self, view: Any, seen: bool | None = None) -> None:
        """A view said it exists (a hello: on screen or not, as it last said) or whether it
        is on screen (or near it). The first view of a cell with none, or the first in sight
        of a cell out of sight, gets what the cell held back at once."""
        if not isinstance(view, str) or len(view) > 64:
            return
        drawn, in_sight = bool(self._views), self._in_sight()
        self._views_unheard = False
        was_seen = self._views.pop(view, False)
        self._views[view] = was_seen if seen is None else seen
        while len(self._views) > VIEWS_AT_MOST:
            del self._views[next(iter(self._views))]
        if not drawn or (self._in_sight() and not in_sight):
            self._schedule(now=True)

    def _gone(self, view: Any) -> None:
        """A view stopped (its output cleared or drawn again, a newer view in its place): a
        cell left with none sends no more frames."""
        if isinstance(view, str):
            self._views.pop(view, None)

    def _choose(self, content: dict[str, Any]) -> None:
        """A setting picked beside the input: set at once where a session is open, asked
        for by the next runs, or the person told why not."""
        session = self._actions.session if self._actions is not None else None
        setting, value = content.get("id"), content.get("value")
        if session is None or not isinstance(setting, str) or not isinstance(value, str | bool):
            return
        try:
            session.choose(setting, value)
        except Exception as exc:  # said in the cell, never raised there
            self._notice(f"Could not set {setting}: {exc}")

    def _detached(self, text: str, mentions: Any) -> str:
        """``text`` without the attachments removed in the view (``detach``: their mentions)."""
        if self._preview is None or not isinstance(mentions, list) or not mentions:
            return text
        return self._preview.attachments.without(text, [m for m in mentions if isinstance(m, str)])

    def _verdict(self, content: dict[str, Any]) -> None:
        """A person's ✓ / ✗ (and note) on a finished turn: kept as the run's score
        ``verdict`` (the keeper tells every view of the run), or the person told why not."""
        index, value, comment = content.get("t"), content.get("value"), content.get("comment")
        if self._keep_verdict is None:
            self._notice("This cell cannot keep a verdict.")
            return
        if not isinstance(index, int) or not 0 <= index < len(self._turns):
            return
        if not isinstance(value, bool) or not (comment is None or isinstance(comment, str)):
            return
        run = self._turns[index].run
        if not run.done:
            self._notice("Give a verdict once the answer is finished.")
            return
        note = (comment or "").strip() or None
        try:
            self._keep_verdict(run.local_id, value, note)
        except Exception as exc:  # the history's error, said in the cell, never raised there
            self._notice(f"Could not keep the verdict: {exc}")
            return
        self._notice("Verdict kept: good" if value else "Verdict kept: bad")

    def _show_verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        for turn in self._turns:
            if turn.run.local_id == local_id:
                turn.verdict = {"value": value, "comment": comment}
                self._transcript_dirty = True
        self._schedule()

    def _again(self, kind: str, content: dict[str, Any]) -> None:
        """Retry the last turn's question, or send it edited, from where that turn started."""
        index, text = content.get("t"), content.get("text")
        if self._actions is None or self._actions.again is None or not self._turns:
            self._notice("This cell cannot retry a turn.")
            return
        if index != len(self._turns) - 1:
            self._notice("Only the last turn can be retried or edited.")
            return
        if not self._turns[-1].retryable:
            self._notice("This turn is a call an MCP App view made: it cannot be retried.")
            return
        if kind == "retry":
            text = self._turns[-1].run.asked
        if not isinstance(text, str) or not text.strip():
            return
        self._begin_next(self._detached(text, content.get("detach")).strip(), again=kind)

    def _undo_notebook(self, index: Any) -> None:
        """Take back what turn ``index``'s run did to the notebook, saying what was undone or
        which cells a person changed since. Run as a task of the kernel's own loop: the
        page's answer reaches the kernel while it waits."""
        undo = self._actions.undo if self._actions is not None else None
        if undo is None or not isinstance(index, int) or not 0 <= index < len(self._turns):
            self._notice("This cell cannot undo: await agentnb.undo_notebook(run) in a cell.")
            return
        run = self._turns[index].run

        async def undone() -> None:
            try:
                said = await undo(run)
            except Exception as exc:  # said in the cell, never raised there
                self._notice(f"Undo: {exc}")
            else:
                self._notice(f"Undone: {', '.join(said)}.")

        try:
            self._undoing = asyncio.get_running_loop().create_task(undone())
        except RuntimeError:  # no loop runs this front end's messages
            self._notice("This page cannot undo here: await agentnb.undo_notebook(run).")

    def _new(self) -> None:
        """The next message starts a new conversation (a new thread on the platform)."""
        if self._actions is None or self._actions.new is None:
            self._notice("This cell cannot start a new conversation.")
            return
        if self._starting or any(not turn.run.done for turn in self._turns):
            self._notice("A run is still going; wait for it to end or stop it first.")
            return
        try:
            self._actions.new()
        except Exception as exc:
            self._notice(f"Could not start a new conversation: {exc}")
            return
        self._next_started_as = "new"
        self._notice("New conversation: your next message starts a new thread.")

    def _stop(self, index: Any) -> None:
        turns = self._turns
        if isinstance(index, int) and 0 <= index < len(turns):
            turns = [turns[index]]
        for turn in turns:
            if turn.handle is not None and not turn.run.done:
                turn.handle.cancel()

    def _decide(self, approved: bool, content: dict[str, Any]) -> None:
        """Pass a view's Approve / Allow for this run / Deny to the run's handle."""
        reason = content.get("reason")
        if reason is not None and not isinstance(reason, str):
            return
        reason = (reason or "").strip() or None
        if approved:
            for_run = content.get("for_run") is True
            self._to_handle(content, "approve", lambda h, c: h.approve(c, reason, for_run=for_run))
        else:
            self._to_handle(content, "deny", lambda h, c: h.deny(c, reason))

    def _answer(self, content: dict[str, Any]) -> None:
        """Pass a view's answer to the agent's question to the run's handle."""
        text = content.get("text")
        if isinstance(text, str):
            self._to_handle(content, "answer", lambda h, c: h.answer(c, text))

    def _reply(self, content: dict[str, Any]) -> None:
        """Pass a view's reply to the question a running call asks (its card's form or
        link) to the run's handle."""
        action, form = content.get("action"), content.get("content")
        if isinstance(action, str) and (form is None or isinstance(form, dict)):
            self._to_handle(content, "reply to", lambda h, c: h.reply(c, action, form))

    def _to_handle(
        self, content: dict[str, Any], verb: str, act: Callable[[RunHandle, str], None]
    ) -> None:
        """``act`` on the handle of the turn with the view's call; say why when it cannot be
        (no live run, or the handle's refusal: decided twice, not waiting, ...)."""
        call_id = content.get("call_id")
        if not isinstance(call_id, str):
            return
        turn = self._turn_of(call_id, content.get("t"))
        if turn is None or turn.handle is None:
            self._notice(f"Cannot {verb} tool call {call_id}: this cell shows no live run.")
            return
        try:
            act(turn.handle, call_id)
        except Exception as exc:
            self._notice(f"Could not {verb} tool call {call_id}: {exc}")

    def _turn_of(self, call_id: str, index: Any) -> Turn | None:
        """Turn ``index`` when the view named one, else the latest turn with the call, else
        the latest turn (whose handle then says the call is not its)."""
        turns = self._turns
        if isinstance(index, int) and 0 <= index < len(turns):
            return turns[index]
        candidates = [turn for turn in turns if turn.run.tool_call(call_id) is not None] or turns
        return candidates[-1] if candidates else None

    def _begin_next(
        self, text: str, *, again: str | None = None, media: tuple[Media, ...] = ()
    ) -> None:
        if self._actions is None:
            self._notice("This cell cannot start runs; copy the question into a new cell.")
            return
        if media and self._actions.paste is None:
            self._notice("Not sent: this cell's agent takes no images.")
            return
        if self._starting or any(not turn.run.done for turn in self._turns):
            self._notice("A run is still going; wait for it to end or stop it first.")
            return
        self._starting = True
        start_run = self._actions.again if again else self._actions.send
        assert start_run is not None
        if again:
            self._next_started_as = again
        # The caller's callback may block (open a thread on the server, wait on the loop):
        # run it on a worker thread so the loop stays free.
        if media and self._actions.paste is not None:
            future = self._loop.run_in_executor(None, self._actions.paste, text, media)
        else:
            future = self._loop.run_in_executor(None, start_run, text)
        future.add_done_callback(self._started)

    def _started(self, future: asyncio.Future[RunHandle | None]) -> None:
        self._starting = False
        try:
            handle = future.result()
        except Exception as exc:
            self._notice(f"Could not start the run: {exc}")
            return
        if handle is None:
            return
        if not isinstance(handle, RunHandle):
            self._notice(f"start_run returned {type(handle).__name__}, not a RunHandle.")
            return
        self.add(handle.run, handle)

    def _close(self) -> None:
        self._closed = True
        _streaming.discard(self)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
