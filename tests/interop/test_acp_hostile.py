"""A hostile ACP agent (``acp_agents/hostile_agent.py``, JSON-RPC by hand) attacks the requests
that wait for a person's decision, over its stdio and over a WebSocket: the call a person
approves is the call that runs. A request id reused while one waits is a protocol error that
ends the turn; ``5`` and ``5.0`` are two requests, each with its own card; ``true`` and a list
are not ids (an Invalid Request, the reader reads on); a permission request never becomes a
file read, whatever its ``toolCallId`` says."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from acp_testing import acp_connection, ask, ended
from agentnb_testing import free_port, serving, wait_until

import agentnb
from agentnb.approvals import ApprovalDecision
from agentnb.types import ToolCall

HOSTILE = Path(__file__).resolve().parent / "acp_agents" / "hostile_agent.py"
NOTES = "the notes as they were\n"
SECRET = "the plans, word for word\n"
ANSWER_LOOKED_FOR_S = 10.0
"""How long a card's decision waits for the agent to be answered on its other request: where
the test proves no answer comes (a wrong one would come at once), this whole wait is spent,
so it is not the suite's patience (a decision held 300 s outlived the run's own wait). A
busy machine can only let a late wrong answer slip past, never fail a right client."""


@pytest.fixture(scope="module")
def served_hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("hostile-agent") / "agent.log"
    command = [sys.executable, str(HOSTILE), "--serve", str(port)]
    with serving(command, ready_url=f"http://127.0.0.1:{port}/ready", log_path=log):
        yield f"ws://127.0.0.1:{port}/acp"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.md").write_text(NOTES)
    (tmp_path / "plans.txt").write_text(SECRET)
    return tmp_path


@pytest.fixture(params=["stdio", "websocket"])
def hostile(request: pytest.FixtureRequest, workdir: Path) -> Iterator[str]:
    """A connection named ``hostile`` to the hostile agent, run in ``workdir``, terminals on."""
    if request.param == "stdio":
        where: dict[str, Any] = {"command": [sys.executable, str(HOSTILE)]}
    else:
        where = {"base_url": request.getfixturevalue("served_hostile")}
    with acp_connection("hostile", cwd=workdir, terminal=True, **where):
        yield "hostile"


def answers(workdir: Path) -> dict[str, Any]:
    """What the agent was answered so far, by its request ids as JSON."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        return dict(json.loads((workdir / "answers.json").read_text()))
    return {}


def deciding_after_the_second(
    workdir: Path, answered: Callable[[dict[str, Any]], bool]
) -> Callable[[ToolCall], ApprovalDecision]:
    """An approver that, on the first card, lets the agent send its second request and waits
    until ``answered`` holds of what the agent was answered (or 10 s), then approves the card
    that writes notes.md, and denies any other."""

    def decide(call: ToolCall) -> ApprovalDecision:
        if not (workdir / "go").exists():
            (workdir / "go").write_text("go")
            wait_until(lambda: (workdir / "sent").exists(), "the agent sends its second request")
            deadline = time.monotonic() + ANSWER_LOOKED_FOR_S
            while not answered(answers(workdir)) and time.monotonic() < deadline:
                time.sleep(0.1)
        writes_notes = str(call.arguments.get("path", "")).endswith("notes.md")
        return ApprovalDecision(call.call_id, writes_notes, None if writes_notes else "not that")

    return decide


def test_a_request_id_reused_while_one_waits_ends_the_turn_and_nothing_runs(
    hostile: str, workdir: Path
) -> None:
    approver = deciding_after_the_second(workdir, lambda said: "5" in said)
    run = ended(ask(hostile, "reuse", approve=approver))
    assert "5" in answers(workdir)  # refused at once, before any decision
    assert (workdir / "notes.md").read_text() == NOTES and not (workdir / "run_me.py").exists()
    assert run.status == "failed" and run.error is not None
    assert run.error.code == "protocol_error" and "under the id 5 while" in run.error.message
    [card] = run.tool_calls  # one card: the request that waited, withdrawn
    assert card.arguments["path"].endswith("notes.md") and card.status == "failed"
    assert "neither was carried out" in (card.error or "")
    assert not card.call_id.startswith("acp-fs-")


@pytest.mark.slow  # it waits out ANSWER_LOOKED_FOR_S: scheduled first (tests/conftest.py)
def test_ids_equal_as_python_keys_are_two_requests_each_decided_on_its_own_card(
    hostile: str, workdir: Path
) -> None:
    approver = deciding_after_the_second(workdir, lambda said: False)  # 5 waits: no answer
    run = ended(ask(hostile, "float", approve=approver))
    assert (workdir / "notes.md").read_text() == "approved text\n"
    assert not (workdir / "run_me.py").exists()
    said = answers(workdir)
    assert said["5"] == {} and "denied" in said["5.0"]["message"]
    assert run.status == "completed"
    by_path = {Path(c.arguments["path"]).name: c for c in run.tool_calls}
    assert by_path["notes.md"].status == "succeeded"
    assert by_path["notes.md"].approval is not None and by_path["notes.md"].approval.approved
    assert by_path["run_me.py"].status == "denied"


