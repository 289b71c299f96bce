"""SSE decoding speed: agentnb's SSEDecoder against httpx-sse, in one run.

    python benchmarks/bench_sse.py [--repeats 7] [--only decoder|pipeline]

1. Decoder: raw bytes in, one event object per event out, for the frame shapes agent platforms
   send: ``data:`` only (Vercel, OpenAI), ``id:`` + ``data:`` (Operativus, SeekrFlow with resume),
   ``event:`` + ``data:`` (run-agent.ai, runtools), ``id:`` + ``event:`` + ``data:``, a mix of the
   four (round robin), the last again with CRLF line ends, each as 100k small JSON events in
   4 KiB chunks; and one 8 MiB event in 1 KiB chunks.

   - agentnb: ``SSEDecoder.feed(chunk)`` for each chunk, then ``end()``.
   - httpx-sse: what ``EventSource.aiter_sse`` does for each chunk, written out as one plain loop:
     httpx's text decoding (an incremental UTF-8 decoder, errors="replace", as
     ``Response.aiter_text`` uses), ``SSELineDecoder.decode`` to split lines, and
     ``SSEDecoder.decode(line.rstrip("\\n"))`` per line; ``SSELineDecoder.flush`` at the end.
     Inlined and synchronous, this is the least httpx-sse can cost: the real ``aiter_sse`` adds
     two async generators per line on top.

   Both get the same bytes, must give the same events (type, data, id; checked first), and only
   count them: no event is kept, so neither pays for holding 100k objects.

2. Pipeline: bytes to typed events, each library used as a user would (kept from before):

   - agentnb: ``SSEDecoder.feed`` + ``pydantic_core.from_json`` + ``agentnb.events.TextDelta``.
   - httpx-sse: ``EventSource.iter_sse`` on a replayed response (incremental UTF-8 decoding,
     ``SSELineDecoder``, ``SSEDecoder.decode`` per line) + ``json.loads`` + a pydantic model of
     the frame, as a user would write it.
   - floor: bare ``split(b"\\n\\n")`` framing (LF only, no spec rules) + the same JSON and
     ``TextDelta`` as agentnb: what is left when the decoder does nothing.

   Small events are timed as they arrive from a fast stream (reads of 16 KiB holding many events)
   and one event per chunk (a'): a paced stream, where every chunk pays the per-call costs and
   the rate is set by the server anyway; there even the floor stays under 2x, because building
   the TextDelta models costs more than the framing.

The decoder's target: not slower than httpx-sse on any frame shape (issue 69), as a plain
loop over the spec's lines, as httpx-sse's is (the regex fast paths that once made it 2x
httpx-sse are retired: decoding is a few percent at most of what an event costs end to end,
``bench_load.py``). Times are the best of --repeats rounds, the contenders taking turns in
each round, so that a busy machine slows both alike; ratio = httpx-sse's time / agentnb's
time.
"""

from __future__ import annotations

import argparse
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
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder
from pydantic import BaseModel
from pydantic_core import from_json

from agentnb.events import TextDelta
from agentnb.sse import SSEDecoder

REPEATS = 7

# --- 1. the decoder alone, on the frame shapes platforms send ---------------------------------

SHAPE_EVENTS = 100_000
SHAPE_CHUNK = 4 * 1024
BIG_EVENT_BYTES = 8 * 1024 * 1024
BIG_EVENT_CHUNK = 1024

# The deltas of a streamed answer: short, mostly ASCII, the odd JSON escape.
WORDS = (
    "Hel", "lo", "!", " NVDA", " closed", " at", " $", "135", ".", "42", ",", " up", " 3", ".",
    "1", "%", " this", " week", ".", "\n\n", "**", "Why", "**", ":", " strong", " \"AI\"",
    " demand", " and", " a", " beat", " on", " earnings", " —", " see", " the", " table", ".",
)  # fmt: skip


