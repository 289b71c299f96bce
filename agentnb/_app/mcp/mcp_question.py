"""A question an MCP server asks in the middle of a call, as ``mcp_tools(elicit=fn)``'s ``fn``
gets it (:class:`McpElicitation`), and what ``fn`` may answer. Apart from the session's
handling of it (:mod:`.mcp_elicitation`, which needs the ``mcp`` SDK, an extra), so the public
types import without the SDK."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Answer", "Elicit", "McpElicitation"]

Answer = Mapping[str, object] | str | bool | None
Elicit = Callable[["McpElicitation"], Answer]
"""``mcp_tools(elicit=...)``: gets the question, returns the answer (:class:`McpElicitation`)."""


@dataclass(frozen=True)
class McpElicitation:
    """A question an MCP server asks in the middle of a call, as ``mcp_tools(elicit=fn)``'s
    ``fn`` gets it. ``fn`` returns the answer: in form mode a dict of the fields' values
    (checked against ``schema``), in URL mode ``True`` once the person will open ``url``
    (agentnb never opens it); ``None`` (or ``"decline"``) declines, ``"cancel"`` cancels.
    Everything here is the server's text: untrusted."""

    server: str
    """The server that asks, by the name its calls carry (``<name>__<tool>``: ``mcp_tools(
    name=)``, else the name the server gives itself)."""
    message: str
    mode: Literal["form", "url"]
    schema: dict[str, Any] = field(default_factory=dict)
    """Form mode: the fields asked for, a JSON schema of an object (``properties``,
    ``required``)."""
    url: str | None = None
    """URL mode: the link the person is asked to open."""

    @property
    def fields(self) -> dict[str, Any]:
        """Form mode: each field's name and its schema (``type``, ``title``, ...)."""
        properties = self.schema.get("properties")
        return dict(properties) if isinstance(properties, dict) else {}
