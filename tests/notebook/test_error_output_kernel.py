"""An agentnb error in a real kernel, as a notebook shows it: the message a person acts on
first (the platform's own words before the status and the URL), every line wrapped at words
to fit a cell (JupyterLab's output breaks a long line anywhere, mid-word), and no internal
frames: a usage error, such as comparing an experiment's arm with itself, is one line, as a
magic's ``UsageError`` is."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from kernel_session import notebook_client

from agentnb._core.exceptions import TRACEBACK_WIDTH
from agentnb.server import ServerHandle

pytestmark = pytest.mark.kernel

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_lines(server: ServerHandle, history: Path, code: str, **headers: str) -> list[str]:
    """The error output of ``code`` run in a fresh kernel, as its lines without colour."""
    setup = (
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history)!r}\n"
        "%load_ext agentnb\nimport agentnb, agentnb.evals\n"
        f"agentnb.connect('operativus', base_url={server.base_url!r}, "
        f"api_key={server.api_key!r}, name='test', headers={headers!r});"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(code)]
    )
    client = notebook_client(notebook)
    with contextlib.suppress(nbclient.exceptions.CellExecutionError):
        client.execute()
    errors = [o for o in notebook.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1, notebook.cells[1].outputs
    return [ANSI.sub("", line) for entry in errors[0].traceback for line in entry.split("\n")]


def fits(lines: list[str]) -> bool:
    return all(len(line) <= TRACEBACK_WIDTH for line in lines)


def test_a_refused_request_shows_the_platforms_words_first(
    server: ServerHandle, tmp_path: Path
) -> None:
    fault = f"status=422;tag={uuid.uuid4().hex}"
    code = "agentnb.ask('echo', 'Is NVDA up?', via='test', wait=True)"
    lines = error_lines(server, tmp_path / "h.sqlite3", code, **{"X-AgentNB-Fault": fault})
    assert lines[0].startswith("InvalidRequestError: error (injected fault) (422 "), lines
    assert "422 Unprocessable Entity" in " ".join(lines), lines
    assert fits(lines), lines
    assert not any(line.lstrip().startswith("File ") for line in lines), "no internal frames"


def test_a_usage_error_of_an_experiment_is_one_line(server: ServerHandle, tmp_path: Any) -> None:
    code = (
        "agentnb.evals.experiment('e', ['echo', 'finance_agent'], ['NVDA?'], via='test', "
        "progress=False)\nagentnb.evals.experiment('e').compare('echo', 'echo')"
    )
    lines = error_lines(server, tmp_path / "h.sqlite3", code)
    assert lines == ["ConfigurationError: compare two different arms, not 'echo' twice"], lines
