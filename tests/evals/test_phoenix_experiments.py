"""An experiment sent to a real Arize Phoenix on 127.0.0.1 (``tests/phoenix_testing.py``) with
``agentnb.evals.to_phoenix``, read back through Phoenix's REST API: a Phoenix dataset version
holding the questions (their splits as Phoenix's), one Phoenix experiment per arm holding each
run and its evaluations, each run's trace in the default project carrying the experiment's
marks, the judge's traces in the arm's experiment project, linked to the runs they graded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from agentnb_testing import PATIENCE_S, TLS, said_on_page

import agentnb
from agentnb import evals
from agentnb._history import close_default_stores
from agentnb.evals import contains, judge, to_phoenix
from agentnb.server import ServerHandle

pytestmark = [pytest.mark.slow]

ROWS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA", "split": "test"},
    {"id": "aapl", "question": "What is AAPL trading at?", "expected": "AAPL", "split": "train"},
]


@pytest.fixture
def experiment(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[evals.Experiment]:
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    agentnb.connect(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, name="px"
    )
    kept = evals.dataset("tickers", ROWS)
    made = evals.experiment("tickers_px", ["finance_agent", "echo"], kept, via="px",
                            progress=False, evaluators=[contains, judge(via="px")])  # fmt: skip
    every_run_scored(made)
    yield made
    close_default_stores()


def every_run_scored(made: evals.Experiment) -> None:
    """What these tests send: each of the four runs completed with both scores. Else the
    failure says why (the run's status, the evaluator's kept error), not Phoenix's lack."""
    table = made.to_pandas()
    for _, row in table.iterrows():
        lacking = [name for name in ("contains", "judge") if pd.isna(row.get(f"score.{name}"))]
        if row["status"] != "completed" or lacking:
            errors = {k: v for k, v in row.items() if str(k).startswith("evaluator_error.")}
            pytest.fail(
                f"the run of {row['arm']} on {row['id']} is {row['status']} and lacks the "
                f"scores {lacking}: {errors or 'no evaluator error kept'}; "
                f"its error: {row.get('error')!r}"
            )


def get(phoenix: str, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{phoenix}{path}", params=params, verify=TLS)
    answer.raise_for_status()
    return answer.json()


def spans(phoenix: str, project: str, expected: int) -> list[dict[str, Any]]:
    """The project's ``invoke_agent`` spans, once ``expected`` of them arrived."""
    deadline, found = time.monotonic() + PATIENCE_S, []
    while time.monotonic() < deadline:
        data = get(phoenix, f"/v1/projects/{project}/spans", limit=1000)["data"]
        found = [span for span in data if span["name"].startswith("invoke_agent")]
        if len(found) >= expected:
            return found
        time.sleep(0.5)
    pytest.fail(f"Phoenix's project {project!r} holds {len(found)} of {expected} run spans")


def test_an_experiment_is_a_phoenix_dataset_and_one_phoenix_experiment_per_arm(
    phoenix: str, experiment: evals.Experiment
) -> None:
    sent = to_phoenix(experiment, phoenix, content=True)
    table = experiment.to_pandas()

    [version] = get(phoenix, f"/v1/datasets/{sent.dataset_id}/versions")["data"]
    assert version["version_id"] == sent.version_id
    [dataset] = get(phoenix, "/v1/datasets", name="tickers")["data"]
    assert dataset["id"] == sent.dataset_id
    tested = get(phoenix, f"/v1/datasets/{sent.dataset_id}/examples", split="test")["data"]
    assert [e["input"]["question"] for e in tested["examples"]] == ["What is NVDA trading at?"]
    assert tested["examples"][0]["output"] == {"expected": "NVDA"}

    assert list(sent.experiments) == ["finance_agent", "echo"]
    user_runs = {s["context"]["trace_id"]: s for s in spans(phoenix, "default", len(table))}
    for arm, experiment_id in sent.experiments.items():
        made = get(phoenix, f"/v1/experiments/{experiment_id}")["data"]
        assert made["dataset_version_id"] == sent.version_id
        assert (made["successful_run_count"], made["failed_run_count"]) == (2, 0)
        assert made["metadata"]["dataset_version"] == 1
        mine = table[table["arm"] == arm].set_index("message")
        runs = get(phoenix, f"/v1/experiments/{experiment_id}/json")
        judged = {s["context"]["trace_id"]: s for s in spans(phoenix, made["project_name"], 2)}
        for run in runs:
            row = mine.loc[run["input"]["question"]]
            assert run["output"] == {"answer": row["answer"]}
            notes = {a["name"]: a for a in run["annotations"]}
            assert notes["contains"]["score"] == float(row["score.contains"])
            assert (notes["judge"]["score"], notes["judge"]["annotator_kind"]) == (
                row["score.judge"],
                "LLM",
            )
            # the run's trace, in the user's project, carries the experiment's marks
            marks = user_runs[run["trace_id"]]["attributes"]
            assert {k: v for k, v in marks.items() if k.startswith("metadata.")} == {
                "metadata.experiment": "tickers_px",
                "metadata.arm": arm,
                "metadata.question_id": row["id"],
                "metadata.dataset": "tickers",
                "metadata.dataset_version": "1",
            }
            # the judge's trace: in the arm's experiment project, linked to the run it graded
            grader = judged[notes["judge"]["trace_id"]]
            assert grader["attributes"]["agentnb.evaluates.trace_id"] == run["trace_id"]
    assert not [s for s in user_runs.values() if s["attributes"]["gen_ai.agent.name"] == "judge"]


def test_with_content_capture_off_no_question_answer_or_comment_leaves(
    phoenix: str, experiment: evals.Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content capture off (tracing's setting, the default): the export carries the
    experiment's shape (ids, splits, arms, statuses, timings, score values, traces) and none
    of its text: no question, expected answer, other field, answer, error text or comment."""
    said_on_page(
        "security.md",
        "`agentnb.evals.to_phoenix` sends an experiment's shape only (ids, splits, statuses, "
        "timings, score values, traces): no question, expected answer, answer, error message "
        "or comment unless you pass `content=True`.",
    )
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    rows = experiment.examples()
    sent = to_phoenix(experiment, phoenix)
    texts = {row["question"] for row in rows} | {row["expected"] for row in rows}
    texts |= {text for text in experiment.to_pandas()["answer"] if text}

    examples = get(phoenix, f"/v1/datasets/{sent.dataset_id}/examples",
                   version_id=sent.version_id)["data"]["examples"]  # fmt: skip
    assert sorted(e["input"]["id"] for e in examples) == ["aapl", "nvda"]
    assert all(e["output"] == {} for e in examples)
    assert all(set(e["metadata"]) == {"id", "split"} for e in examples)
    for experiment_id in sent.experiments.values():
        for run in get(phoenix, f"/v1/experiments/{experiment_id}/json"):
            assert run["output"] is None or run["output"] == {}
            notes = run["annotations"]
            assert {a["name"] for a in notes} == {"contains", "judge"}
            assert all(not a.get("explanation") for a in notes)
            shown = str(run)
            assert not [text for text in texts if text in shown], shown
