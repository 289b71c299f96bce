"""A judge's agreement with a person, kept while scores go to a real Arize Phoenix on 127.0.0.1
(``tests/phoenix_testing.py``; ``configure_tracing(scores="phoenix")``), is on each run's span
as Phoenix's annotation, read back through Phoenix's REST API: whether the two agree on that
run, each side's reading of it, and the figures of the agreement it is part of (its arm's,
with ``by="arm"``) as the annotation's metadata. An agreement only computed sends nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, TLS

import agentnb
from agentnb import evals
from agentnb._core.trace_ids import run_span_id
from agentnb._tracing import configure_tracing, flush_tracing

pytestmark = [pytest.mark.slow]

PROJECT = "agentnb-agreement"
NAME = "agreement.judge.verdict"
QUESTIONS = [f"What is ticker number {i} trading at?" for i in range(4)]


def span_id(local_id: str) -> str:
    return format(run_span_id(local_id), "016x")


def annotations(phoenix: str, span_ids: list[str]) -> list[dict[str, Any]]:
    reply = httpx.get(
        f"{phoenix}/v1/projects/{PROJECT}/span_annotations",
        params={"span_ids": span_ids, "limit": 1000},
        timeout=PATIENCE_S,
        verify=TLS,
    )
    return list(reply.json()["data"]) if reply.status_code == 200 else []


def settled(phoenix: str, span_ids: list[str], name: str, expected: int) -> list[dict[str, Any]]:
    """The spans' annotations named ``name``, once ``expected`` are there (Phoenix retries
    an annotation whose span arrives later every 10 s)."""
    deadline, found = time.monotonic() + PATIENCE_S, []
    while time.monotonic() < deadline:
        found = [a for a in annotations(phoenix, span_ids) if a["name"] == name]
        if len(found) >= expected:
            return found
        time.sleep(1)
    pytest.fail(f"Phoenix holds {len(found)} of {expected} annotations named {name}")


def test_a_kept_agreement_is_an_annotation_on_each_run_s_span(
    phoenix: str, connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = evals.experiment(
        "px_calibrated", ["finance_agent", "echo"], QUESTIONS, via=connection, progress=False
    )
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={PROJECT}")
    configure_tracing(endpoint=phoenix, scores="phoenix")
    try:
        assert agentnb.export_traces(exp.runs()) == 8
        person: dict[str, bool] = {}
        for place, run in enumerate(exp.runs()):
            person[run.local_id] = place % 2 == 0
            agentnb.score(run, "verdict", person[run.local_id])
            agentnb.score(run, "judge", 0.9 if place % 3 else 0.1, source="agent")
            agentnb.score(run, "judge_ok", place % 3 == 0, source="code")
        evals.agreement(exp, "judge_ok")  # computed, not kept: sends nothing
        kept = exp.agreement("judge", by="arm").keep("judge v1")
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        configure_tracing(False)

    assert isinstance(kept, evals.Agreements)
    runs = {run.local_id: run for run in exp.runs()}
    found = settled(phoenix, [span_id(i) for i in runs], NAME, 8)
    by_span = {a["span_id"]: a for a in found}
    judged = {s.local_id: float(s.value) >= 0.5 for s in agentnb.scores(exp.runs(), "judge")}
    for local_id, run in runs.items():
        note = by_span[span_id(local_id)]
        arm = kept[str(run.agent)]
        agrees = person[local_id] == judged[local_id]
        assert note["annotator_kind"] == "CODE"
        assert (note["result"]["score"], note["result"]["label"]) == (
            float(agrees),
            str(agrees).lower(),
        )
        meta = note["metadata"]
        assert (meta["person"], meta["evaluator"]) == (person[local_id], judged[local_id])
        assert (meta["group"], meta["scope"], meta["note"]) == (
            run.agent,
            "experiment px_calibrated",
            "judge v1",
        )
        assert meta["n"] == arm.n == 4 and meta["agreement"] == pytest.approx(arm.agreement)
        assert meta["kappa"] == (None if arm.kappa is None else pytest.approx(arm.kappa))
        assert (meta["tpr"], meta["tnr"]) == (arm.tpr, arm.tnr)
        assert (meta["evaluator_score"], meta["human_score"]) == ("judge", "verdict")
    names = {a["name"] for a in annotations(phoenix, list(by_span))}
    assert names == {"verdict", "judge", "judge_ok", NAME}, names
