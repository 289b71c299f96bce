"""Validates AG-UI event frames with the protocol's own types (``ag-ui-protocol``'s
``ag_ui.core.Event``, the pydantic models generated from the spec). Run with the
``.tools/agui`` venv's Python; reads one JSON event per line on stdin (one response after
another), prints one JSON line: ``{"checked": n, "errors": [...]}``.

Beyond the types, two things the package lets through: a field the protocol does not define
(its models keep unknown fields; the 1.0 schema's objects are closed), and an event outside a
run (before ``RUN_STARTED`` or after ``RUN_FINISHED`` / ``RUN_ERROR``, until the next
``RUN_STARTED``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ag_ui.core import Event
from pydantic import BaseModel, TypeAdapter, ValidationError

EVENT: TypeAdapter[Any] = TypeAdapter(Event)


def undefined_fields(model: BaseModel, where: str = "") -> list[str]:
    """Fields of ``model`` (and the models inside it) the protocol does not define."""
    found = [f"{where}{key}" for key in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                found += undefined_fields(item, f"{where}{name}.")
    return found


def main() -> None:
    checked, errors, running = 0, [], False
    for number, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        checked += 1
        shown = line.strip()[:200]
        try:
            event = EVENT.validate_json(line)
        except ValidationError as error:
            errors.append({"line": number, "event": shown, "error": str(error)})
            continue
        undefined = undefined_fields(event)
        if undefined:
            errors.append({"line": number, "event": shown, "error": f"undefined {undefined}"})
        kind = event.type.value
        if kind == "RUN_STARTED":
            running = True
        elif not running:
            errors.append({"line": number, "event": shown, "error": "outside a run"})
        if kind in ("RUN_FINISHED", "RUN_ERROR"):
            running = False
    print(json.dumps({"checked": checked, "errors": errors}))


if __name__ == "__main__":
    main()
