"""Experiments: ``experiment(name, agents, dataset)`` runs several agents (or variants of the
options) over a dataset and keeps it in the history; ``experiment(name)`` gives it back as
an :class:`Experiment` (its table, its question × agent grid, evaluated again, resumed, two
arms compared) in any later kernel, and ``experiments()`` lists them."""

from __future__ import annotations

import concurrent.futures
import html
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from agentnb import ConfigurationError, connections
from agentnb.display import clean, in_notebook, is_share, require_pandas, show_grid, shown_summary
from agentnb.history import HistoryStore, RunHistory, RunRecord, ScoreRecord
from agentnb.types import Connection, DatasetRows, Example, RunOptions, Via, examples_of, in_split

from ._agreement import Agreement, Agreements, ScoredRun, agreement
from ._book import Arm, ExperimentBook, ExperimentRecord, PairRun
from ._change import Change, ChangesSideBySide, changes_shown, kept_change
from ._datasets import Dataset, kept_store
from ._evaluators import EVALUATOR_TIMEOUT, EvaluatorFunction, evaluate_runs, evaluators_of
from ._experiment_runs import check_store, completed_work, experiment_arms, run_experiment
from ._frontier import Frontier, frontier_of
from ._paired import NothingPaired, checked_statistics, paired_comparison, score_number
from ._printed import PrintedAsText
from ._remote_experiment import RemoteWork, start_remote
from ._views import ExperimentComparison, ExperimentGrid, GridCell, GridRow, Verdict
from ._workspace import Workspace, checked_workspace

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Comparisons", "Experiment", "experiment", "experiments"]


def experiment(
    name: str,
    agents: str | Sequence[str] | None = None,
    dataset: DatasetRows | None = None,
    *,
    variants: Sequence[RunOptions] | None = None,
    evaluators: Sequence[EvaluatorFunction] | None = None,
    via: Via = None,
    concurrency: int = 8,
    progress: bool = True,
    approve: Any = None,
    evaluator_timeout: float = EVALUATOR_TIMEOUT,
    split: str | None = None,
    store: HistoryStore | None = None,
    executor: concurrent.futures.Executor | None = None,
    workspace: Workspace | None = None,
    **options: Any,
) -> Experiment:
    """``experiment(name)``: the experiment ``name`` the history keeps (the default one, or
    ``store``), in any later kernel.

    ``experiment(name, agents, dataset)``: run ``agents`` (a name or a list; ``variants``, a
    list of option dicts over ``options``, makes an arm of each agent and variant) over
    ``dataset`` (a kept :func:`dataset`, a list of questions, of dicts with ``question`` and
    maybe ``expected``, ``id`` and other fields, or a DataFrame) as ``agentnb.batch`` runs
    them, on the connection ``via`` (a name, a Connection or a client; default: the default
    connection),
    and keep it in the history: its questions, its arms and which run answered which.
    ``evaluators=[fn, ...]`` score each completed run as it ends (``fn(run, example)``,
    each bounded by ``evaluator_timeout`` seconds a run; an evaluator that raises keeps the
    run and its failure). A name already used goes on with that experiment when the arms
    and their options are the same and the dataset begins with its questions: the questions
    it has not answered yet (stopped, crashed, new at the dataset's end) run. Otherwise it is
    an error saying what differs. ``split``: only the rows whose ``split`` field is that
    (``"test"``); each question keeps its split (``exp.compare(a, b, split="test")``).
    ``workspace``: each run in a fresh copy of a repository or folder, its change kept
    (:func:`agentnb.evals.workspace`; here, not with ``executor``). Returns the experiment
    (shown as its grid).

    ``executor``: a ``concurrent.futures.Executor`` whose workers import agentnb (Dask's
    ``distributed.Client(...).get_executor()``, :func:`ray_executor`): each pair (question,
    arm) is one task run there, its key read from the worker's environment, its run
    written into this history as it comes back (``worker`` in its metadata says where it
    ran). It returns at once, the tasks under way: ``exp.wait()``, ``exp.cancel()``;
    evaluators with ``fn.on_worker = True`` run on the worker, the others here."""
    if agents is None and dataset is None:
        kept = kept_store("experiments", store)
        record = ExperimentBook(kept).get(name)
        if record is None:
            known = [found.name for found in ExperimentBook(kept).all()]
            listed = ", ".join(repr(n) for n in known[:20]) if known else "none yet"
            raise ConfigurationError(f"no experiment {name!r} in the history; it has: {listed}")
        return Experiment(record, kept)
    if agents is None or dataset is None:
        raise ConfigurationError(
            "experiment(name) reopens one; experiment(name, agents, dataset) runs one: "
            "give both the agents and the dataset"
        )
    if executor is not None and workspace is not None:
        raise ConfigurationError(
            "workspace= runs each pair in a copy on this machine; give it without executor="
        )
    examples = [  # a split's questions are numbered in it; their ids stay the dataset's
        replace(example, position=place)
        for place, example in enumerate(in_split(examples_of(dataset), split))
    ]
    checked = evaluators_of(evaluators, evaluator_timeout)
    arms = experiment_arms(agents, options, variants)  # bad options first
    kept = store if store is not None else check_store(_kept_via(via, arms))
    kept_dataset = dataset if isinstance(dataset, Dataset) else None
    record = ExperimentBook(kept).begin(name, arms, examples, _name_of(via), kept_dataset, split)
    if executor is not None:
        remote = start_remote(
            record, via, kept, checked, executor,
            concurrency=concurrency, progress=progress, approve=approve,
        )  # fmt: skip
        return Experiment(record, kept, remote)
    run_experiment(
        record,
        via,
        kept,
        checked,
        concurrency=concurrency,
        progress=progress,
        approve=approve,
        workspace=checked_workspace(workspace),
    )
    return Experiment(record, kept)


