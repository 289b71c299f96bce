"""Named connections: which platform, where, and with which key.

Resolution for a name, first match wins: ``connect(...)`` in this process; environment
variables (``AGENTNB_<NAME>_PROVIDER`` / ``_BASE_URL`` / ``_API_KEY`` / ``_COMMAND`` (an ACP
agent's), and for the default
connection also ``AGENTNB_PROVIDER`` / ``AGENTNB_BASE_URL`` / ``AGENTNB_API_KEY``); and, for
the default connection only, the built-in local server, started in the background on first use.

Keys live in memory only; reprs and messages mask them.

What a connection can do (:class:`~agentnb.providers.Capabilities`) comes from its provider;
which agents it offers, from the platform's own listing (an A2A agent card, LangGraph's
assistants, an OpenAI-compatible server's models), read when asked (:meth:`Connection.agents`)
or when a notebook shows the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, NamedTuple, Unpack

from ..._client.acp_transport import AcpTransport
from ..._client.async_client import AsyncAgentClient
from ..._client.client_options import ClientOptions
from ..._client.sync import AgentClient
from ..._client.wires import wire_of
from ..._core.approvals import ApprovalPolicy, approver_for
from ..._core.exceptions import ConfigurationError, UnsupportedOptionError
from ..._core.loop import run_sync, submit
from ..._core.request import RunRequest
from ..._core.run import Run
from ..._core.secrets import env_prefix, mask, no_key_note
from ..._core.text import terminal_safe
from ..._core.warning import warn
from ..._display.environment import note
from ..._display.plain_table import ListTable, PlainTable
from ..._history import HistoryStore, default_store
from ...providers import Capabilities, RemoteAgent, available_providers, provider_class
from ..coding_agents.acp_files import WorkdirFiles
from ..coding_agents.acp_sessions import AcpSessions, CommandList, ConfigOptions, SessionList
from ..context.context_server import WRITE_HEADER, ContextServer, serve, without_notebook_tools
from ..mcp.mcp_tools import McpTools

__all__ = [
    "BUILTIN_AGENTS",
    "AgentList",
    "AnyClient",
    "Connection",
    "ConnectionList",
    "close_all",
    "configured_connection",
    "connect",
    "connection_for",
    "connections",
    "disconnect",
    "get_connection",
    "resolve_target",
    "via_for",
]

BUILTIN_AGENTS = (
    "finance_agent",
    "echo",
    "writer",
    "structured",
    "trader",
    "planner",
    "research_team",
    "judge",
    "notebook_agent",
)
"""The demo agents of the built-in server (``trader``'s tool waits for a human's approval;
``planner`` asks a free-form question first; ``research_team`` delegates to sub-agents;
``judge`` grades an answer against a reference, as an evaluator; ``notebook_agent`` adds and
runs a cell through the notebook tools)."""

DEFAULT_NAME = "default"
DEFAULT_LOCAL_PROVIDER = "operativus"
"""The dialect the default connection uses with the built-in server."""

_lock = threading.RLock()
_connections: dict[str, Connection] = {}
_local_note_shown = False


class FittedTools(NamedTuple):
    """A run's options as its connection's dialect takes tools (:meth:`Connection._fit_tools`)."""

    options: dict[str, Any]
    context_as_tools: bool
    """``context=True`` is still to be sent, as the notebook's context tools."""


