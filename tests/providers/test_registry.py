"""The dialect registry loads what a run needs: one dialect's module for a run of it, every
installed one only when they are all listed; a broken plugin costs its own name only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentnb_testing import PATIENCE_S

from agentnb.providers import ENTRY_POINT_GROUP

BROKEN = "raise RuntimeError('this plugin is broken')\n"


def install(site: Path, name: str, module: str, source: str) -> None:
    """A distribution on ``site`` whose module ``module`` is an ``agentnb.providers`` entry
    point, found by importlib.metadata as an installed one is."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {module}:Dialect\n")


def fresh(code: str, site: Path) -> dict[str, object]:
    """What ``code`` (which sets ``out``) found, in a new interpreter with ``site`` on its path."""
    program = (
        "import json, sys, warnings\n"
        "warnings.simplefilter('always')\n"
        f"{code}\n"
        "out['dialects'] = sorted(m.rsplit('.', 1)[1] for m in sys.modules"
        " if m.startswith('agentnb.providers.') and not m.rsplit('.', 1)[1].startswith('_'))\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        env=env,
        check=True,
    )
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    found["stderr"] = done.stderr
    return found


def test_a_run_s_dialect_loads_alone_and_a_broken_plugin_is_not_loaded(tmp_path: Path) -> None:
    install(tmp_path, "brokendialect", "brokendialect_module", BROKEN)
    found = fresh(
        "import agentnb\n"
        "from agentnb.providers import get_provider\n"
        "out = {'name': get_provider('operativus').name}",
        tmp_path,
    )
    assert found["name"] == "operativus"
    assert found["dialects"] == ["operativus"], "no other dialect's module is imported"
    assert "brokendialect" not in str(found["stderr"]), "a plugin not asked for is not loaded"


def test_listing_every_dialect_loads_them_all_and_warns_of_a_broken_one(tmp_path: Path) -> None:
    install(tmp_path, "brokendialect", "brokendialect_module", BROKEN)
    found = fresh(
        "import agentnb\n"
        "from agentnb.providers import available_providers, provider_class\n"
        "out = {'listed': sorted(available_providers()),"
        " 'broken': provider_class('brokendialect') is None}",
        tmp_path,
    )
    listed = found["listed"]
    assert isinstance(listed, list) and {"operativus", "anthropic", "ag-ui"} <= set(listed)
    assert "brokendialect" not in listed and found["broken"] is True
    assert "provider plugin 'brokendialect' failed to load" in str(found["stderr"])
    assert str(found["stderr"]).count("failed to load") == 1, "said once"
