"""One MCP server's session for ``agentnb.mcp_tools``: the ``mcp`` SDK's client (a process
over stdio, or Streamable HTTP) on a thread of its own with its own event loop, so a server
that hangs or floods never holds up agentnb's loop nor the kernel.

The session lists the server's tools, lists them again when the server says the list changed
(``notifications/tools/list_changed``), and calls them: a call is a coroutine on this loop
(:meth:`McpConnection.call`), which the one runner of client tools awaits there. A server
process runs in a process group of its own and ends with the session (stdin closed, then the
group terminated, then killed: the SDK's ``stdio_client``), at :meth:`McpConnection.close` or
when the kernel exits.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import dataclasses
import json
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp.types as types
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client

from ..._core.client_tools import FormedResult
from ..._core.exceptions import ConfigurationError
from ..._core.questions import Ask, QuestionReply
from ..._core.text import excerpt
from ..._core.version import __version__
from .mcp_elicitation import Asker, elicitation_handler
from .mcp_oauth import AUTHORIZE_TIMEOUT, OAuthCallback, oauth, over_tls
from .mcp_question import Elicit
from .mcp_results import formed_result
from .oauth_client import OAuth

__all__ = [
    "MAX_LISTED_TOOLS",
    "MAX_LISTING_BYTES",
    "MAX_LIST_PAGES",
    "ListedTool",
    "MCPToolError",
    "McpConnection",
    "stdio",
    "streamable",
]

MAX_LIST_PAGES = 100
"""Pages of ``tools/list`` read for one listing: a server that paginates past it is refused."""
MAX_LISTED_TOOLS = 1_000
"""Tools one listing may hold."""
MAX_LISTING_BYTES = 4_000_000
"""Bytes one listing's tools may take, as JSON (names, descriptions, schemas)."""
START_TIMEOUT = 30.0
"""Seconds a server has to start, answer ``initialize`` and list its tools."""
STOP_TIMEOUT = 10.0
"""Seconds closing waits for the session (the SDK gives a process 2 s to leave on its own,
then terminates its group, then kills it)."""
_STDERR_SHOWN = 1_000
"""Characters of a server's stderr an error quotes (its last ones)."""

Streams = tuple[Any, Any]
Opener = Callable[[TextIO], AbstractAsyncContextManager[Streams]]
"""Opens the transport (given the file a process's stderr goes to): the SDK's stream pair."""


VIEW_MIME = "text/html;profile=mcp-app"
"""The MIME type of an MCP App's view (the only one the ``io.modelcontextprotocol/ui``
extension defines: :mod:`.mcp_apps` shows such views)."""
UI_EXTENSION = {"io.modelcontextprotocol/ui": {"mimeTypes": [VIEW_MIME]}}
"""What agentnb tells a server it supports (the client's ``extensions`` capability)."""


class MCPToolError(Exception):
    """A tool call the MCP server answered with an error (``isError``): what the agent reads."""


class ListingTooLong(Exception):
    """A server's ``tools/list`` goes past a bound (pages, tools, bytes): it is not read on."""


@dataclass(frozen=True)
class ListedTool:
    """A tool as the server lists it."""

    name: str
    description: str
    schema: dict[str, Any]
    read_only: bool
    """The server's ``readOnlyHint``: it says the tool changes nothing."""
    destructive: bool
    """The server's ``destructiveHint`` (true unless it says otherwise, as MCP's default)."""
    view: str | None = None
    """The ``ui://`` resource of its MCP App view (``_meta.ui.resourceUri``), if it has one."""
    for_model: bool = True
    """Whether the agent may call it (an MCP App's ``visibility`` names ``"model"``)."""
    for_view: bool = True
    """Whether its server's views may call it (``visibility`` names ``"app"``)."""


def stdio(command: Sequence[str], env: Mapping[str, str] | None, cwd: str | Path | None) -> Opener:
    """A process started from ``command`` (its environment: the SDK's safe default, PATH,
    HOME and the like, with ``env`` over it: the notebook's keys are not handed on)."""
    parameters = StdioServerParameters(
        command=command[0], args=list(command[1:]), env=dict(env or {}), cwd=cwd
    )
    return lambda errlog: stdio_client(parameters, errlog=errlog)


