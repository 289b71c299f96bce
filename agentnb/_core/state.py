"""The agent's shared state as a run sees it: snapshots replace it, RFC 6902 JSON Patch
deltas change it (AG-UI ``STATE_DELTA``), and custom events are kept beside it.

What the state keeps is counted as it changes (:func:`json_size`), and a patch is applied
under two bounds: an operation that would grow the state past its room is refused before it
is built, and so is one that would do more work than one delta may
(:data:`MAX_PATCH_OPERATIONS` operations; :func:`patch_work` items copied, shifted, walked
or compared), each checked before that work is done. A patch copies only the containers on
the paths it changes, once, and shares the rest with the state before it (which it never
changes), so one small delta to a large state costs little, and a ``copy`` costs what it
adds, counted, not a copy of the whole state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..events import CustomEvent, StateDelta, StateSnapshot

__all__ = [
    "CONTAINER_SIZE",
    "ITEM_SIZE",
    "MAX_CUSTOM_EVENTS",
    "MAX_PATCH_OPERATIONS",
    "STRING_SIZE",
    "AgentState",
    "PatchError",
    "PatchTooLarge",
    "PatchTooMuchWork",
    "apply_patch",
    "json_size",
    "patch_work",
]

MAX_CUSTOM_EVENTS = 10_000
"""Custom events kept per run; later ones are counted in ``custom_dropped``."""
CONTAINER_SIZE = 64
"""What a list or an object counts besides its items: an empty one costs memory too (an
empty Python list is 56 bytes, a dict 64)."""
ITEM_SIZE = 16
"""What each item of a list or an object counts besides its value: the container's slot for it
(8 bytes a list's, about 24 a dict's)."""
STRING_SIZE = 48
"""What a string counts besides its characters: a Python string object is 49 bytes and up, and
JSON's parser makes one per string, even a short one."""
MAX_PATCH_OPERATIONS = 10_000
"""Operations one patch (one AG-UI ``STATE_DELTA``) may hold, under a bound."""
BYTES_PER_ITEM_OF_WORK = 8
"""One patch may touch one item per this many bytes its run may keep (:func:`patch_work`):
2 M items under the default 16 MiB, some tenths of a second at most."""
_SCALAR_SIZE = 32
"""A number (a Python int is 28 bytes, a float 24), true, false or null."""
_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")


class PatchError(ValueError):
    """A JSON Patch operation that cannot apply to the state (RFC 6902 section 5)."""


class PatchTooLarge(PatchError):
    """A patch whose result would pass the room it was given: refused before it is built."""


class PatchTooMuchWork(PatchTooLarge):
    """A patch that would do more work than one patch may (more operations, or more items
    copied, shifted, walked or compared): refused before that work is done."""


