"""The notebook surface: connections, ``ask``/``chat``/``batch``, the chat cell (widget,
controller, static copy), the terminal printer and the magics. It builds on the client."""
