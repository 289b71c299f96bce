"""The notebook this kernel's page shows, as an agent works in it: its cells listed, a cell
added, edited or run, each through the run's approval gate.

The page is JupyterLab 4 or Notebook 7 with agentnb's prebuilt extension (``labextension/``):
it answers a comm the kernel opens (:data:`TARGET`), sends the notebook's cells (id, type,
source, execution count, a bounded text of each output) when they change, and applies what it
is asked on the notebook's own model, so a person sees the cell appear and run, and
undoes it as their own edit. Where no such page answers (VS Code, the classic notebook,
nbclient, a terminal) a tool says so and nothing is changed.

A cell is named by its id and the hash of its source as the agent read it: an edit or a run
whose hash no longer matches (a person typed in the cell) is refused before anyone
is asked; once approved, the page applies it only if the cell's source is still the one the
card showed, compared on the model right before it acts. What the agent reads back (cells,
what a run printed, returned, raised or displayed) passes the context tools' redaction and
bounds (:func:`~.context_tools.read_safely`) inside the run's data block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import difflib
import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from ..._core.client_tools import ClientTool, tool
from ..._core.exceptions import ConfigurationError
from ..._core.run import Run
from ..._core.user_code import call_abandoned, calling_run
from ..._display.environment import user_shell
from ..._history._records import RunRecord
from .context_summary import ContextSettings, Level, counted, data_block, new_nonce
from .context_tools import Kernel, denied_in, read_safely, refusal_of, running_kernel, source_at

__all__ = ["CELL_TIME_LIMIT", "MAX_ADDED", "NO_PAGE", "TARGET", "notebook_tools", "undo_notebook"]

TARGET: Final = "agentnb.notebook"
"""The comm target agentnb's JupyterLab / Notebook 7 extension registers on every kernel."""
PAGE_WAIT: Final = 5.0
"""Seconds a tool waits for the page's first list of cells."""
EDIT_WAIT: Final = 10.0
"""Seconds an add or an edit waits for the page to apply it."""
CELL_TIME_LIMIT: Final = 300.0
"""Seconds an agent's cell may run: past them the kernel is interrupted and the agent told."""
MAX_ADDED: Final = 50
"""Cells one set of notebook tools adds at most."""
MAX_CELLS: Final = 2_000
"""Cells of the page's list that are kept (the rest are counted)."""
NO_PAGE: Final = (
    "no JupyterLab 4 or Notebook 7 page with agentnb's extension shows this kernel (VS Code, "
    "the classic notebook, nbclient and a terminal cannot be edited from the kernel): the "
    "notebook was not changed"
)

CellType = Literal["code", "markdown"]


def source_hash(source: str) -> str:
    """What names a cell's source as the agent read it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One cell as the page sent it (bounded: outputs are text, cut on the page)."""

    id: str
    type: str
    source: str
    execution_count: int | None
    outputs: tuple[str, ...]
    by_agent: bool


def _cell(item: Any) -> Cell | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    count, outputs = item.get("execution_count"), item.get("outputs")
    return Cell(
        id=item["id"][:100],
        type=str(item.get("type", ""))[:20],
        source=str(item.get("source", "")),
        execution_count=count if isinstance(count, int) else None,
        outputs=tuple(str(o) for o in outputs[:50]) if isinstance(outputs, list) else (),
        by_agent=bool(item.get("agent")),
    )


