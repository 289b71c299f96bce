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


REPO = HERE
"""The clone whose releases are tagged (``--repo``)."""


def git(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


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


def release_commit(release: Release) -> str | None:
    """The first commit whose CHANGELOG.md has this release's dated heading."""
    heading = f"## [{release.version}] - {release.date}"
    added = git("log", "--reverse", "--format=%H", "-S", heading, "--", "CHANGELOG.md")
    return added.splitlines()[0] if added else None


def tagged(tag: str) -> str | None:
    """The commit ``tag`` points at, or None when there is no such tag."""
    if not git("tag", "--list", tag):
        return None
    return git("rev-list", "-n", "1", tag)


def place(release: Release, commit: str) -> None:
    """An annotated tag on ``commit``, dated as the commit is."""
    env = {**os.environ, "GIT_COMMITTER_DATE": git("log", "-1", "--format=%cI", commit)}
    message = f"agentnb {release.version} ({release.date}): {release.summary}"
    git("tag", "-a", release.tag, "-m", message, commit, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print, tag nothing")
    parser.add_argument("--repo", type=Path, default=HERE, help="the clone (default: this one)")
    args = parser.parse_args(argv)
    global REPO
    REPO = args.repo.resolve()
    if git("rev-parse", "--is-shallow-repository") == "true":
        raise SystemExit("a shallow clone lacks the release commits: git fetch --unshallow")
    problems = 0
    for release in releases((REPO / "CHANGELOG.md").read_text(encoding="utf-8")):
        commit = release_commit(release)
        if commit is None:
            print(f"{release.tag}: no commit added its changelog heading", file=sys.stderr)
            problems += 1
            continue
        existing = tagged(release.tag)
        if existing is not None and existing != commit:
            print(f"{release.tag}: tagged {existing[:8]}, its release is {commit[:8]}: left")
            problems += 1
        elif existing is not None:
            print(f"{release.tag}: {commit[:8]} (tagged)")
        elif args.list:
            print(f"{release.tag}: {commit[:8]} (not tagged)")
        else:
            place(release, commit)
            print(f"{release.tag}: {commit[:8]} (tagged now)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
