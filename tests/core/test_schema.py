"""``--schema`` / ``schema=``: hostile schemas and answers are clear agentnb errors, and a
``$ref`` to a remote schema is refused without touching the network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from agentnb_testing import PATIENCE_S

from agentnb._core.exceptions import AnswerSchemaError, ConfigurationError
from agentnb._core.handle import RunHandle
from agentnb._core.run import Run
from agentnb._core.schema import resolve_schema
from agentnb.events import TextDelta

DEPTH = 1_500


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_schema(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


def handle_with_answer(text: str, schema: Any) -> RunHandle:
    response_format, validate = resolve_schema(schema)
    run = Run(agent="structured", message="m")
    run.apply(TextDelta(delta=text))
    return RunHandle(_no_stream, run=run, schema=response_format, validate_result=validate)


def _no_stream() -> Any:
    raise AssertionError("these handles never stream")


class Anything(pydantic.BaseModel):
    value: Any


@pytest.fixture
def listener() -> Iterator[list[bytes]]:
    """A socket on 127.0.0.1 that records anything that connects to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                seen.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    seen.append(str(server.getsockname()[1]).encode())
    try:
        yield seen
    finally:
        stop.set()
        thread.join(PATIENCE_S)
        server.close()


# ---- remote $ref --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda url: {"$ref": url},
        lambda url: {"type": "object", "properties": {"a": {"$ref": url}}},
        lambda url: {"$defs": {"x": {"$ref": url + "#/definitions/y"}}, "$ref": "#/$defs/x"},
        lambda url: {"$id": "https://example.com/root.json", "$ref": "other.json"},
    ],
)
def test_a_remote_ref_is_refused_without_fetching_it(make: Any, listener: list[bytes]) -> None:
    url = f"http://127.0.0.1:{listener[0].decode()}/s.json"
    with pytest.raises(ConfigurationError, match=r"\$ref") as caught:
        resolve_schema(make(url))
    assert "fetch" in str(caught.value)
    assert listener[1:] == [], "the schema was fetched"


def test_a_remote_ref_to_example_com_is_refused(listener: list[bytes]) -> None:
    with pytest.raises(ConfigurationError, match=r"https://example\.com/s\.json"):
        resolve_schema({"$ref": "https://example.com/s.json"})


def test_a_remote_dynamic_ref_is_refused_too(listener: list[bytes]) -> None:
    url = f"http://127.0.0.1:{listener[0].decode()}/s.json"
    with pytest.raises(ConfigurationError, match=r"\$dynamicRef .* never fetches"):
        resolve_schema({"$dynamicRef": url})
    assert listener[1:] == []


def test_a_remote_ref_hidden_from_the_up_front_check_is_a_schema_error(
    listener: list[bytes],
) -> None:
    url = f"http://127.0.0.1:{listener[0].decode()}/s.json"
    # under a property named "enum", which the up-front walk takes for data
    schema = {"type": "object", "properties": {"enum": {"$ref": url}}}
    _, validate = resolve_schema(schema)
    assert validate is not None
    with pytest.raises(AnswerSchemaError, match=r"\$ref cannot be resolved"):
        validate({"enum": 1})
    assert listener[1:] == [], "the schema was fetched"


def test_local_refs_and_the_meta_schemas_still_resolve() -> None:
    schema = {
        "$defs": {"price": {"type": "number", "minimum": 0}},
        "type": "object",
        "properties": {"price": {"$ref": "#/$defs/price"}},
        "required": ["price"],
    }
    _, validate = resolve_schema(schema)
    assert validate is not None
    assert validate({"price": 3}) == {"price": 3}
    with pytest.raises(AnswerSchemaError, match="price"):
        validate({"price": -1})
    meta = {"$ref": "https://json-schema.org/draft/2020-12/schema"}
    _, validate_meta = resolve_schema(meta)
    assert validate_meta is not None
    assert validate_meta({"type": "string"}) == {"type": "string"}


def test_an_unknown_local_ref_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="#/\\$defs/missing"):
        resolve_schema({"$ref": "#/$defs/missing"})


# ---- depth ------------------------------------------------------------------------------
def test_a_deeply_nested_schema_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="nested too deeply"):
        resolve_schema(nested_schema(DEPTH))


@pytest.mark.parametrize(
    "schema", [{"type": "array"}, {}, Anything], ids=["json-schema", "empty", "pydantic"]
)
def test_a_deeply_nested_answer_is_a_schema_error(schema: Any) -> None:
    handle = handle_with_answer(
        '{"value": ' + nested_list(DEPTH) + "}" if schema is Anything else nested_list(DEPTH),
        schema,
    )
    with pytest.raises(AnswerSchemaError, match="nested too deeply"):
        _ = handle.result


def test_a_moderately_nested_answer_still_validates() -> None:
    handle = handle_with_answer(nested_list(50), {"type": "array"})
    assert isinstance(handle.result, list)


def test_a_schema_whose_refs_loop_is_a_clear_error() -> None:
    schema = {"$defs": {"loop": {"$ref": "#/$defs/loop"}}, "$ref": "#/$defs/loop"}
    _, validate = resolve_schema(schema)
    assert validate is not None
    with pytest.raises(AnswerSchemaError, match=r"\$refs refer to each other without end"):
        validate(1)


# ---- other bad schemas -----------------------------------------------------------------
class NotJsonable(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
    when: Any
    callback: Any = None
    handle: socket.socket | None = None


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": 5}, "invalid JSON schema"),
        ({"type": "object", "properties": {"a": {"minimum": "x"}}}, "invalid JSON schema"),
        ({"$schema": "https://example.com/unknown-dialect"}, "schema"),
        (NotJsonable, "NotJsonable"),
    ],
)
def test_bad_schemas_are_configuration_errors(schema: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_schema(schema)


def test_an_answer_with_a_huge_number_is_a_schema_error() -> None:
    handle = handle_with_answer("1" * 5000, {"type": "number"})
    with pytest.raises(AnswerSchemaError, match="not valid JSON"):
        _ = handle.result


class Quote(pydantic.BaseModel, extra="forbid"):
    price: float
    tags: dict[str, int] = {}


@pytest.mark.parametrize(
    ("schema", "answer", "rule"),
    [
        (
            {"type": "object", "properties": {"price": {"type": "number"}}},
            {"price": "SECRET"},
            "the answer does not match the schema: properties/price/type",
        ),
        (
            {"type": "object", "additionalProperties": False},
            {"SECRET": 1},
            "the answer does not match the schema: additionalProperties",
        ),
        (Quote, {"price": "SECRET"}, "the answer does not match Quote: float_parsing at price"),
        (Quote, {"price": 1, "SECRET": 1}, "the answer does not match Quote: extra_forbidden at *"),
        (
            Quote,
            {"price": 1, "tags": {"SECRET": "x"}},
            "the answer does not match Quote: int_parsing at tags.*",
        ),
    ],
)
def test_the_rule_an_answer_fails_quotes_no_part_of_it(schema: Any, answer: Any, rule: str) -> None:
    _, validate = resolve_schema(schema)
    assert validate is not None
    with pytest.raises(AnswerSchemaError) as failed:
        validate(answer)
    assert failed.value.rule == rule
