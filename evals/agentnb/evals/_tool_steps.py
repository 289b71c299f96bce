"""Ready evaluators for the agent's steps (``agentnb.evals``): which tools it called, with
which arguments, in which order. Each reads the run's tool calls, handed to it third by
whoever evaluates (``experiment(..., evaluators=)``, ``exp.evaluate``, ``evaluate``), in
the order the run made them (a sub-agent's calls among them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentnb import ConfigurationError
from agentnb.history import RunRecord, ToolCallRecord

from ._ready import Grade, _Check

__all__ = ["no_tool_called", "tool_called", "tool_sequence"]

CallsCheck = Callable[[Sequence[ToolCallRecord]], Grade]


class _StepCheck(_Check):
    reads_tool_calls = True
    """Handed the run's tool calls (``fn(run, example, calls)``) by whoever evaluates."""

    def __init__(self, name: str, shown: str, check: CallsCheck) -> None:
        super().__init__(name, shown, lambda run: None)
        self._calls_check = check

    def __call__(
        self,
        run: RunRecord,
        example: Mapping[str, Any],
        calls: Sequence[ToolCallRecord] | None = None,
    ) -> Grade:
        if calls is None:
            raise ConfigurationError(
                f"{self._shown} reads the run's tool calls: apply it with "
                "agentnb.evals.evaluate(...) or experiment(..., evaluators=[...]), or pass "
                "them third (agentnb.runs(...).tool_calls())"
            )
        return self._calls_check(calls)


def _tool_name(tool: object, what: str) -> str:
    if not isinstance(tool, str) or not tool:
        raise ConfigurationError(f"{what} takes tools' names, not {tool!r}")
    return tool


def _called(calls: Sequence[ToolCallRecord]) -> str:
    return "called " + (" → ".join(call.name or "?" for call in calls) or "no tool")


def _holds(given: Any, expected: Any) -> bool:
    """Whether ``given`` holds ``expected``: every key of an expected mapping is in the given
    one with a value that holds its own (a subset, at every depth); anything else equal."""
    if isinstance(expected, Mapping):
        return isinstance(given, Mapping) and all(
            key in given and _holds(given[key], value) for key, value in expected.items()
        )
    return bool(given == expected)


def _arguments_of(call: ToolCallRecord) -> Any:
    try:
        return json.loads(call.arguments or "")
    except ValueError:
        return call.arguments  # a dialect that sends arguments as plain text


def tool_called(
    tool: str,
    *,
    arguments: Mapping[str, Any] | None = None,
    status: str | None = None,
    name: str | None = None,
) -> Callable[..., Grade]:
    """Whether the run called ``tool``; with ``arguments`` (a dict), a call of it whose
    arguments hold these (other arguments allowed, nested dicts matched the same way); with
    ``status``, a call of it that ended so (``succeeded``, ``failed``...). Its score is
    ``score.called_<tool>`` unless ``name=``; a miss says what the run called."""
    tool = _tool_name(tool, "tool_called()")
    if arguments is not None and not isinstance(arguments, Mapping):
        raise ConfigurationError(
            f"tool_called(arguments=) takes a dict of the arguments to match, not "
            f"{type(arguments).__name__}"
        )
    wanted = None if arguments is None else dict(arguments)

    def check(calls: Sequence[ToolCallRecord]) -> Grade:
        found = any(
            call.name == tool
            and (status is None or call.status == status)
            and (wanted is None or _holds(_arguments_of(call), wanted))
            for call in calls
        )
        return True if found else (False, _called(calls))

    shown = f"tool_called({tool!r}" + ("" if wanted is None else f", arguments={wanted!r}") + ")"
    default = f"called_{tool}" if f"called_{tool}".isidentifier() else "tool_called"
    return _StepCheck(name or default, shown, check)


def _in_order(names: Sequence[str | None], tools: Sequence[str]) -> bool:
    remaining = iter(names)
    return all(any(name == tool for name in remaining) for tool in tools)


def _contiguous(names: Sequence[str | None], tools: Sequence[str]) -> bool:
    width = len(tools)
    return any(list(names[at : at + width]) == list(tools) for at in range(len(names)))


def tool_sequence(
    *tools: str, contiguous: bool = False, strict: bool = False, name: str = "tool_sequence"
) -> Callable[..., Grade]:
    """Whether the run called ``tools`` in this order (other calls before, between and
    after allowed); ``contiguous=True``: one after the other, nothing between; ``strict=True``:
    these calls and no other. A miss says what the run called."""
    if not tools:
        raise ConfigurationError("tool_sequence() takes the tools' names in order: ('a', 'b')")
    wanted = [_tool_name(tool, "tool_sequence()") for tool in tools]
    match = _contiguous if contiguous else _in_order

    def check(calls: Sequence[ToolCallRecord]) -> Grade:
        names = [call.name for call in calls]
        found = names == wanted if strict else match(names, wanted)
        return True if found else (False, _called(calls))

    flags = (", contiguous=True" if contiguous else "") + (", strict=True" if strict else "")
    shown = f"tool_sequence({', '.join(map(repr, wanted))}{flags})"
    return _StepCheck(name, shown, check)


def no_tool_called(*tools: str, name: str = "no_tool_called") -> Callable[..., Grade]:
    """Whether the run called none of ``tools`` (none given: no tool at all). A miss says
    what the run called."""
    unwanted = {_tool_name(tool, "no_tool_called()") for tool in tools}

    def check(calls: Sequence[ToolCallRecord]) -> Grade:
        made = [call for call in calls if not unwanted or call.name in unwanted]
        return (False, _called(made)) if made else True

    return _StepCheck(name, f"no_tool_called({', '.join(map(repr, tools))})", check)
