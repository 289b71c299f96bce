"""``to_phoenix``: an experiment sent to Arize Phoenix as Phoenix's own dataset and
experiments, over Phoenix's public REST API: the questions as a dataset version (their
splits as Phoenix's splits), one Phoenix experiment per arm, each run of the arm as an
experiment run (its answer, timings, error and trace id) and each of its scores as an
experiment evaluation."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

import agentnb
from agentnb import ConfigurationError
from agentnb.history import EVALUATES, RunRecord, ScoreRecord
from agentnb.types import content_captured, redacted_error

from ._experiment import Experiment
from ._experiment import experiment as kept_experiment

__all__ = ["PhoenixExport", "to_phoenix"]

DEFAULT_ENDPOINT = "http://localhost:6006"
_API_KEY_VAR = "PHOENIX_API_KEY"
_ANNOTATOR = {"person": "HUMAN", "code": "CODE", "agent": "LLM"}


@dataclass(frozen=True)
class PhoenixExport:
    """Where an experiment went in Phoenix: its dataset, the dataset's version made for it,
    and each arm's experiment (``{arm: experiment id}``)."""

    endpoint: str
    dataset_id: str
    version_id: str
    experiments: dict[str, str]

    def __repr__(self) -> str:
        arms = ", ".join(f"{arm!r}: {found}" for arm, found in self.experiments.items())
        return (
            f"<Phoenix at {self.endpoint}: dataset {self.dataset_id} version "
            f"{self.version_id}; experiments {{{arms}}}>"
        )


class _Phoenix:
    """Phoenix's REST API at ``endpoint``; an answer that is not a success raises
    :class:`ConfigurationError` saying which request Phoenix refused and why."""

    def __init__(self, endpoint: str, api_key: str | None) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=endpoint, headers=headers, timeout=60.0)
        self._key = api_key

    def __enter__(self) -> _Phoenix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._error(f"Phoenix at {self.http.base_url} cannot be reached: {exc}") from None
        if answer.status_code >= 300:
            raise self._error(
                f"Phoenix refused {method} {path} ({answer.status_code}): {answer.text}"
            )
        return answer.json()["data"] if answer.content else None

    def _error(self, text: str) -> ConfigurationError:
        """Phoenix's answer may quote the request's Authorization header: never its key."""
        return ConfigurationError(redacted_error(text, (self._key,)))


