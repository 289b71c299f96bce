"""The change a run made, as it is taken from its copy (``_change.take_change``) against a
hostile repository: keys of a known kind the agent wrote are kept as ``***`` (the one
redaction step of what the notebook keeps), and a huge change is read only as far as it is
kept, its git bounded."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentnb.evals import _workspace, workspace
from agentnb.evals._change import DIFF_CHARS, take_change
from agentnb.evals._workspace import Copy

KEYS = [
    "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2",
    "sk_live_" + "51HxYzAbCdEfGhIjKlMn",
    "ghp_" + "0123456789abcdefghijABCDEFGHIJ",
    "AKIA" + "IOSFODNN7EXAMPLE",
]


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Copy]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("a project\n")
    made = workspace(project).copy()
    yield made
    made.remove()


def test_a_change_keeps_no_key_of_a_known_kind(copy: Copy) -> None:
    written = "".join(f"KEY_{n} = '{key}'\n" for n, key in enumerate(KEYS))
    (copy.folder / "settings.py").write_text(f"{written}url = 'https://user:hunter22@db'\n")
    change = take_change(copy)
    assert [f.path for f in change.files] == ["settings.py"]
    assert not [key for key in [*KEYS, "hunter22"] if key in change.diff], change.diff
    assert "+KEY_0 = '***'" in change.diff


def test_a_huge_change_is_read_only_as_far_as_it_is_kept(copy: Copy) -> None:
    line = "x" * 99 + "\n"
    (copy.folder / "huge.txt").write_text(line * 600_000)  # 60 MB
    tracemalloc.start()
    try:
        change = take_change(copy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(f.path, f.added) for f in change.files] == [("huge.txt", 600_000)]
    assert len(change.diff) <= DIFF_CHARS + 200 and "more characters" in change.diff
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB held to keep {DIFF_CHARS:,} characters"


def test_a_git_that_does_not_end_in_time_leaves_the_change_said_as_not_taken(
    copy: Copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    (copy.folder / "notes.txt").write_text("changed\n")
    monkeypatch.setattr(_workspace, "GIT_TIMEOUT", 1e-6)
    change = take_change(copy)
    assert (change.files, change.diff) == (
        (),
        "[the change was not taken: git did not end within 1e-06 s]",
    )