def experiments(*, store: HistoryStore | None = None) -> pd.DataFrame:
    """The experiments the history keeps, newest first: name, when, agents, arms (its
    agents, each with each variant of the options), questions, runs done and failed, their
    cost and the runs of unknown cost (``unpriced``: usage but no price; ``no_usage``: no
    usage reported), the runs and cost of their evaluators (judges, apart), and each score's
    mean (bools: the share true) over the completed runs with ``score.<name>_n``, how many
    were scored. A DataFrame of plain values, shown formatted as a summary is (``$``, dates,
    ``—`` for a missing figure); ``.to_pandas()`` is the plain frame."""
    require_pandas()  # says which extra to install when it is missing
    import pandas as pd  # optional: the listing is a frame

    kept = kept_store("experiments", store)
    listed = [Experiment(record, kept).overview() for record in ExperimentBook(kept).all()]
    rows = [row for row, _ in listed]
    shares = [
        key
        for key in _keys(rows)
        if {share.get(key) for _, share in listed} - {None} == {True}  # in every experiment
    ]
    columns = [
        "name",
        "created",
        "agents",
        "split",
        "arms",
        "questions",
        "runs",
        "failed",
        "cost",
        "unpriced",
        "no_usage",
        "evaluation_runs",
        "evaluation_cost",
    ]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, *_keys(rows)])))
    frame = frame.set_index("name")
    frame.attrs["of"] = "experiments"
    return shown_summary(frame, "all", shares=shares)


def _kept_via(via: Via, arms: Sequence[Arm]) -> Via:
    """Whose history keeps the experiment: ``via``'s; with none, the connection the arms'
    agents name when each names one (coding agents: ``["claude", "codex"]``), so no built-in
    server is started only to find the default history."""
    if via is not None:
        return via
    named = connections()
    agents = [arm.agent for arm in arms]
    return agents[0] if agents and all(agent in named for agent in agents) else None


def _name_of(via: Via) -> str | None:
    """The connection an experiment is resumed on by default (a client's: the default)."""
    if isinstance(via, Connection):
        return via.name
    return via if isinstance(via, str) else None


def _keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({key for row in rows for key in row if key.startswith("score.")})


