"""Evaluation, on agentnb's public API: datasets kept in versions, experiments (agents or
variants over a dataset, kept in the history, reopened, resumed, two arms compared), and
evaluators, each ``fn(run, example)``, its score kept as ``score.<name>``.

- ``dataset(name, rows)``: a dataset kept by name, a new version when its rows change.
- ``experiment(name, agents, dataset, evaluators=[...])`` runs one; ``experiment(name)``
  reopens it (``.compare(a, b)``, ``.check(baseline, candidate, score=...)``, a gate for
  CI, ``.resume()``, ``.evaluate(fn)``); ``experiments()`` lists them.
- ``evaluate(runs, fn, ...)``: score past runs (``agentnb.runs(...)``, a batch's result).
- ``contains``, ``equals``: the answer against the example's ``expected``.
- ``regex(pattern)``, ``json_schema(schema)``: the answer's form.
- ``tool_called(name)``: whether the run called a tool.
- ``max_cost(usd)``, ``max_duration(seconds)``: what the run cost and took.
- ``judge(agent, rubric)``: an agent grades the answer (an LLM judge).

    from agentnb.evals import contains, dataset, experiment, judge
"""

from __future__ import annotations

from ._datasets import Dataset, dataset
from ._evaluators import evaluate
from ._experiment import Comparisons, Experiment, experiment, experiments
from ._judge import judge
from ._ready import (
    contains,
    equals,
    json_schema,
    max_cost,
    max_duration,
    regex,
    tool_called,
)
from ._views import ExperimentComparison, Verdict

__all__ = [
    "Comparisons",
    "Dataset",
    "Experiment",
    "ExperimentComparison",
    "Verdict",
    "contains",
    "dataset",
    "equals",
    "evaluate",
    "experiment",
    "experiments",
    "json_schema",
    "judge",
    "max_cost",
    "max_duration",
    "regex",
    "tool_called",
]