def _frame(fields: list[str], payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return ("\n".join([*fields, f"data: {data}"]) + "\n\n").encode()


def data_frame(n: int) -> bytes:
    """Vercel AI SDK UI message stream (OpenAI's chat.completion.chunk has the same shape)."""
    return _frame([], {"type": "text-delta", "id": "txt-0", "delta": WORDS[n % len(WORDS)]})


def id_data_frame(n: int) -> bytes:
    """Operativus, streaming with resume: every frame carries ``id: <run>:<n>``."""
    at = 1_718_000_000_000 + 37 * n  # ms
    payload = {"event": "CONTENT_DELTA", "data": WORDS[n % len(WORDS)], "timestamp": at}
    return _frame([f"id: 7f3a9c2e-run:{n}"], payload)


def event_data_frame(n: int) -> bytes:
    """run-agent.ai: named events, no ids."""
    return _frame(["event: chunk"], {"content": WORDS[n % len(WORDS)], "index": n})


def id_event_data_frame(n: int) -> bytes:
    """Both: an id and an event name before the data."""
    payload = {"type": "text-delta", "delta": WORDS[n % len(WORDS)]}
    return _frame([f"id: {n}", "event: text-delta"], payload)


def mixed_frame(n: int) -> bytes:
    return SHAPES[n % len(SHAPES)](n)


def crlf_frame(n: int) -> bytes:
    return id_event_data_frame(n).replace(b"\n", b"\r\n")


SHAPES = (data_frame, id_data_frame, event_data_frame, id_event_data_frame)


@dataclass(frozen=True)
class Shape:
    name: str
    chunks: list[bytes]

    @property
    def size(self) -> int:
        return sum(map(len, self.chunks))


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def shapes() -> list[Shape]:
    def stream(frame: Callable[[int], bytes]) -> list[bytes]:
        return split_every(b"".join(frame(n) for n in range(SHAPE_EVENTS)), SHAPE_CHUNK)

    big_payload = {"type": "text-delta", "id": "t", "delta": "x" * (BIG_EVENT_BYTES - 60)}
    big = b"data: " + json.dumps(big_payload, separators=(",", ":")).encode() + b"\n\n"
    return [
        Shape("`data:` only (Vercel, OpenAI)", stream(data_frame)),
        Shape("`id:` + `data:` (Operativus, SeekrFlow with resume)", stream(id_data_frame)),
        Shape("`event:` + `data:` (run-agent.ai, runtools)", stream(event_data_frame)),
        Shape("`id:` + `event:` + `data:`", stream(id_event_data_frame)),
        Shape("mix of the four, round robin", stream(mixed_frame)),
        Shape("`id:` + `event:` + `data:`, CRLF line ends", stream(crlf_frame)),
        Shape(
            f"one {BIG_EVENT_BYTES // 2**20} MiB `data:` event, {BIG_EVENT_CHUNK // 1024} KiB chunks",
            split_every(big, BIG_EVENT_CHUNK),
        ),
    ]


def agentnb_decode(chunks: list[bytes], keep: list[Any] | None = None) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            count += 1
            if keep is not None:
                keep.append(event)
    decoder.end()
    return count


def httpx_sse_decode(chunks: list[bytes], keep: list[Any] | None = None) -> int:
    """``EventSource.aiter_sse`` written out: text decoding, line splitting, the decoder."""
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    line_decoder = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    count = 0
    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if text:
            for line in line_decoder.decode(text):
                event = decoder.decode(line.rstrip("\n"))
                if event is not None:
                    count += 1
                    if keep is not None:
                        keep.append(event)
    text = text_decoder.decode(b"", True)
    for line in [*(line_decoder.decode(text) if text else []), *line_decoder.flush()]:
        event = decoder.decode(line.rstrip("\n"))
        if event is not None:
            count += 1
            if keep is not None:
                keep.append(event)
    return count


DECODERS: dict[str, Callable[[list[bytes]], int]] = {
    "agentnb": agentnb_decode,
    "httpx-sse": httpx_sse_decode,
}


def same_events(shape: Shape) -> int:
    """Both decoders' events (type, data, id), checked equal; returns how many there are."""
    ours: list[Any] = []
    theirs: list[Any] = []
    agentnb_decode(shape.chunks, ours)
    httpx_sse_decode(shape.chunks, theirs)
    if [(e.event, e.data, e.id) for e in ours] != [(e.event, e.data, e.id) for e in theirs]:
        raise SystemExit(f"agentnb and httpx-sse disagree on {shape.name}")
    return len(ours)


def decoder_times(shape: Shape, events: int, repeats: int) -> dict[str, float]:
    """Each decoder's best time over ``repeats`` rounds, the two taking turns in each round."""
    best = dict.fromkeys(DECODERS, float("inf"))
    for _ in range(repeats):
        for name, decode in DECODERS.items():
            gc.collect()
            started = time.perf_counter()
            count = decode(shape.chunks)
            best[name] = min(best[name], time.perf_counter() - started)
            if count != events:
                raise SystemExit(f"{name} gave {count} events, not {events}")
    return best


def bench_decoder(repeats: int) -> None:
    print(
        f"## Decoder: bytes -> events ({SHAPE_EVENTS // 1000}k small JSON events in "
        f"{SHAPE_CHUNK // 1024} KiB chunks unless said)\n"
    )
    print("| frame shape (who sends it) | agentnb | httpx-sse | agentnb vs httpx-sse |")
    print("|---|---:|---:|---:|")
    for shape in shapes():
        events = same_events(shape)
        times = decoder_times(shape, events, repeats)
        ratio = times["httpx-sse"] / times["agentnb"]
        print(
            f"| {shape.name} | {_ms(times['agentnb'])} | {_ms(times['httpx-sse'])} | {ratio:.2f}× |"
        )
    print()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


# --- 2. the pipeline: bytes to typed events, as a user of each library would write it -------

SMALL_EVENTS = 100_000
NETWORK_CHUNK = 16 * 1024

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
            VercelTextDeltaFrame,
            vercel_delta,
            lambda m: str(m.delta),
        ),
        Workload(
            f"(a') {SMALL_EVENTS // 1000}k Vercel text-delta, one chunk per event",
            [vercel_frame(n) for n in range(SMALL_EVENTS)],
            SMALL_EVENTS,
            VercelTextDeltaFrame,
            vercel_delta,
            lambda m: str(m.delta),
        ),
        Workload(
            f"(a) {SMALL_EVENTS // 1000}k OpenAI chat.completion.chunk, "
            f"{NETWORK_CHUNK // 1024} KiB chunks",
            split_every(openai, NETWORK_CHUNK),
            SMALL_EVENTS,
            ChatCompletionChunk,
            openai_delta,
            lambda m: str(m.choices[0].delta.content),
        ),
        Workload(
            f"(b) one {BIG_EVENT_BYTES // 2**20} MiB event, {BIG_EVENT_CHUNK // 1024} KiB chunks",
            split_every(big, BIG_EVENT_CHUNK),
            1,
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


def best_times(work: Workload, repeats: int) -> dict[str, float]:
    """Each pipeline's best time over ``repeats`` rounds, the pipelines taking turns in each round."""
    best = dict.fromkeys(PIPELINES, float("inf"))
    for _ in range(repeats):
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


def bench_pipeline(repeats: int) -> None:
    print("## Pipeline: bytes -> typed events")
    print("MB = 10^6 input bytes; ratio = httpx-sse's time / this pipeline's time\n")
    header = f"{'pipeline':<16} {'seconds':>8} {'events/s':>12} {'MB/s':>8} {'vs httpx-sse':>13}"
    for work in workloads():
        check_same_output(work)
        times = best_times(work, repeats)
        httpx_time = times["httpx-sse"]
        print(f"{work.name}  ({work.size / 1e6:.1f} MB in {len(work.chunks):,} chunks)")
        print(header)
        for name, seconds in times.items():
            print(
                f"{name:<16} {seconds:>8.3f} {work.events / seconds:>12,.0f} "
                f"{work.size / seconds / 1e6:>8.1f} {httpx_time / seconds:>12.2f}×"
            )
        print(f"=> agentnb {httpx_time / times['agentnb']:.2f}× httpx-sse\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds; the best counts")
    parser.add_argument("--only", choices=["decoder", "pipeline"], help="run one part only")
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:  # a small load: the figures mean nothing, the code runs
        global SHAPE_EVENTS, SMALL_EVENTS, BIG_EVENT_BYTES
        args.repeats, SHAPE_EVENTS, SMALL_EVENTS, BIG_EVENT_BYTES = 1, 2_000, 2_000, 2**20
    started = time.perf_counter()
    print(
        f"httpx-sse {version('httpx-sse')}, pydantic {version('pydantic')}, "
        f"best of {args.repeats} rounds\n"
    )
    if args.only != "pipeline":
        bench_decoder(args.repeats)
    if args.only != "decoder":
        bench_pipeline(args.repeats)
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
