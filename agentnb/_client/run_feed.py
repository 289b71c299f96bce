"""`RunFeed`: a run's frames into its events, for :class:`~agentnb._client.stream.AsyncRunStream`.

Each frame the :class:`~agentnb._client.frame_reader.FrameReader` hands on is checked by the
replay guard (nothing applied twice after a resume), translated by the dialect and cleaned
of the key. Then either the event is applied at once (stamped, folded into the run,
recorded, passed to the consumer's callback: a consumed stream, while nothing waits before
it), or it waits in :attr:`RunFeed.queue` for the stream's task: every event of an
iteration, and the events the task handles itself (the run's end, a pause, a failure that
may be retried) with those after them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .._core.exceptions import error_for_run
from .._core.run import Run
from ..events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    StepStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
    stamp,
)
from ..providers import Translator
from ..sse import ServerSentEvent
from .clock import RunClock
from .recording import RunRecording
from .replay import FRAME_MEMORY, ReplayGuard

__all__ = ["RunFeed"]

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallStarted, ToolCallDelta, ToolCallFinished)
_TASK_EVENTS = (RunCompleted, RunFailed, RunPaused)
"""Events the stream's task handles itself (the run's end, a retry, a pause)."""
_NOT_PROGRESS = frozenset({RunStarted, StepStarted, UnknownEvent})
"""Events that do not move a run on: a server may send them again after every cut."""


class RunFeed:
    """One run's way from frames to applied events (see the module)."""

    def __init__(
        self,
        run: Run,
        clock: RunClock,
        recording: RunRecording,
        redact: Callable[[Event], Event],
    ) -> None:
        self._run = run
        self._clock = clock
        self._recording = recording
        self._redact = redact
        self._translator: Translator | None = None
        self.guard: ReplayGuard
        """What the stream applied (:meth:`restart` makes it, before its first frame)."""
        self.last_id: str | None = None
        """The last SSE event id received: what a resume sends as ``Last-Event-ID``."""
        self.queue: list[Event] = []
        """Events waiting for the stream's task, in order (a list: it holds a few)."""
        self.inline: Callable[[Event], None] | None = None
        """The consumer's callback when events are applied as they arrive (None: iterated)."""
        self.content_started = False
        """Whether an answer, reasoning or tool call arrived (a failure is then not retried)."""
        self.resumes_in_a_row = 0
        """Resumes since the last event that was progress."""
        self.halted = False
        """A Stop came (:meth:`halt`): nothing more is applied to the run."""
        self._seq = 0

    @property
    def translator(self) -> Translator | None:
        """The dialect's translator of the stream being read."""
        return self._translator

    def restart(self, translator: Translator) -> None:
        """A new translator: the run's stream starts over (a retry), nothing seen yet."""
        self._translator = translator
        translator.follow(self._run)
        self.guard = ReplayGuard()
        self.last_id = None

    def halt(self) -> None:
        """A Stop: the frames still to come (those read in the same chunk included: a busy
        machine reads many at once) are dropped, and the queue with them, so the run stays
        as it was when the Stop was given while the stream's task reaches its cancellation."""
        self.halted = True
        self.queue.clear()

    def on_frame(self, sse: ServerSentEvent) -> bool:
        """One frame: its events applied at once (see the module), or queued. False: the
        queue holds events for the stream's task."""
        if self.halted:
            return True
        self.last_id = sse.id or self.last_id
        if not self.guard.admit(sse):
            return True  # replayed after a resume: applied already
        if not self._run.keep_overhead(FRAME_MEMORY) and (error := error_for_run(self._run)):
            raise error
        assert self._translator is not None
        events = self._translator.translate(sse)
        redact, queue, inline = self._redact, self.queue, self.inline
        if inline is None or queue:
            queue.extend(map(redact, events))
            return not queue
        for at, event in enumerate(events):
            event = redact(event)
            if isinstance(event, _TASK_EVENTS):
                queue.append(event)
                queue.extend(map(redact, events[at + 1 :]))
                return False
            self.deliver(event)
            self.made_progress(event)
            inline(event)
            if self.halted:  # the callback stopped the run
                return True
        return True

    def on_end(self) -> bool:
        """The stream ended cleanly: what that means to the dialect (its run's end or pause
        where the stream ends: Google ADK's, a LangGraph join), queued for the stream's task
        as a frame's events are. False: the queue holds events for it."""
        if self.halted:  # stopped: the end the stream brings is not the run's
            return True
        assert self._translator is not None
        self.queue.extend(map(self._redact, self._translator.ended()))
        return not self.queue

    def frame_past_cap(self, cap: int) -> None:
        """A frame went past ``cap``, the decoder's cap: when it is no less than the run's
        bound, the run ends past its bound (:class:`~agentnb.RunTooLargeError`), as a run
        that kept too much; else the decoder's error stands."""
        bound = self._run.max_size
        if bound is None or cap < bound:
            return
        if not self._run.keep_overhead(cap + 1) and (error := error_for_run(self._run)):
            raise error from None

    def made_progress(self, event: Event) -> None:
        """A resume counts as progress only when the run advanced: an opening frame, a step
        marker or an unknown frame sent again after every cut does not."""
        if type(event) not in _NOT_PROGRESS:
            self.resumes_in_a_row = 0

    def deliver(self, event: Event) -> Event:
        """Stamp ``event`` (``seq``, ``received_at``), apply it to the run, record it."""
        stamp(event, self._seq, time.time())
        self._seq += 1
        self._run.apply(event)
        ended_itself = self._run.done and not isinstance(event, _TASK_EVENTS)
        if ended_itself and (error := error_for_run(self._run)):  # past its max_size
            raise error
        if not isinstance(event, UnknownEvent):
            self._clock.progress()
        if isinstance(event, _CONTENT_EVENTS):
            self.content_started = True
        self._recording.after(event)
        return event
