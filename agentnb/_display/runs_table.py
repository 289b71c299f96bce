"""Runs in a notebook view whose rows stay in the kernel: `RunsTable` (a history to browse,
one page at a time) and `RunsGrid` (an experiment's question × arm grid). Each is displayed
as two outputs, the live view then its static form (what places without the widget show),
and its Open and Compare show runs in outputs below it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import anywidget
import traitlets
from IPython.display import display

from .._core.exceptions import AgentNBError
from .display_slot import DisplaySlot
from .verdicts import watch_verdicts
from .widget import STATIC, view_output

__all__ = [
    "EMPTY_OUTPUT",
    "RunsGrid",
    "RunsTable",
    "Shown",
]

logger = logging.getLogger("agentnb.display")

Shown = tuple[dict[str, Any], ...]
"""What Open or Compare shows below the table: display bundles, as many for each (a chat
cell's view and its static copy; a comparison and an empty output; an experiment grid's:
then what its grid adds beside the runs, ``ShownGrid.beside``)."""
EMPTY_OUTPUT: dict[str, Any] = {"text/plain": ""}


class TableSource(Protocol):
    """Where a view of runs reads its rows (a :class:`RunsTable`) and what its buttons show."""

    def columns(self) -> list[dict[str, Any]]:
        """Every column's head: ``{"title", "about", "type", "right"}``."""
        ...

    def page(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The page a view asks for (see js/src/runs_table.js); an `AgentNBError` says what
        is wrong with the request."""
        ...

    def selected(self, local_ids: Sequence[str]) -> Any:
        """These runs, as the source's callers read them (a ``RunHistory``)."""
        ...

    def open(self, local_ids: Sequence[str]) -> Shown:
        """One run, shown to read."""
        ...

    def compare(self, local_ids: Sequence[str]) -> Shown:
        """Two or more runs side by side."""
        ...

    def verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        """A person's verdict on one run (thumbs up: True), with a note, kept as its score
        ``verdict``; an `AgentNBError` says why it could not be."""
        ...

    def static(self) -> dict[str, Any]:
        """The static view's display bundle (HTML and text), for places without the view."""
        ...


class RunsView(anywidget.AnyWidget):
    """Runs shown in a view whose **Open** and **Compare** show them below it, in outputs
    added at the first click and replaced at the next."""

    _esm = STATIC / "runs_table.js"
    _css = STATIC / "runs_table.css"

    def __init__(self, source: TableSource, **traits: Any) -> None:
        self._source = source
        super().__init__(**traits)
        self._below: list[DisplaySlot] = []
        self._context: contextvars.Context | None = None
        self.on_msg(self._on_view_message)

    def _on_view_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, Mapping) and content.get("kind") in ("open", "compare"):
            self._show_below(content["kind"], content.get("ids"))
        elif isinstance(content, Mapping):
            self._on_request(content)

    def _on_request(self, content: Mapping[str, Any]) -> None:
        """A message of the view other than Open and Compare."""

    def _show_below(self, kind: str, ids: Any) -> None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            self._notice("the view sent no run ids", error=True)
            return
        try:
            shown = self._source.open(ids) if kind == "open" else self._source.compare(ids)
        except AgentNBError as exc:
            self._notice(str(exc), error=True)
            return
        self._fill_below(shown)
        self._notice("Opened below." if kind == "open" else "Compared below.")

    def _fill_below(self, shown: Shown) -> None:
        if self._below:
            for slot, bundle in zip(self._below, shown, strict=True):
                slot.update(bundle)
            return
        if self._context is None:
            logger.warning("agentnb: a table not displayed by publish() has nowhere to show runs")
            return
        # New outputs of the cell that displayed the table: its parent header is in the
        # context captured then (the kernel is answering the view's message now).
        for bundle in shown:
            added = self._context.copy().run(DisplaySlot.display, bundle)
            if added is not None:
                self._below.append(added)

    def _notice(self, text: str, *, error: bool = False) -> None:
        self.send({"kind": "notice", "text": text, "error": error})

    def _ipython_display_(self) -> None:
        self.publish()

    def publish(self) -> None:
        """Display the live view, then the static form, in the cell executing now; the runs
        Open and Compare show go below them."""
        display(view_output(self), raw=True)  # type: ignore[no-untyped-call]
        display(self._source.static(), raw=True)  # type: ignore[no-untyped-call]
        self._context = contextvars.copy_context()


