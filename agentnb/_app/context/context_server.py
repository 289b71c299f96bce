"""The notebook as an MCP server for any agent: ``agentnb.context.serve()`` serves the six
read-only context tools over Streamable HTTP on 127.0.0.1, for a client the person points at
it (Claude Code, Codex, Gemini CLI, an ACP agent's ``mcpServers``).

The results are what ``context=True`` gives (the same tools, summaries, caps and redaction);
the gate stays in the kernel: the server's calls are one run, shown in the cell that started
it, whose approval cards decide where ``configure(ask_first=True)`` or ``approve=`` say a
call asks first (:mod:`.served_calls`). The wire is :mod:`.mcp_http`'s.
"""

from __future__ import annotations

import atexit
import re
import secrets
import threading
import weakref
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from ..._core.approvals import ApprovalPolicy, Approver, as_approver
from ..._core.exceptions import ConfigurationError
from ..._core.extras import require_mcp
from ..._core.handle import RunHandle
from ..._core.run import Run, ToolCall
from ..._core.secrets import register_secret
from ..._core.stoppable import Stoppable
from ..._display.environment import kernel_shell, note
from ...events import Event, ToolApprovalRequested
from .context_tools import the_kernel
from .live_notebook import notebook_tools
from .served_calls import ServedCall, ServedCalls

if TYPE_CHECKING:
    from .mcp_http import HttpServer

__all__ = [
    "WRITE_HEADER",
    "ContextServer",
    "serve",
    "without_notebook_tools",
]

WRITE_HEADER: dict[str, str] = {"name": "X-Agentnb-Turn", "value": "writes"}
"""Marks the server's entry for a turn that asked for the write tools: the turn is shared
with them (:meth:`ContextServer.share_with_turn`); the agent sends it, the server reads none."""

REVEAL_SECONDS = 60.0
"""How long :meth:`ContextServer.reveal` shows the token in a notebook."""
REVEAL_NOTE = (
    "(the token is masked, so a saved notebook keeps none: srv.reveal() shows it whole for "
    f"{REVEAL_SECONDS:.0f} s; srv.token is the token)"
)


WRAP_AT_WORDS = "white-space:pre-wrap;overflow-wrap:break-word;word-break:normal"
"""A <pre>'s lines wrapped between words; only a token longer than a line breaks inside."""


def masked(token: str) -> str:
    """A token's first four characters and an ellipsis: enough to tell two apart."""
    return token[:4] + "…"


def serve(port: int = 0, approve: ApprovalPolicy = None, *, write: bool = False) -> ContextServer:
    """Serve the notebook's six context tools as an MCP server, over Streamable HTTP at
    ``srv.url`` (ending ``/mcp``), on 127.0.0.1 only, each request needing the header
    ``Authorization: Bearer <srv.token>``; until ``srv.stop()``, the end of a ``with``
    block, Stop in the cell that started it, or the kernel's exit.

    The results are what ``context=True`` gives the agent (the same summaries, caps and
    redaction; ``.env`` and paths outside the working directory refused as tool errors).
    ``port``: 0 picks a free one. ``approve``: what decides each call, as ``ask``'s
    ``approve=`` (True approves every call, False denies every call, a callable gets the
    ``ToolCall``); None leaves a call to you when ``configure(ask_first=True)``: it waits
    for Approve or Deny in the cell that started the server (or ``srv.approve(call_id)``).
    The server's repr is the line to paste into Claude Code; ``srv.calls`` lists what was
    read (the last 1,000 calls; ``srv.served`` counts them all). ``write=True`` serves the
    notebook tools too (:func:`~.live_notebook.notebook_tools`: cells added, edited, run),
    each asking first whatever the settings say: a notebook's kernel on a JupyterLab 4 or
    Notebook 7 page only (a :class:`ConfigurationError` elsewhere)."""
    kernel = the_kernel()
    writes = notebook_tools() if write else ()
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port is a number from 0 to 65535 (0: a free one), not {port!r}")
    as_approver(approve)  # refused here, before anything listens
    require_mcp()
    from .mcp_http import listening_socket, serve_http  # the mcp SDK: an optional extra

    token = secrets.token_urlsafe(32)
    register_secret(token)
    try:
        sock = listening_socket(port)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    served = ServedCalls(kernel, url, approve, writes)
    handle = RunHandle.start(lambda: served, run=served.run)
    try:
        http = serve_http(sock, token, served.declarations(), served.submit)
    except BaseException:
        served.end()
        raise
    server = ContextServer(http, token, served, handle)
    handle.add_listener(lambda _run, _event: server._ended(), end_only=True)
    _show(handle)
    server._shown_in = _this_cell()
    return server


