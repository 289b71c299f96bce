"""What an ACP session says of itself beside its turns: the settings it offers (its
``configOptions``, or the older ``modes`` and ``models``), the slash commands it advertises
(``available_commands_update``) and its latest plan, kept current from its
``session/update`` notifications, in or out of a turn. Shapes as the official
``agent-client-protocol`` schema defines them (``SessionConfigOptionSelect``,
``SessionModeState``, ``AvailableCommand``, ``PlanEntry``).

An agent's text is bounded and kept as it came; what shows it marks what would not show as
itself (:func:`~agentnb._core.text.excerpt`, ``marked=True``): line breaks, bidi controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal, TypeVar, cast

from .._core.exceptions import ConfigurationError
from .._core.request import RunRequest
from .._core.text import excerpt
from ._base import RpcCall
from ._frames import as_dict

__all__ = [
    "MAX_CHOICES",
    "MAX_COMMANDS",
    "MAX_OPTIONS",
    "ConfigChoice",
    "ConfigOption",
    "SessionCommand",
    "SessionState",
    "attachment_blocks",
    "media_blocks",
    "option_named",
    "options_of",
    "plan_of",
    "prompt_blocks",
    "resolve_config",
    "set_config_request",
    "set_setting",
]

MAX_OPTIONS = 64
"""The most settings kept of a session (an agent may advertise hundreds)."""
MAX_CHOICES = 500
"""The most choices kept of one setting."""
MAX_COMMANDS = 500
"""The most slash commands kept of a session."""
MAX_PLAN_ENTRIES = 1000
"""The most entries kept of a plan (the rest are counted)."""
NAME_CHARS = 200
"""How much of a name (an id, a value) is kept."""
TEXT_CHARS = 1000
"""How much of a description (a hint, a plan entry) is kept."""

SETTING_ALIASES = {"effort": "thought_level", "reasoning": "thought_level"}
"""What ``config={"effort": ...}`` names: the setting of that category."""

Source = Literal["config", "modes", "models"]
_Kept = TypeVar("_Kept", bound=tuple[Any, ...])


def _text(value: object, limit: int = NAME_CHARS) -> str:
    return value[:limit] if isinstance(value, str) else ""


def shown(value: object, limit: int = NAME_CHARS) -> str:
    """An agent's text as a person sees it: bounded, every character that would not show as
    itself (a line break, a bidi control) marked."""
    return excerpt(value if isinstance(value, str) else "", limit, marked=True)


@dataclass(frozen=True)
class ConfigChoice:
    """One value a setting may take."""

    value: str
    name: str
    description: str | None = None


@dataclass(frozen=True)
class ConfigOption:
    """One setting a session offers: its ``id``, ``name``, ``category`` (``model``, ``mode``,
    ``thought_level``, or the agent's own), the ``current`` value and the ``choices`` (a
    boolean setting: none, its values are True and False)."""

    id: str
    name: str
    category: str | None
    current: str | bool | None
    choices: tuple[ConfigChoice, ...] = ()
    kind: Literal["select", "boolean"] = "select"
    source: Source = "config"
    """Where it came from, which says how it is set: ``config`` (``session/set_config_option``),
    ``modes`` (``session/set_mode``), ``models`` (``session/set_model``)."""
    dropped: int = 0
    """Choices the agent advertised past :data:`MAX_CHOICES` (not kept)."""

    def values(self) -> list[str | bool]:
        return [True, False] if self.kind == "boolean" else [c.value for c in self.choices]

    def choice_of(self, wanted: object) -> str | bool | None:
        """The value ``wanted`` names (a choice's value, else its name, case aside); None:
        none."""
        if self.kind == "boolean":
            said = {"true": True, "on": True, "false": False, "off": False}
            return wanted if isinstance(wanted, bool) else said.get(str(wanted).casefold())
        if not isinstance(wanted, str):
            return None
        for choice in self.choices:
            if choice.value == wanted:
                return choice.value
        folded = wanted.casefold()
        for choice in self.choices:
            if choice.name.casefold() == folded or choice.value.casefold() == folded:
                return choice.value
        return None

    def choices_said(self, limit: int = 20) -> str:
        """The choices as an error names them (bounded, marked)."""
        if self.kind == "boolean":
            return "True, False"
        said = [
            shown(c.value) if c.name in ("", c.value) else f"{shown(c.value)} ({shown(c.name)})"
            for c in self.choices[:limit]
        ]
        more = len(self.choices) - limit + self.dropped
        return ", ".join(said) + (f" and {more:,} more" if more > 0 else "")


@dataclass(frozen=True)
class SessionCommand:
    """A slash command a session advertises: typed as ``/name`` (then its input)."""

    name: str
    description: str
    hint: str | None = None
    """What its input is, as the agent hints it (None: it takes none)."""


@dataclass(slots=True)  # one a session a connection opened: kept small
class SessionState:
    """One session's settings, commands and plan, kept current by :meth:`update`. A
    connection keeps one a session it opened (to continue it): the settings and commands
    most sessions share are one value (:func:`shared`), not a copy each."""

    options: tuple[ConfigOption, ...] = ()
    commands: tuple[SessionCommand, ...] = ()
    commands_dropped: int = 0
    plan: list[dict[str, Any]] | None = None

    def update(self, update: Mapping[str, Any]) -> bool:
        """Take a ``session/update``'s ``update``; whether it was one about the session."""
        kind = update.get("sessionUpdate")
        if kind == "config_option_update":
            options = options_of(update)
            if options or isinstance(update.get("configOptions"), list):
                self.options = _merged(self.options, options)
        elif kind == "current_mode_update":
            self.options = _with_current(self.options, "mode", update.get("currentModeId"))
        elif kind == "available_commands_update":
            commands, self.commands_dropped = commands_of(update.get("availableCommands"))
            self.commands = shared(commands)
        elif kind == "plan":
            self.plan = plan_of(update.get("entries"))
        else:
            return False
        return True

    def set_current(self, option_id: str, value: str | bool) -> None:
        """Say ``option_id``'s value is now ``value`` (the agent set it, answering nothing)."""
        self.options = shared(
            tuple(replace(o, current=value) if o.id == option_id else o for o in self.options)
        )

    def current(self, category: str) -> str | None:
        """The current value of the setting of ``category`` (``model``, ``mode``)."""
        for option in self.options:
            if option.category == category and isinstance(option.current, str):
                return option.current
        return None

    def in_effect(self) -> dict[str, str | bool]:
        """Every setting's current value, by its id."""
        return {o.id: o.current for o in self.options if o.current is not None}


SHARED_ITEMS = 2_000
"""The most items (settings' choices, commands) a value :func:`shared` keeps may hold: the
few it keeps stay small, whatever agent this process spoke to."""


def shared(kept: _Kept) -> _Kept:
    """``kept`` (a session's settings or commands), or the equal value kept before it: the
    sessions of one agent mostly offer the same, and a connection keeps many sessions."""
    size = sum(len(item.choices) if isinstance(item, ConfigOption) else 1 for item in kept)
    return cast(_Kept, _first_kept(kept)) if size <= SHARED_ITEMS else kept


@lru_cache(maxsize=16)
def _first_kept(kept: tuple[Any, ...]) -> tuple[Any, ...]:
    return kept


def _merged(
    old: tuple[ConfigOption, ...], new: tuple[ConfigOption, ...]
) -> tuple[ConfigOption, ...]:
    """An update's options replace the config options; the older modes and models stay
    where it has none of their category."""
    categories = {o.category for o in new}
    kept = tuple(o for o in old if o.source != "config" and o.category not in categories)
    return shared((new + kept)[:MAX_OPTIONS])


def _with_current(
    options: tuple[ConfigOption, ...], category: str, value: object
) -> tuple[ConfigOption, ...]:
    if not isinstance(value, str):
        return options
    return shared(
        tuple(
            replace(o, current=value[:NAME_CHARS]) if o.category == category else o for o in options
        )
    )


def options_of(answer: Mapping[str, Any]) -> tuple[ConfigOption, ...]:
    """The settings a ``session/new`` (or ``session/load``, ``set_config_option``) answer or
    a ``config_option_update`` offers: its ``configOptions``, and the older ``modes`` and
    ``models`` for a category those leave out."""
    options: list[ConfigOption] = []
    for raw in answer.get("configOptions") or []:
        if len(options) >= MAX_OPTIONS:
            break
        option = _config_option(raw)
        if option is not None:
            options.append(option)
    categories = {o.category for o in options}
    modes = as_dict(answer.get("modes"))
    if modes is not None and "mode" not in categories:
        options.append(_legacy("mode", "Mode", modes, "currentModeId", "availableModes", "id"))
    models = as_dict(answer.get("models"))
    if models is not None and "model" not in categories:
        options.append(
            _legacy("model", "Model", models, "currentModelId", "availableModels", "modelId")
        )
    return shared(tuple(options[:MAX_OPTIONS]))


def _config_option(raw: object) -> ConfigOption | None:
    obj = as_dict(raw)
    if obj is None or not isinstance(obj.get("id"), str) or not obj["id"]:
        return None
    category = obj.get("category")
    common: dict[str, Any] = {
        "id": _text(obj["id"]),
        "name": _text(obj.get("name")) or _text(obj["id"]),
        "category": _text(category) if isinstance(category, str) else None,
    }
    if obj.get("type") == "boolean":
        current = obj.get("currentValue")
        return ConfigOption(
            **common, current=current if isinstance(current, bool) else None, kind="boolean"
        )
    choices, dropped = _choices(obj.get("options"), "value")
    current = obj.get("currentValue")
    return ConfigOption(
        **common,
        current=_text(current) if isinstance(current, str) else None,
        choices=choices,
        dropped=dropped,
    )


def _choices(raw: object, key: str) -> tuple[tuple[ConfigChoice, ...], int]:
    """A select's choices, grouped ones flattened (``SessionConfigSelectGroup``), bounded."""
    flat: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        obj = as_dict(item)
        if obj is None:
            continue
        group = obj.get("options")
        if isinstance(group, list):
            flat += [g for g in group if isinstance(g, dict)]
        else:
            flat.append(obj)
    choices = [
        ConfigChoice(
            value=_text(c[key]),
            name=_text(c.get("name")) or _text(c[key]),
            description=_text(c.get("description"), TEXT_CHARS) or None,
        )
        for c in flat
        if isinstance(c.get(key), str) and c[key]
    ]
    return tuple(choices[:MAX_CHOICES]), max(0, len(choices) - MAX_CHOICES)


def _legacy(
    category: str, name: str, state: Mapping[str, Any], current: str, listed: str, key: str
) -> ConfigOption:
    """The older ``modes`` (``SessionModeState``) or ``models`` state as a setting."""
    choices, dropped = _choices(state.get(listed), key)
    value = state.get(current)
    return ConfigOption(
        id=category,
        name=name,
        category=category,
        current=_text(value) if isinstance(value, str) else None,
        choices=choices,
        source="modes" if category == "mode" else "models",
        dropped=dropped,
    )


def commands_of(raw: object) -> tuple[tuple[SessionCommand, ...], int]:
    """The commands of an ``available_commands_update`` (bounded; how many were left)."""
    commands: list[SessionCommand] = []
    listed = raw if isinstance(raw, list) else []
    for item in listed[:MAX_COMMANDS]:
        obj = as_dict(item)
        if obj is None or not isinstance(obj.get("name"), str) or not obj["name"]:
            continue
        hint = (as_dict(obj.get("input")) or {}).get("hint")
        commands.append(
            SessionCommand(
                name=_text(obj["name"]).lstrip("/"),
                description=_text(obj.get("description"), TEXT_CHARS),
                hint=_text(hint, TEXT_CHARS) or None,
            )
        )
    return tuple(commands), max(0, len(listed) - MAX_COMMANDS)


def plan_of(raw: object) -> list[dict[str, Any]]:
    """A plan's entries (``content``, ``status``, ``priority``), bounded."""
    entries = raw if isinstance(raw, list) else []
    kept: list[dict[str, Any]] = []
    for item in entries[:MAX_PLAN_ENTRIES]:
        obj = as_dict(item) or {}
        kept.append(
            {
                "content": _text(obj.get("content"), TEXT_CHARS),
                "status": _text(obj.get("status"), 20) or "pending",
                "priority": _text(obj.get("priority"), 20) or None,
            }
        )
    if len(entries) > MAX_PLAN_ENTRIES:
        kept.append(
            {
                "content": f"… {len(entries) - MAX_PLAN_ENTRIES:,} more entries not kept",
                "status": "pending",
                "priority": None,
            }
        )
    return kept


# ---- setting them ---------------------------------------------------------------------------
def check_config(config: object, where: str) -> dict[str, str | bool]:
    """``config={...}`` as given (``where``: what it was given to), checked: names to
    values (a string, or a bool for an on/off setting)."""
    if config is None:
        return {}
    if not isinstance(config, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | bool) for k, v in config.items()
    ):
        raise ConfigurationError(
            f'{where} config= is a dict of an ACP session\'s settings, such as {{"model": '
            f'"...", "mode": "..."}} (a setting\'s id or category, and a value it offers)'
        )
    return dict(config)


