"""Commands a package adds to ``agentnb`` through the ``agentnb.plugins`` entry point (simonw/
llm's plugin shape): evaluation's ``experiments`` comes so, never through an import; a plugin
installed beside agentnb adds its command, printed as agentnb prints its own; a broken one
costs its commands only."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S

from agentnb._cli.main import COMMANDS, PLUGINS, commands, main
from agentnb.history import HistoryStore

PLUGIN = """
def register_commands(add):
    def configure(parser):
        parser.add_argument("who")

    def text(args, store):
        return f"hello {args.who}: {len(store.runs())} runs \\x1b[31mred\\x1b[0m"

    add("hello", "say hello", configure, text)
"""


def install(site: Path, name: str, module: str, source: str) -> None:
    """A distribution on ``site`` whose module ``module`` is an ``agentnb.plugins`` entry
    point, found by importlib.metadata as an installed one is."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{PLUGINS}]\n{name} = {module}\n")


def test_evaluation_s_command_comes_from_its_entry_point() -> None:
    assert "experiments" not in COMMANDS  # the command line does not import evaluation
    points = {point.name: point.value for point in entry_points(group=PLUGINS)}
    assert points.get("evals") == "agentnb.evals._commands"
    assert "experiments" in commands()


def test_agentnb_s_own_commands_load_no_plugin(tmp_path: Path) -> None:
    """``agentnb run`` starts without importing evaluation: plugins load for their own
    commands, an unknown one and the help only."""
    code = (
        "import sys; from agentnb._cli.main import main; "
        f"main(['runs', '--db', {str(tmp_path / 'h.sqlite3')!r}]); "
        "print('evals loaded' if 'agentnb.evals' in sys.modules else 'evals not loaded')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=PATIENCE_S, check=True
    )
    assert done.stdout.strip().endswith("evals not loaded"), done.stdout + done.stderr


def test_a_plugin_adds_a_command_read_from_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(tmp_path, "hello_plugin", "hello_plugin_commands", PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    db = tmp_path / "history.sqlite3"
    HistoryStore(db).close()
    assert main(["hello", "world", "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "hello world: 0 runs" in printed
    assert "\x1b" not in printed  # what a plugin prints is made safe as agentnb's own is


def test_a_broken_plugin_costs_its_commands_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(tmp_path, "broken_plugin", "broken_plugin_commands", "raise ImportError('no')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = commands()
    assert {"run", "experiments"} <= set(found)
    assert "plugin 'broken_plugin' adds no command: no" in capsys.readouterr().err
