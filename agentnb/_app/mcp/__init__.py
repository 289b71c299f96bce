"""An MCP server's tools as the agent's: sessions, OAuth, elicitation, MCP Apps."""
