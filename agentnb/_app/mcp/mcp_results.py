"""An MCP tool's result in its forms (:class:`~agentnb._core.client_tools.FormedResult`): the
text the agent reads; what the chat cell shows beside it (an image as the image,
``structuredContent`` as a table when it is tabular and a collapsible tree otherwise, a
resource link as a link); and the images that go to the model where its dialect takes them.

Everything a server sends is untrusted and read within bounds: images by their bytes, their
pixels (read from the header, never decoded: an image bomb is small) and their count; a table
by its first rows and columns; a tree by its depth and its nodes (a ``structuredContent`` of
10^6 rows or 1,000 levels is read as far as it is shown, never walked whole). The HTML is
written here from the parse of nothing: every text and attribute escaped, only the live view's
allowed tags (js/src/markdown.js), which the chat cell and the static copy sanitize again.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import struct
from collections.abc import Iterator
from typing import Any

import mcp.types as types

from ..._core.client_tools import FormedResult
from ..._core.rich_result import MAX_SHOWN_HTML_CHARS, MAX_SHOWN_IMAGE_BYTES
from ..._core.text import counted

__all__ = [
    "MAX_IMAGES",
    "MAX_TREE_DEPTH",
    "formed_result",
]

MAX_IMAGES = 4
"""Images of one result shown (and sent to the model); the rest are said in words."""
MAX_IMAGE_PIXELS = 16_000_000
"""The most pixels an image shown may have (4,000 × 4,000), read from its header."""
MAX_TABLE_ROWS = 50
MAX_TABLE_COLUMNS = 30
MAX_TREE_DEPTH = 12
"""Levels of a tree shown; deeper ones are said in words."""
MAX_TREE_NODES = 1_000
"""Values of a tree shown; the rest are said in words."""
_SHOWN_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif"})
"""The images shown: those whose size in pixels is read from their header here."""
_SCALARS = (str, int, float, bool, type(None))


def formed_result(result: types.CallToolResult, text: str, tool: str) -> FormedResult | str:
    """``result`` (its ``text`` already read for the agent) with the forms the chat cell shows
    and the images the model gets; just ``text`` when it has nothing but text."""
    images: list[tuple[str, str]] = []
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.ImageContent):
            image, said = _image(block, len(images), tool)
            if image is not None:
                images.append(image)
            parts.append(said)
        elif isinstance(block, types.ResourceLink):
            parts.append(_link(block))
    if result.structured_content is not None:
        parts.append(_structured(result.structured_content))
    if not parts:
        return text
    if len(parts) == 1 and len(images) == 1:  # one image alone: shown as the image
        mime, data = images[0]
        return FormedResult(text, {"mime": mime, "data": data}, tuple(images))
    shown = "".join(parts)
    if len(shown) > MAX_SHOWN_HTML_CHARS + len(images) * MAX_SHOWN_IMAGE_BYTES * 2:
        shown = _note("the result's forms are larger than a chat cell shows")
    return FormedResult(text, {"mime": "text/html", "data": shown}, tuple(images))


# ---- images ---------------------------------------------------------------------------------


def _image(block: types.ImageContent, shown: int, tool: str) -> tuple[tuple[str, str] | None, str]:
    """The image as it goes to the model (None when it is not shown) and as the card shows
    it: the image, or a line saying why not."""
    mime = block.mime_type.lower()
    what = f"an image ({_esc(mime)})"
    if shown >= MAX_IMAGES:
        return None, _note(f"{what}: only the first {MAX_IMAGES} images are shown")
    if mime not in _SHOWN_IMAGES:
        return None, _note(f"{what}: not a kind shown here (PNG, JPEG, GIF)")
    if len(block.data) * 3 // 4 > MAX_SHOWN_IMAGE_BYTES:
        size = len(block.data) * 3 // 4
        return None, _note(f"{what} of {size:,} bytes: larger than a chat cell shows")
    try:
        raw = base64.b64decode(block.data, validate=True)
    except (binascii.Error, ValueError):
        return None, _note(f"{what} whose data is not base64")
    pixels = _pixels(mime, raw)
    if pixels is None:
        return None, _note(f"{what} whose size could not be read: not shown")
    width, height = pixels
    if width * height > MAX_IMAGE_PIXELS:
        return None, _note(f"{what} of {width:,} × {height:,} pixels: more than a chat cell shows")
    data = base64.b64encode(raw).decode("ascii")  # written again: nothing but base64
    alt = html.escape(f"an image {tool} returned", quote=True)
    return (mime, data), f'<p><img src="data:{mime};base64,{data}" alt="{alt}"></p>'


def _pixels(mime: str, raw: bytes) -> tuple[int, int] | None:
    """An image's width and height as its header says, without decoding it."""
    if (
        mime == "image/png"
        and raw[:8] == b"\x89PNG\r\n\x1a\n"
        and raw[12:16] == b"IHDR"
        and len(raw) >= 24
    ):
        width, height = struct.unpack(">II", raw[16:24])
        return width, height
    if mime == "image/gif" and raw[:6] in (b"GIF87a", b"GIF89a") and len(raw) >= 10:
        width, height = struct.unpack("<HH", raw[6:10])
        return width, height
    if mime == "image/jpeg" and raw[:2] == b"\xff\xd8":
        return _jpeg_pixels(raw)
    return None


