"""The front door: what a user passes in is typed (no ``Any`` on a public input), the
history's filters are written once, a thread goes on one way, and the root names stay few."""

from __future__ import annotations

import collections.abc
import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from agentnb_testing import PUBLIC_FRONTS

import agentnb
import agentnb.events
import agentnb.providers
import agentnb.server
import agentnb.sse
import agentnb.types
from agentnb.history import RunFilters

MAX_ROOT_NAMES = 55

EVALUATION_MODULES = (
    "agentnb.evals",
    "agentnb._app.experiments",
    "agentnb._app.evaluators",
    "agentnb._app.datasets",
)
"""Evaluation's own package (and the modules still moving into it), whose inputs it types."""


def _public_modules() -> tuple[ModuleType, ...]:
    return (
        agentnb,
        *PUBLIC_FRONTS,
        agentnb.events,
        agentnb.providers,
        agentnb.sse,
        agentnb.server,
    )


def _functions_of(owner: str, value: object) -> Iterator[tuple[str, Callable[..., object]]]:
    if inspect.isfunction(value):
        yield owner, value
    if not inspect.isclass(value) or issubclass(value, BaseException):
        return
    for attr, member in vars(value).items():
        if attr.startswith("_") and attr != "__init__":
            continue
        if isinstance(member, classmethod | staticmethod):
            member = member.__func__
        if inspect.isfunction(member):
            yield f"{owner}.{attr}", member


def _public_functions() -> Iterator[tuple[str, Callable[..., object]]]:
    """Every public function, and every public method (``__init__`` too) of a public class,
    of the root and every public module, evaluation's apart."""
    seen: set[object] = set()
    for module in _public_modules():
        for name in module.__all__:
            value = getattr(module, name)
            if getattr(value, "__module__", "").startswith(EVALUATION_MODULES):
                continue
            for owner, fn in _functions_of(f"{module.__name__}.{name}", value):
                if fn not in seen:
                    seen.add(fn)
                    yield owner, fn


def _names_any(annotation: object) -> bool:
    """Whether ``Any`` types what the caller gives: what agentnb hands a function of the
    caller's (a ``Callable``'s parameters) is the function's to read, and not looked at."""
    if annotation is typing.Any:
        return True
    if isinstance(annotation, str):
        return re.search(r"\bAny\b", annotation) is not None
    if typing.get_origin(annotation) is collections.abc.Callable:
        return _names_any(typing.get_args(annotation)[-1])
    return any(_names_any(arg) for arg in typing.get_args(annotation))


def _hands_a_plugin(owner: str) -> bool:
    """A provider's hook (``Provider.prepare(request, send)``, ...): agentnb calls it, and
    what it passes (the platform's JSON) is the plugin's to read."""
    cls, _, method = owner.rpartition(".")
    return cls == "agentnb.providers.Provider" and method != "__init__"


def _makes_a_record(fn: Callable[..., object]) -> bool:
    """A dataclass's generated ``__init__``: a record's fields (a run's tool arguments, a
    platform's raw listing) are typed for the code reading them, and agentnb makes it."""
    return fn.__code__.co_filename == "<string>"


@functools.cache
def _every_agentnb_name() -> dict[str, object]:
    """The names of every agentnb module (an annotation may name one imported only for type
    checking), and pandas as ``pd``."""
    import pandas as pd

    names: dict[str, object] = {"pd": pd}
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith("agentnb"):
            names.update(vars(module))
    return names


def _hints(fn: Callable[..., object]) -> dict[str, object]:
    """``fn``'s annotations evaluated; one naming a type imported only for type checking
    is kept as its text (``Any`` is never imported so)."""
    namespace = {**_every_agentnb_name(), **vars(inspect.getmodule(fn))}
    hints = {}
    for name, annotation in inspect.get_annotations(fn).items():
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except NameError:
            hints[name] = annotation
    return hints


def test_no_public_input_is_typed_any() -> None:
    """A parameter takes what it names (``object`` where it takes anything and checks it);
    ``Any`` would switch off the caller's type checker for it."""
    found = sorted(
        f"{owner}({parameter})"
        for owner, fn in _public_functions()
        if not (_makes_a_record(fn) or _hands_a_plugin(owner))
        for parameter, annotation in _hints(fn).items()
        if parameter != "return" and _names_any(annotation)
    )
    assert not found, found


def test_runs_and_summary_take_the_one_filter_signature() -> None:
    filters = set(RunFilters.__annotations__)
    for fn in (agentnb.runs, agentnb.summary):
        parameters = inspect.signature(fn).parameters
        assert not filters & set(parameters), f"{fn.__name__} writes a filter of its own"
        assert _hints(fn)["filters"] == typing.Unpack[RunFilters]


@pytest.mark.parametrize("read", ["runs", "summary"])
def test_a_misspelled_filter_is_an_error_naming_the_filters(read: str) -> None:
    with pytest.raises(agentnb.ConfigurationError, match=r"unknown run filter 'agnet'.*agent"):
        getattr(agentnb, read)(agnet="finance_agent")


def test_a_run_goes_on_with_a_thread_one_way() -> None:
    """``continue_thread=True`` (the last thread with that agent) or ``thread_id=`` (a given
    one); a fresh conversation is what every ``ask`` starts, with no flag for it."""
    parameters = inspect.signature(agentnb.ask).parameters
    assert "new_thread" not in parameters
    assert "continue_thread" in parameters
    assert "thread_id" in _hints(agentnb.ask)["options"].__args__[0].__annotations__


def test_the_root_names_stay_few() -> None:
    """What a notebook names; types named only in annotations live in ``agentnb.types``."""
    evaluation = {
        name
        for name in agentnb.__all__
        if getattr(getattr(agentnb, name), "__module__", "").startswith(EVALUATION_MODULES)
    }
    assert len(set(agentnb.__all__) - evaluation) <= MAX_ROOT_NAMES


@pytest.mark.parametrize(
    "name", ["ChatCell", "Connection", "RunHandle", "ToolCall", "TracingStatus"]
)
def test_a_type_moved_to_types_is_named_by_the_root_s_error(name: str) -> None:
    with pytest.raises(AttributeError, match=rf"agentnb\.{name} is agentnb\.types\.{name}"):
        getattr(agentnb, name)
    assert getattr(agentnb.types, name).__name__ == name
    assert name not in agentnb.__all__
