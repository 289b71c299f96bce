"""MCP Apps (the ``io.modelcontextprotocol/ui`` extension) in the chat cell: a tool that
declares a view (``_meta.ui.resourceUri``, a ``ui://`` resource) has its call's card show it.

The kernel's side: the view's HTML is read through the tool's own session
(``resources/read``) when the tool is called, within a bound, with the CSP its resource
declares (``_meta.ui.csp``: only ``https://`` and ``wss://`` hosts are kept, never a
wildcard or a scheme alone); it goes to the chat cell with the call's input and result as
the call's shown form (:data:`SHOWN_MIME`), which js/src/mcp_app.js renders in a sandboxed
frame and bridges. A ``tools/call`` the view makes comes back from the cell
(:func:`view_called`) and is a run of its own in that cell: one call, through the run's
approval gate as the tool says (its card says the view made it), run on the same session,
its result sent back to the view, the run kept in the history. A view may call only its own
server's tools that let views call them (``visibility``), one call at a time and at most
:data:`MAX_VIEW_CALLS` calls; the rest are refused with a JSON-RPC error.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import mcp.types as types

from ..._client.tool_rounds import ToolRounds
from ..._core.client_tools import FormedResult, ToolResult
from ..._core.handle import RunHandle
from ..._core.questions import Ask
from ..._core.recorder import default_recorder, record_whole_run
from ..._core.request import build_request
from ..._core.rich_result import APP_VIEW_MIME
from ..._core.run import Run
from ..._core.secrets import redact
from ..._core.text import excerpt
from ...events import Event, RunCompleted, RunStarted, ToolCallStarted
from ..context.served_calls import PeerRun, no_progress, unbounded_wait
from .mcp_connection import VIEW_MIME, ListedTool, McpConnection
from .mcp_results import formed_result

if TYPE_CHECKING:
    from ..._core.client_tools import ClientTool
    from ..._display.widget import ChatCell

__all__ = [
    "MAX_VIEW_CALLS",
    "SHOWN_MIME",
    "allowed_domains",
    "view_called",
    "view_result",
]

SHOWN_MIME = APP_VIEW_MIME
"""A call's shown form that is a view: JSON of the view, its CSP, the call's input and result."""
MAX_VIEW_CHARS = 2_000_000
"""The longest view (its HTML) shown; a longer one is said in words."""
MAX_RESULT_CHARS = 500_000
"""The longest result (as JSON) a view is sent; past it, the view gets the text the agent got."""
MAX_DOMAINS = 16
"""Hosts of one kind (connect, resources) a view's CSP keeps; the rest are dropped."""
MAX_VIEW_CALLS = 20
"""The ``tools/call`` one view may make; the next are refused."""
MAX_VIEWS = 200
"""Views the kernel answers (the latest): an older one's calls are refused, saying so."""
VIEW_AGENT = "MCP App view"
"""The agent a view's call's run is named after (the history's agent column)."""

_HOST = re.compile(
    r"^(https|wss)://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$"
)
"""A host a view may reach: a secure scheme, a host name (a wildcard only as its first
label) and a port, nothing else (no path, no quote, no ``;``: it is written into a CSP)."""


def allowed_domains(declared: object) -> list[str]:
    """The hosts of a CSP list a view declares that it may have: ``https://`` or ``wss://``
    hosts (``https://*.example.com`` too), at most :data:`MAX_DOMAINS`; ``*``, a scheme
    alone, ``http:``, ``data:``, a keyword or a path are dropped."""
    if not isinstance(declared, list):
        return []
    kept = [d.lower() for d in declared if isinstance(d, str) and _HOST.match(d.lower())]
    return list(dict.fromkeys(kept))[:MAX_DOMAINS]


class ViewHost(Protocol):
    """An MCP server's tools as a view needs them (:class:`~.mcp_tools.McpTools`)."""

    _connection: McpConnection
    """The session with the server (the views' calls and resources go through it)."""

    @property
    def running(self) -> bool: ...

    def _tool_for_view(
        self, tool: str, heard: Callable[[types.CallToolResult], None], view: str
    ) -> ClientTool: ...


# ---- a view, as a call's shown form -----------------------------------------------------------


@dataclass
class _View:
    """A view shown in a chat cell: whose it is, and the calls it made."""

    tools: ViewHost
    origin: str
    """The call's tool as the agent named it (``<server>__<tool>``)."""
    calls: int = 0
    pending: bool = False


_views: OrderedDict[str, _View] = OrderedDict()
_views_lock = threading.Lock()


