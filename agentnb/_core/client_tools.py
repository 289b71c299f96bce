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
from typing import Any

import docstring_parser
import pydantic
import pydantic_core

from .exceptions import ConfigurationError
from .loop import in_loop_thread

__all__ = [
    "MAX_ARGUMENT_CHARS",
    "MAX_CALLS_PER_ROUND",
    "MAX_RESULT_CHARS",
    "MAX_ROUNDS",
    "TOOL_TIME_LIMIT",
    "ClientTool",
    "ToolResult",
    "client_tools",
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


@dataclass(frozen=True)
class ClientTool:
    """One tool the client declares: ``function`` is run when the agent calls ``name``
    (None for a raw declaration, a tool the server's frontend owns, which is declared only)."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any] | None = None
    approve: bool = False
    parallel: bool = False
    time_limit: float = TOOL_TIME_LIMIT
    arguments: type[pydantic.BaseModel] | None = field(default=None, repr=False)
    user_loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    """The loop running where the tool was declared (a notebook's): an ``async def`` tool is
    awaited there."""

    def declaration(self) -> dict[str, Any]:
        """``{name, description, parameters}``: what every dialect's declaration is made of."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def checked_arguments(self, arguments: Any) -> dict[str, Any]:
        """The arguments as the function takes them; a ``ValueError`` saying what is wrong
        (sent to the agent, which can correct its call)."""
        if not isinstance(arguments, dict):
            raise ValueError(f"the arguments must be a JSON object, not {arguments!r:.200}")
        if self.arguments is None:
            return arguments
        try:
            checked = self.arguments.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"invalid arguments for {self.name}: {problems}") from None
        return {
            info.alias or key: getattr(checked, key)
            for key, info in type(checked).model_fields.items()
        }


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


def tool(
    fn: Callable[..., Any],
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
    summary = "\n\n".join(p for p in (docs.short_description, docs.long_description) if p)
    return ClientTool(
        name=tool_name,
        description=description if description is not None else summary.split("\n\n")[0],
        parameters=schema,
        function=fn,
        approve=approve,
        parallel=parallel,
        time_limit=float(time_limit),
        arguments=model,
        user_loop=_callers_loop(),
    )


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
        hints = typing.get_type_hints(fn)
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
        model = pydantic.create_model(
            f"{name}_arguments", __config__=pydantic.ConfigDict(extra="forbid"), **fields
        )
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
    text table of its first rows, anything else as JSON (its ``repr`` when it has none); cut
    at :data:`MAX_RESULT_CHARS` with a note."""
    if isinstance(value, str):
        text = value
    elif hasattr(value, "to_string") and hasattr(value, "head") and hasattr(value, "shape"):
        rows = value.shape[0]
        text = value.head(_TABLE_ROWS).to_string()
        if rows > _TABLE_ROWS:
            text += f"\n[{_TABLE_ROWS} of {rows} rows shown]"
    else:
        try:
            text = json.dumps(pydantic.TypeAdapter(Any).dump_python(value, mode="json"))
        except (pydantic_core.PydanticSerializationError, TypeError, ValueError):
            text = repr(value)
    if len(text) > MAX_RESULT_CHARS:
        cut = len(text) - MAX_RESULT_CHARS
        text = f"{text[:MAX_RESULT_CHARS]}\n[cut: {cut} more characters not sent]"
    return text