class Experiment:
    """An experiment kept in the history: its questions × its arms (agents, or agents with
    variants of the options), each pair's current run and its scores.

    Shown in a notebook as the question × agent grid. ``to_pandas()`` is one row per
    question and arm; ``evaluate(fn)`` scores its runs again; ``resume()`` runs the pairs a
    crash or a Stop left undone; ``compare(a, b)`` pairs two arms question by question.
    """

    name: str
    """The experiment's name."""
    created: datetime
    """When it was first run (UTC)."""
    agents: list[str]
    """The agents it runs, in order."""
    arms: list[str]
    """Its arms' labels: an agent, or ``agent [option=value, ...]`` for a variant."""

    def __init__(
        self, record: ExperimentRecord, store: HistoryStore, remote: RemoteWork | None = None
    ) -> None:
        self._record = record
        self._store = store
        self._remote = remote
        self._book = ExperimentBook(store)
        self.name = record.name
        self.created = datetime.fromtimestamp(record.created, UTC)
        self.agents = list(dict.fromkeys(arm.agent for arm in record.arms))
        self.arms = [arm.label for arm in record.arms]

    def __repr__(self) -> str:
        return self._grid().to_text()

    def _repr_html_(self) -> str:
        return self._grid().to_html()

    def _ipython_display_(self) -> None:
        """In a notebook, the grid to click (**Open** a cell's run, **Compare** a question's
        runs) over its static table; elsewhere its text and table."""
        if not in_notebook():
            from IPython.display import display  # asked for by IPython: it is loaded

            bundle = {"text/plain": repr(self), "text/html": self._repr_html_()}
            display(bundle, raw=True)  # type: ignore[no-untyped-call]
            return
        show_grid(self._grid(), self.runs())

    # ---- reading -----------------------------------------------------------------------
    @property
    def split(self) -> str | None:
        """The split of the dataset it ran on (``experiment(..., split="test")``); None: the
        whole dataset (and experiments made before agentnb kept it)."""
        return self._book.split(self.name)

    @property
    def dataset(self) -> Dataset | None:
        """The kept dataset, at its version, it last ran on (``agentnb.dataset``); None when
        it ran on a plain list or DataFrame."""
        return self._book.dataset(self.name)

    def examples(self) -> list[dict[str, Any]]:
        """Its questions as the evaluators see them: ``id``, ``question``, ``expected`` and
        the dataset's other fields."""
        return [example.as_dict() for example in self._book.examples(self.name)]

    def _pairs(self) -> tuple[list[Example], dict[tuple[int, int], PairRun]]:
        return self._book.examples(self.name), self._book.current_runs(self.name)

    def runs(self) -> RunHistory:
        """Each pair's current run, question by question (arms in order within one)."""
        examples, current = self._pairs()
        ids = [
            current[(example.position, arm)].local_id
            for example in examples
            for arm in range(len(self.arms))
            if (example.position, arm) in current
        ]
        return self._store.runs_by_ids(ids, table=RunHistory)

    def run(self, question: str | int, arm: str | int) -> RunRecord:
        """The current run of ``question`` (its id, its place from 0, or its text) on ``arm``
        (an agent's name, an arm's label or index): what ``agentnb.show`` opens."""
        example = self._example(question)
        arm_index = self._arm(arm)
        pair = self._book.current_runs(self.name).get((example.position, arm_index))
        record = None if pair is None else self._store.get(pair.local_id)
        if record is None:
            raise ConfigurationError(
                f"{self.arms[arm_index]!r} has no run of question {example.example_id!r} "
                "yet: .resume() runs it"
            )
        return record

    def pair(self, question: str | int, *arms: str | int) -> RunHistory:
        """The current runs of ``question`` on ``arms`` (default: every arm), in order: what
        ``agentnb.compare`` sets side by side."""
        example = self._example(question)
        chosen = [self._arm(arm) for arm in arms] or list(range(len(self.arms)))
        current = self._book.current_runs(self.name)
        pairs = [current.get((example.position, arm)) for arm in chosen]
        return self._store.runs_by_ids(
            [pair.local_id for pair in pairs if pair is not None], table=RunHistory
        )

    def change(self, question: str | int, arm: str | int) -> Change:
        """What the current run of ``question`` on ``arm`` changed in its copy
        (``workspace=``): files, lines added and removed, the diff, where the copy is kept."""
        record = self.run(question, arm)
        found = kept_change(self._store, record.local_id)
        if found is None:
            raise ConfigurationError(
                f"run {record.local_id} kept no change: an experiment keeps each run's change "
                "when it runs with workspace=agentnb.evals.workspace(path)"
            )
        return found

    def compare_changes(self, question: str | int, a: str | int, b: str | int) -> ChangesSideBySide:
        """The changes arms ``a`` and ``b`` made to ``question``, side by side."""
        labels = self.arms[self._arm(a)], self.arms[self._arm(b)]
        asked = self._example(question).example_id
        changes = self.change(question, a), self.change(question, b)
        return ChangesSideBySide(f"question {asked}", labels, changes)

    def frontier(self, score: str, cost: str = "cost", *, confidence: float = 0.95) -> Frontier:
        """Per arm: the share of questions passing ``score`` with its Wilson interval, the
        mean ``cost`` (``"cost"``: dollars; ``"duration"``, ``"tokens"``) and duration, and
        whether another arm dominates it (as good or better on both, better on one): a table,
        ``.plot()`` draws it (cost on x, pass rate on y, the frontier drawn)."""
        return frontier_of(self.name, self.arms, self._table(), score, cost, confidence)

    def _example(self, question: str | int) -> Example:
        examples = self._book.examples(self.name)
        if isinstance(question, int) and not isinstance(question, bool):
            found = [e for e in examples if e.position == question]
        else:
            found = [e for e in examples if e.example_id == question]
            found = found or [e for e in examples if e.question == question]
        if not found:
            raise ConfigurationError(
                f"experiment {self.name!r} has no question {question!r}: give its id, its "
                f"place from 0 (up to {len(examples) - 1}) or its text"
            )
        return found[0]

    def _table(self, split: str | None = None) -> list[dict[str, Any]]:
        """One dict per question × arm (``split``: its questions only): the pair, its run's
        figures, scores and errors."""
        examples, current = self._pairs()
        examples = in_split(examples, split)
        ids = [pair.local_id for pair in current.values()]
        records = {record.local_id: record for record in self._store.runs_by_ids(ids)}
        scores = _scores_by_run(self._store.scores(ids) if ids else [])
        errors: dict[str, dict[str, str]] = {}
        for (local_id, evaluator), error in self._book.evaluation_errors(ids).items():
            errors.setdefault(local_id, {})[f"evaluator_error.{evaluator}"] = error
        rows = []
        for example in examples:
            for arm, label in enumerate(self.arms):
                pair = current.get((example.position, arm))
                if pair is None:
                    rows.append(_row(example, label, self._record.arms[arm].agent, None, None))
                    continue
                record = records.get(pair.local_id)
                rows.append(
                    _row(example, label, self._record.arms[arm].agent, pair, record)
                    | {f"score.{n}": v for n, v in scores.get(pair.local_id, {}).items()}
                    | errors.get(pair.local_id, {})
                )
        return rows

    def to_pandas(self) -> pd.DataFrame:
        """One row per question × arm, in the dataset's order: ``id``, ``agent``, ``arm``
        (the agent, or the agent with its variant), ``message``, ``expected``, the dataset's
        other fields, ``answer``, ``status``, ``cost_usd``, ``total_tokens``, ``duration``
        (agent time), ``local_id``, every ``score.<name>`` (the run's current score; NaN
        when none), and ``evaluator_error.<evaluator>`` where an evaluator raised on a run
        (its error; the run's scores from it are missing, so no mean counts it)."""
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the table is a frame

        rows = self._table()
        base = [
            "id",
            "agent",
            "arm",
            "message",
            "expected",
            "answer",
            "status",
            "cost_usd",
            "total_tokens",
            "duration",
            "local_id",
        ]
        extra = sorted({k for row in rows for k in row if k not in base and not _derived(k)})
        scores = sorted({k for row in rows for k in row if k.startswith("score.")})
        errors = sorted({k for row in rows for k in row if k.startswith("evaluator_error.")})
        return pd.DataFrame(rows, columns=[*base, *extra, *scores, *errors])

    def _grid(self) -> ExperimentGrid:
        """The question × arm grid: each cell the answer, its status and scores, or which
        evaluator failed on it."""
        rows = self._table()
        count = len(self.arms)
        grid_rows = [
            GridRow(
                id=str(rows[i]["id"]),
                question=rows[i]["message"],
                expected=rows[i]["expected"],
                cells=[_cell(row) for row in rows[i : i + count]],
            )
            for i in range(0, len(rows), count)
        ]
        title = f"experiment {self.name}: {len(grid_rows)} questions × {count} arms"
        labels = {row["local_id"]: row["arm"] for row in rows if row["local_id"] is not None}
        return ExperimentGrid(
            title, self.arms, grid_rows, lambda ids: changes_shown(self._store, ids, labels)
        )

    def overview(self) -> tuple[dict[str, Any], dict[str, bool]]:
        """What :func:`experiments` lists of it, and whether each score's mean it has is a
        bool score's share of True."""
        rows = self._table()
        done = [row for row in rows if row["status"] == "completed"]
        costs = [row["cost_usd"] for row in rows if row["cost_usd"] is not None]
        unknown = [row for row in rows if row["status"] is not None and row["cost_usd"] is None]
        unpriced = sum(row["total_tokens"] is not None for row in unknown)
        given = {key: [row[key] for row in done if key in row] for key in _keys(rows)}
        means = {key: _mean(values) for key, values in given.items()}
        shares = {key: is_share(given[key]) for key, mean in means.items() if mean is not None}
        counts = {f"{key}_n": sum(score_number(v) is not None for v in given[key]) for key in means}
        judged, judging_cost = self._store.evaluation_spend([row["local_id"] for row in done])
        return {
            "name": self.name,
            "created": self.created,
            "agents": ", ".join(self.agents),
            "split": self.split,
            "arms": len(self.arms),
            "questions": len(rows) // max(1, len(self.arms)),
            "runs": len(done),
            "failed": sum(row["status"] not in (None, "completed") for row in rows),
            "cost": sum(costs) if costs else None,
            "unpriced": unpriced,
            "no_usage": len(unknown) - unpriced,
            "evaluation_runs": judged,
            "evaluation_cost": judging_cost,
            **means,
            **counts,
        }, shares

    # ---- acting ------------------------------------------------------------------------
    def evaluate(
        self,
        *evaluators: EvaluatorFunction,
        concurrency: int = 8,
        evaluator_timeout: float = EVALUATOR_TIMEOUT,
        split: str | None = None,
    ) -> Experiment:
        """Score every completed current run again with ``evaluators`` (functions
        ``fn(run, example)``, as ``batch``'s, each bounded by ``evaluator_timeout`` seconds a
        run; a later score of a name replaces the earlier, which stays in the score's
        history); ``split``: the runs of that split's questions only. Returns the experiment
        (shown as its grid)."""
        checked = evaluators_of(evaluators, evaluator_timeout)
        if not checked:
            raise ConfigurationError("evaluate() takes one or more evaluators: .evaluate(fn)")
        examples, current = self._pairs()
        examples = in_split(examples, split)
        work = completed_work(self._store, examples, current)
        evaluate_runs(checked, work, self._store, concurrency)
        return self

    def resume(
        self,
        *,
        via: Via = None,
        evaluators: Sequence[EvaluatorFunction] | None = None,
        concurrency: int = 8,
        progress: bool = True,
        approve: Any = None,
        retry_failed: bool = False,
        evaluator_timeout: float = EVALUATOR_TIMEOUT,
        workspace: Workspace | None = None,
    ) -> RunHistory:
        """Run the pairs (question, arm) left undone: never run, stopped, cut by a crash,
        or refused by a rate limit (``retry_failed=True``: failed ones too), on the
        connection the experiment ran on (``via``: another, a name, a Connection or a client), then
        apply ``evaluators`` to every completed run they have not scored yet. Returns every
        pair's current run. With nothing left to run it says so (a line, not a warning)
        and starts nothing. ``workspace``: each run in a copy of its own, as ``experiment``
        takes."""
        return run_experiment(
            self._record,
            via or self._record.connection,
            self._store,
            evaluators_of(evaluators, evaluator_timeout),
            concurrency=concurrency,
            progress=progress,
            approve=approve,
            retry_failed=retry_failed,
            workspace=checked_workspace(workspace),
        )

    def wait(self, timeout: float | None = None) -> Experiment:
        """Wait for the tasks an ``executor=`` sent (at most ``timeout`` seconds: then
        ``TimeoutError``, the tasks going on) until each run is written and scored; an
        interrupt cancels them. Pairs left undone are said in a warning. Returns the
        experiment; without an executor, at once."""
        if self._remote is not None:
            self._remote.wait(timeout)
        return self

    def cancel(self) -> None:
        """Cancel the tasks an ``executor=`` sent that have not started, and ask the
        running ones to stop; their pairs stay undone (the experiment run again, or
        ``resume()``, runs them). Nothing without an executor (a local experiment stops
        with the kernel's interrupt)."""
        if self._remote is not None:
            self._remote.cancel()

    def delete(self) -> None:
        """Forget the experiment (its questions and which run answered which); the runs and
        their scores stay in the history. A batch may then use the name afresh."""
        self._book.delete(self.name)

    def compare(
        self,
        a: str | int,
        b: str | int,
        *,
        score: str | None = None,
        confidence: float = 0.95,
        seed: int = 0,
        split: str | None = None,
        min_questions: int | None = None,
    ) -> ExperimentComparison | Comparisons:
        """Arm ``a`` against arm ``b`` (an agent's name, an arm's label, or its index)
        question by question on ``score`` (default: each numeric or bool score, one
        comparison each, in a :class:`Comparisons` list when there are several; a score no
        question has for both arms is skipped, and the list says so): the per-question
        differences, wins, ties and losses, the mean difference with a bootstrap interval
        (``confidence``, seeded by ``seed``: the same call gives the same interval) and the
        sign test, the ratio of their total cost and of their median agent time. A run that
        did not complete is a failed question for its arm; a completed run with no score is
        left out and named. On fewer than ``min_questions`` paired questions (default: the
        fewest the sign test can decide on, 6 at 95%) it says they are too few to call a
        difference. ``split``: on that split's questions only (the dataset's ``split``
        field)."""
        first, second = self._arm(a), self._arm(b)
        if first == second:
            raise ConfigurationError(f"compare two different arms, not {self.arms[first]!r} twice")
        checked_statistics(confidence, min_questions)
        rows = self._table(split)
        sides = self._labelled(rows, first), self._labelled(rows, second)
        if score is not None:
            return paired_comparison(self.name, *sides, score, confidence, seed, min_questions)
        names = _numeric_scores(rows, self.name)
        if len(names) == 1:
            return paired_comparison(self.name, *sides, names[0], confidence, seed, min_questions)
        compared, skipped = [], {}
        for name in names:
            try:
                compared.append(
                    paired_comparison(self.name, *sides, name, confidence, seed, min_questions)
                )
            except NothingPaired as nothing:
                skipped[name] = nothing.reason
        if not compared:
            raise ConfigurationError(
                f"no score of {self.name!r} pairs {self.arms[first]!r} with "
                f"{self.arms[second]!r}: "
                + "; ".join(f"score.{n}: {w}" for n, w in skipped.items())
            )
        return Comparisons(compared, skipped)

    def agreement(
        self,
        evaluator: str,
        human: str = "verdict",
        *,
        threshold: float = 0.5,
        positive: str | None = None,
        by: str | None = None,
    ) -> Agreement | Agreements:
        """How far score ``evaluator`` agrees with score ``human`` (a person's) on each
        pair's current run: :func:`agentnb.evals.agreement`; ``by="arm"`` (or
        ``"agent"``): one agreement per arm."""
        return agreement(self, evaluator, human, threshold=threshold, positive=positive, by=by)

    def scored_runs(self, by: str | None) -> tuple[list[ScoredRun], str, HistoryStore]:
        """Each pair's current run with its arm or agent (``by``) and its scores, for
        :func:`agentnb.evals.agreement`."""
        if by not in (None, "arm", "agent"):
            raise ConfigurationError(
                f"by= groups an experiment's runs by 'arm' or 'agent', not {by!r}"
            )
        scored = [
            ScoredRun(
                row["local_id"],
                None if by is None else row[by],
                {k.removeprefix("score."): v for k, v in row.items() if k.startswith("score.")},
            )
            for row in self._table()
            if row["local_id"] is not None
        ]
        return scored, f"experiment {self.name}", self._store

    def _labelled(self, rows: list[dict[str, Any]], arm: int) -> tuple[str, list[dict[str, Any]]]:
        return self.arms[arm], self._side(rows, arm)

    def _side(self, rows: list[dict[str, Any]], arm: int) -> list[dict[str, Any]]:
        """The rows of arm ``arm``, question by question."""
        return rows[arm :: len(self.arms)]

    def check(
        self,
        baseline: str | int | Experiment | None = None,
        candidate: str | int | None = None,
        *,
        score: str,
        fail_if: Literal["worse", "not better"] = "worse",
        confidence: float = 0.95,
        seed: int = 0,
        allow_missing: int = 0,
        min_questions: int | None = None,
        undecided: Literal["fail", "pass"] = "fail",
    ) -> Verdict:
        """A gate for CI: does arm ``candidate`` (default: the last arm) pass against
        ``baseline`` on ``score``, question by question? ``baseline`` is another arm of this
        experiment (its label, agent or index) or another experiment (its arm of the same
        label, or its only arm); None: the last experiment before this one on the same
        dataset version. Every question counts: a run that did not complete is a failed
        question for its arm, and more than ``allow_missing`` questions with no score (an
        evaluator that failed, a run not scored) fail the gate. On fewer than
        ``min_questions`` paired questions (default: the fewest the sign test can decide
        on, 6 at 95%) the verdict is ``undecided``, which fails unless
        ``undecided="pass"``. Otherwise it fails when the candidate is significantly worse
        (the interval of the mean difference lies below 0 and the sign test agrees), or,
        with ``fail_if="not better"``, when it is not significantly better.
        ``assert exp.check(...)`` passes or says why."""
        if fail_if not in ("worse", "not better"):
            raise ConfigurationError(f"fail_if is 'worse' or 'not better', not {fail_if!r}")
        if undecided not in ("fail", "pass"):
            raise ConfigurationError(f"undecided is 'fail' or 'pass', not {undecided!r}")
        if (
            isinstance(allow_missing, bool)
            or not isinstance(allow_missing, int)
            or allow_missing < 0
        ):
            raise ConfigurationError(
                f"allow_missing is how many questions may lack a score: a whole number >= 0, "
                f"not {allow_missing!r}"
            )
        checked_statistics(confidence, min_questions)
        chosen = self._arm(candidate if candidate is not None else len(self.arms) - 1)
        rows = self._table()
        label = self.arms[chosen]
        if isinstance(baseline, str | int) and not isinstance(baseline, bool):
            other, other_rows, other_arm = self, rows, self._arm(baseline)
        else:
            other = baseline if isinstance(baseline, Experiment) else self._baseline(label, score)
            other_rows = other._table()
            other_arm = other._arm(label if label in other.arms or len(other.arms) > 1 else 0)
        base_label = other.arms[other_arm]
        comparison = paired_comparison(
            self.name,
            (label, self._side(rows, chosen)),
            (base_label if other is self else f"{base_label} ({other.name})",
             other._side(other_rows, other_arm)),
            score,
            confidence,
            seed,
            min_questions,
        )  # fmt: skip
        return Verdict(comparison, fail_if, allow_missing, undecided)

    def _baseline(self, candidate: str, score: str) -> Experiment:
        """The last experiment before this one on the same dataset version."""
        ran_on = self.dataset
        if ran_on is None:
            raise ConfigurationError(
                f"experiment {self.name!r} ran on no kept dataset, so it has no baseline by "
                f"default: {self._name_a_baseline(candidate, score)}"
            )
        for record in ExperimentBook(self._store).all():  # the newest first
            found = Experiment(record, self._store)
            if record.created < self._record.created and _same_version(found.dataset, ran_on):
                return found
        raise ConfigurationError(
            f"no experiment ran on dataset {ran_on.name!r} version {ran_on.version} before "
            f"{self.name!r}, so there is no baseline by default: "
            f"{self._name_a_baseline(candidate, score)}"
        )

    def _name_a_baseline(self, candidate: str, score: str) -> str:
        """How to name a baseline: another arm (with this experiment's own arms), or an
        earlier experiment."""
        others = [arm for arm in self.arms if arm != candidate]
        arm_form = (
            f"another arm, baseline first: .check({others[0]!r}, {candidate!r}, score={score!r})"
            if others
            else "another arm (this experiment has only one)"
        )
        return (
            f"name {arm_form}; or an earlier experiment: "
            f".check(agentnb.evals.experiment('NAME'), {candidate!r}, score={score!r})"
        )

    def _arm(self, arm: str | int) -> int:
        if isinstance(arm, int) and not isinstance(arm, bool):
            if 0 <= arm < len(self.arms):
                return arm
        elif isinstance(arm, str):
            if arm in self.arms:
                return self.arms.index(arm)
            by_agent = [i for i, a in enumerate(self._record.arms) if a.agent == arm]
            if len(by_agent) == 1:
                return by_agent[0]
            if by_agent:
                raise ConfigurationError(
                    f"{arm!r} runs several variants in {self.name!r}: name one of "
                    f"{[self.arms[i] for i in by_agent]} (or its index)"
                )
        raise ConfigurationError(
            f"experiment {self.name!r} has no arm {arm!r}; its arms are {self.arms} "
            "(give a label, an agent's name or an index)"
        )


