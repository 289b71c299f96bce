"""Scores, labels and notes given to runs: stored by kind, the latest current and the earlier
kept, given to a run however it is named, and every bad input refused with nothing stored."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentnb
from agentnb import runs
from agentnb._core.exceptions import ConfigurationError
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._history import ScoreRecord, close_default_stores, default_store
from agentnb.events import RunCompleted, RunStarted, TextDelta
from agentnb.history import HistoryStore


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    """The default history, in a file of this test's (``agentnb.score`` writes there)."""
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    opened = default_store()
    assert opened is not None
    try:
        yield opened
    finally:
        close_default_stores()


def recorded(store: HistoryStore, agent: str = "finance_agent", answer: str = "42") -> Run:
    run = Run(agent=agent, message="What is NVDA at?", provider="operativus", connection="c")
    run.start()
    t = run.started_at or time.time()
    run.apply(RunStarted(run_id=f"remote-{run.local_id}", thread_id="t", received_at=t))
    run.apply(TextDelta(delta=answer, received_at=t + 0.1))
    run.apply(RunCompleted(received_at=t + 0.2))
    store.record(run, RunRequest(agent=agent, message=run.message), base_url="http://x")
    return run


def test_each_kind_of_value_comes_back_as_it_was_given(store: HistoryStore) -> None:
    run = recorded(store)
    before = time.time()
    given = [
        store.add_score(run.local_id, "accuracy", 0.75),
        store.add_score(run.local_id, "steps", 3, source="code", author="count_steps"),
        store.add_score(run.local_id, "correct", True, comment="matches the reference"),
        store.add_score(run.local_id, "tone", " friendly ", source="agent", author="judge"),
    ]
    assert store.scores() == given
    values = {score.name: score.value for score in store.scores([run.local_id])}
    assert values == {"accuracy": 0.75, "steps": 3.0, "correct": True, "tone": "friendly"}
    assert type(values["steps"]) is float and type(values["correct"]) is bool
    assert [score.kind for score in given] == ["number", "number", "bool", "label"]
    assert given[2].comment == "matches the reference" and given[2].source == "person"
    assert given[1].source == "code" and given[1].author == "count_steps"
    assert all(before - 1 <= score.created.timestamp() <= time.time() + 1 for score in given)
    assert given[0].created.tzinfo is not None


def test_a_later_score_of_the_same_name_replaces_it_and_the_earlier_is_kept(
    store: HistoryStore,
) -> None:
    run, other = recorded(store), recorded(store)
    first = store.add_score(run.local_id, "correct", False, comment="wrong ticker")
    store.add_score(other.local_id, "correct", True)
    second = store.add_score(run.local_id, "correct", True, comment="re-checked")
    current = store.scores([run.local_id])
    assert current == [second]
    assert store.scores([run.local_id], history=True) == [first, second]
    assert [s.local_id for s in store.scores()] == [other.local_id, run.local_id]
    assert len(store.scores(history=True)) == 3
    assert store.scores(["no-such-run"]) == []


def test_scores_are_rows_of_a_table_never_updated(store: HistoryStore) -> None:
    run = recorded(store)
    store.add_score(run.local_id, "grade", "good")
    store.add_score(run.local_id, "grade", 4)
    assert store.path is not None
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT name, kind, number, label FROM scores ORDER BY id").fetchall()
    assert rows == [("grade", "label", None, "good"), ("grade", "number", 4.0, None)]


@pytest.mark.parametrize(
    ("name", "value", "options", "message"),
    [
        ("", 1, {}, "name like 'correct'"),
        ("two words", 1, {}, "name like 'correct'"),
        ("1st", 1, {}, "name like 'correct'"),
        (None, 1, {}, "name like 'correct'"),
        ("x", math.nan, {}, "finite number"),
        ("x", math.inf, {}, "finite number"),
        ("x", "   ", {}, "non-empty"),
        ("x", "g" * 201, {}, "at most 200"),
        ("x", None, {}, "not NoneType"),
        ("x", [1], {}, "not list"),
        ("x", 1, {"source": "robot"}, "one of 'person', 'code', 'agent'"),
        ("x", 1, {"comment": 3}, "comment is a str"),
        ("x", 1, {"author": b"me"}, "author is a str"),
    ],
)
def test_a_bad_score_is_a_clear_error_and_nothing_is_stored(
    store: HistoryStore, name: object, value: object, options: dict[str, object], message: str
) -> None:
    run = recorded(store)
    with pytest.raises(ConfigurationError, match=message):
        store.add_score(run.local_id, name, value, **options)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=message):
        agentnb.score(run, name, value, **options)  # type: ignore[arg-type]
    assert store.scores(history=True) == []


