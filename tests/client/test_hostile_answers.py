"""A structured answer from a hostile server: ``handle.result`` raises agentnb's
``AnswerSchemaError``, never a ``RecursionError``, a ``ValueError`` or jsonschema's referencing
error, and a ``$ref`` to a remote schema is never fetched. Raw-socket servers on 127.0.0.1
stream the answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, sse_head

import agentnb
from agentnb import AgentClient, AnswerSchemaError
from agentnb._core.handle import RunHandle

DEEP_ARRAY = "[" * 1500 + "]" * 1500


def answering(text: str) -> HostileServer:
    """A server whose every run answers ``text`` (OpenAI-compatible frames)."""

    async def stream(conn: Conn, request: Request) -> None:
        frame = {"id": "c1", "choices": [{"index": 0, "delta": {"content": text}}]}
        await conn.send(sse_head() + f"data: {json.dumps(frame)}\n\ndata: [DONE]\n\n".encode())

    return HostileServer(stream)


@pytest.fixture
def fetched() -> Iterator[HostileServer]:
    """Where a remote ``$ref`` points: it records any request that reaches it."""

    async def schema(conn: Conn, request: Request) -> None:
        return

    with HostileServer(schema) as srv:
        yield srv


def asked(url: str, schema: Any) -> RunHandle:
    client = AgentClient("openai", base_url=url, record=False)
    try:
        return agentnb.ask("m", "hi", client=client, schema=schema, display=False, wait=True)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("answer", "schema", "problem"),
    [
        (DEEP_ARRAY, {"type": "array"}, "nested too deeply"),
        (DEEP_ARRAY, {}, "nested too deeply"),
        ('{"value": ' + DEEP_ARRAY + "}", {"type": "object"}, "nested too deeply"),
        ("1" * 5000, {"type": "number"}, "not valid JSON"),
    ],
    ids=["deep array", "deep, any schema", "deep in an object", "5000 digits"],
)
def test_a_hostile_structured_answer_is_a_schema_error(
    answer: str, schema: dict[str, Any], problem: str
) -> None:
    with answering(answer) as srv:
        handle = asked(srv.url, schema)
    assert handle.status == "completed" and handle.text == answer
    with pytest.raises(AnswerSchemaError, match=problem):
        _ = handle.result


def test_a_remote_ref_the_answer_reaches_is_never_fetched(fetched: HostileServer) -> None:
    # under a property named "enum", which the up-front check of the schema takes for data
    schema = {"type": "object", "properties": {"enum": {"$ref": fetched.url + "/s.json"}}}
    with answering('{"enum": 1}') as srv:
        handle = asked(srv.url, schema)
    with pytest.raises(AnswerSchemaError, match=r"\$ref cannot be resolved"):
        _ = handle.result
    assert fetched.requests == []
