"""The agent's shared state as a run sees it: snapshots replace it, RFC 6902 JSON Patch
deltas change it (AG-UI ``STATE_DELTA``), and custom events are kept beside it.

What the state keeps is counted as it changes (:func:`~agentnb._core.json_size.json_size`),
and a patch is applied under two bounds: an operation that would grow the state past its
room is refused before it is built, and so is one that would do more work than one delta may
(:data:`MAX_PATCH_OPERATIONS` operations; :func:`patch_work` items copied, shifted, walked
or compared), each checked before that work is done. A patch copies only the containers on
the paths it changes, once, and shares the rest with the state before it (which it never
changes), so one small delta to a large state costs little. ``jsonpatch`` applies each
operation to those copies once its cost is counted; a ``copy`` or a ``move`` costs what it
puts, counted, not a copy of the whole state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonpatch

from ..events import CustomEvent, StateDelta, StateSnapshot
from .json_size import ITEM_SIZE, STRING_SIZE, json_size, json_walk

__all__ = [
    "MAX_PATCH_OPERATIONS",
    "AgentState",
    "PatchError",
    "PatchTooLarge",
    "PatchTooMuchWork",
    "apply_patch",
    "patch_work",
]

MAX_CUSTOM_EVENTS = 10_000
"""Custom events kept per run; later ones are counted in ``custom_dropped``."""
MAX_PATCH_OPERATIONS = 10_000
"""Operations one patch (one AG-UI ``STATE_DELTA``) may hold, under a bound."""
BYTES_PER_ITEM_OF_WORK = 8
"""One patch may touch one item per this many bytes its run may keep (:func:`patch_work`):
2 M items under the default 16 MiB, some tenths of a second at most."""


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
    """``document`` with ``operations`` applied in order by ``jsonpatch``, all or nothing (the
    input is not changed), and how much it grew (:func:`json_size`, negative when it shrank).
    Raises :class:`PatchError` saying why the patch cannot apply, :class:`PatchTooLarge` when
    it would grow by more than ``room``, :class:`PatchTooMuchWork` when it holds more than
    ``max_operations`` operations or would touch more than ``work`` items: containers' items
    copied, list items shifted by an insert or a removal, values walked to measure, copy or
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
        try:
            patch.apply(operation)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise PatchError(f"{str(exc) or type(exc).__name__:.300}") from None
        except RecursionError:  # jsonpatch copies and compares values recursively
            raise PatchError("a value is nested too deeply to copy or compare") from None
    return patch.document, patch.grown


