"""Runs side by side (``agentnb.compare``): figures, answers diffed word by word against the
first, tool calls aligned by name and order. One table, drawn as HTML (the answers rendered
as markdown, the marks set inside the words a reader sees, so they never cross a paragraph or
a cell) and as text; everything a server sent is untrusted and passes
:func:`~agentnb._display.static_copy.clean` or the safe markdown renderer on its way out.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._core.extras import require_pandas
from .._core.pricing import usd
from .._core.run import Run, ToolCall
from .._core.text import excerpt, visible
from .run_text import seconds
from .safe_markdown import NO_MATH, markdown_html, parse_markdown
from .static_copy import clean
from .summary_table import text_width
from .table import Cell, Column, Row, Table, in_blocks, table_html, table_text

if TYPE_CHECKING:
    import pandas as pd
    from markdown_it.token import Token

__all__ = ["Comparison", "word_diff"]

ANSWER_CHARS = 20_000
"""Characters of each answer compared and shown (a longer one is cut, and says so)."""
ARGUMENT_CHARS = 80
"""Characters of a tool call's arguments shown in its cell."""
RUN_CHARS = 30
"""A run's column in the text view (two fit beside the labels in 80 columns)."""

_WORDS = re.compile(r"\s+|[^\s]+")
_ANSWER_STYLE = "overflow-x:auto"
"""An answer's wide table or long code line scrolls inside its own cell, never the page,
and never breaks a word or a number in two."""
_MARK_STYLES = {
    "-": "background:rgba(255,80,80,.28);text-decoration:line-through",
    "+": "background:rgba(60,200,90,.28);text-decoration:underline",
}
"""Translucent, so the marks read on a light and a dark notebook theme alike."""
_MARKS = {"-": ("\ue000", "\ue001", "del"), "+": ("\ue002", "\ue003", "ins")}
"""Private-use characters set around the marked words in their token, then swapped for the
tags in the rendered HTML (an answer's own are dropped first)."""
_SENTINELS = re.compile("[\ue000-\ue003]")


