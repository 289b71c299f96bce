"""An ACP connection's sessions as a person reaches them, in one place (``conn.acp``,
:class:`AcpSessions`): the settings a session offers (model, mode, effort...) and the slash
commands it advertises, each shown as a table; the agent's past sessions, one imported as
runs. What the agent said is kept by the dialect (:mod:`agentnb.providers._acp_session`);
this reads it on the person's side."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, SupportsIndex, overload

from ..._client.async_client import AsyncAgentClient
from ..._core.exceptions import ConfigurationError
from ..._core.loop import run_sync, submit
from ..._core.request import build_request
from ..._core.run import Run
from ..._core.text import typed_words
from ..._display.environment import note
from ..._display.plain_table import ListTable, PlainTable
from ..._history import HistoryStore, RunFilter
from ...events import RunCompleted, RunStarted
from ...providers import RpcCall
from ...providers._acp_session import (
    ConfigOption,
    SessionCommand,
    SessionState,
    option_named,
    resolve_config,
    set_setting,
    shown,
)
from ...providers.acp import Acp, AcpTranslator
from ...sse import ServerSentEvent

__all__ = [
    "AcpSessions",
    "ChatSession",
    "CommandList",
    "ConfigOptions",
    "PastSession",
    "SessionList",
]

COMMANDS_WAIT_S = 3.0
"""How long a completion waits for a session's commands, which an agent advertises just
after the session opens (``available_commands_update``)."""
SHOWN_CHOICES = 12
"""How many of a setting's choices its row shows (the rest are counted)."""


class ConfigOptions(ListTable[ConfigOption]):
    """The settings an ACP session offers, shown as a table; ``options["model"]`` is the
    setting of that id, else of that category (``model``, ``mode``, ``thought_level``)."""

    none = "offers no settings"

    @overload
    def __getitem__(self, key: SupportsIndex) -> ConfigOption: ...
    @overload
    def __getitem__(self, key: slice) -> list[ConfigOption]: ...
    @overload
    def __getitem__(self, key: str) -> ConfigOption: ...
    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        named = [o for o in self if o.id == key] or [o for o in self if o.category == key]
        if named:
            return named[0]
        raise KeyError(f"no setting {key!r}; the settings: {', '.join(o.id for o in self)}")

    def _table(self) -> PlainTable:
        rows = (
            (
                shown(o.id),
                shown(o.name),
                shown(o.category or ""),
                shown(str(o.current)) if o.current is not None else "",
                _choices(o),
            )
            for o in self
        )
        title = f"settings of {self.connection!r}'s session:"
        header = ("id", "name", "category", "current", "choices")
        return PlainTable(header, rows, code=(0, 3), title=title)


def _choices(option: ConfigOption) -> str:
    if option.kind == "boolean":
        return "True, False"
    said = [shown(c.value) for c in option.choices[:SHOWN_CHOICES]]
    more = len(option.choices) + option.dropped - SHOWN_CHOICES
    return ", ".join(said) + (f" (and {more:,} more)" if more > 0 else "")


class CommandList(ListTable[SessionCommand]):
    """The slash commands an ACP session advertises, shown as a table."""

    none = "advertises no commands"

    def __init__(self, connection: str, commands: Iterable[SessionCommand], dropped: int) -> None:
        super().__init__(connection, commands)
        self.dropped = dropped

    def names(self) -> list[str]:
        return [f"/{command.name}" for command in self]

    def _table(self) -> PlainTable:
        rows = ((f"/{shown(c.name)}", shown(c.hint or ""), shown(c.description, 300)) for c in self)
        notes = [f"{self.dropped:,} more commands not kept"] if self.dropped else []
        title = f"commands of {self.connection!r}'s session:"
        return PlainTable(
            ("command", "input", "description"), rows, code=(0,), title=title, notes=notes
        )


def acp_of(client: AsyncAgentClient, connection: str) -> Acp:
    """The ACP dialect of connection ``connection``'s client; else an error saying a
    session's controls are an ACP agent's."""
    provider = client.provider
    if not isinstance(provider, Acp):
        raise ConfigurationError(
            f"connection {connection!r} speaks the {provider.name} dialect: its sessions, their "
            f"settings and commands (conn.acp) are an ACP agent's "
            f"(agentnb.connect('acp', command=[...]))"
        )
    return provider


