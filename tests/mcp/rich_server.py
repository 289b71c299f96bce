"""An MCP server written with the ``mcp`` SDK, over stdio, whose tools return more than text:
``chart`` an image, ``bomb`` an image whose header claims 100,000 × 100,000 pixels,
``prices`` a table as ``structuredContent``, ``rows`` one of 10^6 rows, ``nested`` a tree,
``deep`` one of 100 levels, ``links`` resource links (a web one and a file), ``report`` an
image and a table, and ``hostile`` markup where text goes.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import mcp.types as types
from mcp.server import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("rich")
READ = ToolAnnotations(read_only_hint=True)


def png(width: int, height: int, pixels: bytes | None = None) -> str:
    """A PNG (greyscale) of ``width`` × ``height``, in base64: its pixels, or a header
    only (a bomb's claim)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = (
        pixels
        if pixels is not None
        else b"".join(
            b"\x00" + bytes((x * 255 // max(width - 1, 1)) for x in range(width))
            for _ in range(height)
        )
    )
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    return base64.b64encode(data + chunk(b"IEND", b"")).decode("ascii")


def result(*content: Any, structured: Any = None) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), structured_content=structured)


@server.tool(annotations=READ)
def chart(ticker: str) -> types.CallToolResult:
    """A chart of a stock."""
    image = types.ImageContent(data=png(64, 32), mime_type="image/png")
    return result(types.TextContent(text=f"a chart of {ticker}"), image)


@server.tool(annotations=READ)
def bomb(ticker: str) -> types.CallToolResult:
    """An image bomb: a small file that claims 10^10 pixels."""
    image = types.ImageContent(data=png(100_000, 100_000, pixels=b"\x00"), mime_type="image/png")
    return result(types.TextContent(text="a big chart"), image)


PRICES = [{"ticker": "NVDA", "close": 875.4}, {"ticker": "AAPL", "close": 229.87}]


@server.tool(annotations=READ)
def prices(ticker: str) -> types.CallToolResult:
    """Today's prices."""
    return result(types.TextContent(text="2 prices"), structured={"result": PRICES})


@server.tool(annotations=READ)
def rows(ticker: str) -> types.CallToolResult:
    """A million rows."""
    return result(
        types.TextContent(text="a million rows"),
        structured={"rows": [{"n": n} for n in range(1_000_000)]},
    )


@server.tool(annotations=READ)
def nested(ticker: str) -> types.CallToolResult:
    """A tree."""
    tree = {"ticker": ticker, "quote": {"close": 875.4, "volume": 1200}, "tags": ["ai", "chips"]}
    return result(structured=tree)


@server.tool(annotations=READ)
def deep(ticker: str) -> types.CallToolResult:
    """A hundred levels (the SDK refuses to write much deeper)."""
    tree: dict[str, Any] = {"leaf": 1}
    for _ in range(100):
        tree = {"next": tree}
    return result(types.TextContent(text="deep"), structured=tree)


@server.tool(annotations=READ)
def links(ticker: str) -> types.CallToolResult:
    """Links to the report."""
    return result(
        types.TextContent(text="see the report"),
        types.ResourceLink(name="report", title="NVDA report", uri="https://example.com/nvda"),
        types.ResourceLink(name="raw", uri="file:///srv/reports/nvda.csv"),
        types.ResourceLink(name="bad", title="click", uri="javascript:alert(1)"),
    )


@server.tool(annotations=READ)
def report(ticker: str) -> types.CallToolResult:
    """A chart and a table."""
    image = types.ImageContent(data=png(64, 32), mime_type="image/png")
    return result(types.TextContent(text="the report"), image, structured={"result": PRICES})


@server.tool(annotations=READ)
def hostile(ticker: str) -> types.CallToolResult:
    """Markup where text goes."""
    rows = [{"<img src=x onerror=alert(1)>": "<script>alert(2)</script>"}]
    link = types.ResourceLink(name="<b>x</b>", uri='https://example.com/"onmouseover="alert(3)')
    return result(types.TextContent(text="hostile"), link, structured={"result": rows})


if __name__ == "__main__":
    server.run("stdio")
