"""Real coding agents over ACP, offline, each answering a ``%%agent`` cell and recorded in the
history: Codex and Claude Code as ``tests/coding_agents.py`` starts them (each asking before
it runs a command or writes a file, the card showing what will happen), Gemini CLI
(``@google/gemini-cli``, ``gemini --acp``) with ``GOOGLE_GEMINI_BASE_URL`` at a scripted
Gemini API and a model named (``--model``: on ``auto`` it first asks a router model, which
the scripted one cannot answer), and OpenCode (``opencode-ai``, ``opencode acp``) with its
Anthropic provider's ``baseURL`` at the scripted Messages API (``OPENCODE_CONFIG_CONTENT``),
its models catalog not fetched, no plugins. The npm packages (``tests/sdk_envs/NAME.npm``)
are installed into ``.tools/NAME`` by ``scripts/test.sh``; a test whose package is missing
is skipped, saying so."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S, wait_until
from coding_agents import claude_code, codex, installed, scripted_model
from IPython.core.interactiveshell import InteractiveShell
from mcp_servers import server_command

import agentnb
from agentnb._app.front.connections import disconnect
from agentnb._core.shown_call import shown_call
from agentnb._display.approval_prompt import question, whole_call
from agentnb.providers import RemoteAgent
from agentnb.types import RunHandle

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scripted_model(tmp_path_factory.mktemp("scripted-model")) as url:
        yield url


def cell(agent: str, message: str) -> agentnb.Run:
    """``%%agent AGENT`` in an IPython shell, waited for: the cell's run."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agentnb")
    shell.run_cell_magic("agent", f"{agent} --wait --plain", message)
    run: agentnb.Run = shell.user_ns["_agent"].run
    return run


def answered(
    command: list[str], name: str, cwd: Path, env: dict[str, str], message: str
) -> tuple[RemoteAgent, agentnb.Run]:
    """The coding agent started by ``command`` as a user connects it (connection ``name``),
    the agent its ``initialize`` reported, and its answer to ``message`` in a cell; the
    connection ends with it."""
    agentnb.connect("acp", command=command, name=name, cwd=cwd, env=env)
    try:
        [agent] = agentnb.connections()[name].agents()
        return agent, cell(name, message)
    finally:
        disconnect(name)


def recorded(run: agentnb.Run) -> agentnb.history.RunRecord:
    [row] = [r for r in agentnb.runs(agent=run.agent) if r.local_id == run.local_id]
    return row


def test_codex_answers_a_cell_on_a_scripted_model(model_url: str, tmp_path: Path) -> None:
    command, env = codex(model_url, tmp_path / "codex-home")
    agent, run = answered(command, "codex", tmp_path, env, "Say hello from Codex")
    assert agent.name == "codex-acp"
    assert run.status == "completed" and run.provider == "acp" and run.connection == "codex"
    notice, answer = run.text.split("\n\n")  # Codex's notice and the answer: two paragraphs
    assert notice.endswith("cause issues.")
    assert answer == "The scripted model says: Say hello from Codex"
    assert recorded(run).answer == run.text
    assert recorded(run).model == run.model == "gpt-5-codex"  # as its session/new reports


def test_claude_code_answers_a_cell_on_a_scripted_model(model_url: str, tmp_path: Path) -> None:
    command, env = claude_code(model_url, tmp_path / "claude-home")
    agent, run = answered(command, "claude", tmp_path, env, "Say hello from Claude Code")
    assert (agent.name, agent.title) == ("@zed-industries/claude-code-acp", "Claude Code")
    assert run.status == "completed" and run.connection == "claude"
    assert run.text == "The scripted model says: hello from Claude Code"
    assert recorded(run).answer == run.text
    assert recorded(run).model == run.model == "default"  # its model option's value


def test_gemini_cli_answers_a_cell_on_a_scripted_model(model_url: str, tmp_path: Path) -> None:
    gemini = installed("gemini-cli", "gemini")
    env = {
        "HOME": str(tmp_path / "gemini-home"),
        "GOOGLE_GEMINI_BASE_URL": model_url,
        "GEMINI_API_KEY": "dummy-gemini-key",
    }
    (tmp_path / "gemini-home").mkdir()
    command = [str(gemini), "--acp", "--model", "gemini-2.5-flash"]
    agent, run = answered(command, "gemini", tmp_path, env, "Say hello from Gemini")
    assert agent.name == "gemini-cli"
    assert run.status == "completed" and run.connection == "gemini"
    assert run.text == "The scripted model says: Say hello from Gemini"
    assert recorded(run).answer == run.text and recorded(run).model == "gemini-2.5-flash"


