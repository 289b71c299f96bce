"""Traffic to the browser for one long streamed answer: agentnb's coalesced protocol vs the
naive widget that sets its whole text trait on every delta.

    python benchmarks/bench_widget_protocol.py [--chars 100000] [--deltas 20000] [--seconds 3]

The stream is replayed on agentnb's background loop at a steady pace (``--seconds`` for the
whole answer) and the messages the ChatCell sends are captured at the widget's ``send``. The
naive figures are computed exactly (its message for delta k carries the first k deltas as
JSON). "Envelope" adds the Jupyter message around each comm message (header, parent header,
metadata: about 600 bytes as ipykernel sends it). Last, the state a chat cell opens with (its
comm_open), and the runtime widget's, which a kernel's first cell opens once. Then ``--cells``
chat cells streaming at once, each with a view on screen, with a view out of sight (scrolled
away), and with no view at all (behind JupyterLab's "Show more outputs", or on no page): the
messages they send together, the transcripts they write included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

from agentnb._core.handle import RunHandle
from agentnb._core.run import Run
from agentnb._display.widget import ChatCell, shared_runtime
from agentnb.events import Event, RunCompleted, TextDelta

ENVELOPE = 600


class PacedStream:
    def __init__(self, deltas: list[str], seconds: float) -> None:
        self.run = Run(agent="writer", message="benchmark")
        self.deltas = deltas
        self.seconds = seconds

    async def __aenter__(self) -> PacedStream:
        self.run.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> Any:
        return self._events()

    async def _events(self) -> Any:
        start = time.monotonic()
        per_delta = self.seconds / len(self.deltas)
        events: list[Event] = [TextDelta(delta=d) for d in self.deltas]
        events.append(RunCompleted())
        for i, event in enumerate(events):
            due = start + i * per_delta
            delay = due - time.monotonic()
            if delay > 0.001:
                await asyncio.sleep(delay)
            stamped = event.model_copy(update={"seq": i, "received_at": time.time()})
            self.run.apply(stamped)
            yield stamped


def make_deltas(chars: int, count: int) -> list[str]:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "and",
        "streams",
        "markdown\n",
    ]
    text = ""
    i = 0
    while len(text) < chars:
        text += words[i % len(words)] + " "
        i += 1
    text = text[:chars]
    size = chars // count
    return [text[k * size : (k + 1) * size] for k in range(count - 1)] + [
        text[(count - 1) * size :]
    ]


def run_agentnb(deltas: list[str], seconds: float) -> dict[str, Any]:
    sent: list[tuple[float, int]] = []
    lock = threading.Lock()
    cell = ChatCell()

    def capture(content: dict[str, Any], buffers: Any = None) -> None:
        with lock:
            sent.append((time.monotonic(), len(json.dumps(content, ensure_ascii=False))))

    cell.send = capture  # type: ignore[method-assign]
    # a view on screen, as the page's says (a cell no view shows gets a frame a second)
    cell._on_view_message(cell, {"kind": "seen", "view": "bench", "seen": True}, [])
    trait_bytes: list[int] = []
    cell.observe(
        lambda change: trait_bytes.append(len(json.dumps(change["new"], ensure_ascii=False))),
        names="transcript",
    )
    stream = PacedStream(deltas, seconds)
    began = time.monotonic()
    handle = RunHandle.start(lambda: stream, run=stream.run)
    cell.add(handle)
    handle.wait(seconds * 10 + 30)
    elapsed = time.monotonic() - began
    time.sleep(0.2)
    per_second = Counter(int(t - began) for t, _ in sent)
    return {
        "messages": len(sent) + len(trait_bytes),
        "custom": len(sent),
        "traits": len(trait_bytes),
        "bytes": sum(b for _, b in sent) + sum(trait_bytes),
        "custom_bytes": sum(b for _, b in sent),
        "trait_bytes": sum(trait_bytes),
        "max_per_s": max(per_second.values()),
        "elapsed": elapsed,
    }


def paced_handle(deltas: list[str], seconds: float) -> RunHandle:
    stream = PacedStream(deltas, seconds)
    return RunHandle.start(lambda: stream, run=stream.run)


def run_many(
    cells: int, deltas: list[str], seconds: float, *, seen: bool | None
) -> dict[str, float]:
    """``cells`` chat cells streaming the same answer at once, each with a view on screen
    (``seen``), out of sight (False) or none at all (None: behind "Show more outputs", or on
    no page): the messages they send, in all and a second."""
    sent = [0]
    lock = threading.Lock()

    def capture(content: object, buffers: Any = None) -> None:
        with lock:
            sent[0] += 1

    shown = [ChatCell() for _ in range(cells)]
    for cell in shown:
        cell.send = capture  # type: ignore[method-assign]
        cell.observe(lambda change: capture({}), names="transcript")
        if seen is not None:  # the view says it exists, and whether it is on screen
            cell._on_view_message(cell, {"kind": "seen", "view": "bench", "seen": seen}, [])
    began = time.monotonic()
    handles = []
    for cell in shown:
        handle = paced_handle(deltas, seconds)
        handles.append(handle)
        cell.add(handle)
    for handle in handles:
        handle.wait(seconds * 20 + 60)
    elapsed = time.monotonic() - began
    time.sleep(0.2)
    return {"messages": sent[0], "per_s": sent[0] / elapsed, "elapsed": elapsed}


def run_naive(deltas: list[str]) -> dict[str, Any]:
    # message k: {"method": "update", "state": {"text": <first k deltas>}, "buffer_paths": []}
    overhead = len(json.dumps({"method": "update", "state": {"text": ""}, "buffer_paths": []}))
    total = 0
    prefix_json = 0
    for delta in deltas:
        prefix_json += len(json.dumps(delta, ensure_ascii=False)) - 2
        total += overhead + prefix_json
    return {"messages": len(deltas), "bytes": total}


def opening_state() -> dict[str, int]:
    """Bytes of state (as JSON) a chat cell and the kernel's runtime widget open with."""
    cell = ChatCell()
    return {
        "cell": len(json.dumps(cell.get_state(), ensure_ascii=False)),
        "runtime": len(json.dumps(shared_runtime().get_state(), ensure_ascii=False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--cells", type=int, default=50, help="chat cells streaming at once, in sight or not"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.chars, args.deltas, args.seconds, args.cells = 2_000, 200, 0.3, 3
    deltas = make_deltas(args.chars, args.deltas)
    answer_json = len(json.dumps("".join(deltas), ensure_ascii=False))
    ours = run_agentnb(deltas, args.seconds)
    naive = run_naive(deltas)
    naive_rate = args.deltas / args.seconds

    print(
        f"{args.chars:,} characters in {args.deltas:,} deltas over {ours['elapsed']:.1f} s "
        f"(answer as JSON: {answer_json:,} bytes)\n"
    )
    header = f"{'approach':<34}{'messages':>10}{'max msg/s':>11}{'bytes':>16}{'+ envelope':>16}"
    print(header)
    print("-" * len(header))
    ours_env = ours["bytes"] + ENVELOPE * ours["messages"]
    naive_env = naive["bytes"] + ENVELOPE * naive["messages"]
    print(
        f"{'agentnb (coalesced deltas)':<34}{ours['messages']:>10,}{ours['max_per_s']:>11,}"
        f"{ours['bytes']:>16,}{ours_env:>16,}"
    )
    print(
        f"{'naive (whole text trait/delta)':<34}{naive['messages']:>10,}{naive_rate:>11,.0f}"
        f"{naive['bytes']:>16,}{naive_env:>16,}"
    )
    print(
        f"\nagentnb: {ours['custom']} delta/snapshot messages, {ours['custom_bytes']:,} bytes "
        f"({ours['custom_bytes'] / answer_json:.2f}x the answer, "
        f"{(ours['custom_bytes'] - answer_json) / max(1, ours['custom']):.0f} bytes of envelope "
        f"per frame); {ours['traits']} transcript writes (turn start, run end), "
        f"{ours['trait_bytes']:,} bytes; naive / agentnb = {naive['bytes'] / ours['bytes']:,.0f}x"
    )
    if naive_rate > 1000:
        print("naive rate exceeds Jupyter server's default iopub limit (1000 msg/s): text is lost")
    many = make_deltas(4_000, 400)  # a chunk every 25 ms, as the page benchmark's echo
    print(f"\n{args.cells} chat cells streaming at once (4,000 characters in 400 deltas each)")
    print(f"{'each cell':<34}{'messages':>10}{'a second':>10}{'took':>8}")
    kinds = ((True, "a view on screen"), (False, "a view out of sight"), (None, "no view"))
    for seen, where in kinds:
        got = run_many(args.cells, many, 10 * args.seconds / 3, seen=seen)
        print(f"{where:<34}{got['messages']:>10,}{got['per_s']:>10,.0f}{got['elapsed']:>7.1f}s")
    opened = opening_state()
    cell, runtime = opened["cell"], opened["runtime"]
    print(
        f"\nopening a chat cell: {cell:,} bytes of state; the runtime (the widget's "
        f"code and style, once per kernel): {runtime:,} bytes"
    )
    print(f"\n{'state sent (and saved) for chat cells':<40}{'agentnb':>12}{'code per cell':>15}")
    for cells in (1, 2, 10, 50):
        ours_total = runtime + cells * cell
        per_cell_esm = cells * (runtime + cell)  # anywidget's default: _esm/_css in every cell
        print(f"{f'{cells} cell(s)':<40}{ours_total:>12,}{per_cell_esm:>15,}")


if __name__ == "__main__":
    main()
