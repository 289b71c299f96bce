"""The chat cell in a real browser: delay from a delta reaching the kernel to it being in the
DOM, and the longest main-thread task while a long answer streams.

    python benchmarks/bench_widget_browser.py [--doc-kb 100]

Starts the demo agent server, JupyterLab on 127.0.0.1 (empty token) and Debian's Chromium
(headless, via Playwright), then runs two cells:

1. ``echo`` of "w0000 w0001 …" (12 KB, 5 ms per chunk). The kernel records when each text
   delta arrived (``event.received_at``, stamped by the client as the server's frame is read)
   and the page records when each word first shows in the DOM (MutationObserver); the
   latency of word k is DOM time minus kernel arrival time (same machine, same clock).
2. ``echo`` of a generated markdown document (headings, lists, tables, code; ``--doc-kb``)
   at 1 ms per chunk, while a PerformanceObserver collects long tasks (≥ 50 ms) and
   requestAnimationFrame measures the longest gap between frames.
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

from agentnb.server import start_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WORDS = 2000

SETUP = """
import json, os, time
import agentnb
from agentnb._client.client import AsyncAgentClient
from agentnb._core.handle import RunHandle

marks = []

def mark(run, event):
    if event is not None and event.type == "text_delta":
        marks.append((event.received_at, sum(p.length for p in run.parts if p.kind == "text")))

def start(message, delay_ms, listeners=()):
    client = AsyncAgentClient(
        "seekrflow",
        base_url=os.environ["AGENTNB_BASE_URL"],
        api_key=os.environ["AGENTNB_API_KEY"],
        headers={"X-AgentNB-Delay-Ms": str(delay_ms)},
    )
    stream = client.stream("echo", message)
    handle = RunHandle.start(lambda: stream, run=stream.run, listeners=listeners)
    return agentnb.show(handle)
