"""The chat cell in a real browser: delta-to-DOM latency, main-thread long tasks while a
100 KB answer streams beside 10 finished chat cells, and the page's memory after 50 runs.

    python benchmarks/bench_widget_browser.py [--doc-kb 100] [--turns 50] [--profile]
        [--skip-plain] [--static DIR] [--words 2000] [--finished 10] [--smoke]

``--static DIR`` renders the chat cells with another build of agentnb/static (copy the
directory before a front-end change, then alternate runs of both: this 2-core machine's load
moves the figures more than most changes do).

Starts the demo agent server, JupyterLab on 127.0.0.1 (empty token) and Debian's Chromium
(headless, via Playwright), then in one notebook:

1. ``echo`` of "k000000 k000001 …" (``--words``: 16 KB, 5 ms per chunk) in a lone chat cell.
2. Ten finished chat cells (``--finished``: ``finance_agent`` and ``writer`` runs, tool cards
   and markdown).
3. ``echo`` of a generated ``--doc-kb`` markdown document (headings, lists, tables, code; the
   ``writer`` agent stops at 200 paragraphs, ~41 KB) at 1 ms per chunk, with long tasks
   (PerformanceObserver, registered before the run) and frame gaps (requestAnimationFrame).
4. The alternative a user would write: the same stream into ``display(Markdown(text),
   display_id=True)``, updated every ``--plain-every-ms``, measured the same way.
5. One ``agentnb.chat("echo")`` cell sent ``--turns`` messages; JS heap (after a forced GC,
   via CDP), DOM nodes and listeners, and the chat views' root elements still in memory,
   before and after.

Latency: every text carries markers; the kernel records when each text delta arrived
(``event.received_at``), the page when each marker first shows in the DOM (MutationObserver
reading the last two blocks); same machine, same clock.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nbformat
from browser_bench_page import (
    PANEL,
    READY,
    RUN,
    SETUP,
    STATES,
    STOP_JANK,
    WATCH_JANK,
    WATCH_MARKERS,
    heap_and_views,
    latencies,
    markdown_doc,
    marker_ends,
    top_self_time,
)  # fmt: skip
from chromium import launch
from patience import PATIENCE_MS, PATIENCE_S, PROGRAM_PATIENCE_S, patient, patient_polls

from agentnb.server import start_server

WORDS = 2000
FINISHED = 10
ANSWER = ".anb-answer"
PLAIN = ".jp-RenderedMarkdown"
WORDS_CELL, FIRST_FINISHED = 1, 3


def big_cell(finished: int) -> int:
    """The big stream's cell, after the finished ones; the plain display's is 2 later, the
    memory chat's 3."""
    return FIRST_FINISHED + finished


def finished_cell(i: int) -> str:
    if i % 2:
        return (
            "agentnb.ask('writer', 'Streaming in notebooks', metadata={'paragraphs': '30'}, "
            "wait=True)"
        )
    return "agentnb.ask('finance_agent', 'How did NVDA and MSFT do this week?', wait=True)"