def _when(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat()


def _plain(value: Any) -> Any:
    """A pandas cell as JSON: NaN as None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _dataset(
    phoenix: _Phoenix, name: str, version: int | None, rows: Sequence[Any], content: bool
) -> Any:
    """The dataset's new Phoenix version holding ``rows`` (examples of ``exp.examples()``):
    the dataset made on the first export, a new version of it on the next. Without
    ``content``, each example is its id and split only."""
    found = phoenix.call("GET", "/v1/datasets", params={"name": name})
    if content:
        inputs = [{"question": row["question"]} for row in rows]
        outputs = [{"expected": row.get("expected")} for row in rows]
        metadata = [
            {k: v for k, v in row.items() if k not in ("question", "expected")} for row in rows
        ]
    else:
        inputs = [{"id": row["id"]} for row in rows]
        outputs = [{} for _ in rows]
        metadata = [{"id": row["id"], "split": row.get("split")} for row in rows]
    body: dict[str, Any] = {
        "action": "update" if found else "create",
        "name": name,
        "description": f"agentnb dataset {name!r}"
        + ("" if version is None else f", version {version}"),
        "inputs": inputs,
        "outputs": outputs,
        "metadata": metadata,
    }
    if any(row.get("split") for row in rows):
        body["splits"] = [row.get("split") for row in rows]
    return phoenix.call("POST", "/v1/datasets/upload", params={"sync": "true"}, json=body)


def _example_ids(phoenix: _Phoenix, dataset_id: str, version_id: str) -> dict[str, str]:
    """Phoenix's example id for each question id of the version."""
    found = phoenix.call(
        "GET", f"/v1/datasets/{dataset_id}/examples", params={"version_id": version_id}
    )
    return {str(example["metadata"]["id"]): example["id"] for example in found["examples"]}


def _run_body(
    record: RunRecord, example_id: str, trace_id: str | None, content: bool
) -> dict[str, Any]:
    failed = None
    if record.status != "completed":  # an error's message may quote the question or answer
        said = record.error_message if content else None
        failed = f"{record.status}: {said or record.error_code or 'no answer'}"
    return {
        "dataset_example_id": example_id,
        "output": {"answer": record.text} if content else {},
        "repetition_number": 1,
        "start_time": _when(record.started_at),
        "end_time": _when(record.finished_at or record.started_at),
        "trace_id": trace_id,
        "error": failed,
    }


def _graders(record: RunRecord, url: str, project: str) -> dict[str, str]:
    """The traces of the evaluators' runs (a judge's) that graded ``record``, by agent, sent
    to ``project`` (the arm's Phoenix experiment's own), out of the user's project."""
    graders = agentnb.runs(metadata={EVALUATES: record.local_id})
    if len(graders):
        agentnb.export_traces(graders, endpoint=url, project=project)
    return {run.agent or "": run.trace_id for run in graders}


def _evaluation(
    run_id: str, score: ScoreRecord, graders: Mapping[str, str], content: bool
) -> dict[str, Any]:
    value = score.value
    if isinstance(value, bool):
        result: dict[str, Any] = {"score": float(value), "label": str(value).lower()}
    elif isinstance(value, str):
        result = {"label": value}
    else:
        result = {"score": float(value)}
    if score.comment and content:  # a comment may quote the answer
        result["explanation"] = score.comment
    return {
        "experiment_run_id": run_id,
        "name": score.name,
        "annotator_kind": _ANNOTATOR.get(score.source, "CODE"),
        "start_time": _when(score.created),
        "end_time": _when(score.created),
        "result": result,
        "metadata": {"author": score.author} if score.author else {},
        "trace_id": _grader_trace(score, graders),
    }


def _grader_trace(score: ScoreRecord, graders: Mapping[str, str]) -> str | None:
    """The trace of the judge's run that gave ``score``: the one of its agent (a judge's
    name is its agent's unless renamed), else the only one."""
    if score.source != "agent" or not graders:
        return None
    found = graders.get(score.author or "")
    return found if found is not None or len(graders) > 1 else next(iter(graders.values()))


def _scores_by_run(runs: Any) -> dict[str, list[ScoreRecord]]:
    scores: dict[str, list[ScoreRecord]] = {}
    for score in agentnb.scores(runs, history=False) if len(runs) else []:
        scores.setdefault(score.local_id, []).append(score)
    return scores


@dataclass(frozen=True)
class _Sending:
    """One export under way: Phoenix, its example ids by question id, the experiment's runs
    and their current scores."""

    phoenix: _Phoenix
    url: str
    examples: dict[str, str]
    records: dict[str, RunRecord]
    scores: dict[str, list[ScoreRecord]]
    content: bool

    def arm(self, path: str, body: dict[str, Any], rows: Sequence[Mapping[Any, Any]]) -> str:
        """The arm's Phoenix experiment made at ``path`` with its runs and evaluations
        (``rows``: the arm's rows of ``exp.to_pandas()``); its id."""
        made = self.phoenix.call("POST", path, json=body)
        for row in rows:
            record = self.records.get(_plain(row["local_id"]) or "")
            if record is not None:  # else a question this arm has not answered yet
                self._run(made, record, self.examples[str(row["id"])])
        return str(made["id"])

    def _run(self, experiment: Mapping[str, Any], record: RunRecord, example_id: str) -> None:
        graders = _graders(record, self.url, experiment["project_name"])
        ran = self.phoenix.call(
            "POST",
            f"/v1/experiments/{experiment['id']}/runs",
            json=_run_body(record, example_id, record.trace_id, self.content),
        )
        for score in self.scores.get(record.local_id, []):
            evaluation = _evaluation(ran["id"], score, graders, self.content)
            self.phoenix.call("POST", "/v1/experiment_evaluations", json=evaluation)


def to_phoenix(
    experiment: Experiment | str,
    endpoint: str | None = None,
    *,
    api_key: str | None = None,
    content: bool | None = None,
) -> PhoenixExport:
    """Send ``experiment`` (an :class:`~agentnb.evals.Experiment` or its name) to Arize Phoenix at
    ``endpoint`` (default ``http://localhost:6006``; ``api_key``: ``PHOENIX_API_KEY``) as
    Phoenix's own dataset and experiments: its questions as a new version of the Phoenix
    dataset named like its kept dataset (the experiment's name for a plain list), each row
    with its ``expected`` answer, id and other fields, a row's ``split`` as Phoenix's split;
    one Phoenix experiment per arm, named ``<experiment> · <arm>``, holding each of the arm's
    runs (the answer, its timings, an error for a run that did not complete) and each run's
    current scores as evaluations (a judge's as ``LLM``, code's as ``CODE``, a person's as
    ``HUMAN``, its comment as the explanation). The runs' traces are sent to Phoenix's
    ``default`` project (as ``export_traces`` sends them: a run traced live is counted
    once), each carrying its experiment, arm, question id, dataset and version as metadata;
    each experiment run opens its run's trace. A judge's runs go to the arm's experiment's
    own project (as Phoenix's experiments keep their evaluators'), out of the user's project
    totals, each linked to the run it graded and opened by its evaluation. Returns where it
    all went.

    ``content``: whether the questions, expected answers, the rows' other fields, the
    answers, error messages and scores' comments go; default: what tracing's content
    capture says (``agentnb.types.content_captured()``: off unless turned on), since
    content off means no answer leaves the process. Without content, each example is its
    id and split, each run its status, timings, error code and trace, each evaluation its
    value (the traces sent follow tracing's setting too). ``content=True`` sends them."""
    exp = kept_experiment(experiment) if isinstance(experiment, str) else experiment
    if not isinstance(exp, Experiment):
        raise ConfigurationError(
            f"to_phoenix() takes an experiment or its name, not {type(exp).__name__}"
        )
    url = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
    key = api_key if api_key is not None else os.environ.get(_API_KEY_VAR)
    kept = exp.dataset
    name, version = (kept.name, kept.version) if kept else (exp.name, None)
    marks = {"agentnb_experiment": exp.name, "dataset": name, "dataset_version": version}
    runs = exp.runs()
    sends_content = content_captured() if content is None else bool(content)
    with _Phoenix(url, key) as phoenix:
        made = _dataset(phoenix, name, version, exp.examples(), sends_content)
        dataset_id, version_id = made["dataset_id"], made["version_id"]
        sending = _Sending(
            phoenix,
            url,
            _example_ids(phoenix, dataset_id, version_id),
            {record.local_id: record for record in runs},
            _scores_by_run(runs),
            sends_content,
        )
        agentnb.export_traces(runs, endpoint=url)  # into the project, with their marks
        table = exp.to_pandas()
        experiments = {
            arm: sending.arm(
                f"/v1/datasets/{dataset_id}/experiments",
                {
                    "name": f"{exp.name} · {arm}",
                    "description": f"agentnb experiment {exp.name!r}, arm {arm!r}",
                    "metadata": {**marks, "arm": arm},
                    "version_id": version_id,
                },
                table[table["arm"] == arm].to_dict("records"),
            )
            for arm in exp.arms
        }
    return PhoenixExport(url, dataset_id, version_id, experiments)
