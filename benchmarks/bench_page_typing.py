"""How quick the page stays while a cell starts N displayed asks that stream: in JupyterLab
(headless Chromium, 1280×800), a person clicks into a cell *above* the loop right after its
Shift+Enter and types one character every 0.5 s for 12 s. Beside it, the same notebook with
``display=False`` (no chat cells): what the page costs without agentnb's views.

    python benchmarks/bench_page_typing.py [--runs 50] [--seconds 12] [--smoke]

Each key's latency is measured in the page, as a person feels it: from the key event's time
stamp (when the browser took the key) to the first frame painted after it was handled (a
``requestAnimationFrame``, then a task: the frame is out). The click into the cell is one
more sample. Long tasks (> 50 ms on the page's main thread) are counted over the typing. The
runs stream through the built-in server's ``echo`` agent on a connection paced at a chunk
every ``--delay-ms`` ms, so every chat cell is still streaming while the person types. The
runs without chat cells go first, in the same page and kernel, then those with. The kernel's
messages to the page (the websocket's frames, and of them the widgets' ``comm_msg``) are
counted from the Shift+Enter to the end of the typing, a second, and from when the loop's cell
ended (the chat cells made, all streaming) to the end of the typing; the keys and long tasks
are reported over the whole typing and, apart, over what came once that cell ended (what a
person feels while fifty cells stream, without the start's burst). The CPU each process took
over the same two spans (the kernel, the Jupyter server, Chromium's page and its other
processes, and this one, which runs the agent server) says whether a key waited on the page's
own work or on the others sharing the machine's cores. Goal: p95 ≤ 100 ms and no
long task over 100 ms with chat cells. ``--profile`` prints the page's JavaScript by inclusive
time while typing beside chat cells (not with ``--trace``: the profiler's work would be in the
trace).
``--trace`` records a Chromium trace of each round's typing and prints the page's main-thread
CPU and what its tasks over 50 ms were made of (its own time by kind: the chat cells' code,
JupyterLab's, style and layout, paint and compositing, garbage collection, the rest), and
the same of every task.
``--smoke``: one run, 1 s of typing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil
from bench_cell_hold import (
    inclusive_times,
    jupyterlab,
    open_and_set_up,
    page_cpu,
    write_notebook,
)
from chromium import launch
from patience import PATIENCE_MS, PATIENCE_S, PROGRAM_PATIENCE_S, patient

from agentnb.server import start_server

SETUP = """
import os, agentnb
agentnb.connect("seekrflow", base_url=os.environ["AGENTNB_BASE_URL"],
                api_key=os.environ["AGENTNB_API_KEY"], name="paced",
                headers={{"X-AgentNB-Delay-Ms": "{delay}"}})
