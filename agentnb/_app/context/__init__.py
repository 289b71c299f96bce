"""What the notebook gives an agent as context, and the notebook served over MCP."""
