"""How a run is shown: the chat cell (widget, its kernel-side controller and wire protocol),
its static copy, the terminal printer, the approval prompt, batch progress, marimo, and
``show()``; with the one check of where agentnb runs. It reads runs and knows nothing of
connections or of how a run was started."""
