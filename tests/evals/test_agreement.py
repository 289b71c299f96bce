"""A judge calibrated against people: ``agentnb.evals.agreement`` on seeded verdicts and judge
scores kept in a real history (runs on the built-in server) gives scikit-learn's Cohen's κ
and confusion matrix (``.tools/sklearn``, a process of its own) and hand-counted TPR / TNR:
bools, numbers read at a threshold, labels (multi-class), runs scored by one side only, an
experiment's two arms; the same figures from a new process reading the file; clear errors
for a score no run has and for no run scored by both; kept, and listed beside later ones."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
from agentnb_testing import PROGRAM_PATIENCE_S, sdk_python

import agentnb
from agentnb import evals
from agentnb._history import close_default_stores
from agentnb.evals import Agreement, Agreements, agreement
from agentnb.types import annotate_runs

SEED = 67
RUNS = 36
LABELS = ["ok", "stale price", "wrong ticker"]

SKLEARN = """
import json, sys
from sklearn.metrics import cohen_kappa_score, confusion_matrix
out = []
for case in json.load(sys.stdin):
    labels = case["labels"]
    kappa = cohen_kappa_score(case["person"], case["evaluator"], labels=labels)
    matrix = confusion_matrix(case["person"], case["evaluator"], labels=labels)
    out.append({"kappa": None if kappa != kappa else float(kappa), "confusion": matrix.tolist()})
json.dump(out, sys.stdout)
"""

NEW_PROCESS = """
import json, sys
from agentnb import evals, runs
figures = []
for evaluator, human, options in json.loads(sys.argv[1]):
    found = evals.agreement(runs(agent="echo"), evaluator, human, **options)
    figures.append({"n": found.n, "kappa": found.kappa, "tpr": found.tpr, "tnr": found.tnr,
                    "agreement": found.agreement, "missing": found.missing,
                    "confusion": found.confusion.values.tolist()})
json.dump(figures, sys.stdout)
"""


def seeded(rng: random.Random) -> dict[str, Any]:
    """One run's scores: a verdict, a judge's number and bool, a person's label and a
    judge's; each side missing now and then, the judge mostly agreeing."""
    verdict = rng.random() < 0.55
    number = min(1.0, max(0.0, (0.75 if verdict else 0.3) + rng.uniform(-0.45, 0.45)))
    mode = rng.choice(LABELS)
    scores: dict[str, Any] = {
        "verdict": None if rng.random() < 0.12 else verdict,
        "judge": None if rng.random() < 0.1 else round(number, 3),
        "judge_ok": None if rng.random() < 0.1 else (verdict if rng.random() < 0.8 else not verdict),
        "mode": None if rng.random() < 0.1 else mode,
        "mode_guess": None if rng.random() < 0.1 else (mode if rng.random() < 0.7 else rng.choice(LABELS)),
    }  # fmt: skip
    return scores


@pytest.fixture
def scored(connection: str) -> list[tuple[str, dict[str, Any]]]:
    """RUNS echo runs, each given its seeded scores: (local_id, scores) in run order."""
    result = agentnb.batch(
        "echo", [f"question {i}" for i in range(RUNS)], via=connection, progress=False
    )
    rng = random.Random(SEED)
    kept = []
    for record in result:
        scores = seeded(rng)
        for name, value in scores.items():
            if value is not None:
                agentnb.score(record, name, value, source="code" if "judge" in name else "person")
        kept.append((record.local_id, scores))
    return kept


def pairs(
    seeded_runs: list[tuple[str, dict[str, Any]]], evaluator: str, human: str, read: Any
) -> tuple[list[Any], list[Any], dict[str, int]]:
    """What agreement() must pair, counted by hand from the seeds: the person's classes, the
    evaluator's, and each side's runs missing where the other has a score."""
    person, judged, missing = [], [], {evaluator: 0, human: 0}
    for _, scores in seeded_runs:
        h, e = scores[human], scores[evaluator]
        if h is None and e is None:
            continue
        if h is None or e is None:
            missing[human if h is None else evaluator] += 1
            continue
        person.append(read(h))
        judged.append(read(e))
    return person, judged, missing


