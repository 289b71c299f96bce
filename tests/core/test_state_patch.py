"""The shared state's JSON Patch (RFC 6902) does what the maintained ``jsonpatch`` library
does on any document and patch, without changing the state it was given; and it counts what
the state keeps, refusing a patch that would pass its room before building it."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._core.json_size import json_size
from agentnb._core.state import PatchError, PatchTooLarge, apply_patch

_KEYS = st.sampled_from(["a", "b", "c", "a/b", "m~n", ""])
_SCALARS = st.none() | st.integers(-3, 3) | st.text(max_size=3)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
_TOKENS = st.sampled_from(["a", "b", "c", "a~1b", "m~0n", "", "0", "1", "2", "-", "01", "~2"])
_POINTERS = st.lists(_TOKENS, max_size=3).map(lambda tokens: "".join(f"/{t}" for t in tokens))
_OPERATIONS = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "test"]), "path": _POINTERS, "value": _VALUES}
    ),
    st.fixed_dictionaries({"op": st.just("remove"), "path": _POINTERS}),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["move", "copy"]), "from": _POINTERS, "path": _POINTERS}
    ),
)


def _theirs(document: Any, operations: list[Any]) -> Any:
    try:
        return jsonpatch.apply_patch(document, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError,
            KeyError, IndexError, AttributeError):  # fmt: skip
        return PatchError


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=4) | _VALUES, st.lists(_OPERATIONS, max_size=4))
def test_a_patch_does_what_jsonpatch_does(document: Any, operations: list[Any]) -> None:
    before = copy.deepcopy(document)
    expected = _theirs(document, operations)
    try:
        result, grown = apply_patch(document, operations)
    except PatchError:
        result = PatchError
    assert document == before  # the state it was given is never changed
    assert json.dumps(result, default=repr) == json.dumps(expected, default=repr)
    if result is not PatchError:
        assert grown == json_size(result) - json_size(document)


def test_true_is_not_one() -> None:
    """JSON's equality, where Python's says ``True == 1``."""
    with pytest.raises(PatchError):
        apply_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])


def test_a_copy_is_counted_and_refused_before_it_is_built() -> None:
    doubling = {"op": "copy", "from": "/a", "path": "/a/-"}
    state, grown = apply_patch({"a": ["seed"]}, [doubling] * 3)
    assert grown == json_size(state) - json_size({"a": ["seed"]})
    with pytest.raises(PatchTooLarge):
        apply_patch({"a": ["seed"]}, [doubling] * 60, room=10**6, work=10**6)


def test_a_patch_walks_no_more_than_its_work() -> None:
    """Removing what a patch itself copied many times is not walked past ``work``."""
    shared = ["x" * 1000] * 1000
    with pytest.raises(PatchTooLarge, match="walk"):
        apply_patch({"a": [shared] * 1000}, [{"op": "remove", "path": "/a"}], work=10**5)


def test_empty_containers_count() -> None:
    assert json_size([[]] * 1000) > 64 * 1000
