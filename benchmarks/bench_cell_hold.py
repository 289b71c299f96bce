"""How long a cell that starts N displayed runs holds the kernel, as a person sees it: in
JupyterLab (headless Chromium) and with no browser, against N live widgets of ipywidgets' own.

    python benchmarks/bench_cell_hold.py [--runs 50] [--rounds 3] [--no-lab] [--no-kernel]
        [--profile-page] [--smoke]

Each round, in one kernel (agentnb and ipywidgets imported and one run shown first, so no
round pays a first import): a cell runs ``[agentnb.ask("echo", ...) for i in range(N)]``
(each run displayed: a chat cell and its static copy) and ``1+1`` is sent right behind it,
as a person types it while the cell runs. "hold" is the time from sending the cell to the
answer to that ``1+1``: in JupyterLab that answer shows once the page has taken every message
the cell sent before it (the outputs, the widgets' models), so the hold is the kernel's work
and the page's. The anchor runs ``[display(ipywidgets.HTML(...)) for i in range(N)]``: one
live widget an output, the least a live output costs in that front end.

Beside the wall times, which move with this 2-core machine's load, each round reports CPU:
the kernel's main thread while the cell ran, and in JupyterLab the page's main thread (from
a Chromium trace) until every run shown has ended and the page has been quiet for a second.
JupyterLab shows at most 50 outputs of a cell by default (the rest behind "Show more
outputs"): 25 chat cells of 50 asks are drawn. To compare two trees, run this with
``PYTHONPATH=<the other tree>``: the kernels import agentnb from there.
``--profile-page`` prints the page's JavaScript by inclusive time for the last agentnb round.
``--smoke``: one run, one round (benchmarks/smoke.py runs it).
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
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import nbformat
from bench_kernel_cells import kernel, timed_reply
from browser_bench_page import PANEL, READY
from chromium import launch
from patience import PATIENCE_MS, PATIENCE_S, patient, patient_polls

from agentnb.server import start_server

LAB_SHOWS = 25
"""Chat cells JupyterLab draws of one cell's outputs by default (50 outputs, two a cell)."""

SETUP = """
import agentnb, ipywidgets
from IPython.display import display
agentnb.ask("echo", "warm up", wait=True)
"""
CELLS = {
    "agentnb": 'handles = [agentnb.ask("echo", f"question {{i}}") for i in range({n})]',
    "ipywidgets.HTML": 'shown = [display(ipywidgets.HTML(f"question {{i}}")) for i in range({n})]',
}
MAIN_CPU = "__import__('time').thread_time()"
"""The CPU seconds the kernel's main thread has used (the expression runs on it)."""

# ---- in the page ------------------------------------------------------------------------

HOLD = """
async ([code, index]) => {
  // The cell run as the notebook runs it (its outputs land in cell `index`), then 1+1.
  const panel = window.__anbPanel();
  const kernel = panel.sessionContext.session.kernel;
  panel.content.widgets[index].model.sharedModel.setSource(code);
  panel.content.activeCellIndex = index;
  const started = performance.now();
  const ran = window.jupyterapp.commands.execute("notebook:run-cell");
  await new Promise((resolve) => setTimeout(resolve, 0));  // the cell's request is out
  await kernel.requestExecute({ code: "1+1", store_history: false }).done;
  const hold = (performance.now() - started) / 1000;
  await ran;
  return hold;
}
"""
MAIN_CPU_IN_PAGE = """
async () => {
  const kernel = window.__anbPanel().sessionContext.session.kernel;
  const future = kernel.requestExecute({ code: "", store_history: false,
    user_expressions: { cpu: "__import__('time').thread_time()" } });
  const reply = await future.done;
  return Number(reply.content.user_expressions.cpu.data["text/plain"]);
}
"""
ENDED = """
([index, n]) => {
  const states = window.__anbPanel().content.widgets[index].node.querySelectorAll(".anb-state");
  return states.length >= n && [...states].every((s) => s.textContent === "Completed");
}
"""
RUN_SETUP = """
() => { window.__anbPanel().content.activeCellIndex = 0;
        return window.jupyterapp.commands.execute("notebook:run-cell"); }
"""


