"""A run printed live in a terminal, as :mod:`.run_text` writes it (the plain-text output a
notebook rewrites as the run goes is :class:`~agentnb._display.display_slot.PlainDisplay`).

Everything a server sent (answer, reasoning, tool names, arguments, outputs, errors) goes
through :func:`~agentnb._core.text.terminal_safe` first, so a server cannot write the
clipboard, retitle the window or clear the screen through the answer.

In a terminal every line is wrapped at word boundaries to its width by rich, as the answer's
markdown is (:func:`fit_lines`; reasoning as it streams, a word at a time: :class:`WordWrap`),
so no word is broken across two lines; a continued line is indented under its first. Into a
pipe or a file lines stay whole."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from .._core.run import PLAN_EVENT, Run, ToolCall
from .._core.shown_call import ShownArgument, shown_call
from .._core.text import excerpt, terminal_safe
from ..events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunPaused,
    StepReset,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
)

if TYPE_CHECKING:
    from rich.markdown import Markdown
from .run_text import (
    NAME_CHARS,
    TOOL_MARKS,
    call_head,
    call_spent,
    indent,
    no_result_note,
    plan_lines,
    summary_line,
    tool_output,
)

__all__ = [
    "TerminalPrinter",
    "WordWrap",
    "fit_lines",
    "print_fitted",
    "terminal_width",
]

DIM, RED, GREEN, YELLOW, CYAN, RESET = (
    "\x1b[2m",
    "\x1b[31m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[0m",
)


HANG = 2
"""Columns a continued line is indented past its first line's indentation."""
_WORD = re.compile(r"\n|[^\S\n]+|\S+")


def terminal_width(out: IO[str]) -> int | None:
    """The width lines written to ``out`` are wrapped to: the terminal's, or None for a pipe
    or a file (lines stay whole)."""
    try:
        if not out.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return max(shutil.get_terminal_size().columns, 20)


def fit_lines(text: str, width: int | None) -> str:
    """``text``'s lines wrapped at word boundaries to ``width`` by rich (a word longer than a
    line is folded); each continued line indented ``HANG`` past its first. None: as it is."""
    if width is None:
        return text
    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    out = []
    for line in text.split("\n"):
        if cell_len(line) <= width:
            out.append(line)
            continue
        lead = len(line) - len(line.lstrip(" "))
        pad = " " * (lead + HANG)
        pieces = Text(line[lead:]).wrap(console, max(width - len(pad), 10), overflow="fold")
        rows = [piece.plain.rstrip() for piece in pieces]
        out.append(" " * lead + rows[0])
        out += [pad + row for row in rows[1:]]
    return "\n".join(out)


def print_fitted(text: str, out: IO[str] | None = None) -> None:
    """Print ``text`` to ``out`` (default: stderr, where warnings and errors go), wrapped at
    words to its terminal's width."""
    out = sys.stderr if out is None else out
    print(fit_lines(text, terminal_width(out)), file=out, flush=True)


class WordWrap:
    """Streamed text written a word at a time, a word that would pass ``width`` moved to a
    new line (indented ``hang``): reasoning as it arrives, wrapped as :func:`fit_lines` wraps
    a whole line; the spaces between words, and before a line's first (its indentation),
    as written. ``width`` None writes the text as it comes."""

    def __init__(self, out: IO[str], width: int | None, *, column: int = 0, hang: str = "") -> None:
        self._out = out
        self._width = width
        self._column = column
        self._hang = hang
        self._word = ""

    def write(self, text: str, paint: str = "") -> None:
        if self._width is None:
            self._out.write(f"{paint}{text}{RESET}" if paint else text)
            return
        pieces = _WORD.findall(self._word + text)
        self._word = pieces.pop() if pieces and not pieces[-1].isspace() else ""
        self._put(pieces, paint)

    def flush(self, paint: str = "") -> None:
        """Write the word still open (the text ended)."""
        word, self._word = self._word, ""
        if word:
            self._put([word], paint)

    def _put(self, pieces: list[str], paint: str) -> None:
        assert self._width is not None
        out = ""
        for piece in pieces:
            if piece == "\n":
                out += "\n"
                self._column = 0
            elif piece.isspace():  # kept as written (a code line's indentation), where it fits
                if self._column + len(piece) < self._width:
                    out += piece
                    self._column += len(piece)
                elif 0 < self._column < self._width:  # one, so the next word is one apart
                    out += " "
                    self._column += 1
            else:
                size = cell_len(piece)
                if self._column + size > self._width and self._column > len(self._hang):
                    out = out.rstrip(" ") + "\n" + self._hang
                    self._column = len(self._hang)
                out += piece
                self._column += size
        if out:
            self._out.write(f"{paint}{out}{RESET}" if paint else out)


