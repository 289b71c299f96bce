"""The notebook's own functions as the agent's tools: their declarations (a JSON schema read
from the type hints and the docstring), the checking of the arguments an agent sends, and
what a result becomes on its way back. Running them is :mod:`.user_code`'s; the round trip
is the stream's (:mod:`agentnb._client.tool_rounds`)."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import docstring_parser
import pydantic
import pydantic_core

from .exceptions import ConfigurationError
from .figure_reading import plotted_reading
from .loop import in_loop_thread

if TYPE_CHECKING:
    from .transcript import ToolCall

__all__ = [
    "MAX_ARGUMENT_CHARS",
    "MAX_CALLS_PER_ROUND",
    "MAX_RESULT_CHARS",
    "MAX_ROUNDS",
    "TOOL_TIME_LIMIT",
    "AskedFirst",
    "ClientTool",
    "FormedResult",
    "ToolResult",
    "arguments_json",
    "client_tools",
    "error_text",
    "result_text",
    "tool",
]

MAX_RESULT_CHARS = 20_000
"""What a result sends the agent at most; the rest is cut with a note saying so."""
MAX_ARGUMENT_CHARS = 100_000
"""The largest arguments (as JSON text) a call may bring; larger ones never reach the function."""
MAX_CALLS_PER_ROUND = 16
"""Client-tool calls one step of the agent may ask for; the rest are answered with an error."""
MAX_ROUNDS = 10
"""Client-tool rounds in one run: past them, calls are answered with an error."""
TOOL_TIME_LIMIT = 120.0
"""Seconds a call may take (``tool(fn, time_limit=...)`` changes it for one tool)."""
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_TABLE_ROWS = 50
_STRICT_JSON = pydantic.ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""Arguments as JSON Schema means them: no other type converted, no NaN or infinity (a
parameter may say ``Field(allow_inf_nan=True)``), no argument the function does not take."""


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else "an array" if isinstance(value, list) else "an object"


def _same_kind_as(expected: list[Any]) -> Callable[[Any], Any]:
    kinds = list(dict.fromkeys(_json_kind(value) for value in expected))
    shown = ", ".join(json.dumps(value) for value in expected)
    wanted = f"{' or '.join(kinds)} ({'one of ' if len(expected) > 1 else ''}{shown})"

    def same_kind(value: Any) -> Any:
        if _json_kind(value) not in kinds:
            raise pydantic_core.PydanticCustomError(
                "json_kind",
                "Input should be {wanted}, not {received}",
                {"wanted": wanted, "received": _json_kind(value)},
            )
        return value

    return same_kind


def _kinds_held(schema: Any, handler: pydantic.GetCoreSchemaHandler) -> Any:
    if isinstance(schema, list):
        return [_kinds_held(item, handler) for item in schema]
    if not isinstance(schema, dict):
        return schema
    held = {key: _kinds_held(value, handler) for key, value in schema.items()}
    named: Any = schema
    if schema.get("type") == "definition-ref":  # an enum is defined once, used by reference
        named = handler.resolve_ref_schema(typing.cast(pydantic_core.CoreSchema, schema))
    if named.get("type") == "literal":
        expected = list(named["expected"])
    elif named.get("type") == "enum":
        expected = [member.value for member in named["members"]]
    else:
        return held
    return pydantic_core.core_schema.no_info_before_validator_function(
        _same_kind_as(expected), typing.cast(pydantic_core.CoreSchema, held)
    )


class _Arguments(pydantic.BaseModel):
    """A tool's arguments: strict JSON (:data:`_STRICT_JSON`), and each literal and enum takes
    only a JSON value of its own kind: pydantic's strict mode takes ``true`` for ``Literal[1]``
    or an ``IntEnum`` and ``1`` for ``Literal[True]`` (pydantic#9991)."""

    model_config = _STRICT_JSON

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[pydantic.BaseModel], handler: pydantic.GetCoreSchemaHandler
    ) -> pydantic_core.CoreSchema:
        return typing.cast(pydantic_core.CoreSchema, _kinds_held(handler(source), handler))


