"""docs/connections.md's capability table says what each dialect's provider says it supports
(``Provider.capabilities()``), for every dialect in the registry."""

from __future__ import annotations

import re
from pathlib import Path

from agentnb.providers import available_providers

DOC = Path(__file__).resolve().parent.parent / "docs" / "connections.md"
COLUMNS = ("streaming", "cancel", "attach", "approvals", "listing", "fork")


def documented() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([\w-]+)`", cells[0])
        if name and len(cells) == 1 + len(COLUMNS) and name.group(1) in available_providers():
            supported = [col for col, cell in zip(COLUMNS, cells[1:], strict=True) if cell != "no"]
            rows[name.group(1)] = supported
    return rows


def test_the_table_matches_every_providers_capabilities() -> None:
    derived = {name: cls().capabilities().names() for name, cls in available_providers().items()}
    assert documented() == derived
