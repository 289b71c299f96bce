"""What ``bench_widget_browser.py`` runs inside the page and the kernel: the notebook's code,
the page-side watchers (DOM arrival of markers, long tasks, frame gaps), and Chrome DevTools
Protocol helpers (GC + heap, live chat views, a CPU profile)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

MARKER = r"k(\d{6})"
"""Every streamed text carries markers k000000, k000001, ...; a marker's first appearance in
the DOM, against the kernel's arrival time of the delta that completed it, is one sample."""

SETUP = """
import json, os, time
import agentnb
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.handle import RunHandle

if os.environ.get("AGENTNB_BENCH_STATIC"):
    # --static: the chat cell's code and style from another build (A/B of front-end changes).
    from pathlib import Path
    from agentnb._display import widget as _widget
    _widget.STATIC = Path(os.environ["AGENTNB_BENCH_STATIC"])
    _widget._packed_bundle.cache_clear()
    _widget.AgentRuntime._css = (_widget.STATIC / "widget.css").read_text()

marks = {}

def marker(name):
    log = marks.setdefault(name, [])
    def mark(run, event):
        if event is not None and event.type == "text_delta":
            log.append((event.received_at, sum(p.length for p in run.parts if p.kind == "text")))
    return mark

def client(delay_ms):
    return AsyncAgentClient(
        "seekrflow",
        base_url=os.environ["AGENTNB_BASE_URL"],
        api_key=os.environ["AGENTNB_API_KEY"],
        headers={"X-AgentNB-Delay-Ms": str(delay_ms)},
    )

def start(message, delay_ms, name):
    stream = client(delay_ms).stream("echo", message)
    handle = RunHandle.start(lambda: stream, run=stream.run, listeners=(marker(name),))
    return agentnb.show(handle)

def save(name):
    open(name + '.json', 'w').write(json.dumps(marks[name]))

async def plain(message, delay_ms, every_s, name):
    # What a user writes without agentnb: one Markdown output, updated as the text grows.
    from IPython.display import Markdown, display
    log = marks.setdefault(name, [])
    shown = display(Markdown(""), display_id=True)
    text, last = "", 0.0
    async with client(delay_ms).stream("echo", message) as stream:
        async for event in stream:
            if event.type == "text_delta":
                text += event.delta
                log.append((event.received_at, len(text)))
                if time.time() - last >= every_s:
                    shown.update(Markdown(text))
                    last = time.time()
    shown.update(Markdown(text))
    save(name)
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
# Reads only the last two rendered blocks (chunked or not), so watching costs the page almost
# nothing.
WATCH_MARKERS = """
([index, selector]) => {
  if (window.__markObserver) window.__markObserver.disconnect();
  window.__seen = [];
  let last = -1, box = null;
  const cell = window.__anbPanel().content.widgets[index].node;
  window.__outputs = [];
  const observer = new MutationObserver((records) => {
    // When JupyterLab adds or replaces the cell's outputs (to place the long tasks in time).
    const outside = (r) => r.target.closest && r.target.closest(".jp-OutputArea")
      && !r.target.closest(".agentnb");
    if (records.some((r) => r.type === "childList" && outside(r))) {
      window.__outputs.push(performance.now() - window.__t0);
    }
    if (!box || !box.isConnected) {
      const all = cell.querySelectorAll(selector);
      box = all[all.length - 1];
    }
    if (!box) return;
    // The answer's blocks may be grouped in chunks: read the last block and the one before.
    const lastBlock = (parent) => {
      const el = parent && parent.lastElementChild;
      return el && el.classList.contains("anb-md-chunk") ? el.lastElementChild : el;
    };
    let el = lastBlock(box), tail = "";
    for (let i = 0; i < 2 && el; i++) {
      tail = el.textContent + tail;
      el = el.previousElementSibling
        || (el.parentElement !== box && lastBlock(el.parentElement.previousElementSibling));
    }
    let n = -1;
    for (const m of tail.matchAll(/k(\\d{6})/g)) n = Math.max(n, Number(m[1]));
    if (n > last) { last = n; window.__seen.push([Date.now() / 1000, n]); }
  });
  observer.observe(cell, { subtree: true, childList: true, characterData: true });
  window.__markObserver = observer;
}
"""
WATCH_JANK = """
() => {
  if (window.__longObserver) window.__longObserver.disconnect();
  if (window.__raf) cancelAnimationFrame(window.__raf);
  window.__long = [];
  window.__loaf = [];
  window.__longObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.entryType === "longtask") window.__long.push([e.startTime, e.duration]);
      else window.__loaf.push({ duration: e.duration,
        layout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
        scripts: e.scripts.map((s) => [s.sourceFunctionName || s.invoker || "?",
          Math.round(s.duration), Math.round(s.forcedStyleAndLayoutDuration || 0)]) });
    }
  });
  window.__longObserver.observe({ type: "longtask" });
  try { window.__longObserver.observe({ type: "long-animation-frame" }); } catch (e) {}
  window.__gaps = [];
  window.__t0 = performance.now();
  let prev = performance.now();
  const tick = (now) => { window.__gaps.push(now - prev); prev = now; window.__raf = requestAnimationFrame(tick); };
  window.__raf = requestAnimationFrame(tick);
}
"""
STOP_JANK = """
() => {
  cancelAnimationFrame(window.__raf);
  window.__longObserver.disconnect();
  if (window.__markObserver) window.__markObserver.disconnect();
  return { long: window.__long.map(([start, ms]) => [start - window.__t0, ms]),
    gaps: window.__gaps, loaf: window.__loaf, seen: window.__seen, outputs: window.__outputs };
}
"""
STATES = """
(index) => Array.from(window.__anbPanel().content.widgets[index].node
  .querySelectorAll('.anb-state')).map((s) => s.textContent)