def sklearn_figures(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(sdk_python("sklearn")), "-c", SKLEARN],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=PROGRAM_PATIENCE_S,
    )
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def rates(person: list[Any], judged: list[Any]) -> tuple[float, float]:
    positives = [e for h, e in zip(person, judged, strict=True) if h]
    negatives = [e for h, e in zip(person, judged, strict=True) if not h]
    return sum(positives) / len(positives), sum(not e for e in negatives) / len(negatives)


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("judge_ok", "verdict", {}),  # bools
    ("judge", "verdict", {"threshold": 0.7}),  # a number read at a threshold
    ("judge", "verdict", {}),  # at 0.5
    ("mode_guess", "mode", {}),  # labels: multi-class
]


def reader(options: dict[str, Any], labels: bool) -> Any:
    threshold = options.get("threshold", 0.5)
    return (lambda value: value) if labels else (
        lambda value: value if isinstance(value, bool) else value >= threshold
    )  # fmt: skip


def test_agreement_equals_scikit_learn_here_and_in_a_new_process(
    scored: list[tuple[str, dict[str, Any]]],
) -> None:
    runs = agentnb.runs(agent="echo")
    expected, found = [], []
    for evaluator, human, options in CASES:
        labels = human == "mode"
        person, judged, missing = pairs(scored, evaluator, human, reader(options, labels))
        classes = LABELS if labels else [False, True]
        expected.append((person, judged, missing, classes))
        found.append(agreement(runs, evaluator, human, **options))
    references = sklearn_figures(
        [{"person": p, "evaluator": j, "labels": c} for p, j, _, c in expected]
    )
    disagreements = [len(here.disagreements) for here in found]  # read while the store is open
    close_default_stores()  # the new process reads the file alone
    again = subprocess.run(
        [sys.executable, "-c", NEW_PROCESS, json.dumps(CASES)],
        capture_output=True,
        text=True,
        timeout=PROGRAM_PATIENCE_S,
        env=os.environ,
    )
    assert again.returncode == 0, again.stderr
    later = json.loads(again.stdout)

    for (person, judged, missing, classes), here, there, reference, disagreeing in zip(
        expected, found, later, references, disagreements, strict=True
    ):
        assert isinstance(here, Agreement)
        assert here.n == there["n"] == len(person) > 20
        assert here.missing == there["missing"] == missing and sum(missing.values()) > 0
        assert list(here.classes) == classes
        assert here.confusion.values.tolist() == there["confusion"] == reference["confusion"]
        assert here.kappa == pytest.approx(reference["kappa"], abs=1e-12)
        assert there["kappa"] == pytest.approx(reference["kappa"], abs=1e-12)
        agreed = sum(h == e for h, e in zip(person, judged, strict=True)) / len(person)
        assert here.agreement == pytest.approx(agreed) and there["agreement"] == here.agreement
        if classes == LABELS:
            assert here.tpr is None and here.tnr is None and there["tpr"] is None
        else:
            tpr, tnr = rates(person, judged)
            assert (here.tpr, here.tnr) == (pytest.approx(tpr), pytest.approx(tnr))
            assert (there["tpr"], there["tnr"]) == (here.tpr, here.tnr)
        assert disagreeing == sum(h != e for h, e in zip(person, judged, strict=True)) > 0


