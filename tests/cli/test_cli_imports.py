"""What a command line loads: only what it uses. The notebook's widget stack (anywidget,
ipywidgets, the chat cell) and IPython draw nothing in a terminal, so no command imports
them; the HTTP wire (aiohttp) and the answer's markdown (rich's, on markdown-it) load with
the first request and the first answer printed, so a command that sends nothing (``runs``,
a ``--help``) never does. Each command runs in a child process of its own, as a person's
shell starts it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentnb_testing import PATIENCE_S
from cli_process import cli_env, on

NOTEBOOK_ONLY = (
    "IPython",
    "ipywidgets",
    "anywidget",
    "traitlets",
    "comm",
    "agentnb._display.widget",
    "agentnb._display.show",
    "agentnb._app.front.api",
)
"""What only a notebook (or an IPython shell) uses."""
SENDING_ONLY = ("aiohttp", "rich.markdown")
"""What only a command that sends a request (and prints an answer) uses."""

LOADED_AFTER = """
import json, sys
from agentnb._cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
names = {names!r}
print(json.dumps({{"code": code, "loaded": [name for name in names if name in sys.modules]}}))
"""


def loaded_by(*args: str, env: dict[str, str]) -> dict[str, Any]:
    """``agentnb ARGS`` run by ``main`` in a child process: its exit code and which of
    :data:`NOTEBOOK_ONLY` and :data:`SENDING_ONLY` it had imported by then."""
    code = LOADED_AFTER.format(names=NOTEBOOK_ONLY + SENDING_ONLY)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        timeout=PATIENCE_S,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_command_s_help_loads_nothing_it_does_not_use() -> None:
    """Every command's options are built for it (``attach``'s among them)."""
    assert loaded_by("run", "--help", env=cli_env()) == {"code": 0, "loaded": []}


def test_listing_the_history_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    assert loaded_by("runs", "--limit", "1", "--db", db, env=cli_env()) == {
        "code": 0,
        "loaded": [],
    }


def test_a_run_loads_nothing_of_the_notebook(server: Any) -> None:
    result = loaded_by("run", "finance_agent", "How is NVDA?", *on(server), env=cli_env(server))
    assert result["code"] == 0
    assert "aiohttp" in result["loaded"]  # the wire, which it uses
    assert not set(result["loaded"]) & set(NOTEBOOK_ONLY)


def test_attaching_loads_nothing_of_the_notebook(server: Any) -> None:
    """An attach refused before any stream (an id the platform does not know)."""
    result = loaded_by("attach", "run_unknown", "--agent", "echo", *on(server), env=cli_env(server))
    assert result["code"] != 0
    assert not set(result["loaded"]) & set(NOTEBOOK_ONLY)


def test_the_command_list_loads_nothing_it_does_not_use() -> None:
    """``agentnb --help`` lists the commands plugins add (evaluation's ``experiments``), which
    loads each plugin's entry point: evaluation's loads no widget nor IPython."""
    assert loaded_by("--help", env=cli_env()) == {"code": 0, "loaded": []}


def test_listing_experiments_loads_nothing_of_the_notebook(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    result = loaded_by("experiments", "--db", db, env=cli_env())
    assert result["code"] == 0
    assert result["loaded"] == []


ASK_IN_A_SCRIPT = """
import json, sys
import agentnb
agentnb.connect("operativus", base_url=sys.argv[1], api_key=sys.argv[2], name="here")
handle = agentnb.ask("finance_agent", "How is NVDA?", via="here")
handle.wait()
names = {names!r}
print(json.dumps({{"text": bool(handle.text), "loaded": [n for n in names if n in sys.modules]}}))
"""


def test_a_script_s_ask_loads_nothing_of_the_notebook(server: Any) -> None:
    """``agentnb.ask`` in a plain script (no kernel): the run streams, and nothing of the
    notebook's widget stack is imported to show it."""
    code = ASK_IN_A_SCRIPT.format(
        names=NOTEBOOK_ONLY[:-1]
    )  # the script calls agentnb._app.front.api
    done = subprocess.run(
        [sys.executable, "-c", code, server.base_url, server.api_key],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
        timeout=PATIENCE_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"text": True, "loaded": []}
