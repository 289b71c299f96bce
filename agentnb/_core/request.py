"""What the caller asks for: a run request, independent of dialect."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypedDict, Unpack, overload

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from .client_tools import AskedFirst, ClientTool, client_tools
from .exceptions import ConfigurationError
from .pricing import finite_number, shown_number

__all__ = [
    "CONTEXT_ON_A_CLIENT",
    "EVALUATES",
    "MAX_SECONDS",
    "RUN_OPTIONS",
    "Attachment",
    "Attachments",
    "Fork",
    "Media",
    "ModelSettings",
    "RunOptions",
    "RunRequest",
    "as_request",
    "build_request",
    "checked_number",
]

EVALUATES: Final = "evaluates"
"""The metadata key an evaluator's run (a judge's) is marked with: the ``local_id`` of the run
it graded. Such runs are left out of ``runs()``, ``summary()`` and plots unless their agent is
named, and their traces link to the graded run's."""


class ModelSettings(BaseModel):
    """Sampling settings; each dialect sends the ones it supports. Ranges follow SeekrFlow."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    """Strict: a bool or text is no number here."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature, 0 to 2."""
    top_p: float | None = Field(default=None, ge=0, le=1)
    """Nucleus sampling mass, 0 to 1."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Frequency penalty, -2 to 2."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Presence penalty, -2 to 2."""
    max_tokens: int | None = Field(default=None, ge=1, lt=2**63)
    """Upper bound on generated tokens."""

    def as_dict(self) -> dict[str, Any]:
        """The settings that were set, without the Nones."""
        return self.model_dump(exclude_none=True)


