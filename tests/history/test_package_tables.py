"""A package's own tables in the history file (``agentnb.history.add_migrations``): its named
steps of frozen SQL, applied after agentnb's, in order, recorded by name. Evaluation's
(agentnb-evals) come that way: a file that earlier versions upgraded with them as agentnb's own
steps opens and keeps its data, with evaluation or without it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, REPO

from agentnb import ConfigurationError
from agentnb._history import MIGRATIONS, _migrations
from agentnb.evals import agreements, dataset, experiment, experiments
from agentnb.evals._evaluation_tables import STEPS
from agentnb.history import HistoryStore, add_migrations

BEFORE_0_8 = Path(__file__).parent / "data" / "evals-0.8.0.dev0.sqlite3"
"""Written by the code before 0.8.0, whose own steps m016, m019 and m028 made evaluation's
tables (``data/make_evals_history.py``)."""
EVALUATION = [
    "m016_experiments",
    "m019_datasets",
    "m028_experiment_split_and_agreements",
    "evals_run_changes",
]
RELEASED_0_8 = Path(__file__).parent / "data" / "evals-0.8.0.sqlite3"
"""Written by the tagged v0.8.0, evaluation's tables by agentnb-evals' own steps: the same
experiment as the file before it, and one run in working copies, each run's change kept
(``data/make_evals_history.py``)."""
SHIPPED_BEFORE_0_8 = EVALUATION[:3]
"""The steps that were agentnb's own before 0.8 (a file of then has them applied)."""


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The packages' steps as they are, restored after the test (evaluation's stay)."""
    monkeypatch.setattr(_migrations, "_PLUGIN_STEPS", dict(_migrations._PLUGIN_STEPS))
    monkeypatch.setattr(_migrations, "_PLUGIN_SQL", dict(_migrations._PLUGIN_SQL))
    monkeypatch.setattr(_migrations, "_generation", list(_migrations._generation))


def schema(path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        db.close()
    return sorted(
        (kind, name, table, " ".join(str(sql).split())) for kind, name, table, sql in rows
    )


def test_evaluation_s_steps_are_its_own_and_not_agentnb_s() -> None:
    core = {step.__name__ for step in MIGRATIONS}
    assert [name for name, _ in STEPS] == EVALUATION
    assert not core & set(EVALUATION)
    assert [step.__name__ for step in _migrations.every_migration()][
        -len(EVALUATION) :
    ] == EVALUATION


def test_a_file_with_evaluation_s_tables_from_before_0_8_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(BEFORE_0_8, path)
    with HistoryStore(path) as store:
        assert set(EVALUATION) <= set(store.migrations())
        assert len(store.runs()) == 6
        kept = experiments(store=store)
        assert kept.index.tolist() == ["tickers"]
        exp = experiment("tickers", store=store)
        assert exp.dataset is not None and len(exp.dataset) == 3
        assert len(exp.runs()) == 6
        assert exp.to_pandas()["score.contains"].notna().all()
        assert len(dataset("tickers", store=store)) == 3
        assert agreements(store=store)["note"].tolist() == ["the first rubric"]
    HistoryStore(tmp_path / "fresh.sqlite3").close()
    assert schema(path) == schema(tmp_path / "fresh.sqlite3")


def test_the_file_0_8_0_wrote_opens_with_its_experiments_and_their_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(RELEASED_0_8, path)
    with HistoryStore(path) as store:
        assert store.read_only is None
        assert [step for step in store.migrations() if step in EVALUATION] == EVALUATION
        assert sorted(experiments(store=store).index) == ["fix-add", "tickers"]
        assert len(experiment("tickers", store=store).runs()) == 6
        assert agreements(store=store)["note"].tolist() == ["the first rubric"]
        coding = experiment("fix-add", store=store)
        assert len(coding.runs()) == 4
        for question in ("Fix add()", "add(2, 3) should be 5"):
            fixed = coding.change(question, "fixer")
            assert [(f.path, f.added, f.removed) for f in fixed.files] == [("calc.py", 1, 1)]
            assert "-    return a - b\n+    return a + b" in fixed.diff
            assert fixed.summary() == "1 file(s) changed, +1 -1"
            assert coding.change(question, "looker").summary() == "no change"


CORE_ALONE = """
import json, sys
from agentnb.history import HistoryStore
with HistoryStore(sys.argv[1]) as store:
    print(json.dumps([len(store.runs()), store.read_only, "agentnb.evals" in sys.modules,
                      store.migrations()]))