def _same_version(found: Dataset | None, ran_on: Dataset) -> bool:
    return found is not None and (found.name, found.version) == (ran_on.name, ran_on.version)


def _derived(column: str) -> bool:
    return column.startswith(("score.", "evaluator_error."))


def _id(pair: PairRun | None) -> str | None:
    return None if pair is None else pair.local_id


def _row(
    example: Example, label: str, agent: str, pair: PairRun | None, record: RunRecord | None
) -> dict[str, Any]:
    return {
        "id": example.example_id,
        "agent": agent,
        "arm": label,
        "message": example.question,
        "expected": example.expected,
        **example.extra,
        "answer": None if record is None else record.answer,
        "status": None if record is None else record.status,
        "cost_usd": None if record is None else record.cost_usd,
        "total_tokens": None if record is None else record.total_tokens,
        "duration": None if record is None else record.duration,
        "local_id": _id(pair),
    }


def _cell(row: dict[str, Any]) -> GridCell:
    return GridCell(
        status=row["status"],
        local_id=row["local_id"],
        answer=row["answer"],
        scores={k.removeprefix("score."): v for k, v in row.items() if k.startswith("score.")},
        errors={
            k.removeprefix("evaluator_error."): v
            for k, v in row.items()
            if k.startswith("evaluator_error.")
        },
    )