def streamable(
    url: str, headers: Mapping[str, str], where: str, signing_in: OAuth | None = None
) -> Opener:
    """A server at ``url`` over Streamable HTTP, each request carrying ``headers``; with
    ``signing_in``, through OAuth (:mod:`.mcp_oauth`: the link shown, the tokens kept)."""

    @contextlib.asynccontextmanager
    async def opened(_errlog: TextIO) -> AsyncIterator[Streams]:
        callback: OAuthCallback | None = None
        auth = None
        if signing_in is not None:
            callback = OAuthCallback(signing_in.redirect_port)
            auth = oauth(url, signing_in, callback, _shown_link(where))
        hooks = {"request": [_over_tls]} if signing_in else {}
        try:
            async with (
                httpx2.AsyncClient(
                    headers=dict(headers),
                    timeout=httpx2.Timeout(30, read=300),
                    auth=auth,
                    event_hooks=hooks,
                ) as http,
                streamable_http_client(url, http_client=http) as streams,
            ):
                yield streams
        finally:
            if callback is not None:
                callback.close()

    return opened


async def _over_tls(request: httpx2.Request) -> None:
    """Every request of a signed-in session (the server's, the OAuth flow's) goes over https,
    or to this machine."""
    over_tls(str(request.url))


def _shown_link(where: str) -> Callable[[str], None]:
    """Shows the authorization link where the person is: the output of the cell that
    connects, or the terminal."""

    def print_link(link: str) -> None:
        print(
            f"agentnb: to connect to the MCP server {where}, open this link and sign in "
            f"(agentnb does not open it):\n{link}",
            flush=True,
        )

    return print_link