class RunsGrid(RunsView):
    """An experiment's question × arm grid (:meth:`ExperimentGrid.wire
    <agentnb._display.experiment_views.ExperimentGrid.wire>`): **Open** on a cell shows its
    run, **Compare** on a question its runs side by side."""

    grid = traitlets.Dict().tag(sync=True)


class RunsTable(RunsView):
    """Runs as a table to browse: click a header to sort (again: the other way, a third
    time: back to the table's order), type in a column's box to filter it, in the search box
    to search, ``key=value`` in the metadata box to keep the runs whose metadata has it, click
    rows to select them, **Open** one or **Compare** several below the table; ✓ / ✗ on a
    row (with its note) keeps a person's verdict on that run as its score ``verdict``; the
    pager steps through the rows a page at a time.

    :attr:`selected` gives the selected runs. ``agentnb.runs()`` as a cell's last line (and
    ``%agent_runs``) shows one; :func:`agentnb.browse` returns one."""

    title = traitlets.Unicode().tag(sync=True)
    columns: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """Every column's head; the page names the ones it shows."""
    page = traitlets.Dict().tag(sync=True)
    """The page shown: ``{"id", "rows", "total", "offset", "columns", "query", "error",
    "verdicts"}`` (``verdicts``: each shown run's current verdict, ``{id: {"value",
    "comment"}}``)."""
    selection = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The ids (``local_id``) of the selected runs, set by the view."""

    def __init__(self, source: TableSource, *, title: str = "") -> None:
        first = {"id": 0, "query": None, "error": None, **source.page({})}
        super().__init__(source, title=title, columns=source.columns(), page=first)
        watch_verdicts(self)

    @property
    def selected(self) -> Any:
        """The selected runs (a ``RunHistory``), in the order they were selected."""
        return self._source.selected(list(self.selection))

    # ---- the view's requests -------------------------------------------------------------
    def _on_request(self, content: Mapping[str, Any]) -> None:
        if content.get("kind") == "page":
            self._answer_page(content)
        elif content.get("kind") == "verdict":
            self._keep_verdict(content)

    def _keep_verdict(self, content: Mapping[str, Any]) -> None:
        """A row's ✓ / ✗ (and its note): kept, then shown on the page as kept."""
        local_id, value, comment = content.get("id"), content.get("value"), content.get("comment")
        if not isinstance(local_id, str) or not isinstance(value, bool):
            self._notice("the view sent no run or no verdict", error=True)
            return
        note = comment.strip() or None if isinstance(comment, str) else None
        try:
            self._source.verdict(local_id, value, note)
        except AgentNBError as exc:
            self._notice(f"Could not keep the verdict: {exc}", error=True)
            return
        self._notice("Verdict kept: good" if value else "Verdict kept: bad")

    def show_verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        """A verdict kept by any view (or code): shown if its run is on the page."""
        if any(row.get("id") == local_id for row in self.page.get("rows", ())):
            kept = {local_id: {"value": value, "comment": comment}}
            self.page = {**self.page, "verdicts": {**self.page.get("verdicts", {}), **kept}}

    def _answer_page(self, content: Mapping[str, Any]) -> None:
        request = content.get("query")
        asked = content.get("id")
        answer: dict[str, Any] = {"id": asked if isinstance(asked, int) else 0}
        if not isinstance(request, Mapping):
            self.page = {**self.page, **answer, "error": "the view asked for no page"}
            return
        try:
            answer |= {"query": dict(request), "error": None, **self._source.page(request)}
        except AgentNBError as exc:
            answer = {**self.page, **answer, "error": str(exc)}
        self.page = answer