class AcpSessions:
    """An ACP agent's sessions as its connection reaches them (``conn.acp``): the settings
    and commands of its latest session, kept current as the agent updates them, and its
    past sessions, listed and imported into the history."""

    def __init__(
        self,
        client: AsyncAgentClient,
        connection: str,
        store: Callable[[], HistoryStore | None],
    ) -> None:
        self.provider = acp_of(client, connection)
        self.client, self.connection = client, connection
        self._store = store  # returns the history an import records in (None: none)

    def _latest(self) -> SessionState:
        """The state of the connection's latest session (one opened to read it, if none is)."""
        return run_sync(self.provider.latest_session(self.client.transport.send_json))

    @property
    def config_options(self) -> ConfigOptions:
        """The settings the agent offers its sessions (model, mode, effort...: id, name,
        category, current value, choices), as its latest session says. Set them with
        ``config={...}`` on ``connect`` (every session) or a run."""
        return ConfigOptions(self.connection, self._latest().options)

    @property
    def commands(self) -> CommandList:
        """The slash commands the agent advertises for its latest session (name,
        description, input hint): send one as the message (``"/review"``)."""
        state = self._latest()
        return CommandList(self.connection, state.commands, state.commands_dropped)

    def completed(self, message: str) -> tuple[str, str]:
        """``message`` with its leading ``/command`` completed where it begins one the agent
        advertises and no other (``/rev`` → ``/review``), and a note saying what was done
        (empty: nothing); the rest is sent as typed. A message that is not a command
        (``/tmp/x``, text) is left as it is."""
        word, sep, rest = message.partition(" ")
        typed = word[1:]
        if not word.startswith("/") or not typed or "/" in typed:
            return message, ""
        state = self._latest()
        deadline = time.monotonic() + COMMANDS_WAIT_S
        while not state.commands and time.monotonic() < deadline:
            time.sleep(0.05)
        names = [command.name for command in state.commands]
        if typed in names:
            return message, ""
        starting = [name for name in names if name.startswith(typed)]
        if len(starting) == 1:
            return f"/{starting[0]}{sep}{rest}", f"/{shown(typed)} → /{shown(starting[0])}"
        if starting:
            said = ", ".join(f"/{shown(name)}" for name in starting[:10])
            return message, f"/{shown(typed)} may be {said}: sent as typed"
        return message, ""

    def sessions(self, *, cwd: str | os.PathLike[str] | None = None) -> SessionList:
        """The past sessions the agent lists (``session/list``: id, title, cwd, updated; every
        page up to :data:`MAX_LISTED`), as a table; ``cwd`` keeps those of that folder. An
        agent without it says so."""
        provider, send = self.provider, self.client.transport.send_json

        async def read() -> tuple[list[PastSession], bool]:
            await self.client.transport.discover()
            if not provider.offers("list"):
                raise ConfigurationError(
                    f"{provider.named} does not list its sessions (no session/list)"
                )
            found: list[PastSession] = []
            cursor: str | None = None
            while len(found) < MAX_LISTED:
                params: dict[str, Any] = {"cwd": os.fspath(cwd)} if cwd else {}
                if cursor:
                    params["cursor"] = cursor
                answer = await send(RpcCall("session/list", params))
                page = answer if isinstance(answer, dict) else {}
                found += [s for item in page.get("sessions") or [] if (s := _listed(item))]
                cursor = page.get("nextCursor") if isinstance(page.get("nextCursor"), str) else None
                if not cursor:
                    return found[:MAX_LISTED], False
            return found[:MAX_LISTED], True

        found, more = run_sync(read())
        return SessionList(self.connection, found, more)

    def import_session(self, session_id: str) -> list[Run]:
        """Replay the agent's past session ``session_id`` (``session/load``) into the history:
        one run per user turn, marked imported (``run.imported``), searchable and analysable
        as any run, each held to what a live run may keep (``max_run_mib``); a turn imported
        before is not again. The runs, oldest first. Continue the session with
        ``thread_id=session_id``. An agent without ``session/load`` says so."""
        provider, client = self.provider, self.client
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError("import_session takes a session id (see conn.acp.sessions())")

        async def load() -> list[dict[str, Any]]:
            await client.transport.discover()
            if not provider.offers("loadSession"):
                raise ConfigurationError(
                    f"{provider.named} cannot replay its past sessions (no session/load)"
                )
            return await provider.replay(session_id, client.transport.send_json)

        turns = list(enumerate(_turns(run_sync(load()))))
        store = self._store()
        new = turns if store is None else self._new_turns(turns, store, session_id)
        runs = [self._imported_run(session_id, n, turn) for n, turn in new]
        if store is not None:
            for run in runs:
                if store.get(run.local_id) is None:
                    request = build_request(run.agent, run.message, thread_id=session_id)
                    store.record(run, request, base_url=client.base_url)
            store.flush()
        return runs

    def _new_turns(self, turns: list[_Turn], store: HistoryStore, session_id: str) -> list[_Turn]:
        """The turns of the session not already in the history as runs of this connection
        agentnb recorded live; how many were is said."""
        recorded = store.runs(RunFilter(agents=(self.connection,), thread=session_id))
        live = Counter(r.message for r in recorded if not r.imported)
        left = []
        for turn in turns:
            live[turn[1][0]] -= 1  # each run kept live matches one turn with its message
            if live[turn[1][0]] < 0:
                left.append(turn)
        if kept := len(turns) - len(left):
            note(f"{kept} turn{'s' * (kept > 1)} already in the history, not imported again")
        return left

    def _imported_run(self, session_id: str, n: int, turn: tuple[str, list[dict[str, Any]]]) -> Run:
        asked, updates = turn
        key = f"{self.connection}\0{session_id}\0{n}"
        run = Run.new(
            self.connection,
            asked,
            thread_id=session_id,
            provider=self.provider.name,
            connection=self.connection,
            model=None,
            max_size=self.client.max_run_size,
            local_id=f"imported-{hashlib.sha256(key.encode()).hexdigest()[:32]}",
        )
        run.imported = True
        translator = AcpTranslator(self.provider, session_id, started=True)  # not today's model
        run.start()
        run.apply(RunStarted(thread_id=session_id))
        for update in updates:
            frame = ServerSentEvent(event="update", data=json.dumps(update))
            for event in translator.translate(frame):
                run.apply(event)
        run.apply(RunCompleted(finish_reason="stop"))
        return run


