"""Bytes → typed events throughput: agentnb's SSEDecoder against httpx-sse and a bare floor.

Run: ``python benchmarks/bench_sse.py``. Every pipeline starts from the same raw byte chunks and
ends with one typed object per event:

- agentnb: ``SSEDecoder.feed`` + ``pydantic_core.from_json`` + ``agentnb.events.TextDelta``.
- httpx-sse: what ``EventSource.iter_sse`` does (incremental UTF-8 text decoding,
  ``SSELineDecoder``, ``SSEDecoder.decode`` per line) + ``json.loads`` + a pydantic model of the
  frame, as a user would write it.
- floor: bare ``split(b"\\n\\n")`` framing (LF only, no spec rules) + the same JSON and
  ``TextDelta`` as agentnb: what is left when the decoder does nothing.

Targets: agentnb ≥ 2× httpx-sse on 100k small events (a), ≥ 1× on one 8 MiB event in 1 KiB
chunks (b). Small events are timed as they arrive from a fast stream (reads of 16 KiB holding
many events) and, without a target, one event per chunk (a'): a paced stream, where every chunk
pays the per-call costs and the rate is set by the server anyway; there even the floor stays
under 2×, because building the TextDelta models costs more than the framing.
"""

from __future__ import annotations

import codecs
import gc
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar, cast

import httpx
from httpx_sse import EventSource
from pydantic import BaseModel
from pydantic_core import from_json

from agentnb.events import TextDelta
from agentnb.sse import SSEDecoder

SMALL_EVENTS = 100_000
BIG_EVENT_BYTES = 8 * 1024 * 1024
BIG_EVENT_CHUNK = 1024
NETWORK_CHUNK = 16 * 1024
REPEATS = 5
SMALL_TARGET = 2.0
BIG_TARGET = 1.0


# --- what a user of httpx-sse would write: a pydantic model per frame shape -----------------


class VercelTextDeltaFrame(BaseModel):
    type: str
    id: str
    delta: str


class ChunkDelta(BaseModel):
    role: str | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: str
    created: int
    model: str
    choices: list[ChunkChoice]


# --- workloads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    chunks: list[bytes]
    events: int
    target: float | None
    user_model: type[BaseModel]
    delta_of_dict: Callable[[Any], str]
    delta_of_model: Callable[[Any], str]

    @property
    def size(self) -> int:
        return sum(map(len, self.chunks))