@dataclass(frozen=True)
class ClientTool:
    """One tool the client declares: ``function`` is run when the agent calls ``name``
    (None for a raw declaration, a tool the server's frontend owns, which is declared only)."""

    name: str
    description: str
    parameters: dict[str, object]
    function: Callable[..., object] | None = None
    approve: bool = False
    parallel: bool = False
    time_limit: float = TOOL_TIME_LIMIT
    arguments: type[pydantic.BaseModel] | None = field(default=None, repr=False)
    user_loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    """The loop running where the tool was declared (a notebook's): an ``async def`` tool is
    awaited there."""
    reads_notebook: bool = field(default=False, repr=False)
    """A read of the notebook (a context tool): approving one may approve the run's later
    reads too (allow for this run)."""
    preview: Callable[[dict[str, Any]], str] | None = field(default=None, repr=False)
    """What the question about a call shows, given its arguments: made without running the
    user's code (a read of the notebook names what it will read: a variable and its kind),
    for the call itself runs only once approved."""
    refusal: Callable[[dict[str, Any]], str | None] | None = field(default=None, repr=False)
    """Why a call with these arguments is never run, whatever a person would decide (a read
    of ``.env``), said before anyone is asked; None: it may run."""
    asks: bool = field(default=False, repr=False)
    """The function takes, first, an :data:`~agentnb._core.questions.Ask`: it may ask a person
    a question while it runs (an MCP server's elicitation), through the run's gate."""
    takes_non_finite: bool = field(default=False, repr=False)
    """Whether a parameter's annotation lets NaN or infinity in (``allow_inf_nan=True``):
    only then may the arguments hold them."""

    def declaration(self) -> dict[str, Any]:
        """``{name, description, parameters}``: what every dialect's declaration is made of."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def checked_arguments(self, arguments: object, text: str = "") -> dict[str, Any]:
        """The arguments as the function takes them, read from the call's parsed
        ``arguments`` (when the platform sent them parsed) or else its ``text``; a
        ``ValueError`` saying what is wrong (sent to the agent, which can correct its call).

        They are held to the JSON Schema the function declares, as JSON Schema means it:
        strict types (``true`` is not an int, ``"5"`` not a number), no NaN or infinity
        unless a parameter's annotation allows them, at most :data:`MAX_ARGUMENT_CHARS` of
        JSON, measured on what the function would receive."""
        received = arguments_json(arguments, text)
        if len(received) > MAX_ARGUMENT_CHARS:
            raise ValueError(
                f"the arguments are {len(received)} characters, over the "
                f"{MAX_ARGUMENT_CHARS} allowed"
            )
        try:
            parsed = pydantic_core.from_json(received, allow_inf_nan=self.takes_non_finite)
        except ValueError as exc:
            raise ValueError(
                f"invalid arguments for {self.name}: not standard JSON (no NaN or Infinity) "
                f"or nested too deep ({exc})"
            ) from None
        if not isinstance(parsed, dict):
            raise ValueError(f"the arguments must be a JSON object, not {received:.200}")
        if self.arguments is None:
            return parsed
        try:
            checked = self.arguments.model_validate_json(received)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"invalid arguments for {self.name}: {problems}") from None
        return {
            info.alias or key: getattr(checked, key)
            for key, info in type(checked).model_fields.items()
        }


def arguments_json(arguments: Any, text: str) -> str:
    """A call's arguments as the JSON text the function's are read from: its parsed
    ``arguments`` when the platform sent them so (they are what the call shows), else the
    streamed ``text``; a ``ValueError`` when they cannot be written as JSON."""
    if arguments is None:
        return text or "{}"
    if isinstance(arguments, str):  # text that did not parse: kept as it came
        return arguments
    try:
        return pydantic_core.to_json(arguments, inf_nan_mode="constants").decode()
    except pydantic_core.PydanticSerializationError:
        raise ValueError("the arguments are nested too deep to be read as JSON") from None


@dataclass(frozen=True)
class ToolResult:
    """What goes back to the agent for one call: ``text`` is its result, or its error when
    ``failed``."""

    call_id: str
    name: str
    arguments: str
    """The call's arguments as the agent sent them (JSON text)."""
    text: str
    failed: bool = False
    images: tuple[tuple[str, str], ...] = ()
    """Images that go back beside ``text`` (``(mime type, base64)``), where the dialect's
    tool results take images; elsewhere the text says they were there."""
    structured: dict[str, Any] | None = None
    """The result as data beside its text (a :class:`FormedResult`'s), redacted as the text
    is: what the notebook's MCP server returns as ``structuredContent``."""


