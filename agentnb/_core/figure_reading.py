"""A matplotlib figure (or one plot of it, an ``Axes``) as a person reads it: its size, its
title and each plot's, each axis's label and range, what is drawn and the legend. The one
reading of a figure, for what the agent gets in words: an ``@fig`` attachment
(:mod:`agentnb._app.context.context_summary`, which quotes each text redacted and leaves the ranges
out at the ``schema`` level) and a figure a notebook tool returned
(:func:`agentnb._core.client_tools.result_text`).

It reads what the figure holds (titles, labels, limits, its artists' counts) and draws
nothing; matplotlib is never imported here (a value is a figure only where matplotlib is
loaded already)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .secrets import value_of
from .text import counted, excerpt

__all__ = [
    "TEXT_CHARS",
    "axes_reading",
    "figure_reading",
    "is_axes",
    "is_figure",
    "plotted_reading",
    "quoted",
]

SHOWN_PLOTS: Final = 10
"""Plots of a figure read one by one; the rest are counted."""
SHOWN_LABELS: Final = 10
"""Legend entries of a plot named; the rest are left out."""
TEXT_CHARS: Final = 80
"""Characters of a title, an axis label or a legend entry kept."""

Quote = Callable[[str], str]
"""How a reading writes one of the figure's texts (a title, a label): quoted and cut."""

is_figure = value_of("matplotlib.figure", "Figure")
"""Whether a value is a matplotlib ``Figure``."""
is_axes = value_of("matplotlib.axes", "Axes")
"""Whether a value is a matplotlib ``Axes`` (one plot; what ``df.plot()`` returns)."""


def quoted(text: str) -> str:
    """A figure's text as a reading writes it by default: on one line, cut, in quotes."""
    return repr(excerpt(str(text), TEXT_CHARS))


def plotted_reading(value: Any) -> str | None:
    """``value``'s reading if it is a figure or a plot (:func:`figure_reading`,
    :func:`axes_reading`), else None."""
    if is_figure(value):
        return figure_reading(value)
    if is_axes(value):
        return axes_reading(value)
    return None


def figure_reading(fig: Any, *, ranges: bool = True, quote: Quote = quoted) -> str:
    """A Figure as a person reads it: its size in pixels, its title, and each plot's reading
    (:func:`axes_reading`'s, without ``ranges`` where they are not to be given)."""
    width, height = (round(float(v) * float(fig.dpi)) for v in fig.get_size_inches())
    plots = list(fig.axes)
    text = f"matplotlib Figure {width}×{height} px, {counted(len(plots), 'plot')}"
    suptitle = getattr(fig, "get_suptitle", None)  # matplotlib 3.8+
    title = suptitle() if callable(suptitle) else ""
    if title:
        text += f", titled {quote(title)}"
    for number, ax in enumerate(plots[:SHOWN_PLOTS], 1):
        text += f"\nplot {number}: {_plot(ax, ranges, quote)}"
    if len(plots) > SHOWN_PLOTS:
        text += f"\n[{counted(len(plots) - SHOWN_PLOTS, 'more plot')}]"
    return text


def axes_reading(ax: Any, *, ranges: bool = True, quote: Quote = quoted) -> str:
    """One plot (an Axes) as a person reads it: its title, each axis's label and (with
    ``ranges``) range, what is drawn, the legend."""
    return f"matplotlib Axes {_plot(ax, ranges, quote)}"


def _plot(ax: Any, ranges: bool, quote: Quote) -> str:
    lines = [quote(ax.get_title()) if ax.get_title() else "(no title)"]
    for axis, label, limits in (
        ("x", ax.get_xlabel(), ax.get_xlim()),
        ("y", ax.get_ylabel(), ax.get_ylim()),
    ):
        said = f"  {axis}: {quote(label) if label else '(no label)'}"
        if ranges:
            said += f", from {limits[0]:.6g} to {limits[1]:.6g}"
        lines.append(said)
    drawn = [
        counted(len(ax.lines), "line"),
        counted(len(ax.patches), "bar"),
        counted(len(ax.collections), "collection"),
        counted(len(ax.images), "image"),
    ]
    drawn_text = ", ".join(d for d in drawn if not d.startswith("0 ")) or "nothing drawn"
    labels = [label for label in ax.get_legend_handles_labels()[1] if not label.startswith("_")]
    if labels:
        drawn_text += f"; legend: {', '.join(quote(label) for label in labels[:SHOWN_LABELS])}"
    lines.append(f"  {drawn_text}")
    return "\n".join(lines)