class LivePage:
    """The comm to the page that shows this kernel's notebook: its cells as last sent, and
    requests the page answers (each with an id minted here, one answer each)."""

    def __init__(self) -> None:
        self.cells: tuple[Cell, ...] = ()
        self.path = ""
        self._heard = threading.Event()
        self._answers: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        from comm import create_comm  # a kernel's: a command line loads none of it

        self._comm = create_comm(target_name=TARGET, data={"op": "hello"})
        self._comm.on_msg(self._received)

    def _received(self, message: dict[str, Any]) -> None:
        data = message.get("content", {}).get("data")
        if not isinstance(data, dict):
            return
        listed = data.get("cells")
        if isinstance(listed, list):
            self.cells = tuple(c for c in map(_cell, listed[:MAX_CELLS]) if c is not None)
            self.path = str(data.get("path", ""))[:500]
            self._heard.set()
        waiting = self._answers.pop(str(data.get("id")), None)
        if data.get("op") == "done" and waiting is not None and not waiting.done():
            if data.get("error"):  # the page refused: the asker's ValueError
                waiting.set_exception(ValueError(str(data["error"])[:1_000]))
            else:
                waiting.set_result(data)

    def current(self) -> tuple[Cell, ...]:
        """The cells as the page last sent them; a ``ValueError`` when no page answers."""
        if not self._heard.wait(PAGE_WAIT):
            raise ValueError(NO_PAGE)
        return self.cells

    def find(self, cell_id: str, seen_hash: str | None = None) -> Cell:
        """The cell ``cell_id`` of this notebook, whose source still hashes to ``seen_hash``
        when given; a ``ValueError`` saying why not."""
        for cell in self.current():
            if cell.id == cell_id:
                if seen_hash is not None and source_hash(cell.source) != seen_hash:
                    raise ValueError(
                        f"cell {cell_id} changed since you read it (its hash is now "
                        f"{source_hash(cell.source)}): read it again with notebook_list_cells"
                    )
                return cell
        raise ValueError(f"this notebook ({self.path or 'unsaved'}) has no cell {cell_id!r}")

    def send(self, op: str, **fields: Any) -> tuple[str, concurrent.futures.Future[dict[str, Any]]]:
        """Ask the page ``op`` for the calling run (``by``, its ``local_id``; the page keeps
        what it changed for it, for an undo): the request's id and where its answer comes."""
        self.current()
        request_id = secrets.token_hex(8)
        answer: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._answers[request_id] = answer
        self._comm.send({"op": op, "id": request_id, "by": calling_run.get() or "no run", **fields})
        return request_id, answer

    def ask(self, op: str, wait: float, **fields: Any) -> dict[str, Any]:
        """The page's answer to ``op``; a ``ValueError`` when it refuses or does not answer."""
        request_id, answer = self.send(op, **fields)
        try:
            return answer.result(wait)
        except concurrent.futures.TimeoutError:
            self._answers.pop(request_id, None)  # an answer pops it
            raise ValueError(f"the page did not answer within {wait:g} s ({op})") from None

    def run(self, cell: Cell) -> dict[str, Any]:
        """The page's answer once it ran ``cell``: the kernel is interrupted when the cell
        passes :data:`CELL_TIME_LIMIT` or the call is given up (its run's time ran out, or
        the chat cell's Stop): watched here, off the kernel's loop, which the cell holds."""
        request_id, answer = self.send("run", cell_id=cell.id, expected=cell.source)
        deadline, interrupted = time.monotonic() + CELL_TIME_LIMIT, False
        while not concurrent.futures.wait([answer], timeout=0.1).done:  # the answer pops it
            if not interrupted and (time.monotonic() > deadline or call_abandoned()):
                self._comm.send({"op": "interrupt", "id": request_id})
                interrupted = True
        reply = answer.result()
        return {**reply, "status": "interrupted"} if interrupted else reply


@functools.cache
def _page() -> LivePage:
    """The kernel's one comm to its page, opened on first use (from a cell: the page answers
    once the cell is done)."""
    return LivePage()


def notebook_tools() -> tuple[ClientTool, ...]:
    """The notebook tools over the page that shows this kernel, for a client's ``tools=``:
    ``notebook_list_cells`` (reads, as the context tools do) and ``notebook_add_cell``,
    ``notebook_edit_cell`` and ``notebook_run_cell``, each asking
    first through the run's approval gate, its card showing the code, the diff or what will
    run. A :class:`ConfigurationError` outside a notebook's kernel."""
    kernel = running_kernel()
    if kernel is None or getattr(user_shell(), "kernel", None) is None:
        raise ConfigurationError(f"the notebook tools edit a notebook's cells: {NO_PAGE}")
    return page_tools(_page(), kernel, new_nonce())


async def undo_notebook(run: Run | RunRecord | str) -> list[str]:
    """Take back what the notebook tools did for ``run`` (a run, its record or its
    ``local_id``) in this kernel's notebook since its page opened: a cell it added is
    removed, a cell it edited gets its source back, each only where the cell is still as
    the run left it. What was undone, or a ``ValueError`` naming each cell not undone (a
    person changed or deleted it since; the rest is undone). Awaited in a cell
    (``await agentnb.undo_notebook(run)``), so the kernel hears the page meanwhile."""
    local_id = run if isinstance(run, str) else str(run.local_id)
    said = await asyncio.to_thread(_page().ask, "undo", EDIT_WAIT, run=local_id)
    return [str(undone) for undone in said.get("undone", [])]


