"""An experiment's grid and comparison as text and HTML, handed plain values: the answers as a
reader sees them (no markdown syntax), scores formatted (✓ / ✗, numbers as a summary shows
them, ``—`` for a missing one), every line of the text within 80 columns, and the HTML kept
from the notebook's MathJax and within its cell."""

from __future__ import annotations

import html
import math
import re

from agentnb._display.safe_markdown import NO_MATH
from agentnb.evals import Comparisons
from agentnb.evals._views import (
    ExperimentComparison,
    ExperimentGrid,
    GridCell,
    GridRow,
)

QUESTION = (
    "Compare NVDA, AMD and INTC over the last five years: revenue growth, gross margins, "
    "data-centre share and what analysts expect for the next two quarters, with sources"
)
ANSWER = (
    "### Demo quotes\n\n| Ticker | Price | Week ago |\n|:--|--:|--:|\n"
    "| NVDA | $875.40 | $855.60 |\n\n**NVDA** trades at `$875.40`, up 2.31% on the week."
)
ERROR = "ValueError: cannot grade MSFT: the reference answer is missing from the dataset"


def grid() -> ExperimentGrid:
    cell = GridCell(
        "completed",
        ANSWER,
        {"names_ticker": True, "quality": 0.26241234567, "label": "long", "gone": math.nan},
        {"explodes": ERROR},
    )
    cells = [cell, GridCell("failed", None, {"names_ticker": False}), GridCell(None)]
    arms = ["finance_agent", "research_team_with_a_long_name", "writer [temperature=0.2]"]
    return ExperimentGrid(
        "experiment long: 1 questions × 3 arms", arms, [GridRow(QUESTION, "NVDA", cells)]
    )


def test_the_grid_as_text_fits_80_columns_and_reads_formatted() -> None:
    narrow = grid().to_text(width=80)
    assert all(len(line) <= 80 for line in narrow.splitlines()), narrow
    for word in ("$875.40", "$855.60", "ValueError:", "(not run)", "[failed]"):
        assert word in narrow, narrow  # wrapped between words, never inside one
    text = grid().to_text(width=1000)  # each cell on one line
    for syntax in ("###", "|:--", "**", "`"):
        assert syntax not in text, text
    assert "$875.40" in text and "$855.60" in text
    assert "names_ticker ✓" in text and "names_ticker ✗" in text
    assert "quality 0.2624" in text and "0.26241234567" not in text
    assert "gone —" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "explodes failed: ValueError" in text
    assert "(not run)" in text and "[failed]" in text


def test_the_grid_as_html_fits_its_cell_and_keeps_dollars() -> None:
    html = grid().to_html()
    assert NO_MATH in html  # MathJax would typeset "$875.40 | $855.60" as math
    assert "table-layout:fixed;width:100%" in html  # the columns share the cell's width
    assert "###" not in html and "|:--" not in html and "**" not in html
    assert "$875.40" in html and "✓" in html and "✗" in html


def test_a_comparison_reads_formatted() -> None:
    comparison = ExperimentComparison(
        experiment="long",
        a="finance_agent",
        b="writer",
        score="quality",
        questions=[("nvda", QUESTION, 0.2, 0.9), ("msft", "How is MSFT doing?", 0.3, 0.3)],
        wins=0,
        ties=1,
        losses=1,
        mean_difference=-0.35,
        interval=(-0.7, 0.0),
        confidence=0.95,
        cost_ratio=None,
        latency_ratio=1.0812345,
    )
    text = comparison.to_text()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "-0.350 (95% interval -0.700 to +0.000)" in text  # a null result keeps its digits
    assert (
        re.search(r"^cost ratio \(A ÷ B, total\) +unknown$", text, re.MULTILINE) and "1.08×" in text
    )
    assert NO_MATH in comparison._repr_html_()


