"""Versions of a call that only add fields do not disagree (DESIGN: "Versions that only add
fields do not disagree"): a request that says more about the announced call (a proposal, the
cwd, a justification) is the same call, and its card warns of nothing; another value, or a
field gone, at any depth, is another call, flagged as before."""

from __future__ import annotations

from typing import Any

import pytest

from agentnb._core.run import Run
from agentnb._core.shown_call import shown_call
from agentnb.events import RunStarted, ToolApprovalRequested, ToolCallStarted

ANNOUNCED = {"command": "rm -rf build", "input": {"command": ["rm", "-rf", "build"]}}


def asked(announced: Any, requested: Any) -> Run:
    run = Run(agent="coder")
    run.apply(RunStarted(run_id="r1"))
    run.apply(ToolCallStarted(call_id="c1", name="execute", arguments=announced))
    run.apply(
        ToolApprovalRequested(call_id="c1", approval_id="7", name="execute", arguments=requested)
    )
    return run


@pytest.mark.parametrize(
    "requested",
    [
        ANNOUNCED,
        {**ANNOUNCED, "details": "Proposed amendment: rm"},
        {**ANNOUNCED, "input": {**ANNOUNCED["input"], "cwd": "/work", "call_id": "x"}},
        {"cwd": "/work", **ANNOUNCED},
    ],
    ids=["same", "a field added", "a field added inside", "a field added first"],
)
def test_a_request_that_only_adds_fields_is_the_same_call(requested: Any) -> None:
    [call] = asked(ANNOUNCED, requested).tool_calls
    shown = shown_call(call)
    assert shown.other_versions == () and shown.warnings() == []
    assert call.arguments == requested  # the card shows the request, every field of it


@pytest.mark.parametrize(
    "requested",
    [
        {**ANNOUNCED, "command": "rm -rf /"},
        {**ANNOUNCED, "input": {"command": ["rm", "-rf", "/"]}},
        {"input": ANNOUNCED["input"]},
        {**ANNOUNCED, "input": {}},
    ],
    ids=["another command", "another value inside", "a field gone", "a field emptied"],
)
def test_another_value_or_a_field_gone_is_still_flagged(requested: Any) -> None:
    [call] = asked(ANNOUNCED, requested).tool_calls
    shown = shown_call(call)
    assert len(shown.other_versions) == 1
    assert any("versions of this call that disagree" in w for w in shown.warnings())