"""
COUNT_ROOTS = """
function () {
  let all = 0, attached = 0;
  for (const el of this) {
    if (el.classList && el.classList.contains("anb-root")) { all++; if (el.isConnected) attached++; }
  }
  return [all, attached];
}
"""


def markdown_doc(kilobytes: int) -> str:
    """Headings, paragraphs, nested lists, tables and code; a marker in each block."""
    parts: list[str] = []
    size, i, k = 0, 0, 0
    while size < kilobytes * 1000:
        m = [f"k{n:06d}" for n in range(k, k + 4)]
        k += 4
        part = (
            f"## Section {i}\n\nA paragraph about **GPUs** and `streams`, part {m[0]}, with a "
            f"[link](https://example.com/{i}) and some more words to read.\n\n"
            f"- point one of {m[1]}\n- point two of {i}\n  - nested\n\n"
            f"| metric | value |\n|---|--:|\n| tokens | {i * 7} |\n| ms | {m[2]} |\n\n"
            f"```python\ndef f{i}(x):\n    return x * {i}  # {m[3]}\n```\n\n"
        )
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)


def marker_ends(text: str) -> list[int]:
    """Offset just past each marker k, indexed by k."""
    ends: list[int] = []
    at = 0
    while (at := text.find(f"k{len(ends):06d}", at)) >= 0:
        at += 7
        ends.append(at)
    return ends


def latencies(marks: list[list[float]], seen: list[list[float]], ends: list[int]) -> list[float]:
    """For each marker first seen in the DOM: seen time minus the kernel arrival of the delta
    that completed it (ms)."""
    out: list[float] = []
    j = 0
    for dom_time, k in seen:
        while j < len(marks) and marks[j][1] < ends[int(k)]:
            j += 1
        if j < len(marks):
            out.append((dom_time - marks[j][0]) * 1000)
    return out


def heap_and_views(cdp: Any) -> dict[str, float]:
    """After a forced GC: JS heap used (MB), DOM nodes, DOM event listeners, and the chat views'
    root elements still in memory (all, and those on the page)."""
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    proto = cdp.send("Runtime.evaluate", {"expression": "HTMLDivElement.prototype"})
    found = cdp.send("Runtime.queryObjects", {"prototypeObjectId": proto["result"]["objectId"]})
    counted = cdp.send(
        "Runtime.callFunctionOn",
        {
            "objectId": found["objects"]["objectId"],
            "functionDeclaration": COUNT_ROOTS,
            "returnByValue": True,
        },
    )["result"]["value"]
    return {
        "heap_mb": metrics["JSHeapUsedSize"] / 1e6,
        "nodes": metrics["Nodes"],
        "listeners": metrics["JSEventListeners"],
        "roots": counted[0],
        "roots_attached": counted[1],
    }


def top_self_time(profile: dict[str, Any], limit: int = 12) -> list[tuple[str, float]]:
    """A CDP CPU profile's functions by self time (ms), largest first."""
    interval: dict[int, float] = defaultdict(float)
    samples, deltas = profile.get("samples", []), profile.get("timeDeltas", [])
    for node_id, delta in zip(samples, deltas, strict=False):
        interval[node_id] += delta / 1000
    by_name: dict[str, float] = defaultdict(float)
    for node in profile["nodes"]:
        frame = node["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1][:40]
        name = f"{frame['functionName'] or '(anon)'} {url}:{frame['lineNumber']}:{frame['columnNumber']}"
        by_name[name] += interval.get(node["id"], 0.0)
    return sorted(by_name.items(), key=lambda item: -item[1])[:limit]
