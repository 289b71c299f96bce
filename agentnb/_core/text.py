"""Text shaping shared by every layer: one-line excerpts for messages and tables, and
untrusted text made safe for a terminal."""

from __future__ import annotations

import re

__all__ = ["EXCERPT_CHARS", "excerpt", "terminal_safe"]

EXCERPT_CHARS = 300

_STRING_SEQUENCE = re.compile(
    # OSC, DCS, SOS, PM, APC (7-bit ESC form or 8-bit C1 form) up to their terminator (BEL,
    # ESC \ or ST): OSC 52 writes the clipboard, OSC 0/2 the window title
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c)",
    re.DOTALL,
)
_CONTROL_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI: cursor, erase, colours
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"  # any other escape sequence (charset, reset, keypad)
)
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and newline, DEL, and the C1 controls: what is left of a sequence
cut in two, or a lone ESC or carriage return."""


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut), without
    terminal control sequences: excerpts quote servers, and end up in terminals."""
    if text is None:
        return ""
    flat = " ".join(terminal_safe(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def terminal_safe(text: str) -> str:
    """``text`` without anything a terminal would act on rather than show: escape sequences
    (CSI, OSC, DCS and the rest, in their ESC and C1 forms), C0 controls other than ``\\n``
    and ``\\t``, DEL and C1 controls. A sequence split across two pieces of text loses its
    introducer, so what remains of it is shown as plain characters."""
    if text.isprintable():
        return text
    text = _STRING_SEQUENCE.sub("", text)
    text = _CONTROL_SEQUENCE.sub("", text)
    return _CONTROL_CHARACTER.sub("", text)