class FormedResult(str):
    """A result's text that comes with its forms made (an MCP tool's result, which
    :mod:`..._app.mcp.mcp_results` reads; a context tool's): the text is what the agent reads (a
    ``str``, so it is used as any text result is); ``shown``, what the chat cell shows beside
    it (a ``call.shown`` form, safe by how it was made: no user code runs to show it);
    ``images``, what goes to the model beside the text where its dialect takes images
    (:attr:`ToolResult.images`); ``structured``, the result as data (JSON values) beside the
    text, for an MCP client (:attr:`ToolResult.structured`)."""

    shown: dict[str, str] | None
    images: tuple[tuple[str, str], ...]
    structured: dict[str, Any] | None

    def __new__(
        cls,
        text: str,
        shown: dict[str, str] | None = None,
        images: tuple[tuple[str, str], ...] = (),
        structured: dict[str, Any] | None = None,
    ) -> FormedResult:
        made = super().__new__(cls, text)
        made.shown, made.images, made.structured = shown, images, structured
        return made

    @property
    def text(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class AskedFirst:
    """A call of the client's own that a run asks about before it sends anything (what a
    message attaches from the notebook, where the context settings ask first): shown with
    ``tool``'s preview of ``arguments``, decided through the run's approval gate, ``tool``'s
    function run once approved. Denied, the run ends failed with ``code`` and ``message``
    (and the decision's reason) having sent nothing, the message kept as it was typed."""

    tool: ClientTool
    arguments: dict[str, Any]
    code: str
    message: str


ASKED_FIRST_PREFIX = "agentnb_"
"""How the id of a call asked before anything is sent begins (``agentnb_attach``)."""


def asked_first_id(first: AskedFirst) -> str:
    """The id of the call ``first`` is shown as in its run."""
    return ASKED_FIRST_PREFIX + first.tool.name


def waits_to_send(calls: Iterable[ToolCall]) -> bool:
    """Whether a call asked before anything is sent (:class:`AskedFirst`) is still undecided
    or running: the message has not gone yet (and may never go)."""
    return any(
        call.call_id.startswith(ASKED_FIRST_PREFIX)
        and call.status in ("awaiting_approval", "running")
        for call in calls
    )


def tool(
    fn: Callable[..., object],
    *,
    name: str | None = None,
    description: str | None = None,
    approve: bool = False,
    parallel: bool = False,
    time_limit: float = TOOL_TIME_LIMIT,
) -> ClientTool:
    """Declare ``fn`` as a tool the agent may call, with overrides: its ``name`` (default the
    function's), its ``description`` (default the docstring's first paragraph), ``approve``
    (ask before each call, through the run's approval gate), ``parallel`` (safe to run beside
    other calls), ``time_limit`` (seconds; past it the call is abandoned and the agent told)."""
    if not callable(fn):
        raise ConfigurationError(f"a tool is a function, not {type(fn).__name__}")
    tool_name = str(name or getattr(fn, "__name__", ""))
    if not _NAME.match(tool_name):
        raise ConfigurationError(
            f"a tool's name is 1-64 letters, digits, _ or -, starting with a letter or _: "
            f"{tool_name!r} is not one (pass name=...)"
        )
    if not time_limit > 0:
        raise ConfigurationError(f"a tool's time_limit is a positive number, not {time_limit!r}")
    docs = docstring_parser.parse(inspect.getdoc(fn) or "")
    model = _arguments_model(fn, tool_name, docs)
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("required", [])
    return ClientTool(
        name=tool_name,
        description=description if description is not None else _first_paragraph(docs),
        parameters=schema,
        function=fn,
        approve=approve,
        parallel=parallel,
        time_limit=float(time_limit),
        arguments=model,
        user_loop=_callers_loop(),
        takes_non_finite=_allows_non_finite(model.__pydantic_core_schema__),
    )


def _first_paragraph(docs: docstring_parser.Docstring) -> str:
    """The docstring's first paragraph, on one line: the parser ends its short description at
    the first line break, mid-sentence when the paragraph goes on."""
    text = docs.short_description or ""
    if docs.long_description and not docs.blank_after_short_description:
        text += " " + docs.long_description.split("\n\n")[0]
    return " ".join(text.split())


def _allows_non_finite(schema: Any) -> bool:
    """Whether pydantic's schema of the arguments lets NaN or infinity into any float."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("allow_inf_nan") is True:
                return True
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _callers_loop() -> asyncio.AbstractEventLoop | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return None if in_loop_thread() else loop


def _arguments_model(
    fn: Callable[..., Any], name: str, docs: docstring_parser.Docstring
) -> type[pydantic.BaseModel]:
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError(f"cannot read the parameters of tool {name!r}: {exc}") from None
    described = {p.arg_name: p.description for p in docs.params}
    fields: dict[str, Any] = {}
    for position, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            stars = "*" if param.kind == param.VAR_POSITIONAL else ""
            stars = "**" if param.kind == param.VAR_KEYWORD else stars
            raise ConfigurationError(
                f"tool {name!r} takes {stars}{param.name}: an agent calls a tool with named "
                f"arguments only, so *args, **kwargs and positional-only parameters cannot be "
                f"declared"
            )
        default = ... if param.default is param.empty else param.default
        info = pydantic.Field(default, alias=param.name, description=described.get(param.name))
        fields[f"p{position}"] = (hints.get(param.name, Any), info)
    try:
        model = pydantic.create_model(f"{name}_arguments", __base__=_Arguments, **fields)
        typing.cast(type[pydantic.BaseModel], model).model_json_schema(by_alias=True)
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        raise ConfigurationError(
            f"tool {name!r} has a parameter type with no JSON form, which an agent could "
            f"not send: {str(exc).splitlines()[0]}"
        ) from None
    return typing.cast(type[pydantic.BaseModel], model)


def _declared(item: Any) -> ClientTool:
    if isinstance(item, ClientTool):
        return item
    if isinstance(item, dict):
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(f"a tool declaration needs a valid 'name': {item!r:.200}")
        parameters = item.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise ConfigurationError(f"tool {name!r}: 'parameters' is a JSON schema object")
        return ClientTool(name, str(item.get("description", "")), parameters)
    return tool(item)


def client_tools(items: Iterable[Any] | None) -> tuple[ClientTool, ...]:
    """``tools=`` as declarations: each a function, a :func:`tool` or a raw declaration
    (``{"name", "description", "parameters"}``); a name declared twice is an error."""
    if items is None:
        return ()
    if callable(items) or isinstance(items, dict | str):
        raise ConfigurationError("tools= takes a list of functions, tool(...)s or declarations")
    declared = tuple(_declared(item) for item in items)
    names = [t.name for t in declared]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigurationError(f"tools= names {', '.join(twice)} more than once")
    return declared


def result_text(value: Any) -> str:
    """A function's return value as the agent gets it: a string as itself, a DataFrame as a
    text table of its first rows, a matplotlib figure or plot as a person reads it (its
    titles, axes, labels and ranges: :mod:`.figure_reading`, what ``@fig`` sends), anything
    else as JSON (its ``repr`` when it has none); cut at :data:`MAX_RESULT_CHARS` with a
    note. A value that cannot be written as text (its ``repr`` raises, or it nests past
    Python's recursion limit) is named by its type."""
    try:
        text = _as_text(value)
    except Exception as broken:  # the run goes on all the same
        text = f"{type(value).__name__} (it could not be written as text: {type(broken).__name__})"
    return _cut(text)


def _as_text(value: Any) -> str:
    if isinstance(value, str):  # a FormedResult too: its text
        return str.__str__(value)
    if hasattr(value, "to_string") and hasattr(value, "head") and hasattr(value, "shape"):
        rows = value.shape[0]
        text = str(value.head(_TABLE_ROWS).to_string())
        if rows > _TABLE_ROWS:
            text += f"\n[{_TABLE_ROWS} of {rows} rows shown]"
        return text
    plotted = plotted_reading(value)
    if plotted is not None:
        return plotted
    try:
        return json.dumps(pydantic.TypeAdapter(Any).dump_python(value, mode="json"))
    except (pydantic_core.PydanticSerializationError, TypeError, ValueError):
        return repr(value)


def error_text(error: BaseException) -> str:
    """What a function raised, as the agent gets it: ``Type: message``, cut like a result;
    an exception whose message cannot be read is still named."""
    kind = type(error).__name__
    try:
        text = f"{kind}: {error}"
    except Exception as broken:  # its __str__ raised: the run goes on all the same
        text = f"{kind} (its message could not be read: {type(broken).__name__})"
    return _cut(text)


def _cut(text: str) -> str:
    if len(text) > MAX_RESULT_CHARS:
        cut = len(text) - MAX_RESULT_CHARS
        text = f"{text[:MAX_RESULT_CHARS]}\n[cut: {cut} more characters not sent]"
    return text
