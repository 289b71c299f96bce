"""``agentnb summary`` and ``agentnb experiments`` in a real terminal at 80 columns: the
analysis a notebook gets (a summary by model and day, the experiments, one experiment's grid,
two arms compared), every line wrapped by agentnb, a mistake one line and exit status 2."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_process import cli_env
from tmux_pane import Pane

import agentnb
import agentnb.evals

WIDTH = 80


def long_enough(run: Any, example: Any) -> bool:
    return len(run.answer or "") > 30


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, server: Any) -> Path:
    path = tmp_path_factory.mktemp("analysis") / "history.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTNB_HISTORY", str(path))
        agentnb.connect(
            "operativus", base_url=server.base_url, api_key=server.api_key, name="analysis"
        )
        agentnb.evals.experiment(
            "quotes",
            ["finance_agent", "echo"],
            ["What is NVDA trading at?", "Compare AAPL and MSFT"],
            via="analysis",
            progress=False,
            evaluators=[long_enough],
        )
        # a request the platform refuses: a failed run that names no model
        agentnb.batch("no_such_agent", ["NVDA?"], via="analysis", progress=False)
    return path


def printed(db: Path, *args: str) -> list[str]:
    env = cli_env()
    env["AGENTNB_HISTORY"] = str(db)
    command = [sys.executable, "-m", "agentnb", *args]
    pane = Pane(command, env, name="agentnb-analysis", width=WIDTH)
    try:
        pane.wait_for(lambda screen: "EXIT=" in screen)
        lines = pane.everything().splitlines()
    finally:
        pane.close()
    assert [line for line in lines if len(line.rstrip()) > WIDTH] == [], "\n".join(lines)
    return lines


NEXT = "==== next command ===="


def printed_each(db: Path, *commands: list[str]) -> list[list[str]]:
    """What each of several ``agentnb`` commands printed, as :func:`printed`, run one after
    the other by the CLI's ``main`` in one process in the terminal (one start, not one each):
    each command's lines end with its ``EXIT=<status>``."""
    env = cli_env()
    env["AGENTNB_HISTORY"] = str(db)
    code = (
        "import sys; from agentnb._cli.main import main\n"
        f"for argv in {commands!r}:\n"
        "    try:\n"
        "        status = main(argv)\n"
        "    except SystemExit as exc:\n"
        "        status = exc.code\n"
        f"    print(f'EXIT={{status}}', {NEXT!r}, sep='\\n', flush=True)\n"
    )
    command = [sys.executable, "-c", shlex.quote(code)]
    pane = Pane(command, env, name="agentnb-analysis", width=WIDTH)
    try:
        # done once the pane's own EXIT= (the process's) follows the last command's separator
        pane.wait_for(lambda screen: "EXIT=" in screen and NEXT not in screen.split("EXIT=")[-1])
        lines = pane.everything().splitlines()
    finally:
        pane.close()
    assert [line for line in lines if len(line.rstrip()) > WIDTH] == [], "\n".join(lines)
    each: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == NEXT:
            each.append([])
        else:
            each[-1].append(line)
    assert len(each) == len(commands) + 1, "\n".join(lines)
    return each[: len(commands)]


def test_summary_by_model_and_day(db: Path) -> None:
    text = "\n".join(printed(db, "summary", "model", "--every", "day"))
    assert "EXIT=0" in text, text
    assert "gpt-4o-mini" in text and "agentnb-echo" in text, text
    assert "success" in text and "$" in text, text
    assert "(no model)" in text and "no model's success counts them" in text, text
    assert "unpriced" in text and "no usage" in text, text  # echo's model; the refused run
    # where the rest is, said as the command takes it, not in Python
    assert "more columns: add --all-columns" in text and "columns='all'" not in text, text
    assert ".to_pandas()" not in text, text


