"""``{{name}}``, ``{{name.attr}}`` and ``{{name[key]}}`` in a prompt, filled from a namespace.

Only names, attribute access and literal subscripts are understood; nothing is evaluated.
Anything else in braces (single braces, JSON, code, ``{{ not a name }}``) is left as it is.
Attribute access, item access and ``str()`` run the user's code (properties,
``__getitem__``, ``__str__``): whatever they raise becomes a :class:`ConfigurationError`
naming the placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..._core.exceptions import ConfigurationError
from ..._core.text import excerpt

__all__ = ["interpolate"]

_STEP = r"""\.[A-Za-z_]\w*|\[\s*(?:'[^'\]]*'|"[^"\]]*"|-?\d+)\s*\]"""
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:" + _STEP + r")*)\s*\}\}")
_STEPS = re.compile(_STEP)
_MAX_INDEX_DIGITS = 100
"""A longer number is no index of anything (and Python refuses to convert past 4,300)."""
_SHOWN = 80
"""Characters of a placeholder an error message shows."""
QUOTED = 200
"""Characters of a subscript or an exception's message an error message quotes."""


def interpolate(
    text: str, namespace: Mapping[str, Any], *, inserted: Callable[[str], str] = str
) -> str:
    """Replace each placeholder with ``str()`` of its value, as ``inserted`` writes it (the
    magics write its ``@`` mentions as text: what a variable holds was not typed); raise
    for unknown names."""
    return _PLACEHOLDER.sub(lambda m: inserted(_text_of(m, namespace)), text)


def _text_of(match: re.Match[str], namespace: Mapping[str, Any]) -> str:
    value = _resolve(match, namespace)
    try:
        return str(value)
    except Exception as exc:  # the value's own __str__ failed
        raise _user_code_failed(_shown(match), f"str() of a {type(value).__name__}", exc) from None


def _resolve(match: re.Match[str], namespace: Mapping[str, Any]) -> Any:
    name, path = match.group(1), match.group(2)
    placeholder = _shown(match)
    try:
        found = name in namespace
        value = namespace[name] if found else None
    except Exception as exc:  # a namespace mapping that fails
        raise _user_code_failed(placeholder, f"looking up {name!r}", exc) from None
    if not found:
        raise ConfigurationError(
            f"{placeholder} in the prompt: no variable {name!r} in the notebook namespace "
            "(define it first, or use --no-interpolate to send the braces as they are)"
        )
    for step in _STEPS.findall(path):
        value = _apply(value, step, placeholder)
    return value


def _apply(value: Any, step: str, placeholder: str) -> Any:
    if step.startswith("."):
        return _attribute(value, step[1:], placeholder)
    inner = step[1:-1].strip()
    key = _key(inner, placeholder)
    try:
        return value[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise ConfigurationError(
            f"{placeholder}: cannot look up [{excerpt(inner, QUOTED)}]: {_describe(exc)}"
        ) from None
    except Exception as exc:
        raise _user_code_failed(
            placeholder, f"looking up [{excerpt(inner, QUOTED)}]", exc
        ) from None


def _attribute(value: Any, attr: str, placeholder: str) -> Any:
    if attr.startswith("_"):
        raise ConfigurationError(f"{placeholder}: private attribute {attr!r} is not allowed")
    try:
        return getattr(value, attr)
    except AttributeError:
        raise ConfigurationError(
            f"{placeholder}: {type(value).__name__} has no attribute {attr!r}"
        ) from None
    except Exception as exc:  # a property that raises
        raise _user_code_failed(placeholder, f"reading .{attr}", exc) from None


def _key(inner: str, placeholder: str) -> Any:
    if inner[0] in "'\"":
        return inner[1:-1]
    digits = len(inner.lstrip("-"))
    if digits > _MAX_INDEX_DIGITS:
        raise ConfigurationError(
            f"{placeholder}: the index has {digits:,} digits, too long to be an index"
        )
    return int(inner)


def _user_code_failed(placeholder: str, doing: str, exc: BaseException) -> ConfigurationError:
    return ConfigurationError(f"{placeholder}: {doing} raised {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    try:
        text = excerpt(str(exc), QUOTED)
    except Exception:  # an exception whose own __str__ fails
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _shown(match: re.Match[str]) -> str:
    return excerpt(match.group(0), _SHOWN)
