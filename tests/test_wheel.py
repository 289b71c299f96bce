"""What a user installs is the wheel, not the clone: it is built, installed into a fresh venv
and runs the README's main job there (a streamed run against the built-in server). The
clone's tests import the package from the clone, so a file the wheel leaves out (the widget's
bundle, a data file, a module) would pass every other test.

Evaluation is a distribution of its own (agentnb-evals, built from evals/): the base wheel
carries none of it, and ``agentnb.evals`` is found with both installed as wheels and as the
dev setup installs them (editable), and says how to install it when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from agentnb_testing import EVALS_DISTRIBUTION, PATIENCE_S, REPO

QUESTION = "What is NVDA trading at, and how did it move this week?"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The core's wheel and evaluation's, built from the clone with the build backend the dev
    extras install (no download)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(REPO), str(EVALS_DISTRIBUTION)],
        check=True,
    )  # fmt: skip
    [core] = out.glob("agentnb-*.whl")
    [evals] = out.glob("agentnb_evals-*.whl")
    return {"core": core, "evals": evals}


@pytest.fixture(scope="module")
def wheel(wheels: dict[str, Path]) -> Path:
    return wheels["core"]


def tracked(folder: Path) -> list[str]:
    """The files git tracks under ``folder``, from ``folder``'s parent."""
    listed = subprocess.run(
        ["git", "ls-files", str(folder.relative_to(REPO))],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not listed:
        pytest.skip("not a git clone")
    return [str((REPO / name).relative_to(folder.parent)) for name in listed]


def shipped(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def metadata(wheel: Path, name: str) -> str:
    """A file of the wheel's ``.dist-info`` (``METADATA``, ``entry_points.txt``)."""
    with zipfile.ZipFile(wheel) as archive:
        [path] = [n for n in archive.namelist() if n.endswith(f".dist-info/{name}")]
        return archive.read(path).decode()


def test_the_wheel_holds_every_file_the_package_tracks(wheel: Path) -> None:
    assert sorted(set(tracked(REPO / "agentnb")) - shipped(wheel)) == []


def test_the_wheel_holds_no_test_seam(wheel: Path) -> None:
    """Fault injection is the tests' (tests/fault_injection.py): a user's server has none."""
    assert [name for name in shipped(wheel) if "fault" in name.lower()] == []
    assert [name for name in shipped(wheel) if name.startswith("tests/")] == []


def test_the_base_wheel_holds_no_evaluation_and_names_it_as_an_extra(wheel: Path) -> None:
    assert [name for name in shipped(wheel) if "evals" in name] == []
    assert "evals" not in metadata(wheel, "entry_points.txt")
    requires = [
        line
        for line in metadata(wheel, "METADATA").splitlines()
        if line.startswith(("Requires-Dist:", "Provides-Extra:")) and "evals" in line
    ]
    assert sorted(requires) == [
        "Provides-Extra: evals",
        "Requires-Dist: agentnb-evals>=0.8.0; extra == 'dask'",  # an experiment on a cluster: evals
        "Requires-Dist: agentnb-evals>=0.8.0; extra == 'evals'",
        "Requires-Dist: agentnb-evals>=0.8.0; extra == 'ray'",
    ]


def test_the_evaluation_wheel_holds_its_package_and_its_command_only(
    wheels: dict[str, Path],
) -> None:
    package = {name for name in shipped(wheels["evals"]) if ".dist-info/" not in name}
    assert package == set(tracked(EVALS_DISTRIBUTION / "agentnb")) - {"agentnb/README.md"}
    assert all(name.startswith("agentnb/evals/") for name in package)
    assert "evals = agentnb.evals._commands" in metadata(wheels["evals"], "entry_points.txt")
    assert "Requires-Dist: agentnb>=0.8.0" in metadata(wheels["evals"], "METADATA")


def venv_with(tmp_path: Path, *install: str) -> tuple[Path, dict[str, str]]:
    """A fresh venv (its Python) with ``install`` (pip install's arguments, no download), and
    the environment to run it in. The dependencies come from this environment, as a path (its
    own .pth files, the clone's editable installs among them, are not read): agentnb itself
    is what ``install`` names."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip()
    )  # fmt: skip
    (purelib / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", "--no-build-isolation", *install],
        check=True,
    )  # fmt: skip
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    env.pop("PYTHONPATH", None)  # a newcomer's shell has no path to the clone
    return python, env


def in_venv(python: Path, env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", code],
        capture_output=True, text=True, cwd=python.parents[2], env=env, timeout=PATIENCE_S, check=False,
    )  # fmt: skip


def test_the_installed_wheel_runs_the_readme_s_main_job(wheel: Path, tmp_path: Path) -> None:
    python, env = venv_with(tmp_path, str(wheel))
    where = in_venv(python, env, "import agentnb; print(agentnb.__file__)").stdout.strip()
    done = subprocess.run(
        [str(python.parent / "agentnb"), "run", "finance_agent", QUESTION],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=PATIENCE_S, check=False,
    )  # fmt: skip

    assert Path(where).is_relative_to(tmp_path / "venv"), where
    assert done.returncode == 0, done.stderr
    assert "NVDA" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("completed · "), done.stdout


def test_the_base_wheel_alone_says_how_to_install_evaluation(wheel: Path, tmp_path: Path) -> None:
    python, env = venv_with(tmp_path, str(wheel))
    hint = 'agentnb-evals, which is not installed: pip install "agentnb[evals]"'
    for code in (
        "import agentnb.evals",
        "from agentnb import evals",
        "from agentnb.evals import judge",
    ):
        failed = in_venv(python, env, code)
        assert failed.returncode == 1, (code, failed.stdout)
        assert (
            f"ModuleNotFoundError: agentnb.evals is its own distribution, {hint}" in failed.stderr
        ), (code, failed.stderr)
    assert in_venv(python, env, "import agentnb.nothing").stderr.splitlines()[-1] == (
        "ModuleNotFoundError: No module named 'agentnb.nothing'"
    )


EVALUATION_WORKS = """
import agentnb, agentnb.evals
from agentnb.evals import experiment, judge
from agentnb._cli.main import commands
print(agentnb.evals.__file__)
print(agentnb.__file__)
print("experiments" in commands())
"""


def test_both_wheels_give_agentnb_evals_and_its_command(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    python, env = venv_with(tmp_path, str(wheels["core"]), str(wheels["evals"]))
    done = in_venv(python, env, EVALUATION_WORKS)
    assert done.returncode == 0, done.stderr
    evals, core, command = done.stdout.split()
    assert Path(evals).is_relative_to(tmp_path / "venv"), evals
    assert Path(evals).parent.parent == Path(core).parent
    assert command == "True"


def test_both_installed_editable_give_agentnb_evals_and_its_command(tmp_path: Path) -> None:
    """As the dev setup installs them (scripts/test.sh): evaluation's agentnb/ is a directory
    apart from the core's, which extends its package with it."""
    python, env = venv_with(tmp_path, "-e", str(REPO), "-e", str(EVALS_DISTRIBUTION))
    done = in_venv(python, env, EVALUATION_WORKS)
    assert done.returncode == 0, done.stderr
    evals, core, command = done.stdout.split()
    assert Path(evals) == EVALS_DISTRIBUTION / "agentnb" / "evals" / "__init__.py"
    assert Path(core) == REPO / "agentnb" / "__init__.py"
    assert command == "True"
