"""Evaluation's tables in the history file, kept through agentnb's migrations for packages
(``agentnb.history.add_migrations``): named steps of frozen SQL, applied to every history file
after agentnb's own, in order, each recorded by its name. Append only: never edit, rename or
reorder a step that has shipped (the files on users' disks name them); add a new one at the
end, as literal SQL.

The three steps here were agentnb's own (its ``m016``, ``m019`` and ``m028``) until 0.8.0,
when evaluation became a distribution of its own: they keep their names and their SQL, so a
file any earlier version made counts them applied and keeps its experiments, datasets,
evaluations and agreements."""

from __future__ import annotations

from typing import Final

from agentnb.history import add_migrations

__all__ = ["STEPS"]

STEPS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    # Experiments kept in the history (see _book): each one's arms, its examples (the
    # dataset's questions with their expected answers), which run answered which example on
    # which arm, and each evaluator's evaluations of a run (an error when it raised). No
    # value of a run changes.
    (
        "m016_experiments",
        (
            """
        CREATE TABLE experiments (
            name TEXT PRIMARY KEY,
            created REAL NOT NULL,
            arms TEXT NOT NULL,
            connection TEXT
        )
        """,
            """
        CREATE TABLE experiment_examples (
            experiment TEXT NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            example_id TEXT NOT NULL,
            question TEXT NOT NULL,
            expected TEXT,
            extra TEXT,
            PRIMARY KEY (experiment, position)
        )
        """,
            """
        CREATE TABLE experiment_runs (
            id INTEGER PRIMARY KEY,
            experiment TEXT NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            arm INTEGER NOT NULL,
            local_id TEXT NOT NULL
        )
        """,
            "CREATE INDEX experiment_runs_by_pair ON experiment_runs "
            "(experiment, position, arm, id)",
            "CREATE INDEX experiment_runs_by_run ON experiment_runs (local_id)",
            """
        CREATE TABLE evaluations (
            id INTEGER PRIMARY KEY,
            local_id TEXT NOT NULL,
            evaluator TEXT NOT NULL,
            error TEXT,
            created REAL NOT NULL
        )
        """,
            "CREATE INDEX evaluations_by_run ON evaluations (local_id, evaluator, id)",
        ),
    ),
    # Datasets kept by name, each version once (evals.dataset: different rows under a name
    # make its next version), and the dataset and version an experiment ran on. No value of a
    # run changes.
    (
        "m019_datasets",
        (
            "CREATE TABLE datasets (name TEXT NOT NULL, version INTEGER NOT NULL, "
            "digest TEXT NOT NULL, rows TEXT NOT NULL, created REAL NOT NULL, "
            "PRIMARY KEY (name, version))",
            "CREATE UNIQUE INDEX datasets_by_digest ON datasets (name, digest)",
            "ALTER TABLE experiments ADD COLUMN dataset TEXT",
            "ALTER TABLE experiments ADD COLUMN dataset_version INTEGER",
        ),
    ),
    # The split an experiment ran on (experiment(..., split="test"); NULL: the whole dataset,
    # and experiments made before this column), and the agreements of an evaluator with a
    # person's scores kept to compare over time (agreement(...).keep()). No value of a run
    # changes.
    (
        "m028_experiment_split_and_agreements",
        (
            "ALTER TABLE experiments ADD COLUMN split TEXT",
            """
        CREATE TABLE agreements (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,
            evaluator TEXT NOT NULL,
            human TEXT NOT NULL,
            threshold REAL,
            positive TEXT,
            scope TEXT NOT NULL,
            subset TEXT,
            n INTEGER NOT NULL,
            agreement REAL,
            kappa REAL,
            tpr REAL,
            tnr REAL,
            details TEXT NOT NULL,
            note TEXT
        )
        """,
        ),
    ),
)

add_migrations("evals", STEPS)  # at import: before any table of evaluation's is read
