"""Place the release tags: one annotated tag ``vX.Y.Z`` on the commit of each release.

A release is the commit that dated its section of CHANGELOG.md (``## [X.Y.Z] - YYYY-MM-DD``,
docs/development.md "Releases"): the first commit that added that heading. This script finds
each one from the history and tags it where the tag is missing, dated as the commit is, so a
clone that came without tags (a mirror that carries branches only) gets the same tags back.
A tag that exists on another commit is reported, never moved.

Usage: ``python scripts/tag_releases.py`` (tag what is missing), ``--list`` (print each
release's commit and tag nothing), ``--repo PATH`` (another clone; this one by default).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    summary: str
    """The first sentence of the section's first paragraph: what the tag's message says."""

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def releases(changelog: str) -> list[Release]:
    """Every dated section of the changelog, newest first."""
    lines = changelog.splitlines()
    found = []
    for i, line in enumerate(lines):
        heading = HEADING.match(line)
        if heading is None:
            continue
        found.append(Release(heading["version"], heading["date"], first_sentence(lines[i + 1 :])))
    return found


def first_sentence(section: list[str]) -> str:
    """The first sentence of the first paragraph of ``section`` (its lines)."""
    paragraph: list[str] = []
    for line in section:
        text = line.strip()
        if text.startswith("#"):
            break
        if not text and paragraph:
            break
        if text:
            paragraph.append(text)
    joined = " ".join(paragraph)
    end = joined.find(". ")
    return joined if end < 0 else joined[: end + 1]


@dataclass(frozen=True)
class Clone:
    """The clone whose releases are tagged (``--repo``; this one by default)."""

    root: Path

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def releases(self) -> list[Release]:
        return releases((self.root / "CHANGELOG.md").read_text(encoding="utf-8"))

    def release_commit(self, release: Release) -> str | None:
        """The first commit whose CHANGELOG.md has this release's dated heading."""
        return self.headings_added.get(f"## [{release.version}] - {release.date}")

    @functools.cached_property
    def headings_added(self) -> dict[str, str]:
        """Each heading CHANGELOG.md has had, and the first commit that added it: one pass
        over the file's history (a ``git log -S`` a release read it whole once each)."""
        log = self.git("log", "--reverse", "--format=commit %H", "-p", "-U0", "--", "CHANGELOG.md")
        added: dict[str, str] = {}
        commit = ""
        for line in log.splitlines():
            if line.startswith("commit "):
                commit = line.removeprefix("commit ")
            elif line.startswith("+## "):
                added.setdefault(line[1:], commit)
        return added

    def tagged(self, tag: str) -> str | None:
        """The commit ``tag`` points at, or None when there is no such tag."""
        if not self.git("tag", "--list", tag):
            return None
        return self.git("rev-list", "-n", "1", tag)

    def place(self, release: Release, commit: str) -> None:
        """An annotated tag on ``commit``, dated as the commit is."""
        dated = self.git("log", "-1", "--format=%cI", commit)
        message = f"agentnb {release.version} ({release.date}): {release.summary}"
        env = {**os.environ, "GIT_COMMITTER_DATE": dated}
        self.git("tag", "-a", release.tag, "-m", message, commit, env=env)


def settle(clone: Clone, release: Release, *, list_only: bool) -> bool:
    """Tag ``release`` where it lacks its tag (unless ``list_only``), saying what was done;
    False where it cannot be: no commit dated it, or its tag points elsewhere."""
    commit = clone.release_commit(release)
    if commit is None:
        print(f"{release.tag}: no commit added its changelog heading", file=sys.stderr)
        return False
    existing = clone.tagged(release.tag)
    if existing is not None and existing != commit:
        print(f"{release.tag}: tagged {existing[:8]}, its release is {commit[:8]}: left")
        return False
    if existing is not None:
        print(f"{release.tag}: {commit[:8]} (tagged)")
    elif list_only:
        print(f"{release.tag}: {commit[:8]} (not tagged)")
    else:
        clone.place(release, commit)
        print(f"{release.tag}: {commit[:8]} (tagged now)")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print, tag nothing")
    parser.add_argument("--repo", type=Path, default=HERE, help="the clone (default: this one)")
    args = parser.parse_args(argv)
    clone = Clone(args.repo.resolve())
    if clone.git("rev-parse", "--is-shallow-repository") == "true":
        raise SystemExit("a shallow clone lacks the release commits: git fetch --unshallow")
    settled = [settle(clone, release, list_only=args.list) for release in clone.releases()]
    return 0 if all(settled) else 1


if __name__ == "__main__":
    sys.exit(main())
