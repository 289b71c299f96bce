"""Content off means off for scores too: with tracing's content capture off, a score's
comment (an evaluator's, a person's) is not sent as the Phoenix annotation's explanation,
and the ready ``json_schema`` evaluator's comment never quotes the answer. Everything that
leaves the process is captured by a collector on 127.0.0.1 standing in for Phoenix (its
OTLP/HTTP ``/v1/traces`` and its REST ``/v1/span_annotations``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S
from tracing_testing import OtlpReceiver

import agentnb
import agentnb.evals
from agentnb import AgentClient
from agentnb._history import close_default_stores, default_store
from agentnb._tracing import configure_tracing, flush_tracing
from agentnb.evals import json_schema
from agentnb.server import ServerHandle

pytestmark = pytest.mark.usefixtures("tracing_seam")

SECRET = "PINEAPPLE-42"
ANSWER = json.dumps({"account": SECRET})
SCHEMA = {"type": "object", "properties": {"account": {"type": "integer"}}}


@pytest.fixture
def phoenix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """A collector standing in for Phoenix, and a history of this test's own."""
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    try:
        with OtlpReceiver() as collector:
            yield collector
    finally:
        close_default_stores()


def scored_run(server: ServerHandle, phoenix: OtlpReceiver, *, content: bool) -> str:
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
    assert store is not None and store.flush(timeout=PATIENCE_S)
    agentnb.evals.evaluate(agentnb.runs(limit=1), json_schema(SCHEMA))
    agentnb.score(run.local_id, "verdict", False, f"it gave away {SECRET}")
    assert flush_tracing(timeout=PATIENCE_S)
    [score] = agentnb.scores(agentnb.runs(limit=1), "json_schema")
    assert score.value is False and score.comment is not None
    return score.comment


def test_with_content_off_no_comment_leaves_the_process(
    server: ServerHandle, phoenix: OtlpReceiver
) -> None:
    comment = scored_run(server, phoenix, content=False)
    assert SECRET not in comment  # the evaluator says where, not what
    assert comment == "the answer does not match the schema: properties/account/type"
    sent = phoenix.annotations
    assert sorted(a["name"] for a in sent) == ["json_schema", "verdict"]
    assert all("explanation" not in a["result"] for a in sent)
    assert phoenix.spans and all(SECRET.encode() not in body for body in phoenix.bodies)


def test_with_content_on_a_comment_is_the_annotations_explanation(
    server: ServerHandle, phoenix: OtlpReceiver
) -> None:
    comment = scored_run(server, phoenix, content=True)
    explained = {a["name"]: a["result"].get("explanation") for a in phoenix.annotations}
    assert explained == {"json_schema": comment, "verdict": f"it gave away {SECRET}"}
