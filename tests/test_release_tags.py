"""Every release of CHANGELOG.md can be tagged from the history (scripts/tag_releases.py):
each dated section was added by a commit, the releases' commits follow one another on the
branch in the changelog's order, and each one carries the version it releases. A clone that
came without tags gets them back from these, tagged in a scratch copy here."""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "tag_releases.py"


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def script() -> ModuleType:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the repository's git history")
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone lacks the release commits")
    spec = importlib.util.spec_from_file_location("tag_releases", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while it is made
    spec.loader.exec_module(module)
    return module


def test_each_release_has_a_commit_in_order_carrying_its_version(script: ModuleType) -> None:
    clone = script.Clone(ROOT)
    releases = clone.releases()
    assert len(releases) >= 10 and releases[-1].version == "0.1.0"
    commits = [clone.release_commit(release) for release in releases]
    assert None not in commits, [
        r.version for r, c in zip(releases, commits, strict=True) if c is None
    ]
    for newer, older in itertools.pairwise(commits):
        assert older != newer
        subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=ROOT, check=True)
    for release, commit in zip(releases, commits, strict=True):
        version = git("show", f"{commit}:agentnb/_core/version.py")
        assert f'__version__ = "{release.version}"' in version, release.version
        assert release.summary.endswith(".") or len(release.summary) > 40, release


def test_a_clone_without_tags_gets_them_back(script: ModuleType, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--no-tags", str(ROOT), str(clone))
    assert git("tag", "--list", cwd=clone) == ""
    run = [sys.executable, str(SCRIPT), "--repo", str(clone)]
    first = subprocess.run(run, cwd=clone, capture_output=True, text=True, check=True).stdout
    assert "v0.1.0" in first and "(tagged now)" in first
    tags = git("tag", "--list", "v*", cwd=clone).split()
    assert "v0.8.0" in tags and len(tags) >= 10
    again = subprocess.run(run, cwd=clone, capture_output=True, text=True, check=True).stdout
    assert "(tagged now)" not in again, "a second run changes nothing"
    message = git("tag", "-n1", "v0.8.0", cwd=clone)
    assert "agentnb 0.8.0 (2026-11-27):" in message