def test_opencode_answers_a_cell_on_a_scripted_model(model_url: str, tmp_path: Path) -> None:
    opencode = installed("opencode", "opencode")
    anthropic = {"options": {"baseURL": f"{model_url}/v1", "apiKey": "sk-ant-dummy"}}
    config = {
        "model": "anthropic/claude-sonnet-4-5",
        "autoupdate": False,
        "share": "disabled",
        "provider": {"anthropic": anthropic},
    }
    env = {
        "HOME": str(tmp_path / "opencode-home"),
        "OPENCODE_CONFIG_CONTENT": json.dumps(config),
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
        "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    }
    (tmp_path / "opencode-home").mkdir()
    agent, run = answered(
        [str(opencode), "acp"], "opencode", tmp_path, env, "Say hello from OpenCode"
    )
    assert agent.name == "OpenCode"
    assert run.status == "completed" and run.connection == "opencode"
    assert run.text == "The scripted model says: Say hello from OpenCode"
    assert recorded(run).answer == run.text
    assert recorded(run).model == "anthropic/claude-sonnet-4-5"
    assert run.usage is not None and run.usage.total_tokens == 19


# ---- their sessions' settings: listed as they advertise them, a model set reaches the model -----
def model_log(model_url: str) -> list[dict[str, object]]:
    """The requests the scripted model was sent (path, model), oldest first."""
    log: list[dict[str, object]] = httpx.get(f"{model_url}/log").json()
    return log


def test_claude_codes_models_and_modes_are_listed_and_a_model_set_reaches_the_model(
    model_url: str, tmp_path: Path
) -> None:
    claude = installed("claude-code-acp", "claude-code-acp")
    env = {
        "HOME": str(tmp_path / "claude-home"),
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "sk-ant-dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    (tmp_path / "claude-home").mkdir()
    conn = agentnb.connect("acp", command=[str(claude)], name="claude", cwd=tmp_path, env=env)
    try:
        options = conn.acp.config_options
        model, mode = options["model"], options["mode"]
        assert "haiku" in [c.value for c in model.choices]  # its `models` state
        assert {"default", "plan", "acceptEdits"} <= {c.value for c in mode.choices}
        before = len(model_log(model_url))
        handle = agentnb.ask(
            "claude", "Say hello", config={"model": "haiku"}, plain=True, wait=False
        )
        run = handle.wait(PATIENCE_S)
    finally:
        disconnect("claude")
    assert (run.status, run.model, run.extras["mode"]) == ("completed", "haiku", "default")
    sent = [entry["model"] for entry in model_log(model_url)[before:]]
    assert sent and all("haiku" in str(name) for name in sent), sent  # session/set_model


def test_codexs_config_options_are_listed_and_a_model_set_reaches_the_model(
    model_url: str, tmp_path: Path
) -> None:
    codex = installed("codex-acp", "codex-acp")
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "gpt-5-codex"\nmodel_provider = "scripted"\n'
        "[model_providers.scripted]\n"
        f'name = "scripted"\nbase_url = "{model_url}/v1"\nwire_api = "responses"\n'
        'env_key = "SCRIPTED_KEY"\n'
    )
    (home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-dummy"}))
    env = {"CODEX_HOME": str(home), "SCRIPTED_KEY": "sk-dummy"}
    conn = agentnb.connect("acp", command=[str(codex)], name="codex", cwd=tmp_path, env=env)
    try:
        options = conn.acp.config_options
        model = options["model"]
        assert model.current == "gpt-5-codex" and model.source == "config"  # configOptions
        other = next(c.value for c in model.choices if c.value != "gpt-5-codex")
        with pytest.raises(agentnb.ConfigurationError, match="the choices: gpt-5-codex"):
            agentnb.ask(
                "codex", "Say hello", config={"model": "no-such-model"}, plain=True, wait=False
            ).wait(PATIENCE_S)
        before = len(model_log(model_url))
        handle = agentnb.ask("codex", "Say hello", config={"model": other}, plain=True, wait=False)
        run = handle.wait(PATIENCE_S)
    finally:
        disconnect("codex")
    assert run.status == "completed" and run.model == other
    assert [entry["model"] for entry in model_log(model_url)[before:]] == [other]


# ---- the cards: what a person reads is what will happen ------------------------------------------
@contextlib.contextmanager
def connected(
    agent: Callable[[str, Path], tuple[list[str], dict[str, str]]],
    model_url: str,
    tmp_path: Path,
) -> Iterator[str]:
    """The coding agent connected (named ``coder``), run in ``tmp_path``."""
    command, env = agent(model_url, tmp_path / "home")
    agentnb.connect("acp", command=command, name="coder", cwd=tmp_path, env=env)
    try:
        yield "coder"
    finally:
        disconnect("coder")


def asking(name: str, message: str) -> RunHandle:
    """A run of ``message`` once it waits for a decision on one call."""
    handle = agentnb.ask(name, message, plain=True, wait=False)
    wait_until(lambda: handle.run.status == "paused", "the run waits for a decision")
    return handle


def ended(handle: RunHandle) -> agentnb.Run:
    with contextlib.suppress(agentnb.AgentNBError):
        handle.wait(PATIENCE_S)
    return handle.run


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "denied"])
def test_codexs_command_card_shows_the_command_and_cwd_and_its_denial_is_the_persons(
    model_url: str, tmp_path: Path, approve: bool
) -> None:
    with connected(codex, model_url, tmp_path) as name:
        handle = asking(name, "run touch made.txt")
        [call] = handle.run.awaiting_approval
        shown = shown_call(call)
        assert [a.key for a in shown.arguments][:2] == ["command", "cwd"]
        assert call.arguments["command"] == "/bin/bash -lc 'touch made.txt'"
        assert call.arguments["cwd"] == str(tmp_path)
        assert "call_id" in call.arguments["input"]  # the adapter's bookkeeping, kept aside
        assert [a.key for a in shown.arguments] == ["command", "cwd"]
        assert "Available Decisions" not in question(call) and "call_id" not in question(call)
        assert "Available Decisions" in whole_call(call)  # one `v` away
        assert shown.other_versions == () and shown.warnings() == []  # no false disagreement
        if approve:
            handle.approve(call.call_id)
        else:
            handle.deny(call.call_id)
        run = ended(handle)
    warning, _, answer = run.text.partition("\n\n")  # two messages, not glued
    assert warning.endswith("cause issues.")
    if approve:
        assert run.status == "completed" and run.finish_reason == "stop"
        assert answer.startswith("The scripted model says: the tool said")
        assert run.tool_calls[0].approval is not None
        assert not run.tool_calls[0].approval.arguments_changed
    else:
        assert (run.status, run.finish_reason, run.error) == ("completed", "denied", None)
        assert [c.status for c in run.tool_calls] == ["denied"]


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "denied"])
def test_claude_codes_write_is_one_card_with_its_diff_and_its_denial_is_the_persons(
    model_url: str, tmp_path: Path, approve: bool
) -> None:
    path = tmp_path / "notes.txt"
    with connected(claude_code, model_url, tmp_path) as name:
        handle = asking(name, f"write {path} hello there")
        [call] = handle.run.awaiting_approval
        shown = shown_call(call)
        assert call.name == "edit" and call.arguments["path"] == str(path)
        assert "+hello there" in shown.diff and shown.warnings() == []
        assert call.output is None  # the proposed diff is not an output
        if approve:
            handle.approve(call.call_id)
        else:
            handle.deny(call.call_id)
        run = ended(handle)
    [call] = run.tool_calls  # one card: the write its diff showed was not asked again
    assert call.unapproved is None
    if approve:
        assert path.read_text() == "hello there\n"
        assert call.status == "succeeded" and "updated successfully" in str(call.output)
        assert run.status == "completed" and run.text.startswith("The scripted model says")
    else:
        assert not path.exists()
        assert (call.status, call.output) == ("denied", None)
        assert (run.status, run.finish_reason) == ("completed", "denied")


def test_codexs_mcp_tool_call_card_is_the_servers_tool_and_claims_no_disagreement(
    model_url: str, tmp_path: Path
) -> None:
    """Codex announces an MCP tool call and asks about it in its own request's words: one
    call, named as the server's tool, its arguments on the card, no "versions disagree"."""
    notes = server_command("notes_server.py", str(tmp_path / "notes.json"))
    with agentnb.mcp_tools(command=notes) as tools, connected(codex, model_url, tmp_path) as name:
        handle = agentnb.ask(
            name, 'mcpcall write_note {"text": "hi"}', tools=tools, plain=True, wait=False
        )
        wait_until(lambda: handle.run.status == "paused", "the run waits for a decision")
        [call] = handle.run.awaiting_approval
        shown = shown_call(call)
        assert shown.warnings() == [] and shown.other_versions == ()
        assert shown.lines() == [
            "notes/write_note(",
            "  server: notes",
            "  tool: write_note",
            '  arguments: {"text": "hi"}',
            ")",
        ]
        handle.deny(call.call_id)
        run = ended(handle)
    assert [c.status for c in run.tool_calls] == ["denied"]