# ---- past sessions ------------------------------------------------------------------------
MAX_LISTED = 1000
"""The most sessions :func:`past_sessions` reads (pages of ``session/list`` followed)."""


@dataclass(frozen=True)
class PastSession:
    """A session the agent lists (``session/list``): what :func:`import_session` takes."""

    session_id: str
    title: str | None
    cwd: str | None
    updated: str | None


class SessionList(ListTable[PastSession]):
    """The sessions an ACP agent lists, shown as a table (id, title, cwd, updated)."""

    none = "lists no sessions"

    def __init__(self, connection: str, sessions: Iterable[PastSession], more: bool) -> None:
        super().__init__(connection, sessions)
        self.more = more

    def _table(self) -> PlainTable:
        rows = (
            (
                shown(s.session_id),
                shown(s.updated or ""),
                shown(s.cwd or "", 300),
                shown(typed_words(s.title or ""), 300),
            )
            for s in self
        )
        notes = [f"the first {MAX_LISTED:,} sessions; the agent lists more"] if self.more else []
        title = f"sessions of {self.connection!r}:"
        header = ("session_id", "updated", "cwd", "title")
        return PlainTable(header, rows, code=(0,), title=title, notes=notes)


def _listed(item: object) -> PastSession | None:
    if not isinstance(item, dict) or not isinstance(item.get("sessionId"), str):
        return None

    def text(key: str) -> str | None:
        return value[:TEXT_LIMIT] if isinstance(value := item.get(key), str) else None

    said = item["sessionId"][:TEXT_LIMIT]
    return PastSession(said, text("title"), text("cwd"), text("updatedAt"))


TEXT_LIMIT = 1000
"""How much of a listed session's id, title or cwd is kept."""


_Turn = tuple[int, tuple[str, list[dict[str, Any]]]]
"""A turn of a replay: its place, the user's message and the updates that answered it."""


