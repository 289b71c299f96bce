"""What the notebook and the CLI share, one sub-package a concern, each importing only those
listed before it (``mcp`` and ``coding_agents`` side by side):

- ``context``: what the notebook gives an agent (the one summarizer, the context tools,
  ``@name`` attachments, ``{{name}}``) and the notebook served over MCP;
- ``mcp``: an MCP server's tools as the agent's (``mcp_tools``: sessions, OAuth, elicitation,
  MCP Apps);
- ``coding_agents``: what an ACP agent's connection adds (its sessions' settings, the files it
  may read and write);
- ``front``: named connections and the runs started on them (``ask``, ``chat``, ``attach``, the
  run options of the magics and the CLI, kernel interrupts, scores);
- ``past``: the history as a person reads it (``runs()``, ``show``, ``compare``, ``browse``,
  platform run listings, trace export);
- ``many``: many runs at once (``batch``, a dataset's examples).

It builds on the client and shows runs with the displays (:mod:`agentnb._display`)."""
