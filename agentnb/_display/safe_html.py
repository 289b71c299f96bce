"""Untrusted HTML (a notebook tool's table, an object's ``_repr_html_``) rebuilt from an
allow-list for the static copy, which a trusted notebook renders as it is: the tags and
attributes the live view's sanitizer keeps (js/src/markdown.js, DOMPurify: the same lists),
every other tag dropped with its text kept, and what a script, a style or a frame holds dropped
whole. The output is written from the parse, never copied from the input: text and attribute
values are escaped, so nothing the input holds can open a tag."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["safe_html"]

ALLOWED_TAGS = frozenset(
    [
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "details",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "summary",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
"""As js/src/markdown.js's ``ALLOWED_TAGS``."""
ALLOWED_ATTRS = frozenset(("href", "title", "class", "start", "src", "alt", "style", "open"))
"""As js/src/markdown.js's ``ALLOWED_ATTR``; each kept only where its value is safe."""
_DROPPED_WHOLE = frozenset(
    [
        "script",
        "style",
        "template",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "noscript",
        "noembed",
        "noframes",
        "textarea",
        "title",
        "svg",
        "math",
        "select",
        "option",
        "xmp",
        "plaintext",
        "head",
    ]
)
"""Tags whose content is dropped with them (DOMPurify's ``FORBID_CONTENTS``, in part)."""
_VOID = frozenset(("br", "hr", "img"))
_SAFE_URI = re.compile(r"^(?:https?:|mailto:|#)", re.IGNORECASE)
_SAFE_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpe?g|webp|avif);base64,", re.IGNORECASE)
_SAFE_STYLE = re.compile(r"^text-align:(?:left|right|center)$")
_SAFE_CLASS = re.compile(r"^(?:language-[\w+#.-]{1,40}|anb-image-link)$")


def safe_html(source: str) -> str:
    """``source`` with only the allowed tags and safe attribute values, everything escaped."""
    rebuilt = _Rebuilt()
    rebuilt.feed(source)
    rebuilt.close()
    return rebuilt.html()


def _safe_attribute(tag: str, name: str, value: str | None) -> str | None:
    """The attribute's value where it may be kept, else None."""
    if name == "open":  # a bare attribute: its value is None
        return "" if tag == "details" else None
    if name not in ALLOWED_ATTRS or value is None:
        return None
    if name == "href":
        value = value.strip()
        return value if tag == "a" and _SAFE_URI.match(value) else None
    if name == "src":
        return value if tag == "img" and _SAFE_DATA_IMAGE.match(value) else None
    if name == "style":
        return value if _SAFE_STYLE.match(value) else None
    if name == "class":
        return value if _SAFE_CLASS.match(value) else None
    if name == "start":
        return value if value.isdigit() else None
    return value


class _Rebuilt(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._open: list[str] = []
        self._dropping = 0

    def html(self) -> str:
        return "".join(self._out) + "".join(f"</{tag}>" for tag in reversed(self._open))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WHOLE:
            self._dropping += 1
            return
        if self._dropping or tag not in ALLOWED_TAGS:
            return
        kept = [
            f' {name}="{html.escape(value, quote=True)}"'
            for name, raw in attrs
            if (value := _safe_attribute(tag, name, raw)) is not None
        ]
        if tag == "a" and any(value.startswith(" href=") for value in kept):
            kept.append(' target="_blank" rel="noopener noreferrer nofollow"')
        self._out.append(f"<{tag}{''.join(kept)}>")
        if tag not in _VOID:
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WHOLE:
            return
        self.handle_starttag(tag, attrs)
        if tag in self._open and tag not in _VOID and self._open[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WHOLE:
            self._dropping = max(0, self._dropping - 1)
            return
        if self._dropping or tag not in self._open:
            return
        while self._open:  # close what the input left open inside it
            last = self._open.pop()
            self._out.append(f"</{last}>")
            if last == tag:
                return

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self._out.append(html.escape(data, quote=False))
