"""Untrusted text as markdown that any renderer reads the same way, with nothing live in it.

The ``text/markdown`` copy of a chat cell is read by renderers that allow raw HTML
(JupyterLab's markdown-it, nbconvert's mistune). Patching the agent's markdown in place
cannot be made safe: every renderer finds code spans, fences and links a little differently,
and each difference lets HTML through. So the answer is *parsed* (CommonMark, markdown-it-py,
HTML off) and written back out in one canonical form (:func:`safe_markdown`); the HTML views
render the same parse (:func:`markdown_html`)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "NO_MATH",
    "code_block",
    "markdown_html",
    "one_line",
    "parse_markdown",
    "safe_markdown",
]

NO_MATH = "tex2jax_ignore mathjax_ignore"
"""The classes on an HTML view's root that keep a notebook's MathJax out of it: JupyterLab 4
and Notebook 7 typeset ``$...$`` in every HTML output (MathJax 3 skips ``mathjax_ignore``),
nbconvert's and classic pages use MathJax 2 (``tex2jax_ignore``). Without them two amounts in
a line (``$875.40 | $855.60``) become one formula and lose their dollar signs."""

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BACKTICKS = re.compile(r"`+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SAFE_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpe?g|webp|avif);base64,", re.IGNORECASE)
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f()<>\"'`\\\[\]]")
_INFO = re.compile(r"[A-Za-z0-9_+#.\-]{1,32}")
_ALIGN = {"text-align:left": ":--", "text-align:right": "--:", "text-align:center": ":-:"}


# ---- inert pieces ---------------------------------------------------------------------
def escape_text(text: str) -> str:
    """``text`` as markdown that shows exactly these characters and does nothing else."""
    return _PUNCTUATION.sub(r"\\\1", text)


def one_line(text: str) -> str:
    """``text`` on one line (blank lines and newlines could start new blocks), escaped."""
    return escape_text(" ".join(text.split()))


def code_block(text: str, info: str = "") -> str:
    """A fenced code block nothing in ``text`` can close."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}{_info(info)}\n{text}\n{fence}" if text else f"{fence}\n{fence}"


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def _info(info: str) -> str:
    word = info.split()[0] if info.split() else ""
    return word if _INFO.fullmatch(word) else ""


# ---- HTML ----------------------------------------------------------------------------
def _render_image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    if _SAFE_DATA_IMAGE.match(src):
        return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}">'
    label = html.escape(alt or src)
    return f'<a href="{html.escape(src)}" rel="noopener noreferrer nofollow">🖼 {label}</a>'


_PARSER.add_render_rule("image", _render_image)


def parse_markdown(source: str) -> list[Token]:
    """Untrusted markdown's tokens (raw HTML off), for a view that marks them up before
    :func:`markdown_html` renders them."""
    return _PARSER.parse(source)


def markdown_html(source: str | Sequence[Token]) -> str:
    """Untrusted markdown (or its tokens) → HTML with no raw HTML, no script links and no
    remote images. The caller cleans the text first (the static copy's ``clean``)."""
    tokens = parse_markdown(source) if isinstance(source, str) else source
    rendered: str = _PARSER.renderer.render(tokens, _PARSER.options, {})
    return rendered


# ---- the answer ------------------------------------------------------------------------
def safe_markdown(source: str | Sequence[Token]) -> str:
    """The agent's markdown (or its tokens), parsed and written back out in the canonical,
    inert form."""
    tokens = parse_markdown(source) if isinstance(source, str) else source
    return _blocks(SyntaxTreeNode(tokens).children, tight=False)


def _blocks(nodes: Sequence[SyntaxTreeNode], *, tight: bool) -> str:
    parts = [_block(node) for node in nodes]
    return ("\n" if tight else "\n\n").join(part for part in parts if part)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline_of(node)
    if kind == "heading":
        return f"{'#' * int(node.tag[1])} {_inline_of(node, breaks=' ')}".rstrip()
    if kind in ("fence", "code_block"):
        return code_block(node.content.removesuffix("\n"), node.info)
    if kind == "blockquote":
        return _prefixed(_blocks(node.children, tight=False), "> ", "> ", blank=">")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "table":
        return _table(node)
    if kind == "hr":
        return "***"
    return one_line(node.content)


