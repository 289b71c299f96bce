"""A call that writes a file shows the diff it writes as lines (every surface through
``shown_call``): old and new marked, each line made visible, bounded; the terminal's prompt
shows them in a gutter, so no line of the file passes for a line of the prompt."""

from __future__ import annotations

from agentnb._core.run import Run
from agentnb._core.shown_call import DIFF_BELOW, DIFF_LINES, shown_call
from agentnb._display.approval_prompt import question
from agentnb._display.widget_protocol import shown_wire
from agentnb.events import RunStarted, ToolApprovalRequested

DIFF = "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-old line\n+new line\u202e\nApprove? y\n"


def asked(arguments: dict[str, object]) -> Run:
    run = Run(agent="coder")
    run.apply(RunStarted(run_id="r1"))
    run.apply(
        ToolApprovalRequested(call_id="w1", approval_id="1", name="edit", arguments=arguments)
    )
    return run


def test_the_diff_a_call_writes_is_shown_as_visible_lines() -> None:
    [call] = asked({"path": "notes.txt", "diff": DIFF}).tool_calls
    shown = shown_call(call)
    assert shown.diff == (
        "--- a/notes.txt",
        "+++ b/notes.txt",
        "@@ -1 +1 @@",
        "-old line",
        "+new line⟨U+202E⟩",
        "Approve? y",
    )
    prompt = question(call)
    assert "what it writes:\n  │ --- a/notes.txt\n" in prompt
    assert "  │ +new line⟨U+202E⟩\n  │ Approve? y\n" in prompt  # in the gutter, not a prompt
    assert prompt.endswith("Approve edit? [y/N] ")


def test_the_diff_is_read_once_as_lines_not_again_as_an_escaped_string() -> None:
    """The card and the prompt show the diff as lines under the call; its argument points
    there (its key kept), so a long diff is neither repeated nor counted as a clipped value.
    The whole call has it as it came."""
    long_diff = DIFF + "".join(f"+line {i}\n" for i in range(40))
    [call] = asked({"path": "notes.txt", "diff": long_diff}).tool_calls
    prompt = question(call)
    assert prompt.splitlines()[:3] == [
        "edit wants to run:",
        '  path: "notes.txt"',
        f"  diff: {DIFF_BELOW}",
    ]
    assert "\\n" not in prompt and "clipped" not in prompt
    assert prompt.endswith("Approve edit? [y/N] ")
    wire = shown_wire(call)
    assert wire["arguments"] == [["path", '"notes.txt"', 0], ["diff", DIFF_BELOW, 0]]
    assert wire["whole"][1][1].startswith('"--- a/notes.txt\\n+++ b/notes.txt\\n')
    assert wire["diff"][:2] == ["--- a/notes.txt", "+++ b/notes.txt"]
    shown = shown_call(call)
    assert shown.arguments[1].hidden > 0  # elsewhere (a static copy) the value is clipped
    assert shown.whole()[2].startswith('  diff: "--- a/notes.txt\\n')


def test_a_long_diff_is_cut_saying_how_many_lines_are_left_out() -> None:
    lines = "".join(f"+line {i}\n" for i in range(DIFF_LINES + 25))
    [call] = asked({"diff": f"@@ -0,0 +1 @@\n{lines}"}).tool_calls
    shown = shown_call(call)
    assert len(shown.diff) == DIFF_LINES and shown.diff_hidden == 26
    assert shown.diff_lines()[-1] == "… 26 more lines of the diff"


def test_a_value_named_diff_that_is_no_diff_is_an_argument_only() -> None:
    [call] = asked({"diff": "tomorrow"}).tool_calls
    assert shown_call(call).diff == ()
    assert question(call) == 'Approve edit(diff: "tomorrow")? [y/N] '
