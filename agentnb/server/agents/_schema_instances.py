"""Deterministic JSON instances for a JSON schema: what the ``structured`` demo agent answers.

Covers what pydantic's ``model_json_schema()`` emits: objects, arrays, scalars with bounds,
``enum``/``const``/``default``, ``$ref`` into ``$defs``, ``anyOf``/``oneOf`` (first choice)
and ``allOf`` (merged). Values fit what each field means where its name says
(:mod:`._schema_hints`: a ``ticker`` and its DEMO ``price``, a ``summary`` sentence, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._schema_hints import Field, Topic

__all__ = ["SchemaError", "instance_for"]

MAX_DEPTH = 32
MAX_VALUES = 10_000
"""Values in one instance: a schema asking for more (``minItems: 1000000000``) is refused
rather than answered with gigabytes."""
MAX_STRING_LENGTH = 10_000

_FORMAT_SAMPLES = {
    "date": "2025-01-10",
    "date-time": "2025-01-10T09:30:00Z",
    "time": "09:30:00",
    "email": "demo@example.com",
    "uri": "https://example.com/demo",
    "url": "https://example.com/demo",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


class SchemaError(ValueError):
    """The schema cannot be followed; the message says where and why."""


def instance_for(schema: Mapping[str, Any], message: str = "") -> Any:
    """A value valid for ``schema``, its fields filled to fit their names and ``message``'s
    topic (same schema and message, same value)."""
    return _Builder(schema, Topic.of(message)).build(schema, "#", 0, Field())


class _Builder:
    def __init__(self, root: Mapping[str, Any], topic: Topic) -> None:
        self.root = root
        self.topic = topic
        self.values = 0

    def build(self, schema: object, where: str, depth: int, field: Field) -> Any:
        if depth > MAX_DEPTH:
            raise SchemaError(f"{where}: the schema nests deeper than {MAX_DEPTH} levels")
        self.count_value(where)
        if schema is True or schema == {}:
            return "demo"
        if not isinstance(schema, Mapping):
            raise SchemaError(f"{where}: a schema must be an object, not {type(schema).__name__}")
        if "$ref" in schema:
            target = self.resolve(schema["$ref"], where)
            return self.build(target, schema["$ref"], depth + 1, field)
        for key in ("const", "default"):
            if key in schema:
                return schema[key]
        if "enum" in schema:
            return self.first_enum(schema["enum"], where)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                choice = self.first_choice(schema[key], where)
                return self.build(choice, where, depth + 1, field)
        if "allOf" in schema:
            return self.build(self.merged(schema, where), where, depth + 1, field)
        return self.by_type(schema, where, depth, field)

    def by_type(self, schema: Mapping[str, Any], where: str, depth: int, field: Field) -> Any:
        kind = _type_of(schema)
        if kind == "object":
            return self.object_for(schema, where, depth)
        if kind == "array":
            return self.array_for(schema, where, depth, field)
        if kind == "string":
            return _string_for(schema, where, self.string_hint(schema, field))
        if kind in ("integer", "number"):
            hint = self.topic.number(field)
            return _integer_for(schema, hint) if kind == "integer" else _float_for(schema, hint)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        raise SchemaError(f"{where}: unsupported type {kind!r}")

    def object_for(self, schema: Mapping[str, Any], where: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        if not isinstance(properties, Mapping):
            raise SchemaError(f"{where}/properties: must be an object")
        context = [*properties, str(schema.get("title", ""))]
        return {
            name: self.build(
                sub, f"{where}/properties/{name}", depth + 1, Field.of(name, sub, context)
            )
            for name, sub in properties.items()
        }

    def string_hint(self, schema: Mapping[str, Any], field: Field) -> str:
        """A format's sample, else a value that fits the field, else a placeholder naming
        it (a ``pattern`` is not followed: the placeholder stands)."""
        sample = _FORMAT_SAMPLES.get(str(schema.get("format", "")))
        if sample is not None:
            return sample
        hint = None if "pattern" in schema else self.topic.string(field)
        if hint is not None:
            return hint
        return " ".join(("demo", *field.name)) if field.name else "demo text"

    def count_value(self, where: str) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise SchemaError(f"{where}: the schema asks for more than {MAX_VALUES} values")

    def array_for(
        self, schema: Mapping[str, Any], where: str, depth: int, field: Field
    ) -> list[Any]:
        count = max(_int(schema, "minItems", 1), 1)
        if "maxItems" in schema:
            count = min(count, _int(schema, "maxItems", count))
        if count > MAX_VALUES:
            raise SchemaError(f"{where}: the schema asks for more than {MAX_VALUES} values")
        prefix = schema.get("prefixItems", [])
        items = [
            self.build(sub, f"{where}/prefixItems/{i}", depth + 1, field.item(i))
            for i, sub in enumerate(prefix[:count] if isinstance(prefix, list) else [])
        ]
        item_schema = schema.get("items", {})
        while len(items) < count:
            items.append(
                self.build(item_schema, f"{where}/items", depth + 1, field.item(len(items)))
            )
        return items

    def resolve(self, ref: object, where: str) -> object:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"{where}: only local $ref like '#/$defs/Name' is supported")
        node: object = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise SchemaError(f"{where}: $ref {ref!r} points to nothing")
            node = node[key]
        return node

    def first_enum(self, values: object, where: str) -> Any:
        if not isinstance(values, list) or not values:
            raise SchemaError(f"{where}/enum: must be a non-empty array")
        return values[0]

    def first_choice(self, choices: object, where: str) -> object:
        if not isinstance(choices, list) or not choices:
            raise SchemaError(f"{where}: anyOf/oneOf must be a non-empty array")
        return choices[0]

    def merged(self, schema: Mapping[str, Any], where: str) -> dict[str, Any]:
        parts = schema["allOf"]
        if not isinstance(parts, list):
            raise SchemaError(f"{where}/allOf: must be an array")
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for i, part in enumerate(parts):
            sub = self.resolve(part["$ref"], where) if _is_ref(part) else part
            if not isinstance(sub, Mapping):
                raise SchemaError(f"{where}/allOf/{i}: must be an object")
            properties = {**merged.get("properties", {}), **sub.get("properties", {})}
            merged = {**merged, **sub, "properties": properties}
        return merged


def _is_ref(part: object) -> bool:
    return isinstance(part, Mapping) and "$ref" in part


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "string"
    return str(kind)


def _int(schema: Mapping[str, Any], key: str, fallback: int) -> int:
    value = schema.get(key, fallback)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def _string_for(schema: Mapping[str, Any], where: str, text: str) -> str:
    low, high = _int(schema, "minLength", 0), _int(schema, "maxLength", MAX_STRING_LENGTH)
    if low > high:
        raise SchemaError(f"{where}: minLength {low} is greater than maxLength {high}")
    if low > MAX_STRING_LENGTH:
        raise SchemaError(f"{where}: minLength {low} is longer than {MAX_STRING_LENGTH}")
    text = text.ljust(low, "x")
    return text[:high]


def _bound(schema: Mapping[str, Any], key: str) -> float | None:
    value = schema.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer_for(schema: Mapping[str, Any], hint: float | None) -> int:
    lows, highs = [], []
    if (low := _bound(schema, "minimum")) is not None:
        lows.append(math.ceil(low))
    if (low := _bound(schema, "exclusiveMinimum")) is not None:
        lows.append(math.floor(low) + 1)
    if (high := _bound(schema, "maximum")) is not None:
        highs.append(math.floor(high))
    if (high := _bound(schema, "exclusiveMaximum")) is not None:
        highs.append(math.ceil(high) - 1)
    value = max([1 if hint is None else round(hint), *lows])
    return min([value, *highs])


def _float_for(schema: Mapping[str, Any], hint: float | None) -> float:
    low = _bound(schema, "minimum")
    if low is None and (x := _bound(schema, "exclusiveMinimum")) is not None:
        low = x + 1e-9
    high = _bound(schema, "maximum")
    if high is None and (x := _bound(schema, "exclusiveMaximum")) is not None:
        high = x - 1e-9
    value = 1.5 if hint is None else hint
    if low is not None and value < low:
        value = low + 1 if high is None else (low + high) / 2
    if high is not None and value > high:
        value = high - 1 if low is None else (low + high) / 2
    return value
