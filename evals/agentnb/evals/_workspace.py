"""A working copy per run: :func:`workspace` says where an experiment's coding agents work
(a git repository at a ref, or a folder), and :class:`Copy` is one run's fresh copy of it —
a ``git worktree`` at the ref's commit (the committed state: uncommitted changes are not in
it), or a copy of the folder with a git index of its own kept beside it, outside the copy —
made in a temporary folder, never in the notebook's. The copy's start is committed, so the
change a run made is ``git diff`` against it (:mod:`._change`), taken before any check runs
in the copy (a check's own files, ``__pycache__``, are not the agent's change).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from agentnb import ConfigurationError
from agentnb.display import warn

from ._command_check import COPY_PREFIX, run_bounded

__all__ = ["Copy", "SetupFailed", "Workspace", "checked_workspace", "workspace"]

GIT_TIMEOUT: Final = 120.0
"""Seconds one git command of a copy may take (a worktree of a large repository)."""

SETUP_TIMEOUT: Final = 600.0
"""Seconds a copy's setup command may take before it is ended, and the run with it."""

Keep = Literal[False, True, "failed"]

_GIT_ENV: Final = {
    "GIT_AUTHOR_NAME": "agentnb",
    "GIT_AUTHOR_EMAIL": "agentnb@localhost",
    "GIT_COMMITTER_NAME": "agentnb",
    "GIT_COMMITTER_EMAIL": "agentnb@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
_worktree_lock = threading.Lock()
"""``git worktree add/remove`` of one repository write its ``.git/worktrees``: one at a time."""


class SetupFailed(ConfigurationError):
    """A copy's setup command failed: the run's agent was not started."""


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where an experiment's agents work: each (question, arm) run gets a fresh copy of
    :attr:`path` (see :func:`workspace`). A question's ``repo``, ``ref`` and ``setup``
    fields name its own."""

    path: Path
    ref: str | None = None
    setup: str | None = None
    keep: Keep = False
    setup_timeout: float = SETUP_TIMEOUT
    trust_dataset: bool = False
    """Whether a question's ``repo`` and ``setup`` fields may name its copy and command."""

    def for_question(self, fields: Mapping[str, Any]) -> Workspace:
        """This workspace with a question's own ``repo``, ``ref`` or ``setup`` over it; a
        question naming a ``repo`` or a ``setup`` is refused unless the workspace trusts the
        dataset (a dataset is data: it never runs a command, nor picks the folder, unasked)."""
        path, given = _field(fields, "repo"), _field(fields, "setup")
        named = [name for name, value in (("repo", path), ("setup", given)) if value is not None]
        if named and not self.trust_dataset:
            raise ConfigurationError(
                f"a question names its own {' and '.join(map(repr, named))} "
                f"({fields.get(named[0])!r}), and a dataset is data: its setup runs as a shell "
                "command and its repo is copied for the agent only with "
                "workspace(..., trust_dataset=True)"
            )
        ref, setup = _field(fields, "ref") or self.ref, given or self.setup
        if path is None and ref == self.ref and setup == self.setup:
            return self
        return replace(
            workspace(self.path if path is None else path, ref, setup, self.keep, quiet=True),
            trust_dataset=True,
        )

    def copy(self) -> Copy:
        """A fresh copy, its start committed, its setup run; :class:`SetupFailed` when the
        setup fails (the copy is removed)."""
        root = Path(tempfile.mkdtemp(prefix=COPY_PREFIX))
        try:
            made = _git_copy(self, root) if _git_top(self.path) else _folder_copy(self, root)
            if self.setup is not None:
                _run_setup(self, made)
        except BaseException:
            _remove(root, _git_top(self.path))
            raise
        return made


@dataclass(frozen=True, slots=True)
class Copy:
    """One run's copy: :attr:`folder` is where its agent works."""

    root: Path
    """The temporary folder holding the copy (and, for a folder's copy, its git index)."""
    folder: Path
    """The agent's working directory (in a repository's subfolder: that subfolder)."""
    top: Path
    """The copy's top: the worktree, or the folder's copy."""
    start: str
    """The commit the copy started from."""
    env: Mapping[str, str]
    """What git needs to read this copy (a folder's copy: its git dir apart)."""
    repository: Path | None
    """The repository it is a worktree of (None: a folder's copy)."""

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """``git args`` on the copy."""
        return _git(self.top, *args, env=self.env, check=check)

    def git_head(self, size: int, *args: str) -> bytes:
        """The first ``size`` bytes ``git args`` on the copy writes (one more when it writes
        more: the rest is never read), its process ended there; ``TimeoutExpired`` when it
        did not end within :data:`GIT_TIMEOUT`."""
        process = subprocess.Popen(
            ["git", *args],
            cwd=self.top,
            env={**os.environ, **_GIT_ENV, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        late = threading.Event()

        def too_late() -> None:
            late.set()
            process.kill()

        timer = threading.Timer(GIT_TIMEOUT, too_late)
        timer.start()
        assert process.stdout is not None
        with process.stdout:
            head = process.stdout.read(size + 1)
        timer.cancel()
        process.kill()
        process.wait()
        if late.is_set():
            raise subprocess.TimeoutExpired(args, GIT_TIMEOUT)
        return head

    def remove(self) -> None:
        """Remove the copy (a worktree is unregistered from its repository)."""
        _remove(self.root, self.repository)


def workspace(
    path: str | os.PathLike[str],
    ref: str | None = None,
    setup: str | None = None,
    keep: Keep = False,
    *,
    trust_dataset: bool = False,
    quiet: bool = False,
) -> Workspace:
    """Each run of ``experiment(..., workspace=...)`` gets a fresh copy of ``path`` as its
    agent's working directory (an ACP agent's process, its sessions' ``cwd`` and the files
    it reads and writes), so arms and questions never see each other's changes:

    - a git repository (or a folder in one): a ``git worktree`` at ``ref`` (default: its
      ``HEAD``), the committed state — uncommitted changes are said, and not in the copy;
    - any other folder: a copy of it.

    ``setup``: a shell command run in each copy before its agent starts (``"pip install -e
    ."``); one that fails fails the run, naming it. A question's ``ref`` field (the
    dataset's) names its own; its ``repo`` and ``setup`` fields too, only with
    ``trust_dataset=True`` (a dataset is data, and may come from someone else: without it, an
    experiment whose dataset names either is refused before any copy is made). The copy is
    removed after its checks (``agentnb.evals.command``), unless ``keep=True``, or
    ``keep="failed"`` for a run that failed or a check that did not pass; where it is kept is
    on the run
    (``exp.change(question, arm).kept_at``)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigurationError(f"workspace({str(path)!r}): no such folder")
    if keep not in (False, True, "failed"):
        raise ConfigurationError(f"keep is False, True or 'failed', not {keep!r}")
    if setup is not None and (not isinstance(setup, str) or not setup.strip()):
        raise ConfigurationError(f"setup is a shell command (a string), not {setup!r}")
    found = Workspace(folder.resolve(), ref, setup, keep, trust_dataset=trust_dataset is True)
    top = _git_top(found.path)
    if top is None:
        if ref is not None:
            raise ConfigurationError(
                f"workspace({str(path)!r}, ref={ref!r}): {str(path)!r} is no git repository, "
                "so it has no refs; leave ref out to copy the folder"
            )
        return found
    _commit_of(top, ref or "HEAD", str(path))  # a ref that does not exist fails here
    if not quiet:
        _say_uncommitted(found.path, ref)
    return found


def _field(fields: Mapping[str, Any], name: str) -> str | None:
    """A question's own ``repo``, ``ref`` or ``setup``: a text; None where it has none (a
    DataFrame's missing value too)."""
    value = fields.get(name)
    if value is None or (isinstance(value, float) and value != value):  # NaN: left empty
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"a question's {name!r} field names its own {name} as text, not {value!r}"
        )
    return value


def _git(
    where: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        ["git", *args],
        cwd=where,
        env={**os.environ, **_GIT_ENV, **(env or {})},
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if check and done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()
        raise ConfigurationError(f"git {' '.join(args[:3])} in {where} failed: {said}")
    return done


def _git_top(folder: Path) -> Path | None:
    """The top of the git repository ``folder`` is in, or None."""
    if shutil.which("git") is None:
        return None
    done = _git(folder, "rev-parse", "--show-toplevel", check=False)
    return Path(done.stdout.decode().strip()).resolve() if done.returncode == 0 else None


def _commit_of(top: Path, ref: str, named: str) -> str:
    done = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode == 0:
        return done.stdout.decode().strip()
    if ref == "HEAD":
        raise ConfigurationError(
            f"workspace({named!r}): the repository has no commit yet; commit its files first"
        )
    branches = _git(top, "for-each-ref", "--format=%(refname:short)", "refs/heads", check=False)
    listed = ", ".join(branches.stdout.decode().split()[:10]) or "none"
    raise ConfigurationError(
        f"workspace({named!r}, ref={ref!r}): no such branch, tag or commit in {top} "
        f"(its branches: {listed})"
    )


def _say_uncommitted(folder: Path, ref: str | None) -> None:
    done = _git(folder, "status", "--porcelain", "--", ".", check=False)
    changed = [line for line in done.stdout.decode("utf-8", "replace").splitlines() if line]
    if changed:
        warn(
            f"agentnb: {folder} has {len(changed)} uncommitted change(s) "
            f"({', '.join(line[3:] for line in changed[:3])}{', ...' if len(changed) > 3 else ''})"
            f": each run's copy is the committed state at {ref or 'HEAD'}, without them",
            stacklevel=3,
        )


def _git_copy(space: Workspace, root: Path) -> Copy:
    top = _git_top(space.path)
    assert top is not None
    start = _commit_of(top, space.ref or "HEAD", str(space.path))
    tree = root / "copy"
    with _worktree_lock:
        _git(top, "worktree", "add", "--detach", "--quiet", str(tree), start)
    inside = space.path.relative_to(top)
    return Copy(root, tree / inside, tree, start, {}, top)


def _folder_copy(space: Workspace, root: Path) -> Copy:
    tree = root / "copy"
    shutil.copytree(space.path, tree, symlinks=True)
    env = {"GIT_DIR": str(root / "git"), "GIT_WORK_TREE": str(tree)}
    _git(tree, "init", "--quiet", env=env)
    _git(tree, "add", "--all", env=env)
    _git(tree, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", "start", env=env)
    start = _git(tree, "rev-parse", "HEAD", env=env).stdout.decode().strip()
    return Copy(root, tree, tree, start, env, None)


def _run_setup(space: Workspace, made: Copy) -> None:
    assert space.setup is not None
    done = run_bounded(space.setup, made.folder, space.setup_timeout)
    if done.passed:
        return
    raise SetupFailed(
        f"the setup command {space.setup!r} {done.outcome} in the run's copy of "
        f"{space.path}; its agent was not started. Its output:\n{done.output}"
    )


def _remove(root: Path, repository: Path | None) -> None:
    if repository is not None and (root / "copy").exists():
        with _worktree_lock:
            _git(repository, "worktree", "remove", "--force", str(root / "copy"), check=False)
    shutil.rmtree(root, ignore_errors=True)
    if repository is not None:
        with _worktree_lock:
            _git(repository, "worktree", "prune", check=False)


def checked_workspace(given: object) -> Workspace | None:
    """``workspace=`` as an experiment takes it: None, or what :func:`workspace` made."""
    if given is None or isinstance(given, Workspace):
        return given
    raise ConfigurationError(
        f"workspace= takes agentnb.evals.workspace(path), not {type(given).__name__}: "
        f"workspace=agentnb.evals.workspace({given!r})"
    )