"""

PANEL = """
window.__anbPanel = () => {
  for (const w of window.jupyterapp.shell.widgets("main")) {
    if (w.sessionContext && w.content && w.content.widgets) return w;
  }
  return null;
};
"""
READY = """
async () => {
  const app = window.jupyterapp;
  await app.started; await app.restored;
  const panel = window.__anbPanel();
  if (!panel) return "no notebook";
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : "no kernel";
}
"""
RUN = """
(index) => {
  const panel = window.__anbPanel();
  panel.content.activeCellIndex = index;
  window.jupyterapp.commands.execute("notebook:run-cell");
}
"""
WATCH_WORDS = """
(index) => {
  window.__seen = [];
  let last = -1;
  const observer = new MutationObserver(() => {
    const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
    const answer = cell && cell.querySelector(".anb-answer");
    if (!answer) return;
    const tail = answer.textContent.slice(-24);
    const found = tail.match(/w(\\d{4})/g);
    if (!found) return;
    const n = Number(found[found.length - 1].slice(1));
    if (n > last) { last = n; window.__seen.push([Date.now() / 1000, n]); }
  });
  observer.observe(document.querySelector(".jp-Notebook"),
    { subtree: true, childList: true, characterData: true });
}
"""
WATCH_JANK = """
() => {
  window.__long = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]);
  }).observe({ type: "longtask" });
  window.__gaps = [];
  window.__t0 = performance.now();
  let prev = performance.now();
  const tick = (now) => { window.__gaps.push(now - prev); prev = now; window.__raf = requestAnimationFrame(tick); };
  window.__raf = requestAnimationFrame(tick);
}
"""


def markdown_doc(kilobytes: int) -> str:
    parts: list[str] = []
    i = 0
    while sum(len(p) for p in parts) < kilobytes * 1000:
        parts.append(
            f"## Section {i}\n\nA paragraph about **GPUs** and `streams`, part {i}, with a "
            f"[link](https://example.com/{i}) and some more words to read.\n\n"
            f"- point one of {i}\n- point two of {i}\n  - nested\n\n"
            f"| metric | value |\n|---|--:|\n| tokens | {i * 7} |\n| ms | {i * 3} |\n\n"
            f"```python\ndef f{i}(x):\n    return x * {i}\n```\n\n"
        )
        i += 1
    return "".join(parts)[: kilobytes * 1000]


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
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    doc = markdown_doc(args.doc_kb)
    words = " ".join(f"w{i:04d}" for i in range(WORDS))
    with tempfile.TemporaryDirectory() as tmp, start_server(delay_ms=5) as server:
        root = Path(tmp) / "nb"
        root.mkdir()
        (root / "doc.md").write_text(doc)
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nb.cells = [
            nbformat.v4.new_code_cell(SETUP),
            nbformat.v4.new_code_cell(f"cell = start({words!r}, 5, listeners=(mark,))"),
            nbformat.v4.new_code_cell(
                "cell.wait(120)\nopen('marks.json', 'w').write(json.dumps(marks))"
            ),
            nbformat.v4.new_code_cell("big = start(open('doc.md').read(), 1)"),
        ]
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
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/api/status", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"{url}/lab/tree/bench.ipynb?reset")
                page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
                page.evaluate(f"() => {{ {PANEL} }}")
                while page.evaluate(READY) != "idle":
                    page.wait_for_timeout(250)
                results = measure(page, root)
                browser.close()
        finally:
            lab.terminate()
            lab.wait(15)
    report(results, len(doc))


def run_and_wait(page: Any, index: int) -> None:
    page.evaluate(RUN, index)
    page.wait_for_function(
        f"() => window.__anbPanel().content.widgets[{index}].model.executionCount !== null",
        timeout=120_000,
    )


def wait_completed(page: Any, index: int) -> None:
    page.wait_for_function(
        f"""() => {{
          const c = document.querySelectorAll('.jp-Notebook .jp-Cell')[{index}];
          const s = c && c.querySelector('.anb-state');
          return s && ['Completed', 'Failed', 'Interrupted'].includes(s.textContent);
        }}""",
        timeout=300_000,
    )


def measure(page: Any, root: Path) -> dict[str, Any]:
    run_and_wait(page, 0)
    page.evaluate(WATCH_WORDS, 1)
    run_and_wait(page, 1)
    wait_completed(page, 1)
    run_and_wait(page, 2)
    deadline = time.monotonic() + 120
    while not (root / "marks.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    if not (root / "marks.json").exists():
        outputs = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jp-Cell')).map(c => [c.querySelector('.jp-InputPrompt').innerText, (c.querySelector('.jp-OutputArea') || {innerText: ''}).innerText.slice(-300)])"
        )
        raise RuntimeError(f"the kernel wrote no marks; outputs: {outputs}")
    marks = json.loads((root / "marks.json").read_text())
    seen = page.evaluate("() => window.__seen")
    latencies = word_latencies(marks, seen)

    page.evaluate(WATCH_JANK)
    started = time.monotonic()
    run_and_wait(page, 3)
    wait_completed(page, 3)
    stream_seconds = time.monotonic() - started
    jank = page.evaluate(
        "() => { cancelAnimationFrame(window.__raf);"
        " return { long: window.__long, gaps: window.__gaps,"
        " end: performance.now() - window.__t0, t0: window.__t0 }; }"
    )
    if os.environ.get("BENCH_DEBUG"):
        print([(round(s - jank["t0"]), round(d)) for s, d in jank["long"]], round(jank["end"]))
    return {
        "latencies": latencies,
        "long_tasks": [duration for _, duration in jank["long"]],
        "gaps": jank["gaps"],
        "stream_seconds": stream_seconds,
    }


def word_latencies(marks: list[list[float]], seen: list[list[float]]) -> list[float]:
    """For each word first seen in the DOM: seen time minus the arrival of the delta that
    completed it in the kernel (word k ends at character 6k + 5)."""
    latencies: list[float] = []
    j = 0
    for dom_time, word in seen:
        end = 6 * int(word) + 5
        while j < len(marks) and marks[j][1] < end:
            j += 1
        if j < len(marks):
            latencies.append((dom_time - marks[j][0]) * 1000)
    return latencies


def report(results: dict[str, Any], doc_chars: int) -> None:
    lat = results["latencies"]
    gaps = results["gaps"]
    longs = results["long_tasks"]
    print("delta → DOM latency (echo, 12 KB at 5 ms per chunk)")
    print(f"{'samples':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    print(f"{len(lat):>10}{statistics.median(lat):>10.1f}{percentile(lat, 0.95):>10.1f}"
          f"{max(lat):>10.1f}")  # fmt: skip
    print(f"\nmain thread while a {doc_chars / 1000:.0f} KB markdown answer streams "
          f"({results['stream_seconds']:.1f} s)")  # fmt: skip
    print(f"{'long tasks':>12}{'longest ms':>12}{'frames':>10}{'p95 gap ms':>12}{'max gap ms':>12}")
    longest = f"{max(longs):.0f}" if longs else "<50"
    print(f"{len(longs):>12}{longest:>12}{len(gaps):>10}{percentile(gaps, 0.95):>12.1f}"
          f"{max(gaps):>12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
