"""Which coding agent does my task best: an experiment of two ACP coding agents (scripted on
the official SDK, each its own process per run) over a throwaway git repository with one
failing test, each run in its own ``git worktree``; the project's tests run in each copy
(``agentnb.evals.command``), each run's change kept, the cost frontier, a pairwise judge."""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas
import pytest
from agentnb_testing import (
    PATIENCE_S,
    PEER_TIMEOUT,
    REPO,
    TLS,
    free_port,
    sdk_python,
    serving,
    wait_until,
)
from scripted_judge import JUDGE_MODEL, scripted_judge

import agentnb
from agentnb import ConfigurationError
from agentnb._app.front import connections as connections_module
from agentnb._app.front.connections import disconnect
from agentnb._core.trace_ids import run_span_id
from agentnb._history import close_default_stores
from agentnb._tracing import configure_tracing, flush_tracing
from agentnb.evals import command, experiment, pairwise, pairwise_judge, workspace
from agentnb.history import HistoryStore

CODER = Path(__file__).resolve().parent / "coding_agent.py"
CODEX_MODEL = Path(__file__).resolve().parent / "scripted_codex_model.py"
PYTEST = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -p no:cacheprovider"
"""The copies' own tests, as a check: the dev venv's pytest plugins are nothing to a project
of one test, and loading them (nbval's nbformat imports jsonschema, which builds a URI
grammar) took each check 2.5 CPU-seconds where the tests took 0.2."""
QUESTIONS = [f"make test_add pass ({n})" for n in range(4)]


def git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=where, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(where)},
    ).stdout  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose one test fails: ``add`` subtracts."""
    made = tmp_path / "repo"
    made.mkdir()
    (made / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (made / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n"
                                       "    assert add(2, 3) == 5\n")  # fmt: skip
    git(made, "init", "-q", "-b", "main")
    git(made, "add", ".")
    git(made, "commit", "-q", "-m", "start")
    return made


@pytest.fixture
def coders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """Two ACP connections, ``fixer_*`` (fixes ``add``, $0.20 a turn) and ``idler_*``
    (changes nothing, $0.30 a turn), their runs recorded in the test's own history; the
    notebook's folder is ``tmp_path / "notebook"``."""
    python = sdk_python("acp")
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    monkeypatch.chdir(notebook)
    tag = uuid.uuid4().hex[:6]
    fixer, idler = f"fixer_{tag}", f"idler_{tag}"
    agentnb.connect(
        "acp",
        command=[str(python), str(CODER), "--fix", "--cost", "0.2"],
        name=fixer,
        timeout=PEER_TIMEOUT,
    )
    agentnb.connect(
        "acp", command=[str(python), str(CODER), "--cost", "0.3"], name=idler, timeout=PEER_TIMEOUT
    )
    try:
        yield fixer, idler
    finally:
        disconnect(fixer)
        disconnect(idler)
        close_default_stores()


def remove_kept(repo: Path, copy: Path) -> None:
    """Remove a kept copy (a worktree of ``repo``) and its temporary folder."""
    subprocess.run(["git", "worktree", "remove", "--force", str(copy)], cwd=repo, check=True)
    shutil.rmtree(copy.parent)


@pytest.fixture(autouse=True)
def copies_of_our_own(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process's copies go in a temporary folder of the test's own: copies another
    process makes at the same time (the other worker's tests, the docs' examples) are not
    taken for ones left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("copies")))


def copies_left() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob("agentnb-workspace-*"))