def patch_work(bound: int | None) -> int | None:
    """The items one patch may touch in a run that may keep ``bound`` bytes (None: no bound)."""
    return None if bound is None else max(1, bound // BYTES_PER_ITEM_OF_WORK)


def json_size(value: Any, limit: int | None = None) -> int:
    """About how many bytes ``value`` keeps in memory once parsed: a string its length and
    :data:`STRING_SIZE`, any other scalar 32, a list or object :data:`CONTAINER_SIZE` and
    :data:`ITEM_SIZE` per item, so a list of a million ``""`` counts what it holds, not the
    nothing its characters are (walked without recursion, so no nesting is too deep). With
    ``limit``, the walk stops once the size passes it (the result is then past ``limit``, not
    exact), so a value that shares its parts many times is never walked whole."""
    return _walk(value, limit, None)[0]


def _walk(value: Any, limit: int | None, items: int | None) -> tuple[int, int]:
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


@dataclass
class AgentState:
    """What a run keeps of the agent's shared state and of the events it does not draw."""

    state: Any = None
    """The latest state: the last snapshot with every later delta applied."""
    custom_events: list[CustomEvent] = field(default_factory=list)
    """Application events (and deltas that could not apply, as ``state_delta_rejected``)."""
    custom_dropped: int = 0
    size: int = 0
    """About how many bytes the state and the kept custom events hold (:func:`json_size`)."""
    _state_size: int = 0

    def apply(
        self,
        event: StateSnapshot | StateDelta | CustomEvent,
        room: int | None,
        work: int | None = None,
    ) -> None:
        """Fold ``event``, growing :attr:`size` by at most ``room`` (None: no bound); a delta
        may touch at most ``work`` items, in at most :data:`MAX_PATCH_OPERATIONS` operations
        (None: no bound on either). Raises :class:`PatchTooLarge` (:class:`PatchTooMuchWork`
        for the work), keeping everything as it was, when it would grow or work more."""
        if isinstance(event, StateSnapshot):
            self._replace(event.state, json_size(event.state, _limit(room, self._state_size)), room)
        elif isinstance(event, StateDelta):
            self._patch(event, room, work)
        else:
            self.keep(event, room)

    def keep(self, event: CustomEvent, room: int | None) -> None:
        if len(self.custom_events) >= MAX_CUSTOM_EVENTS:
            self.custom_dropped += 1
            return
        cost = json_size(event.name) + json_size(event.value, room)
        _check_room(cost, room)
        self.custom_events.append(event)
        self.size += cost

    def _patch(self, event: StateDelta, room: int | None, work: int | None) -> None:
        most = None if work is None else MAX_PATCH_OPERATIONS
        try:
            state, grown = apply_patch(self.state, event.patch, room, work, max_operations=most)
        except PatchTooLarge:
            raise
        except PatchError as exc:
            # The state stays as it was; the delta is kept, with why, so nothing is lost.
            rejected = {"patch": event.patch, "error": str(exc)}
            self.keep(
                CustomEvent(
                    name="state_delta_rejected",
                    value=rejected,
                    seq=event.seq,
                    received_at=event.received_at,
                ),
                room,
            )
            return
        self.state = state
        self._state_size += grown
        self.size += grown

    def _replace(self, state: Any, new_size: int, room: int | None) -> None:
        _check_room(new_size - self._state_size, room)
        self.size += new_size - self._state_size
        self.state, self._state_size = state, new_size


def _limit(room: int | None, freed: int) -> int | None:
    return None if room is None else room + freed


def _member_size(key: str) -> int:
    """What an object's member counts besides its value: its slot and its key (a string)."""
    return ITEM_SIZE + STRING_SIZE + len(key)


def _check_room(grown: int, room: int | None) -> None:
    if room is not None and grown > room:
        raise PatchTooLarge(f"it would keep {grown:,} bytes more, {room:,} left")


def apply_patch(
    document: Any,
    operations: Any,
    room: int | None = None,
    work: int | None = None,
    *,
    max_operations: int | None = None,
) -> tuple[Any, int]:
    """``document`` with ``operations`` applied in order, all or nothing (the input is not
    changed), and how much it grew (:func:`json_size`, negative when it shrank). Raises
    :class:`PatchError` saying why the patch cannot apply, :class:`PatchTooLarge` when it
    would grow by more than ``room``, :class:`PatchTooMuchWork` when it holds more than
    ``max_operations`` operations or would touch more than ``work`` items: containers'
    items copied, list items shifted by an insert or a removal, values walked to measure or
    compare them, path steps followed (None: no bound). Each is checked before that work."""
    if not isinstance(operations, list):
        raise PatchError("a patch is a list of operations")
    if max_operations is not None and len(operations) > max_operations:
        raise PatchTooMuchWork(
            f"it holds {len(operations):,} operations, more than the {max_operations:,} "
            f"one delta may"
        )
    patch = _Patch(document, room, work)
    for operation in operations:
        patch.apply(operation)
    return patch.document, patch.grown


class _Patch:
    """One patch being applied: the document so far, what it grew by, the work it did, and
    the containers it made (copies on a changed path, its own to change in place). Only a
    container the patch made holds one it made: each is copied along with the path above it."""

    def __init__(self, document: Any, room: int | None, work: int | None) -> None:
        self.document = document
        self.room = room
        self.work = work
        self.grown = 0
        self.worked = 0
        self._own: dict[int, Any] = {}

    def apply(self, operation: Any) -> None:
        if not isinstance(operation, dict):
            raise PatchError(f"an operation is an object, not {operation!r:.80}")
        name = operation.get("op")
        path = _pointer(operation.get("path"), "path")
        if name == "add":
            value = _value(operation)
            self._put(path, value, self._measure(value), insert=True)
        elif name == "remove":
            self._remove(path, measured=True)
        elif name == "replace":
            value = _value(operation)
            self._get(path)  # it must be there
            self._put(path, value, self._measure(value), insert=False)
        elif name == "move":
            source = _pointer(operation.get("from"), "from")
            if path[: len(source)] == source and len(path) > len(source):
                raise PatchError("'move' cannot move a value into itself")
            value = self._get(source)
            if source != path:  # what moves is neither added nor removed: it is not walked
                self._remove(source, measured=False)
                self._put(path, value, 0, insert=True)
        elif name == "copy":
            value = self._get(_pointer(operation.get("from"), "from"))
            size = self._measure(value)
            self._disown(value)
            self._put(path, value, size, insert=True)
        elif name == "test":
            self._test(path, _value(operation))
        else:
            raise PatchError(f"unknown operation {name!r:.80}")

    # ---- the operations ---------------------------------------------------------------------
    def _put(self, path: list[str], value: Any, size: int, *, insert: bool) -> None:
        """Put ``value`` (``size`` bytes) at ``path``: inserted into a list, or in place of
        what is there (``insert`` False: a list's item must be there)."""
        if not path:
            self._count(size - self._measure(self.document))
            self.document = value
            return
        parent, token = self._parent(path)
        if isinstance(parent, list):
            index = _index(parent, token, insert=insert)
            if insert:
                self._count(size + ITEM_SIZE)
                self._spend(len(parent) - index)  # the items after it move
                parent.insert(index, value)
            else:
                self._count(size - self._measure(parent[index]))
                parent[index] = value
        else:
            if token in parent:
                self._count(size - self._measure(parent[token]))
            else:
                self._count(size + _member_size(token))
            parent[token] = value

    def _remove(self, path: list[str], *, measured: bool) -> None:
        if not path:
            raise PatchError("'remove' cannot remove the whole state")
        parent, token = self._parent(path)
        if isinstance(parent, list):
            index = _index(parent, token, insert=False)
            self._spend(len(parent) - index)  # the items after it move
            removed = parent.pop(index)
            self._count(-ITEM_SIZE)
        elif token in parent:
            removed = parent.pop(token)
            self._count(-_member_size(token))
        else:
            raise PatchError(f"no member {token!r:.80} to remove")
        if measured:
            self._count(-self._measure(removed))

    def _test(self, path: list[str], expected: Any) -> None:
        actual = self._get(path)
        self._measure(expected)  # comparing walks no more of either value than of this one
        try:
            same = _same(actual, expected)
        except RecursionError:
            raise PatchError("'test' compares values nested too deeply") from None
        if not same:
            raise PatchError(f"'test' failed at /{'/'.join(path)[:80]}")

    def _disown(self, value: Any) -> None:
        """``value`` is copied: it will be in two places, so no container the patch made in it
        may change in place any more. Only those are walked (no more than measuring ``value``
        just walked); every other container the patch made stays its own, so a copy does not
        make the operations after it copy their paths again."""
        pending = [value]
        while pending:
            node = pending.pop()
            if self._own.pop(id(node), None) is not None:
                pending += node.values() if isinstance(node, dict) else node

    # ---- sizes and work -----------------------------------------------------------------------
    def _measure(self, value: Any) -> int:
        """``value``'s size, its walk spent from the work (and stopped where the work ends, so
        however its value shares its parts, a patch walks no more than its work)."""
        left = None if self.work is None else self.work - self.worked
        size, walked = _walk(value, None, left)
        self._spend(walked)
        return size

    def _spend(self, items: int) -> None:
        """Spend ``items`` of the work, before the work is done."""
        self.worked += items
        if self.work is not None and self.worked > self.work:
            raise PatchTooMuchWork(
                f"it would touch more than the {self.work:,} items (copied, shifted, walked "
                f"or compared) one delta may"
            )

    def _count(self, grown: int) -> None:
        self.grown += grown
        _check_room(self.grown, self.room)

    # ---- paths ---------------------------------------------------------------------------------
    def _get(self, path: list[str]) -> Any:
        self._spend(len(path))
        node = self.document
        for token in path:
            node = _child(node, token)
        return node

    def _parent(self, path: list[str]) -> tuple[Any, str]:
        """The container holding ``path``'s last token, made the patch's own (copied once)
        along with every container above it, so the document before is never changed."""
        self._spend(len(path))
        self.document = self._owned(self.document)
        node = self.document
        for token in path[:-1]:
            key: Any = _index(node, token, insert=False) if isinstance(node, list) else token
            child = self._owned(_child(node, token))
            node[key] = child
            node = child
        if not isinstance(node, dict | list):
            raise PatchError(f"/{'/'.join(path[:-1])[:80]} is not an object or an array")
        return node, path[-1]

    def _owned(self, node: Any) -> Any:
        if id(node) in self._own or not isinstance(node, dict | list):
            return node
        self._spend(len(node))
        copy: Any = dict(node) if isinstance(node, dict) else list(node)
        self._own[id(copy)] = copy
        return copy


def _pointer(text: Any, member: str) -> list[str]:
    """An RFC 6901 JSON Pointer as its tokens."""
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise PatchError(f"{member!r} is not a JSON Pointer: {text!r:.80}")
    if _BAD_ESCAPE.search(text):
        raise PatchError(f"{member!r} has a '~' that is not '~0' or '~1': {text!r:.80}")
    if not text:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in text[1:].split("/")]


def _value(operation: dict[str, Any]) -> Any:
    if "value" not in operation:
        raise PatchError(f"{operation.get('op')!r:.20} has no 'value'")
    return operation["value"]


def _index(array: list[Any], token: str, *, insert: bool) -> int:
    if insert and token == "-":
        return len(array)
    if not _INDEX.fullmatch(token):
        raise PatchError(f"{token!r:.80} is not an array index")
    index = int(token)
    if index > len(array) or (index == len(array) and not insert):
        raise PatchError(f"index {index} is past the array's end ({len(array)})")
    return index


def _child(node: Any, token: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, token, insert=False)]
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"no member {token!r:.80}")
        return node[token]
    raise PatchError(f"{token!r:.80} is inside a value that is not an object or an array")


def _same(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``==`` says it is)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    return bool(left == right)
