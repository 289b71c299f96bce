"""What a command line loads: only what a terminal uses. The notebook's widget stack
(anywidget, ipywidgets and the chat cell) and IPython cost a second of CPU at every command
and draw nothing there, so none of them is imported, whichever command runs; each command
in a child process of its own, as a person's shell starts it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli_process import cli_env, on

NOTEBOOK_ONLY = (
    "IPython",
    "ipywidgets",
    "anywidget",
    "traitlets",
    "comm",
    "agentnb._display.widget",
    "agentnb._display.show",
    "agentnb._app.api",
)
"""What only a notebook (or an IPython shell) uses."""

LOADED_AFTER = """
import json, sys
from agentnb._cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
names = {names!r}
loaded = [name for name in names if name in sys.modules]
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


def loaded_by(*args: str, env: dict[str, str]) -> dict[str, Any]:
    """``agentnb ARGS`` run by ``main`` in a child process: its exit code and which of
    :data:`NOTEBOOK_ONLY` it had imported by then."""
    code = LOADED_AFTER.format(names=NOTEBOOK_ONLY)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_command_s_help_imports_nothing_of_the_notebook() -> None:
    """Every command's options are built for it (``attach``'s among them)."""
    result = loaded_by("run", "--help", env=cli_env())
    assert result == {"code": 0, "loaded": []}


def test_listing_the_history_imports_nothing_of_the_notebook(tmp_path: Path) -> None:
    result = loaded_by("runs", "--limit", "1", "--db", str(tmp_path / "h.sqlite3"), env=cli_env())
    assert result == {"code": 0, "loaded": []}


def test_a_run_imports_nothing_of_the_notebook(server: Any) -> None:
    result = loaded_by("run", "echo", "hello", *on(server), env=cli_env(server))
    assert result == {"code": 0, "loaded": []}


def test_attaching_imports_nothing_of_the_notebook(server: Any) -> None:
    """An attach refused before any stream (an id the platform does not know)."""
    result = loaded_by("attach", "run_unknown", "--agent", "echo", *on(server), env=cli_env(server))
    assert result["code"] != 0
    assert result["loaded"] == []
