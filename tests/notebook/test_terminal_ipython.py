"""The magics in terminal IPython as a user sees them: ``ipython`` with its full prompt
(prompt_toolkit, not ``--simple-prompt``) running in a real terminal, tmux, whose screen is
read back as the user would read it. Against the built-in server.

A run streams in place and the next prompt comes after its summary line; Ctrl-C cancels it
(recorded ``cancelled``, no traceback) and the prompt comes back; a tool call awaiting
approval is asked about at an ``Approve ...? [y/N]`` prompt.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, sdk_python, serving_asgi
from reading_agent import reading_agent

import agentnb
import agentnb.history
from agentnb.server import ServerHandle

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a terminal multiplexer"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
    pytest.mark.slow,
]

PROMPT = re.compile(r"^In \[(\d+)\]:", re.MULTILINE)
SCRIPTED_AGENT = Path(__file__).parents[1] / "interop" / "acp_agents" / "scripted_agent.py"
WAIT = PATIENCE_S
"""Seconds a step may take before the test gives up (a failure, not a timing claim)."""


class Terminal:
    """An ``ipython`` session in a detached tmux session on a private tmux server."""

    def __init__(self, socket: str, env: dict[str, str], *, width: int = 200) -> None:
        self.socket = socket
        command = [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor"]
        self._tmux(
            "new-session", "-d", "-s", "t", "-x", str(width), "-y", "50",
            *(f"-e{key}={value}" for key, value in env.items()),
            " ".join(command),
        )  # fmt: skip
        self.wait_for(lambda screen: PROMPT.search(screen) is not None)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=True,
        )
        return done.stdout

    def screen(self) -> str:
        """Everything on the screen and in its scrollback, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)
        self.keys("Enter")

    def prompts(self) -> int:
        return len(PROMPT.findall(self.screen()))

    def wait_for(self, ready: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"the terminal never showed what was awaited:\n{self.screen()}")

    def enter(self, line: str) -> str:
        """Type ``line``; wait for the next prompt: the screen then."""
        before = self.prompts()
        self.type(line)
        return self.wait_for(lambda s: len(PROMPT.findall(s)) > before)

    def run(self, line: str) -> str:
        """Type ``line``; wait for the next prompt; what the line printed before it (a line
        short enough not to wrap on the screen)."""
        return output_of(self.enter(line), line)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, timeout=WAIT)


def output_of(screen: str, line: str) -> str:
    """What the last input ``line`` printed, up to the prompt after it."""
    start = screen.rindex(line) + len(line)
    after = PROMPT.search(screen, start)
    assert after is not None, screen
    return screen[start : after.start()].strip("\n")


def last_line(printed: str) -> str:
    """The last line printed, its continuations (wrapped to the width, indented) left out."""
    return [line for line in printed.splitlines() if not line.startswith("  ")][-1]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