def notebook_cells(words: str, plain_every_ms: int, turns: int, finished: int) -> list[str]:
    return [
        SETUP,
        f"cell = start({words!r}, 5, 'words')",
        f"cell.wait({PATIENCE_S:g})\nsave('words')",
        *(finished_cell(i) for i in range(finished)),
        "big = start(open('doc.md').read(), 1, 'big')",
        f"big.wait({PROGRAM_PATIENCE_S:g})\nsave('big')",
        f"await plain(open('doc.md').read(), 1, {plain_every_ms / 1000}, 'plain')",
        "chat = agentnb.chat('echo', followups=False)",
        f"for i in range({turns}):\n    chat.ask(f'turn {{i}}: ' + 'some words ' * 20).wait({PATIENCE_S:g})",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--doc-kb", type=int, default=100)
    parser.add_argument("--turns", type=int, default=50, help="runs in the memory chat")
    parser.add_argument("--plain-every-ms", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="CPU profile of the big stream")
    parser.add_argument("--skip-plain", action="store_true", help="leave out the IPython display")
    parser.add_argument(
        "--static", type=Path, help="agentnb/static of another build to measure (A/B runs)"
    )
    parser.add_argument("--words", type=int, default=WORDS, help="words in the lone cell's answer")
    parser.add_argument("--finished", type=int, default=FINISHED, help="finished chat cells")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="small answers, two finished cells, a turn: benchmarks/smoke.py's check",
    )
    args = parser.parse_args()
    if args.smoke:
        args.doc_kb, args.turns, args.skip_plain = 1, 1, True
        args.words, args.finished = 50, 2  # both kinds of finished cell
    from playwright.sync_api import sync_playwright

    doc = markdown_doc(args.doc_kb)
    words = " ".join(f"k{i:06d}" for i in range(args.words))
    with tempfile.TemporaryDirectory() as tmp, start_server(delay_ms=5) as server:
        root = Path(tmp) / "nb"
        root.mkdir()
        (root / "doc.md").write_text(doc)
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        cells = notebook_cells(words, args.plain_every_ms, args.turns, args.finished)
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nbformat.write(nb, root / "bench.ipynb")
        port = free_port()
        env = {
            **os.environ,
            "AGENTNB_PROVIDER": "seekrflow",
            "AGENTNB_BASE_URL": server.url_for("seekrflow"),
            "AGENTNB_API_KEY": server.api_key,
            "AGENTNB_HISTORY": str(Path(tmp) / "history.sqlite3"),
            "JUPYTER_CONFIG_DIR": str(Path(tmp) / "config"),
            "JUPYTER_RUNTIME_DIR": str(Path(tmp) / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(Path(tmp) / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(Path(tmp) / "workspaces"),
        }
        if args.static:
            env["AGENTNB_BENCH_STATIC"] = str(args.static.resolve())
        lab = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", f"--ServerApp.port={port}",
                "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
                "--ServerApp.password=", f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True", "--no-browser", "--allow-root",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in patient_polls():
                try:
                    if httpx.get(f"{url}/api/status", timeout=PATIENCE_S).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            with sync_playwright() as pw:
                browser = launch(pw)
                page = patient(browser.new_page(viewport={"width": 1280, "height": 1000}))
                page.goto(f"{url}/lab/tree/bench.ipynb?reset")
                page.wait_for_function("() => window.jupyterapp !== undefined", timeout=PATIENCE_MS)
                page.evaluate(f"() => {{ {PANEL} }}")
                while page.evaluate(READY) != "idle":
                    page.wait_for_timeout(250)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                results = measure(page, cdp, root, args, words, doc)
                browser.close()
        finally:
            lab.terminate()
            lab.wait(PATIENCE_S)
    report(results, len(doc), args)


def run_and_wait(page: Any, index: int, timeout_ms: float = PATIENCE_MS) -> None:
    page.evaluate(RUN, index)
    page.wait_for_function(
        f"() => window.__anbPanel().content.widgets[{index}].model.executionCount !== null",
        timeout=timeout_ms,
        polling=250,
    )


def wait_completed(page: Any, index: int, count: int = 1) -> None:
    page.wait_for_function(
        f"""() => {{
          const c = window.__anbPanel().content.widgets[{index}].node;
          const s = Array.from(c.querySelectorAll('.anb-state')).map((e) => e.textContent);
          return s.filter((t) => ['Completed', 'Failed', 'Interrupted'].includes(t)).length
            >= {count};
        }}""",
        timeout=PROGRAM_PATIENCE_S * 1000,
        polling=250,
    )


def read_marks(root: Path, name: str) -> list[list[float]]:
    path = root / f"{name}.json"
    deadline = time.monotonic() + PATIENCE_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    if not path.exists():
        raise RuntimeError(f"the kernel wrote no {name}.json")
    marks: list[list[float]] = json.loads(path.read_text())
    return marks


def stream_and_watch(page: Any, cell: int, selector: str, settle: Any) -> dict[str, Any]:
    """Run one streaming cell with markers and long tasks watched from before it starts."""
    page.evaluate(WATCH_JANK)
    page.evaluate(WATCH_MARKERS, [cell, selector])
    started = time.monotonic()
    settle()
    seconds = time.monotonic() - started
    page.wait_for_timeout(300)
    watched: dict[str, Any] = page.evaluate(STOP_JANK)
    watched["seconds"] = seconds
    return watched


def measure(
    page: Any, cdp: Any, root: Path, args: argparse.Namespace, words: str, doc: str
) -> dict[str, Any]:
    run_and_wait(page, 0)
    alone = stream_and_watch(
        page, WORDS_CELL, ANSWER, lambda: (run_and_wait(page, WORDS_CELL), wait_completed(page, 1))
    )
    run_and_wait(page, WORDS_CELL + 1)
    alone["latencies"] = latencies(read_marks(root, "words"), alone["seen"], marker_ends(words))
    big_at = big_cell(args.finished)
    plain_at, chat_at = big_at + 2, big_at + 3
    for index in range(FIRST_FINISHED, big_at):
        run_and_wait(page, index)
        wait_completed(page, index)

    def big_stream() -> None:
        run_and_wait(page, big_at)
        wait_completed(page, big_at)

    if args.profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    big = stream_and_watch(page, big_at, ANSWER, big_stream)
    if args.profile:
        big["profile"] = top_self_time(cdp.send("Profiler.stop")["profile"])
    run_and_wait(page, big_at + 1, PROGRAM_PATIENCE_S * 1000)
    big["latencies"] = latencies(read_marks(root, "big"), big["seen"], marker_ends(doc))
    plain = {"long": [], "gaps": [], "loaf": [], "seen": [], "seconds": 0.0, "latencies": []}
    if not args.skip_plain:
        plain = stream_and_watch(
            page, plain_at, PLAIN, lambda: run_and_wait(page, plain_at, PROGRAM_PATIENCE_S * 1000)
        )
        plain["latencies"] = latencies(read_marks(root, "plain"), plain["seen"], marker_ends(doc))
    run_and_wait(page, chat_at)
    page.wait_for_timeout(1000)
    before = heap_and_views(cdp)
    started = time.monotonic()
    run_and_wait(page, chat_at + 1, PROGRAM_PATIENCE_S * 1000)
    wait_completed(page, chat_at, args.turns)
    turns_seconds = time.monotonic() - started
    page.wait_for_timeout(1000)
    after = heap_and_views(cdp)
    states = page.evaluate(STATES, chat_at)
    return {"alone": alone, "big": big, "plain": plain, "before": before, "after": after,
            "turns_seconds": turns_seconds, "turns_done": states.count("Completed")}  # fmt: skip


def latency_row(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<52}{'no samples':>10}"
    return (f"{label:<52}{len(values):>8}{statistics.median(values):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{max(values):>9.1f}")  # fmt: skip


def jank_row(label: str, watched: dict[str, Any]) -> str:
    longs = [duration for _, duration in watched["long"]]
    gaps = watched["gaps"] or [0.0]
    longest = f"{max(longs):.0f}" if longs else "<50"
    return (f"{label:<36}{watched['seconds']:>8.1f}{len(longs):>7}{longest:>9}"
            f"{percentile(gaps, 0.95):>9.1f}{max(gaps):>9.1f}")  # fmt: skip


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: dict[str, Any], doc_chars: int, args: argparse.Namespace) -> None:
    alone, big, plain = results["alone"], results["big"], results["plain"]
    kb = f"{doc_chars / 1000:.0f} KB"
    plain_label = f"IPython Markdown display, every {args.plain_every_ms} ms"
    print(f"delta → DOM latency{'':<33}{'samples':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    words_kb = f"{args.words * 8 / 1000:.0f} KB"
    finished = args.finished
    print(latency_row(f"agentnb, lone cell, {words_kb} words (5 ms/chunk)", alone["latencies"]))
    print(latency_row(f"agentnb, {kb} markdown + {finished} finished cells", big["latencies"]))
    print(latency_row(f"{plain_label}, same", plain["latencies"]))
    print(f"\nmain thread while the {kb} answer streams (1 ms per chunk)")
    print(f"{'':<36}{'seconds':>8}{'long':>7}{'longest':>9}{'p95 gap':>9}{'max gap':>9}")
    print(jank_row(f"agentnb (+{finished} finished cells)", big))
    print(jank_row(plain_label, plain))
    when = ", ".join(f"{start / 1000:.1f} s ({ms:.0f})" for start, ms in big["long"])
    print(f"agentnb long tasks, at (ms): {when or 'none'}")
    changed = ", ".join(f"{at / 1000:.1f} s" for at in big.get("outputs", []))
    print(f"agentnb cell's outputs added or replaced at: {changed or 'never'}")
    frames = [f for f in big["loaf"] if f["duration"] > 50]
    print(f"agentnb long frames (>50 ms): {len(frames)}, "
          f"{sum(f['duration'] for f in frames):.0f} ms in all, of which style + layout + paint "
          f"{sum(f['layout'] for f in frames):.0f} ms")  # fmt: skip
    culprits = loaf_culprits([f["scripts"] for f in frames])
    if culprits:
        print("agentnb long frames (>50 ms), script time by entry point:")
        for name, total, layout in culprits:
            print(f"  {total:>7.0f} ms ({layout:.0f} ms forced layout)  {name}")
    if "profile" in big:
        print("agentnb stream, CPU self time by function (CDP profile):")
        for name, ms in big["profile"]:
            print(f"  {ms:>8.0f} ms  {name}")
    before, after = results["before"], results["after"]
    print(f"\npage after {results['turns_done']} runs in one chat cell "
          f"({results['turns_seconds']:.1f} s), after a forced GC")  # fmt: skip
    print(
        f"{'':<10}{'JS heap MB':>11}{'DOM nodes':>11}{'listeners':>11}{'chat roots':>12}{'on page':>9}"
    )
    for label, row in (("before", before), ("after", after)):
        print(f"{label:<10}{row['heap_mb']:>11.1f}{row['nodes']:>11.0f}{row['listeners']:>11.0f}"
              f"{row['roots']:>12.0f}{row['roots_attached']:>9.0f}")  # fmt: skip
    p95 = percentile(big["latencies"], 0.95) if big["latencies"] else float("inf")
    longs = [duration for _, duration in big["long"]]
    per_run = (after["heap_mb"] - before["heap_mb"]) * 1000 / max(1, results["turns_done"])
    print("\ntargets")
    print(f"{verdict(p95 <= 100)}  delta → DOM p95 ≤ 100 ms with a {kb} stream: {p95:.1f} ms")
    print(f"{verdict(not longs)}  no main-thread task > 50 ms during it: {len(longs)} tasks, "
          f"longest {max(longs, default=0):.0f} ms")  # fmt: skip
    views_constant = after["roots"] == before["roots"]
    print(f"{verdict(views_constant)}  chat views constant over {results['turns_done']} runs: "
          f"{before['roots']:.0f} → {after['roots']:.0f} root elements in memory")  # fmt: skip
    print(f"INFO  JS heap after {results['turns_done']} runs: {after['heap_mb']:.1f} MB "
          f"({per_run:+.1f} KB per run)")  # fmt: skip


def loaf_culprits(frames: list[list[list[Any]]]) -> list[tuple[str, float, float]]:
    """Long animation frames' script time summed by entry point, largest first."""
    totals: dict[str, list[float]] = {}
    for scripts in frames:
        for name, duration, layout in scripts:
            entry = totals.setdefault(str(name), [0.0, 0.0])
            entry[0] += duration
            entry[1] += layout
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])[:6]
    return [(name, total, layout) for name, (total, layout) in ranked]


if __name__ == "__main__":
    main()