def page_tools(page: LivePage, kernel: Kernel, nonce: str) -> tuple[ClientTool, ...]:
    """The notebook tools over ``page``; the cells they add carry the ``local_id`` of the
    run that added them in their metadata (``agentnb.added_by``)."""
    added: list[dict[str, Any]] = []

    def read(text: Callable[[ContextSettings, tuple[str, ...]], str]) -> str:
        return data_block(read_safely(kernel, text), nonce)

    def notebook_list_cells() -> str:
        """List the notebook's cells: each one's id, type and source hash (which an edit
        or a run names), its source and a summary of its outputs."""
        cells = page.current()
        return read(lambda settings, found: _listing(cells, settings))

    def notebook_add_cell(source: str, cell_type: CellType = "code", after: str = "") -> str:
        """Add a cell to the notebook (it is not run).

        :param source: the new cell's source
        :param cell_type: code or markdown
        :param after: the id of the cell it goes after; empty: at the end
        """
        if len(added) >= MAX_ADDED:
            raise ValueError(f"these tools added {MAX_ADDED} cells already, the most they add")
        added.append(page.ask("add", EDIT_WAIT, source=source, type=cell_type, after=after))
        return f"added cell {added[-1].get('cell_id')} (source hash {source_hash(source)})"

    def notebook_edit_cell(cell_id: str, source: str, source_hash: str) -> str:
        """Replace a cell's source (it is not run).

        :param cell_id: the cell's id
        :param source: its new source
        :param source_hash: the hash of its source as you read it
        """
        cell = page.find(cell_id, source_hash)
        page.ask("edit", EDIT_WAIT, cell_id=cell_id, expected=cell.source, source=source)
        said = f"edited cell {cell_id} (source hash {hash_of(source)})"
        return read(lambda settings, found: _with_diff(said, cell.source, source, settings.level))

    def notebook_run_cell(cell_id: str, source_hash: str) -> str:
        """Run a cell as a person runs it, and read what it printed, returned, raised and
        displayed.

        :param cell_id: the cell's id
        :param source_hash: the hash of its source as you read it
        """
        cell = page.find(cell_id, source_hash)
        reply = page.run(cell)
        return read(lambda settings, found: _ran(cell, reply, settings.level))

    reads = replace(tool(notebook_list_cells, time_limit=PAGE_WAIT + 5), reads_notebook=True)
    writes = (notebook_add_cell, notebook_edit_cell, notebook_run_cell)
    limits = {"notebook_run_cell": CELL_TIME_LIMIT + 5}
    return (
        reads,
        *(
            replace(
                tool(fn, approve=True, time_limit=limits.get(fn.__name__, EDIT_WAIT + 5)),
                preview=_asks(page, fn.__name__),
                refusal=refusal_of(lambda arguments: _check_write(page, arguments)),
            )
            for fn in writes
        ),
    )


hash_of = source_hash
""":func:`source_hash` where a tool's parameter of that name hides it."""


def _listing(cells: tuple[Cell, ...], settings: ContextSettings) -> str:
    """The cells as the agent reads them: a head line per cell, its source at the privacy
    level (a cell that names a denied variable: not its source nor outputs), its outputs."""
    lines = [f"{counted(len(cells), 'cell')}:"]
    for position, cell in enumerate(cells):
        ran = f", run {cell.execution_count}" if cell.execution_count is not None else ""
        by = ", added by an agent" if cell.by_agent else ""
        head = f"[{position}] id={cell.id} {cell.type} hash={source_hash(cell.source)}{ran}{by}"
        denied = denied_in(cell.source, settings)
        if denied is not None:
            lines += [head, f"  [not read: it names {denied}, on the context deny list]"]
            continue
        lines += [head, *_indented(source_at(cell.source, settings.level)[:2_000])]
        lines += [f"  out: {line}" for o in cell.outputs for line in o[:1_000].splitlines()]
    return "\n".join(lines)


def _ran(cell: Cell, reply: dict[str, Any], level: Level) -> str:
    """What a run gives back (and the history keeps): the code that ran, what it output."""
    status, count = str(reply.get("status", "ok"))[:20], reply.get("execution_count")
    outputs = [str(o) for o in reply.get("outputs", [])][:50] or ["no output"]
    if level != "sample":
        outputs = ["[outputs not sent: they are sent at the sample level only]"]
    ran = _indented(source_at(cell.source, level)[:2_000])
    return "\n".join([f"ran cell {cell.id} (execution count {count}): {status}", *ran, *outputs])


def _indented(source: str) -> list[str]:
    return [f"  {line}" for line in source.splitlines()] or ["  (empty)"]


def _check_write(page: LivePage, arguments: dict[str, Any]) -> None:
    """A ``ValueError`` for a write never asked about: no page, another notebook's cell, a
    cell that changed since the agent read it."""
    named = arguments.get("cell_id") or arguments.get("after")
    page.find(str(named), arguments.get("source_hash")) if named else page.current()


def _asks(page: LivePage, name: str) -> Callable[[dict[str, Any]], str]:
    """What the card says a write will do, its first line, and under it a diff of the cell
    as it is now: the new cell's code, the edit, the code that will run (see
    :func:`~agentnb._core.shown_call.shown_call`)."""

    def asks(arguments: dict[str, Any]) -> str:
        if name == "notebook_add_cell":
            after = arguments.get("after") or ""
            where = f"after cell {after}" if after else "at the end of the notebook"
            kind = arguments.get("cell_type", "code")
            return _with_diff(f"adds a {kind} cell {where}", "", arguments["source"])
        cell = page.find(str(arguments["cell_id"]))
        if name == "notebook_edit_cell":
            said = f"edits cell {cell.id} (the diff against the cell as it is now)"
            return _with_diff(said, cell.source, arguments["source"])
        code = [f" {line}" for line in cell.source.splitlines()]
        return "\n".join([f"runs cell {cell.id} in the kernel, as it is now:", "@@ @@", *code])

    return asks


def _with_diff(said: str, old: str, new: str, level: Level = "sample") -> str:
    old, new = source_at(old, level), source_at(new, level)
    diff = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "cell as it is", "cell after", lineterm="", n=3
    )
    return "\n".join([said, *diff])
