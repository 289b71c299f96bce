"""The shipped notebooks (notebooks/*.ipynb) executed top to bottom in a plain install: agentnb
and its own dependencies, no extra (no pandas, matplotlib or OpenTelemetry), with a kernel of
that install. Every cell runs without an error; a cell that needs an extra says which and
skips. The install is ``.tools/plain``, which ``scripts/test.sh`` makes with ``pip install -e
.`` (and nbclient, ipykernel to run them) and makes again when pyproject.toml changes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S, REPO, sdk_python
from kernel_session import kernel_config

pytestmark = pytest.mark.slow  # an install and a notebook a test: scheduled first

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXTRAS = ("pandas", "matplotlib", "opentelemetry")
EXECUTE = """
import json, sys
import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
per_cell = float(sys.argv[2])  # the suite's PATIENCE_S: a bound for a hang
kernel = Config(json.loads(sys.argv[3]))  # the suite's kernel_config()
NotebookClient(
    notebook, config=kernel, timeout=per_cell, kernel_name="python3", allow_errors=True
).execute()
outputs = []
for cell in notebook.cells:
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        outputs.append({"type": output["output_type"], "text": "".join(text),
                        "error": output.get("ename", "") + ": " + output.get("evalue", "")})
print(json.dumps(outputs))
"""


@pytest.fixture(scope="module")
def plain() -> Path:
    python = sdk_python("plain")
    found = subprocess.run(
        [str(python), "-c", f"import importlib.util as u; print([m for m in {EXTRAS!r} if u.find_spec(m)])"],
        capture_output=True, text=True, check=True, timeout=PATIENCE_S,
    )  # fmt: skip
    assert found.stdout.strip() == "[]", f"the plain install has extras: {found.stdout}"
    return python


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_shipped_notebook_runs_in_a_plain_install(
    plain: Path, path: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTNB_", "PYTHON"))}
    env.update(PYTHONPATH=str(REPO), AGENTNB_HISTORY=str(tmp_path / "history.sqlite3"))
    done = subprocess.run(
        [str(plain), "-c", EXECUTE, str(path), str(PATIENCE_S), json.dumps(kernel_config())],
        capture_output=True, text=True, env=env, cwd=path.parent, timeout=PROGRAM_PATIENCE_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = json.loads(done.stdout)
    errors = [o["error"] for o in outputs if o["type"] == "error"]
    assert errors == [], errors
    skipped = [o["text"] for o in outputs if "skipped: this cell needs" in o["text"]]
    if path.stem == "usage_analysis":
        assert any("agentnb[pandas]" in text for text in skipped), skipped
        assert any("agentnb[plot]" in text for text in skipped), skipped
        assert any("agentnb[otel]" in text for text in skipped), skipped
