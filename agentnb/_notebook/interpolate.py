"""``{{name}}``, ``{{name.attr}}`` and ``{{name[key]}}`` in a prompt, filled from a namespace.

Only names, attribute access and literal subscripts are understood; nothing is evaluated.
Anything else in braces (single braces, JSON, code, ``{{ not a name }}``) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._core.exceptions import ConfigurationError

__all__ = ["interpolate"]

_STEP = r"""\.[A-Za-z_]\w*|\[\s*(?:'[^'\]]*'|"[^"\]]*"|-?\d+)\s*\]"""
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:" + _STEP + r")*)\s*\}\}")
_STEPS = re.compile(_STEP)


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace each placeholder with ``str()`` of its value; raise for unknown names."""
    return _PLACEHOLDER.sub(lambda m: str(_resolve(m, namespace)), text)


def _resolve(match: re.Match[str], namespace: Mapping[str, Any]) -> Any:
    name, path = match.group(1), match.group(2)
    if name not in namespace:
        raise ConfigurationError(
            f"{match.group(0)} in the prompt: no variable {name!r} in the notebook namespace "
            "(define it first, or use --no-interpolate to send the braces as they are)"
        )
    value = namespace[name]
    for step in _STEPS.findall(path):
        value = _apply(value, step, match.group(0))
    return value


def _apply(value: Any, step: str, placeholder: str) -> Any:
    if step.startswith("."):
        attr = step[1:]
        if attr.startswith("_"):
            raise ConfigurationError(f"{placeholder}: private attribute {attr!r} is not allowed")
        try:
            return getattr(value, attr)
        except AttributeError:
            raise ConfigurationError(
                f"{placeholder}: {type(value).__name__} has no attribute {attr!r}"
            ) from None
    inner = step[1:-1].strip()
    key: Any = inner[1:-1] if inner[0] in "'\"" else int(inner)
    try:
        return value[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise ConfigurationError(f"{placeholder}: cannot look up [{inner}]: {exc!r}") from None
