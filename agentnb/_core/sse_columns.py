"""The bulk path of :class:`agentnb.sse.SSEDecoder`: many blocks of the same fields in the
same order, each field's values cut out of the decoded text as one column, in C. The text
starts with "\\n\\n", as the decoder's patterns expect (see ``_BLOCK`` there)."""

from __future__ import annotations

import re
from itertools import permutations

__all__ = ["FEW_BYTES", "columns"]

_NAMES = re.compile(r"\n\n([a-z]+):[^\n]*+\n(?:([a-z]+):[^\n]*+\n)?(?:([a-z]+):[^\n]*+\n)?\n")
FEW_BYTES = 512  # below this, blocks skip the columns (setting them up costs more)
_LAYOUTS = {  # by _NAMES's groups: a pattern for blocks of those fields (any values: columns)
    (*names, *[None] * (3 - len(names))): re.compile(
        "\n\n" + "\n".join(f"{name}: ?([^\n]*+)" for name in names) + "(?=\n\n)"
    )
    for width in (1, 2, 3)
    for names in permutations(("id", "event", "data"), width)
    if "data" in names
}


def columns(text: str) -> tuple[list[str], list[str] | None, list[str] | None] | None:
    """The data, event and id values (None: no such field) of the blocks in ``text``, cut out in
    C, if all have the same fields in the same order (sampled first, then checked); else None."""
    if text.count("\n") == 2 * text.count("\n\ndata: ") + 2:  # each LF in "\n\ndata: " or last
        return text[len("\n\ndata: ") : -2].split("\n\ndata: "), None, None
    first = _NAMES.match(text)
    names = None if first is None or "\0" in text else first.groups()
    if first is None or names not in _LAYOUTS:
        return None
    end = len(text) - 2  # where the final blank line starts
    for at in (*(text.find("\n\n", end * n // 4) for n in (1, 2, 3)), text.rfind("\n\n", 0, end)):
        sample = _NAMES.match(text, at) if at < end else first
        if sample is None or sample.groups() != names:
            return None
    # If every gap between matches is empty (the last one the final blank line), all blocks
    # have these fields, and each field's values are one slice of the parts.
    parts = _LAYOUTS[names].split(text)
    step = 4 - names.count(None)
    values, types, ids = (
        parts[1 + names.index(name) :: step] if name in names else None
        for name in ("data", "event", "id")
    )
    if parts[-1] != "\n\n" or any(parts[0:-1:step]) or (types and "" in types) or not values:
        return None  # (an empty event means "message": rare)
    return values, types, ids