def vercel_frame(n: int) -> bytes:
    payload = {"type": "text-delta", "id": "t", "delta": f"hello {n} "}
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def openai_frame(n: int) -> bytes:
    payload = {
        "id": "chatcmpl-9xYz",
        "object": "chat.completion.chunk",
        "created": 1_718_000_000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": f"token{n} "}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def vercel_delta(obj: Any) -> str:
    return str(obj["delta"])


def openai_delta(obj: Any) -> str:
    return str(obj["choices"][0]["delta"]["content"])


def workloads() -> list[Workload]:
    vercel = b"".join(vercel_frame(n) for n in range(SMALL_EVENTS))
    openai = b"".join(openai_frame(n) for n in range(SMALL_EVENTS))
    big_payload = {"type": "text-delta", "id": "t", "delta": "x" * (BIG_EVENT_BYTES - 60)}
    big = b"data: " + json.dumps(big_payload, separators=(",", ":")).encode() + b"\n\n"
    return [
        Workload(
            f"(a) {SMALL_EVENTS // 1000}k Vercel text-delta, {NETWORK_CHUNK // 1024} KiB chunks",
            split_every(vercel, NETWORK_CHUNK),
            SMALL_EVENTS,
            SMALL_TARGET,
            VercelTextDeltaFrame,
            vercel_delta,
            lambda m: str(m.delta),
        ),
        Workload(
            f"(a') {SMALL_EVENTS // 1000}k Vercel text-delta, one chunk per event",
            [vercel_frame(n) for n in range(SMALL_EVENTS)],
            SMALL_EVENTS,
            None,
            VercelTextDeltaFrame,
            vercel_delta,
            lambda m: str(m.delta),
        ),
        Workload(
            f"(a) {SMALL_EVENTS // 1000}k OpenAI chat.completion.chunk, "
            f"{NETWORK_CHUNK // 1024} KiB chunks",
            split_every(openai, NETWORK_CHUNK),
            SMALL_EVENTS,
            SMALL_TARGET,
            ChatCompletionChunk,
            openai_delta,
            lambda m: str(m.choices[0].delta.content),
        ),
        Workload(
            f"(b) one {BIG_EVENT_BYTES // 2**20} MiB event, {BIG_EVENT_CHUNK // 1024} KiB chunks",
            split_every(big, BIG_EVENT_CHUNK),
            1,
            BIG_TARGET,
            VercelTextDeltaFrame,
            vercel_delta,
            lambda m: str(m.delta),
        ),
    ]


# --- pipelines: chunks in, typed events out --------------------------------------------------


# Each pipeline hands every typed event to a consumer; the timed runs count them, so that
# holding 100k objects (and the garbage collector's passes over them) is not measured.


def agentnb_pipeline(work: Workload, consume: Callable[[Any], object]) -> None:
    decoder = SSEDecoder()
    delta_of = work.delta_of_dict
    for chunk in work.chunks:
        for sse in decoder.feed(chunk):
            consume(TextDelta(delta=delta_of(from_json(sse.data))))
    decoder.end()


class ReplayedResponse:
    """Just enough of ``httpx.Response`` for ``httpx_sse.EventSource``: headers and iter_text().

    ``iter_text`` decodes as httpx's TextDecoder does (an incremental UTF-8 decoder with
    errors="replace"), so ``EventSource.iter_sse`` runs its own code exactly as on a response.
    """

    headers: ClassVar[dict[str, str]] = {"content-type": "text/event-stream"}

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def iter_text(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in self._chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        text = decoder.decode(b"", True)
        if text:
            yield text


def httpx_sse_pipeline(work: Workload, consume: Callable[[Any], object]) -> None:
    model = work.user_model
    source = EventSource(cast(httpx.Response, ReplayedResponse(work.chunks)))
    for sse in source.iter_sse():
        consume(model.model_validate(json.loads(sse.data)))


def floor_pipeline(work: Workload, consume: Callable[[Any], object]) -> None:
    delta_of = work.delta_of_dict
    pending: list[bytes] = []
    last = b""
    for chunk in work.chunks:
        if b"\n\n" not in last + chunk[:1] and b"\n\n" not in chunk:
            pending.append(chunk)
            last = chunk[-1:]
            continue
        pending.append(chunk)
        frames = b"".join(pending).split(b"\n\n")
        tail = frames.pop()
        pending = [tail] if tail else []
        last = tail[-1:]
        for frame in frames:
            consume(TextDelta(delta=delta_of(from_json(frame[6:]))))


PIPELINES: dict[str, Callable[[Workload, Callable[[Any], object]], None]] = {
    "agentnb": agentnb_pipeline,
    "httpx-sse": httpx_sse_pipeline,
    "floor (split)": floor_pipeline,
}


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: object) -> None:
        self.count += 1


def best_times(work: Workload) -> dict[str, float]:
    """Each pipeline's best time over REPEATS rounds, the pipelines taking turns in each round."""
    best = dict.fromkeys(PIPELINES, float("inf"))
    for _ in range(REPEATS):
        for name, pipeline in PIPELINES.items():
            counter = Counter()
            gc.collect()
            started = time.perf_counter()
            pipeline(work, counter)
            best[name] = min(best[name], time.perf_counter() - started)
            if counter.count != work.events:
                raise SystemExit(f"{name} gave {counter.count} events, not {work.events}")
    return best


def check_same_output(work: Workload) -> None:
    ours: list[str] = []
    theirs: list[str] = []
    agentnb_pipeline(work, lambda event: ours.append(event.delta))
    httpx_sse_pipeline(work, lambda model: theirs.append(work.delta_of_model(model)))
    if ours != theirs:
        raise SystemExit(f"agentnb and httpx-sse disagree on {work.name}")


def main() -> None:
    started = time.perf_counter()
    all_pass = True
    print(
        f"httpx-sse {version('httpx-sse')}, pydantic {version('pydantic')}, best of {REPEATS} runs"
    )
    print("MB = 10^6 input bytes; ratio = httpx-sse's time / this pipeline's time\n")
    header = f"{'pipeline':<16} {'seconds':>8} {'events/s':>12} {'MB/s':>8} {'vs httpx-sse':>13}"
    for work in workloads():
        check_same_output(work)
        times = best_times(work)
        httpx_time = times["httpx-sse"]
        print(f"{work.name}  ({work.size / 1e6:.1f} MB in {len(work.chunks):,} chunks)")
        print(header)
        for name, seconds in times.items():
            print(
                f"{name:<16} {seconds:>8.3f} {work.events / seconds:>12,.0f} "
                f"{work.size / seconds / 1e6:>8.1f} {httpx_time / seconds:>12.2f}×"
            )
        ratio = httpx_time / times["agentnb"]
        if work.target is None:
            print(f"=> agentnb {ratio:.2f}× httpx-sse (no target: see the note above)\n")
            continue
        passed = ratio >= work.target
        all_pass &= passed
        verdict = "PASS" if passed else "FAIL"
        print(f"=> agentnb {ratio:.2f}× httpx-sse, target ≥ {work.target:g}×: {verdict}\n")
    print(f"overall: {'PASS' if all_pass else 'FAIL'} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