def terminal_env(server: ServerHandle, tmp_path: Path, history: Path) -> dict[str, str]:
    """IPython's environment: the built-in server as the default connection."""
    return {
        "AGENTNB_HISTORY": str(history),
        "AGENTNB_PROVIDER": "operativus",
        "AGENTNB_BASE_URL": server.base_url,
        "AGENTNB_API_KEY": server.api_key,
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


@pytest.fixture
def ipython(server: ServerHandle, tmp_path: Path, history: Path) -> Iterator[Terminal]:
    env = terminal_env(server, tmp_path, history)
    terminal = Terminal(f"agentnb-{uuid.uuid4().hex[:8]}", env)
    try:
        terminal.run("%load_ext agentnb")
        terminal.run(
            f"import agentnb; agentnb.connect('operativus', base_url={server.base_url!r}, "
            f"api_key={server.api_key!r}, name='slow', headers={{'X-AgentNB-Delay-Ms': '5'}})"
        )
        terminal.run(
            f"agentnb.connect('operativus', base_url={server.base_url!r}, "
            f"api_key={server.api_key!r}, name='slower', headers={{'X-AgentNB-Delay-Ms': '150'}})"
        )
        yield terminal
    finally:
        terminal.close()


def test_a_run_streams_in_place_and_the_prompt_comes_after_it(ipython: Terminal) -> None:
    line = "%agent writer --via slow --meta paragraphs=6 write about NVDA"
    printed = ipython.run(line)
    assert "In [" not in printed, printed  # no prompt drawn into the stream
    answer = ipython.run("print(_agent.text)")
    # the answer, in order, no word broken (its lines wrapped at word boundaries to the width)
    assert answer.strip() and " ".join(answer.split()) in " ".join(printed.split())
    lines = printed.splitlines()
    assert lines[0].startswith("thinking: Outline:")
    assert last_line(printed).startswith("completed · ")


def test_ctrl_c_cancels_the_run_and_the_prompt_comes_back(ipython: Terminal, history: Path) -> None:
    line = "%agent writer --via slow --meta paragraphs=200 a long one"
    before = ipython.prompts()
    ipython.type(line)
    ipython.wait_for(lambda screen: "## 2." in screen)
    ipython.keys("C-c")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    printed = output_of(screen, line)
    assert last_line(printed).startswith("cancelled · "), printed
    assert "Traceback" not in printed and "KeyboardInterrupt" not in printed
    assert ipython.run("print(_agent.status)") == "cancelled"
    run_id = ipython.run("print(_agent.run.local_id)")
    assert recorded_status(history, run_id) == "cancelled"


WIDTH = 80


def test_a_refused_cell_at_80_columns_leads_with_the_server_s_reason_in_whole_words(
    server: ServerHandle, tmp_path: Path, history: Path
) -> None:
    """A ``%%agent`` cell the server refuses (a 422 for the writer's ``paragraphs``): what the
    server said comes first, the URL and the error's class after it, every line wrapped by
    agentnb between words (a line the terminal wrapped is longer than the pane once joined)."""
    env = terminal_env(server, tmp_path, history)
    terminal = Terminal(f"agentnb-{uuid.uuid4().hex[:8]}", env, width=WIDTH)
    try:
        terminal.run("%load_ext agentnb")
        before = terminal.prompts()
        terminal.type("%%agent writer --meta paragraphs=lots")
        terminal.type("write about NVDA")
        terminal.keys("Enter")  # a cell magic's cell ends at a blank line
        terminal.keys("Enter")
        screen = terminal.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    finally:
        terminal.close()
    lines = output_of(screen, "write about NVDA").splitlines()
    printed = "\n".join(lines)
    assert [line for line in lines if len(line.rstrip()) > WIDTH] == [], printed
    error = next(i for i, line in enumerate(lines) if line.startswith("UsageError: "))
    first = lines[error].removeprefix("UsageError: ")  # IPython's name for a magic's error
    assert first.startswith("The server refused the request: "), printed
    assert "http://" not in first and "Error" not in first, printed
    words = {word for line in lines for word in line.split()}
    said = "paragraphs must be an integer, got 'lots' (422 Unprocessable Entity from POST"
    assert all(word in words for word in said.split()), printed
    url = f"{server.base_url}/api/agents/writer/runs/stream;"
    assert url in words, printed  # whole on its line
    assert lines[-1].endswith("InvalidRequestError)"), printed


def recorded_status(history: Path, local_id: str) -> str | None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with agentnb.history.HistoryStore(history) as store:
            record = store.get(local_id)
        if record is not None and record.status != "running":
            return record.status
        time.sleep(0.1)
    return None


def ask_trader(ipython: Terminal, line: str) -> int:
    before = ipython.prompts()
    ipython.type(line)
    ipython.wait_for(lambda screen: "Approve place_trade?" in screen)
    return before


def test_a_call_awaiting_approval_is_asked_about_and_approved(ipython: Terminal) -> None:
    line = "%agent trader buy 3 NVDA"
    before = ask_trader(ipython, line)
    ipython.type("y")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    printed = output_of(screen, line)
    call = '→ place_trade(ticker: "NVDA", side: "buy", shares: 3)\n'
    asks = "  ‖ place_trade awaits approval: Placing a trade needs a human's approval.\n"
    assert f"{call}{asks}Approve place_trade? [y/N] y\n" in printed  # the call's line, asked about
    assert printed.count("place_trade(ticker") == 1 and "paused" not in printed
    assert "approved" not in printed  # the y says it: the call's outcome reads once
    assert "Placed a **demo** order" in printed
    assert last_line(printed).startswith("completed · ")
    said = ipython.run("print(_agent.run.tool_calls[-1].approval.decided_by)")
    assert said == "user"  # the person's answer, not an approve= policy's


def test_enter_at_the_approval_prompt_denies(ipython: Terminal) -> None:
    line = "%agent trader sell 2 AAPL"
    before = ask_trader(ipython, line)
    ipython.keys("Enter")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    printed = output_of(screen, line)
    assert "⊘ place_trade denied: the user said no at the approval prompt" in printed
    assert "1 denied" in printed.splitlines()[-1]
    assert ipython.run("print(_agent.run.tool_calls[-1].status)") == "denied"


def test_ctrl_c_at_the_approval_prompt_cancels_and_leaves_no_reader(ipython: Terminal) -> None:
    line = "%agent trader buy 1 MSFT"
    before = ask_trader(ipython, line)
    ipython.keys("C-c")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    assert last_line(output_of(screen, line)).startswith("cancelled · ")
    # the next line typed reaches the shell, not a question left waiting in the background
    assert ipython.run("print(6 * 7)") == "42"


def test_approve_none_denies_without_asking(ipython: Terminal) -> None:
    printed = ipython.run("%agent trader --approve none buy 3 NVDA")
    assert "Approve place_trade" not in printed
    assert "⊘ place_trade denied: the --approve none policy" in printed


def test_keys_typed_before_the_question_do_not_answer_it(ipython: Terminal) -> None:
    line = "%agent trader --via slower buy 5 NVDA"
    before = ipython.prompts()
    ipython.type(line)
    screen = ipython.wait_for(lambda s: "thinking: " in after(s, line))
    assert "Approve place_trade" not in after(screen, line)  # not asked yet
    ipython.keys("y")  # typed ahead while the run streams
    ipython.wait_for(lambda s: "Approve place_trade?" in after(s, line))
    ipython.keys("Enter")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    assert "⊘ place_trade denied: the user said no at the approval prompt" in output_of(
        screen, line
    )


def after(screen: str, line: str) -> str:
    """The screen after the last ``line`` typed ("" before it shows)."""
    return screen[screen.rindex(line) :] if line in screen else ""


def test_a_mention_attaches_a_summary_in_terminal_ipython(ipython: Terminal) -> None:
    ipython.run('cfg = {"host": "db.internal", "api_token": "tok-not-for-the-agent"}')
    line = "%agent echo What does @cfg say?"
    before = ipython.prompts()
    ipython.type(line)
    ipython.wait_for(lambda screen: "[y/a/N]" in after(screen, line))
    asked_part = after(ipython.screen(), line)
    assert "@cfg: dict, 2 keys" in asked_part  # what would go, shown before the answer
    assert "completed · " not in asked_part  # nothing was sent yet
    ipython.type("y")
    screen = ipython.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    printed = output_of(screen, line)
    assert "What does @cfg say?" in printed
    assert "@cfg: dict, 2 keys" in printed and "'api_token': ***" in printed
    assert "tok-not-for-the-agent" not in printed
    assert 'notebook-data id="' in printed
    refused = ipython.run("%agent echo What does @cfgg say?")
    assert "@cfgg: no variable 'cfgg' in the notebook: did you mean @cfg?" in refused
    assert "completed · " not in refused  # nothing was sent


@pytest.fixture
def reader(ipython: Terminal) -> Iterator[Terminal]:
    with serving_asgi(reading_agent) as base:
        ipython.run(f"agentnb.connect('openai', base_url='{base}/v1', api_key='k', name='reads')")
        yield ipython


def test_a_for_the_run_at_the_prompt_lets_the_later_reads_pass(reader: Terminal) -> None:
    reader.run('cfg = {"host": "db.internal"}')
    line = "%agent m --via reads --context What is in my notebook?"
    before = reader.prompts()
    reader.type(line)
    reader.wait_for(lambda screen: "[y/a/N]" in after(screen, line))
    reader.type("a")
    screen = reader.wait_for(lambda s: len(PROMPT.findall(s)) > before)
    printed = output_of(screen, line)
    asked_part = printed[: printed.index("[y/a/N]")]
    said = "reads the notebook once approved, at the sample level: the names, types and sizes"
    assert said in " ".join(asked_part.split())  # what it reads, named before the answer
    assert "cfg: dict" not in asked_part  # read only once allowed
    asked = "Approve notebook_variables()? (a: approve, and the later reads of the notebook in"
    assert asked in " ".join(printed.split())
    assert printed.count("[y/a/N]") == 1  # the later reads did not ask
    assert last_line(printed).startswith("completed · ")
    statuses = reader.run("print([(c.name, c.status) for c in _agent.run.tool_calls])")
    assert statuses == (
        "[('notebook_variables', 'succeeded'), ('notebook_describe', 'succeeded'), "
        "('notebook_error', 'succeeded')]"
    )
    deciders = reader.run("print({c.approval.decided_by for c in _agent.run.tool_calls})")
    assert deciders == "{'user'}"


@pytest.fixture
def coder(ipython: Terminal, tmp_path: Path) -> Terminal:
    """The scripted ACP agent (``tests/interop/acp_agents``) connected as ``coder``."""
    command = [str(sdk_python("acp")), str(SCRIPTED_AGENT)]
    # the paths make a line the screen wraps, wherever the checkout is: its output is not read
    ipython.enter(f"cmd, cwd = {command!r}, {str(tmp_path)!r}")
    ipython.enter("agentnb.connect('acp', command=cmd, name='coder', cwd=cwd)")
    return ipython


def test_a_coding_agents_command_is_asked_about_as_it_will_run(coder: Terminal) -> None:
    """As Codex's adapter asks: the command (its last line break no ``⟨U+000A⟩``, quoted once)
    and its cwd; the adapter's notes and whole input behind ``v``, not printed."""
    line = "%agent coder askrun touch made.txt"
    before = coder.prompts()
    coder.type(line)
    coder.wait_for(lambda screen: "[y/N/v]" in after(screen, line))
    coder.type("v")
    coder.wait_for(lambda screen: after(screen, line).count("[y/N") == 2)  # asked again
    coder.keys("Enter")
    printed = output_of(coder.wait_for(lambda s: len(PROMPT.findall(s)) > before), line)
    asked, whole = printed.split("[y/N/v]")[:2]
    assert "⟨U+" not in printed, printed
    assert "‖ execute awaits approval\n" in asked  # its reason, the command, is said once
    assert "  command: /bin/bash -lc 'touch made.txt'\n" in asked
    assert (
        asked.count("touch made.txt'") == 1 and "→ execute" not in printed
    )  # the prompt is its line
    assert "paused" not in printed and printed.count("execute denied") == 1
    assert "(details and input kept aside: v shows the whole call)" in asked
    assert "call_id" not in asked and "Proposed Amendment" not in asked
    assert '"call_id": "c1"' in whole and "Proposed Amendment: touch made.txt" in whole
    assert "1 denied" in printed.splitlines()[-1]


def test_a_command_of_several_lines_is_asked_about_as_its_lines(coder: Terminal) -> None:
    """``cd src`` then ``pytest -q``: the prompt shows the command's lines, the second under
    the first (not a JSON string with ``\\n``), so the prompt still reads as one call; its
    reason, the same script, is not said again above it."""
    line = "get_ipython().run_cell_magic('agent', 'coder', 'askrun cd src\\npytest -q')"
    before = coder.prompts()
    coder.type(line)
    coder.wait_for(lambda screen: "[y/N/v]" in after(screen, line))
    coder.keys("Enter")
    printed = output_of(coder.wait_for(lambda s: len(PROMPT.findall(s)) > before), line)
    call = printed.split("[y/N/v]")[0].split("execute wants to run:\n")[1].splitlines()
    assert call[:2] == ["  command: /bin/bash -lc 'cd src", "           pytest -q'"], printed
    assert "‖ execute awaits approval\n" in printed and "⟨U+000A⟩" not in printed, printed
    assert call[2].startswith("  cwd: /") and call[3].startswith("Approve execute? "), printed
