"""The change a run made in its copy (:mod:`._workspace`): the files it changed, the lines
added and removed, and the diff against the copy's start — bounded (only its first
:data:`DIFF_BYTES` read from git, then its head and its end kept, a line saying how much was
left out), secrets and anything shaped like a key redacted (the one redaction step of what
the notebook gives an agent), a binary file named, never inlined. Taken right after the
turn, before any check runs in the copy; a git that does not end within its time leaves the
change said as not taken."""

from __future__ import annotations

import html
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from agentnb.history import HistoryStore
from agentnb.types import redact_key_shapes, redacted_error

from ._book import kept_changes

if TYPE_CHECKING:
    from ._workspace import Copy

__all__ = [
    "DIFF_CHARS",
    "Change",
    "ChangedFile",
    "ChangesSideBySide",
    "changes_shown",
    "diff_html",
    "kept_change",
    "take_change",
]

DIFF_CHARS: Final = 200_000
"""Characters of a run's diff kept (the rest is left out, said in the diff)."""
DIFF_BYTES: Final = 4 * DIFF_CHARS
"""Bytes of a run's diff read from git: a change of 120 MB is never read whole."""


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


_LINE_STYLES: Final = {
    "add": "background:rgba(46,160,67,0.18)",
    "del": "background:rgba(248,81,73,0.18)",
    "same": "",
}


def diff_html(change: Change, title: str | None = None) -> str:
    """The change as HTML: its summary, then its diff, lines coloured as added or removed."""
    lines = []
    for line in change.diff.splitlines():
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "same"
        style = _LINE_STYLES[kind]  # translucent: read on a light and a dark theme
        shown = html.escape(line) or "&nbsp;"
        lines.append(f'<div class="anb-diff-{kind}" style="{style}">{shown}</div>')
    head = f"<b>{html.escape(title)}</b>: " if title else ""
    return (
        f'<div class="agentnb-change" style="text-align:left">'
        f"<p>{head}{html.escape(change.summary())}</p>"
        f'<pre style="font-size:12px;text-align:left;overflow-x:auto">{"".join(lines)}</pre>'
        "</div>"
    )


def take_change(copy: Copy) -> Change:
    """The change made in ``copy`` since its start (what ``git add --all`` sees: files the
    repository ignores are not in it)."""
    try:
        copy.git("add", "--all")
        numbers = copy.git("diff", "--cached", "--numstat", "-z", "--no-renames", copy.start)
        files = _files(numbers.stdout.decode("utf-8", "replace"))
        diff = copy.git_head(
            DIFF_BYTES, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames",
            copy.start,
        )  # fmt: skip
    except subprocess.TimeoutExpired as late:
        return Change((), f"[the change was not taken: git did not end within {late.timeout:g} s]")
    text = diff[:DIFF_BYTES].decode("utf-8", "replace")
    if len(diff) > DIFF_BYTES:
        text += f"\n[... the diff past its first {DIFF_BYTES:,} bytes left out ...]"
    return Change(tuple(files), redacted_error(redact_key_shapes(text), limit=DIFF_CHARS))


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
    """Runs' changes side by side (``exp.compare_changes(question, a, b)``; under an
    experiment grid's Open and Compare)."""

    title: str
    labels: tuple[str, ...]
    changes: tuple[Change, ...]

    def __repr__(self) -> str:
        sides = zip(self.labels, self.changes, strict=True)
        return f"{self.title}\n" + "\n\n".join(f"== {label}: {change!r}" for label, change in sides)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        width = 100 / max(1, len(self.changes))
        cells = "".join(
            f'<td style="vertical-align:top;text-align:left;width:{width:.0f}%;overflow-x:auto">'
            f"{diff_html(change, label)}</td>"
            for label, change in zip(self.labels, self.changes, strict=True)
        )
        return (
            f'<div class="agentnb-changes"><p>{html.escape(self.title)}</p>'
            f'<table style="width:100%;table-layout:fixed"><tr>{cells}</tr></table></div>'
        )


def changes_shown(
    store: HistoryStore, local_ids: Sequence[str], labels: Mapping[str, str]
) -> dict[str, str] | None:
    """The changes runs ``local_ids`` made, side by side, as a display bundle (each named
    by ``labels``' arm); None when none of them kept one."""
    found = [(i, change) for i in local_ids if (change := kept_change(store, i)) is not None]
    if not found:
        return None
    shown = ChangesSideBySide(
        "the change each run made" if len(found) > 1 else "the change this run made",
        tuple(labels.get(i, i) for i, _ in found),
        tuple(change for _, change in found),
    )
    return {"text/html": shown._repr_html_(), "text/plain": repr(shown)}
