"""Real coding agents over ACP, offline, each answering a ``%%agent`` cell and recorded in the
history: Codex through ``@zed-industries/codex-acp`` (its linux-x64 binary) with a
``config.toml`` in its own ``CODEX_HOME`` naming a provider at a scripted Responses API and an
``auth.json`` holding a dummy key, and Claude Code through ``@zed-industries/claude-code-acp``
(it bundles Claude Code) with ``ANTHROPIC_BASE_URL`` at a scripted Messages API, its own
``HOME``, ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` and ``IS_SANDBOX=1`` (as root,
``session/new`` fails without it), and Gemini CLI (``@google/gemini-cli``, ``gemini --acp``)
with ``GOOGLE_GEMINI_BASE_URL`` at a scripted Gemini API and a model named (``--model``: on
``auto`` it first asks a router model, which the scripted one cannot answer), and OpenCode
(``opencode-ai``, ``opencode acp``) with its Anthropic provider's ``baseURL`` at the scripted
Messages API (``OPENCODE_CONFIG_CONTENT``), its models catalog not fetched, no plugins. The npm packages (``tests/sdk_envs/NAME.npm``) are installed
into ``.tools/NAME`` by ``scripts/test.sh``; a test whose package is missing is skipped, saying
so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import REPO, free_port, sdk_python, serving
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._app.connections import disconnect
from agentnb.providers import RemoteAgent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MODEL = Path(__file__).resolve().parent / "acp_agents" / "scripted_model.py"


def installed(name: str, binary: str) -> Path:
    """The npm package's binary under ``.tools/NAME`` (skipped, saying why, without it)."""
    path = REPO / ".tools" / name / "node_modules" / ".bin" / binary
    if not path.exists():
        spec = (REPO / "tests" / "sdk_envs" / f"{name}.npm").read_text().strip()
        pytest.skip(f"{spec} is not installed in .tools/{name} (scripts/test.sh installs it)")
    return path


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("scripted-model") / "model.log"
    command = [str(sdk_python("anthropic")), str(MODEL), str(port)]
    with serving(command, ready_url=f"http://127.0.0.1:{port}/log", log_path=log):
        yield f"http://127.0.0.1:{port}"


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
    agent, run = answered([str(codex)], "codex", tmp_path, env, "Say hello from Codex")
    assert agent.name == "codex-acp"
    assert run.status == "completed" and run.provider == "acp" and run.connection == "codex"
    assert run.text.endswith("The scripted model says: Say hello from Codex")
    assert recorded(run).answer == run.text
    assert recorded(run).model == run.model == "gpt-5-codex"  # as its session/new reports


def test_claude_code_answers_a_cell_on_a_scripted_model(model_url: str, tmp_path: Path) -> None:
    claude = installed("claude-code-acp", "claude-code-acp")
    env = {
        "HOME": str(tmp_path / "claude-home"),
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "sk-ant-dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    (tmp_path / "claude-home").mkdir()
    agent, run = answered([str(claude)], "claude", tmp_path, env, "Say hello from Claude Code")
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
        options = conn.config_options
        model, mode = options["model"], options["mode"]
        assert "haiku" in [c.value for c in model.choices]  # its `models` state
        assert {"default", "plan", "acceptEdits"} <= {c.value for c in mode.choices}
        before = len(model_log(model_url))
        handle = agentnb.ask(
            "claude", "Say hello", config={"model": "haiku"}, plain=True, wait=False
        )
        run = handle.wait(120)
    finally:
        disconnect("claude")
    assert (run.status, run.model, run.mode) == ("completed", "haiku", "default")
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
        options = conn.config_options
        model = options["model"]
        assert model.current == "gpt-5-codex" and model.source == "config"  # configOptions
        other = next(c.value for c in model.choices if c.value != "gpt-5-codex")
        with pytest.raises(agentnb.ConfigurationError, match="the choices: gpt-5-codex"):
            agentnb.ask(
                "codex", "Say hello", config={"model": "no-such-model"}, plain=True, wait=False
            ).wait(60)
        before = len(model_log(model_url))
        handle = agentnb.ask("codex", "Say hello", config={"model": other}, plain=True, wait=False)
        run = handle.wait(120)
    finally:
        disconnect("codex")
    assert run.status == "completed" and run.model == other
    assert [entry["model"] for entry in model_log(model_url)[before:]] == [other]