class _Patch:
    """One patch being applied: the document so far, what it grew by, the work it did, and
    the containers it made (copies on a changed path, its own to change in place; each is
    copied once, along with the path above it). Each operation's cost is counted before
    ``jsonpatch`` applies it to those copies; ``jsonpatch`` copies every value it puts, so no
    container is in two places and the document it was given is never changed."""

    def __init__(self, document: Any, room: int | None, work: int | None) -> None:
        self.document = document
        self.room = room
        self.work = work
        self.grown = 0
        self.worked = 0
        self._own: dict[int, Any] = {}

    def apply(self, operation: Any) -> None:
        """``move`` and ``copy`` are the ``remove`` and ``add`` RFC 6902 says they are
        (sections 4.4 and 4.5), so each change is counted as one of three."""
        op = _operation(operation)
        if isinstance(op, jsonpatch.TestOperation):
            self._test(op, operation.get("value"))
        elif isinstance(op, jsonpatch.RemoveOperation):
            self._remove(op, None)
        elif isinstance(op, jsonpatch.AddOperation | jsonpatch.ReplaceOperation):
            self._put(op, self._measure(operation.get("value")))
        else:
            self._move_or_copy(op, operation)

    def _test(self, op: jsonpatch.PatchOperation, expected: Any) -> None:
        """Equal JSON values are the same size: a value that is not is not compared (nor
        written into jsonpatch's message), so a test walks no more than about twice the value
        it tests for."""
        self._spend(len(op.pointer.parts))
        size = self._measure(expected)
        actual = _at(*op.pointer.to_last(self.document))
        if actual is _MISSING or self._measure(actual, limit=size) != size:
            raise PatchError(f"'test' failed: the value at {op.location!r:.80} differs")
        op.apply(self.document)

    def _move_or_copy(self, op: jsonpatch.PatchOperation, operation: dict[str, Any]) -> None:
        source = _pointer(operation, "from")
        self._spend(len(source.parts))
        value = _at(*source.to_last(self.document))
        if value is _MISSING:
            raise PatchError(f"no value at 'from' {source.path!r:.80}")
        if isinstance(op, jsonpatch.MoveOperation) and source == op.pointer:
            return  # a move to where it is changes nothing
        size = self._measure(value)
        if isinstance(op, jsonpatch.MoveOperation):
            if op.pointer.contains(source):
                raise PatchError("'move' cannot move a value into itself")
            remove = {"op": "remove", "path": source.path}
            self._remove(jsonpatch.RemoveOperation(remove, pointer_cls=_Pointer), size)
        add = {"op": "add", "path": op.location, "value": value}
        self._put(jsonpatch.AddOperation(add, pointer_cls=_Pointer), size)

    def _put(self, op: jsonpatch.PatchOperation, size: int) -> None:
        """Count ``op`` (an add or a replace) putting a value of ``size`` bytes, then apply it."""
        parent, key = self._parent(op.pointer)
        old = _at(parent, key)
        if key is not None and isinstance(parent, list) and isinstance(op, jsonpatch.AddOperation):
            self._spend(0 if key == "-" else max(0, len(parent) - key))  # the items after it move
            self._count(size + ITEM_SIZE)
        elif old is _MISSING:
            self._count(size + _slot(parent, key))
        else:
            self._count(size - self._measure(old))
        self.document = op.apply(self.document)

    def _remove(self, op: jsonpatch.PatchOperation, size: int | None) -> None:
        """Count ``op`` (a remove) taking a value (of ``size`` bytes, None: measured), then
        apply it."""
        parent, key = self._parent(op.pointer)
        old = _at(parent, key)
        if key is not None and old is not _MISSING:  # jsonpatch refuses the rest
            if isinstance(parent, list):
                self._spend(len(parent) - key)  # the items after it move
            self._count(-_slot(parent, key) - (self._measure(old) if size is None else size))
        self.document = op.apply(self.document)

    # ---- sizes and work -----------------------------------------------------------------------
    def _measure(self, value: Any, limit: int | None = None) -> int:
        """``value``'s size, its walk spent from the work (and stopped where the work ends, so
        however its value shares its parts, a patch walks no more than its work; and where
        the size passes ``limit``)."""
        left = None if self.work is None else self.work - self.worked
        size, walked = json_walk(value, limit, left)
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
    def _parent(self, pointer: jsonpatch.JsonPointer) -> tuple[Any, Any]:
        """The container holding ``pointer``'s target and its key there (the document and None
        for the whole document), made the patch's own (copied once) along with every container
        above it, so the document before is never changed. A pointer that does not resolve
        raises."""
        self._spend(len(pointer.parts))
        if not pointer.parts:
            return self.document, None
        node = self.document = self._owned(self.document)
        for part in pointer.parts[:-1]:
            child = pointer.walk(node, part)
            owned = self._owned(child)
            if owned is not child:
                node[pointer.get_part(node, part)] = owned
            node = owned
        return node, pointer.get_part(node, pointer.parts[-1])

    def _owned(self, node: Any) -> Any:
        if id(node) in self._own or not isinstance(node, dict | list):
            return node
        self._spend(len(node))
        copy: Any = dict(node) if isinstance(node, dict) else list(node)
        self._own[id(copy)] = copy
        return copy


_MISSING: Any = object()


def _operation(operation: Any) -> jsonpatch.PatchOperation:
    """``operation`` as ``jsonpatch`` makes it, which checks its ``op`` and ``path``."""
    name = operation.get("op") if isinstance(operation, dict) else None
    kind = jsonpatch.JsonPatch.operations.get(name) if isinstance(name, str) else None
    if kind is None:
        raise PatchError(f"not an operation: {operation!r:.80}")
    return kind(operation, pointer_cls=_Pointer)


def _pointer(operation: dict[str, Any], member: str) -> jsonpatch.JsonPointer:
    text = operation.get(member)
    if not isinstance(text, str):
        raise PatchError(f"{operation['op']!r} has no {member!r} JSON Pointer")
    return _Pointer(text)


class _Pointer(jsonpatch.JsonPointer):
    """jsonpointer's JSON Pointer, saying which member is missing without writing the whole
    object it is missing from into the message (the state may be large)."""

    def walk(self, doc: Any, part: str | int) -> Any:
        if isinstance(doc, dict) and part not in doc:
            raise jsonpatch.JsonPointerException(f"no member {part!r:.80}")
        return super().walk(doc, part)


def _at(parent: Any, key: Any) -> Any:
    """What is at ``key`` in ``parent`` (``parent`` itself for None), or _MISSING."""
    if key is None:
        return parent
    if isinstance(parent, list):
        return parent[key] if isinstance(key, int) and key < len(parent) else _MISSING
    return parent.get(key, _MISSING)


def _slot(parent: Any, key: Any) -> int:
    """What ``parent`` counts for holding an item at ``key``, besides its value."""
    if key is None:
        return 0
    return ITEM_SIZE if isinstance(parent, list) else ITEM_SIZE + STRING_SIZE + len(key)
