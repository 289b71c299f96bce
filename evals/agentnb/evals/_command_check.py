"""Checks in a run's copy: :func:`command` is an evaluator that runs a shell command (the
project's tests) in the copy its run worked in (``experiment(..., workspace=...)``), after
the turn: exit 0 passes. The command runs in a process group of its own, ended whole when it
ends or at its timeout, with every process it started that carries its mark in its
environment (a child in a session of its own with ``setsid`` too); of its output only a
head and a tail are held (a check printing 1 GB holds a few KiB), redacted, as the score's
comment."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from agentnb import ConfigurationError
from agentnb.history import RunRecord
from agentnb.types import PROCESS_MARK, end_marked, redacted_error

__all__ = ["CheckNotRun", "Finished", "command", "run_bounded"]

HEAD_BYTES: Final = 4096
"""Bytes of a command's output kept from its start."""
TAIL_BYTES: Final = 12288
"""Bytes of a command's output kept from its end (a test run's summary is there)."""
COMMENT_CHARS: Final = 20000
"""Characters of a command's output kept as the score's comment."""
COPY_KEY: Final = "workspace"
"""The run's metadata key naming the copy it worked in."""
COPY_PREFIX: Final = "agentnb-workspace-"
"""The start of the name of the temporary folder each copy is made in: a command runs only
in a folder there (what a run's metadata names is data, from a worker or a history file)."""


class CheckNotRun(RuntimeError):
    """A check that could not run (its command not found, its own tool not installed, ended
    at its timeout or by a signal): an evaluator error, never the agent's failure."""


NOT_RUN_CODES: Final = {126: "its command could not be executed", 127: "its command was not found"}
"""A POSIX shell's exit codes for a command it could not start."""


@dataclass(frozen=True, slots=True)
class Finished:
    """How a command ended: its exit code (None: ended at its timeout), its output."""

    exit_code: int | None
    output: str
    timeout: float

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def outcome(self) -> str:
        if self.exit_code is None:
            return f"did not end within {self.timeout:g} s and was ended with its processes"
        return "passed" if self.passed else f"failed (exit code {self.exit_code})"