def test_the_experiments_their_grid_and_a_compare(db: Path) -> None:
    each = printed_each(
        db,
        ["experiments"],
        ["experiments", "quotes"],
        ["experiments", "quotes", "--compare", "finance_agent", "echo"],
        ["experiments", "quotes", "--frontier", "--score", "long_enough", "--cost", "duration"],
    )
    listed, grid, compared, frontier = ("\n".join(lines) for lines in each)
    assert "quotes" in listed and "finance_agent, echo" in listed, listed
    # one row per experiment, its score beside it, not the columns in stacked blocks; the
    # footer says how to see the rest as the command takes it, not in Python
    rows = [line for line in each[0] if line.startswith("quotes ")]
    assert len(rows) == 1 and "50.0%" in rows[0], listed
    assert len([line for line in each[0] if line.startswith("name ")]) == 1, listed
    assert "more columns: add --all-columns" in listed and ".to_pandas()" not in listed, listed
    assert "experiment quotes: 2 questions × 2 arms" in grid, grid
    assert "Compare AAPL and MSFT" in grid, grid
    assert "--question ID --arm ARM (one)" in grid, grid  # how to open what the grid shows
    assert "quotes: finance_agent (A) against echo (B) on score." in compared, compared
    assert "wins / ties / losses" in compared and "EXIT=0" in compared, compared
    assert "score.long_enough against duration" in frontier and "EXIT=0" in frontier, frontier
    assert "finance_agent" in frontier and "dominated" in frontier, frontier


def test_a_mistake_is_one_line_and_status_2(db: Path) -> None:
    lines = printed(db, "experiments", "no-such-experiment")
    assert "EXIT=2" in lines, "\n".join(lines)
    errors = [line for line in lines if line.startswith("agentnb experiments: error:")]
    assert errors and "'quotes'" in "\n".join(lines), "\n".join(lines)
    assert not any("Traceback" in line for line in lines), "\n".join(lines)


def test_one_questions_runs_side_by_side_and_one_run_alone(db: Path) -> None:
    """What a grid's Compare and Open show in a notebook: a question's runs (by the id the
    grid shows in [ ]) compared, and one arm's run as agentnb.show prints it."""
    pair_lines, run_lines, wrong = printed_each(
        db,
        ["experiments", "quotes", "--question", "1"],
        ["experiments", "quotes", "--question", "0", "--arm", "echo"],
        ["experiments", "quotes", "--question", "nope"],
    )
    pair, run = "\n".join(pair_lines), "\n".join(run_lines)
    assert "Comparison of 2 runs" in pair and "EXIT=0" in pair, pair
    assert "finance_agent · " in pair and "echo · " in pair, pair
    assert "── answer of echo" in pair and "Compare AAPL and MSFT" in pair, pair
    assert "What is NVDA trading at?" in run and "Comparison" not in run, run
    assert "EXIT=0" in run, run
    assert "EXIT=2" in wrong and any("no question 'nope'" in line for line in wrong), wrong


@pytest.mark.parametrize("command", ["summary", "experiments"])
def test_without_pandas_the_analysis_says_which_extra_with_the_command_whole(
    db: Path, command: str
) -> None:
    """The base install has no pandas: the commands that need it say how to get it, the
    install command whole on a line of its own at 80 columns, ready to copy."""
    env = cli_env()
    env["AGENTNB_HISTORY"] = str(db)
    blocked = "import sys; sys.modules['pandas'] = None; from agentnb._cli.main import main"
    code = f"{blocked}; sys.exit(main([{command!r}]))"
    pane = Pane([sys.executable, "-c", shlex.quote(code)], env, name="agentnb-extra", width=WIDTH)
    try:
        pane.wait_for(lambda screen: "EXIT=" in screen)
        lines = [line.rstrip() for line in pane.everything().splitlines()]
    finally:
        pane.close()
    said = "\n".join(lines)
    assert "EXIT=2" in lines and "Traceback" not in said, said
    assert lines[0].startswith(f"agentnb {command}: error: this needs pandas"), said
    assert '  pip install "agentnb[pandas]"' in lines, said