def without_notebook_tools(options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``options`` without the notebook tools in its ``tools=`` (an ACP agent is handed them
    by the notebook's server, :func:`serve` ``write=True``), and whether it held any."""
    tools = options.get("tools")
    if not isinstance(tools, list | tuple):
        return options, False
    mine = notebook_tools.__module__  # the tools' functions are defined there
    rest = [t for t in tools if getattr(getattr(t, "function", None), "__module__", "") != mine]
    if len(rest) == len(tools):
        return options, False
    kept = {k: v for k, v in options.items() if k != "tools"}
    return {**kept, "tools": rest} if rest else kept, True


def _show(handle: RunHandle) -> None:
    """The server's run in the cell that started it; in terminal IPython, a line for each call
    that waits for a decision (the prompt stays the person's)."""
    from ..._display.show import show_live  # the widget: only where a server is shown

    if kernel_shell() is not None:
        show_live(handle)
    else:
        handle.add_listener(_say_waiting, catch_up=_say_all_waiting)


def _this_cell() -> int | None:
    """The notebook cell running now (its execution count; None outside a kernel)."""
    count = getattr(kernel_shell(), "execution_count", None)
    return count if isinstance(count, int) else None


def _say_waiting(run: Run, event: Event | None) -> None:
    if isinstance(event, ToolApprovalRequested) and (call := run.tool_call(event.call_id)):
        _say_waiting_on(call)


def _say_all_waiting(run: Run) -> None:
    """The calls that asked before the line-saying listener joined."""
    for call in run.awaiting_approval:
        _say_waiting_on(call)


def _say_waiting_on(call: ToolCall) -> None:
    note(
        f"the notebook's MCP server: {call.name}({call.arguments_text or call.arguments}) "
        f"waits for your decision: .approve({call.call_id!r}) or .deny({call.call_id!r}) "
        "on the server agentnb.context.serve() gave"
    )


class ContextServer(Stoppable):
    """The notebook served over MCP (see :func:`serve`)."""

    def __init__(
        self, http: HttpServer, token: str, served: ServedCalls, handle: RunHandle
    ) -> None:
        self.url = http.url
        """Where clients connect (Streamable HTTP; it ends ``/mcp``)."""
        self.token = token
        """What each request carries: ``Authorization: Bearer <token>``."""
        self.handle = handle
        """The server's run, whose tool calls are the calls served."""
        self._http = http
        self._served = served
        self._lock = threading.Lock()
        self._shown_in: int | None = None
        """The cell that shows the server's run last (its execution count)."""
        _running.add(self)

    @property
    def running(self) -> bool:
        """Whether it still serves (its HTTP thread runs)."""
        return self._http.running

    @property
    def writes(self) -> bool:
        """Whether it serves the notebook tools too (``serve(write=True)``)."""
        return bool(self._served.writes)

    @property
    def calls(self) -> list[ServedCall]:
        """The calls served, the latest last (the last 1,000: :attr:`served` counts them all)."""
        return list(self._served.calls)

    @property
    def served(self) -> int:
        """How many calls it served (the cell keeps the cards of the latest 100 or more, and
        its status line counts the others)."""
        return self._served.served

    def approve(self, call_id: str, *, for_run: bool = False) -> None:
        """Let a call waiting for your decision read (``for_run``: and every later read,
        without asking, while the server runs)."""
        self.handle.approve(call_id, for_run=for_run)

    def deny(self, call_id: str, reason: str | None = None) -> None:
        """Refuse a call waiting for your decision: its client gets a tool error saying the
        user denied it."""
        self.handle.deny(call_id, reason)

    def show_here(self) -> None:
        """Show the server's run in the notebook cell running now too, unless it shows
        there already: a turn that waits for a call of the server's to be decided has the
        call's card in its own cell, not only in the earlier one that started the server."""
        here = _this_cell()
        if here is None or here == self._shown_in:
            return
        self._shown_in = here
        _show(self.handle)

    def share_with_turn(self, approve: ApprovalPolicy, write: bool = False) -> Callable[[], None]:
        """Serve calls while a turn goes on, decided by its ``approve`` (a connection's
        server: from then on, only through turns), the write tools only while one that
        asked for them (``write``) does; the function that ends it."""
        return self._served.share_with_turn(approve, write)

    def asking_on_its_card(self, approve: ApprovalPolicy) -> Approver:
        """``approve`` for a turn the server is shared with: the agent's own permission request
        to call one of its tools is given at once, as the server asks on its own card with the
        call shown as it will run (the cell's code, the edit's diff): one card for the call,
        not two; every other call is decided by ``approve``."""
        approver = as_approver(approve)
        tools = {str(t["name"]) for t in self._served.declarations()}

        def decided(call: ToolCall) -> object:
            if _asks_to_call(call, tools):
                return True
            return None if approver is None else approver(call)

        return decided

    def mcp_server(self, name: str = "notebook", *, write: bool = False) -> dict[str, object]:
        """This server as an MCP server entry (``{type, name, url, headers}``, the form ACP's
        ``session/new`` takes in ``mcpServers``); ``write``: for a turn that asked for the
        write tools (:data:`WRITE_HEADER`, which the turn's sharing reads)."""
        headers = [{"name": "Authorization", "value": f"Bearer {self.token}"}]
        if write:
            headers.append(WRITE_HEADER)
        return {"type": "http", "name": name, "url": self.url, "headers": headers}

    def stop(self) -> None:
        """Stop serving (a call waiting for a decision is denied). Safe more than once."""
        with self._lock:
            self._served.end()
            self._http.stop()
            _running.discard(self)

    def _ended(self) -> None:
        """The run ended (Stop in its cell): the wire stops too, without waiting here."""
        self._http.stop_soon()

    def __repr__(self) -> str:
        """The line to paste into Claude Code, its token masked (a notebook is saved with
        its outputs, and shared): :meth:`reveal` shows it whole."""
        if not self.running:
            return f"<ContextServer {self.url} stopped>"
        return f"{claude_code_line(self.url, masked(self.token))}\n{REVEAL_NOTE}"

    def _repr_html_(self) -> str:
        return as_pre(repr(self))

    def reveal(self, seconds: float = REVEAL_SECONDS) -> None:
        """Show the line to paste into Claude Code with its token whole: in a notebook for
        ``seconds``, then masked again (the saved notebook keeps the masked one, unless it
        is saved in the meantime); in a terminal, printed. ``srv.token`` is the token."""
        whole = claude_code_line(self.url, self.token)
        if kernel_shell() is None:
            print(whole)
            return
        from IPython.display import display  # in a notebook, whose kernel has loaded it

        shown = display(shown_as(whole), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        hide = threading.Timer(seconds, lambda: shown.update(shown_as(repr(self)), raw=True))
        hide.daemon = True
        hide.start()


_NAMED_CALL = re.compile(r"(?:mcp__)?notebook(?:__|/|\.)(?P<tool>\w+)")
"""An agent's own name for a call of the server's tools (it is listed as ``notebook``): Claude
Code's ``mcp__notebook__notebook_add_cell``, an ACP title's ``notebook/notebook_variables``,
Codex's MCP tool call as the ACP dialect names it (``notebook/notebook_add_cell``)."""


def _asks_to_call(call: ToolCall, tools: set[str]) -> bool:
    """Whether an agent's permission request asks to call one of ``tools`` of the server, by
    the call's name."""
    named = _NAMED_CALL.fullmatch(call.name)
    return named is not None and named["tool"] in tools


def as_pre(text: str) -> str:
    """``text`` as HTML, its lines broken between words: a notebook's <pre> of text breaks
    anywhere (JupyterLab: ``Authorizatio|n``, ``th|e token``)."""
    # each word kept whole: a token's "-" is no place to break it (a browser breaks there)
    words = re.sub(
        r"\S+", lambda word: f"<span style='white-space:nowrap'>{word[0]}</span>", escape(text)
    )
    return f"<pre style='{WRAP_AT_WORDS}'>{words}</pre>"


def shown_as(text: str) -> dict[str, str]:
    """An output of ``text``: as :func:`as_pre` where HTML shows, plain elsewhere."""
    return {"text/plain": text, "text/html": as_pre(text)}


def claude_code_line(url: str, token: str) -> str:
    """The line that adds the server at ``url`` to Claude Code (the server's repr, its token
    masked)."""
    return (
        f'claude mcp add --transport http notebook {url} --header "Authorization: Bearer {token}"'
    )


_running: weakref.WeakSet[ContextServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