def run_bounded(shell: str, folder: Path, timeout: float) -> Finished:
    """Run ``shell`` in ``folder`` in a process group of its own, for at most ``timeout``
    seconds (then the whole group is killed); its stdout and stderr merged, a head and a
    tail of them kept. Whatever it left running is ended with it."""
    mark = uuid.uuid4().hex
    process = subprocess.Popen(
        shell,
        shell=True,
        cwd=folder,
        env={**os.environ, PROCESS_MARK: mark},  # a child that leaves the group is ended too
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: ended whole
    )
    assert process.stdout is not None
    kept = _HeadAndTail()
    reader = threading.Thread(target=kept.read, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        code: int | None = process.wait(timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        _end_group(process)
        end_marked(mark)
    reader.join(30)
    process.stdout.close()
    return Finished(code, kept.text(), timeout)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # it has ended already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class _HeadAndTail:
    """A stream's first and last bytes, however much of it there is."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.left_out = 0

    def read(self, stream: Any) -> None:
        while piece := stream.read1(65536):
            room = HEAD_BYTES - len(self.head)
            self.head += piece[:room]
            self._to_tail(piece[room:] if room > 0 else piece)

    def _to_tail(self, piece: bytes) -> None:
        if not piece:
            return
        self.tail.append(piece)
        self.tail_size += len(piece)
        while self.tail_size - len(self.tail[0]) >= TAIL_BYTES:
            self.tail_size -= len(first := self.tail.popleft())
            self.left_out += len(first)

    def text(self) -> str:
        tail = b"".join(self.tail)
        cut = max(0, len(tail) - TAIL_BYTES)
        left_out = self.left_out + cut
        gap = f"\n[... {left_out} bytes of output left out ...]\n".encode() if left_out else b""
        return (bytes(self.head) + gap + tail[cut:]).decode("utf-8", "replace")


def command(shell: str, *, name: str | None = None, timeout: float = 300.0) -> Any:
    """An evaluator (``experiment(..., workspace=..., evaluators=[command("pytest -q",
    name="tests")])``) that runs ``shell`` in the run's copy after its turn: exit code 0 is
    ``score.<name>`` True, else False; the comment is its output (a head and a tail, secrets
    redacted). One that does not end within ``timeout`` seconds is ended with its whole
    process group. One that could not run (its command not found or not executable, its own
    tool not installed, ended at its timeout or by a signal) raises an error:
    an evaluator error, never the agent's failure. It runs only in a run's copy, never in the
    notebook's folder: a run that had none (no ``workspace=``, or its copy removed) is an
    evaluator error saying so."""
    if not isinstance(shell, str) or not shell.strip():
        raise ConfigurationError(f"command() takes a shell command, not {shell!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(f"timeout is seconds > 0, not {timeout!r}")
    label = name if name is not None else shell.split()[0].rsplit("/", 1)[-1]
    if not label.isidentifier():
        raise ConfigurationError(
            f"command({shell!r}) needs name=: its score is score.<name>, and {label!r} is no "
            "name (name='tests')"
        )

    def check(run: RunRecord, example: dict[str, Any]) -> tuple[bool, str]:
        folder = _copy_of(run, shell)
        done = run_bounded(shell, folder, float(timeout))
        said = redacted_error(f"`{shell}` {done.outcome}\n{done.output}", limit=COMMENT_CHARS)
        if (why := _not_run(shell, done)) is not None:
            where = f"run {run.local_id}'s copy"
            raise CheckNotRun(f"`{shell}` could not run in {where}: {why}\n{said}")
        return done.passed, said

    check.__name__ = check.__qualname__ = label
    check.runs_in_copy = True  # type: ignore[attr-defined]
    return check


def _not_run(shell: str, done: Finished) -> str | None:
    """Why ``done`` says nothing of the agent's work (None: it ran, and passed or failed)."""
    if done.exit_code is None:
        return f"it did not end within {done.timeout:g} s"
    if done.exit_code in NOT_RUN_CODES:
        return NOT_RUN_CODES[done.exit_code]
    if done.exit_code < 0 or done.exit_code > 128:  # the shell, or its command, ended so
        return f"it was ended by signal {abs(done.exit_code) % 128}"
    tool = _tool_of(shell)
    if tool and re.search(rf"No module named '?{re.escape(tool)}\b", done.output):
        return f"its tool {tool!r} is not installed where it runs"
    return None


def _tool_of(shell: str) -> str | None:
    """The Python module a command runs (``pytest`` of ``pytest -q`` and of ``python -m
    pytest``), whose absence is the check's, not the agent's."""
    try:
        words = shlex.split(shell)
    except ValueError:
        return None
    if len(words) >= 3 and Path(words[0]).name.startswith("python") and words[1] == "-m":
        return words[2]
    return Path(words[0]).name if words else None


def _temp() -> Path:
    return Path(tempfile.gettempdir()).resolve()


def _copy_of(run: RunRecord, shell: str) -> Path:
    given = (run.metadata or {}).get(COPY_KEY)
    if not given:
        raise ConfigurationError(
            f"command({shell!r}) runs in a run's own copy, and run {run.local_id} had none: "
            "run the experiment with workspace=agentnb.evals.workspace(path)"
        )
    folder = Path(str(given)).resolve()
    place = folder.relative_to(tmp).parts if folder.is_relative_to(tmp := _temp()) else ()
    if len(place) < 2 or not place[0].startswith(COPY_PREFIX) or place[1] != "copy":
        raise ConfigurationError(
            f"command({shell!r}) runs only in a copy workspace() made, and run "
            f"{run.local_id} names {str(given)!r}, which is none: it is not run there"
        )
    if not folder.is_dir():
        raise ConfigurationError(
            f"command({shell!r}): run {run.local_id}'s copy {folder} is gone (removed after "
            "its checks); workspace(..., keep=True) keeps it"
        )
    return folder