def run_label(run: Run) -> str:
    """``agent · 1a2b3c4d``: how a run is named in a comparison."""
    return f"{run.agent or 'run'} · {run.local_id[:8]}"


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``after`` against ``before`` as pieces ``(kind, text)``, kind ``=`` (both), ``-``
    (only in ``before``) or ``+`` (only in ``after``), compared word by word. A space that
    only separates two changes joins them (``up 2%`` → ``down 3%``, not word by word)."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    pieces: list[tuple[str, str]] = []
    for same, i1, i2, j1, j2 in _changes(old, new):
        if same:
            pieces.append(("=", "".join(new[j1:j2])))
            continue
        if i2 > i1:
            pieces.append(("-", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(("+", "".join(new[j1:j2])))
    return pieces


def _changes(old: list[str], new: list[str]) -> list[tuple[bool, int, int, int, int]]:
    """``old`` → ``new`` as runs ``(same, i1, i2, j1, j2)``: words both have, or a change
    (``old[i1:i2]`` replaced by ``new[j1:j2]``), a space between two changes joined into one."""
    runs: list[tuple[bool, int, int, int, int]] = []
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        joins = 0 < index < len(opcodes) - 1 and not "".join(old[i1:i2]).strip()
        same = op == "equal" and not joins
        if runs and not same and not runs[-1][0]:
            _, i0, _, j0, _ = runs.pop()
            i1, j1 = i0, j0
        runs.append((same, i1, i2, j1, j2))
    return runs


def _marked_html(before: list[Token], after: list[Token]) -> str:
    """``after`` rendered, its words that ``before`` lacks marked added and the words of
    ``before`` it lacks set, struck through, where they were."""
    old = _seen_words(before)
    old_words = [word for _, word in old]
    seen = _seen_words(after)
    new_words = [word for _, word in seen]
    marked: dict[int, list[tuple[str, str]]] = {id(token): [] for token, _ in seen}
    orphans: list[tuple[str, str]] = []
    for same, i1, i2, j1, j2 in _changes(old_words, new_words):
        if i2 > i1 and not same:
            removed = ("-", _spaced(old[i1:i2]))
            host = seen[j1][0] if j1 < len(seen) else seen[-1][0] if seen else None
            (marked[id(host)] if host is not None else orphans).append(removed)
        for token, word in seen[j1:j2]:
            marked[id(token)].append(("=" if same else "+", word))
    for token, _ in seen:
        pieces = marked.pop(id(token), None)
        if pieces is not None:
            token.content = "".join(_sentinel(kind, text) for kind, text in _joined(pieces))
    rendered = markdown_html(after)
    if orphans:
        rendered = f"<p>{''.join(_sentinel(kind, text) for kind, text in orphans)}</p>{rendered}"
    for kind, (opening, closing, tag) in _MARKS.items():
        rendered = rendered.replace(opening, f'<{tag} style="{_MARK_STYLES[kind]}">')
        rendered = rendered.replace(closing, f"</{tag}>")
    return rendered


def seen_text(markdown: str) -> str:
    """The text a reader sees of rendered ``markdown`` (its words, never its syntax: no
    ``###``, ``|:--|`` or ``**``), on one line."""
    return " ".join(_spaced(_seen_words(parse_markdown(markdown))).split())


def _seen_words(tokens: list[Token]) -> list[tuple[Token, str]]:
    """The words a reader sees in rendered markdown, each with the token holding it: text and
    inline code of every inline run, and code blocks (never the markdown's syntax)."""
    seen: list[Token] = []
    for token in tokens:
        if token.type == "inline":
            seen += [c for c in token.children or [] if c.type in ("text", "code_inline")]
        elif token.type in ("fence", "code_block"):
            seen.append(token)
    return [(token, word) for token in seen for word in _WORDS.findall(token.content)]


def _spaced(words: list[tuple[Token, str]]) -> str:
    """Words as one text, a space between two from different tokens (cells, paragraphs)."""
    text = ""
    for index, (token, word) in enumerate(words):
        apart = index and token is not words[index - 1][0]
        text += " " + word if apart and text[-1:].strip() and word.strip() else word
    return text


def _joined(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pieces with each run of one kind made one piece."""
    out: list[tuple[str, str]] = []
    for kind, text in pieces:
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def _sentinel(kind: str, text: str) -> str:
    if kind == "=":
        return text
    opening, closing, _ = _MARKS[kind]
    return f"{opening}{text}{closing}"


def _similarity(before: str, after: str) -> float:
    """How much of the two answers' words agree, 0 to 1 (difflib's ratio over words)."""
    return difflib.SequenceMatcher(
        None, _WORDS.findall(before), _WORDS.findall(after), autojunk=False
    ).ratio()


def aligned_calls(runs: Sequence[Run]) -> list[tuple[str, list[ToolCall | None]]]:
    """Rows of tool calls, one per (name, k-th call of that name): each run's call there or
    None, rows in the order the calls first appear (run by run)."""
    rows: dict[tuple[str, int], list[ToolCall | None]] = {}
    for index, run in enumerate(runs):
        seen: dict[str, int] = {}
        for call in run.tool_calls:
            k = seen.get(call.name, 0)
            seen[call.name] = k + 1
            row = rows.setdefault((call.name, k), [None] * len(runs))
            row[index] = call
    return [(name, row) for (name, _), row in rows.items()]


class Comparison:
    """Two or more runs side by side (``agentnb.compare(a, b, ...)``): answers diffed word
    by word against the first, tool calls aligned, tokens, cost, agent time and status.
    ``runs``: the runs compared, each a :class:`~agentnb.Run` (a past one as ``show()``
    opens it)."""

    def __init__(self, runs: Sequence[Run]) -> None:
        if len(runs) < 2:
            raise ValueError(f"compare needs two or more runs, got {len(runs)}")
        self.runs: tuple[Run, ...] = tuple(runs)

    def __len__(self) -> int:
        return len(self.runs)

    # ---- the figures -----------------------------------------------------------------------
    def _answers(self) -> list[str]:
        return [run.text[:ANSWER_CHARS] for run in self.runs]

    def _figures(self, run: Run) -> list[tuple[str, str]]:
        prompt, completion, _ = _counts(run).values()
        tokens = (
            f"{prompt if prompt is not None else '?'} in · "
            f"{completion if completion is not None else '?'} out"
            if prompt is not None or completion is not None
            else ""
        )
        return [
            ("status", run.status),
            ("model", run.model or ""),
            ("agent time", seconds(_agent_time(run))),
            ("tokens", tokens),
            ("cost", usd(run.cost) if run.cost is not None else "unknown"),
            ("tool calls", str(len(run.tool_calls))),
        ]

    def to_pandas(self) -> pd.DataFrame:
        """One row per run: its ids, agent, model, status, tokens, cost, agent time, tool
        calls, answer, and ``similarity`` (0 to 1) of its answer's words to the first run's."""
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the frame is the only thing that needs it

        answers = self._answers()
        rows: list[dict[str, Any]] = [
            {
                "local_id": run.local_id,
                "agent": run.agent or None,
                "model": run.model,
                "status": run.status,
                **_counts(run),
                "cost_usd": run.cost,
                "duration": _agent_time(run),
                "tool_calls": len(run.tool_calls),
                "tool_names": [call.name for call in run.tool_calls],
                "message": run.message,
                "answer": run.text,
                "similarity": _similarity(answers[0], answer),
                "error": _error(run),
            }
            for run, answer in zip(self.runs, answers, strict=True)
        ]
        frame = pd.DataFrame(rows)
        for name in ("prompt_tokens", "completion_tokens", "total_tokens", "tool_calls"):
            frame[name] = frame[name].astype("Int64")
        for name in ("cost_usd", "duration", "similarity"):
            frame[name] = frame[name].astype("Float64")
        return frame

    def _table(self, answers: list[Cell] | None, chars: int = 0) -> Table:
        """The runs' figures, messages, ``answers`` (when given), errors and aligned tool
        calls: a row each, a column per run (``chars`` wide in text)."""
        figures = [self._figures(run) for run in self.runs]
        rows: list[Row] = [
            [name, *(figure[i][1] for figure in figures)] for i, (name, _) in enumerate(figures[0])
        ]
        rows.append(["message", *(excerpt(run.message, 300) for run in self.runs)])
        if answers is not None:
            rows.append(["answer", *answers])
        if any(_error(run) for run in self.runs):
            rows.append(["error", *(_error(run) or "" for run in self.runs)])
        rows += [[f"→ {name}", *map(_call_cell, row)] for name, row in aligned_calls(self.runs)]
        widest = max(len(str(row[0])) for row in rows)
        label = Column("", head=True, width=f"{widest * 0.62 + 1.4:.1f}em")
        columns = [label, *(Column(run_label(run), wrap=True, chars=chars) for run in self.runs)]
        return Table(columns, rows, name=f"agentnb-compare {NO_MATH}", fixed=True)

    # ---- HTML --------------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """The view as HTML with inline styles and no script (the same live and saved)."""
        return table_html(self._table(self._answers_html()))

    def _answers_html(self) -> list[Cell]:
        answers = [_SENTINELS.sub("", clean(answer)) for answer in self._answers()]
        first = parse_markdown(answers[0])
        marked = [_marked_html(first, parse_markdown(answer)) for answer in answers[1:]]
        return [
            Cell(html=f'<div style="{_ANSWER_STYLE}">{cell}{self._cut(index)}</div>')
            for index, cell in enumerate([markdown_html(first), *marked])
        ]

    def _cut(self, index: int) -> str:
        size = len(self.runs[index].text)
        return (
            f" <em>(cut at {ANSWER_CHARS:,} of {size:,} characters)</em>"
            if size > ANSWER_CHARS
            else ""
        )

    # ---- text ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self, width: int | None = None) -> str:
        """The view as text fitted to ``width`` (default: the terminal's, else 80): the
        figures and tool calls side by side (as many runs a block as fit), then each answer
        (``[-removed-]{+added+}`` against the first)."""
        fit = width or text_width()
        table = self._table(None, chars=RUN_CHARS)
        table = replace(table, title=f"Comparison of {len(self.runs)} runs")
        lines = ["\n\n".join(table_text(block, fit) for block in in_blocks(table, fit))]
        answers = self._answers()
        for index, run in enumerate(self.runs):
            if index == 0:
                text = clean(answers[0])
            else:
                text = "".join(
                    clean(t) if k == "=" else f"[-{clean(t)}-]" if k == "-" else f"{{+{clean(t)}+}}"
                    for k, t in word_diff(answers[0], answers[index])
                )
            title = f"── answer of {clean(run_label(run))}" + (" (diff)" if index else "")
            lines += ["", title, text]
        return "\n".join(lines)


def _counts(run: Run) -> dict[str, int | None]:
    usage = run.usage
    return {
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
    }


def _agent_time(run: Run) -> float | None:
    return run.duration if run.done else None


def _error(run: Run) -> str | None:
    return run.error.message if run.error is not None else None


def _call_cell(call: ToolCall | None) -> Cell:
    """A tool call's status, time and arguments (on a line of their own in HTML)."""
    if call is None:
        return Cell("—")
    status = call.status + (f" · {seconds(call.duration)}" if call.duration is not None else "")
    given = call.arguments if call.arguments is not None else call.arguments_text
    arguments = excerpt(given, ARGUMENT_CHARS)
    markup = f"{html.escape(visible(status))}<br><code>{html.escape(visible(arguments))}</code>"
    return Cell(f"{status} {arguments}", html=markup)
