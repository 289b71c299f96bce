"""ACP's tool-call fields read for what they are, frame by frame (the turn's frames as the
transport hands them to the dialect, folded into a run as every stream folds them): what a
card shows, and the real disagreements still caught. The same behaviours against agents on
the SDK and the real adapters: tests/interop/test_acp_agents.py, test_acp_coding_agents.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from agentnb._core.run import Run
from agentnb._core.shown_call import shown_call
from agentnb._display.approval_prompt import question, whole_call
from agentnb._display.static_copy import static_html, static_markdown, static_text
from agentnb._display.terminal import TerminalPrinter
from agentnb._display.widget_protocol import shown_wire
from agentnb.approvals import ApprovalDecision
from agentnb.events import ToolApprovalResponded
from agentnb.providers.acp import OPTION_CHARS, Acp, AcpTranslator
from agentnb.sse import ServerSentEvent

RAW = {"command": ["rm", "-rf", "build"], "cwd": "/work", "call_id": "c1"}


def turn(*frames: tuple[str, dict[str, Any]]) -> tuple[Run, AcpTranslator]:
    translator = AcpTranslator(Acp(), "s1")
    run = Run(agent="coder")
    for event, data in frames:
        for translated in translator.translate(ServerSentEvent(event, json.dumps(data))):
            run.apply(translated)
    return run, translator


def call(**fields: Any) -> tuple[str, dict[str, Any]]:
    return "update", {"sessionUpdate": "tool_call", "toolCallId": "t1", **fields}


def update(**fields: Any) -> tuple[str, dict[str, Any]]:
    return "update", {"sessionUpdate": "tool_call_update", "toolCallId": "t1", **fields}


def asked(**fields: Any) -> tuple[str, dict[str, Any]]:
    options = [{"optionId": "y", "name": "Yes", "kind": "allow_once"}]
    tool_call = {"toolCallId": "t1", **fields}
    params = {"toolCall": tool_call, "options": options}
    named = {"ticket": "k7", "method": "session/request_permission", "digest": "d7"}
    return "permission", {**named, "params": params}


def decide(run: Run, translator: AcpTranslator, approved: bool) -> None:
    translator.decided(ApprovalDecision("t1", approved))
    run.apply(ToolApprovalResponded(call_id="t1", approved=approved, decided_by="user"))


def test_the_command_and_cwd_are_the_face_and_the_input_is_aside() -> None:
    run, _ = turn(asked(title="rm -rf build", kind="execute", rawInput=RAW))
    [shown] = [shown_call(c) for c in run.tool_calls]
    assert [(a.key, a.value) for a in shown.arguments] == [
        ("command", "rm -rf build"),
        ("cwd", "/work"),
    ]
    assert shown.aside == ("input",) and shown.whole_arguments[-1].key == "input"
    assert run.tool_calls[0].approval is not None
    assert run.tool_calls[0].approval.reason == "rm -rf build"  # the title, as the question


def test_a_request_for_another_command_than_announced_is_still_flagged() -> None:
    other = {**RAW, "command": ["rm", "-rf", "/"]}
    run, _ = turn(call(kind="execute", rawInput=RAW), asked(rawInput=other))
    [shown] = [shown_call(c) for c in run.tool_calls]
    assert shown.lines()[1] == "  command: rm -rf /"  # the one the agent acts on, first
    assert len(shown.other_versions) == 1 and "disagree" in shown.warnings()[0]


def test_another_command_reported_once_approved_is_marked_as_run_unapproved() -> None:
    run, translator = turn(call(kind="execute", rawInput=RAW), asked(rawInput=RAW))
    decide(run, translator, True)
    other = {**RAW, "command": ["curl", "evil.example"]}
    for event, data in (update(status="in_progress", rawInput=other), update(status="completed")):
        for translated in translator.translate(ServerSentEvent(event, json.dumps(data))):
            run.apply(translated)
    [done] = run.tool_calls
    assert done.unapproved == "it ran with other arguments than the ones shown for approval"


def test_bookkeeping_reported_once_approved_is_not_another_call() -> None:
    run, translator = turn(asked(kind="execute", rawInput=RAW))
    decide(run, translator, True)
    running = {**RAW, "process_id": "42"}
    output = {"formatted_output": "removed\n", "exit_code": 0}
    for event, data in (
        update(status="in_progress", rawInput=running),
        update(status="completed", rawOutput=output),
    ):
        for translated in translator.translate(ServerSentEvent(event, json.dumps(data))):
            run.apply(translated)
    [done] = run.tool_calls
    assert (done.status, done.output, done.unapproved) == ("succeeded", "removed\n", None)


def test_a_proposed_diff_is_the_cards_not_an_output() -> None:
    diff = {"type": "diff", "path": "/work/a.txt", "oldText": "old\n", "newText": "new\n"}
    run, _ = turn(
        call(kind="edit", status="pending", rawInput={}),
        update(rawInput={"file_path": "/work/a.txt"}, content=[diff]),
        asked(title="Edit /work/a.txt"),
    )
    [pending] = run.tool_calls
    assert pending.output is None
    assert shown_call(pending).diff[-2:] == ("-old", "+new")
    assert shown_call(pending).other_versions == ()  # more of the input, not another call


def test_a_call_without_a_kind_is_named_by_its_title() -> None:
    run, _ = turn(call(title="notebook/read_cell", status="in_progress", rawInput={}))
    assert run.tool_calls[0].name == "notebook/read_cell"


def test_other_input_reported_once_approved_for_a_call_naming_no_command_or_path_is_marked() -> (
    None
):
    fetch = {"url": "https://example.com/a"}
    run, translator = turn(asked(kind="fetch", rawInput=fetch))
    decide(run, translator, True)
    other = {"url": "https://evil.example/b"}
    for event, data in (update(status="in_progress", rawInput=other), update(status="completed")):
        for translated in translator.translate(ServerSentEvent(event, json.dumps(data))):
            run.apply(translated)
    assert run.tool_calls[0].unapproved is not None


def asked_with(options: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    kind, data = asked(title="touch made.txt", kind="execute", rawInput=RAW)
    return kind, {**data, "params": {**data["params"], "options": options}}


def test_the_agents_always_option_is_offered_in_its_own_words() -> None:
    """What "always" covers is the agent's (Codex amends its command policy): the choice
    that picks it says so in the agent's words, not agentnb's "for this run"."""
    codex = "Yes, and don't ask again for commands that start with `touch made.txt`"
    options = [
        {"optionId": "y", "name": "Yes", "kind": "allow_once"},
        {"optionId": "a", "name": codex, "kind": "allow_always"},
        {"optionId": "n", "name": "No", "kind": "reject_once"},
    ]
    run, _ = turn(asked_with(options))
    approval = run.tool_calls[0].approval
    assert approval is not None and approval.agent_option == codex
    assert approval.for_run is not None  # the choice is offered
    assert approval.to_dict()["agent_option"] == codex  # what the chat cell reads
    prompt = question(run.tool_calls[0])
    assert f"(a: the agent's option “{codex}”: it decides what that covers" in prompt
    assert "in this run" not in prompt


def test_an_option_name_is_shown_visible_and_bounded_and_none_without_always() -> None:
    hostile = "Always\u202e allow\nApprove rm -rf / " + "x" * 5000
    options = [{"optionId": "a", "name": hostile, "kind": "allow_always"}]
    approval = turn(asked_with(options))[0].tool_calls[0].approval
    assert approval is not None and approval.agent_option is not None
    assert approval.agent_option.startswith("Always⟨U+202E⟩ allow⟨U+000A⟩Approve rm -rf /")
    assert len(approval.agent_option) == OPTION_CHARS and approval.agent_option.endswith("…")
    unnamed = turn(asked_with([{"optionId": "a", "kind": "allow_always"}]))[0]
    assert "does not name" in str(unnamed.tool_calls[0].approval.agent_option)  # type: ignore[union-attr]
    once = turn(asked_with([{"optionId": "y", "name": "Yes", "kind": "allow_once"}]))[0]
    assert once.tool_calls[0].approval.agent_option is None  # type: ignore[union-attr]


def said(*chunks: str, message_id: str | None = None) -> str:
    """The answer a turn of ``chunks`` (each an ``agent_message_chunk``) reads as."""
    named = {"messageId": message_id} if message_id else {}
    chunk = {"sessionUpdate": "agent_message_chunk", **named}
    run, _ = turn(*(("update", {**chunk, "content": {"type": "text", "text": c}}) for c in chunks))
    return run.text


def test_a_sentence_started_straight_after_one_ended_is_another_message_only_unnamed() -> None:
    """Codex sends its notices whole, naming no message: the answer after one is its own
    paragraph. A message's own chunks go on as they came (a lowercase word, a space first),
    and chunks of one named message are never cut."""
    notice = "Defaulting to fallback metadata; this can cause issues."
    assert said(notice, "The ", "answer.") == f"{notice}\n\nThe answer."
    assert said("See e.g.", "the ", "docs. ", "Then", " go.") == "See e.g.the docs. Then go."
    assert said("One.", "Two.", message_id="m1") == "One.Two."


def printed(*frames: tuple[str, dict[str, Any]]) -> tuple[Run, str]:
    """The run of ``frames`` and what the terminal printed of it as they came."""
    translator, run, out = AcpTranslator(Acp(), "s1"), Run(agent="coder"), io.StringIO()
    printer = TerminalPrinter(out, color=False)
    for event, data in frames:
        for translated in translator.translate(ServerSentEvent(event, json.dumps(data))):
            run.apply(translated)
            printer(run, translated)
    return run, out.getvalue()


def test_a_commands_trailing_newline_is_no_hidden_character() -> None:
    """A model's command ends with a line break (``ls -la\\n``): nothing a person must be
    warned of, so no surface draws it as ``⟨U+000A⟩``; a hidden character is still marked."""
    raw = {"command": ["/bin/bash", "-lc", "ls -la\n"], "cwd": "/work"}
    run, terminal = printed(
        asked(title="ls -la\n", kind="execute", rawInput=raw),
        update(status="completed", rawOutput={"formatted_output": "total 0\n", "exit_code": 0}),
    )
    [done] = run.tool_calls
    shown = [terminal, question(done), static_text([run]), static_html([run])]
    assert all("⟨U+" not in text for text in shown), shown
    assert all("/bin/bash -lc 'ls -la'" in text for text in shown[:3]), shown
    assert "awaits approval\n" in terminal and terminal.endswith(": total 0\n")
    _, hidden = printed(asked(title="ls\u202e -la\n", kind="execute", rawInput=raw))
    assert "awaits approval: ls⟨U+202E⟩ -la\n" in hidden
    create = {"ticket": "k8", "method": "terminal/create", "digest": "d8", "ask": True}
    run, _ = printed(("file", {**create, "params": {"command": "ls", "args": ["-la\n"]}}))
    assert shown_call(run.tool_calls[0]).lines()[1] == "  command: ls -la"


# ---- Codex's own frames (codex-acp 0.x, as it asks on a scripted model) ---------------------
CODEX_EXEC = {
    "call_id": "call_run_1",
    "turn_id": "01a224b1-d8f0-7de1-b24b-b697f2b9aeac",
    "started_at_ms": 1795911965026,
    "command": ["/bin/bash", "-lc", "touch made.txt"],
    "cwd": "/work",
    "proposed_execpolicy_amendment": ["touch", "made.txt"],
    "available_decisions": [
        "approved",
        {"approved_execpolicy_amendment": {"proposed_execpolicy_amendment": ["touch", "made.txt"]}},
        "abort",
    ],
    "parsed_cmd": [{"type": "unknown", "cmd": "touch made.txt"}],
    "reason": "to make the file the user asked for",
}
CODEX_NOTES = "Proposed Amendment: touch\nmade.txt\nAvailable Decisions: Approved\nAbort"


def noted(text: str) -> list[dict[str, Any]]:
    return [{"type": "content", "content": {"type": "text", "text": text}}]


def test_codexs_command_card_shows_what_it_asks_and_its_bookkeeping_one_click_away() -> None:
    """The face is the command (joined once, quoted as a shell reads it, not as JSON), its cwd
    and its reason; Codex's notes and its whole input are the whole call's, on every surface."""
    run, terminal = printed(
        asked(title="touch made.txt", kind="execute", status="pending", rawInput=CODEX_EXEC,
              content=noted(CODEX_NOTES))
    )  # fmt: skip
    [call] = run.tool_calls
    shown = shown_call(call)
    face = ["execute(", "  command: /bin/bash -lc 'touch made.txt'", "  cwd: /work", ")"]
    assert shown.lines() == face and shown.warnings() == []
    assert call.approval is not None
    assert call.approval.reason == "touch made.txt — to make the file the user asked for"
    asked_at = question(call)
    assert "  command: /bin/bash -lc 'touch made.txt'\n  cwd: /work\n" in asked_at
    assert "(details and input kept aside: v shows the whole call)" in asked_at
    for face_of in (asked_at, terminal, static_text([run])):
        assert "Available Decisions" not in face_of and "call_id" not in face_of, face_of
    whole = whole_call(call)
    assert "details: " in whole and "Available Decisions" in whole and '"call_id"' in whole
    wire = shown_wire(call)
    assert [key for key, _, _ in wire["arguments"]] == ["command", "cwd"]
    assert wire["aside"] == ["details", "input"]
    assert [key for key, _ in wire["whole"]] == ["command", "cwd", "details", "input"]
    assert "Available Decisions" in static_html([run])  # behind "Show whole call"


CODEX_MCP_ANNOUNCED = {"server": "notes", "tool": "write_note", "arguments": {"text": "hi"}}


def codex_mcp_asks(tool: str = "write_note", params: Any = None) -> dict[str, Any]:
    """Codex's permission request for an MCP tool call, as codex-acp sends it."""
    params = {"text": "hi"} if params is None else params
    meta = {
        "codex_approval_kind": "mcp_tool_call",
        "persist": ["session", "always"],
        "tool_description": "Write a note.",
        "tool_params": params,
        "tool_params_display": [
            {"name": k, "value": v, "display_name": k} for k, v in params.items()
        ],
    }
    request = {
        "mode": "form",
        "_meta": meta,
        "message": f'Allow the notes MCP server to run tool "{tool}"?',
        "requested_schema": {"type": "object", "properties": {}},
    }
    return {
        "turn_id": "01a224b1-9a94-7ca1-9da1-f3f152b3e8f8",
        "server_name": "notes",
        "id": "mcp_tool_call_approval_t1",
        "request": request,
    }