def resolve_config(
    options: tuple[ConfigOption, ...], wanted: Mapping[str, str | bool], agent: str
) -> list[tuple[ConfigOption, str | bool]]:
    """The settings ``wanted`` asks to change (each named by its id, or its category:
    ``model``, ``mode``, ``effort``), with the value each takes: a setting the session does
    not offer, or a value it does not, is a :class:`ConfigurationError` naming what it
    offers."""
    changes: list[tuple[ConfigOption, str | bool]] = []
    for key, value in wanted.items():
        option = option_named(options, key)
        if option is None:
            offered = ", ".join(
                f"{shown(o.id)}" + (f" ({o.category})" if o.category not in (None, o.id) else "")
                for o in options
            )
            raise ConfigurationError(
                f"{agent} offers no setting {shown(key)!r} for its sessions; it offers "
                f"{offered or 'none'}"
            )
        chosen = option.choice_of(value)
        if chosen is None:
            raise ConfigurationError(
                f"{agent} offers no {shown(option.name)} {shown(str(value))!r}; the choices: "
                f"{option.choices_said()}"
            )
        if chosen != option.current:
            changes.append((option, chosen))
    return changes


def option_named(options: tuple[ConfigOption, ...], key: str) -> ConfigOption | None:
    """The setting ``key`` names: by its id, else by its category (``effort``: the
    thought level)."""
    for option in options:
        if option.id == key:
            return option
    category = SETTING_ALIASES.get(key, key)
    for option in options:
        if option.category == category:
            return option
    return None