def test_an_agreement_reads_says_what_is_missing_and_is_kept(
    scored: list[tuple[str, dict[str, Any]]],
) -> None:
    runs = agentnb.runs(agent="echo")
    found = agreement(runs, "judge", threshold=0.7)
    assert isinstance(found, Agreement)
    text = found.to_text(200)
    assert text.startswith("score.judge against score.verdict (the person), pass at 0.7"), text
    assert f"runs both scored  {found.n}" in text
    assert f"κ (Cohen)         {found.kappa:.3f}" in text
    lacking = found.missing
    assert f"{lacking['verdict']} with score.judge but no score.verdict" in text
    assert "TPR " in text and "TNR " in text and "of those the person passed" in text
    page = found._repr_html_()
    assert "κ (Cohen)" in page and "TPR" in page and "missing" in page
    assert set(found.disagreements.local_ids) <= {local_id for local_id, _ in scored}

    sent = found.annotations("judge v1")  # what keep() sends where scores go
    assert len(sent) == found.n and {a.name for a in sent} == {"agreement.judge.verdict"}
    assert {a.local_id for a in sent if not a.value} == set(found.disagreeing)
    assert all(a.metadata["kappa"] == found.kappa and a.metadata["note"] == "judge v1"
               for a in sent)  # fmt: skip
    assert annotate_runs(sent) is False  # tracing off: scores go nowhere, nor does it
    found.keep("judge v1")
    agreement(runs, "judge_ok").keep("judge v2")
    listed = evals.agreements()
    assert listed["note"].tolist() == ["judge v2", "judge v1"]
    with pd.option_context("display.width", 80, "display.max_columns", 6):
        shown = repr(listed)  # as a terminal of 80 columns shows it: κ is not behind "..."
    assert "kappa" in shown.splitlines()[0], shown
    assert listed["kappa"].tolist()[1] == pytest.approx(found.kappa)
    assert listed["n"].tolist()[1] == found.n and listed["scope"].tolist()[1] == f"{RUNS} runs"


def test_a_run_named_twice_counts_once_and_the_agreement_says_so(
    scored: list[tuple[str, dict[str, Any]]],
) -> None:
    runs = agentnb.runs(agent="echo")
    once = agreement(runs, "judge_ok")
    frame = runs.to_pandas()
    twice = agreement(pd.concat([frame, frame.head(10), frame.head(1)]), "judge_ok")
    assert isinstance(once, Agreement) and isinstance(twice, Agreement)
    assert (twice.n, twice.kappa, twice.counts) == (once.n, once.kappa, once.counts)
    assert twice.repeated == 11 and once.repeated == 0
    assert "11 runs were named more than once: each counted once" in twice.to_text(200)
    assert "named more than once" not in once.to_text(200)


def test_a_score_no_run_has_or_no_run_scored_by_both_is_a_clear_error(
    scored: list[tuple[str, dict[str, Any]]],
) -> None:
    runs = agentnb.runs(agent="echo")
    with pytest.raises(
        agentnb.ConfigurationError,
        match=r"no run here has a score\.judgee; the "
        r"scores these 36 runs have: judge, judge_ok, mode, mode_guess, verdict",
    ):
        agreement(runs, "judgee")  # fmt: skip
    first, second = scored[0][0], scored[1][0]
    agentnb.score(first, "only_here", True)
    agentnb.score(second, "only_there", False)
    with pytest.raises(
        agentnb.ConfigurationError,
        match=r"no run here has both score\.only_here "
        r"and score\.only_there: 1 have score\.only_here only, 1 score\.only_there",
    ):
        agreement(runs, "only_here", "only_there")  # fmt: skip
    with pytest.raises(
        agentnb.ConfigurationError, match=r"give positive='<a label of score\.mode>'"
    ):
        agreement(runs, "judge", "mode")
    by_mode = agreement(runs, "judge_ok", "mode", positive="ok")
    assert isinstance(by_mode, Agreement) and by_mode.binary and by_mode.tpr is not None


def test_an_agreement_on_a_label_says_labelled_and_the_label_never_passed(
    scored: list[tuple[str, dict[str, Any]]],
) -> None:
    """With ``positive=`` a failure mode, a run the person labelled so *has* the failure: the
    figures say "labelled 'stale price'", never "passed" or ✓ / ✗."""
    found = agreement(agentnb.runs(agent="echo"), "judge_ok", "mode", positive="stale price")
    assert isinstance(found, Agreement)
    for shown in (found.to_text(200), found._repr_html_()):
        assert "positive: labelled 'stale price'" in shown.replace("&#x27;", "'"), shown
        assert "passed" not in shown and "✓" not in shown and "✗" not in shown, shown
    text = found.to_text(200)
    assert "of those the person labelled 'stale price'" in text, text
    assert "of those the person did not label 'stale price'" in text, text
    assert "person not 'stale price': not 'stale price' " in text, text
    assert "; person 'stale price': not 'stale price' " in text, text