def mcp_turn(**asking: Any) -> Run:
    return turn(
        call(title="Tool: notes/write_note", status="in_progress", rawInput=CODEX_MCP_ANNOUNCED),
        asked(title="Approve MCP tool call", status="pending", rawInput=codex_mcp_asks(**asking),
              content=noted('Allow the notes MCP server to run tool "write_note"?')),
    )[0]  # fmt: skip


def test_codexs_mcp_tool_call_card_is_one_call_in_two_spellings() -> None:
    """Codex announces an MCP tool call (server, tool, arguments) and asks about it in its
    own request's words (server_name, the tool in its message, tool_params): the same call,
    named as the server's tool, with no false "versions disagree"."""
    [pending] = mcp_turn().tool_calls
    shown = shown_call(pending)
    assert shown.warnings() == [] and shown.other_versions == ()
    assert shown.lines() == [
        "notes/write_note(",
        "  server: notes",
        "  tool: write_note",
        '  arguments: {"text": "hi"}',
        ")",
    ]


@pytest.mark.parametrize(
    "asking", [{"params": {"text": "rm -rf ~"}}, {"tool": "delete_notes"}], ids=["args", "tool"]
)
def test_codexs_mcp_request_for_another_call_than_announced_is_flagged(
    asking: dict[str, Any],
) -> None:
    [pending] = mcp_turn(**asking).tool_calls
    assert "disagree" in " ".join(shown_call(pending).warnings())


