"""The real coding agents the ACP tests run, offline, on the scripted model
(``tests/interop/acp_agents/scripted_model.py``): how each is started and pointed at it.
Codex through ``@zed-industries/codex-acp`` (its linux-x64 binary) with a ``config.toml`` in
its own ``CODEX_HOME`` naming a provider at a scripted Responses API (``approval_policy =
"untrusted"``: it asks before a command that is not known to be safe) and an ``auth.json``
holding a dummy key; Claude Code through ``@zed-industries/claude-code-acp`` (it bundles
Claude Code) with ``ANTHROPIC_BASE_URL`` at a scripted Messages API, its own ``HOME``,
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` and ``IS_SANDBOX=1`` (as root, ``session/new``
fails without it). The npm packages (``tests/sdk_envs/NAME.npm``) are installed into
``.tools/NAME`` by ``scripts/test.sh``; a test whose package is missing is skipped, saying
so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from agentnb_testing import REPO, free_port, sdk_python, serving

__all__ = ["MODEL", "claude_code", "codex", "installed", "scripted_model"]

MODEL = REPO / "tests" / "interop" / "acp_agents" / "scripted_model.py"


def installed(name: str, binary: str) -> Path:
    """The npm package's binary under ``.tools/NAME`` (skipped, saying why, without it)."""
    path = REPO / ".tools" / name / "node_modules" / ".bin" / binary
    if not path.exists():
        spec = (REPO / "tests" / "sdk_envs" / f"{name}.npm").read_text().strip()
        pytest.skip(f"{spec} is not installed in .tools/{name} (scripts/test.sh installs it)")
    return path


@contextmanager
def scripted_model(log_dir: Path) -> Iterator[str]:
    """The scripted model served on 127.0.0.1 while the block runs: its URL."""
    port = free_port()
    command = [str(sdk_python("anthropic")), str(MODEL), str(port)]
    url = f"http://127.0.0.1:{port}"
    with serving(command, ready_url=f"{url}/log", log_path=log_dir / "model.log"):
        yield url


def codex(model_url: str, home: Path) -> tuple[list[str], dict[str, str]]:
    """Codex's command and environment, its ``CODEX_HOME`` made in ``home``."""
    binary = installed("codex-acp", "codex-acp")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        'model = "gpt-5-codex"\nmodel_provider = "scripted"\napproval_policy = "untrusted"\n'
        "[model_providers.scripted]\n"
        f'name = "scripted"\nbase_url = "{model_url}/v1"\nwire_api = "responses"\n'
        'env_key = "SCRIPTED_KEY"\n'
    )
    (home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-dummy"}))
    return [str(binary)], {"CODEX_HOME": str(home), "SCRIPTED_KEY": "sk-dummy"}


def claude_code(model_url: str, home: Path) -> tuple[list[str], dict[str, str]]:
    """Claude Code's command and environment, its ``HOME`` made in ``home``."""
    binary = installed("claude-code-acp", "claude-code-acp")
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "sk-ant-dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    return [str(binary)], env