def set_config_request(
    session_id: str, option: ConfigOption, value: str | bool
) -> tuple[str, dict[str, Any]]:
    """The request that sets ``option`` to ``value``: its method and params."""
    if option.source == "modes":
        return "session/set_mode", {"sessionId": session_id, "modeId": value}
    if option.source == "models":
        return "session/set_model", {"sessionId": session_id, "modelId": value}
    params: dict[str, Any] = {"sessionId": session_id, "configId": option.id, "value": value}
    if option.kind == "boolean":
        params["type"] = "boolean"
    return "session/set_config_option", params


async def set_setting(
    state: SessionState, session_id: str, option: ConfigOption, value: str | bool, send: Any
) -> None:
    """Set ``option`` of session ``session_id`` to ``value`` (``send``: the transport's), and
    keep ``state`` as the agent answered: the settings its answer lists, else ``value``."""
    method, params = set_config_request(session_id, option, value)
    answer = as_dict(await send(RpcCall(method, params))) or {}
    if isinstance(answer.get("configOptions"), list):
        state.update({**answer, "sessionUpdate": "config_option_update"})
    else:
        state.set_current(option.id, value)


# ---- the prompt's blocks ----------------------------------------------------------------------
def prompt_blocks(request: RunRequest, capabilities: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A prompt's content blocks (``ContentBlock``): the message's text, its ``@``
    attachments (:func:`attachment_blocks`), then each of its ``media`` (:func:`media_blocks`),
    as the agent's ``promptCapabilities`` allow."""
    blocks = attachment_blocks(request, capabilities)
    return blocks + media_blocks(request.media, capabilities)


def attachment_blocks(request: RunRequest, capabilities: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The message and its ``@`` attachments (:class:`~agentnb._core.request.Attachments`):
    where the agent takes ``embeddedContext``, the message as typed, then each attachment as
    an embedded text ``resource`` (a file's ``file://`` URI and type; its text as every
    attachment's, redacted, bounded, in the run's nonced data block); elsewhere the message
    with its data block, as every dialect sends it, and a ``resource_link`` to each file
    (every agent takes one: it says which file the text is of)."""
    attachments = request.attachments
    if attachments is None:
        return [{"type": "text", "text": request.message}]
    if capabilities.get("embeddedContext"):
        return [{"type": "text", "text": attachments.message}] + [
            {
                "type": "resource",
                "resource": {"uri": item.uri, "mimeType": item.mime_type, "text": item.text},
            }
            for item in attachments.items
        ]
    links = [
        {
            "type": "resource_link",
            "uri": item.uri,
            "name": item.mention.removeprefix("@"),
            "mimeType": item.mime_type,
        }
        for item in attachments.items
        if item.file
    ]
    return [{"type": "text", "text": request.message}, *links]


def media_blocks(media: Sequence[Any], capabilities: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each of ``media`` (:class:`~agentnb.types.Media`: a MIME ``type`` and base64 ``data``
    or a URL) as the agent's ``promptCapabilities`` allow: an image as an ``image`` block
    where it takes images, a URL as a ``resource_link`` (every agent takes one), other data
    as an embedded ``resource`` where it takes ``embeddedContext``; otherwise a text block
    saying what was left out and why (the agent reads that it was)."""
    blocks: list[dict[str, Any]] = []
    for n, item in enumerate(media, 1):
        kind, data = str(getattr(item, "type", "")), str(getattr(item, "data", ""))
        name = f"attachment-{n}"
        if data.startswith(("http://", "https://")):
            blocks.append({"type": "resource_link", "uri": data, "name": name, "mimeType": kind})
        elif kind.startswith("image/") and capabilities.get("image"):
            blocks.append({"type": "image", "mimeType": kind, "data": data})
        elif not kind.startswith("image/") and capabilities.get("embeddedContext"):
            uri = f"agentnb:attachment/{n}"
            resource = {"uri": uri, "mimeType": kind, "blob": data}
            blocks.append({"type": "resource", "resource": resource})
        else:
            what = "images" if kind.startswith("image/") else "embedded files"
            size = len(data) * 3 // 4
            blocks.append(
                {
                    "type": "text",
                    "text": f"[{name} ({shown(kind, 80)}, {size:,} bytes) is not sent: the "
                    f"agent's promptCapabilities take no {what}]",
                }
            )
    return blocks
