"""What a user installs is the wheel, not the clone: it is built, installed into a fresh venv
and runs the README's main job there (a streamed run against the built-in server). The
clone's tests import the package from the clone, so a file the wheel leaves out (the widget's
bundle, a data file, a module) would pass every other test."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from agentnb_testing import REPO

pytestmark = pytest.mark.timeout(300)

QUESTION = "What is NVDA trading at, and how did it move this week?"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the clone with the build backend the dev extras install (no
    download)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(REPO)],
        check=True,
    )  # fmt: skip
    [built] = out.glob("agentnb-*.whl")
    return built


def test_the_wheel_holds_every_file_the_package_tracks(wheel: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "agentnb"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git clone")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert sorted(set(tracked) - shipped) == []


def test_the_wheel_holds_no_test_seam(wheel: Path) -> None:
    """Fault injection is the tests' (tests/fault_injection.py): a user's server has none."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.namelist()
    assert [name for name in shipped if "fault" in name.lower()] == []
    assert [name for name in shipped if name.startswith("tests/")] == []


def test_the_installed_wheel_runs_the_readme_s_main_job(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True,
    )  # fmt: skip
    # The dependencies come from this environment, as a path (its own .pth files, the
    # clone's editable install among them, are not read): agentnb itself is the wheel's.
    purelib = Path(
        subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip()
    )  # fmt: skip
    (purelib / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    env.pop("PYTHONPATH", None)  # a newcomer's shell has no path to the clone

    where = subprocess.run(
        [str(python), "-c", "import agentnb; print(agentnb.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True, env=env,
    ).stdout.strip()  # fmt: skip
    done = subprocess.run(
        [str(venv / "bin" / "agentnb"), "run", "finance_agent", QUESTION],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip

    assert Path(where).is_relative_to(venv), where
    assert done.returncode == 0, done.stderr
    assert "NVDA" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("completed · "), done.stdout
