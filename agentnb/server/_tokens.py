"""A deterministic tokenizer for usage figures, and the chunking that makes streams stream."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["ARGUMENT_PIECE_CHARS", "DEFAULT_WORDS_PER_CHUNK", "count_tokens", "split_chunks"]

DEFAULT_WORDS_PER_CHUNK = 3
ARGUMENT_PIECE_CHARS = 12
"""A tool call's arguments JSON streams in pieces of this many characters, where a dialect
sends them in pieces."""

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\s*\S+\s*")


def count_tokens(*texts: str) -> int:
    """Words and punctuation marks in ``texts``: stable, fast, good enough for demo usage."""
    return sum(len(_TOKEN.findall(text)) for text in texts)


def split_chunks(text: str, chunk_size: int | None = None) -> list[str]:
    """``text`` in stream-sized pieces that concatenate back to it exactly.

    With ``chunk_size`` the pieces are that many characters; otherwise a few words each.
    """
    if not text:
        return []
    if chunk_size is not None:
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    words = _WORD.findall(text)
    if not words:  # whitespace only
        return [text]
    return list(_group_words(words, DEFAULT_WORDS_PER_CHUNK))


def _group_words(words: list[str], per_chunk: int) -> Iterable[str]:
    for start in range(0, len(words), per_chunk):
        yield "".join(words[start : start + per_chunk])
