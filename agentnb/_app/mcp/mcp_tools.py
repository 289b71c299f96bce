"""An MCP server's tools as the agent's tools: ``agentnb.mcp_tools(command=[...])`` or
``agentnb.mcp_tools(url=...)`` gives a list for ``tools=[...]`` on every dialect that carries
tools. Each tool is a :class:`~agentnb._core.client_tools.ClientTool` whose function calls the
server, so each call takes the one path of the notebook's functions (the run's approval gate,
the time limit, the result or error sent back in the same run, the call in the run's tool
calls and the history), named ``<server>__<tool>``.

The session itself (the ``mcp`` SDK, an optional extra) is :mod:`.mcp_connection`'s, on a
thread of its own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from ..._core.client_tools import TOOL_TIME_LIMIT, ClientTool, FormedResult
from ..._core.exceptions import ConfigurationError
from ..._core.extras import require_mcp
from ..._core.questions import Ask
from ..._core.secrets import (
    redact,
    register_header_credentials,
    register_secret,
    url_credentials,
)
from ..._core.stoppable import Stoppable
from ..._core.warning import warn
from .mcp_question import Elicit
from .oauth_client import OAuth

if TYPE_CHECKING:
    from .mcp_connection import ListedTool, McpConnection

__all__ = ["McpTools", "OAuth", "mcp_logout", "mcp_tools"]

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def mcp_tools(
    command: Sequence[str] | None = None,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    name: str | None = None,
    approve: bool | None = None,
    time_limit: float = TOOL_TIME_LIMIT,
    elicit: Elicit | None = None,
    auth: OAuth | Literal["oauth"] | None = None,
) -> McpTools:
    """The tools of an MCP server, for ``tools=`` (see the "Your functions as tools" page).

    ``command``: start the server as a process and talk to it over stdio (``["npx", "-y",
    "@modelcontextprotocol/server-filesystem", "."]``), with ``env`` over a minimal
    environment (your keys are not handed on) and ``cwd``; or ``url``: a server over
    Streamable HTTP, each request carrying ``headers``. ``name``: what calls are named after
    (``<name>__<tool>``; default the name the server gives itself). ``approve``: None asks
    before each call of a tool the server does not mark read-only (``readOnlyHint``), True
    before every call, False before none. ``time_limit``: seconds a call may take.
    ``elicit``: answers a question the server asks in the middle of a call (MCP's
    elicitation): it gets an :class:`~agentnb.types.McpElicitation` and returns the answer
    (a dict of the form's fields, ``True`` for a link the person will open, ``None`` to
    decline, ``"cancel"``); without it such a question is declined, the call's result saying so.

    ``auth="oauth"`` (with ``url=``): sign in through the server's OAuth 2.1 authorization
    server (the link is shown here; the tokens are kept in agentnb's MCP key file and
    refreshed; ``agentnb.mcp_logout(url)`` forgets them); ``auth=OAuth(client_id=...,
    client_secret=..., redirect_port=...)`` as a client registered there ahead of time, or
    ``OAuth(client_metadata_url=...)`` named by its metadata document (:class:`OAuth`).

    The server runs until ``.stop()`` (or the end of a ``with`` block, or the kernel's exit).
    """
    require_mcp()
    from .mcp_connection import McpConnection, stdio, streamable  # the mcp SDK: an extra

    if (command is None) == (url is None):
        raise ConfigurationError("mcp_tools takes a command=[...] or a url=..., one of the two")
    if command is not None:
        if isinstance(command, str) or not command or not all(isinstance(c, str) for c in command):
            raise ConfigurationError(
                f"command= is the server's command as a list of strings, such as "
                f'["python", "server.py"], not {command!r:.200}'
            )
        if headers is not None or auth is not None:
            raise ConfigurationError("headers= and auth= go with url=; a command takes env=")
        opener = stdio(command, env, cwd)
        where = " ".join(command)
        entry: dict[str, Any] = {
            "command": command[0],
            "args": list(command[1:]),
            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        }
    else:
        assert url is not None
        if not re.match(r"^https?://", url):
            raise ConfigurationError(f"url= is an http:// or https:// URL, not {url!r:.200}")
        if env is not None or cwd is not None:
            raise ConfigurationError("env= and cwd= go with command=; a url takes headers=")
        if auth is not None and auth != "oauth" and not isinstance(auth, OAuth):
            raise ConfigurationError(f'auth= is "oauth", an OAuth(...) or None, not {auth!r:.100}')
        # a header's credential, and one in the URL (a password, ``?api_key=``), is redacted
        # wherever it might show, as a key is
        register_header_credentials(headers or {})
        for secret in url_credentials(url):
            register_secret(secret)
        where = redact(url)
        signing_in = OAuth() if auth == "oauth" else auth if isinstance(auth, OAuth) else None
        opener = streamable(url, headers or {}, where, signing_in)
        entry = {
            "type": "http",
            "url": url,
            "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()],
        }
    if not time_limit > 0:
        raise ConfigurationError(f"time_limit is a positive number of seconds, not {time_limit!r}")
    if elicit is not None and not callable(elicit):
        raise ConfigurationError(
            f"elicit= is a function that answers a question, not {elicit!r:.200}"
        )
    connection = McpConnection(opener, where, elicit, signs_in=auth is not None)
    connection.start()
    prefix = _name_part(name or connection.server_name or "mcp")
    connection.name = prefix
    return McpTools(connection, prefix, approve, time_limit, {"name": prefix, **entry}, cwd)


def mcp_logout(url: str) -> bool:
    """Forget what ``mcp_tools(url=url, auth="oauth")`` kept for the server at ``url`` (its
    tokens and agentnb's registration with it, in agentnb's MCP key file): whether there was
    anything. The next ``mcp_tools(url=url, auth="oauth")`` signs in again."""
    require_mcp()
    from .mcp_oauth import forget  # the mcp SDK: an extra

    return forget(url)


def _name_part(text: str) -> str:
    """``text`` as it may sit in a tool's name (letters, digits, _ and -)."""
    return _NOT_IN_A_NAME.sub("_", text).strip("_")[:40] or "mcp"


class McpTools(Sequence[ClientTool], Stoppable):
    """An MCP server's tools, for ``tools=``: a list that follows the server's (when it says
    its tools changed, the next run gets the new list; ``[*tools]`` takes them as they are).

    ``.stop()`` (or ``with``) ends the session and the server's process."""

    def __init__(
        self,
        connection: McpConnection,
        name: str,
        approve: bool | None,
        time_limit: float,
        entry: Mapping[str, object],
        cwd: str | Path | None,
    ) -> None:
        self.name = name
        """What each tool's name starts with: ``<name>__<tool>``."""
        self._connection = connection
        self._approve = approve
        self._time_limit = time_limit
        self._made: tuple[tuple[ListedTool, ...], tuple[ClientTool, ...]] = ((), ())
        self._entry: dict[str, Any] = dict(entry)  # the ACP entry, JSON
        self._cwd = cwd

    def _tools(self) -> tuple[ClientTool, ...]:
        listed, made = self._made
        if listed is not self._connection.tools:
            listed = self._connection.tools
            made = _declared(listed, self)
            self._made = (listed, made)
        return made

    def _client_tool(self, tool: ListedTool, name: str, function: Any) -> ClientTool:
        """``tool`` as a tool named ``name`` that runs ``function``, asking first as
        ``approve=`` and the server's hints say."""
        approve = (not tool.read_only) if self._approve is None else self._approve
        return ClientTool(
            name=name,
            description=tool.description,
            parameters=_object_schema(tool.schema),
            function=function,
            approve=approve,
            parallel=True,  # the server's own work: it shares nothing with the kernel's
            time_limit=self._time_limit,
            user_loop=self._connection.loop,
            asks=True,  # the server may ask the person mid-call (elicitation)
        )

    def _tool_for_view(self, tool: str, heard: Any, view: str) -> ClientTool:
        """Tool ``tool`` as a call of one of the server's MCP App views makes it (the view of
        the call of ``view``; :mod:`.mcp_apps`): the result it returns is ``heard`` too, for
        the view, and its question says the view asks."""
        # the mcp SDK, an optional extra (as for mcp_connection)
        from .mcp_apps import view_tool_function

        listed = next(t for t in self._connection.tools if t.name == tool)
        name = f"{self.name}__{_NOT_IN_A_NAME.sub('_', tool)}"[:64]
        made = self._client_tool(listed, name, view_tool_function(self, tool, heard))
        asks = f"the MCP App view of {view} asks to call it (not the agent)"
        return dataclasses.replace(made, preview=lambda _arguments: asks)

    @overload
    def __getitem__(self, index: int) -> ClientTool: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ClientTool]: ...
    def __getitem__(self, index: int | slice) -> ClientTool | Sequence[ClientTool]:
        return self._tools()[index]

    def __len__(self) -> int:
        return len(self._tools())

    def __iter__(self) -> Iterator[ClientTool]:
        return iter(self._tools())

    @property
    def running(self) -> bool:
        return self._connection.ended is None

    def mcp_server(self) -> dict[str, Any]:
        """The server as an MCP server entry, the form ACP's ``session/new`` takes in
        ``mcpServers`` (a process: ``{name, command, args, env}``; a URL: ``{type: "http",
        name, url, headers}``): what ``tools=`` gives an ACP agent, which starts and calls
        the server itself. A :class:`ConfigurationError` for a process given ``cwd=``, which
        an entry cannot carry."""
        if self._cwd is not None:
            raise ConfigurationError(
                f"mcp_tools(cwd={str(self._cwd)!r}): an ACP agent starts the MCP servers it is "
                "given in its own working directory, and an entry has no place for cwd=; "
                "start the server without cwd= (with paths in its command) to hand it over"
            )
        return {**self._entry}

    def stop(self) -> None:
        """End the session and the server's process. Safe to call more than once."""
        self._connection.close()

    def close(self) -> None:
        """Deprecated: :meth:`stop`, as every handle of something running says it."""
        warn("McpTools.close() is now .stop()", category=DeprecationWarning, stacklevel=2)
        self.stop()

    def __repr__(self) -> str:
        names = ", ".join(t.name for t in self._tools())
        state = "running" if self.running else f"stopped ({self._connection.ended})"
        return f"<McpTools {self._connection.where} [{names}] {state}>"


