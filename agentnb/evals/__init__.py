"""Evaluation, on agentnb's public API: evaluators to hand ``batch(..., evaluators=[...])``,
``Experiment.evaluate`` and ``agentnb.evaluate``. Each is ``fn(run, example)``, its score kept
as ``score.<name>``.

- ``contains``, ``equals``: the answer against the example's ``expected``.
- ``regex(pattern)``, ``json_schema(schema)``: the answer's form.
- ``tool_called(name, arguments=)``, ``tool_sequence(*names)``, ``no_tool_called()``: the
  agent's steps, which tools it called, with which arguments, in which order.
- ``max_cost(usd)``, ``max_duration(seconds)``: what the run cost and took.
- ``judge(agent, rubric)``: an agent grades the answer (an LLM judge).
- ``live(evaluators, via=, sample=, max_cost=)``: score runs as they end, in the background.
- ``to_phoenix(experiment, endpoint)``: an experiment as Phoenix's own dataset and experiments.

    from agentnb.evals import contains, judge, max_cost
"""

from __future__ import annotations

from ._judge import judge
from ._live import LiveEvaluation, live
from ._phoenix import PhoenixExport, to_phoenix
from ._ready import (
    contains,
    equals,
    json_schema,
    max_cost,
    max_duration,
    regex,
)
from ._tool_steps import no_tool_called, tool_called, tool_sequence

__all__ = [
    "LiveEvaluation",
    "PhoenixExport",
    "contains",
    "equals",
    "json_schema",
    "judge",
    "live",
    "max_cost",
    "max_duration",
    "no_tool_called",
    "regex",
    "to_phoenix",
    "tool_called",
    "tool_sequence",
]
