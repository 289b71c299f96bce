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
- ``tool_called(name, arguments=)``, ``tool_sequence(*names)``, ``no_tool_called()``: the
  agent's steps, which tools it called, with which arguments, in which order.
- ``max_cost(usd)``, ``max_duration(seconds)``: what the run cost and took.
- ``judge(agent, rubric)``: an agent grades the answer (an LLM judge).
- ``agreement(runs, evaluator, human="verdict")``: how far a judge agrees with a person
  (agreement, Cohen's κ, TPR / TNR, the confusion matrix, the runs they disagree on);
  ``.keep()`` it and ``agreements()`` sets a judge's versions side by side.
- ``mode_judge("wrong ticker")``: a judge of a failure mode a person labelled runs with
  (``agentnb.score(run, "mode", "wrong ticker")``), built from its name and examples;
  ``propose_modes(agent=...)``: an agent groups the failed runs' notes into modes, shown
  for the person to accept (nothing is labelled until ``.accept()``).
- ``live(evaluators, via=, sample=, max_cost=)``: score runs as they end, in the background.
- ``experiment(..., executor=ex)``: each pair a task on a Dask or Ray cluster (any
  ``concurrent.futures.Executor``; ``ray_executor()`` makes one of Ray), every run back in
  this history.
- ``to_phoenix(experiment, endpoint)``: an experiment as Phoenix's own dataset and experiments.

    from agentnb.evals import contains, dataset, experiment, judge
"""

from __future__ import annotations

from ._agreement import Agreement, Agreements, ScoredRun, agreement, agreements
from ._datasets import Dataset, dataset
from ._evaluators import evaluate
from ._executors import RayExecutor, ray_executor
from ._experiment import Comparisons, Experiment, experiment, experiments
from ._judge import judge
from ._live import LiveEvaluation, live
from ._modes import ModeProposal, ProposedMode, mode_judge, propose_modes
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
from ._views import ExperimentComparison, LeftOut, Verdict

__all__ = [
    "Agreement",
    "Agreements",
    "Comparisons",
    "Dataset",
    "Experiment",
    "ExperimentComparison",
    "LeftOut",
    "LiveEvaluation",
    "ModeProposal",
    "PhoenixExport",
    "ProposedMode",
    "RayExecutor",
    "ScoredRun",
    "Verdict",
    "agreement",
    "agreements",
    "contains",
    "dataset",
    "equals",
    "evaluate",
    "experiment",
    "experiments",
    "json_schema",
    "judge",
    "live",
    "max_cost",
    "max_duration",
    "mode_judge",
    "no_tool_called",
    "propose_modes",
    "ray_executor",
    "regex",
    "to_phoenix",
    "tool_called",
    "tool_sequence",
]