def lab_rounds(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, float]]] = {name: [] for name in CELLS}
    with tempfile.TemporaryDirectory() as tmp, start_server() as server:
        root = write_notebook(Path(tmp), "hold.ipynb", [SETUP] + [""] * (len(CELLS) * args.rounds))
        with jupyterlab(root, server, Path(tmp)) as url, sync_playwright() as playwright:
            browser = launch(playwright)
            page = patient(browser.new_page(viewport={"width": 1280, "height": 800}))
            open_and_set_up(page, f"{url}/lab/tree/hold.ipynb?reset")
            index = 1
            for round_ in range(args.rounds):
                for name, cell in CELLS.items():
                    profile = args.profile_page and name == "agentnb"
                    profile = profile and round_ == args.rounds - 1
                    results[name].append(lab_round(browser, page, cell.format(n=args.runs),
                                                   index, name, args.runs, profile))  # fmt: skip
                    index += 1
            browser.close()
    return results


def write_notebook(tmp: Path, name: str, sources: list[str]) -> Path:
    """A notebook ``name`` of code cells ``sources`` in a folder ``nb`` of ``tmp``: the folder."""
    root = tmp / "nb"
    root.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, root / name)
    return root


def open_and_set_up(page: Any, url: str) -> None:
    """Open the notebook at ``url`` in JupyterLab, wait for its kernel, run its first cell (the
    set-up, which ends with a warm-up ask) and wait for that ask's chat cell to complete."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=PATIENCE_MS)
    page.evaluate(f"() => {{ {PANEL} }}")
    while page.evaluate(READY) != "idle":
        page.wait_for_timeout(250)
    page.evaluate(RUN_SETUP)
    page.wait_for_function(ENDED, arg=[0, 1], timeout=PATIENCE_MS)


def lab_round(
    browser: Any, page: Any, code: str, index: int, name: str, runs: int, profile: bool
) -> dict[str, float]:
    cdp = page.context.new_cdp_session(page)
    if profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
    browser.start_tracing(page=page, categories=["devtools.timeline"])
    cpu = page.evaluate(MAIN_CPU_IN_PAGE)
    hold = page.evaluate(HOLD, [code, index])
    kernel_cpu = page.evaluate(MAIN_CPU_IN_PAGE) - cpu
    if name == "agentnb":
        page.wait_for_function(ENDED, arg=[index, min(LAB_SHOWS, runs)], timeout=PATIENCE_MS)
    page.wait_for_timeout(1000)
    trace = browser.stop_tracing()
    if profile:
        for line in inclusive_times(cdp.send("Profiler.stop")["profile"]):
            print(line)
    return {"hold": hold, "cpu": kernel_cpu, "page_cpu": page_cpu(trace)}


def page_cpu(trace: bytes) -> float:
    """CPU seconds of the page's main thread in a Chromium trace: its top-level tasks' thread
    time."""
    events = json.loads(trace)["traceEvents"]
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e["args"]["name"] == "CrRendererMain"
    }
    tasks = sorted(
        (e for e in events if (e["pid"], e["tid"]) in main and e.get("ph") == "X" and "tdur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    total, busy_until = 0, -1
    for task in tasks:
        if task["ts"] >= busy_until:  # not inside the task before it
            total += task["tdur"]
            busy_until = task["ts"] + task["dur"]
    return total / 1e6


def inclusive_times(profile: dict[str, Any], limit: int = 40) -> list[str]:
    """A CDP CPU profile's functions by inclusive time (ms), largest first."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    spent: dict[int, float] = defaultdict(float)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        spent[node_id] += delta / 1000
    inclusive: dict[str, float] = defaultdict(float)
    for node_id, ms in spent.items():
        seen: set[str] = set()
        at: int | None = node_id
        while at is not None:
            frame = nodes[at]["callFrame"]
            name = f"{frame['functionName'] or '(anon)'} {frame['url'].rsplit('/', 1)[-1][:30]}"
            if name not in seen:
                inclusive[name] += ms
                seen.add(name)
            at = parent.get(at)
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:limit]
    return [f"{ms:>8.0f} ms  {name}" for name, ms in ranked]