def _turns(updates: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The replay cut into turns: each begins with the user's message (its chunks joined)."""
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    asked: list[str] = []
    for update in updates:
        if update.get("sessionUpdate") == "user_message_chunk":
            if turns and not asked and not turns[-1][1]:
                asked = [turns.pop()[0]]  # the user's message in several chunks
            asked.append(_chunk_text(update))
            continue
        if asked:
            turns.append(("".join(asked), []))
            asked = []
        if turns:
            turns[-1][1].append(update)
    if asked:
        turns.append(("".join(asked), []))
    return turns


def _chunk_text(update: dict[str, Any]) -> str:
    content = update.get("content")
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""


# ---- a chat cell's controls --------------------------------------------------------------------
SHOWN_SETTINGS = 8
"""How many of a session's settings a chat cell offers beside its input (model, mode and
effort first)."""
OFFERED_CHOICES = 200
"""How many of a setting's choices its selector offers."""
OFFERED_COMMANDS = 200
"""How many commands ``/`` offers in a chat cell."""
_FIRST = {"model": 0, "mode": 1, "thought_level": 2}


class ChatSession:
    """A chat cell's view of its ACP session (:class:`~agentnb._display.controller.
    SessionControls`): the settings its selectors offer and the commands ``/`` offers, those
    of the conversation's session (the latest one before it has one). A setting picked goes
    in ``options["config"]``, which every run of the conversation sends, and is set on the
    session at once where one is open and idle (``session/set_config_option``), shown
    pending until the agent answers; refused, the selector goes back and says why."""

    def __init__(
        self,
        client: AsyncAgentClient,
        connection: str,
        options: dict[str, Any],
        thread: Any,
        busy: Any = lambda: False,
    ) -> None:
        self.provider = acp_of(client, connection)
        self.client, self.connection = client, connection
        self.options = options
        self.thread = thread
        """Returns the conversation's thread (its session id), None before the first run."""
        self.busy = busy
        """Returns whether a turn of the conversation is running (a pick then waits for the
        next message, set before its prompt)."""
        self.pending: dict[str, str | bool] = {}
        """Each setting being set on the session, by its id: the value asked for."""
        self.error: str | None = None
        """Why the last pick was refused (shown beside the selectors until the next one)."""
        self._changed: list[Any] = []
        self.provider.watch(self._session_changed)

    def _state(self) -> SessionState | None:
        session = self.thread() or self.provider.latest
        return self.provider.sessions.get(session) if session else None

    def wire(self) -> dict[str, Any] | None:
        state = self._state()
        if state is None:
            return None
        chosen = dict(self.options.get("config") or {})
        options = sorted(
            (o for o in state.options if o.kind == "select"),
            key=lambda o: _FIRST.get(o.category or "", 3),
        )
        settings = [
            {
                "id": o.id,
                "name": shown(o.name),
                "category": o.category,
                "current": chosen.get(o.id, o.current),
                "pending": o.id in self.pending,
                "choices": [
                    {"value": c.value, "name": shown(c.name)} for c in o.choices[:OFFERED_CHOICES]
                ],
            }
            for o in options[:SHOWN_SETTINGS]
        ]
        commands = [
            {
                "name": c.name,
                "label": shown(c.name),
                "description": shown(c.description, 300),
                "hint": shown(c.hint or "", 200),
            }
            for c in state.commands[:OFFERED_COMMANDS]
        ]
        more = max(0, len(state.commands) - OFFERED_COMMANDS) + state.commands_dropped
        return {
            "settings": settings,
            "commands": commands,
            "more_commands": more,
            "error": self.error,
        }

    def choose(self, setting: str, value: str | bool) -> None:
        """The person picked ``value`` for ``setting``: the next runs ask for it, and the
        open session is set to it now (:meth:`_set`); refused, the cell says why."""
        self.error = None
        state = self._state()
        option = None
        if state is not None:
            try:
                resolve_config(state.options, {setting: value}, self.provider.named)
            except ConfigurationError as exc:
                self.error = f"Could not set {shown(setting)}: {exc}"
                self._tell()
                return
            option = option_named(state.options, setting)
            if option is not None:
                setting, value = option.id, option.choice_of(value) or value
        config = dict(self.options.get("config") or {})
        before = config.get(setting)
        self.options["config"] = {**config, setting: value}
        session = self._open_session()
        if option is not None and session is not None and not self.busy():
            self.pending[setting] = value
            submit(self._set(session, option, value, before))
        self._tell()

    def _open_session(self) -> str | None:
        """The session a pick is set on now: the conversation's, else the one opened to read
        the settings, which its first message takes (None: none is open)."""
        session = self.thread() or self.provider.spare
        return session if session in self.provider.sessions else None

    async def _set(
        self, session: str, option: ConfigOption, value: str | bool, before: str | bool | None
    ) -> None:
        """Set ``option`` on ``session`` now; refused, the pick is undone (``before``: what
        ``config`` asked for it before) and the cell says why."""
        state = self.provider.sessions[session]
        try:
            await set_setting(state, session, option, value, self.client.transport.send_json)
        except Exception as exc:  # the agent's refusal, or its process gone: said in the cell
            config = dict(self.options.get("config") or {})
            if config.get(option.id) == value:
                config.pop(option.id)
                if before is not None:
                    config[option.id] = before
                self.options["config"] = config
            self.error = (
                f"Could not set {shown(option.name)} to {shown(str(value))}: {shown(str(exc), 300)}"
            )
        finally:
            if self.pending.get(option.id) == value:
                del self.pending[option.id]
            self.provider.changed(session)
            self._tell()

    def watch(self, changed: Any) -> None:
        self._changed.append(changed)
        if self.provider.latest is None:  # the selectors before the first message
            submit(self._open_one())

    async def _open_one(self) -> None:
        with contextlib.suppress(Exception):  # the first run says why, where it fails
            await self.client.transport.discover()
            await self.provider.latest_session(self.client.transport.send_json)

    def _session_changed(self, session_id: str) -> None:
        if session_id in (self.thread(), self.provider.latest):
            self._tell()

    def _tell(self) -> None:
        for changed in self._changed:
            changed()