ARMS_PROCESS = """
import json
from agentnb import evals
per_arm = evals.experiment("calibrated").agreement("judge", by="arm")
json.dump({arm: {"n": found.n, "kappa": found.kappa, "tpr": found.tpr, "tnr": found.tnr,
                 "missing": found.missing, "confusion": found.confusion.values.tolist()}
           for arm, found in per_arm.items()}, __import__("sys").stdout)
"""


def test_an_experiment_s_two_arms_each_equal_scikit_learn_here_and_in_a_new_process(
    connection: str,
) -> None:
    questions = [f"What is ticker number {i} trading at?" for i in range(14)]
    exp = evals.experiment(
        "calibrated", ["finance_agent", "echo"], questions, via=connection, progress=False
    )
    rng = random.Random(SEED + 1)
    expected: dict[str, tuple[list[bool], list[bool], dict[str, int]]] = {
        arm: ([], [], {"judge": 0, "verdict": 0}) for arm in ("finance_agent", "echo")
    }
    for place, row in enumerate(exp.to_pandas().itertuples()):
        verdict, judged = rng.random() < 0.5, rng.random()
        person, evaluator, missing = expected[str(row.agent)]
        if place % 7 != 3:  # now and then a side missing: the person's, or the judge's
            agentnb.score(row.local_id, "verdict", verdict)
        if place % 7 != 5:
            agentnb.score(row.local_id, "judge", judged, source="agent")
        if place % 7 in (3, 5):
            missing["verdict" if place % 7 == 3 else "judge"] += 1
            continue
        person.append(verdict)
        evaluator.append(judged >= 0.5)

    per_arm = evals.experiment("calibrated").agreement("judge", by="arm")
    assert isinstance(per_arm, Agreements) and list(per_arm) == ["finance_agent", "echo"]
    assert per_arm == agreement(exp, "judge", by="arm")
    references = sklearn_figures(
        [{"person": p, "evaluator": j, "labels": [False, True]} for p, j, _ in expected.values()]
    )
    close_default_stores()  # the new process reads the file alone
    again = subprocess.run(
        [sys.executable, "-c", ARMS_PROCESS], capture_output=True, text=True, timeout=PROGRAM_PATIENCE_S,
        env=os.environ,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    later = json.loads(again.stdout)
    for (arm, (person, judged, missing)), reference in zip(
        expected.items(), references, strict=True
    ):
        found, there = per_arm[arm], later[arm]
        assert found.n == there["n"] == len(person) > 8 and found.group == arm
        assert found.missing == there["missing"] == missing and sum(missing.values()) > 0
        assert found.confusion.values.tolist() == there["confusion"] == reference["confusion"]
        assert found.kappa == pytest.approx(reference["kappa"], abs=1e-12)
        assert there["kappa"] == pytest.approx(reference["kappa"], abs=1e-12)
        assert (found.tpr, found.tnr) == tuple(map(pytest.approx, rates(person, judged)))
        assert (there["tpr"], there["tnr"]) == (found.tpr, found.tnr)
    frame = per_arm.to_pandas()
    assert frame.loc["echo", "n"] == per_arm["echo"].n and "kappa" in frame.columns
    assert "on finance_agent" in repr(per_arm) and "on echo" in repr(per_arm)
    whole = evals.experiment("calibrated").agreement("judge")
    assert isinstance(whole, Agreement) and whole.n == sum(len(p) for p, _, _ in expected.values())
    assert whole.scope == "experiment calibrated"
    with pytest.raises(agentnb.ConfigurationError, match="by= groups an experiment's runs"):
        exp.agreement("judge", by="question")
