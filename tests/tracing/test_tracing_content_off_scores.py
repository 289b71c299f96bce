"""Content off means off for scores too: with tracing's content capture off, a score's
comment (an evaluator's, a person's) is not sent as the Phoenix annotation's explanation,
and the ready ``json_schema`` evaluator's comment never quotes the answer. Everything that
leaves the process is captured by a collector on 127.0.0.1 standing in for Phoenix (its
OTLP/HTTP ``/v1/traces`` and its REST ``/v1/span_annotations``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

import agentnb
from agentnb import AgentClient
from agentnb._history import close_default_stores, default_store
from agentnb._tracing import configure_tracing, flush_tracing
from agentnb.evaluators import json_schema
from agentnb.server import ServerHandle

pytestmark = pytest.mark.usefixtures("tracing_seam")

SECRET = "PINEAPPLE-42"
ANSWER = json.dumps({"account": SECRET})
SCHEMA = {"type": "object", "properties": {"account": {"type": "integer"}}}


class FakePhoenix:
    """Keeps every request body it is sent: spans (protobuf) and annotations (JSON)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                bodies.append((self.path, body))
                if self.path == "/v1/traces":
                    kind, reply = "application/x-protobuf", ExportTraceServiceResponse()
                    sent = reply.SerializeToString()
                else:
                    kind, sent = "application/json", b'{"data": []}'
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(sent)))
                self.end_headers()
                self.wfile.write(sent)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def annotations(self) -> list[dict[str, Any]]:
        return [
            item
            for path, body in self.bodies
            if path == "/v1/span_annotations"
            for item in json.loads(body)["data"]
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def phoenix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePhoenix]:
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    fake = FakePhoenix()
    try:
        yield fake
    finally:
        fake.close()
        close_default_stores()


def scored_run(server: ServerHandle, phoenix: FakePhoenix, *, content: bool) -> str:
    """An answer holding the secret, scored by ``json_schema`` and by a person quoting it:
    the json_schema score's comment."""
    configure_tracing(endpoint=phoenix.url, scores="phoenix", content=content)
    client = AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key
    )
    with client:
        run = client.run("echo", ANSWER)
    assert run.text == ANSWER
    store = default_store()
    assert store is not None and store.flush(timeout=30)
    agentnb.evaluate(agentnb.runs(limit=1), json_schema(SCHEMA))
    agentnb.score(run.local_id, "verdict", False, f"it gave away {SECRET}")
    assert flush_tracing(timeout=30)
    [score] = agentnb.scores(agentnb.runs(limit=1), "json_schema")
    assert score.value is False and score.comment is not None
    return score.comment


def test_with_content_off_no_comment_leaves_the_process(
    server: ServerHandle, phoenix: FakePhoenix
) -> None:
    comment = scored_run(server, phoenix, content=False)
    assert SECRET not in comment  # the evaluator says where, not what
    assert comment == "the answer does not match the schema: properties/account/type"
    sent = phoenix.annotations()
    assert sorted(a["name"] for a in sent) == ["json_schema", "verdict"]
    assert all("explanation" not in a["result"] for a in sent)
    assert phoenix.bodies and all(SECRET.encode() not in body for _, body in phoenix.bodies)


def test_with_content_on_a_comment_is_the_annotations_explanation(
    server: ServerHandle, phoenix: FakePhoenix
) -> None:
    comment = scored_run(server, phoenix, content=True)
    explained = {a["name"]: a["result"].get("explanation") for a in phoenix.annotations()}
    assert explained == {"json_schema": comment, "verdict": f"it gave away {SECRET}"}
