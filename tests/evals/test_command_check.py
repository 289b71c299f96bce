"""``agentnb.evals.command``: a check run in a run's copy, in a process group of its own —
exit 0 passes; its output bounded (1 GB printed holds a few KiB) and redacted; a hang ended
with its whole group at the timeout; never run outside a copy."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from agentnb_testing import PROGRAM_PATIENCE_S, process_ended, wait_until

from agentnb import ConfigurationError
from agentnb._core import secrets
from agentnb.evals import command
from agentnb.evals._command_check import COMMENT_CHARS, COPY_PREFIX, CheckNotRun


def ran_in(folder: Path) -> Any:
    """What the check reads of a run: its id and the copy its metadata names."""
    return SimpleNamespace(local_id="run-1", metadata={"workspace": str(folder)})


@pytest.fixture
def copy() -> Iterator[Path]:
    """A folder where workspace() makes a run's copy."""
    root = Path(tempfile.mkdtemp(prefix=COPY_PREFIX))
    (root / "copy").mkdir()
    yield root / "copy"
    shutil.rmtree(root)


def test_exit_zero_passes_and_the_output_is_the_comment(copy: Path) -> None:
    (copy / "marker.txt").write_text("here")
    check = command("cat marker.txt", name="reads")
    assert check.__name__ == "reads"
    assert check(ran_in(copy), {}) == (True, "`cat marker.txt` passed\nhere")


def test_a_failure_keeps_its_exit_code_and_secrets_are_redacted(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-0123456789abcdef0123456789")
    monkeypatch.setattr(secrets, "_cache", (float("-inf"), ()))  # the environment read again
    passed, said = command("echo key $OPENAI_API_KEY; exit 3", name="leaks")(ran_in(copy), {})
    assert passed is False and "failed (exit code 3)" in said
    assert "sk-live-0123456789abcdef0123456789" not in said


def test_a_check_printing_1_gb_holds_its_head_and_tail(copy: Path) -> None:
    shell = "echo first; head -c 1000000000 /dev/zero | tr '\\0' x; echo; echo last line"
    passed, said = command(shell, name="loud", timeout=PROGRAM_PATIENCE_S)(ran_in(copy), {})
    assert passed is True and len(said) <= COMMENT_CHARS + 200
    assert said.startswith("`echo first;") and "\nfirst\n" in said
    assert said.rstrip().endswith("last line") and "bytes of output left out" in said


def test_a_hang_is_ended_with_its_whole_process_group_at_the_timeout(copy: Path) -> None:
    pid_file = copy / "child.pid"
    shell = f"{sys.executable} -c 'import time; time.sleep(600)' & echo $! > child.pid; wait"
    started = time.monotonic()
    with pytest.raises(CheckNotRun, match="did not end within 3 s"):  # not the agent's failure
        command(shell, name="hangs", timeout=3)(ran_in(copy), {})
    assert time.monotonic() - started < 120  # ended, not waited out  # checked: not a rate
    child = int(pid_file.read_text())
    wait_until(lambda: process_ended(child), "the check's child is ended with its group")


@pytest.mark.parametrize(
    ("shell", "why"),
    [
        ("no-such-test-runner-here -q", "its command was not found"),
        (f"{sys.executable} -m no_such_test_runner_here -q", "'no_such_test_runner_here' is not"),
        ("chmod -x run.sh; ./run.sh", "its command could not be executed"),
        ("kill -9 $$", "ended by signal 9"),
        ("sh -c 'kill -9 $$'", "ended by signal 9"),
    ],
)
def test_a_check_that_could_not_run_is_an_evaluator_error_not_a_failure(
    copy: Path, shell: str, why: str
) -> None:
    (copy / "run.sh").write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(CheckNotRun, match=why) as raised:
        command(shell, name="tests")(ran_in(copy), {})
    assert "could not run in run run-1's copy" in str(raised.value)


def test_the_projects_own_missing_module_is_the_agents_failure(copy: Path) -> None:
    """A module the agent's change lost (the project's, not the check's tool) fails it."""
    shell = f"{sys.executable} -c 'import lost_by_the_agent'"
    passed, said = command(shell, name="tests")(ran_in(copy), {})
    assert passed is False and "No module named 'lost_by_the_agent'" in said


@pytest.mark.parametrize("ending", ["exit 0", "sleep 600"])
def test_a_child_that_left_the_group_with_setsid_is_ended_with_the_check(
    copy: Path, ending: str
) -> None:
    """A check (or a copy's setup, run the same way) whose child detached into a session of
    its own: ended with the check, whether the check ended by itself or at its timeout."""
    started = "setsid sh -c 'echo $$ > child.pid; exec sleep 600' &"
    waited = "while [ ! -s child.pid ]; do sleep 0.05; done"
    with contextlib.suppress(CheckNotRun):  # the one ended at its timeout
        command(f"{started} {waited}; {ending}", name="detaches", timeout=5)(ran_in(copy), {})
    child = int((copy / "child.pid").read_text())
    try:
        wait_until(lambda: process_ended(child), "the detached child is ended with the check")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_a_run_without_a_copy_is_never_checked_in_the_notebooks_folder(copy: Path) -> None:
    check = command("touch should-not-exist", name="tests")
    no_copy = SimpleNamespace(local_id="run-2", metadata={})
    with pytest.raises(ConfigurationError, match=r"runs in a run's own copy.*workspace="):
        check(no_copy, {})
    gone = ran_in(copy / "removed")
    with pytest.raises(ConfigurationError, match=r"is gone.*keep=True"):
        check(gone, {})
    assert not Path("should-not-exist").exists()


@pytest.mark.parametrize("named", ["notebook", "lookalike"])
def test_a_folder_a_runs_metadata_names_is_no_copy_unless_workspace_made_it(
    tmp_path: Path, named: str
) -> None:
    """A worker's run or a history file names the copy: only a folder where workspace()
    makes copies is one."""
    folder = {
        "notebook": tmp_path,
        "lookalike": tmp_path / f"{COPY_PREFIX}x" / "copy",
    }[named]
    folder.mkdir(parents=True, exist_ok=True)
    with pytest.raises(ConfigurationError, match=r"runs only in a copy workspace\(\) made"):
        command("touch pwned", name="tests")(ran_in(folder), {})
    assert not (folder / "pwned").exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"shell": ""}, "takes a shell command"),
        ({"shell": "pytest", "timeout": 0}, "timeout is seconds > 0"),
        ({"shell": "./run-tests.sh"}, "needs name="),
    ],
)
def test_bad_checks_are_said(given: dict[str, Any], said: str) -> None:
    with pytest.raises(ConfigurationError, match=said):
        command(**given)