def test_a_cards_unquoted_values_are_each_asked_about_on_a_line_of_their_own() -> None:
    """A card's text is not quoted as JSON, so a value that reads like more arguments
    (``a.txt, path: /safe``) could pass for them on one line: the prompt lists each."""
    read = {"ticket": "k9", "method": "fs/read_text_file", "digest": "d9", "ask": True}
    run, _ = printed(("file", {**read, "params": {"path": "/work/a.txt, line: 1"}}))
    lines = question(run.tool_calls[0]).splitlines()
    assert lines[:2] == ["read_text_file wants to run:", "  path: /work/a.txt, line: 1"]


def test_a_command_of_several_lines_reads_as_its_lines_on_every_surface() -> None:
    """``cd x`` then ``pytest -q``, as Codex asks for them: the prompt, the widget's card and
    the static copy show its lines, each under the first, not a JSON string with ``\\n``."""
    raw = {"command": ["/bin/bash", "-lc", "cd x\npytest -q\n"], "cwd": "/work"}
    run, _ = printed(asked(title="cd x\npytest -q", kind="execute", rawInput=raw))
    [call] = run.tool_calls
    face = ["  command: /bin/bash -lc 'cd x", "           pytest -q'", "  cwd: /work"]
    assert question(call).splitlines()[1:4] == face
    assert shown_wire(call)["arguments"][0][1] == "/bin/bash -lc 'cd x\npytest -q'"
    assert "command: /bin/bash -lc &#x27;cd x\n         pytest -q&#x27;" in static_html([run])


