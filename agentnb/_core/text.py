"""Text shaping shared by every layer: excerpts (the one way to cut text short, for
messages, tables, terminals and saved notebooks), and untrusted text made safe for a terminal
(:func:`terminal_safe` drops what a terminal would act on; :func:`visible` shows every
character that would not show as itself)."""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "ERROR_CHARS",
    "EXCERPT_CHARS",
    "compact_json",
    "counted",
    "did_you_mean",
    "excerpt",
    "terminal_safe",
    "typed_words",
    "visible",
]

EXCERPT_CHARS = 300
_DATA_BLOCK = re.compile(r"\s*<notebook-data id=")
"""Where an ``@`` turn's message goes on with the notebook data agentnb appended to the
person's words (``agentnb._app.context.context_summary.data_block``)."""
ERROR_CHARS = 2_000
"""Characters of a remote party's error text (an error frame's message, a refusal's reason)
an exception and a run keep, its lines kept: a traceback reads; a flood does not."""

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


def excerpt(
    value: object, limit: int = EXCERPT_CHARS, *, lines: bool = False, marked: bool = False
) -> str:
    """At most ``limit`` characters of ``value`` (a string as it is, None as nothing, anything
    else as compact JSON), without terminal control sequences: excerpts quote servers and
    users, and end up in terminals and saved notebooks.

    On one line (runs of whitespace become one space), an ellipsis marking a cut; with
    ``marked=True`` every character that would not show as itself (a line break included) is
    written ``⟨U+XXXX⟩`` instead (:func:`visible`), so a person sees exactly what a server
    sent and nothing can forge a line; the whitespace it ends with is left out (a command's or
    an output's last line break hides nothing). With ``lines=True`` the line breaks stay (a
    carriage return reads as one) and a cut is followed by a line saying how many characters
    it left out."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else compact_json(value)
    if marked:
        shown = visible(text.rstrip())
        return shown if len(shown) <= limit else shown[: limit - 1] + "…"
    if lines:
        kept = terminal_safe(text.replace("\r\n", "\n").replace("\r", "\n"))
        if len(kept) <= limit:
            return kept
        return kept[:limit] + f"\n… ({len(kept) - limit:,} more characters)"
    flat = " ".join(terminal_safe(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def counted(number: int, word: str, plural: str | None = None) -> str:
    """``1 key``, ``3 keys`` (``plural`` where it is not ``word`` + s: ``2 entries``)."""
    return f"{number:,} {word}" if number == 1 else f"{number:,} {plural or word + 's'}"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (a misspelling, ``_`` for ``-``), or None when none is
    close enough to suggest."""
    choices = list(choices)
    for candidate in (word, word.replace("_", "-"), word.replace("-", "_")):
        if candidate in choices:
            return candidate
    swapped = [choice for choice in choices if _one_swap_apart(word, choice)]
    if swapped:  # two letters typed the wrong way round (``rnu`` for ``run``)
        return swapped[0]
    close = difflib.get_close_matches(word.replace("_", "-"), choices, n=1, cutoff=0.7)
    return close[0] if close else None


def _one_swap_apart(word: str, choice: str) -> bool:
    """Whether ``word`` is ``choice`` with two neighbouring letters swapped."""
    swaps = (
        choice[:i] + choice[i + 1] + choice[i] + choice[i + 2 :] for i in range(len(choice) - 1)
    )
    return word != choice and word in swaps


def compact_json(value: object) -> str:
    """``value`` as one line of JSON (anything JSON cannot say as its ``str``); a value nested
    too deeply, or a cycle, says so instead."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested too deep, or a cycle
        return f"({type(value).__name__} nested too deeply to show)"


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


_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
"""Controls, format characters, line and paragraph separators, surrogates, private use and
unassigned code points: none of them shows as itself."""
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
"""Letters and symbols that render as blank space (Hangul fillers, the braille blank, the
Mongolian vowel separator)."""


def _needs_marking(char: str) -> bool:
    if char == " ":
        return False
    return (
        unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or char in _INVISIBLE_EXTRA
        or (char.isspace() and char != " ")
    )


def visible(text: str) -> str:
    """``text`` with every character that would not show as itself written as ``⟨U+XXXX⟩``:
    line breaks, tabs, controls (escape sequences lose their ESC), format characters
    (bidi overrides and isolates, zero-width characters, the BOM), separators and invisible
    fillers. Printable text, accents and scripts other than Latin are kept as they are."""
    # isprintable() is False for every category marked and for spaces other than " "; the
    # fillers are printable letters, checked apart.
    if text.isprintable() and _INVISIBLE_EXTRA.isdisjoint(text):
        return text
    return "".join(f"⟨U+{ord(c):04X}⟩" if _needs_marking(c) else c for c in text)


def seconds(value: float | None) -> str:
    """``340 ms``, ``2.5 s`` (empty for None)."""
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def typed_words(message: str) -> str:
    """``message`` without the notebook data agentnb appended to an ``@`` turn: the person's
    words, what a table of runs or an agent's list of sessions shows for it."""
    return _DATA_BLOCK.split(message, maxsplit=1)[0]
