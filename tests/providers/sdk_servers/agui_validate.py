"""Validates AG-UI event frames with the protocol's own types (``ag-ui-protocol``'s
``ag_ui.core.Event``, the pydantic models generated from the spec). Run with the
``.tools/agui`` venv's Python; reads one JSON event per line on stdin, prints one JSON line:
``{"checked": n, "errors": [...]}``."""

from __future__ import annotations

import json
import sys

from ag_ui.core import Event
from pydantic import TypeAdapter, ValidationError

EVENT = TypeAdapter(Event)


def main() -> None:
    checked, errors = 0, []
    for number, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        checked += 1
        try:
            EVENT.validate_json(line)
        except ValidationError as error:
            errors.append({"line": number, "event": line.strip()[:200], "error": str(error)})
    print(json.dumps({"checked": checked, "errors": errors}))


if __name__ == "__main__":
    main()