class TerminalPrinter:
    """A run listener printing the run as it streams: reasoning dimmed, tool calls as one-line
    notes (awaiting approval, approved, denied with the reason, no result), a pause, the
    answer as it arrives, and a summary line at the end.

    A call a sub-agent made inside another is indented under it with the agent's name (the
    tree of :mod:`agentnb._display.call_tree`); what a sub-agent writes or thinks inside a
    call is printed dimmed on that call's indented ``┆`` lines, never in the answer.

    In colour (a terminal, without ``NO_COLOR``) the answer's markdown is rendered with rich
    (headings, emphasis, code, tables), block by block: a paragraph, list, table or code
    block is printed once it is complete (a blank line after it, outside a code fence, or
    the end of the answer). Without colour the answer is written as it arrives."""

    def __init__(self, out: IO[str] | None = None, *, color: bool | None = None) -> None:
        self._out = out or sys.stdout
        if color is None:
            color = self._out.isatty() and os.environ.get("NO_COLOR") is None
        self._color = color
        self._width = terminal_width(self._out)
        self._blocks = MarkdownBlocks(self._out) if color else None
        self._stream: WordWrap | None = None
        """The reasoning (or a sub-agent's text) streaming now, wrapped a word at a time."""
        self._last: str | None = None
        self._shown: dict[str, str] = {}  # each call's printed line ("": a prompt showed it)
        # a terminal prompt shows each call it asks about (approval_prompt.printed_with): the
        # call reads once, its line the prompt's, and the y typed there is its approval
        self.prompted = False
        self._denied: set[str] = set()
        """Calls whose denial was printed."""
        self._level: dict[str, int] = {}
        """The nesting level of each call seen (0 at the top), by the call tree's rule."""

    def _paint(self, text: str, code: str) -> str:
        text = fit_lines(text, self._width)
        return f"{code}{text}{RESET}" if self._color else text

    def _switch(self, kind: str, header: str | None = None, hang: str = "") -> None:
        if self._last == "text" and kind != "text" and self._blocks is not None:
            self._blocks.flush()
        if self._stream is not None and self._last != kind:
            self._stream.flush(DIM if self._color and self._last != "text" else "")
            self._stream = None
        if self._last is not None and self._last != kind:
            self._out.write("\n")
        if self._last != kind and header:
            self._out.write(self._paint(header, DIM))
            column = cell_len(header)
            self._stream = WordWrap(self._out, self._width, column=column, hang=hang)
        self._last = kind

    def __call__(self, run: Run, event: Event | None) -> None:
        match event:
            case TextDelta() | ReasoningDelta() if event.parent_call_id is not None:
                self._sub_agent(run, event)
            case ReasoningDelta():
                fresh = self._last != "reasoning"
                self._switch("reasoning", "thinking: ", " " * HANG)
                delta = event.delta.lstrip() if fresh else event.delta
                self._write_stream(terminal_safe(delta))
            case TextDelta():
                self._switch("text")
                if self._blocks is not None:
                    self._blocks.add(terminal_safe(event.delta))
                else:
                    self._write_stream(terminal_safe(event.delta), dim=False)
            case ToolCallStarted():
                self._level_of(run, event.call_id)  # its place is where it started
                if event.arguments is None or event.call_id in self._shown:
                    return  # one line a call, with its arguments: printed once they are known
                self._switch("tool")
                self._show_start(run, event.call_id)
            case ToolCallFinished():
                self._switch("tool")
                self._show_start(run, event.call_id)
                self._out.write(self._tool_result(run, event))
            case ToolApprovalRequested() | ToolApprovalResponded() | ToolCallDenied():
                self._switch("tool")
                self._approval(run, event)
            case RunPaused() if not self.prompted:  # a prompt is the wait
                self._switch("tool")
                self._out.write(self._paint(self._pause(run), YELLOW))
            case CustomEvent(name=name) if name == PLAN_EVENT and "plan" in run.extras:
                self._switch("tool")
                self._out.write(self._paint("\n".join(plan_lines(run.extras["plan"])) + "\n", DIM))
            case StepReset():
                self._switch("tool")
                note = "↺ the agent discarded its last step (the text above may not stand)\n"
                self._out.write(self._paint(note, DIM))
            case None:
                self._switch("end")
                for call in run.tool_calls:  # started, never given arguments nor a result
                    self._show_start(run, call.call_id)
                self._out.write(self._unreported(run))
                self._out.write(self._unapproved(run))
                ok = run.status == "completed"
                self._out.write(self._paint(summary_line(run), GREEN if ok else RED) + "\n")
                self._out.write(self._followups(run))
            case _:
                return
        self._out.flush()

    def catch_up(self, run: Run) -> None:
        """Print what ``run`` holds so far as its events would have printed it: a printer
        joining a run already going, or ended, misses nothing
        (``handle.add_listener(printer, catch_up=printer.catch_up)``)."""
        for event in _events_so_far(run):
            self(run, event)

    def _level_of(self, run: Run, call_id: str) -> int:
        """A call's nesting level: its parent's + 1 when the parent was seen before it."""
        level = self._level.get(call_id)
        if level is None:
            parent = self._call(run, call_id).parent_call_id
            level = self._level[parent] + 1 if parent in self._level else 0
            self._level[call_id] = level
        return level

    @staticmethod
    def _call(run: Run, call_id: str) -> ToolCall:
        """The call an event names: the run folds each event in before its listeners hear it."""
        call = run.tool_call(call_id)
        assert call is not None, call_id
        return call

    def _show_start(self, run: Run, call_id: str) -> None:
        """The call's line, printed once."""
        if call_id not in self._shown:
            line = call_head(self._call(run, call_id), self._level_of(run, call_id))
            self._shown[call_id] = line
            self._out.write(self._paint(line + "\n", CYAN))

    def asked(self, call_id: str) -> str | None:
        """The call's line printed so far (None: none), for the prompt now asking about it:
        the prompt's line is the call's from now on."""
        return self._shown.setdefault(call_id, "") or None

    def _sub_agent(self, run: Run, event: TextDelta | ReasoningDelta) -> None:
        """A sub-agent's text or reasoning, on the dimmed ``┆`` lines of its call, its line
        breaks folded to spaces (compact: the answer is the top agent's)."""
        call_id = event.parent_call_id or ""
        kind = f"{event.type}/{call_id}"
        if self._last != kind:
            if self._last == "tool":
                self._last = None  # a tool line ended with its line break
            level = self._level_of(run, call_id) + 1
            who = excerpt(event.agent, 40, marked=True) if event.agent else "sub-agent"
            thinks = " thinking" if event.type == "reasoning_delta" else ""
            self._switch(kind, f"{indent(level)}┆ {who}{thinks}: ", f"{indent(level)}┆ ")
        delta = terminal_safe(event.delta).replace("\r", " ").replace("\n", " ")
        self._write_stream(delta)

    def _write_stream(self, text: str, *, dim: bool = True) -> None:
        if self._stream is None:
            self._stream = WordWrap(self._out, self._width)
        self._stream.write(text, DIM if self._color and dim else "")

    def _approval(
        self, run: Run, event: ToolApprovalRequested | ToolApprovalResponded | ToolCallDenied
    ) -> None:
        call = self._call(run, event.call_id)
        name = excerpt(call.name or event.call_id, NAME_CHARS, marked=True)
        pad = indent(self._level_of(run, event.call_id))
        asks = isinstance(event, ToolApprovalRequested) and event.question is None
        if not (asks and self.prompted):
            self._show_start(run, event.call_id)  # else the prompt shows the call it asks about
        if isinstance(event, ToolApprovalRequested):
            if self.prompted and not asks:
                return  # the prompt asks the question, under the call's line
            head = f"{pad}  {TOOL_MARKS['awaiting_approval']} {name}"
            shown = shown_call(call)
            why = shown.head()  # a read's lines and a diff: the prompt's, else its gutter
            said = f"{head} awaits approval"
            line = ShownArgument(said, why).text() if why else said
            if event.question is not None:
                line = f"{head} asks: {excerpt(event.question, 500, marked=True)}"
            under = [] if self.prompted else shown.diff_block()
            self._out.write(self._paint("\n".join([line, *under]) + "\n", YELLOW))
        elif isinstance(event, ToolApprovalResponded) and event.decided_by == "server":
            if call.approval is not None and call.approval.decided_by != "server":
                return  # the platform's echo of the decision made here: shown already
            said = "approved" if event.approved else "denied"
            line = f"{pad}  ⚠ {name} {said} by the server itself, not by you\n"
            self._out.write(self._paint(line, YELLOW))
        elif isinstance(event, ToolApprovalResponded) and event.approved:
            if self.prompted and event.decided_by == "user":
                return  # what the person typed at the prompt says it
            answer = None if event.answer is None else excerpt(event.answer, 200, marked=True)
            said = "approved" if answer is None else f"answered: {answer}"  # an answer of 0 too
            self._out.write(self._paint(f"{pad}  ✓ {name} {said}\n", GREEN))
        elif event.call_id not in self._denied:
            self._denied.add(event.call_id)
            reason = event.reason or call.error
            why = f": {excerpt(reason, 200, marked=True)}" if reason else ""
            line = f"{pad}  {TOOL_MARKS['denied']} {name} denied{why}\n"
            self._out.write(self._paint(line, RED))

    def _pause(self, run: Run) -> str:
        names = ", ".join(
            excerpt(c.name or c.call_id, NAME_CHARS, marked=True) for c in run.awaiting_approval
        )
        waiting = f" on {names}" if names else ""
        return f"{TOOL_MARKS['awaiting_approval']} paused: waiting for a decision{waiting}\n"

    def _unreported(self, run: Run) -> str:
        calls = [call for call in run.tool_calls if call.status == "no_result"]
        if not calls:
            return ""
        lines = [
            f"  {TOOL_MARKS['no_result']} {excerpt(c.name, NAME_CHARS, marked=True)}: no result\n"
            for c in calls
        ]
        note = no_result_note(run, calls[0])
        return self._paint("".join(lines) + f"    {note}\n", YELLOW)

    def _unapproved(self, run: Run) -> str:
        """The calls that ran without the user's approval, one line each, before the summary."""
        lines = [
            f"  ⚠ {excerpt(c.name, NAME_CHARS, marked=True)}: {c.unapproved}\n"
            for c in run.unapproved_calls
        ]
        return self._paint("".join(lines), YELLOW) if lines else ""

    def _followups(self, run: Run) -> str:
        if not run.followups:
            return ""
        lines = [f"  • {excerpt(question, 200, marked=True)}" for question in run.followups]
        return self._paint("follow-ups:\n" + "\n".join(lines) + "\n", CYAN)

    def _tool_result(self, run: Run, event: ToolCallFinished) -> str:
        call = self._call(run, event.call_id)
        name = excerpt(call.name, NAME_CHARS, marked=True)
        took = f" ({call.duration:.2f} s)" if call.duration is not None else ""
        spent = call_spent(call)
        took += f" [{spent}]" if spent else ""
        pad = indent(self._level_of(run, event.call_id))
        if event.error is not None:
            return self._paint(
                f"{pad}  ✗ {name}{took}: {excerpt(event.error, 120, marked=True)}\n", RED
            )
        output = excerpt(tool_output(call), 120, marked=True)
        return self._paint(f"{pad}  ✓ {name}{took}" + (f": {output}" if output else "") + "\n", DIM)


