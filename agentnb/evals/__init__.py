"""Evaluators ready to use in ``batch(..., evaluators=[...])``, ``Experiment.evaluate`` and
``agentnb.evaluate``: each is ``fn(run, example)``, its score kept as ``score.<name>``.

- ``contains``, ``equals``: the answer against the example's ``expected``.
- ``regex(pattern)``, ``json_schema(schema)``: the answer's form.
- ``tool_called(name)``: whether the run called a tool.
- ``max_cost(usd)``, ``max_duration(seconds)``: what the run cost and took.

``agentnb.judge(agent, rubric)`` makes one of an agent (an LLM judge).
"""

from __future__ import annotations

from ._app.ready_evaluators import (
    contains,
    equals,
    json_schema,
    max_cost,
    max_duration,
    regex,
    tool_called,
)

__all__ = [
    "contains",
    "equals",
    "json_schema",
    "max_cost",
    "max_duration",
    "regex",
    "tool_called",
]