def _declared(listed: Sequence[ListedTool], tools: McpTools) -> tuple[ClientTool, ...]:
    """The listed tools the agent may call as the agent's tools, each named
    ``<prefix>__<tool>`` (a name cut or changed to fit the names every dialect takes; two
    that would meet get a number). A tool only views may call (an MCP App's
    ``visibility: ["app"]``) is left out."""
    made: list[ClientTool] = []
    taken: set[str] = set()
    for tool in listed:
        if not tool.for_model:
            continue
        name = f"{tools.name}__{_NOT_IN_A_NAME.sub('_', tool.name)}"[:64]
        number = 2
        while name in taken:
            name, number = f"{name[:60]}_{number}", number + 1
        taken.add(name)
        made.append(tools._client_tool(tool, name, _caller(tools, tool, name)))
    return tuple(made)


def _object_schema(schema: dict[str, Any]) -> dict[str, object]:
    """The tool's input schema, an object with its properties (as each dialect declares)."""
    return {"type": "object", "properties": {}, **schema}


def _caller(tools: McpTools, tool: ListedTool, name: str) -> Any:
    """The function the runner of client tools awaits on the connection's loop: a tool with
    an MCP App view is shown as its view (:mod:`.mcp_apps`)."""
    connection = tools._connection

    async def call(ask: Ask | None = None, /, **arguments: Any) -> FormedResult | str:
        if tool.view is not None:  # the mcp SDK, an optional extra (as for mcp_connection)
            from .mcp_apps import view_result

            return await view_result(tools, tool, name, arguments, ask)
        return await connection.call(tool.name, arguments, ask)

    call.__name__ = call.__qualname__ = f"mcp_{_name_part(tool.name)}"
    return call
