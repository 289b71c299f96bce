"""Letta's own server (``letta`` on PyPI, Letta Code) with one agent, ``calc``, its model
the scripted model, served as Letta's help says: ``letta server --listen URL --openai-api``
(its OpenAI-compatible ``/v1/chat/completions``, each agent a model), in local mode, the
scripted model connected as an ``openai-compatible`` provider. Run with the ``.tools/letta``
venv's Python, ``HOME`` a folder of its own (Letta keeps its settings and agents there):

    python letta_server.py PORT MODEL_URL

``/v1/models`` answers once serving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LETTA = str(Path(sys.executable).parent / "letta")


def letta(*arguments: str) -> None:
    subprocess.run([LETTA, *arguments], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    port, model_url = sys.argv[1], sys.argv[2]
    letta("backend", "local")
    letta("connect", "openai-compatible", "--base-url", model_url, "--api-key", "sk-scripted")
    letta("agents", "create", "--name", "calc", "--model", "openai-compatible/m",
          "--personality", "blank")  # fmt: skip
    listen = ["server", "--listen", f"ws://127.0.0.1:{port}", "--openai-api"]
    os.execv(LETTA, [LETTA, *listen])