def test_a_score_for_a_run_the_history_does_not_hold_says_so(store: HistoryStore) -> None:
    recorded(store)
    with pytest.raises(ConfigurationError, match="no run 'missing' in the history"):
        store.add_score("missing", "correct", True)
    with pytest.raises(ConfigurationError, match="no run 'missing' in the history"):
        agentnb.score("missing", "correct", True)
    unrecorded = Run(agent="a", message="m")
    with pytest.raises(ConfigurationError, match=f"no run '{unrecorded.local_id}'"):
        agentnb.score(unrecorded, "correct", True)
    with pytest.raises(TypeError, match="not int"):
        agentnb.score(3, "correct", True)
    assert store.scores(history=True) == []


def test_a_run_is_scored_however_show_would_take_it(store: HistoryStore) -> None:
    pandas = pytest.importorskip("pandas")
    runs_given = [recorded(store) for _ in range(5)]
    frame = runs().to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    by_id = {row["local_id"]: row for _, row in frame.iterrows()}
    records = {record.local_id: record for record in runs()}
    ways = [
        runs_given[0],  # a Run
        records[runs_given[1].local_id],  # a history record
        by_id[runs_given[2].local_id],  # a pandas row
        runs_given[3].local_id,  # agentnb's id
        runs_given[4].run_id,  # the platform's id
    ]
    for index, way in enumerate(ways):
        given = agentnb.score(way, "rank", index, f"way {index}")
        assert isinstance(given, ScoreRecord)
        assert given.local_id == runs_given[index].local_id
    assert {s.local_id: s.value for s in store.scores()} == {
        run.local_id: float(index) for index, run in enumerate(runs_given)
    }


def test_one_score_names_one_run(store: HistoryStore) -> None:
    recorded(store), recorded(store)
    with pytest.raises(ConfigurationError, match="scores one run; RunHistory names 2"):
        agentnb.score(runs(), "correct", True)
    assert store.scores() == []


def test_history_off_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", "off")
    try:
        with pytest.raises(ConfigurationError, match="history is off"):
            agentnb.score(Run(agent="a", message="m"), "correct", True)
    finally:
        close_default_stores()


def test_a_numpy_value_is_taken_as_the_number_or_bool_it_is(store: HistoryStore) -> None:
    numpy = pytest.importorskip("numpy")
    run = recorded(store)
    assert store.add_score(run.local_id, "a", numpy.float64(0.5)).value == 0.5
    assert store.add_score(run.local_id, "b", numpy.int64(2)).value == 2.0
    assert store.add_score(run.local_id, "c", numpy.bool_(True)).value is True
    with pytest.raises(ConfigurationError, match="finite number"):
        store.add_score(run.local_id, "d", numpy.float64("nan"))


def test_a_secret_in_a_comment_or_label_is_not_stored(store: HistoryStore) -> None:
    from agentnb._core.secrets import register_secret

    register_secret("sk-scores-secret-123456")
    run = recorded(store)
    store.add_score(
        run.local_id, "x", "sk-scores-secret-123456", comment="key sk-scores-secret-123456"
    )
    assert store.path is not None
    written = b"".join(path.read_bytes() for path in store.path.parent.iterdir())
    assert b"scores-secret" not in written
    assert "sk-scores-secret" not in repr(store.scores())


def test_deleting_a_run_deletes_its_scores(store: HistoryStore) -> None:
    run = recorded(store)
    store.add_score(run.local_id, "x", 1)
    assert store.path is not None
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM runs WHERE local_id = ?", (run.local_id,))
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone() == (0,)


def test_a_score_reads_as_who_gave_what_and_when_in_a_cell(store: HistoryStore) -> None:
    from IPython.lib.pretty import pretty  # what a notebook cell's output shows

    run = recorded(store)
    given = agentnb.score(run, "correct", True, "matches the reference", author="alice")
    when = f"{given.created:%Y-%m-%d %H:%M} UTC"
    assert pretty(given) == repr(given)
    assert repr(given) == (
        f"<ScoreRecord correct=True by person 'alice', {when}: 'matches the reference'>"
    )
    bare = store.add_score(run.local_id, "accuracy", 0.75, source="code")
    assert repr(bare) == f"<ScoreRecord accuracy=0.75 by code, {bare.created:%Y-%m-%d %H:%M} UTC>"
    long = store.add_score(run.local_id, "tone", "friendly", comment="x" * 200)
    assert len(repr(long)) < 120 and repr(long).endswith("…'>")
