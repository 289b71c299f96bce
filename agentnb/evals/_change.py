"""The change a run made in its copy (:mod:`._workspace`): the files it changed, the lines
added and removed, and the diff against the copy's start — bounded (its head and its end
kept, a line saying how much was left out), secrets redacted, a binary file named, never
inlined. Taken right after the turn, before any check runs in the copy."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from agentnb.history import HistoryStore
from agentnb.types import redacted_error

from ._book import kept_changes

if TYPE_CHECKING:
    from ._workspace import Copy

__all__ = [
    "DIFF_CHARS",
    "Change",
    "ChangedFile",
    "ChangesSideBySide",
    "diff_html",
    "kept_change",
    "take_change",
]

DIFF_CHARS: Final = 200_000
"""Characters of a run's diff kept (the rest is left out, said in the diff)."""


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One file a run changed: lines added and removed (None for a binary file)."""

    path: str
    added: int | None
    removed: int | None

    @property
    def binary(self) -> bool:
        return self.added is None


@dataclass(frozen=True, slots=True)
class Change:
    """What a run changed in its copy (``exp.change(question, arm)``)."""

    files: tuple[ChangedFile, ...]
    diff: str
    """The unified diff against the copy's start (bounded; a binary file named only)."""
    kept_at: str | None = None
    """Where the copy is kept (``workspace(..., keep=...)``); None: it was removed."""
    local_id: str | None = field(default=None, compare=False)

    @property
    def added(self) -> int:
        return sum(f.added or 0 for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed or 0 for f in self.files)

    def summary(self) -> str:
        """``2 files changed, +3 -1`` (``no change`` for none)."""
        if not self.files:
            return "no change"
        return f"{len(self.files)} file(s) changed, +{self.added} -{self.removed}"

    def __repr__(self) -> str:
        kept = f"\nkept at {self.kept_at}" if self.kept_at else ""
        return f"{self.summary()}{kept}\n{self.diff}".rstrip()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        return diff_html(self)


def diff_html(change: Change, title: str | None = None) -> str:
    """The change as HTML: its summary, then its diff, lines coloured as added or removed."""
    lines = []
    for line in change.diff.splitlines():
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        style = {"add": "background:#e6ffec", "del": "background:#ffebe9"}.get(kind, "")
        lines.append(f'<div style="{style}">{html.escape(line) or "&nbsp;"}</div>')
    head = f"<b>{html.escape(title)}</b>: " if title else ""
    return (
        f'<div class="agentnb-change"><p>{head}{html.escape(change.summary())}</p>'
        f'<pre style="font-size:12px">{"".join(lines)}</pre></div>'
    )


def take_change(copy: Copy) -> Change:
    """The change made in ``copy`` since its start (what ``git add --all`` sees: files the
    repository ignores are not in it)."""
    copy.git("add", "--all")
    numbers = copy.git("diff", "--cached", "--numstat", "-z", "--no-renames", copy.start)
    files = _files(numbers.stdout.decode("utf-8", "replace"))
    diff = copy.git(
        "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames", copy.start
    ).stdout.decode("utf-8", "replace")
    return Change(tuple(files), redacted_error(diff, limit=DIFF_CHARS))


def _files(numstat: str) -> list[ChangedFile]:
    """``git diff --numstat -z``'s records: ``added\\tremoved\\tpath\\0`` (``-`` for a
    binary file)."""
    found = []
    for record in numstat.split("\0"):
        added, _, rest = record.partition("\t")
        removed, _, path = rest.partition("\t")
        if path:
            found.append(ChangedFile(path, _count(added), _count(removed)))
    return found


def _count(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def kept_change(store: HistoryStore, local_id: str) -> Change | None:
    """The change run ``local_id`` made, as the history keeps it (None: none kept)."""
    found = kept_changes(store, [local_id]).get(local_id)
    if found is None:
        return None
    files, diff, kept_at = found
    listed = tuple(ChangedFile(str(path), added, removed) for path, added, removed in files)
    return Change(listed, diff, kept_at, local_id)


@dataclass(frozen=True, slots=True)
class ChangesSideBySide:
    """Two arms' changes to one question, side by side (``exp.compare_changes(q, a, b)``)."""

    question: str
    labels: tuple[str, str]
    changes: tuple[Change, Change]

    def __repr__(self) -> str:
        sides = zip(self.labels, self.changes, strict=True)
        blocks = [f"== {label}: {change!r}" for label, change in sides]
        return f"question {self.question}\n" + "\n\n".join(blocks)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        cells = "".join(
            f'<td style="vertical-align:top;width:50%">{diff_html(change, label)}</td>'
            for label, change in zip(self.labels, self.changes, strict=True)
        )
        return (
            f'<div class="agentnb-changes"><p>question {html.escape(self.question)}</p>'
            f'<table style="width:100%;table-layout:fixed"><tr>{cells}</tr></table></div>'
        )