class McpConnection:
    """A session with one MCP server, on its own thread and loop (see the module)."""

    def __init__(
        self, opener: Opener, where: str, elicit: Elicit | None = None, signs_in: bool = False
    ) -> None:
        self.where = where
        """The server as the person named it (its command, or its URL)."""
        self.server_name = ""
        self.name = ""
        """What its calls are named after (``<name>__<tool>``): ``mcp_tools(name=)``, else
        :attr:`server_name`; set once the tools are made."""
        self.tools: tuple[ListedTool, ...] = ()
        """The latest listing: replaced whole when the server says its list changed."""
        self._asked: set[str] = set()
        """The tools ever listed as not read-only in this session: a server's hints only make
        the gate stricter, so a tool that asked keeps asking when it is listed again as
        read-only (a re-listing is the server's word again, and the first one was stricter)."""
        self.ended: str | None = None
        """Why the session is over (None while it runs)."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._opener = opener
        self._session: ClientSession | None = None
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._main: asyncio.Task[None] | None = None
        self._closing = False
        # where a process's stderr goes (a file: the SDK hands it to the process), for errors
        self._stderr: TextIO = tempfile.TemporaryFile(  # noqa: SIM115 (closed with the session)
            "w+", encoding="utf-8", errors="replace"
        )
        self._thread = threading.Thread(target=self._serve, name=f"agentnb-mcp:{where}"[:60])
        self._thread.daemon = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._elicit = elicit
        self._signs_in = signs_in
        self._leave: asyncio.Event | None = None
        """The person may have to sign in first (OAuth): starting waits for them too."""
        self._calls: list[_RunningCall] = []
        """The calls running now, oldest first: where a server's question goes
        (:meth:`_asker`)."""

    # ---- starting and stopping (any thread) -----------------------------------------------
    def start(self) -> None:
        """Start the session and wait until its tools are listed; a
        :class:`ConfigurationError` saying why it could not start."""
        self._thread.start()
        patience = START_TIMEOUT + (AUTHORIZE_TIMEOUT if self._signs_in else 0)
        try:
            self._started.result(patience)
        except concurrent.futures.TimeoutError:
            why = f"did not answer within {patience:g} s{self._stderr_tail()}"
        # Below, the session failed to start and is leaving on its own: wait while the SDK
        # ends the server's process, uncancelled (a cancel in the middle of its shutdown left
        # the process running, unreaped, after the session's loop had closed).
        except ListingTooLong as exc:
            why = str(exc)
            self._thread.join(STOP_TIMEOUT)
        except Exception as exc:
            why = f"could not start: {_reason(exc)}{self._stderr_tail()}"
            self._thread.join(STOP_TIMEOUT)
        else:
            _open.add(self)
            return
        self.close()
        raise ConfigurationError(f"the MCP server {self.where} {why}")

    def close(self) -> None:
        """End the session (and the server's process). Safe to call more than once."""
        self._closing = True
        loop, main = self.loop, self._main
        # a session leaving on its own is not cancelled: the SDK is ending the server's process
        leaving = self._leave is not None and self._leave.is_set()
        if loop is not None and main is not None and not leaving:
            with contextlib.suppress(RuntimeError):  # its loop closed: the session is over
                loop.call_soon_threadsafe(main.cancel)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT)
        self.ended = self.ended or "it was closed"
        if not self._thread.is_alive():
            self._stderr.close()
        _open.discard(self)

    # ---- calling (this connection's loop) -------------------------------------------------
    async def call(
        self, name: str, arguments: dict[str, Any], ask: Ask | None = None
    ) -> FormedResult | str:
        """Call tool ``name``: its result as text, with the forms it shows in
        (:func:`.mcp_results.formed_result`) where it has more than text; a question the
        server asks meanwhile goes to the person through ``ask`` (the run's); an
        :class:`MCPToolError` when the server answers with an error, a
        :class:`ConnectionError` when the session is over."""
        result, text = await self.called(name, arguments, ask)
        return formed_result(result, text, name)

    async def called(
        self, name: str, arguments: dict[str, Any], ask: Ask | None = None
    ) -> tuple[types.CallToolResult, str]:
        """Call tool ``name``: the server's result and its text (as :meth:`call`)."""
        session = self._running()
        call = _RunningCall(ask, task=asyncio.current_task())
        self._calls.append(call)
        try:
            result = await session.call_tool(name, arguments, progress_callback=call.progressed)
        except asyncio.CancelledError:
            if call.unread is None or call.task is None:
                raise
            call.task.uncancel()
            raise MCPToolError(call.unread) from None
        except MCPError as exc:
            if exc.code != types.CONNECTION_CLOSED:  # the server refused the call itself
                raise MCPToolError(exc.message) from None
            self.ended = "it ended during a call"
            raise ConnectionError(f"the MCP server {self.where} ended during the call") from None
        except Exception as exc:  # the session failed under the call
            raise ConnectionError(
                f"the MCP server {self.where} failed during the call: {_reason(exc)}"
            ) from None
        finally:
            self._calls.remove(call)
        said = [f"[{note}]" for note in call.notes]
        if not isinstance(result, types.CallToolResult):
            raise MCPToolError(f"the MCP server answered with a {type(result).__name__}")
        text = "\n".join([result_text(result), *said]) if said else result_text(result)
        if result.is_error:
            raise MCPToolError(text or "the MCP server reported an error without a message")
        return result, text

    async def read_resource(self, uri: str) -> types.ReadResourceResult:
        """The server's resource ``uri`` (``resources/read``); a :class:`ConnectionError`
        when the session is over, an :class:`MCPError` when the server refuses."""
        read = await self._running().read_resource(uri)
        if not isinstance(read, types.ReadResourceResult):
            raise MCPToolError(f"the MCP server answered with a {type(read).__name__}")
        return read

    def _running(self) -> ClientSession:
        """The session; a :class:`ConnectionError` when it is over."""
        if self._session is None or self.ended is not None:
            raise ConnectionError(f"the MCP server {self.where} is not running: {self.ended}")
        return self._session

    # ---- the session (this connection's thread) -------------------------------------------
    def _serve(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # close() cancels the session
            asyncio.run(self._session_to_end())

    async def _session_to_end(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        if self._closing:  # closed before it started
            return
        try:
            async with (
                self._opener(self._stderr) as (read, write),
                ClientSession(
                    read,
                    write,
                    message_handler=self._heard,
                    elicitation_callback=elicitation_handler(
                        self._named, self._elicit, self._asker
                    ),
                    client_info=types.Implementation(name="agentnb", version=__version__),
                    extensions=UI_EXTENSION,
                ) as session,
            ):
                initialized = await session.initialize()
                self.server_name = initialized.server_info.name
                try:
                    listed = await _listing(session)
                except ListingTooLong as exc:  # said as itself, not inside a task group's
                    self.ended = f"it {exc}"
                    self._started.set_exception(exc)
                    return
                self.tools = self._held_to_the_strictest(listed)
                self._session = session
                self._started.set_result(None)
                self._leave = asyncio.Event()
                await self._leave.wait()  # until close() cancels it, or the session is left
        except Exception as exc:  # told to whoever waits, never raised on a thread
            if not self._started.done():
                self._started.set_exception(exc)
            self.ended = self.ended or f"it ended: {_reason(exc)}"
        finally:
            self._session = None
            self.ended = self.ended or "it was closed"
            if not self._started.done():
                self._started.set_exception(ConnectionError("it was closed while starting"))

    def _named(self) -> str:
        return self.name or self.server_name or self.where

    def _asker(self) -> Asker:
        """Where the question the server asks now goes. MCP's ``elicitation/create`` names
        no call (over stdio nothing on the wire does; over HTTP the SDK does not say which
        response stream it came on), so it goes to the call that asked when only one can
        have: the one running call not already waiting on a question of its own (a call's
        handler waits for its answer before it goes on). Where several could have, no
        person is asked: a card shows its own call's question or none."""
        free = [call for call in self._calls if call.waiting == 0]
        if len(free) == 1:
            return Asker(free[0].asked(), free[0].notes.append)
        could = free or self._calls
        if not could:  # asked outside any call: nobody's result to tell
            return Asker(None, lambda _note: None)

        def tell_each(note: str) -> None:
            for call in could:
                call.notes.append(note)

        why = (
            f"{len(could)} calls of it were running and its question does not say which "
            f"asked (MCP's elicitation names no call)"
        )
        return Asker(None, tell_each, why)

    async def _heard(self, message: IncomingMessage) -> None:
        if isinstance(message, Exception):  # a message the SDK could not read: an answer lost
            self._fail_running(f"the MCP server sent what could not be read: {_reason(message)}")
        if isinstance(message, types.ToolListChangedNotification):
            task = asyncio.get_running_loop().create_task(self._list_again())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _fail_running(self, why: str) -> None:
        """Fail the calls waiting for an answer at once: over stdio nothing says which call an
        unreadable message answered, and the one whose answer it was would wait its whole time
        limit."""
        for call in self._calls:
            if call.task is not None and call.unread is None:
                call.unread = why
                call.task.cancel()

    async def _list_again(self) -> None:
        session = self._session
        if session is None:
            return
        try:
            self.tools = self._held_to_the_strictest(await _listing(session))
        except ListingTooLong as exc:  # a server that lists without end is not talked to on
            self.ended = f"it {exc}"
            if self._leave is not None:  # the session is left as it ends, its process too
                self._leave.set()
        except Exception:  # the old listing stays; a call says the rest
            return

    def _held_to_the_strictest(self, listed: tuple[ListedTool, ...]) -> tuple[ListedTool, ...]:
        """``listed``, each tool that was ever listed as not read-only in this session still
        not read-only (and destructive if it ever said so)."""

        def held_to(tool: ListedTool) -> ListedTool:
            if tool.name in self._asked and tool.read_only:
                return dataclasses.replace(tool, read_only=False, destructive=True)
            return tool

        held = tuple(map(held_to, listed))
        self._asked.update(t.name for t in held if not t.read_only)
        return held

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            text = self._stderr.read().strip()
        except (OSError, ValueError):
            return ""
        return f" (its stderr ends: {text[-_STDERR_SHOWN:]})" if text else ""


@dataclass(eq=False)
class _RunningCall:
    """A call running on the session: who asks the person for it, what its result should
    say, and how many of its questions wait for an answer."""

    ask: Ask | None
    notes: list[str] = dataclasses.field(default_factory=list)
    waiting: int = 0
    task: asyncio.Task[Any] | None = None
    """What awaits the server's answer (cancelled when an answer could not be read)."""
    unread: str | None = None
    """Why it failed at once: the server sent what could not be read."""

    def asked(self) -> Ask | None:
        """Its ``ask``, counting the question as waiting until it is answered."""
        ask = self.ask
        if ask is None:
            return None

        async def waited(form: dict[str, Any]) -> QuestionReply:
            self.waiting += 1
            try:
                return await ask(form)
            finally:
                self.waiting -= 1

        return Ask(waited, ask.progress)

    async def progressed(self, progress: float, total: float | None, message: str | None) -> None:
        """The server's progress notification on the call, shown on its card."""
        of = f"{progress:g}" + (f"/{total:g}" if total is not None else "")
        if self.ask is not None:
            self.ask.progress(f"{message} ({of})" if message else of)


async def _listing(session: ClientSession) -> tuple[ListedTool, ...]:
    """Every tool the server lists, page after page, within the bounds (pages, tools,
    bytes); a :class:`ListingTooLong` saying which bound it went past."""
    tools: list[types.Tool] = []
    size = 0
    cursor: str | None = None
    for _page in range(MAX_LIST_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        if len(tools) > MAX_LISTED_TOOLS:
            raise ListingTooLong(f"lists its tools in more than {MAX_LISTED_TOOLS:,} tools")
        size += sum(len(tool.model_dump_json(by_alias=True)) for tool in page.tools)
        if size > MAX_LISTING_BYTES:
            raise ListingTooLong(f"lists its tools in more than {MAX_LISTING_BYTES:,} bytes")
        cursor = page.next_cursor
        if not cursor:
            if any(tool.output_schema for tool in tools):
                # the SDK checks such a tool's result with jsonschema, whose first import takes
                # seconds: taken at the listing, not inside a first call's time limit
                import jsonschema  # noqa: F401
            return tuple(_listed(tool) for tool in tools)
    raise ListingTooLong(f"lists its tools in more than {MAX_LIST_PAGES} pages")


def tool_view(tool: types.Tool) -> tuple[str | None, bool, bool]:
    """The tool's view (its ``ui://`` resource, or None), whether the agent may call it and
    whether views may (its ``visibility``; both when it names neither)."""
    meta = tool.meta or {}
    ui = meta.get("ui")
    # else the extension's first, deprecated, form
    uri = (ui.get("resourceUri") if isinstance(ui, dict) else None) or meta.get("ui/resourceUri")
    view = uri if isinstance(uri, str) and uri.startswith("ui://") and len(uri) <= 2_000 else None
    seen = ui.get("visibility") if isinstance(ui, dict) else None
    if not isinstance(seen, list) or not seen:
        return view, True, True
    return view, "model" in seen, "app" in seen


def _listed(tool: types.Tool) -> ListedTool:
    hints = tool.annotations
    read_only = bool(hints and hints.read_only_hint)
    destructive = not read_only and (hints is None or hints.destructive_hint is not False)
    said = (tool.name, tool.description or "", dict(tool.input_schema))
    return ListedTool(*said, read_only, destructive, *tool_view(tool))


def result_text(result: types.CallToolResult) -> str:
    """A tool's result as the text the agent reads: its text blocks, a resource's text, and
    a note for what is not text (an image, audio, a link); its structured content when it
    has no block."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.mime_type} ({len(block.data) * 3 // 4:,} bytes), not text]")
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            note = f"[resource {res.uri} ({res.mime_type}), not text]"
            parts.append(res.text if isinstance(res, types.TextResourceContents) else note)
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[a link to the resource {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


def _reason(error: BaseException) -> str:
    """What went wrong, in one line: the first error inside a group (anyio's task groups
    wrap what failed in one)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    try:
        said = str(error)
    except Exception:  # its own __str__ failed
        said = ""
    return excerpt(f"{type(error).__name__}: {said}" if said else type(error).__name__, 500)


_open: weakref.WeakSet[McpConnection] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """The kernel exits: every server it started ends with it."""
    for connection in list(_open):
        connection.close()