def test_a_comparison_on_a_bool_score_reads_its_difference_as_a_share() -> None:
    """A bool score's mean is the share of runs scored True, shown as a percent as
    ``summary()`` shows it; so is the difference of two arms' shares."""
    comparison = ExperimentComparison(
        experiment="ab",
        a="finance_agent",
        b="echo",
        score="names_ticker",
        questions=[("nvda", "NVDA?", 1.0, 0.0), ("aapl", "AAPL?", 1.0, 1.0), ("x", "X?", 0, 0)],
        wins=1,
        ties=2,
        losses=0,
        mean_difference=1 / 3,
        interval=(0.0, 2 / 3),
        confidence=0.95,
        cost_ratio=None,
        latency_ratio=None,
        share=True,
    )
    for shown in (comparison.to_text(), comparison._repr_html_()):
        assert "+33.3% (95% interval +0.0% to +66.7%)" in shown, shown
        assert "0.333" not in shown and "0.667" not in shown, shown


def test_a_hostile_answer_and_score_show_every_character_in_each_form() -> None:
    """Bidi overrides and line breaks a server sent are written ``⟨U+XXXX⟩`` in the grid's
    HTML, its text and what its view is sent, so none can reorder or forge what a reader sees."""
    cell = GridCell("completed", "buy\u202eyub", {"note\u2066": "a\nb"}, {"x": "e\u200bf"}, "r1")
    hostile = ExperimentGrid("t", ["arm"], [GridRow("q\u202e?", None, [cell], id="i\u2067")])
    wire = hostile.wire()
    for shown in (hostile.to_html(), hostile.to_text(width=80), str(wire)):
        for raw in ("\u202e", "\u2066", "\u2067", "\u200b"):
            assert raw not in shown, (raw, shown)
        assert "⟨U+202E⟩" in shown, shown
    assert wire["rows"][0]["cells"][0]["id"] == "r1"
    assert "agentnb.show('r1')" in html.unescape(hostile.to_html())  # on the cell's hover


def test_a_comparison_on_one_tied_question_reads_right() -> None:
    """One question, a tie: no win rate of 50%, an interval of no width said to be one, whether
    the difference is significant said, and which arm each ratio divides by named."""
    comparison = ExperimentComparison(
        experiment="e",
        a="finance_agent",
        b="echo",
        score="contains",
        questions=[("nvda", QUESTION, 1.0, 1.0)],
        wins=0,
        ties=1,
        losses=0,
        mean_difference=0.0,
        interval=(0.0, 0.0),
        confidence=0.95,
        cost_ratio=2.0,
        latency_ratio=0.5,
    )
    text = comparison.to_text(100)
    assert "50%" not in text and comparison.win_rate is None
    assert re.search(r"^win rate +— \(no question decided: 1 tie\)$", text, re.MULTILINE), text
    assert "+0.000 (no spread: the same difference on every question)" in text
    assert re.search(r"^significant +no: the 95% interval includes 0$", text, re.MULTILINE), text
    assert text.splitlines()[0] == "e: finance_agent (A) against echo (B) on score.contains"
    assert re.search(r"^cost ratio \(A ÷ B, total\) +2×$", text, re.MULTILINE), text
    assert "latency ratio (A ÷ B, median agent time)" in text
    for shown in (text, comparison._repr_html_()):
        assert "significant" in shown and "÷" in shown


def test_several_scores_show_cost_and_latency_once() -> None:
    """Comparisons on several scores of the same questions: the cost and latency lines, which
    do not depend on the score, are shown in the first block only."""
    blocks = [
        ExperimentComparison(
            experiment="e",
            a="a",
            b="b",
            score=score,
            questions=[("nvda", QUESTION, 1.0, 0.0)],
            wins=1,
            ties=0,
            losses=0,
            mean_difference=1.0,
            interval=(1.0, 1.0),
            confidence=0.95,
            cost_ratio=2.0,
            latency_ratio=0.5,
        )
        for score in ("contains", "words")
    ]
    text = Comparisons(blocks).to_text()
    assert text.count("cost ratio") == 1 and text.count("latency ratio") == 1, text
    assert "win rate" in text.split("\n\n")[1], "each score keeps its own figures"