async def view_result(
    tools: ViewHost, listed: ListedTool, name: str, arguments: dict[str, Any], ask: Ask | None
) -> FormedResult | str:
    """Call ``listed`` (a tool with a view) on ``tools``' session: its result as the agent
    reads it, shown as its view (or, when the view cannot be read, as text saying why)."""
    assert listed.view is not None
    result, text = await tools._connection.called(listed.name, arguments, ask)
    formed = formed_result(result, text, listed.name)
    images = formed.images if isinstance(formed, FormedResult) else ()
    try:
        html, ui = await _read_view(tools, listed.view)
    except Exception as exc:  # the result stands; the card says why there is no view
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        note = f"The tool's view {listed.view} could not be shown: {excerpt(why, 500)}"
        return FormedResult(text, {"mime": "text/plain", "data": note}, images)
    _listen_to_cells()
    shown = {
        "view": _keep(_View(tools, name)),
        "uri": listed.view,
        "tool": name,
        "html": html,
        "csp": {
            "connect": allowed_domains(_csp(ui).get("connectDomains")),
            "resources": allowed_domains(_csp(ui).get("resourceDomains")),
        },
        "border": ui.get("prefersBorder") is not False,
        "input": arguments,
        "result": _bounded(result, text),
    }
    return FormedResult(text, {"mime": SHOWN_MIME, "data": json.dumps(shown)}, images)


async def _read_view(tools: ViewHost, uri: str) -> tuple[str, dict[str, Any]]:
    """The view's HTML and its ``_meta.ui`` (its CSP, its border); a ``ValueError`` saying
    why it cannot be shown."""
    read = await tools._connection.read_resource(uri)
    for content in read.contents:
        if str(content.uri) != uri:
            continue
        if (content.mime_type or "").replace(" ", "").lower() != VIEW_MIME:
            raise ValueError(f"it is {content.mime_type or 'of no type'}, not {VIEW_MIME}")
        if isinstance(content, types.TextResourceContents):
            html = content.text
        else:
            html = _decoded(content.blob)
        if len(html) > MAX_VIEW_CHARS:
            raise ValueError(f"it is {len(html):,} characters, past {MAX_VIEW_CHARS:,}")
        ui = (content.meta or {}).get("ui")
        return html, ui if isinstance(ui, dict) else {}
    raise ValueError("the server's resources/read did not return it")


def _decoded(blob: str) -> str:
    if len(blob) * 3 // 4 > MAX_VIEW_CHARS:
        raise ValueError(f"it is {len(blob) * 3 // 4:,} bytes, past {MAX_VIEW_CHARS:,}")
    return base64.b64decode(blob, validate=True).decode("utf-8", errors="replace")


def _csp(ui: dict[str, Any]) -> dict[str, Any]:
    csp = ui.get("csp")
    return csp if isinstance(csp, dict) else {}