def test_true_is_not_an_id_and_the_command_under_it_never_runs(hostile: str, workdir: Path) -> None:
    approver = deciding_after_the_second(workdir, lambda said: "null" in said)
    run = ended(ask(hostile, "bool", approve=approver))
    said = answers(workdir)
    assert said["null"]["code"] == -32600 and "is not a string, a number or null" in str(said)
    assert said["1"] == {} and (workdir / "notes.md").read_text() == "approved text\n"
    assert not (workdir / "pwned.txt").exists()
    assert run.status == "completed"
    assert [c.name for c in run.tool_calls] == ["write_text_file"]  # the command: no card


def test_a_permission_named_like_a_file_card_is_answered_as_a_permission(
    hostile: str, workdir: Path
) -> None:
    run = ended(ask(hostile, "fakefs", approve=True))
    said = answers(workdir)
    assert said["70"] == {"outcome": {"outcome": "selected", "optionId": "yes"}}
    assert SECRET.strip() not in run.text and SECRET.strip() not in str(said)
    [call] = run.tool_calls
    assert call.call_id == "acp-fs-70" and call.approval is not None  # the agent's own call


def test_a_call_asked_about_again_is_never_approved_under_its_first_card(
    hostile: str, workdir: Path
) -> None:
    """The second request is seen before the decision (both denied: the call's binding
    broke) or after it (the first answered as decided, the run fails): never allowed."""
    run = ended(ask(hostile, "twice", approve=True))
    wait_until(lambda: "81" in answers(workdir), "the second request is answered")
    said = answers(workdir)  # a run that failed while it waited lets its turn go
    allowed = {"outcome": {"outcome": "selected", "optionId": "yes"}}
    assert said["81"] != allowed and said["81"]["outcome"]["outcome"] in ("selected", "cancelled")
    assert run.status == "failed" or said["80"] != allowed
    [call] = run.tool_calls  # the record never says the second request was approved
    assert call.approval is not None
    assert call.arguments.get("title") == "Read notes.md" or not call.approval.approved


def test_a_requests_meta_never_stands_in_for_its_fields(hostile: str, workdir: Path) -> None:
    """The SDK's router merges a request's ``_meta`` into its method's arguments: what is
    carried out is the request as its card showed it, never what ``_meta`` names."""
    run = ended(ask(hostile, "meta", approve=True))
    [card] = run.tool_calls
    assert card.arguments["path"].endswith("notes.md") and card.status == "succeeded"
    assert (workdir / "notes.md").read_text() == "approved text\n"
    assert not (workdir / "run_me.py").exists()
    assert run.status == "completed", run.error


def test_a_list_as_an_id_is_an_invalid_request_and_the_reader_reads_on(
    hostile: str, workdir: Path
) -> None:
    run = ended(ask(hostile, "listid"))
    assert run.status == "completed"
    said = json.loads(run.text)["answers"]
    assert said["null"]["code"] == -32600 and "[1]" in said["null"]["message"]


def test_the_websockets_authorization_is_never_shown_whole_when_the_agent_echoes_it(
    served_hostile: str, workdir: Path
) -> None:
    token = "hostile-test-token-" + "0123456789abcdef"
    authorized = {"Authorization": f"Bearer {token}"}
    with acp_connection("echoing", base_url=served_hostile, cwd=workdir, headers=authorized):
        run = ended(ask("echoing", "echo"))
    assert run.status == "failed" and run.error is not None
    assert "rejected" in run.error.message and token not in run.error.message
    [kept] = agentnb.runs(agent="echoing")
    assert kept.answer is not None and kept.answer.startswith("you sent ")
    assert token not in kept.answer and token not in str(kept.error_message)


def test_a_claimed_cost_or_count_past_the_sane_range_is_dropped_from_the_run_as_from_the_history(
    hostile: str,
) -> None:
    run = ended(ask(hostile, "cost"))
    assert (run.status, run.text) == ("completed", "priced")
    assert run.usage is not None
    assert run.usage.cost is None and run.usage.prompt_tokens is None
    assert run.usage.completion_tokens == 3
    assert "cost=inf" in (run.usage.refused or "") and "inputTokens=" in (run.usage.refused or "")
    [kept] = agentnb.runs(agent="hostile", limit=1)
    assert kept.cost_usd is None