@dataclass(eq=False)
class Connection:
    """One configured platform endpoint. Create with :func:`agentnb.connect`."""

    name: str
    provider: str
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)
    options: ClientOptions = field(default_factory=lambda: ClientOptions())
    local: bool = False
    """True when this connection uses agentnb's built-in local server."""
    threads: dict[str, str] = field(default_factory=dict, repr=False)
    """The last thread id per agent, for a run that asks to continue the conversation."""
    turns: dict[str, list[str]] = field(default_factory=dict, repr=False)
    """The local ids of the runs this process made in each thread, oldest first."""
    _client: AsyncAgentClient | None = field(default=None, repr=False)
    _agents: AgentList | None = field(default=None, repr=False)
    _unlisted: str | None = field(default=None, repr=False)
    """Why a display could not read the listing (shown instead, not read again)."""
    _keyless_note_due: bool = field(default=False, init=False, repr=False)
    _context_server: ContextServer | None = field(default=None, init=False, repr=False)
    """The notebook as an MCP server for this connection's agent (:meth:`_with_context`)."""

    def __repr__(self) -> str:
        where = "built-in local server" if self.local else self.base_url or "default URL"
        listed = f", agents={self._agents.names()!r}" if self._agents is not None else ""
        return (
            f"Connection(name={self.name!r}, provider={self.provider!r}, base_url={where!r}, "
            f"api_key={mask(self.api_key)!r}, supports={', '.join(self.supports())!r}{listed})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """A notebook or IPython shows the connection with the agents it offers."""
        self._list_quietly()
        listed = repr(self._agents) if self._agents is not None else self._unlisted
        printer.text(repr(self) if cycle or not listed else f"{self!r}\n{listed}")

    def _repr_html_(self) -> str:
        self._list_quietly()
        head = ConnectionList({self.name: self})._repr_html_()
        if self._agents is not None:
            return head + self._agents._repr_html_()
        return head + (f"<p>{escape(self._unlisted)}</p>" if self._unlisted else "")

    @property
    def capabilities(self) -> Capabilities:
        """What this connection can do (streaming, cancel, attach, approvals, listing)."""
        return self.client().provider.capabilities()

    def supports(self) -> list[str]:
        """The names of :attr:`capabilities` this connection has."""
        return self.capabilities.names()

    def agents(self, *, refresh: bool = False) -> list[RemoteAgent]:
        """The agents this connection offers, as the platform lists them (an
        :class:`AgentList`, shown as a table; kept after the first read, ``refresh=True``
        reads again). The built-in server's demo agents for the
        local connection when its dialect has no listing; a ``ConfigurationError`` for a
        platform that has none."""
        if self._agents is None or refresh:
            if self.local and not self.capabilities.listing:
                found = [RemoteAgent(name) for name in BUILTIN_AGENTS]
            else:
                found = run_sync(self.client().list_agents())
            self._agents, self._unlisted = AgentList(self.name, found), None
        return self._agents

    @property
    def acp(self) -> AcpSessions:
        """An ACP agent's sessions, in one place: the settings and slash commands of its
        latest session (``conn.acp.config_options``, ``conn.acp.commands``), its past
        sessions (``conn.acp.sessions()``) and one replayed into the history
        (``conn.acp.import_session(id)``); a ``ConfigurationError`` for another dialect."""
        client = self.client()
        return AcpSessions(client, self.name, lambda: store_of(client))

    @property
    def config_options(self) -> ConfigOptions:
        """Deprecated: ``conn.acp.config_options``."""
        return self._acp_as("config_options").config_options

    @property
    def commands(self) -> CommandList:
        """Deprecated: ``conn.acp.commands``."""
        return self._acp_as("commands").commands

    def sessions(self, *, cwd: str | os.PathLike[str] | None = None) -> SessionList:
        """Deprecated: ``conn.acp.sessions()``."""
        return self._acp_as("sessions").sessions(cwd=cwd)

    def import_session(self, session_id: str) -> list[Run]:
        """Deprecated: ``conn.acp.import_session(session_id)``."""
        return self._acp_as("import_session").import_session(session_id)

    def _acp_as(self, old: str) -> AcpSessions:
        """:attr:`acp`, for the old spelling ``old``, which a warning says is going."""
        note = f"Connection.{old} is deprecated and goes in 0.11: use Connection.acp.{old}"
        warn(note, category=DeprecationWarning, stacklevel=3)
        return self.acp

    def _list_quietly(self) -> None:
        """Read the listing for a display, once; a display never raises for it, it shows
        why the agents are not listed (and does not ask again: ``agents()`` does)."""
        if self._agents is not None or self._unlisted is not None:
            return
        if not (self.local or self.capabilities.listing):
            return
        try:
            self.agents()
        except Exception as exc:  # a display shows the reason; agents() raises it
            self._unlisted = f"agents not listed: {exc}"

    def __post_init__(self) -> None:
        """The client is made with the connection: it checks the dialect and its options,
        the URL, the key and ``trusted_origins=`` (each in its one place), so a mistake fails
        at ``connect()``, not at the first run; the connection keeps the key as checked."""
        if self._client is None:
            self._client = self._new_client()
            self._keyless_note_due = True
        self.api_key = self._client.api_key
        if self.base_url is None and self._client.provider.wire != "http":
            self.base_url = self._client.base_url  # the agent's command: where it goes

    def _new_client(self) -> AsyncAgentClient:
        client = AsyncAgentClient(
            self.provider,
            base_url=self.base_url,
            api_key=self.api_key,
            connection=self.name,
            **self.options,
        )
        if isinstance(client.transport, AcpTransport):  # the agent may reach the files
            client.transport.workspace = WorkdirFiles(client.transport.cwd)
        if self.local:  # the person knows it as the built-in server, not a dialect
            server = "the built-in local server"
            named = f"connection {self.name!r} ({server})"
            client.provider.known_as = server if self.name == DEFAULT_NAME else named
        return client

    def close(self) -> None:
        """Close the connection's client (an ACP agent's process ends), for a connection made
        by hand and never registered (``agentnb.disconnect`` closes a registered one)."""
        if self._client is not None:
            run_sync(self._client.aclose())

    def client(self) -> AsyncAgentClient:
        """The connection's async client. Use it only on agentnb's background loop."""
        client = self._client
        assert client is not None, "made by __post_init__"
        if self._keyless_note_due:  # said at the first use, not when a connection is replaced
            self._keyless_note_due = False
            self._note_if_keyless()
        return client

    def _note_if_keyless(self) -> None:
        """Say, before the first request, that it goes without a key and how to set one
        (not for the built-in server, nor when the caller's own headers carry a key)."""
        headers = {str(name).lower() for name in self.options.get("headers") or {}}
        keyed = headers & {"authorization", "x-api-key", "api-key"}
        if self.local or self.api_key or keyed or self.client().provider.wire != "http":
            return
        where = f"{self.provider} at {self.base_url or 'its default URL'}"
        note(terminal_safe(no_key_note(self.name, where)))

    def in_folder(self, folder: str | os.PathLike[str]) -> Connection | None:
        """A connection of its own to this one's agent, run in ``folder`` (an ACP agent's
        process: its working directory, its sessions' ``cwd`` and the files it may read and
        write); not registered, :meth:`close` it after. None for an agent that does not run
        here (a platform, an agent served over the network): it cannot reach the folder.
        Its command's arguments that name a file here (``agent.py``) name it still."""
        if wire_of(self.client().provider) != "acp":
            return None
        options = ClientOptions(**{**self.options, "cwd": os.fspath(folder)})
        command = options.get("command")
        if command is not None:
            words = shlex.split(command) if isinstance(command, str) else list(command)
            options["command"] = [_from_here(word) for word in words]
        by_command = options.get("command") is not None  # its base_url is the command's
        base_url = None if by_command else self.base_url
        return Connection(self.name, self.provider, base_url, self.api_key, options)

    def carries(self, option: str) -> bool:
        """Whether this connection's dialect has a field for run option ``option``
        (``"tools"``, ``"media"``, ...: :attr:`~agentnb.providers.Provider.carries`)."""
        carried = type(self.client().provider).carries
        return carried is None or option in carried

    @property
    def context_by_mcp(self) -> bool:
        """``context=True`` reaches this connection's agent as an MCP server (ACP)."""
        return type(self.client().provider).context_by_mcp

    def _fit_tools(
        self, options: Mapping[str, Any], *, context: bool = False, in_cell: bool = True
    ) -> FittedTools:
        """A run's ``options`` and ``context=`` as this connection's dialect takes tools: the
        one place they are rewritten, which every entry point calls before it builds its
        requests (``ask`` and the magics, a chat's turns, ``batch`` and what is built on it,
        ``agentnb run``). For a dialect that takes MCP servers instead of the notebook's
        functions (ACP): ``tools=agentnb.mcp_tools(...)`` becomes that server's entry and
        ``context=True`` the notebook's own server (:meth:`_with_context`; ``in_cell`` as
        there; ``tools=agentnb.notebook_tools()``: that server with its write tools), both
        in ``extra``'s ``mcpServers``. Elsewhere the options go as given and
        ``context=True`` as the notebook's context tools, which the caller adds
        (:attr:`FittedTools.context_as_tools`: with the message's attachments, one nonce)."""
        if not self.context_by_mcp:
            return FittedTools(dict(options), context)
        fitted, write = without_notebook_tools(self._with_mcp_tools(options))
        if context or write:
            fitted = self._with_context(fitted, in_cell=in_cell, write=write)
        return FittedTools(fitted, False)

    def _with_mcp_tools(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` with ``tools=agentnb.mcp_tools(...)`` as that server's entry in
        ``extra``'s ``mcpServers``: the agent starts and calls the server itself, asking
        through its permission requests. A list of a server's tools (``[*tools]``) stays a
        list of functions, which the dialect refuses."""
        tools = options.get("tools")
        if not isinstance(tools, McpTools):
            return dict(options)
        extra = dict(options.get("extra") or {})
        listed = [*(extra.get("mcpServers") or []), tools.mcp_server()]
        rest = {k: v for k, v in options.items() if k != "tools"}
        return {**rest, "extra": {**extra, "mcpServers": listed}}

    def _with_context(
        self, options: Mapping[str, Any], *, in_cell: bool, write: bool = False
    ) -> dict[str, Any]:
        """``options`` with the notebook as an MCP server in ``extra``'s ``mcpServers``, for
        ``context=True`` on an agent that takes MCP servers: one server for the connection,
        started on first use (shown in that cell, and again in each later cell whose code
        uses it, ``in_cell``, so a call its turn waits on has its card there; its calls
        decided there), kept while it runs, stopped with the connection. It serves a call
        only while a turn that lists it goes on, decided by that turn's ``approve``
        (:meth:`share_notebook`): an agent that keeps the server from an earlier turn reads
        nothing in a turn without ``context=True``. ``write``: it serves the notebook tools
        too, from then on (started again with them, if it ran without)."""
        server = self._context_server
        if server is None or not server.running or (write and not server.writes):
            if server is not None:
                server.stop()
            server = self._context_server = serve(write=write)
            server.share_with_turn(None)()  # from now on, only through turns
        elif in_cell:
            server.show_here()  # its calls' cards where this turn waits for them
        extra = dict(options.get("extra") or {})
        listed = [*(extra.get("mcpServers") or []), server.mcp_server(write=write)]
        return {**options, "extra": {**extra, "mcpServers": listed}}

    def share_notebook(
        self, request: RunRequest, approve: ApprovalPolicy
    ) -> Callable[[], None] | None:
        """Share the notebook with the turn ``request`` starts, when it lists the
        connection's server (:meth:`_with_context`), its calls decided by ``approve``: the
        function that ends the sharing (at the turn's end); None when it does not."""
        server = self._context_server
        listed = request.extra.get("mcpServers")
        if server is None or not server.running or not isinstance(listed, list):
            return None
        entries = [s for s in listed if isinstance(s, dict) and s.get("url") == server.url]
        if not entries:
            return None
        write = any(WRITE_HEADER in (entry.get("headers") or []) for entry in entries)
        return server.share_with_turn(approve, write)

    def asking_on_the_servers_card(self, approve: ApprovalPolicy) -> ApprovalPolicy:
        """``approve`` for a turn :meth:`share_notebook` shared the notebook with: the agent's
        own ask to call the server's tools is given, the server asks on its own card
        (:meth:`ContextServer.asking_on_its_card`)."""
        server = self._context_server
        return approve if server is None else server.asking_on_its_card(approve)

    def check(self, request: RunRequest, approve: ApprovalPolicy = None) -> None:
        """Raise :class:`ConfigurationError` before any I/O for an option this connection
        cannot send, or an ``approve`` policy it cannot honour; an unsupported option is
        named with this connection and the agent, and the error says which dialects (and
        which of the user's connections) carry it."""
        if not request.tools:  # with client tools, the client decides on its own calls
            approver_for(approve, self.client().provider)
        with self.naming_options(request.agent):
            self.client().provider.check_request(request)

    @contextlib.contextmanager
    def naming_options(self, agent: str) -> Iterator[None]:
        """An option this connection cannot send, named with it and ``agent`` (see
        :meth:`check`)."""
        try:
            yield
        except UnsupportedOptionError as exc:
            raise UnsupportedOptionError(
                self._cannot_carry(exc, agent),
                options=exc.options,
                supported=exc.supported,
                dialect=exc.dialect,
            ) from None

    def _cannot_carry(self, exc: UnsupportedOptionError, agent: str) -> str:
        asked = ", ".join(exc.options)
        where = "the built-in local server" if self.local else self.base_url or "its default URL"
        dialects = _dialects_carrying(exc.options)
        mine = [c.name for c in connections().values() if c.provider in dialects]
        lines = [
            f"connection {self.name!r} ({where}, {self.provider} dialect) cannot send "
            f"{asked} for agent {agent!r}; it sends {', '.join(exc.supported) or 'no options'}."
        ]
        if not dialects:
            lines.append(f"No installed dialect sends {asked}.")
            return " ".join(lines)
        lines.append(f"The dialects that send {asked}: {', '.join(dialects)}.")
        if mine:
            lines.append(f"Your connections that can: {', '.join(mine)} (--via NAME / via=NAME).")
        elif self.local:
            suggested = "openai" if "openai" in dialects else dialects[0]
            lines.append(
                f"The built-in server speaks them all: agentnb.connect({suggested!r}, "
                f"local=True, name='local_{suggested.replace('-', '_')}'), then --via "
                f"local_{suggested.replace('-', '_')}; or drop the option."
            )
        else:
            lines.append(
                "Connect to a platform that speaks one (agentnb.connect(DIALECT, base_url=..., "
                "name=NAME), then --via NAME / via=NAME; in the CLI --provider / --base-url), "
                "or drop the option."
            )
        return " ".join(lines)

    def describe(self) -> dict[str, str]:
        """What ``%agent_config`` shows: never the key itself."""
        return {
            "name": self.name,
            "provider": self.provider,
            "base_url": "built-in local server" if self.local else (self.base_url or ""),
            "api_key": mask(self.api_key),
        }


class AgentList(ListTable[RemoteAgent]):
    """The agents a connection offers: a list of :class:`~agentnb.providers.RemoteAgent`
    shown as a table (name, description, skills)."""

    none = "lists no agents"

    def names(self) -> list[str]:
        return [agent.name for agent in self]

    def _table(self) -> PlainTable:
        rows = (
            (a.name, " — ".join(x for x in (a.title, a.description) if x), ", ".join(a.skills))
            for a in self
        )
        title = f"agents of {self.connection!r}:"
        return PlainTable(("agent", "description", "skills"), rows, code=(0,), title=title)


class ConnectionList(dict[str, "Connection"]):
    """The connections registered so far (a plain dict of name to :class:`Connection`),
    shown as a table of where each goes and what it supports."""

    def _table(self) -> PlainTable:
        fields = ("name", "provider", "base_url", "api_key")
        rows = (
            [*(c.describe()[f] for f in fields), ", ".join(c.supports())] for c in self.values()
        )
        return PlainTable((*fields, "supports"), rows)

    def __repr__(self) -> str:
        return repr(self._table()) if self else "(no connections yet)"

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()


_by_client: weakref.WeakKeyDictionary[AsyncAgentClient, Connection] = weakref.WeakKeyDictionary()


def store_of(client: AsyncAgentClient) -> HistoryStore[Any] | None:
    """The history ``client`` records its runs in (None: it records none)."""
    recorder = client.recorder
    if isinstance(recorder, HistoryStore):
        return recorder
    return default_store() if client.record else None


def connection_for(client: AsyncAgentClient) -> Connection:
    """An unnamed connection around a client given as ``client=``: it keeps that client's
    conversation threads, so consecutive ``ask(..., client=c)`` calls continue them."""
    with _lock:
        conn = _by_client.get(client)
        if conn is None:
            conn = Connection(
                name=client.connection,
                provider=client.provider.name,
                base_url=client.base_url,
                _client=client,
            )
            _by_client[client] = conn
        return conn


AnyClient = AsyncAgentClient | AgentClient
"""A client given as ``client=`` (the sync one is used through its async face)."""


def resolve_target(via: str | None, client: AnyClient | None, agent: object = None) -> Connection:
    """The connection a run goes through: ``client`` when given, else the named one (with
    none named, the one ``agent`` names: :func:`via_for`)."""
    if client is not None and via is not None:
        raise ConfigurationError("give either via= (a connection name) or client=, not both")
    return get_connection(via_for(agent, via)) if client is None else _around(client)


def via_for(agent: object, via: str | None) -> str | None:
    """``via``; with none, ``agent`` when it names a connection that reaches one agent (an
    ACP agent's process: ``%%agent codex`` for the connection ``codex``)."""
    if via is not None or not isinstance(agent, str) or not _NAME.fullmatch(agent):
        return via
    found = configured_connection(agent)  # this process's, or one the environment sets
    return agent if found is not None and _one_agent(found) else None


def _one_agent(conn: Connection) -> bool:
    cls = provider_class(conn.provider)
    return cls is not None and cls.serves_one_agent


Via = str | Connection | AnyClient | None
"""Where runs go: a connection's name (None: the default one), a Connection, or a client."""


def connection_of(via: Via) -> Connection:
    """The connection ``via`` names or is, or the one around the client it is."""
    if isinstance(via, Connection):
        return via
    if isinstance(via, str | None):
        return get_connection(via)
    return _around(via)


def _around(client: object) -> Connection:
    """The connection around a client given as ``client=`` (see :func:`connection_for`)."""
    if isinstance(client, AgentClient):
        client = client.aio
    if not isinstance(client, AsyncAgentClient):
        raise ConfigurationError(
            f"client= takes an AgentClient or AsyncAgentClient, not {type(client).__name__}"
        )
    return connection_for(client)


LOCAL_TOOLS_NAME = "local_openai"
"""The connection a run with notebook tools takes on the built-in server when the default
connection's dialect cannot send tools: the same server and agents, in the openai dialect."""


def carrying_tools(conn: Connection, tools: bool) -> Connection:
    """``conn``; or, for a run with notebook tools (``tools``) on the default built-in
    connection, whose dialect sends none, the built-in server's ``local_openai`` connection
    (made on first use), so that ``%%agent finance_agent --tool f`` works with nothing set up.
    A connection of the person's own under that name is never replaced."""
    if not (tools and conn.local and conn.name == DEFAULT_NAME):
        return conn
    if conn.carries("tools"):
        return conn
    with _lock:
        found = _connections.get(LOCAL_TOOLS_NAME)
    if found is None:
        return connect("openai", local=True, name=LOCAL_TOOLS_NAME)
    return found if found.local and found.carries("tools") else conn


def connect(
    provider: str | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    name: str = DEFAULT_NAME,
    local: bool = False,
    **options: Unpack[ClientOptions],
) -> Connection:
    """Register (or replace) the named connection and return it.

    ``local=True`` uses the built-in local server, speaking ``provider``'s dialect (it
    speaks them all; the default is Operativus), e.g. to try an option only some dialects
    carry.

    ``provider`` is a dialect name (see ``agentnb.providers.available_providers()``); with no
    ``base_url`` the provider's public URL is used. ``api_key`` falls back to the environment
    (``AGENTNB_<NAME>_API_KEY``, then ``AGENTNB_API_KEY`` for the default connection).
    With no provider and nothing in the environment, the built-in local server is used.
    """
    _check_name(name)
    env = _env_settings(name)
    if local or (provider := provider or env.get("provider")) is None:
        conn = _local_connection(name, options, provider)
    else:
        if "command" in env and options.get("command") is None:  # an ACP agent's
            options = ClientOptions(**options, command=env["command"])
        conn = Connection(
            name=name,
            provider=provider,
            base_url=base_url or env.get("base_url") or _default_base_url(provider),
            api_key=api_key if api_key is not None else env.get("api_key"),
            options=options,
        )
    with _lock:
        _replace(name, conn)
    return conn


def get_connection(name: str | None = None) -> Connection:
    """The named connection, resolved from ``connect``, the environment or the local server."""
    name = name or DEFAULT_NAME
    with _lock:
        found = configured_connection(name)
        if found is not None:
            return found
        if name != DEFAULT_NAME:
            known = ", ".join(sorted(_connections)) or "none yet"
            raise ConfigurationError(
                f"unknown connection {name!r} (known: {known}). Create it with "
                f"agentnb.connect(provider, base_url=..., name={name!r}) or set "
                f"{env_prefix(name)}PROVIDER / BASE_URL / API_KEY."
            )
        conn = _local_connection(name, {})
        _connections[name] = conn
        return conn


def configured_connection(name: str) -> Connection | None:
    """The named connection if this process has it, from ``connect`` or the environment;
    None otherwise (the built-in server is not started for it)."""
    with _lock:
        found = _connections.get(name)
        if found is None and _env_settings(name).get("provider"):
            found = connect(name=name)
        return found


def connections() -> Mapping[str, Connection]:
    """The connections registered so far (a copy, a :class:`ConnectionList`), shown as a
    table of what each supports."""
    with _lock:
        return ConnectionList(_connections)


def disconnect(name: str = DEFAULT_NAME) -> None:
    """Forget a connection (its client is closed in the background)."""
    with _lock:
        _replace(name, None)


def close_all() -> None:
    """Forget every connection and close their clients (waits for the close)."""
    with _lock:
        clients = [c._client for c in _connections.values() if c._client is not None]
        _connections.clear()

    async def close() -> None:
        await asyncio.gather(*(client.aclose() for client in clients))

    if clients:
        run_sync(close())


# ---- helpers --------------------------------------------------------------------------
def _replace(name: str, conn: Connection | None) -> None:
    old = _connections.pop(name, None)
    if conn is not None:
        _connections[name] = conn
    if old is not None and old._client is not None:
        submit(old._client.aclose())
    if old is not None and old._context_server is not None:
        old._context_server.stop()


def _from_here(word: str) -> str:
    """``word``, or the absolute path of the file it names relative to this folder."""
    if os.path.isabs(word) or not os.path.exists(word):
        return word
    return os.path.abspath(word)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise ConfigurationError(
            f"connection name {name!r} must be letters, digits, '_' or '-', starting with a letter"
        )


def _dialects_carrying(options: tuple[str, ...]) -> list[str]:
    """The installed dialects that can send every one of ``options``."""
    return sorted(
        name
        for name, cls in available_providers().items()
        if cls.carries is None or set(options) <= cls.carries
    )


def _default_base_url(provider: str) -> str | None:
    cls = provider_class(provider)
    return cls.default_base_url if cls is not None else None


def _env_settings(name: str) -> dict[str, str]:
    prefix = env_prefix(name)
    settings: dict[str, str] = {}
    for key in ("provider", "base_url", "api_key", "command"):
        value = os.environ.get(prefix + key.upper())
        if value:
            settings[key] = value
    if "base_url" in settings and "provider" not in settings:
        raise ConfigurationError(
            f"{prefix}BASE_URL is set but {prefix}PROVIDER is not: say which dialect that "
            f"server speaks (e.g. {prefix}PROVIDER=openai); agentnb will not guess, nor fall "
            f"back to the built-in server"
        )
    return settings


def _local_connection(name: str, options: ClientOptions, provider: str | None = None) -> Connection:
    from ...server import local_server  # starlette and uvicorn load only if it is used

    global _local_note_shown
    server = local_server()
    provider = provider or DEFAULT_LOCAL_PROVIDER
    settings = server.client_settings(provider)
    base_url = settings.pop("base_url")
    served = dict(settings.get("provider_options") or {})
    opts = ClientOptions(**options)
    opts["provider_options"] = {**served, **(options.get("provider_options") or {})}
    if not _local_note_shown:
        _local_note_shown = True
        _note_local_server(server.base_url)
    return Connection(
        name=name,
        provider=provider,
        base_url=base_url,
        api_key=server.api_key,
        options=opts,
        local=True,
    )


def _note_local_server(base_url: str) -> None:
    agents = BUILTIN_AGENTS
    note(
        f"agentnb: no connection configured; using the built-in local agent server "
        f"({base_url}, demo agents: {', '.join(agents)}).",
        markdown=f"<small>agentnb: no connection configured; using the built-in local agent "
        f"server at `{base_url}` (demo agents: {', '.join(f'`{a}`' for a in agents)}).</small>",
    )