def _bounded(result: types.CallToolResult, text: str) -> dict[str, Any]:
    """The result as the view gets it (the MCP result's JSON), redacted as the agent's text;
    past :data:`MAX_RESULT_CHARS`, the text the agent got instead."""
    dumped = redact(json.dumps(result.model_dump(by_alias=True, mode="json", exclude_none=True)))
    if len(dumped) <= MAX_RESULT_CHARS:
        loaded: dict[str, Any] = json.loads(dumped)
        return loaded
    cut = excerpt(redact(text), MAX_RESULT_CHARS // 2)
    return {"content": [{"type": "text", "text": cut}], "isError": False}


def _keep(view: _View) -> str:
    view_id = secrets.token_urlsafe(12)
    with _views_lock:
        _views[view_id] = view
        while len(_views) > MAX_VIEWS:
            _views.popitem(last=False)
    return view_id


def _listen_to_cells() -> None:
    """Chat cells hand a view's calls here (the display layer knows no MCP)."""
    # the widget stack: a view is shown only in a notebook
    from ..._display.widget import VIEW_MESSAGES

    VIEW_MESSAGES["mcp_app_call"] = view_called


# ---- a view's tools/call ----------------------------------------------------------------------


def view_called(cell: ChatCell, content: dict[str, Any]) -> None:
    """A view's ``tools/call`` (on the kernel's thread, from the cell showing it): refused at
    once with a JSON-RPC error, or run as a run of its own in ``cell``, whose end answers."""
    view_id, rpc_id = content.get("view"), content.get("id")
    name, arguments = content.get("name"), content.get("arguments")
    if (
        not isinstance(view_id, str)
        or not isinstance(rpc_id, int | str)
        or isinstance(rpc_id, bool)
    ):
        return  # not a call a view of ours made: nothing to answer
    answer = _answerer(cell, view_id, rpc_id)
    if not isinstance(name, str) or not isinstance(arguments, dict | None):
        answer(None, "tools/call takes a tool's name and its arguments as an object")
        return
    with _views_lock:
        view = _views.get(view_id)
        refused = _refusal(view, name)
        if view is not None and refused is None:
            view.pending, view.calls = True, view.calls + 1
    if refused is not None or view is None:
        answer(None, refused or "")
        return
    try:
        handle = _start(view, name, arguments or {}, answer)
    except Exception as exc:
        with _views_lock:
            view.pending = False
        answer(None, f"the call could not start: {type(exc).__name__}: {exc}")
        return
    cell.add(handle, retryable=False)


def _refusal(view: _View | None, name: str) -> str | None:
    if view is None:
        return "this view is no longer served by the kernel (it restarted, or the view is old)"
    if not view.tools.running:
        return f"its MCP server is not running ({view.tools._connection.ended})"
    if view.pending:
        return "a call of this view waits already: a view makes one call at a time"
    if view.calls >= MAX_VIEW_CALLS:
        return f"this view made {MAX_VIEW_CALLS} calls, the most one view may make"
    listed = next((t for t in view.tools._connection.tools if t.name == name), None)
    if listed is None:
        return f"its server has no tool named {excerpt(name, 100)!r}"
    if not listed.for_view:
        return f"the tool {excerpt(name, 100)!r} is not one its server lets views call"
    return None


def _answerer(
    cell: ChatCell, view_id: str, rpc_id: int | str
) -> Callable[[dict[str, Any] | None, str], None]:
    def answer(result: dict[str, Any] | None, error: str) -> None:
        message: dict[str, Any] = {"kind": "mcp_app_answer", "view": view_id, "id": rpc_id}
        if result is not None:
            message["result"] = result
        else:
            message["error"] = excerpt(redact(error), 2_000)
        cell.send(message)

    return answer


def _start(
    view: _View,
    name: str,
    arguments: dict[str, Any],
    answer: Callable[[dict[str, Any] | None, str], None],
) -> RunHandle:
    call = _ViewCall(view, name, arguments)
    handle = RunHandle.start(lambda: call, run=call.run)

    def ended(run: Run, _event: Event | None) -> None:
        with _views_lock:
            view.pending = False
        call.record()
        result, error = call.answer()
        answer(result, error)

    handle.add_listener(ended, end_only=True)
    return handle


class _ViewCall(PeerRun):
    """One ``tools/call`` of a view, as a run's stream: the call through the run's gate and
    the session, as :class:`~agentnb._app.context.served_calls.ServedCalls` serves a client's."""

    def __init__(self, view: _View, name: str, arguments: dict[str, Any]) -> None:
        self.tool = view.tools._tool_for_view(name, self._heard, view.origin)
        self.arguments = arguments
        super().__init__(
            VIEW_AGENT, f"The view of {view.origin} calls {self.tool.name}", "an MCP App view"
        )
        self.origin = view.origin
        self.result: ToolResult | None = None
        self._raw: types.CallToolResult | None = None

    def _heard(self, result: types.CallToolResult) -> None:
        self._raw = result

    async def _events(self) -> AsyncIterator[Event]:
        yield self._delivered(RunStarted())
        started = ToolCallStarted(
            call_id="view_call",
            name=self.tool.name,
            arguments=self.arguments,
            agent=f"the view of {self.origin}",
        )
        yield self._delivered(started)
        call = self.run.tool_call("view_call")
        assert call is not None
        rounds = ToolRounds((self.tool,), redact)
        async for event in rounds.run_round(
            [call], self.approvals, unbounded_wait, 30.0, no_progress
        ):
            yield self._delivered(event)
        (self.result,) = rounds.results
        yield self._delivered(RunCompleted())

    def answer(self) -> tuple[dict[str, Any] | None, str]:
        """What the view gets: the result, or why there is none (a denial, an error)."""
        result = self.result
        if result is None:
            return None, f"the call did not finish (the run {self.run.status})"
        if result.failed:
            return None, result.text
        if self._raw is None:
            return None, "the call returned no result"
        return _bounded(self._raw, result.text), ""

    def record(self) -> None:
        """Keep the run in the history, as a run the client made is kept."""
        recorder = default_recorder()
        if recorder is None:
            return
        request = build_request(self.run.agent, self.run.message)
        record_whole_run(recorder, self.run, request, "mcp-app-view")


def view_tool_function(
    tools: ViewHost, name: str, heard: Callable[[types.CallToolResult], None]
) -> Callable[..., Awaitable[FormedResult | str]]:
    """The function a view's call of tool ``name`` runs: the call on the session, its
    result heard (for the view) and formed (for the card)."""

    async def call(ask: Ask | None = None, /, **arguments: Any) -> FormedResult | str:
        result, text = await tools._connection.called(name, arguments, ask)
        heard(result)
        return formed_result(result, text, name)

    return call
