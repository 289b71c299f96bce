"""``--schema``: a JSON schema dict or a pydantic model class → response_format + validator.

A schema is the user's (a :class:`ConfigurationError` when it is unusable, before any run);
an answer is the agent's (a :class:`AnswerSchemaError` when it does not fit). ``$ref`` resolves only
inside the schema and to the JSON Schema meta-schemas: agentnb never fetches a schema from
the network, so a remote ``$ref`` is refused up front.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pydantic

from .exceptions import AnswerSchemaError, ConfigurationError
from .text import excerpt

if TYPE_CHECKING:
    import referencing

__all__ = ["AnswerSchema", "answer_validator", "resolve_schema"]

AnswerSchema = type[pydantic.BaseModel] | dict[str, object]
"""What ``schema=`` takes: a pydantic model class or a JSON schema dict."""

Validator = Callable[[Any], Any]

_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
"""Keywords whose values are JSON data, not schemas: a ``$ref`` in them is just data."""
_TOO_DEEP = "nested too deeply"
QUOTED = 200
"""Characters of a path, message or name an error message quotes."""


class _NotFetched(LookupError):
    """What the registry says for any URI outside the schema: nothing is ever fetched."""


def _refuse_to_fetch(uri: str) -> referencing.Resource[Any]:
    raise _NotFetched(uri)


@functools.cache
def _registry() -> referencing.Registry[Any]:
    """The JSON Schema meta-schemas, and nothing fetched beyond them."""
    # jsonschema's own registry parts: loaded with it, when a schema is first used
    import referencing
    from jsonschema_specifications import REGISTRY  # type: ignore[import-untyped]

    registry: referencing.Registry[Any] = REGISTRY.combine(
        referencing.Registry(retrieve=_refuse_to_fetch)  # type: ignore[call-arg]
    )
    return registry


def resolve_schema(schema: object) -> tuple[dict[str, Any] | None, Validator | None]:
    """The JSON schema to send and a function validating the parsed answer against it."""
    if schema is None:
        return None, None
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return _model_schema(schema), _pydantic_validator(schema)
    if isinstance(schema, dict):
        return schema, _json_schema_validator(schema)
    raise ConfigurationError(
        f"a schema must be a JSON schema dict or a pydantic model class, not "
        f"{type(schema).__name__}"
    )


def answer_validator(schema: AnswerSchema) -> Validator:
    """A function that checks a parsed answer against ``schema`` (a JSON schema dict or a
    pydantic model class, as ``ask(schema=...)`` takes) and returns it validated, raising
    :class:`AnswerSchemaError` when it does not fit."""
    _, validate = resolve_schema(schema)
    if validate is None:
        raise ConfigurationError(
            "a schema is a JSON schema dict or a pydantic model class, not None"
        )
    return validate


def _model_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    try:
        return model.model_json_schema()
    except pydantic.errors.PydanticUserError as exc:
        raise ConfigurationError(
            f"cannot make a JSON schema from {model.__name__}: {exc.message}"
        ) from None
    except RecursionError:
        raise ConfigurationError(f"the schema of {model.__name__} is {_TOO_DEEP}") from None


def _pydantic_validator(model: type[pydantic.BaseModel]) -> Validator:
    names = _property_names(_model_schema(model))

    def validate(value: Any) -> Any:
        try:
            return model.model_validate(value)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(
                str(p) if p in names or isinstance(p, int) else "*" for p in first["loc"]
            )
            raise AnswerSchemaError(
                f"the answer does not match {model.__name__}: {_short(exc)}",
                f"the answer does not match {model.__name__}: {first['type']} at "
                f"{excerpt(where or '(root)', QUOTED)}",
            ) from None
        except RecursionError:
            raise AnswerSchemaError(f"the answer is {_TOO_DEEP} to validate") from None

    return validate


def _json_schema_validator(schema: dict[str, Any]) -> Validator:
    import jsonschema  # heavy (its format checkers build grammars): only when a schema is used
    import referencing.exceptions  # jsonschema's registry, loaded with it

    validator_cls = _validator_class(schema)
    try:
        validator_cls.check_schema(schema)
        _check_refs(schema, validator_cls)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(f"invalid JSON schema: {exc.message}") from None
    except RecursionError:
        raise ConfigurationError(f"the JSON schema is {_TOO_DEEP}") from None
    validator = validator_cls(schema, registry=_registry())

    def validate(value: Any) -> Any:
        try:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        except RecursionError:
            raise AnswerSchemaError(_recursion_problem(value)) from None
        except referencing.exceptions.Unresolvable as exc:
            raise AnswerSchemaError(f"the schema's $ref cannot be resolved: {exc}") from None
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            rule = "/".join(str(p) for p in errors[0].schema_path) or "(root)"
            raise AnswerSchemaError(
                f"the answer does not match the schema at {excerpt(where, QUOTED)}: "
                f"{excerpt(errors[0].message, QUOTED)}",
                f"the answer does not match the schema: {excerpt(rule, QUOTED)}",
            )
        return value

    return validate


def _validator_class(schema: dict[str, Any]) -> Any:
    import jsonschema  # heavy (its format checkers build grammars): only when a schema is used

    dialect = schema.get("$schema")
    if dialect is not None and not isinstance(dialect, str):
        raise ConfigurationError(f"invalid JSON schema: $schema must be a string, not {dialect!r}")
    validator_cls = jsonschema.validators.validator_for(schema, default=cast(Any, None))
    if validator_cls is None:
        validator_cls = jsonschema.validators.validator_for({})
        if dialect is not None:
            raise ConfigurationError(
                "invalid JSON schema: unknown $schema dialect "
                f"{excerpt(dialect, QUOTED)!r} (use e.g. "
                f"{validator_cls.META_SCHEMA['$schema']!r}, or leave $schema out)"
            )
    return validator_cls


def _check_refs(schema: dict[str, Any], validator_cls: Any) -> None:
    """Resolve every ``$ref`` of the schema now: one that points nowhere, or outside the
    schema (a URL), is refused here rather than fetched or failing mid-validation."""
    import referencing.jsonschema  # jsonschema's registry, loaded with it

    spec = referencing.jsonschema.specification_with(validator_cls.META_SCHEMA["$schema"])
    root = _registry().resolver_with_root(spec.create_resource(schema))
    stack: list[tuple[Any, referencing._core.Resolver[Any]]] = [(schema, root)]
    while stack:
        node, resolver = stack.pop()
        if isinstance(node, list):
            stack.extend((item, resolver) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if node is not schema and spec.id_of(node) is not None:
            resolver = resolver.in_subresource(spec.create_resource(node))
        for keyword in _REF_KEYWORDS:
            ref = node.get(keyword)
            if isinstance(ref, str):
                _look_up(resolver, keyword, ref)
        stack.extend((v, resolver) for k, v in node.items() if k not in _DATA_KEYWORDS)


def _look_up(resolver: referencing._core.Resolver[Any], keyword: str, ref: str) -> None:
    import referencing.exceptions  # jsonschema's registry, loaded with it

    try:
        resolver.lookup(ref)
    except (referencing.exceptions.Unresolvable, referencing.exceptions.NoSuchResource):
        if ref.startswith("#"):
            reason = "points to nothing in the schema"
        else:
            reason = (
                "is not inside this schema, and agentnb never fetches schemas from the "
                'network; copy it under "$defs" and refer to it as "#/$defs/<name>"'
            )
        raise ConfigurationError(
            f"invalid JSON schema: {keyword} {excerpt(ref, QUOTED)!r} {reason}"
        ) from None


def _recursion_problem(value: Any) -> str:
    if _depth_exceeds(value, 100):
        return f"the answer is {_TOO_DEEP} to validate"
    return "the answer cannot be validated: the schema's $refs refer to each other without end"


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return False


def _property_names(schema: Any) -> set[str]:
    """Every property a JSON schema names, at any depth (a path made of them is the
    schema's, not the answer's)."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def _short(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(root)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {excerpt(first['msg'], QUOTED)}{more}"