class Media(BaseModel):
    """One multimodal input (Operativus ``media``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    """MIME type, e.g. ``image/png``."""
    data: str
    """Base64 data or a URL."""


class Attachment(BaseModel):
    """One ``@`` attachment of a notebook message, as sent: what a dialect that takes content
    blocks sends as a block of its own (ACP's embedded ``resource``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mention: str
    """The mention as typed (``@df``, ``@./prices.py``)."""
    text: str
    """Its text as sent (summarized, redacted and bounded as every attachment is), inside
    the run's nonced data block."""
    uri: str
    """A file's ``file://`` URI; a notebook value's ``agentnb:notebook/NAME``."""
    mime_type: str = "text/plain"
    """What the text is (a file's type, by its name)."""
    file: bool = False
    """Whether it names a file (which an agent can also be sent a link to)."""


class Attachments(BaseModel):
    """A notebook message's attachments one by one: the message without its data block, and
    each attachment (the data block holds them all, for the dialects that take text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: str
    """The message as typed, without the data block its attachments follow it in."""
    items: tuple[Attachment, ...]


class Fork(BaseModel):
    """Which turn a run replaces (a retry, an edited question): the run starts from the
    thread's state before that turn, so the model is not given the turn it replaces, and the
    thread it forked from keeps it. Each dialect forks its own way, or says it cannot
    (:meth:`agentnb.providers.Provider.cannot_fork`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thread_id: str
    """The thread the replaced turn ran on (its run's ``thread_id``)."""
    run_id: str | None = None
    """The platform's id of the replaced turn's run (its ``run_id``)."""
    point: str | None = None
    """Where the dialect starts the fork, once its ``prepare`` found it (LangGraph: the
    checkpoint before the replaced turn)."""


class RunRequest(BaseModel):
    """One run to start: the agent, the user's message and the options every dialect maps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = Field(min_length=1)
    """The agent (or model, for OpenAI-compatible servers) to run."""
    message: str
    """The user's message."""
    thread_id: str | None = None
    """Continue this conversation (thread id / session id); None starts a new one."""
    model_settings: ModelSettings = Field(default_factory=ModelSettings)
    """Sampling settings."""
    response_format: dict[str, Any] | None = None
    """A JSON schema the answer must follow, or None for free text."""
    metadata: dict[str, str] = Field(default_factory=dict)
    """String key/value pairs stored with the run on the platform."""
    followups: bool = False
    """Ask for suggested follow-up questions where the platform supports it."""
    media: tuple[Media, ...] = ()
    """Multimodal inputs, where the platform supports them."""
    attachments: Attachments | None = None
    """The message's ``@`` attachments one by one, for a dialect that sends them as content
    blocks where the agent takes them (ACP); :attr:`message` holds them too, in its data
    block, which is what every other dialect sends."""
    team_id: str | None = None
    """SeekrFlow ``x-team-id`` header."""
    user_id: str | None = None
    """Operativus ``userId``."""
    org_id: str | None = None
    """Operativus ``orgId``."""
    config: dict[str, str | bool] = Field(default_factory=dict)
    """The session's settings for this run, where the dialect has them (ACP: ``model``,
    ``mode``, ``effort`` or a setting's id, and a value the agent offers)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Dialect-specific body fields, merged into the request body as they are (a ``tools``
    list after the declared ``tools``: see :meth:`with_extra`)."""
    tools: tuple[pydantic.InstanceOf[ClientTool], ...] = Field(default=(), exclude=True)
    """The notebook's functions (and raw declarations) the agent may call: the client runs
    them and sends the results back within the run (see :func:`agentnb.tool`)."""
    asks_first: pydantic.InstanceOf[AskedFirst] | None = Field(default=None, exclude=True)
    """A call of the client's own decided before anything is sent (a notebook message's
    attachments, where the context settings ask first): see :class:`AskedFirst`."""
    fork: Fork | None = None
    """The turn this run replaces (a retry or an edit): start from the thread's state before
    it. Set by the chat cell's Retry and Edit; ``thread_id`` is then the thread the replaced
    turn was asked on."""

    def with_extra(self, body: Mapping[str, object]) -> dict[str, Any]:
        """A dialect's ``body`` with :attr:`extra` merged in: each field replaces the body's,
        except that an object merges into the body's object (``extra={"metadata": ...}``
        beside ``metadata=`` sends both, the extra's keys winning) and a ``tools`` list
        follows the tools the body declares (hosted tools beside the notebook's functions,
        as openai-python sends both in one list)."""
        merged: dict[str, Any] = {**body, **self.extra}
        for field, added in self.extra.items():
            declared = body.get(field)
            if isinstance(declared, dict) and isinstance(added, dict):
                merged[field] = {**declared, **added}
            elif field == "tools" and isinstance(declared, list) and isinstance(added, list):
                merged[field] = [*declared, *added]
        return merged


class RunOptions(TypedDict, total=False):
    """The options every way of starting a run accepts (``client.stream``, ``client.run``,
    ``ask``, ``chat``, ``batch``, the magics and the CLI all build requests with
    :func:`build_request`)."""

    thread_id: str | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    frequency_penalty: float | None
    presence_penalty: float | None
    response_format: dict[str, Any] | None
    metadata: Mapping[str, str] | None
    followups: bool
    media: Sequence[Media]
    team_id: str | None
    user_id: str | None
    org_id: str | None
    extra: Mapping[str, Any] | None
    tools: Sequence[Any] | None
    config: Mapping[str, str | bool] | None


MAX_SECONDS = 1e9
"""The longest time limit (some 31 years): the clocks that keep one refuse far larger ones;
None is how to say no limit."""
RUN_OPTIONS: frozenset[str] = frozenset(RunOptions.__annotations__)
_NO_SETTINGS = ModelSettings()
"""Shared by every request that sets none (frozen, so it cannot change under them)."""
_SETTING_NAMES = tuple(ModelSettings.model_fields)
"""The options that are model settings (read once: pydantic's class property is not free)."""


CONTEXT_ON_A_CLIENT = (
    "context= is an option of ask, chat, batch and the magics; a client takes the notebook's "
    "context tools as tools: tools=agentnb.context.tools() (one call a run)"
)
"""Why ``context=`` is refused where a client is made or run, and what to write instead."""


def build_request(agent: str, message: str, **options: Unpack[RunOptions]) -> RunRequest:
    """The one request builder: options → a validated :class:`RunRequest`.

    An unknown option (a typo such as ``temprature``) or a value out of range raises one
    :class:`ConfigurationError` naming every problem. Dialect-specific body fields go in
    ``extra={...}``; nothing unknown is sent silently."""
    unknown = sorted(set(options) - RUN_OPTIONS)
    if "context" in unknown:
        raise ConfigurationError(CONTEXT_ON_A_CLIENT)
    if unknown:
        raise ConfigurationError(
            f"unknown run option(s) {', '.join(map(repr, unknown))}; the options are "
            f"{', '.join(sorted(RUN_OPTIONS))} (put dialect-specific body fields in extra={{...}})"
        )
    given: dict[str, Any] = dict(options)
    settings = {name: given.pop(name) for name in _SETTING_NAMES if name in given}
    extra = dict(given.pop("extra", None) or {})
    tools = client_tools(given.pop("tools", None))
    _check_extra_tools(tools, extra.get("tools"))
    try:
        return RunRequest(
            agent=agent,
            message=message,
            model_settings=ModelSettings(**settings) if settings else _NO_SETTINGS,
            metadata=dict(given.pop("metadata", None) or {}),
            media=tuple(given.pop("media", None) or ()),
            config=dict(given.pop("config", None) or {}),
            extra=extra,
            tools=tools,
            **given,
        )
    except pydantic.ValidationError as exc:
        raise options_error(exc) from None


def _check_extra_tools(tools: Sequence[ClientTool], added: Any) -> None:
    """``extra={"tools": [...]}`` is sent after ``tools=``: it must be a list, and declare
    none of the names ``tools=`` does (the agent would be told of two tools of one name)."""
    if not tools or added is None:
        return
    if not isinstance(added, list):
        raise ConfigurationError(
            f"extra={{'tools': ...}} must be a list to be sent after tools=, not a "
            f"{type(added).__name__}"
        )
    declared = {tool.name for tool in tools}
    twice = sorted(declared & {name for item in added if (name := _tool_name(item))})
    if twice:
        raise ConfigurationError(
            f"tool(s) {', '.join(map(repr, twice))} declared both in tools= and in "
            f"extra={{'tools': [...]}}: declare each once"
        )


def _tool_name(declaration: Any) -> str | None:
    """The name a raw tool declaration gives (``name``, or Chat Completions' ``function.name``)."""
    if not isinstance(declaration, dict):
        return None
    function = declaration.get("function")
    name = function.get("name") if isinstance(function, dict) else declaration.get("name")
    return name if isinstance(name, str) else None


def as_request(
    agent: str | RunRequest, message: str | None, options: Mapping[str, Any]
) -> RunRequest:
    """What ``run``/``stream`` were given, as one :class:`RunRequest`: a ready request as it
    is (its options are already in it, so passing more is an error), or ``agent`` and
    ``message`` with the options built by :func:`build_request`."""
    if isinstance(agent, RunRequest):
        extra = sorted(options) + (["message"] if message is not None else [])
        if extra:
            raise ConfigurationError(
                f"a RunRequest carries its own message and options; got {', '.join(extra)} "
                f"beside it: set them on the request (request.model_copy(update={{...}})) "
                f"or pass (agent, message, **options) instead"
            )
        return agent
    if not isinstance(agent, str):
        raise ConfigurationError(
            f"run/stream take (agent, message, **options) or a RunRequest, "
            f"not a {type(agent).__name__}"
        )
    if message is None:
        raise ConfigurationError(f"run/stream need the message to send to {agent!r}")
    return build_request(agent, message, **options)


def options_error(exc: pydantic.ValidationError) -> ConfigurationError:
    """One message for every invalid option pydantic found."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in err['loc'] if part != 'model_settings') or 'value'}: "
        f"{err['msg']}"
        for err in exc.errors()
    )
    return ConfigurationError(f"invalid run options: {problems}")


@overload
def checked_number(value: object, name: str, *, whole: Literal[True], least: float) -> int: ...
@overload
def checked_number(
    value: object,
    name: str,
    *,
    least: float | None = ...,
    above: float | None = ...,
    most: float | None = ...,
    unit: str = ...,
    optional: bool = ...,
) -> float | None: ...
def checked_number(
    value: object,
    name: str,
    *,
    whole: bool = False,
    least: float | None = None,
    above: float | None = None,
    most: float | None = None,
    unit: str = "",
    optional: bool = False,
) -> float | None:
    """The one check of a number a user gives agentnb: ``value`` as a finite number in range
    (an ``int`` when ``whole``; ``None`` as it is when ``optional``), else a
    :class:`ConfigurationError` saying what ``name`` takes (never an ``OverflowError``)."""
    if value is None and optional:
        return None
    number = finite_number(value, whole=whole)
    bounds = [(least, "≥", float.__ge__), (above, ">", float.__gt__), (most, "≤", float.__le__)]
    if number is None or not all(b is None or holds(number, b) for b, _, holds in bounds):
        wanted = ["a whole number" if whole else "a finite number"]
        wanted.append(" and ".join(f"{sign} {_shown(b)}" for b, sign, _ in bounds if b is not None))
        wanted += [unit, "or None" if optional else ""]
        shown = " ".join(w for w in wanted if w)
        raise ConfigurationError(f"{name} must be {shown}, not {shown_number(value)}")
    return int(value) if whole else number  # type: ignore[call-overload]


def _shown(bound: float) -> str:
    """A bound as the docs write it: ``10^15`` for a large power of ten, else ``0.5``."""
    power = math.log10(abs(bound)) if abs(bound) >= 1e6 else 0.5
    return f"{'-' if bound < 0 else ''}10^{power:.0f}" if power.is_integer() else f"{bound:g}"
