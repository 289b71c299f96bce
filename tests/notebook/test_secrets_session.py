"""Secrets: after a whole notebook session with a known API key, the key is nowhere.

A dedicated server takes a distinctive key. A real kernel (nbclient) gets it only through the
environment, as a user would set it, and runs a session touching every surface that could
show it: runs with and without ``--wait``, follow-ups, plain output, failing runs (unknown
agent, wrong key), ``%agent_config``, ``%agent_runs``, connection and client reprs, client
errors with plain and verbose (locals-printing) tracebacks, the history as a DataFrame, and
DEBUG logging of everything to a file. Then the saved notebook (with widget state), the
history database files, the log, the kernel's own stdout/stderr and every error output are
searched for the key and for ``Bearer <key>``. Controls in the same test show each place was
really written and searched: the masked tail ``***abcd``, the answers, the messages in the
database, the HTTP request lines in the log.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from kernel_session import notebook_client

from agentnb.server import start_server

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NVDA_QUESTION = "What is NVDA trading at, and how did it move this week?"
PLAIN_MESSAGE = "plain hello from the secrets session"
ERRORS_OK = {"tags": ["raises-exception"]}


def session_cells(log_file: Path, snapshot_dir: Path) -> list[Any]:
    """The notebook: (source, expects an error) per cell."""
    cells: list[tuple[str, bool]] = [
        (
            "import logging, os\n"
            f"logging.basicConfig(filename={str(log_file)!r}, level=logging.DEBUG, force=True,\n"
            "                    format='%(name)s %(levelname)s %(message)s')\n"
            "%load_ext agentnb\n"
            "import agentnb",
            False,
        ),
        (f"%%agent finance_agent --wait\n{NVDA_QUESTION}", False),
        ("%%agent finance_agent --followups\nAnd how did AAPL do?", False),
        (f"run = _agent.wait({PATIENCE_S:g})\nprint(run.status)\n_agent", False),
        ("%%agent no_such_agent\nhello", True),
        ("%%agent echo --via wrong\nhello with the wrong key", True),
        (f"%%agent echo --plain --wait\n{PLAIN_MESSAGE}", False),
        ("%%agent echo --plain\nplain, not waited for", False),
        (f"print(repr(_agent.wait({PATIENCE_S:g})))", False),
        ("%agent_config", False),
        ("%agent_runs", False),
        (
            "print(repr(agentnb.get_connection()))\n"
            "print(repr(agentnb.get_connection().client()))\n"
            "agentnb.connections()",
            False,
        ),
        (
            "import traceback\n"
            "with agentnb.AgentClient('operativus', base_url=os.environ['AGENTNB_BASE_URL'],\n"
            "                         api_key=os.environ['AGENTNB_API_KEY']) as client:\n"
            "    print(repr(client))\n"
            "    try:\n"
            "        client.run('no_such_agent', 'hi')\n"
            "    except agentnb.AgentNBError as exc:\n"
            "        print(repr(exc))\n"
            "        print(exc)\n"
            "        traceback.print_exc()",
            False,
        ),
        ("%xmode Verbose", False),
        (
            "verbose_client = agentnb.AgentClient('operativus',\n"
            "    base_url=os.environ['AGENTNB_BASE_URL'], api_key=os.environ['AGENTNB_API_KEY'])\n"
            "verbose_client.run('no_such_agent', 'hi')",
            True,
        ),
        (
            "verbose_client.run('echo', 'x', max_tokens=0)",
            True,
        ),
        ("verbose_client.close()\n%xmode Context", False),
        ("agentnb.runs().to_pandas()", False),
        ("agentnb.runs()", False),
        (
            "import glob, shutil\n"
            "for handler in logging.getLogger().handlers:\n"
            "    handler.flush()\n"
            "for path in glob.glob(os.environ['AGENTNB_HISTORY'] + '*'):\n"
            f"    shutil.copy(path, {str(snapshot_dir)!r})\n"
            "print(sorted(os.listdir("
            f"{str(snapshot_dir)!r})))",
            False,
        ),
    ]
    return [
        nbformat.v4.new_code_cell(source, metadata=ERRORS_OK if errors else {})
        for source, errors in cells
    ]


def outputs_text(nb: Any) -> str:
    return json.dumps([cell.outputs for cell in nb.cells])


def error_texts(nb: Any) -> list[str]:
    texts = []
    for cell in nb.cells:
        for output in cell.outputs:
            if output.output_type == "error":
                texts.append("\n".join([output.ename, output.evalue, *output.traceback]))
            elif output.output_type == "stream" and output.name == "stderr":
                texts.append(output.text)
    return texts


def test_a_whole_notebook_session_never_reveals_the_api_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for server_logger in ("agentnb", "uvicorn", "starlette"):  # the server runs in-process
        caplog.set_level(logging.DEBUG, logger=server_logger)
    key = "sk-agentnb-SECRET-" + secrets.token_hex(16)
    wrong_key = "sk-agentnb-WRONG-" + secrets.token_hex(16)
    forbidden = [key, f"Bearer {key}", wrong_key, f"Bearer {wrong_key}"]
    history = tmp_path / "history.sqlite3"
    log_file = tmp_path / "kernel.log"
    snapshot_dir = tmp_path / "history-snapshot"
    snapshot_dir.mkdir()
    saved = tmp_path / "session.ipynb"

    with start_server(api_key=key, delay_ms=2) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
        env.update(
            AGENTNB_PROVIDER="operativus",
            AGENTNB_BASE_URL=server.url_for("operativus"),
            AGENTNB_API_KEY=key,
            AGENTNB_WRONG_PROVIDER="operativus",
            AGENTNB_WRONG_BASE_URL=server.url_for("operativus"),
            AGENTNB_WRONG_API_KEY=wrong_key,
            AGENTNB_HISTORY=str(history),
        )
        nb = nbformat.v4.new_notebook()
        nb.cells = session_cells(log_file, snapshot_dir)
        client = notebook_client(nb, store_widget_state=True)
        with (
            open(tmp_path / "kernel.stdout", "wb") as out,
            open(tmp_path / "kernel.stderr", "wb") as err,
        ):
            client.execute(env=env, stdout=out, stderr=err)
    nbformat.write(nb, saved)

    # ---- controls: every place searched below was really written -----------------------
    outputs = outputs_text(nb)
    assert "NVDA" in outputs and PLAIN_MESSAGE in outputs, "the answers are in the notebook"
    assert "***" + key[-4:] in "".join(nb.cells[9].outputs[0].data["text/plain"])
    errors = error_texts(nb)
    joined_errors = "\n".join(errors)
    for expected in ("NotFoundError", "AuthenticationError", "ConfigurationError"):
        assert expected in joined_errors, f"no {expected} output: the failing cells did not fail"
    assert "verbose_client = " in joined_errors, "the verbose traceback printed its locals"
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    state_text = json.dumps(state)
    assert "transcript" in state_text and "AAPL" in state_text, "widget state was saved"
    history_files = sorted(snapshot_dir.iterdir()) + sorted(tmp_path.glob("history.sqlite3*"))
    history_bytes = b"".join(path.read_bytes() for path in history_files)
    assert {p.name for p in snapshot_dir.iterdir()} >= {"history.sqlite3"}
    assert NVDA_QUESTION.encode() in history_bytes and PLAIN_MESSAGE.encode() in history_bytes
    log_text = log_file.read_text(errors="replace")
    assert "HTTP Request: POST" in log_text, "the kernel's DEBUG log caught the requests"
    kernel_io = b"".join(
        (tmp_path / name).read_bytes() for name in ("kernel.stdout", "kernel.stderr")
    )

    # ---- the key is nowhere ---------------------------------------------------------------
    places: dict[str, bytes] = {
        "saved notebook": saved.read_bytes(),
        "widget state": state_text.encode(),
        "history database": history_bytes,
        "kernel log": log_text.encode(),
        "kernel stdout/stderr": kernel_io,
        "error outputs": joined_errors.encode(),
        "test process log (server)": caplog.text.encode(),
    }
    leaks = [
        f"{secret[:24]}… in the {place}"
        for place, data in places.items()
        for secret in forbidden
        if secret.encode() in data
    ]
    assert not leaks, "the key leaked:\n" + "\n".join(leaks)
