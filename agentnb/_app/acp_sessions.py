"""An ACP connection's sessions as a person reads them: the settings a session offers
(``conn.config_options``: model, mode, effort...) and the slash commands it advertises
(``conn.commands``), each shown as a table. What the agent said is kept by the dialect
(:mod:`agentnb.providers._acp_session`); this reads it on the person's side."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, SupportsIndex, overload

from .._client.async_client import AsyncAgentClient
from .._core.exceptions import ConfigurationError
from .._core.loop import run_sync
from .._display.plain_table import PlainTable
from ..providers._acp_session import (
    ConfigOption,
    SessionCommand,
    SessionState,
    shown,
)
from ..providers.acp import Acp

__all__ = [
    "CommandList",
    "ConfigOptions",
    "acp_of",
    "completed_command",
    "config_options",
    "session_commands",
    "session_of",
]

COMMANDS_WAIT_S = 3.0
"""How long a completion waits for a session's commands, which an agent advertises just
after the session opens (``available_commands_update``)."""
SHOWN_CHOICES = 12
"""How many of a setting's choices its row shows (the rest are counted)."""


class ConfigOptions(list[ConfigOption]):
    """The settings an ACP session offers, shown as a table; ``options["model"]`` is the
    setting of that id, else of that category (``model``, ``mode``, ``thought_level``)."""

    def __init__(self, connection: str, options: Iterable[ConfigOption]) -> None:
        super().__init__(options)
        self.connection = connection

    @overload
    def __getitem__(self, key: SupportsIndex) -> ConfigOption: ...
    @overload
    def __getitem__(self, key: slice) -> list[ConfigOption]: ...
    @overload
    def __getitem__(self, key: str) -> ConfigOption: ...
    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        for option in self:
            if option.id == key:
                return option
        for option in self:
            if option.category == key:
                return option
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

    def __repr__(self) -> str:
        if not self:
            return f"(connection {self.connection!r}'s agent offers no settings)"
        return repr(self._table())

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()


def _choices(option: ConfigOption) -> str:
    if option.kind == "boolean":
        return "True, False"
    said = [shown(c.value) for c in option.choices[:SHOWN_CHOICES]]
    more = len(option.choices) + option.dropped - SHOWN_CHOICES
    return ", ".join(said) + (f" (and {more:,} more)" if more > 0 else "")


class CommandList(list[SessionCommand]):
    """The slash commands an ACP session advertises, shown as a table."""

    def __init__(self, connection: str, commands: Iterable[SessionCommand], dropped: int) -> None:
        super().__init__(commands)
        self.connection = connection
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

    def __repr__(self) -> str:
        if not self:
            return f"(connection {self.connection!r}'s agent advertises no commands)"
        return repr(self._table())

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()


def acp_of(client: AsyncAgentClient, connection: str, what: str) -> Acp:
    """The ACP dialect of connection ``connection``'s client; else an error saying ``what``
    (a feature) is an ACP agent's."""
    provider = client.provider
    if not isinstance(provider, Acp):
        raise ConfigurationError(
            f"connection {connection!r} speaks the {provider.name} dialect: {what} are an "
            f"ACP agent's (agentnb.connect('acp', command=[...]))"
        )
    return provider


def session_of(client: AsyncAgentClient, connection: str, what: str) -> SessionState:
    """The state of the connection's latest ACP session (one opened to read it, if none
    is)."""
    provider = acp_of(client, connection, what)
    return run_sync(provider.latest_session(client.transport.send_json))


def config_options(client: AsyncAgentClient, connection: str) -> ConfigOptions:
    """The settings the connection's agent offers its sessions (:class:`ConfigOptions`)."""
    return ConfigOptions(connection, session_of(client, connection, "config_options").options)


def session_commands(client: AsyncAgentClient, connection: str) -> CommandList:
    """The slash commands the connection's agent advertised for its latest session."""
    state = session_of(client, connection, "commands")
    return CommandList(connection, state.commands, state.commands_dropped)


def completed_command(client: AsyncAgentClient, connection: str, message: str) -> tuple[str, str]:
    """``message`` with its leading ``/command`` completed where it begins one the agent
    advertises and no other (``/rev`` → ``/review``), and a note saying what was done (empty:
    nothing); the rest is sent as typed. A message that is not a command (``/tmp/x``, text)
    is left as it is."""
    word, sep, rest = message.partition(" ")
    typed = word[1:]
    if not word.startswith("/") or not typed or "/" in typed:
        return message, ""
    state = session_of(client, connection, "commands")
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
