"""The run table's pages on a large history: what a click in the browsable table costs.

    python benchmarks/bench_runs_table.py [--rows 100000] [--cache DIR] [--smoke]

Builds a ``--rows`` history file (the synthetic runs of ``bench_history.py``, kept in
``--cache`` as that benchmark keeps its own, so the two share a million-run file), then times,
best of 3, what the table asks the kernel for: the first page; a page deep in the history;
sorting by a column without an index (cost); a column filter (agent substring, tokens
comparison); a search; a search sorted by date; each beside the obvious alternative, reading
every matching run with ``runs(...)`` and cutting the page in Python. The page size is 20.

``--smoke`` runs every step on a few hundred rows: benchmarks/smoke.py runs it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_history import cached_history

from agentnb._display.history_columns import page_rows
from agentnb._history import HistoryStore
from agentnb._history._pages import Page, PageQuery, StorePages
from agentnb._history._run_filter import RunFilter


def timed(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def drawn(page: Page) -> list[dict[str, object]]:
    """A page as the kernel sends it to the view: its cells drawn."""
    return page_rows(page.values, page.columns, time.time())


def load_then_cut(store: HistoryStore, where: RunFilter, key: str | None) -> list[Any]:
    """The alternative: every matching run read into Python, sorted there, a page cut."""
    history = store.runs(where)
    order = list(range(len(history)))
    if key is not None:
        values = history.column(key)
        order.sort(key=lambda i: (values[i] is not None, values[i] or 0), reverse=True)
    return [history.local_ids[i] for i in order[:20]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--smoke", action="store_true", help="a few hundred rows: benchmarks/smoke.py's check"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "agentnb-bench-history",
        help="folder keeping the generated file between runs (bench_history.py's)",
    )
    args = parser.parse_args()
    rows = 300 if args.smoke else args.rows
    with tempfile.TemporaryDirectory() as folder:
        path, steps = cached_history(Path(folder) if args.smoke else args.cache, rows)
        built = sum(seconds for _, seconds in steps)
        with HistoryStore(path) as store:
            pages = StorePages(store)
            deep = max(0, rows // 2 - rows // 2 % 20)
            cases: list[tuple[str, PageQuery, RunFilter | None, str | None]] = [
                ("first page (latest runs)", PageQuery.build(), RunFilter(), None),
                (f"page at offset {deep:,}", PageQuery.build(offset=deep), None, None),
                (
                    "sorted by cost, most first",
                    PageQuery.build(sort="cost", descending=True),
                    RunFilter(),
                    "cost_usd",
                ),
                (
                    "filter agent 'finance', tokens >2000",
                    PageQuery.build(filters={"agent": "finance", "tokens": ">2000"}),
                    None,
                    None,
                ),
                (
                    "search 'NVDA earnings' (ranked)",
                    PageQuery.build(search="NVDA earnings"),
                    RunFilter.build(search="NVDA earnings"),
                    None,
                ),
                (
                    "search 'NVDA', latest first",
                    PageQuery.build(search="NVDA", sort="started", descending=True),
                    None,
                    None,
                ),
            ]
            print(
                f"\nThe run table over {rows:,} runs (file made or opened in {built:.1f} s; ms, best of 3)"
            )
            print(f"  {'page asked for':<40} {'table page':>11} {'load + cut':>11} {'total':>9}")
            for name, query, where, key in cases:
                page = pages.page(query)
                paged = timed(lambda q=query: drawn(pages.page(q))) * 1000
                loaded = "—"
                if where is not None:
                    seconds = timed(lambda w=where, k=key: load_then_cut(store, w, k), repeat=1)
                    loaded = f"{seconds * 1000:.0f}"
                print(f"  {name:<40} {paged:>11.1f} {loaded:>11} {page.total:>9,}")


if __name__ == "__main__":
    main()