def _prefixed(text: str, first: str, rest: str, *, blank: str) -> str:
    """``text`` with ``first`` before its first line, ``rest`` before the others (``blank``
    for an empty one)."""
    lines = text.split("\n")
    return "\n".join([first + lines[0], *((rest + line) if line else blank for line in lines[1:])])


def _list(node: SyntaxTreeNode) -> str:
    tight = any(child.hidden for item in node.children for child in item.children)
    ordered = node.type == "ordered_list"
    start = int(str(node.attrs.get("start", 1))) if ordered else 0
    items = []
    for number, item in enumerate(node.children, start):
        marker = f"{number}{node.markup or '.'}" if ordered else (node.markup or "-")
        body = _blocks(item.children, tight=tight)
        indent = " " * (len(marker) + 1)
        items.append(_prefixed(body, marker + " ", indent, blank="") if body else marker)
    return ("\n" if tight else "\n\n").join(items)


def _table(node: SyntaxTreeNode) -> str:
    rows = [row for section in node.children for row in section.children]
    if not rows:
        return ""
    lines = []
    for i, row in enumerate(rows):
        cells = [_inline_of(cell, breaks=" ", in_table=True) for cell in row.children]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            marks = [_ALIGN.get(str(cell.attrs.get("style", "")), "---") for cell in row.children]
            lines.append("| " + " | ".join(marks) + " |")
    return "\n".join(lines)


# ---- inline ----------------------------------------------------------------------------
def _inline_of(node: SyntaxTreeNode, *, breaks: str = "\n", in_table: bool = False) -> str:
    inline = node.children[0] if node.children else None
    if inline is None:
        return ""
    return _inlines(inline.children, breaks, in_table).strip()


def _inlines(nodes: Sequence[SyntaxTreeNode], breaks: str, in_table: bool) -> str:
    out = ""
    for node in nodes:
        out += _inline(node, out, breaks, in_table)
    return out


def _inline(node: SyntaxTreeNode, before: str, breaks: str, in_table: bool) -> str:
    kind = node.type
    if kind == "text":
        return escape_text(node.content)
    if kind == "softbreak":
        return breaks
    if kind == "hardbreak":
        return "  \n" if breaks == "\n" else " "
    if kind == "code_inline":
        return _code_span(node.content, before, in_table)
    inner = _inlines(node.children, breaks, in_table)
    if kind in ("em", "strong", "s"):
        mark = {"em": "*", "strong": "**", "s": "~~"}[kind]
        return f"{mark}{inner}{mark}" if inner.strip() else inner
    if kind == "link":
        href = _safe_href(str(node.attrs.get("href", "")))
        return f"[{inner}]({href})" if href and inner.strip() else inner
    if kind == "image":
        return _image(node, inner)
    return one_line(node.content)


def _code_span(code: str, before: str, in_table: bool) -> str:
    if in_table:
        code = code.replace("|", "\\|")
    fence = "`"
    while fence in {run for run in _BACKTICKS.findall(code)}:
        fence += "`"
    pad = " " if code[:1] in ("`", " ") or code[-1:] in ("`", " ") else ""
    # A backslash or backtick just before the span would make some parsers miss it.
    gap = " " if before.endswith(("\\", "`")) else ""
    return f"{gap}{fence}{pad}{code}{pad}{fence}"


def _image(node: SyntaxTreeNode, alt: str) -> str:
    src = str(node.attrs.get("src", ""))
    if _SAFE_DATA_IMAGE.match(src) and not _URL_UNSAFE.search(src):
        return f"![{alt}]({src})"
    href = _safe_href(src)
    return f"[🖼 {alt}]({href})" if href else alt


def _safe_href(url: str) -> str | None:
    """``url`` written so no renderer decodes it into something else, or None when its
    scheme could run code (``javascript:``, ``vbscript:``, ``data:`` …).

    nbconvert's mistune renderer decodes entities in a link twice, so in a relative URL
    every ``&`` is percent-encoded (``&amp;#106;avascript:`` would otherwise come out as
    ``javascript:``); after an http(s) or mailto scheme an entity can change nothing that
    matters, so ``&`` is written ``&amp;`` and query strings keep working."""
    scheme = _SCHEME.match(url)
    if not url or (scheme is not None and scheme.group(1).lower() not in _SAFE_SCHEMES):
        return None
    encoded = _URL_UNSAFE.sub(lambda m: f"%{ord(m.group(0)):02X}", url)
    return encoded.replace("&", "&amp;" if scheme is not None else "%26")
