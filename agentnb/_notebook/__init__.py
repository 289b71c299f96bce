"""The notebook's input: the ``%%agent`` magics, their arguments, the ``%agent ...?`` input
transform and ``{{name}}`` interpolation. It builds on the application layer (:mod:`agentnb._app`)
and the displays (:mod:`agentnb._display`)."""

from __future__ import annotations

import sys
from typing import Any

MAGICS = ("agent", "agent_attach", "agent_runs", "agent_config")
"""The magics ``%load_ext agentnb`` registers."""


def offer_magics() -> None:
    """Inside IPython, ``import agentnb`` is enough: each magic not yet registered loads the
    extension at its first use, then runs (the extension's import stays off ``import
    agentnb``'s way)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    from . import magic_input  # IPython's own input transforms: IPython runs here

    magic_input.install(shell)  # ``%agent ...?`` asks, not IPython's help
    known = shell.magics_manager.magics
    for name in MAGICS:
        if name not in known["line"] and name not in known["cell"]:
            shell.register_magic_function(_loading(shell, name), "line_cell", name)


def _loading(shell: Any, name: str) -> Any:
    def magic(line: str, cell: str | None = None) -> Any:
        from .magics import load_ipython_extension  # the magics: at their first use

        load_ipython_extension(shell)
        shell.extension_manager.loaded.add("agentnb")  # a later %load_ext: already loaded
        if cell is None:
            return shell.run_line_magic(name, line)
        return shell.run_cell_magic(name, line, cell)

    magic.__name__ = name
    return magic