def test_a_reason_repeating_the_command_is_said_once_and_one_of_several_lines_reads_as_lines() -> (
    None
):
    """Codex's reason is its title, the script the command runs: no surface says it again
    above the command, and where it gives a justification that alone is said. A reason that
    says more reads as its lines, each later one under the first, so none passes for the
    card's own text."""
    raw = {"command": ["/bin/bash", "-lc", "cd x\npytest -q\n"], "cwd": "/work"}
    run, terminal = printed(asked(title="cd x\npytest -q", kind="execute", rawInput=raw))
    [call] = run.tool_calls
    said = [terminal, question(call), static_html([run]), static_markdown([run])]
    assert all("⟨U+000A⟩" not in text and "pytest -q —" not in text for text in said), said
    assert "‖ execute awaits approval\n" in terminal and shown_wire(call)["head"] == ""
    assert "Approval requested" not in static_html([run])
    why = {**raw, "justification": "to run the tests\tfirst"}
    run, terminal = printed(asked(title="cd x\npytest -q", kind="execute", rawInput=why))
    [call] = run.tool_calls
    assert shown_wire(call)["head"] == "to run the tests⟨U+0009⟩first"  # the title said once
    other = {**why, "command": ["make", "check"]}
    run, terminal = printed(asked(title="cd x\npytest -q", kind="execute", rawInput=other))
    [call] = run.tool_calls
    lines = "cd x\npytest -q — to run the tests⟨U+0009⟩first"
    assert shown_wire(call)["head"] == lines
    head = "  ‖ execute awaits approval: "
    assert lines.replace("\n", "\n" + " " * len(head)) in terminal, terminal
    head = "Approval requested: "
    assert lines.replace("\n", "<br>" + "\u00a0" * len(head)) in static_html([run])
