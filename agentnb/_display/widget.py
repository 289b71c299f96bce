"""The chat cell widget, `ChatCell`: one run and the follow-ups it starts, or, with
``input=True``, a multi-turn chat with an input box.

The widget's code and style go to the page once per kernel, in a hidden `AgentRuntime` widget;
each cell's own front-end module is a small loader that renders with the runtime's code (see
js/src/loader.js), so a cell's widget state is its transcript and about two kilobytes.

A cell is displayed as two outputs: the live view, then a static copy (sanitized HTML,
markdown, plain text) for places that cannot show the widget: nbconvert without network,
GitHub, a notebook reopened without its widget state. Where the live view renders, the
runtime's stylesheet hides the static copy next to it. The copy is refreshed through its
display handle whenever a run ends (or pauses for a tool approval), so a saved notebook
shows the final answer. The first copy a cell displays carries the style that hides the views
of a reopened notebook (`REOPENED_STYLE`, one rule for the whole page): one ``<style>`` an
output made the page restyle every output of the cell at each copy shown or refreshed.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import gzip
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets
from IPython.display import display

from .._core.call_site import typed_literal
from .._core.handle import RunHandle
from .._core.loop import get_loop, in_loop_thread, result_of, submit
from .._core.run import Run
from .attachment_preview import Attachments
from .controller import (
    ChatActions,
    ChatController,
    NewConversation,
    SendPasted,
    SessionControls,
    StartRun,
    UndoNotebook,
)
from .display_slot import DisplaySlot, first_of_cell
from .environment import kernel_shell
from .marimo import in_marimo, self_contained_front_end
from .static_copy import REOPENED_STYLE, static_bundle
from .verdicts import VerdictKeeper

__all__ = ["AgentRuntime", "ChatCell"]

STATIC = Path(__file__).parent.parent / "static"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def view_output(widget: ipywidgets.Widget) -> dict[str, Any]:
    """A widget's live view as an output, with an empty text fallback (the static form,
    displayed next to it, is what places without the widget show)."""
    return {
        WIDGET_VIEW_MIME: {"version_major": 2, "version_minor": 1, "model_id": widget.model_id},
        "text/plain": "",
    }


class AgentRuntime(anywidget.AnyWidget):
    """The chat cells' front-end code and stylesheet, sent to the page once per kernel.

    Never displayed: anywidget loads its stylesheet when the page creates its model, and each
    `ChatCell`'s loader imports ``bundle`` from it (once per page). `shared_runtime()` gives
    the kernel's one instance.
    """

    _esm = "export default {};"
    _css = STATIC / "widget.css"

    bundle = traitlets.Unicode().tag(sync=True)
    """The ES module that renders a chat cell (agentnb/static/widget.js), gzip then base64:
    about half its size, and 40% of the JSON-escaped text a comm message or a saved
    notebook's widget state would otherwise hold."""

    def __init__(self) -> None:
        super().__init__(bundle=_packed_bundle())


@functools.cache
def _packed_bundle() -> str:
    code = (STATIC / "widget.js").read_bytes()
    return base64.b64encode(gzip.compress(code, compresslevel=9, mtime=0)).decode("ascii")


_runtime: AgentRuntime | None = None
_runtime_lock = threading.Lock()


def shared_runtime() -> AgentRuntime:
    """The kernel's `AgentRuntime`, created on first use and again if it was closed."""
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.comm is None:
            _runtime = AgentRuntime()
        return _runtime


VIEW_MESSAGES: dict[str, Callable[[ChatCell, dict[str, Any]], None]] = {}
"""What a message from a view does, by its ``kind``, for the kinds a layer above the display
handles (an MCP App's ``tools/call``: ``_app/mcp/mcp_apps.py`` registers it)."""

_layout: ipywidgets.Layout | None = None


