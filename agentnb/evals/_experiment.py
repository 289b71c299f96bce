"""Experiments: ``experiment(name, agents, dataset)`` runs several agents (or variants of the
options) over a dataset and keeps it in the history; ``experiment(name)`` gives it back as
an :class:`Experiment` (its table, its question × agent grid, evaluated again, resumed, two
arms compared) in any later kernel, and ``experiments()`` lists them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from agentnb import ConfigurationError
from agentnb.display import in_notebook, is_share, require_pandas, show_grid, shown_summary
from agentnb.history import HistoryStore, RunHistory, RunRecord, ScoreRecord
from agentnb.types import Connection, DatasetRows, Example, RunOptions, Via, examples_of, in_split

from ._book import ExperimentBook, ExperimentRecord, PairRun
from ._datasets import Dataset, kept_store
from ._evaluators import EVALUATOR_TIMEOUT, EvaluatorFunction, evaluate_runs, evaluators_of
from ._experiment_runs import check_store, completed_work, experiment_arms, run_experiment
from ._views import ExperimentComparison, ExperimentGrid, GridCell, GridRow, PairedQuestion, Verdict

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Comparisons", "Experiment", "experiment", "experiments", "paired_comparison"]

RESAMPLES = 2000
"""Bootstrap resamples of a comparison's mean difference."""


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
    Returns the experiment (shown as its grid)."""
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
    examples = [  # a split's questions are numbered in it; their ids stay the dataset's
        replace(example, position=place)
        for place, example in enumerate(in_split(examples_of(dataset), split))
    ]
    checked = evaluators_of(evaluators, evaluator_timeout)
    arms = experiment_arms(agents, options, variants)  # bad options first
    kept = store if store is not None else check_store(via)
    kept_dataset = dataset if isinstance(dataset, Dataset) else None
    record = ExperimentBook(kept).begin(name, arms, examples, _name_of(via), kept_dataset)
    run_experiment(
        record,
        via,
        kept,
        checked,
        concurrency=concurrency,
        progress=progress,
        approve=approve,
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

    def __init__(self, record: ExperimentRecord, store: HistoryStore) -> None:
        self._record = record
        self._store = store
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
        return ExperimentGrid(title, self.arms, grid_rows)

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
        counts = {f"{key}_n": sum(_number(v) is not None for v in given[key]) for key in means}
        judged, judging_cost = self._store.evaluation_spend([row["local_id"] for row in done])
        return {
            "name": self.name,
            "created": self.created,
            "agents": ", ".join(self.agents),
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
    ) -> RunHistory:
        """Run the pairs (question, arm) left undone: never run, stopped, cut by a crash,
        or refused by a rate limit (``retry_failed=True``: failed ones too), on the
        connection the experiment ran on (``via``: another, a name, a Connection or a client), then
        apply ``evaluators`` to every completed run they have not scored yet. Returns every
        pair's current run. With nothing left to run it says so (a warning) and starts
        nothing."""
        return run_experiment(
            self._record,
            via or self._record.connection,
            self._store,
            evaluators_of(evaluators, evaluator_timeout),
            concurrency=concurrency,
            progress=progress,
            approve=approve,
            retry_failed=retry_failed,
        )

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
    ) -> ExperimentComparison | Comparisons:
        """Arm ``a`` against arm ``b`` (an agent's name, an arm's label, or its index) on the
        questions both completed and were scored on: the per-question differences of
        ``score`` (default: each numeric or bool score, one comparison each, in a
        :class:`Comparisons` list when there are several), wins, ties and
        losses, the mean difference with a bootstrap interval (``confidence``, seeded by
        ``seed``: the same call gives the same interval), the ratio of their total cost and
        of their median agent time. ``split``: on that split's questions only (the
        dataset's ``split`` field)."""
        first, second = self._arm(a), self._arm(b)
        if first == second:
            raise ConfigurationError(f"compare two different arms, not {self.arms[first]!r} twice")
        if not 0 < confidence < 1:
            raise ConfigurationError(f"confidence is between 0 and 1, not {confidence!r}")
        rows = self._table(split)
        if score is None:
            names = _numeric_scores(rows, self.name)
            if len(names) > 1:
                return Comparisons(
                    self._compared(rows, first, second, name, confidence, seed) for name in names
                )
            score = names[0]
        return self._compared(rows, first, second, score, confidence, seed)

    def _compared(
        self,
        rows: list[dict[str, Any]],
        first: int,
        second: int,
        name: str,
        confidence: float,
        seed: int,
    ) -> ExperimentComparison:
        return paired_comparison(
            self.name,
            (self.arms[first], self._side(rows, first)),
            (self.arms[second], self._side(rows, second)),
            name,
            confidence,
            seed,
        )

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
    ) -> Verdict:
        """A gate for CI: does arm ``candidate`` (default: the last arm) pass against
        ``baseline`` on ``score``, question by question? ``baseline`` is another arm of this
        experiment (its label, agent or index) or another experiment (its arm of the same
        label, or its only arm); None: the last experiment before this one on the same
        dataset version. It fails when the candidate is significantly worse (the interval
        of the mean difference lies below 0), or, with ``fail_if="not better"``, when it is
        not significantly better. ``assert exp.check(...)`` passes or says why."""
        if fail_if not in ("worse", "not better"):
            raise ConfigurationError(f"fail_if is 'worse' or 'not better', not {fail_if!r}")
        if not 0 < confidence < 1:
            raise ConfigurationError(f"confidence is between 0 and 1, not {confidence!r}")
        chosen = self._arm(candidate if candidate is not None else len(self.arms) - 1)
        rows = self._table()
        label = self.arms[chosen]
        if isinstance(baseline, str | int) and not isinstance(baseline, bool):
            other, other_rows, other_arm = self, rows, self._arm(baseline)
        else:
            other = baseline if isinstance(baseline, Experiment) else self._baseline()
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
        )  # fmt: skip
        return Verdict(comparison, fail_if)

    def _baseline(self) -> Experiment:
        """The last experiment before this one on the same dataset version."""
        ran_on = self.dataset
        if ran_on is None:
            raise ConfigurationError(
                f"experiment {self.name!r} ran on no kept dataset, so it has no baseline by "
                "default: name one (check(baseline=an arm or an experiment))"
            )
        for record in ExperimentBook(self._store).all():  # the newest first
            found = Experiment(record, self._store)
            if record.created < self._record.created and _same_version(found.dataset, ran_on):
                return found
        raise ConfigurationError(
            f"no experiment ran on dataset {ran_on.name!r} version {ran_on.version} before "
            f"{self.name!r}: name the baseline (an arm or an experiment)"
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


def paired_comparison(
    experiment: str,
    a: tuple[str, Sequence[dict[str, Any]]],
    b: tuple[str, Sequence[dict[str, Any]]],
    name: str,
    confidence: float,
    seed: int,
) -> ExperimentComparison:
    """Arm ``a`` against arm ``b`` (each its label and its rows) on the questions both
    answered and were scored ``name`` on, paired by the question's id."""
    key = f"score.{name}"
    by_id = {row["id"]: row for row in b[1]}
    paired = []
    for left in a[1]:
        right = by_id.get(left["id"])
        x = _number(left.get(key))
        y = None if right is None else _number(right.get(key))
        if right is not None and x is not None and y is not None:
            paired.append((left, right, (left["id"], left["message"], x, y)))
    if not paired:
        raise ConfigurationError(
            f"no question has a score.{name} for both {a[0]!r} and {b[0]!r}: score the runs "
            "first (.evaluate(fn))"
        )
    questions: list[PairedQuestion] = [question for _, _, question in paired]
    differences = [a_score - b_score for _, _, a_score, b_score in questions]
    return ExperimentComparison(
        experiment=experiment,
        a=a[0],
        b=b[0],
        score=name,
        questions=questions,
        wins=sum(d > 0 for d in differences),
        ties=sum(d == 0 for d in differences),
        losses=sum(d < 0 for d in differences),
        mean_difference=statistics.fmean(differences),
        interval=bootstrap_interval(differences, confidence, seed),
        confidence=confidence,
        cost_ratio=_ratio(
            [left["cost_usd"] for left, _, _ in paired],
            [right["cost_usd"] for _, right, _ in paired],
            sum,
        ),
        latency_ratio=_ratio(
            [left["duration"] for left, _, _ in paired],
            [right["duration"] for _, right, _ in paired],
            statistics.median,
        ),
        share=is_share([row[key] for left, right, _ in paired for row in (left, right)]),
    )


def _same_version(found: Dataset | None, ran_on: Dataset) -> bool:
    return found is not None and (found.name, found.version) == (ran_on.name, ran_on.version)


def bootstrap_interval(
    differences: Sequence[float], confidence: float, seed: int
) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``differences`` (``RESAMPLES``
    resamples drawn by a generator seeded with ``seed``)."""
    import numpy as np  # optional (pandas brings it): only a comparison needs it

    values = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


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


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _mean(values: Sequence[object]) -> float | None:
    numbers = [n for n in map(_number, values) if n is not None]
    return statistics.fmean(numbers) if numbers else None


class Comparisons(list[ExperimentComparison]):
    """An experiment's comparisons of two arms, one per score (each shown as its block)."""

    def to_text(self) -> str:
        return "\n\n".join(c.to_text(costs=self._costs_shown(i)) for i, c in enumerate(self))

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        return "".join(c._repr_html_(costs=self._costs_shown(i)) for i, c in enumerate(self))

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
            if key.startswith("score.") and _number(value) is not None
        }
    )
    if not numeric:
        raise ConfigurationError(
            f"experiment {name!r} has no numeric or bool score to compare on: score its runs "
            "first (.evaluate(fn))"
        )
    return numeric


def _ratio(a: Sequence[Any], b: Sequence[Any], total: Any) -> float | None:
    if any(value is None for value in [*a, *b]) or not a:
        return None
    below = total(b)
    return None if not below else float(total(a) / below)
