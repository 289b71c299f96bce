"""Running the interop scripts of ``js/test/interop`` (the ``ai``, ``eventsource-parser`` and
``zod`` npm packages) from pytest; the LiteLLM proxy (``.tools/litellm``) the interop tests share.

Node.js: ``AGENTNB_NODE`` when set, else ``node`` on PATH when it is new enough for the ``ai``
package, else the project-local one ``scripts/test.sh`` installs under ``.tools/``. Without
one, a local run skips these tests saying what is missing; under CI (``CI`` set) they fail
instead, since CI must prove them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest
from agentnb_testing import PATIENCE_S, free_port, sdk_python, serving

from agentnb.server import ServerHandle

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
SCRIPTS = JS / "test" / "interop"
PACKAGES = ("ai", "eventsource-parser", "zod")
MIN_NODE = 22
"""The Node.js major version the ``ai`` package declares (``engines.node``: ``>=22``)."""

__all__ = [
    "JS",
    "LITELLM_KEY",
    "MIN_NODE",
    "SCRIPTS",
    "declared_min_node",
    "node_or_skip",
    "run_script",
    "serve_litellm",
    "unavailable",
]

LITELLM_KEY = "sk-agentnb-litellm-test"
"""The LiteLLM proxy's master key: its clients' API key."""
LITELLM_MODELS = ("finance_agent", "echo")
"""The demo agents the proxy routes to the built-in server's OpenAI dialect."""


def litellm_config(server: ServerHandle) -> str:
    """The demo agents on ``server`` as OpenAI models, and ``portfolio``, a scripted model
    (``litellm/scripted_model.py``, LiteLLM's ``CustomLLM``)."""
    entries = "".join(
        f"""
  - model_name: {name}
    litellm_params:
      model: openai/{name}
      api_base: {server.url_for("openai")}
      api_key: {server.api_key}"""
        for name in LITELLM_MODELS
    )
    return f"""model_list:{entries}
  - model_name: portfolio
    litellm_params:
      model: scripted/portfolio
  - model_name: context
    litellm_params:
      model: scripted/context
litellm_settings:
  telemetry: false
  custom_provider_map:
    - provider: scripted
      custom_handler: scripted_model.handler
general_settings:
  master_key: {LITELLM_KEY}
"""


@contextmanager
def serve_litellm(server: ServerHandle, folder: Path) -> Iterator[str]:
    """A LiteLLM proxy on 127.0.0.1 (``litellm_config``) working in ``folder``: its base URL."""
    litellm = sdk_python("litellm").parent / "litellm"
    (folder / "config.yaml").write_text(litellm_config(server))
    port = free_port()
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list
        "LITELLM_TELEMETRY": "False",
        "PYTHONPATH": str(Path(__file__).resolve().parent / "litellm"),
    }
    command = [str(litellm), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)]
    with serving(
        command,
        ready_url=f"http://127.0.0.1:{port}/health/liveliness",
        log_path=folder / "proxy.log",
        env=env,
        cwd=folder,
    ):
        yield f"http://127.0.0.1:{port}/v1"


def declared_min_node() -> int | None:
    """The major version in the installed ``ai`` package's ``engines.node``, if installed."""
    manifest = JS / "node_modules" / "ai" / "package.json"
    if not manifest.is_file():
        return None
    engines = json.loads(manifest.read_text()).get("engines") or {}
    found = re.fullmatch(r">=\s*(\d+)(\.\d+)*", str(engines.get("node", "")).strip())
    return int(found.group(1)) if found else None


def node_or_skip() -> str:
    """The Node.js binary for the interop tests; without a usable one (or without the npm
    packages) the test is skipped saying why, or fails under CI."""
    missing = [name for name in PACKAGES if not (JS / "node_modules" / name).is_dir()]
    if missing:
        unavailable(f"js/node_modules lacks {', '.join(missing)}: run `npm --prefix js ci`")
    found = [(binary, _major(binary)) for binary in _candidates()]
    for binary, major in found:
        if major is not None and major >= MIN_NODE:
            return binary
    seen = ", ".join(f"{b} (major version {m})" for b, m in found) or "none"
    unavailable(
        f"the interop tests need Node.js >= {MIN_NODE} (the `ai` package's engines); found: "
        f"{seen}. scripts/test.sh installs one under .tools/, or set AGENTNB_NODE"
    )


def _candidates() -> list[str]:
    explicit = os.environ.get("AGENTNB_NODE")
    if explicit:
        return [explicit]
    on_path = shutil.which("node")
    local = sorted(ROOT.glob(".tools/node*/node_modules/node-*/bin/node"), reverse=True)
    return [*([on_path] if on_path else []), *(str(p) for p in local)]


def _major(binary: str) -> int | None:
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=PATIENCE_S
        )
    except OSError:
        return None
    found = re.match(r"v(\d+)", done.stdout.strip())
    return int(found.group(1)) if found else None


def unavailable(reason: str) -> NoReturn:
    """Skip the test saying ``reason``; under CI (``CI`` set) fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the interop tests, but {reason}", pytrace=False)
    pytest.skip(reason)


def run_script(
    node: str, script: str, *args: str, stdin: bytes = b"", timeout: float = PATIENCE_S
) -> Any:
    """Run ``js/test/interop/<script>`` and return its JSON output; fail with its stderr."""
    done = subprocess.run(
        [node, str(SCRIPTS / script), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=JS,
    )
    if done.returncode != 0:
        pytest.fail(f"{script} exited {done.returncode}:\n{done.stderr.decode()[-4000:]}")
    return json.loads(done.stdout)
