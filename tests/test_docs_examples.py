"""Every example of the README and docs/ runs as printed, as a reader follows the page: each page
in a fresh kernel, after the quickstart's ``import agentnb`` and ``%load_ext agentnb``, its
blocks in order in that kernel, against the built-in server (this session's, started once:
the kernel's "no connection configured" server is that one), with its own history file and
working folder. What the page shows a block printing or returning is checked. Which blocks run,
and how, is the page's own mark (``tests/docs_blocks.py``): notebook cells in the kernel, the
``agentnb`` commands of shell blocks as processes (installs and other tools' commands are not
run), a block whose first line says it is "not run by the tests" left out, visibly on the page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S, REPO
from docs_blocks import Block, page_blocks, shell_commands, shows
from kernel_session import Session, running_kernel

from agentnb.server import ServerHandle

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = ("cell", "marimo", "shell")
READER_STARTS = ["import agentnb", "%load_ext agentnb"]
"""What the quickstart has a reader type first, before any page."""

SESSION_SERVER = """
def _use_the_session_server(base_url, api_key):
    import threading
    from agentnb.server import _serve
    # the built-in server this kernel would start is the test session's, already running
    _serve._shared = _serve.ServerHandle(base_url, api_key, None, threading.main_thread(), None)
_use_the_session_server({base_url!r}, {api_key!r})
del _use_the_session_server
"""


def runnable(path: Path) -> bool:
    return any(
        block.kind in ("cell", "marimo") or (block.kind == "shell" and shell_commands(block))
        for block in page_blocks(path)
    )


def page_name(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [p for p in PAGES if runnable(p)], ids=[page_name(p) for p in PAGES if runnable(p)]
)
def test_every_example_of_the_page_runs_as_printed(
    page: Path, server: ServerHandle, tmp_path: Path
) -> None:
    blocks = page_blocks(page, page_name(page))
    env = reader_env(tmp_path)
    shell_env = {
        **env,  # `agentnb` at a shell would start a server of its own: pointed at the same one
        "AGENTNB_PROVIDER": "operativus",
        "AGENTNB_BASE_URL": server.url_for("operativus"),
        "AGENTNB_API_KEY": server.api_key,
    }
    failures: list[str] = []
    with running_kernel(env, cwd=str(tmp_path)) as client:
        session = Session(client)
        hidden(session, SESSION_SERVER.format(base_url=server.base_url, api_key=server.api_key))
        for start in READER_STARTS:
            session.execute(start)
        runs = PageRuns(session)
        for block, then in zip(blocks, [*blocks[1:], None], strict=True):
            if block.kind == "cell":
                failure = run_cell(block, session, then)
            elif block.kind == "shell":
                failure = run_commands(block, shell_env, tmp_path, then)
            else:
                continue
            if failure := failure or runs.failed(block):
                failures.append(failure)
        marimo = [block for block in blocks if block.kind == "marimo"]
        if marimo:
            failure = run_marimo(marimo, shell_env, tmp_path)
            if failure := failure or runs.failed(marimo[0]):
                failures.append(failure)
    assert not failures, "\n\n".join(failures)


EXAMPLE_PAGE = """\
```python
x = 1
```
```text title="Output"
1
```
```python
# needs a real OpenAI key: not run by the tests
agentnb.ask("gpt-5", "hi")
```
``` title="Needs a platform: not run by the tests"
%%agent gpt-5
hi
```
```
%%agent finance_agent
hi
```
```
<notebook-data id="1">
```
```{.python .marimo}
import marimo as mo
```
```console
$ pip install agentnb
$ agentnb runs --limit 1
No runs …
```
"""


def test_a_block_says_how_it_is_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(EXAMPLE_PAGE)
    blocks = page_blocks(page)
    kinds = [block.kind for block in blocks]
    assert kinds == ["cell", "output", "not run", "not run", "cell", "shown", "marimo", "shell"]
    (command,) = shell_commands(blocks[-1])
    assert command.argv == ["agentnb", "runs", "--limit", "1"]
    assert command.output == "No runs …"
    assert [b.line for b in blocks[:3]] == [1, 4, 7]


def test_output_is_read_word_for_word_with_an_ellipsis_for_any_text() -> None:
    assert shows(
        "UsageError: @dff: no variable\n'dff' …", "UsageError: @dff: no variable 'dff' here"
    )
    assert shows("Quote(ticker='NVDA', price=875.4)", "Quote(ticker='NVDA',   price=875.4)\n")
    assert not shows("Quote(ticker='NVDA')", "Quote(ticker='AAPL')")
    assert not shows("a b", "a b c")


def run_cell(block: Block, session: Session, then: Block | None) -> str | None:
    """Run a cell; why it failed, or None. The block after it, if titled Output, is what it
    printed or returned, or the error it raised (a magic's ``UsageError`` too, which IPython
    writes to stderr without a traceback)."""
    shown = then.code if then is not None and then.kind == "output" else None
    msg_id = session.client.execute(block.code)
    session.wait_for(lambda: bool(idle(session, msg_id)), timeout=PROGRAM_PATIENCE_S)
    reply = shell_reply(session, msg_id)
    if reply["status"] == "error":
        raised = plain(f"{reply['ename']}: {reply['evalue']}")
        if shown is not None and shows(shown, raised):
            return None
        traceback = plain("\n".join(reply["traceback"])) or raised
        return f"{block.where}: this block failed\n{block.code}\n{traceback}"
    results = session.of(msg_id, "execute_result")
    returned = "".join(r["content"]["data"].get("text/plain", "") for r in results)
    got = session.stdout(msg_id) + returned
    if shown is not None and not shows(shown, got):
        return f"{block.where}: the page shows it giving\n{shown}\nbut it gave\n{got}"
    return None


def run_marimo(blocks: list[Block], env: Mapping[str, str], cwd: Path) -> str | None:
    """The page's marimo cells as one marimo notebook (made by ``marimo convert``, which
    works out what each cell defines and reads), run as marimo runs it as a script."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("marimo")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(block.code) for block in blocks]
    nbformat.write(notebook, cwd / "page.ipynb")
    marimo = [sys.executable, "-m", "marimo"]
    steps = [[*marimo, "convert", "page.ipynb", "-o", "page.py"], [sys.executable, "page.py"]]
    for step in steps:
        done = subprocess.run(
            step,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=PROGRAM_PATIENCE_S,
            check=False,
        )
        if done.returncode != 0:
            cells = "\n\n".join(block.code for block in blocks)
            return f"{blocks[0].where}: its marimo cells failed\n{cells}\n{done.stderr[-3000:]}"
    return None