def _jpeg_pixels(raw: bytes) -> tuple[int, int] | None:
    """A JPEG's size, from its first start-of-frame segment."""
    at = 2
    while at + 9 <= len(raw):
        if raw[at] != 0xFF:
            return None
        marker = raw[at + 1]
        length = struct.unpack(">H", raw[at + 2 : at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", raw[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


# ---- links ----------------------------------------------------------------------------------


def _link(block: types.ResourceLink) -> str:
    """A resource link: a link where it is a web address, else its address as text."""
    uri = str(block.uri)
    name = _esc(block.title or block.name or uri)
    if uri.lower().startswith(("https://", "http://")):
        return f'<p>🔗 <a href="{html.escape(uri, quote=True)}">{name}</a></p>'
    return f"<p>🔗 {name} <code>{_esc(uri)}</code></p>"


# ---- structured content ---------------------------------------------------------------------


def _structured(content: Any) -> str:
    rows = _records(content)
    return _table(rows) if rows is not None else _tree(content)


def _records(content: Any) -> tuple[list[Any], int] | None:
    """The rows of a tabular result (a list of objects of plain values, or an object with
    one such list, as SDKs wrap a list: ``{"result": [...]}``) and how many there are; only
    the rows shown are looked at."""
    if isinstance(content, dict) and len(content) == 1:
        content = next(iter(content.values()))
    if not isinstance(content, list) or not content:
        return None
    shown = content[:MAX_TABLE_ROWS]
    for row in shown:
        if not isinstance(row, dict) or not all(isinstance(v, _SCALARS) for v in row.values()):
            return None
    return shown, len(content)


def _table(records: tuple[list[Any], int]) -> str:
    rows, count = records
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cut = len(columns) > MAX_TABLE_COLUMNS
    columns = columns[:MAX_TABLE_COLUMNS]
    head = "".join(f"<th>{_esc(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_plain(row.get(c, '')))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    notes = []
    if count > len(rows):
        notes.append(f"{len(rows)} of {count:,} rows shown")
    if cut:
        notes.append(f"the first {MAX_TABLE_COLUMNS} columns shown")
    note = _note("; ".join(notes)) if notes else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _tree(content: Any) -> str:
    """Nested values as nested ``<details>``, open at the top, within the bounds."""
    budget = [MAX_TREE_NODES]
    return "".join(_tree_parts(content, "structured content", 0, budget, top=True))


def _tree_parts(
    value: Any, label: str, depth: int, budget: list[int], top: bool = False
) -> Iterator[str]:
    budget[0] -= 1
    if not (isinstance(value, dict | list) and value):
        yield f"<strong>{_esc(label)}</strong>: <code>{_esc(_plain(value))}</code>"
        return
    count = len(value)
    kind = (
        f"{{{counted(count, 'key')}}}" if isinstance(value, dict) else f"[{counted(count, 'item')}]"
    )
    yield f"<details{' open' if top else ''}><summary>{_esc(label)} {kind}</summary><ul>"
    if depth + 1 >= MAX_TREE_DEPTH:
        yield f"<li>{_note(f'deeper than {MAX_TREE_DEPTH} levels: not shown')}</li>"
    else:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for at, (key, item) in enumerate(items):  # lazily: only what is shown is read
            if budget[0] <= 0:
                yield f"<li>{_note(f'{count - at:,} more not shown')}</li>"
                break
            yield "<li>"
            yield from _tree_parts(item, str(key), depth + 1, budget)
            yield "</li>"
    yield "</ul></details>"


def _plain(value: Any) -> str:
    """A plain value as one short line (JSON for the rest: an empty list or object)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 500 else text[:500] + "…"


def _note(text: str) -> str:
    return f"<p><em>{_esc(text)}</em></p>"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)
