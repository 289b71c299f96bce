"""About how many bytes a JSON value keeps in memory once parsed: what a run's bound counts
(:class:`~agentnb._core.run.Run`), for the events it keeps and the agent's shared state."""

from __future__ import annotations

from typing import Any

__all__ = ["CONTAINER_SIZE", "ITEM_SIZE", "STRING_SIZE", "json_size", "json_walk"]

CONTAINER_SIZE = 64
"""What a list or an object counts besides its items: an empty one costs memory too (an
empty Python list is 56 bytes, a dict 64)."""
ITEM_SIZE = 16
"""What each item of a list or an object counts besides its value: the container's slot for it
(8 bytes a list's, about 24 a dict's)."""
STRING_SIZE = 48
"""What a string counts besides its characters: a Python string object is 49 bytes and up, and
JSON's parser makes one per string, even a short one."""
_SCALAR_SIZE = 32
"""A number (a Python int is 28 bytes, a float 24), true, false or null."""


def json_size(value: Any, limit: int | None = None) -> int:
    """About how many bytes ``value`` keeps in memory once parsed: a string its length and
    :data:`STRING_SIZE`, any other scalar 32, a list or object :data:`CONTAINER_SIZE` and
    :data:`ITEM_SIZE` per item, so a list of a million ``""`` counts what it holds, not the
    nothing its characters are (walked without recursion, so no nesting is too deep). With
    ``limit``, the walk stops once the size passes it (the result is then past ``limit``, not
    exact), so a value that shares its parts many times is never walked whole."""
    kind = type(value)
    if kind is str:  # most of an event's fields: counted without a walk
        return STRING_SIZE + len(value)
    if value is None or kind is int or kind is float or kind is bool:
        return _SCALAR_SIZE
    return json_walk(value, limit, None)[0]


def json_walk(value: Any, limit: int | None, items: int | None) -> tuple[int, int]:
    """:func:`json_size` and the items it walked; it stops once the size passes ``limit`` or
    the items pass ``items``."""
    size, walked, pending = 0, 0, [value]
    pop, extend = pending.pop, pending.extend
    while pending:
        item = pop()
        walked += 1
        if isinstance(item, str):
            size += STRING_SIZE + len(item)
        elif isinstance(item, list | tuple):
            size += CONTAINER_SIZE + ITEM_SIZE * len(item)
            extend(item)
        elif isinstance(item, dict):
            size += CONTAINER_SIZE + ITEM_SIZE * len(item)
            extend(item.keys())
            extend(item.values())
        else:
            size += _SCALAR_SIZE
        if (limit is not None and size > limit) or (items is not None and walked > items):
            break
    return size, walked
