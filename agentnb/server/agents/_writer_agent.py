"""The ``writer`` demo agent: a long markdown document (headings, lists, code, a table), as
many sections as its ``paragraphs`` option asks."""

from __future__ import annotations

from collections.abc import Iterator

from .._numbers import ascii_int
from .._steps import Finish, Reasoning, Step, Text
from ._agent_input import AgentInput, DemoAgent, InputProblem

__all__ = ["WriterAgent"]

MAX_PARAGRAPHS = 200
DEFAULT_PARAGRAPHS = 5


class WriterAgent(DemoAgent):
    name = "writer"
    model = "claude-haiku-4-5"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Writes a long markdown document (headings, lists, code, a table)."

    def check(self, request: AgentInput) -> None:
        _paragraphs(request)

    def steps(self, request: AgentInput) -> Iterator[Step]:
        count = _paragraphs(request)
        yield Reasoning(f"Outline: an introduction, {count} sections and a summary table.")
        document = _document(request.message, count)
        yield Text(document)
        followups = (
            ("Shorten it to one page.", "Add a section on testing.") if request.followups else ()
        )
        yield Finish(final_output=document, followups=followups)


def _paragraphs(request: AgentInput) -> int:
    raw = request.options.get("paragraphs", str(DEFAULT_PARAGRAPHS))
    count = ascii_int(raw)
    if count is None:
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        raise InputProblem("paragraphs", f"paragraphs must be an integer, got {shown!r}")
    if not 1 <= count <= MAX_PARAGRAPHS:
        raise InputProblem("paragraphs", f"paragraphs must be between 1 and {MAX_PARAGRAPHS}")
    return count


_TOPICS = (
    ("Why stream", "A streamed answer shows progress at once, so a reader can stop early."),
    ("Events", "Every frame becomes a typed event: reasoning, text, tool calls and the end."),
    ("Resuming", "Event ids let a client reconnect and continue where the cut happened."),
    ("Tools", "Tool calls show their arguments and their results as cards in the cell."),
    ("Usage", "Token counts and timings are kept for every run, ready for a table."),
)


def _document(subject: str, count: int) -> str:
    title = subject.strip().splitlines()[0][:80] if subject.strip() else "A streamed document"
    parts = [f"# {title}", "", "This document was written by agentnb's demo `writer` agent.", ""]
    for number in range(1, count + 1):
        parts += _section(number)
    parts += [
        "## Summary",
        "",
        "| Section | Topic |",
        "|--:|:--|",
        *(f"| {n} | {_TOPICS[(n - 1) % len(_TOPICS)][0]} |" for n in range(1, count + 1)),
        "",
    ]
    return "\n".join(parts)


def _section(number: int) -> list[str]:
    topic, sentence = _TOPICS[(number - 1) % len(_TOPICS)]
    lines = [f"## {number}. {topic}", "", f"{sentence} Section {number} explains it briefly.", ""]
    if number % 2 == 1:
        lines += ["- first point", "- second point", "  - a nested detail", ""]
    else:
        lines += ["```python", f"def section_{number}() -> int:", f"    return {number}", "```", ""]
    if number % 3 == 0:
        lines += ["1. read the frame", "2. translate it", "3. show it", ""]
    return lines