@contextmanager
def jupyterlab(root: Path, server: Any, tmp: Path) -> Iterator[str]:
    """JupyterLab on a free 127.0.0.1 port with an empty token, its kernels' default
    connection the built-in server ``server``; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        **connection(server),
        "AGENTNB_HISTORY": str(tmp / "history.sqlite3"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
    }
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
        yield url
    finally:
        lab.terminate()
        lab.wait(PATIENCE_S)


def connection(server: Any) -> dict[str, str]:
    return {
        "AGENTNB_PROVIDER": "seekrflow",
        "AGENTNB_BASE_URL": server.url_for("seekrflow"),
        "AGENTNB_API_KEY": server.api_key,
    }


def kernel_rounds(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """The same cells in a jupyter_client kernel: no page, nothing answers its widgets."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CELLS}
    with start_server() as server:
        os.environ.update(connection(server))
        with kernel() as client:
            timed_reply(client, SETUP)
            for _ in range(args.rounds):
                for name, cell in CELLS.items():
                    cpu = main_cpu(client)
                    started = time.perf_counter()
                    client.execute(cell.format(n=args.runs))
                    timed_reply(client, "1+1")
                    hold = time.perf_counter() - started
                    results[name].append({"hold": hold, "cpu": main_cpu(client) - cpu})
                    if name == "agentnb":
                        timed_reply(client, f"[h.wait({PATIENCE_S:g}) for h in handles]")
    return results


def main_cpu(client: Any) -> float:
    _, reply = timed_reply(client, "pass", expressions={"cpu": MAIN_CPU})
    return float(reply["cpu"]["data"]["text/plain"])


def spread(rows: list[dict[str, float]], key: str) -> str:
    values = [row[key] for row in rows]
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def report(args: argparse.Namespace, lab: dict[str, Any], bare: dict[str, Any]) -> None:
    print(f"\n{args.runs} displayed runs in one cell; median (min–max) of {args.rounds} rounds")
    print("| | Lab: hold | Lab: page CPU | Lab: kernel main-thread CPU | "
          "no browser: hold | no browser: kernel main-thread CPU |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name in CELLS:
        lab_rows, bare_rows = lab.get(name, []), bare.get(name, [])
        print(f"| {name} | {spread(lab_rows, 'hold')} | {spread(lab_rows, 'page_cpu')} | "
              f"{spread(lab_rows, 'cpu')} | {spread(bare_rows, 'hold')} | "
              f"{spread(bare_rows, 'cpu')} |")  # fmt: skip
    hold = statistics.median(row["hold"] for row in lab["agentnb"]) if lab else None
    if hold is not None:
        verdict = "PASS" if hold <= 1.0 else "FAIL"
        print(f"\n{verdict}  {args.runs} displayed asks in JupyterLab hold the kernel ≤ 1 s: "
              f"{hold:.2f} s (median)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-lab", action="store_true", help="only the kernel with no browser")
    parser.add_argument("--no-kernel", action="store_true", help="only JupyterLab")
    parser.add_argument(
        "--profile-page", action="store_true", help="the page's JavaScript, last agentnb round"
    )
    parser.add_argument("--smoke", action="store_true", help="one run, one round")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.rounds = 1, 1
    lab = {} if args.no_lab else lab_rounds(args)
    bare = {} if args.no_kernel else kernel_rounds(args)
    report(args, lab, bare)


if __name__ == "__main__":
    main()