def test_two_coding_agents_each_in_its_own_copy_checked_kept_and_judged(
    repo: Path, coders: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixer, idler = coders
    before = copies_left()
    asked: list[str | None] = []

    def get_connection(name: str | None = None) -> Any:
        asked.append(name)
        return original(name)

    original = connections_module.get_connection
    monkeypatch.setattr(connections_module, "get_connection", get_connection)
    notebook = Path.cwd()
    exp = experiment(
        f"coding_{uuid.uuid4().hex[:6]}",
        [fixer, idler],
        QUESTIONS,
        workspace=workspace(repo),
        evaluators=[command(PYTEST, name="tests")],
        concurrency=4,
        approve=True,  # the file writes
        progress=False,
    )
    assert None not in asked and "default" not in asked, "no built-in server for the history"
    table = exp.to_pandas()
    not_completed = [
        (r.agent, r.message, r.status, r.error_code, r.error_message)
        for r in exp.runs()
        if r.status != "completed"
    ]
    assert not not_completed, not_completed
    assert set(table["status"]) == {"completed"}
    by_arm = table.groupby("arm")["score.tests"].mean().to_dict()
    assert by_arm == {fixer: 1.0, idler: 0.0}
    # each agent worked in its own copy: its session's cwd and its process's
    folders = {answer.split("session cwd ")[1].split(";")[0] for answer in table["answer"]}
    assert len(folders) == len(QUESTIONS) * 2
    assert all("agentnb-workspace-" in f and str(repo) not in f for f in folders)
    assert all(a.split("session cwd ")[1].split("; process cwd ") [0] ==
               a.split("process cwd ")[1].rstrip(")") for a in table["answer"])  # fmt: skip
    # its change, and nothing else (the check's own files are not in it)
    for question in QUESTIONS:
        fixed = exp.change(question, fixer)
        assert [(f.path, f.added, f.removed) for f in fixed.files] == [("calc.py", 1, 1)]
        assert "-    return a - b\n+    return a + b" in fixed.diff
        assert fixed.kept_at is None
        assert exp.change(question, idler).files == ()
    # the failing check's output is its comment
    store = HistoryStore(tmp_path / "history.sqlite3")
    [failed] = store.scores([exp.run(QUESTIONS[0], idler).local_id])
    [passed] = store.scores([exp.run(QUESTIONS[0], fixer).local_id])
    store.close()
    assert failed.comment is not None and "failed (exit code 1)" in failed.comment
    assert "1 failed" in failed.comment and "assert -1 == 5" in failed.comment
    assert passed.comment is not None and "passed" in passed.comment
    # nothing left behind: no copy, no worktree, the notebook's folder and the repo untouched
    assert copies_left() == before
    assert git(repo, "worktree", "list").count("\n") == 1
    assert git(repo, "status", "--porcelain") == ""
    assert list(notebook.iterdir()) == []
    # the frontier: the idler passes less at more cost
    frontier = exp.frontier(score="tests", cost="cost")
    points = {p.arm: p for p in frontier.points}
    assert (points[fixer].pass_rate, points[idler].pass_rate) == (1.0, 0.0)
    assert points[idler].dominated_by == (fixer,) and not points[fixer].dominated
    assert points[fixer].mean_cost == pytest.approx(0.2)
    assert "yes, by" in repr(frontier)
    # a judge that always prefers the first position: every question a tie, none a win
    judge_name = f"pj_{uuid.uuid4().hex[:6]}"
    with scripted_judge(judge_name) as app:
        app.answer = json.dumps({"winner": "A", "rationale": "the first one"})
        judged = pairwise(exp, a=fixer, b=idler, judge=pairwise_judge(JUDGE_MODEL, via=judge_name))
    disconnect(judge_name)
    assert (judged.wins, judged.losses, judged.ties, judged.no_verdict) == (0, 0, 4, 0)
    assert judged.win_rate is None and "the orders disagree: A then A" in repr(judged)
    assert len(app.asked) == 8 and '"diff": "diff --git' in app.asked[0]


def test_a_ref_that_does_not_exist_is_said_with_the_branches(repo: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"ref='nope'.*no such branch.*main"):
        workspace(repo, ref="nope")


def test_a_folder_that_is_no_repository_has_no_ref(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no git repository"):
        workspace(tmp_path, ref="main")


def test_uncommitted_changes_are_said_and_left_out_of_the_copy(repo: Path) -> None:
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    with pytest.warns(UserWarning, match=r"1 uncommitted change.*calc\.py.*committed state"):
        space = workspace(repo)
    copy = space.copy()
    try:
        assert "a - b" in (copy.folder / "calc.py").read_text()
    finally:
        copy.remove()


def test_a_setup_that_fails_fails_the_run_before_its_agent_starts_naming_it(
    repo: Path, coders: tuple[str, str]
) -> None:
    fixer, _ = coders
    before = copies_left()
    said = r"question .* on fixer_.*'echo preparing; exit 7' failed \(exit code 7\).*not started"
    with pytest.raises(agentnb.evals.SetupFailed, match=f"(?s){said}.*preparing"):
        experiment(
            f"setup_{uuid.uuid4().hex[:6]}",
            fixer,
            QUESTIONS[:1],
            workspace=workspace(repo, setup="echo preparing; exit 7"),
            progress=False,
            approve=True,
        )
    assert copies_left() == before


@pytest.mark.parametrize("field", ["setup", "repo"])
def test_a_datasets_setup_or_repo_is_data_until_the_workspace_trusts_the_dataset(
    repo: Path, coders: tuple[str, str], tmp_path: Path, field: str
) -> None:
    """A dataset may come from someone else (a shared file, a history file): its ``setup``
    runs as a shell command, and its ``repo`` makes any folder the agent's copy, only where
    the person's own code said ``workspace(..., trust_dataset=True)``."""
    fixer, _ = coders
    before = copies_left()
    pwned = tmp_path / "pwned"
    row = {"question": "fix it", field: f"touch {pwned}" if field == "setup" else str(tmp_path)}
    with pytest.raises(ConfigurationError, match=rf"'{field}'.*trust_dataset=True"):
        experiment(
            f"data_{uuid.uuid4().hex[:6]}", fixer, [row], workspace=workspace(repo),
            progress=False, approve=True,
        )  # fmt: skip
    assert not pwned.exists() and copies_left() == before
    if field == "setup":
        experiment(
            f"trusted_{uuid.uuid4().hex[:6]}", fixer, [row],
            workspace=workspace(repo, trust_dataset=True), progress=False, approve=True,
        )  # fmt: skip
        assert pwned.exists()


def test_a_question_names_its_own_ref_and_a_failed_run_keeps_its_copy(
    repo: Path, coders: tuple[str, str]
) -> None:
    _, idler = coders
    git(repo, "checkout", "-q", "-b", "fixed")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(repo, "commit", "-qam", "fixed")
    git(repo, "checkout", "-q", "main")
    exp = experiment(
        f"refs_{uuid.uuid4().hex[:6]}",
        idler,
        pandas.DataFrame([{"question": "on main"}, {"question": "on fixed", "ref": "fixed"}]),
        workspace=workspace(repo, keep="failed"),
        evaluators=[command(PYTEST, name="tests")],
        progress=False,
        approve=True,
    )
    table = exp.to_pandas().set_index("message")
    assert table.loc["on main", "score.tests"] == False  # noqa: E712 - a bool score
    assert table.loc["on fixed", "score.tests"] == True  # noqa: E712
    kept = exp.change("on main", idler).kept_at
    assert kept is not None and Path(kept, "calc.py").exists()
    assert exp.change("on fixed", idler).kept_at is None
    remove_kept(repo, Path(kept))


def test_a_folder_is_copied_and_its_change_is_the_agents(
    tmp_path: Path, coders: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fixer, _ = coders
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (folder / "logo.bin").write_bytes(b"\x00\x01binary")
    exp = experiment(
        f"folder_{uuid.uuid4().hex[:6]}",
        fixer,
        ["fix it"],
        workspace=workspace(folder),
        approve=True,
    )
    assert f"experiment {exp.name}: 1/1 runs, $0.20 so far" in capsys.readouterr().err
    change = exp.change("fix it", fixer)
    assert [f.path for f in change.files] == ["calc.py"] and change.summary() == (
        "1 file(s) changed, +1 -1"
    )
    assert (folder / "calc.py").read_text().endswith("a - b\n")  # the original untouched
    assert not (folder / ".git").exists()


def test_an_agent_writing_outside_its_copy_is_refused(
    repo: Path, coders: tuple[str, str], tmp_path: Path
) -> None:
    escaper = f"escaper_{uuid.uuid4().hex[:6]}"
    command_line = [str(sdk_python("acp")), str(CODER), "--escape"]
    agentnb.connect("acp", command=command_line, name=escaper, timeout=PEER_TIMEOUT)
    try:
        exp = experiment(
            f"escape_{uuid.uuid4().hex[:6]}",
            escaper,
            QUESTIONS[:1],
            workspace=workspace(repo, keep=True),
            progress=False,
            approve=True,
        )
    finally:
        disconnect(escaper)
    run = exp.run(QUESTIONS[0], escaper)
    assert run.answer is not None and run.answer.startswith("write refused:")
    assert "outside" in run.answer
    change = exp.change(QUESTIONS[0], escaper)
    assert change.files == () and change.kept_at is not None
    copy = Path(change.kept_at)
    assert not (copy.parent / "calc.py").exists()  # beside the copy: nothing written
    remove_kept(repo, copy)


@pytest.mark.slow
def test_real_codex_on_a_scripted_model_edits_its_own_copy(
    repo: Path, coders: tuple[str, str], tmp_path: Path
) -> None:
    codex = REPO / ".tools" / "codex-acp" / "node_modules" / ".bin" / "codex-acp"
    if not codex.exists():
        pytest.skip("codex-acp is not installed in .tools/codex-acp (scripts/test.sh installs it)")
    _, idler = coders
    port = free_port()
    model = [sys.executable, str(CODEX_MODEL), str(port)]
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(  # the copy is the isolation: Codex's own sandbox off
        'sandbox_mode = "danger-full-access"\napproval_policy = "never"\n'
        'model = "gpt-5-codex"\nmodel_provider = "scripted"\n[model_providers.scripted]\n'
        f'name = "scripted"\nbase_url = "http://127.0.0.1:{port}/v1"\nwire_api = "responses"\n'
        'env_key = "SCRIPTED_KEY"\n'
    )
    (home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-dummy"}))
    name = f"codex_{uuid.uuid4().hex[:6]}"
    env = {"CODEX_HOME": str(home), "SCRIPTED_KEY": "sk-dummy"}
    before = copies_left()
    log = tmp_path / "model.log"
    with serving(model, ready_url=f"http://127.0.0.1:{port}/log", log_path=log):
        agentnb.connect("acp", command=[str(codex)], name=name, env=env, timeout=PEER_TIMEOUT)
        try:
            exp = experiment(
                f"codex_{uuid.uuid4().hex[:6]}",
                [name, idler],
                QUESTIONS[:2],
                workspace=workspace(repo),
                evaluators=[command(PYTEST, name="tests")],
                concurrency=2,
                approve=True,
                progress=False,
            )
        finally:
            disconnect(name)
    table = exp.to_pandas()
    assert set(table["status"]) == {"completed"}, table[["arm", "status", "answer"]]
    assert table.groupby("arm")["score.tests"].mean().to_dict() == {name: 1.0, idler: 0.0}
    for question in QUESTIONS[:2]:
        change = exp.change(question, name)
        assert [(f.path, f.added, f.removed) for f in change.files] == [("calc.py", 1, 1)]
        assert "+    return a + b" in change.diff
    assert copies_left() == before
    assert git(repo, "status", "--porcelain") == "" and "a - b" in (repo / "calc.py").read_text()


@pytest.mark.slow
def test_each_runs_change_goes_to_phoenix_with_its_diff_when_content_is_captured(
    repo: Path, coders: tuple[str, str], phoenix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixer, _ = coders
    project = f"agentnb-coding-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={project}")
    configure_tracing(endpoint=phoenix, scores="phoenix", content=True)
    try:
        exp = experiment(
            f"traced_{uuid.uuid4().hex[:6]}",
            fixer,
            QUESTIONS[:2],
            workspace=workspace(repo),
            progress=False,
            approve=True,
        )
        assert flush_tracing(timeout=PATIENCE_S)
    finally:
        configure_tracing(False)
    spans = {format(run_span_id(run.local_id), "016x") for run in exp.runs()}
    found: list[dict[str, object]] = []

    def arrived() -> bool:
        reply = httpx.get(
            f"{phoenix}/v1/projects/{project}/span_annotations",
            params={"span_ids": sorted(spans), "limit": 100},
            timeout=PATIENCE_S,
            verify=TLS,
        )
        data = reply.json().get("data", []) if reply.status_code == 200 else []
        found[:] = [a for a in data if a["name"] == "change"]
        return len(found) == 2

    wait_until(arrived, "both runs' changes are annotations in Phoenix", timeout=PATIENCE_S)
    for note in found:
        result, meta = note["result"], note["metadata"]
        assert isinstance(result, dict) and isinstance(meta, dict)
        assert result["label"] == "1 file(s) changed, +1 -1"
        assert "+    return a + b" in result["explanation"]
        assert (meta["files"], meta["added"], meta["removed"]) == ([["calc.py", 1, 1]], 1, 1)


def test_a_workspace_is_not_sent_to_an_executor(tmp_path: Path) -> None:
    said = r"copy on this machine.*without executor="
    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        pytest.raises(ConfigurationError, match=said),
    ):
        experiment("remote_copies", "echo", ["q"], workspace=workspace(tmp_path), executor=pool)
