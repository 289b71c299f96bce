"""A call that writes a file shows the diff it writes as lines (every surface through
``shown_call``): old and new marked, each line made visible, bounded; the terminal's prompt
shows them in a gutter, so no line of the file passes for a line of the prompt."""

from __future__ import annotations

import io

from agentnb._core.run import Run
from agentnb._core.shown_call import DIFF_BELOW, DIFF_LINES, shown_call
from agentnb._display.approval_prompt import question
from agentnb._display.terminal import TerminalPrinter
from agentnb._display.widget_protocol import shown_wire
from agentnb.events import RunStarted, ToolApprovalRequested, ToolCallStarted

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


EDIT_REASON = "edits cell 2 of analysis.ipynb\n--- cell 2\n+++ cell 2\n@@ -1 +1 @@\n-y = 1\n+y = 2"


def printed_edit(prompted: bool) -> tuple[str, Run]:
    """A notebook cell's edit (its diff in the approval's reason, under the first line) as
    the terminal prints it, asking at a prompt or not."""
    run, out = Run(agent="a"), io.StringIO()
    printer = TerminalPrinter(out, color=False)
    printer.prompted = prompted
    for event in [
        RunStarted(run_id="r1"),
        ToolCallStarted(call_id="c1", name="notebook_edit_cell", arguments={"index": 2}),
        ToolApprovalRequested(call_id="c1", reason=EDIT_REASON),
    ]:
        run.apply(event)
        printer(run, event)
    return out.getvalue(), run


def test_a_cell_edit_shows_its_diff_once_in_the_gutter_in_the_terminal() -> None:
    """The reason's first line on the call's line; its diff once, each line in the gutter
    (the prompt's, or the printer's where no prompt asks), never again as hung lines."""
    printed, run = printed_edit(prompted=True)
    [call] = run.tool_calls
    shown = printed + question(call, printed.splitlines()[-1])
    assert "awaits approval: edits cell 2 of analysis.ipynb\n" in printed
    assert shown.count("+y = 2") == 1 and "  │ +y = 2\n" in shown
    unasked, _ = printed_edit(prompted=False)
    assert "awaits approval: edits cell 2 of analysis.ipynb\n" in unasked
    assert unasked.count("+y = 2") == 1 and "  │ +y = 2\n" in unasked
    wire = shown_wire(call)  # the chat cell's card heads the call with the same first line
    assert wire["head"] == "edits cell 2 of analysis.ipynb" and "+y = 2" in wire["diff"]


def read_asked(reason: str, **approval: str) -> Run:
    run = Run(agent="a")
    run.apply(RunStarted(run_id="r1"))
    run.apply(ToolCallStarted(call_id="c1", name="notebook_cells", arguments={}))
    run.apply(ToolApprovalRequested(call_id="c1", reason=reason, **approval))
    return run


def test_a_read_heads_its_card_with_its_first_line_and_shows_what_it_sends_apart() -> None:
    """One rule for every surface (``ShownCall.head`` and ``sends``, on the wire for the
    chat cell's card): what a read of the notebook sends is shown apart, made visible; an
    agent's "always" is the agent's own, its reason whole."""
    reason = "reads the notebook; it would send:\nIn[1]:\nx = 1\u202e"
    [read] = read_asked(reason, for_run="reads of the notebook").tool_calls
    assert (shown_wire(read)["head"], shown_wire(read)["sends"]) == (
        "reads the notebook; it would send:",
        ["In[1]:", "x = 1⟨U+202E⟩"],
    )
    always = {"for_run": "touch made.txt, for the session", "agent_option": "Always"}
    [own] = read_asked("touch made.txt\nAvailable Decisions", **always).tool_calls
    assert shown_wire(own)["head"] == "touch made.txt\nAvailable Decisions"
    assert shown_wire(own)["sends"] == []