words = " ".join(f"word{{i}}" for i in range({words}))
agentnb.ask("echo", "warm up", via="paced", wait=True)
"""
TYPED = "note = 1"
"""The cell above the loop the person types into."""
LOOP = 'handles = [agentnb.ask("echo", f"{{i}} {{words}}", via="paced"{extra}) for i in range({n})]'
VARIANTS = {"display=False (no chat cells)": ", display=False", "displayed (chat cells)": ""}

# ---- in the page ------------------------------------------------------------------------

WATCH = """
() => {
  // Each key's (and the click's) time from its event to the next painted frame, and the
  // long tasks, from now on.
  window.__latency = [];
  window.__long = [];
  const painted = (event) => {
    const at = event.timeStamp;
    requestAnimationFrame(() => setTimeout(() => {
      window.__latency.push({ kind: event.type, ms: performance.now() - at, at });
    }, 0));
  };
  if (!window.__watching) {
    window.__watching = true;
    document.addEventListener("keydown", (e) => window.__latency && painted(e), true);
    document.addEventListener("pointerdown", (e) => window.__latency && painted(e), true);
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (window.__long) window.__long.push({ start: entry.startTime, ms: entry.duration });
      }
    }).observe({ type: "longtask" });
  }
}
"""
READ = "() => ({ latency: window.__latency, long: window.__long })"
START = """
([loop, typed]) => {
  const panel = window.__anbPanel();
  panel.content.activeCellIndex = loop;
  window.jupyterapp.commands.execute("notebook:run-cell");  // Shift+Enter on the loop's cell
}
"""
KERNEL_IDLE = "() => window.__anbPanel().sessionContext.session.kernel.status === 'idle'"
IDLE_SINCE = f"() => ({KERNEL_IDLE})() ? performance.now() : null"
"""The page's clock when the kernel is seen idle (the loop's cell ended), else null."""


CORES = psutil.cpu_count() or 1
ROLES = ("kernel", "Jupyter server", "Chromium's page", "Chromium, the rest", "this process")
"""Who takes the machine's CPU while the person types: the kernel, the Jupyter server that
relays its messages, the page's renderer, Chromium's browser, GPU and utility processes (and
Playwright's driver), and this process (the built-in agent server streaming every run, and
Playwright's client)."""


def role(process: psutil.Process) -> str:
    if process.pid == os.getpid():
        return "this process"
    command = " ".join(process.cmdline())
    if "ipykernel" in command:
        return "kernel"
    if "jupyterlab" in command or "jupyter-lab" in command:
        return "Jupyter server"
    if "--type=renderer" in command:
        return "Chromium's page"
    return "Chromium, the rest"


def cpu_by_role() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process and every process it started, by
    :data:`ROLES`. A process gone since is not counted: none ends while the person types."""
    spent = dict.fromkeys(ROLES, 0.0)
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
            spent[role(process)] += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return spent


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in ROLES}


class KernelMessages:
    """The kernel's messages to the page, counted as the page's websockets receive them (the
    time is when this process heard of each: within the half second between two keys)."""

    def __init__(self) -> None:
        self.frames: list[float] = []
        self.comm: list[float] = []

    def watch(self, websocket: Any) -> None:
        websocket.on("framereceived", self.count)

    def count(self, payload: str | bytes) -> None:
        now = time.monotonic()
        self.frames.append(now)
        if (b"comm_msg" if isinstance(payload, bytes) else "comm_msg") in payload:
            self.comm.append(now)

    def rates(self, start: float, end: float) -> tuple[float, float]:
        """Messages a second between ``start`` and ``end``, and of them ``comm_msg``."""
        took = max(end - start, 1e-9)
        return (
            sum(start <= t < end for t in self.frames) / took,
            sum(start <= t < end for t in self.comm) / took,
        )


def typing_round(
    page: Any,
    typed: int,
    loop: int,
    seconds: float,
    messages: KernelMessages,
    profile: bool = False,
    trace: bool = False,
) -> dict[str, Any]:
    """Start the loop's cell, click into the cell above, type a key every 0.5 s."""
    if trace:
        page.context.browser.start_tracing(page=page, categories=TRACED)
    cdp = page.context.new_cdp_session(page)
    if profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
    page.evaluate(WATCH)
    counted_from = time.monotonic()
    cpu_from = cpu_by_role()
    page.evaluate(START, [loop, typed])
    editor = page.locator(".jp-Notebook .jp-Cell").nth(typed).locator(".cm-content")
    editor.click()
    page.keyboard.press("End")
    started = time.monotonic()
    keys = 0
    loop_ended: float | None = None
    ended_on_page: float | None = None  # the same moment on the page's clock
    cpu_at_end: dict[str, float] | None = None
    while time.monotonic() - started < seconds:
        page.keyboard.type("x")
        keys += 1
        if loop_ended is None and (ended_on_page := page.evaluate(IDLE_SINCE)) is not None:
            loop_ended = time.monotonic()  # the loop's cell ended: the cells stream
            cpu_at_end = cpu_by_role()
        time.sleep(max(0.0, started + keys * 0.5 - time.monotonic()))
    page.wait_for_timeout(500)  # the last key's frame
    seen = page.evaluate(READ)
    counted_to = time.monotonic()
    cpu_to = cpu_by_role()
    rates = messages.rates(counted_from, counted_to)
    streaming = messages.rates(loop_ended, counted_to) if loop_ended is not None else None
    if profile:
        for line in inclusive_times(cdp.send("Profiler.stop")["profile"], limit=60):
            print(line)
    taken = [s for s in seen["latency"] if s["kind"] in ("keydown", "pointerdown")]
    samples = [s["ms"] for s in taken]
    result: dict[str, Any] = {
        "samples": samples,
        "streaming_samples": [
            s["ms"] for s in taken if ended_on_page is not None and s["at"] >= ended_on_page
        ],
        "long": [t["ms"] for t in seen["long"]],
        "streaming_long": [
            t["ms"]
            for t in seen["long"]
            if ended_on_page is not None and t["start"] >= ended_on_page
        ],
        "messages": rates,
        "streaming": streaming,
        "loop_s": loop_ended - counted_from if loop_ended is not None else None,
        "cpu": None
        if loop_ended is None or cpu_at_end is None
        else [
            ("the start", cpu_between(cpu_from, cpu_at_end), loop_ended - counted_from),
            ("streaming", cpu_between(cpu_at_end, cpu_to), counted_to - loop_ended),
        ],
    }
    if trace:
        recorded = page.context.browser.stop_tracing()
        result["page_cpu"] = page_cpu(recorded)
        result["makeup"] = long_task_makeup(recorded)
        result["all"] = long_task_makeup(recorded, over_ms=0)
    return result


TRACED = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8"]
OTHER = "messages, promise jobs, the rest"
"""What no script call of a task is: JupyterLab's websocket messages and promise jobs (and
the chat cells' promise jobs: the trace does not tell them apart), timers, the browser's own."""
LONGEST_CPU = "longest task's CPU"
"""What the longest task would take on an idle machine: its CPU time."""
KINDS = {
    "UpdateLayoutTree": "style and layout",
    "Layout": "style and layout",
    "Document::recalcStyle": "style and layout",
    "LocalFrameView::performLayout": "style and layout",
    "InlineNode::ShapeTextIncludingFirstLine": "style and layout",
    "Paint": "paint and compositing",
    "PrePaint": "paint and compositing",
    "Blink.PrePaint.UpdateTime": "paint and compositing",
    "Layerize": "paint and compositing",
    "PaintArtifactCompositor::Update": "paint and compositing",
    "Commit": "paint and compositing",
    "HitTest": "paint and compositing",
    "MajorGC": "garbage collection",
    "MinorGC": "garbage collection",
    "V8.GC_MARK_COMPACTOR": "garbage collection",
    "V8.GC_SCAVENGER": "garbage collection",
}


def long_task_makeup(trace: bytes, over_ms: float = 50) -> dict[str, float]:
    """The page's main-thread tasks over ``over_ms``: milliseconds of CPU by kind (each trace
    event's own CPU time, its children's taken out; a script call is the chat cells' where
    their code is, a blob: URL, else JupyterLab's; what a call makes the browser do, like a
    forced layout, counts as that), and the milliseconds the thread waited for a CPU
    (``waiting for a CPU``: the tasks' wall time less their CPU time, other jobs running);
    and of every task, the most CPU one took (``LONGEST_CPU``)."""
    events = json.loads(trace)["traceEvents"]
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e["args"]["name"] == "CrRendererMain"
    }
    timeline = sorted(
        (e for e in events if (e["pid"], e["tid"]) in main and e.get("ph") == "X" and "tdur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    own: dict[str, float] = defaultdict(float)
    stack: list[list[Any]] = []  # [end, kind, cpu, children's cpu, wall of its top task]

    def close() -> None:
        _, kind, cpu, children, top = stack.pop()
        if top > over_ms * 1000:
            own[kind] += (cpu - children) / 1000
        if stack:
            stack[-1][3] += cpu

    for event in timeline:
        while stack and event["ts"] >= stack[-1][0]:
            close()
        kind = KINDS.get(event["name"], stack[-1][1] if stack else OTHER)
        if event["name"] == "FunctionCall":
            url = event["args"].get("data", {}).get("url", "")
            kind = "chat cells' code" if url.startswith("blob:") else "JupyterLab's code"
        if not stack and event["dur"] > over_ms * 1000:
            own["waiting for a CPU"] += (event["dur"] - event["tdur"]) / 1000
        if not stack:
            own[LONGEST_CPU] = max(own[LONGEST_CPU], event["tdur"] / 1000)
        top = stack[0][4] if stack else event["dur"]
        stack.append([event["ts"] + event["dur"], kind, event["tdur"], 0, top])
    while stack:
        close()
    return dict(own)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, start_server() as server:
        sources = [SETUP.format(delay=args.delay_ms, words=args.words)]
        for extra in VARIANTS.values():
            sources += [TYPED, LOOP.format(n=args.runs, extra=extra)]
        root = write_notebook(Path(tmp), "typing.ipynb", sources)
        with jupyterlab(root, server, Path(tmp)) as url, sync_playwright() as playwright:
            browser = launch(playwright)
            page = patient(browser.new_page(viewport={"width": 1280, "height": 800}))
            messages = KernelMessages()
            page.on("websocket", messages.watch)
            open_and_set_up(page, f"{url}/lab/tree/typing.ipynb?reset")
            for position, name in enumerate(VARIANTS):
                typed, loop = 1 + 2 * position, 2 + 2 * position
                page.wait_for_function(KERNEL_IDLE, timeout=PATIENCE_MS)
                profile = args.profile and position == len(VARIANTS) - 1
                results[name] = typing_round(
                    page, typed, loop, args.seconds, messages, profile, args.trace
                )
                page.wait_for_function(KERNEL_IDLE, timeout=PROGRAM_PATIENCE_S * 1000)
                page.evaluate(
                    "() => window.__anbPanel().sessionContext.session.kernel.requestExecute("
                    f"{{ code: '[h.wait({PATIENCE_S:g}) for h in handles]', store_history: false }}).done"
                )
            browser.close()
    return results


def report(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{args.runs} asks started by one cell, typing a key every 0.5 s for "
          f"{args.seconds:g} s in the cell above (JupyterLab, Chromium 1280×800)")  # fmt: skip
    print("| notebook | samples | p50 | p95 | max | long tasks | longest | in long tasks | "
          "loop's cell | kernel → page, messages/s (comm_msg) | once the cell ended |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, seen in results.items():
        samples, long = seen["samples"], seen["long"]
        frames, comm = seen["messages"]
        after = "—" if seen["streaming"] is None else "{:.0f} ({:.0f})".format(*seen["streaming"])
        loop = "—" if seen["loop_s"] is None else f"{seen['loop_s']:.1f} s"
        sent = f"{loop} | {frames:.0f} ({comm:.0f}) | {after}"
        if not samples:
            print(f"| {name} | 0 | — | — | — | — | — | — | {sent} |")
            continue
        print(f"| {name} | {len(samples)} | {statistics.median(samples):.0f} ms | "
              f"{percentile(samples, 0.95):.0f} ms | {max(samples):.0f} ms | {len(long)} | "
              f"{max(long, default=0):.0f} ms | {sum(long) / 1000:.2f} s | {sent} |")  # fmt: skip
    print("\nOnce the loop's cell ended (the chat cells made, all streaming): the keys typed")
    print("| notebook | samples | p50 | p95 | max | long tasks | longest |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seen in results.items():
        samples, long = seen["streaming_samples"], seen["streaming_long"]
        if not samples:
            print(f"| {name} | 0 | — | — | — | — | — |")
            continue
        print(f"| {name} | {len(samples)} | {statistics.median(samples):.0f} ms | "
              f"{percentile(samples, 0.95):.0f} ms | {max(samples):.0f} ms | {len(long)} | "
              f"{max(long, default=0):.0f} ms |")  # fmt: skip
    print(f"\nThe machine's CPU by process (seconds of CPU, and the share of the span's {CORES} "
          "cores): from the Shift+Enter to the loop's end, then to the end of the typing")  # fmt: skip
    print(f"| notebook | span | {' | '.join(ROLES)} |")
    print(f"|---|---|{'---:|' * len(ROLES)}")
    for name, seen in results.items():
        if seen["cpu"] is None:  # the loop's cell had not ended by the end of the typing
            print(f"| {name} | — |{' — |' * len(ROLES)}")
            continue
        for label, spent, span in seen["cpu"]:
            cells = " | ".join(f"{spent[r]:.2f} s ({spent[r] / (CORES * span):.0%})" for r in ROLES)
            print(f"| {name} | {label}, {span:.1f} s | {cells} |")
    if all("makeup" in seen for seen in results.values()):
        kinds = sorted({kind for seen in results.values() for kind in seen["makeup"]})
        print("\nThe page's main thread while typing (a Chromium trace): CPU, and the tasks over "
              "50 ms by what they did (ms)")  # fmt: skip
        print(f"| notebook | CPU | {' | '.join(kinds)} |")
        print(f"|---|---:|{'---:|' * len(kinds)}")
        for name, seen in results.items():
            spent = " | ".join(f"{seen['makeup'].get(kind, 0):.0f}" for kind in kinds)
            print(f"| {name} | {seen['page_cpu']:.2f} s | {spent} |")
        print("\nEvery task of the page's main thread while typing, by what it did (ms)")
        print(f"| notebook | {' | '.join(kinds)} |")
        print(f"|---|{'---:|' * len(kinds)}")
        for name, seen in results.items():
            spent = " | ".join(f"{seen['all'].get(kind, 0):.0f}" for kind in kinds)
            print(f"| {name} | {spent} |")
    shown = results.get("displayed (chat cells)")
    if shown and shown["samples"]:
        print()
        for window, samples, long in [
            ("from the Shift+Enter", shown["samples"], shown["long"]),
            ("once the loop's cell ended", shown["streaming_samples"], shown["streaming_long"]),
        ]:
            if not samples:
                continue
            p95, longest = percentile(samples, 0.95), max(long, default=0)
            verdict = "PASS" if p95 <= 100 and longest <= 100 else "FAIL"
            print(f"{verdict}  with chat cells, {window}: p95 {p95:.0f} ms ≤ 100 ms and no long "
                  f"task over 100 ms (longest {longest:.0f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--delay-ms", type=int, default=25, help="between the echo's chunks")
    parser.add_argument("--words", type=int, default=600, help="each run's message (echoed)")
    parser.add_argument(
        "--profile", action="store_true", help="the page's JavaScript while typing, chat cells"
    )
    parser.add_argument(
        "--trace", action="store_true", help="the page's CPU and its long tasks' makeup"
    )
    parser.add_argument("--smoke", action="store_true", help="one run, 1 s of typing")
    args = parser.parse_args()
    if args.profile and args.trace:
        # The profiler's start and its sampling are the page's work too: with both on, the
        # trace's page CPU grew by 2 s and its longest task read 1.0-1.4 s (75 ms without).
        parser.error("--profile and --trace measure each other: run them apart")
    if args.smoke:
        args.runs, args.seconds, args.words = 1, 1.0, 10
    report(args, run(args))


if __name__ == "__main__":
    main()