def _events_so_far(run: Run) -> Iterator[Event]:
    """Events that would print ``run`` as it stands: its reasoning, answer and calls in the
    order they came (a sub-agent's text after its call's start, not between its calls)."""
    if run.extras.get("plan") is not None:
        yield CustomEvent(name=PLAN_EVENT, value=run.extras["plan"])
    for part in run.parts:
        if part.kind == "reasoning":
            yield ReasoningDelta(delta=part.text)
        elif part.kind == "text":
            yield TextDelta(delta=part.text)
        elif part.call_id is not None and (call := run.tool_call(part.call_id)) is not None:
            yield from _call_events(call)
    if run.status == "paused":
        yield RunPaused()


def _call_events(call: ToolCall) -> Iterator[Event]:
    yield ToolCallStarted(call_id=call.call_id, name=call.name, arguments=call.arguments)
    for delta, said in ((ReasoningDelta, call.agent_reasoning), (TextDelta, call.agent_text)):
        if said:
            yield delta(delta=said, parent_call_id=call.call_id, agent=call.sub_agent)
    approval = call.approval
    if approval is not None:
        yield ToolApprovalRequested(
            call_id=call.call_id,
            reason=approval.reason,
            question=approval.question,
            for_run=approval.for_run,
        )
        if approval.approved is not None and approval.decided_by is not None:
            yield ToolApprovalResponded(
                call_id=call.call_id,
                approved=approval.approved,
                answer=approval.answer,
                decided_by=approval.decided_by,
            )
    if call.status == "succeeded":
        yield ToolCallFinished(call_id=call.call_id, output=call.output)
    elif call.status == "failed":
        yield ToolCallFinished(call_id=call.call_id, error=call.error or "failed")
    elif call.status == "denied":
        yield ToolCallDenied(call_id=call.call_id, reason=call.error)


