"""Helpers of the tracing tests: the spans a test's runs produced, the default recorder
with tracing added (until the package root adds it itself), and a local OTLP collector."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentnb._core.recorder import RunRecorder
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._tracing import tracing_recorder

__all__ = ["OtlpReceiver", "ReceivedSpan", "Traced", "with_tracing"]


@dataclass
class Traced:
    """The spans of the runs traced so far, and the provider they went through."""

    exporter: InMemorySpanExporter
    provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name.startswith(prefix)]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        assert parent.context is not None
        own = parent.context.span_id
        return [s for s in self.spans() if s.parent is not None and s.parent.span_id == own]


class _Both:
    """The history and tracing as one recorder (what the integration diff's
    ``combine_recorders`` does in ``agentnb/__init__``)."""

    def __init__(self, first: RunRecorder, second: RunRecorder) -> None:
        self.recorders = (first, second)

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        for recorder in self.recorders:
            recorder.record_start(run, request, base_url=base_url)

    def record_progress(self, run: Run) -> None:
        for recorder in self.recorders:
            recorder.record_progress(run)

    def record_end(self, run: Run) -> None:
        for recorder in self.recorders:
            recorder.record_end(run)


def with_tracing(factory: Callable[[], RunRecorder | None]) -> Callable[[], RunRecorder | None]:
    """The default recorders plus tracing, unless the package root combines them already."""

    def default() -> RunRecorder | None:
        recorder, tracing = factory(), tracing_recorder()
        if tracing is None or tracing in getattr(recorder, "recorders", (recorder,)):
            return recorder
        return tracing if recorder is None else _Both(recorder, tracing)

    return default


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a collector received it over OTLP/HTTP."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


class OtlpReceiver:
    """A minimal OTLP/HTTP traces collector on 127.0.0.1 (protobuf, ``POST /v1/traces``),
    keeping what it receives: enough to prove spans really leave over the wire. It takes
    Phoenix's annotations too (JSON, ``POST /v1/span_annotations``, on the same port as
    Phoenix serves them); ``bodies`` holds every request body, as sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.annotations: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.bodies.append(body)
                if self.path == "/v1/span_annotations":
                    receiver.annotations.extend(json.loads(body)["data"])
                    kind, reply = "application/json", b'{"data": []}'
                else:
                    receiver.receive(self.path, body)
                    kind = "application/x-protobuf"
                    reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def receive(self, path: str, body: bytes) -> None:
        assert path == "/v1/traces", path
        self.requests += 1
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = _values(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes=_values(span.attributes),
                            resource=resource,
                        )
                    )


def _values(attributes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in attributes:
        kind = item.value.WhichOneof("value")
        value = getattr(item.value, kind) if kind else None
        if kind == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        out[item.key] = value
    return out
