"""``--schema``: a JSON schema dict or a pydantic model class → response_format + validator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from .exceptions import ConfigurationError, SchemaError

__all__ = ["resolve_schema"]

Validator = Callable[[Any], Any]


def resolve_schema(schema: Any) -> tuple[dict[str, Any] | None, Validator | None]:
    """The JSON schema to send and a function validating the parsed answer against it."""
    if schema is None:
        return None, None
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema.model_json_schema(), _pydantic_validator(schema)
    if isinstance(schema, dict):
        return schema, _json_schema_validator(schema)
    raise ConfigurationError(
        f"a schema must be a JSON schema dict or a pydantic model class, not "
        f"{type(schema).__name__}"
    )


def _pydantic_validator(model: type[pydantic.BaseModel]) -> Validator:
    def validate(value: Any) -> Any:
        try:
            return model.model_validate(value)
        except pydantic.ValidationError as exc:
            raise SchemaError(
                f"the answer does not match {model.__name__}: {_short(exc)}"
            ) from None

    return validate


def _json_schema_validator(schema: dict[str, Any]) -> Validator:
    import jsonschema

    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(f"invalid JSON schema: {exc.message}") from None
    validator = validator_cls(schema)

    def validate(value: Any) -> Any:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            raise SchemaError(
                f"the answer does not match the schema at {where}: {errors[0].message}"
            )
        return value

    return validate


def _short(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(root)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {first['msg']}{more}"