MAX_PENDING = 32 * 1024
"""The most of an open markdown block the printer holds back (and scans per delta)."""


class MarkdownBlocks:
    """The answer's markdown, printed rendered (rich) one complete block at a time."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._pending = ""

    def add(self, text: str) -> None:
        """Take more of the answer; print the blocks it completes (a block still open past
        ``MAX_PENDING`` characters is printed as it is: it may never end)."""
        self._pending += text
        if len(self._pending) > MAX_PENDING:
            self.flush()
            return
        done = _complete_blocks(self._pending) if "\n" in text else 0
        if done:
            self._render(self._pending[:done])
            self._pending = self._pending[done:]

    def flush(self) -> None:
        """Print what is left (the answer ended, or something else is printed now)."""
        if self._pending.strip():
            self._render(self._pending)
        self._pending = ""

    def _render(self, text: str) -> None:
        width = shutil.get_terminal_size().columns
        console = Console(file=self._out, force_terminal=True, width=width, soft_wrap=False)
        console.print(answer_markdown()(text.strip("\n")))
        self._out.flush()


@functools.cache
def answer_markdown() -> type[Markdown]:
    """rich's `Markdown` with ordered lists numbered as written (``1.``, ``2.``): rich draws
    the numbers bare (``1 first``), which reads as a figure, not a step. Built at the first
    answer printed (rich's markdown loads markdown-it), never in `agentnb runs`."""
    # rich.markdown (markdown-it): at the first answer printed, never in `agentnb runs`
    from rich.markdown import ListItem, Markdown, MarkdownElement

    class NumberedItem(ListItem):
        def render_number(
            self, console: Console, options: ConsoleOptions, number: int, last_number: int
        ) -> RenderResult:
            # rich passes one past the last number (its start plus the item count)
            width = len(f"{max(number, last_number - 1)}. ") + 1
            lines = console.render_lines(
                self.elements, options.update(width=options.max_width - width), style=self.style
            )
            style = console.get_style("markdown.item.number", default="none")
            numeral = Segment(f"{number}.".rjust(width - 1) + " ", style)
            padding = Segment(" " * width, style)
            for index, line in enumerate(lines):
                yield numeral if index == 0 else padding
                yield from line
                yield Segment("\n")

    class AnswerMarkdown(Markdown):
        elements: ClassVar[dict[str, type[MarkdownElement]]] = {
            **Markdown.elements,
            "list_item_open": NumberedItem,
        }

    return AnswerMarkdown


def _complete_blocks(text: str) -> int:
    """How much of ``text`` is whole markdown blocks: up to the last blank line outside a
    code fence (0 when no block is complete yet)."""
    end, fenced, position = 0, False, 0
    for line in text.splitlines(keepends=True):
        position += len(line)
        if not line.endswith("\n"):
            break  # a line still arriving
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            if not fenced:
                end = position  # a closed code block is complete
        elif not stripped and not fenced:
            end = position
    return end