def idle(session: Session, msg_id: str) -> bool:
    return any(m["content"]["execution_state"] == "idle" for m in session.of(msg_id, "status"))


def shell_reply(session: Session, msg_id: str) -> dict[str, Any]:
    """The kernel's execute reply to ``msg_id`` (replies to earlier requests skipped)."""
    while True:
        reply = session.client.get_shell_msg(timeout=PATIENCE_S)
        if reply["parent_header"].get("msg_id") == msg_id:
            content: dict[str, Any] = reply["content"]
            return content


def run_commands(block: Block, env: Mapping[str, str], cwd: Path, then: Block | None) -> str | None:
    """Run a shell block's ``agentnb`` commands; why one failed, or None. The output a
    ``console`` block shows, or the Output block after it, is what the commands print."""
    printed = ""
    for command in shell_commands(block):
        done = subprocess.run(
            [sys.executable, "-m", *command.argv],
            capture_output=True, text=True, env=env, cwd=cwd, timeout=PROGRAM_PATIENCE_S, check=False,
        )  # fmt: skip
        line = " ".join(command.argv)
        if done.returncode != 0:
            return f"{block.where}: `{line}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        if command.output is not None and not shows(command.output, done.stdout):
            return f"{block.where}: `{line}` printed\n{done.stdout}\nnot\n{command.output}"
        printed += done.stdout
    if then is not None and then.kind == "output" and not shows(then.code, printed):
        return f"{block.where}: the page shows it printing\n{then.code}\nbut it printed\n{printed}"
    return None


RUNS = """
def _runs_of_the_page(wait):
    import json, time
    import agentnb
    from agentnb._app.front import interrupts
    from agentnb.history import default_store

    def streaming():  # a run paused for a person's approval waits for a click that never comes
        return [h for h, _ in list(interrupts._live.values()) if not interrupts._waits_for_person(h)]

    deadline = time.monotonic() + wait
    while streaming() and time.monotonic() < deadline:
        time.sleep(0.05)
    default_store().flush(30)
    failed = {}
    for r in agentnb.runs():
        asked = f"{r.agent} ({r.message!r})"
        if r.status == "failed":
            failed[r.local_id] = f"{asked} failed: {r.error_message}"
        for i, call in enumerate(r.tool_calls):
            if call.status == "failed":
                failed[f"{r.local_id}/{i}"] = f"{asked}: its call {call.name} failed: {call.error}"
    print(json.dumps({"streaming": [h.run.agent for h in streaming()], "failed": failed}))
_runs_of_the_page({wait})
del _runs_of_the_page
"""


class PageRuns:
    """The runs the page's blocks start, read from the page's history once the block's runs
    ended: a run that failed is a failure of the block that started it (a reader sees it fail
    in its chat cell, where nothing raises)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reported: set[str] = set()

    def failed(self, block: Block, wait: float = 120) -> str | None:
        found = json.loads(hidden(self.session, RUNS.replace("{wait}", str(wait))))
        if found["streaming"]:
            return f"{block.where}: runs still streaming after {wait:.0f} s: {found['streaming']}"
        new = {key: why for key, why in found["failed"].items() if key not in self.reported}
        self.reported.update(new)
        if not new:
            return None
        told = "\n".join(f"  {why}" for why in new.values())
        return f"{block.where}: a run this block started failed\n{block.code}\n{told}"


def hidden(session: Session, code: str) -> str:
    """Run ``code`` in the kernel as no reader's cell (no history, no execution count): what
    it printed."""
    return session.stdout(session.execute(code, store_history=False))


def reader_env(base: Path) -> dict[str, str]:
    """A reader's environment: no connection configured (the kernel takes the built-in
    server), the page's own history."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(
        AGENTNB_HISTORY=str(base / "history.sqlite3"),
        PYTHONPATH=str(REPO),
    )
    return env


def plain(traceback: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", traceback)