def _scores_by_run(scores: Sequence[ScoreRecord]) -> dict[str, dict[str, object]]:
    by_run: dict[str, dict[str, object]] = {}
    for score in scores:
        by_run.setdefault(score.local_id, {})[score.name] = score.value
    return by_run


def _mean(values: Sequence[object]) -> float | None:
    numbers = [n for n in map(score_number, values) if n is not None]
    return statistics.fmean(numbers) if numbers else None


class Comparisons(PrintedAsText, list[ExperimentComparison]):
    """An experiment's comparisons of two arms, one per score (each shown as its block),
    and the scores skipped (:attr:`skipped`: no question has them for both arms), said
    after the blocks."""

    skipped: dict[str, str]
    """Each score skipped → why (which arm has none of it, and why)."""

    def __init__(
        self, compared: Sequence[ExperimentComparison], skipped: dict[str, str] | None = None
    ) -> None:
        super().__init__(compared)
        self.skipped = dict(skipped or {})

    def _skipped_lines(self) -> list[str]:
        return [
            f"skipped score.{name}: no question has it for both arms ({why})"
            for name, why in self.skipped.items()
        ]

    def to_text(self) -> str:
        blocks = [c.to_text(costs=self._costs_shown(i)) for i, c in enumerate(self)]
        return "\n\n".join([*blocks, *(["\n".join(self._skipped_lines())] if self.skipped else [])])

    def _repr_html_(self) -> str:
        blocks = "".join(c._repr_html_(costs=self._costs_shown(i)) for i, c in enumerate(self))
        said = "".join(f"<p>{html.escape(clean(line))}</p>" for line in self._skipped_lines())
        return blocks + said

    def _costs_shown(self, index: int) -> bool:
        """A block shows the cost and latency lines unless an earlier block showed the
        same."""
        return not any(earlier.same_costs(self[index]) for earlier in self[:index])


def _numeric_scores(rows: Sequence[dict[str, Any]], name: str) -> list[str]:
    numeric = sorted(
        {
            key.removeprefix("score.")
            for row in rows
            for key, value in row.items()
            if key.startswith("score.") and score_number(value) is not None
        }
    )
    if not numeric:
        raise ConfigurationError(
            f"experiment {name!r} has no numeric or bool score to compare on: score its runs "
            "first (.evaluate(fn))"
        )
    return numeric