def shared_layout() -> ipywidgets.Layout:
    """The one (empty) layout every chat cell shares: a widget made without one makes its
    own, a second comm and model per cell, opened on the kernel's main thread."""
    global _layout
    with _runtime_lock:
        if _layout is None or _layout.comm is None:
            _layout = ipywidgets.Layout()
        return _layout


def _front_end() -> dict[str, Any]:
    """Where a new cell's code comes from: the kernel's runtime, or in marimo its own copy;
    and its layout."""
    if in_marimo():
        return self_contained_front_end(STATIC)
    return {"runtime": shared_runtime().model_id, "layout": shared_layout()}


class ChatCell(anywidget.AnyWidget):
    """A live chat cell showing one run and the follow-up runs started from it.

    ``source`` is a `RunHandle` (followed live), a finished `Run` (shown as it is) or None.
    ``on_followup(text) -> RunHandle | None`` lets the follow-up chips start the next run of
    the conversation (it must start the run without displaying it: the cell shows it as its
    next turn); without it the chips copy the question instead. ``input=True`` adds an input
    box whose messages start runs through ``on_followup`` too (``agentnb.chat`` builds one).
    ``on_retry(text) -> RunHandle | None`` adds Retry and Edit to the last turn: it starts
    ``text`` in place of the last turn (from where it started, not after it), and
    ``retry_note`` (a text, or a function asked each time a turn is added) is said beside
    them before they are used (that they continue the thread, where the platform cannot
    start it again from before a turn). ``on_new_conversation()``
    adds a "New conversation" control: the next message starts a new thread.
    ``keep_verdict(local_id, value, note)`` adds ✓ / ✗ and a note under a finished answer
    (the cells ``agentnb`` makes keep it in the history as the run's score ``verdict``).
    ``attachments`` shows the ``@`` mentions typed in the input as removable chips before
    sending (see :mod:`.attachment_preview`).

    A tool call awaiting approval shows its arguments with **Approve** and **Deny** (with an
    optional reason), and a read of the notebook **Allow for this run** too; a click goes to
    the run's ``RunHandle.approve`` (``for_run=True``) / ``deny``, and a
    refusal (a call already decided, a run no longer live) is shown in the cell.
    """

    # anywidget adds its front-end traits to each instance it makes (add_traits), and each
    # time traitlets builds a new class: declared here, a cell only sets their values.
    _esm = traitlets.Unicode((STATIC / "loader.js").read_text(encoding="utf-8")).tag(sync=True)
    _css = traitlets.Unicode("").tag(sync=True)
    """Empty but where the cell carries its own code and style (marimo)."""
    _anywidget_id = traitlets.Unicode(f"{__module__}.ChatCell").tag(sync=True)

    runtime = traitlets.Unicode().tag(sync=True)
    """The model id of the `AgentRuntime` whose code renders this cell."""
    transcript = traitlets.Dict().tag(sync=True)
    """The structured transcript ``{"seq", "turns"}``, written at tool-call boundaries and
    when a run ends (never per token)."""
    options = traitlets.Dict().tag(sync=True)
    """View options: ``can_followup``, ``input``, ``placeholder``, ``can_retry``,
    ``can_reset``, ``retry_note``, ``can_continue``, ``continue_note``, ``can_verdict`` (✓ / ✗,
    thumbs up or down, and a note under a finished answer, kept by ``keep_verdict``),
    ``can_attach`` (the input shows its ``@`` mentions' attachments before sending)."""

    def __init__(
        self,
        source: RunHandle | Run | None = None,
        *,
        on_followup: StartRun | None = None,
        input: bool = False,
        agent: str = "",
        max_fps: float = 30.0,
        placeholder: str = "",
        on_retry: StartRun | None = None,
        on_new_conversation: NewConversation | None = None,
        retry_note: str | Callable[[], str] = "",
        on_continue: Callable[[], ChatActions] | None = None,
        continue_note: str = "",
        keep_verdict: VerdictKeeper | None = None,
        attachments: Attachments | None = None,
        session: SessionControls | None = None,
        on_paste: SendPasted | None = None,
        on_undo_notebook: UndoNotebook | None = None,
    ) -> None:
        start_run = on_followup
        if input and start_run is None:
            raise TypeError("input=True needs on_followup(text) -> RunHandle to answer messages")
        if source is not None and not isinstance(source, RunHandle | Run):
            raise TypeError(
                f"ChatCell shows a RunHandle or a Run, not {type(source).__name__}; "
                "use agentnb.show() for a stream"
            )
        if start_run is not None and not callable(start_run):
            raise TypeError("on_followup must be a callable taking the message text")
        super().__init__(
            **_front_end(),
            transcript={"seq": 0, "turns": []},
            options={
                "can_followup": start_run is not None,
                "input": input,
                "placeholder": placeholder or (f"Message {agent}…" if agent else ""),
                "agent": agent,
                "can_retry": start_run is not None and on_retry is not None,
                "can_reset": start_run is not None and on_new_conversation is not None,
                "retry_note": "",
                "can_continue": start_run is None and on_continue is not None,
                "continue_note": continue_note,
                "can_verdict": keep_verdict is not None,
                "can_attach": attachments is not None,
                "can_paste": start_run is not None and on_paste is not None,
                "session": None,
            },
        )
        self.agent = agent
        self._retry_note = retry_note if callable(retry_note) else (lambda: retry_note)
        self._on_continue = on_continue
        self._displays: list[tuple[DisplaySlot, bool]] = []
        """Each displayed copy, and whether it carries `REOPENED_STYLE`."""
        self._echo_guard: int | None = None
        actions = None
        if start_run is not None:
            actions = ChatActions(
                start_run,
                on_retry,
                on_new_conversation,
                attachments=attachments,
                session=session,
                paste=on_paste,
                undo=on_undo_notebook,
            )
        self._controller = ChatController(
            self,
            actions,
            on_turn=self._refresh_retry_note,
            keep_verdict=keep_verdict,
            max_fps=max_fps,
        )
        self.on_msg(self._on_view_message)
        self._session: SessionControls | None = None
        if actions is not None:
            self._show_session(actions.session)
        if source is not None:
            self.add(source)

    def add_traits(self, **traits: object) -> None:
        """Set the value of a trait this class declares (anywidget's front-end traits); add
        the others (a new class per call, as traitlets does)."""
        declared = {name for name in traits if self.has_trait(name)}
        for name in declared:
            trait = traits[name]
            value = trait.default_value if isinstance(trait, traitlets.TraitType) else trait
            self.set_trait(name, value)
        if undeclared := {name: traits[name] for name in traits.keys() - declared}:
            super().add_traits(**undeclared)

    # ---- runs ----------------------------------------------------------------------------
    def add(self, source: RunHandle | Run, *, retryable: bool = True) -> None:
        """Append a run as the next turn: a `RunHandle` is followed live, a `Run` shown as is;
        one not ``retryable`` (an MCP App view's call) is never replaced by Retry or Edit."""
        if isinstance(source, RunHandle):
            self._controller.add(source.run, source, retryable=retryable)
        elif isinstance(source, Run):
            self._controller.add(source, None, retryable=retryable)
        else:
            raise TypeError(f"expected a RunHandle or a Run, not {type(source).__name__}")

    @property
    def runs(self) -> list[Run]:
        """Every run shown, oldest first."""
        return self._controller.runs

    @property
    def handle(self) -> RunHandle | None:
        """The latest live run's handle, if any."""
        handles = self._controller.handles
        return handles[-1] if handles else None

    def stop(self) -> None:
        """Cancel every run of this widget that is still going (like clicking Stop)."""
        for handle in self._controller.handles:
            handle.cancel()

    def wait(self, timeout: float | None = None) -> Run:
        """Wait for the latest live run to end and return it (raises its error, like
        `RunHandle.wait`)."""
        handle = self.handle
        if handle is None:
            runs = self.runs
            if not runs:
                raise RuntimeError("this chat has no run to wait for")
            return runs[-1]
        return handle.wait(timeout)

    @property
    def frames_sent(self) -> int:
        """Custom messages sent to the views so far."""
        return self._controller.frames_sent

    # ---- controller sink (called on the background loop) -----------------------------------
    # Comm traffic goes out from an empty context, so the kernel stamps it with the parent
    # header of the cell executing now: JupyterLab routes comm messages by comm id whatever
    # their parent, and nbclient records widget state only from the executing cell's messages.
    def send(self, content: object, buffers: Sequence[bytes] | None = None) -> None:
        contextvars.Context().run(super().send, content, buffers)

    def set_transcript(self, transcript: dict[str, object]) -> None:
        contextvars.Context().run(setattr, self, "transcript", transcript)

    def _on_view_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if isinstance(kind, str) and kind in VIEW_MESSAGES:
            VIEW_MESSAGES[kind](self, content)
            return
        if isinstance(content, dict) and content.get("kind") == "continue":
            # may open a connection: on a worker thread, off the kernel's and the loop's
            get_loop().run_in_executor(None, self._continue_from_view)
            return
        self._controller.receive(content)

    # ---- continuing an opened past run -----------------------------------------------------
    def continue_conversation(self) -> None:
        """Let this cell send the next message of the conversation it shows (what its
        "Continue this conversation" control does): the input box appears, and
        :meth:`ask` sends. Raises :class:`~agentnb.ConfigurationError` saying why when the
        conversation cannot be continued from here (its connection is gone, the client
        kept the thread and no longer has it, ...)."""
        if self._on_continue is None:
            raise RuntimeError("this cell shows no conversation to continue")
        actions = self._on_continue()
        self._controller.set_actions(actions, started_as="continue")
        self._on_continue = None
        self._retry_note = actions.retry_note
        self._set_options(
            can_followup=True,
            input=True,
            can_retry=actions.again is not None,
            can_reset=actions.new is not None,
            retry_note="",
            can_continue=False,
            continue_note="",
            can_attach=actions.attachments is not None,
            can_paste=actions.paste is not None,
            placeholder=f"Continue the conversation with {self.agent}…" if self.agent else "",
        )
        self._show_session(actions.session)

    def _show_session(self, session: SessionControls | None) -> None:
        """Offer the agent session's settings and commands beside the input, kept current."""
        self._session = session
        if session is not None:
            session.watch(self._refresh_session)
            self._refresh_session()

    def _refresh_session(self) -> None:
        """The session's settings and commands as the views show them (any thread)."""
        wire = self._session.wire() if self._session is not None else None
        if self.options.get("session") != wire:
            self._set_options(session=wire)

    def _refresh_retry_note(self) -> None:
        """Say beside Retry and Edit what they will do to the turn now last (any thread)."""
        note = self._retry_note()
        if self.options.get("retry_note", "") != note:
            self._set_options(retry_note=note)

    def _set_options(self, **changes: object) -> None:
        """Change some of the view options (any thread; sent from an empty context, as
        :meth:`send` is)."""
        contextvars.Context().run(setattr, self, "options", {**self.options, **changes})

    def _continue_from_view(self) -> None:
        try:
            self.continue_conversation()
        except Exception as exc:  # the person who clicked is told why, in the cell
            note = f"Cannot continue this conversation: {exc}"
            self._set_options(continue_note=note)
            self._controller.notice(note)

    # ---- display ---------------------------------------------------------------------------
    def static_bundle(self) -> dict[str, str]:
        """The static copy (``text/html``, ``text/markdown``, ``text/plain``) as of now, made
        on the background loop where a run still changes (this waits for the loop)."""
        runs = self.runs
        if in_loop_thread() or all(run.done for run in runs):
            return static_bundle(runs)

        async def copy() -> dict[str, str]:
            return static_bundle(self.runs)

        return result_of(submit(copy()))

    def _first_copy(self, styled: bool) -> dict[str, str]:
        """The static copy a display starts with, made here without waiting for the loop: a
        run still going is shown as started (its question, running) until the loop
        refreshes the copy, when the run ends or pauses."""
        runs = [run if run.done else run.as_started() for run in self.runs]
        return static_bundle(runs, styled=styled)

    def view_bundle(self) -> dict[str, Any]:
        """The live view's output (:func:`view_output`)."""
        return view_output(self)

    def __repr__(self) -> str:
        """What a script or a terminal prints (a notebook shows the cell): the last turn, as
        a ``RunHandle`` reads."""
        if not self.runs:
            return "<ChatCell turns=0>"
        r = self.runs[-1]
        return (
            f"<ChatCell turns={len(self.runs)} agent={r.agent!r} status={r.status} "
            f"chars={len(r.text)} tools={len(r.tool_calls)}>"
        )

    def _repr_mimebundle_(self, **_kwargs: Any) -> Any:
        return self.view_bundle()

    def _ipython_display_(self) -> None:
        shell = kernel_shell()
        if shell is not None and self._echo_guard == shell.execution_count:
            # The cell ended with `agentnb.show(...)`: it is already on screen.
            self._echo_guard = None
            return
        self.publish()

    def publish(self) -> None:
        """Display this cell: the live view, then the static copy, whose display handle is
        refreshed when a run ends.

        Two outputs, not one bundle: given a widget view and its saved state, nbconvert
        renders the view (which needs the network) and never the bundle's HTML, and a
        reopened notebook whose widget state was not saved shows only "model not found".
        """
        display(self.view_bundle(), raw=True)  # type: ignore[no-untyped-call]
        going = [run for run in self.runs if not run.done]
        styled = first_of_cell("agentnb chat cell copy")
        slot = DisplaySlot.display(self._first_copy(styled))
        if slot is not None:
            self._displays.append((slot, styled))
            if any(run.done or run.status == "paused" for run in going):
                # it ended or paused before its refresh had this display to update; the loop
                # builds the copy, and this thread does not wait for it
                get_loop().call_soon_threadsafe(self.refresh_copies)

    def refresh_copies(self) -> None:
        """Refresh the static copies (a run ended, or paused for a human's decision)."""
        if not self._displays:
            return
        bundle = self.static_bundle()
        unstyled = {**bundle, "text/html": bundle["text/html"].removesuffix(REOPENED_STYLE)}
        for slot, styled in list(self._displays):
            slot.update(bundle if styled else unstyled)

    def close(self) -> None:
        controller = getattr(self, "_controller", None)  # absent if __init__ failed
        if controller is not None:
            controller.close()
        super().close()

    def ask(self, text: str, *, mentions: bool | None = None) -> RunHandle:
        """Send ``text`` from code, as if typed in the input box; returns the run's handle.
        Its ``@`` mentions attach where ``text`` is a string literal typed in the call
        (``cell.ask("What does @cfg say?")``) or ``mentions=True``; text made at run time
        goes as it is. Under an opened past run it continues the run's conversation (as
        "Continue this conversation" does), raising :class:`~agentnb.ConfigurationError`
        saying why when it cannot."""
        if not text.strip():
            raise ValueError("the message is empty")
        attachments = self._controller.attachments
        if attachments is not None and not (
            mentions or (mentions is None and typed_literal(text, 0, "text"))
        ):
            text = attachments.as_text(text)
        if any(not run.done for run in self.runs):
            raise RuntimeError("a run is still going; wait for it to end or stop it first")
        if self._controller.start_run is None and self._on_continue is not None:
            self.continue_conversation()  # an opened past run: its conversation goes on
        start_run = self._controller.start_run
        if start_run is None:
            raise RuntimeError("this cell cannot start runs: it was made without on_followup")
        handle = start_run(text.strip())
        if not isinstance(handle, RunHandle):
            raise TypeError(f"start_run returned {type(handle).__name__}, not a RunHandle")
        self.add(handle)
        return handle