"""


def core_alone(path: Path) -> list[Any]:
    """What agentnb without evaluation imported reads of the file at ``path``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CORE_ALONE, str(path)],
        capture_output=True, text=True, env=env, cwd=path.parent, timeout=PATIENCE_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: list[Any] = json.loads(done.stdout)
    return result


def test_agentnb_without_evaluation_opens_a_file_with_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(BEFORE_0_8, path)
    runs, read_only, evaluation, applied = core_alone(path)
    assert (runs, read_only, evaluation) == (6, None, False)
    assert set(SHIPPED_BEFORE_0_8) <= set(applied)
    with HistoryStore(path) as store:  # and evaluation's reads go on there after it
        assert experiments(store=store).index.tolist() == ["tickers"]


def test_a_file_agentnb_made_alone_gets_evaluation_s_tables_at_its_first_use(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    assert core_alone(path)[3] == [step.__name__ for step in MIGRATIONS]
    with HistoryStore(path) as store:
        assert [step for step in store.migrations() if step in EVALUATION] == EVALUATION
        assert len(dataset("qs", ["What is NVDA trading at?"], store=store)) == 1


def test_a_store_open_before_a_package_added_its_steps_applies_them_at_its_next_use(
    tmp_path: Path, registry: None
) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        add_migrations("notes", [("notes_m001", ["CREATE TABLE notes (body TEXT NOT NULL)"])])
        store.transaction(lambda db: db.execute("INSERT INTO notes VALUES ('kept')"))
        assert store.read_rows("SELECT body FROM notes", ()) == [("kept",)]
        assert store.migrations()[-1] == "notes_m001"
        add_migrations(
            "notes",
            [
                ("notes_m001", ["CREATE TABLE notes (body TEXT NOT NULL)"]),
                ("notes_m002", ["ALTER TABLE notes ADD COLUMN author TEXT"]),
            ],
        )
        assert store.read_rows("SELECT body, author FROM notes", ()) == [("kept", None)]
    with HistoryStore(tmp_path / "history.sqlite3") as again:  # the schema check knows them
        assert again.migrations()[-2:] == ["notes_m001", "notes_m002"]
        assert again.read_only is None


@pytest.mark.parametrize(
    ("owner", "steps", "refusal"),
    [
        ("two words", [], "the owner is a name"),
        ("notes", [("m001_initial", ["SELECT 1"])], r"\['m001_initial'\] are taken"),
        ("notes", [("n1", ["SELECT 1"]), ("n1", ["SELECT 2"])], r"\['n1'\] are taken"),
        ("other", [("m016_experiments", ["SELECT 1"])], "are taken"),  # evaluation's
        ("evals", [(name, ["SELECT 1"]) for name, _ in STEPS], "never edited, renamed"),
        ("evals", list(reversed(STEPS)), "never edited, renamed or reordered"),
    ],
    ids=["no name", "agentnb's step", "twice", "another package's", "edited", "reordered"],
)
def test_a_package_s_steps_are_frozen_and_their_names_its_own(
    registry: None, owner: str, steps: list[tuple[str, list[str]]], refusal: str
) -> None:
    with pytest.raises(ConfigurationError, match=refusal):
        add_migrations(owner, steps)
    assert _migrations.plugin_generation() == _migrations._generation[0]


def test_adding_a_package_s_steps_again_is_a_no_op(registry: None) -> None:
    before = _migrations.plugin_generation()
    add_migrations("evals", STEPS)
    assert _migrations.plugin_generation() == before
