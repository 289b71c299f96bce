"""What the notebook gives an agent as context: ``@name`` attachments and the read-only
tools ``context=True`` offers (see the "The notebook as context" page).

- ``configure``: the privacy level (``schema`` / ``stats`` / ``sample``), the names never
  read (``deny``), whether a read asks first (``ask_first``).
- ``settings``: the settings in force, a ``ContextSettings``.
- ``summarize``: what a value becomes as context (bounded, redacted, within its budget).
- ``tools``: the read-only tools over this session, for a client's ``tools=``
  (``client.run(agent, message, tools=agentnb.context.tools(), approve=...)``).
- ``serve``: the same tools as an MCP server any agent can use (Claude Code, Codex, Gemini
  CLI), with the approvals in the cell that started it.
"""

from __future__ import annotations

from ._app.context.context_server import serve
from ._app.context.context_summary import ContextSettings, configure, summarize
from ._app.context.context_summary import context_settings as settings
from ._app.context.context_tools import kernel_tools as tools

__all__ = ["ContextSettings", "configure", "serve", "settings", "summarize", "tools"]
