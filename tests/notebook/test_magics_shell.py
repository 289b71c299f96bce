"""The magics typed as a user types them, through a real IPython InteractiveShell's
``run_cell`` (input transforms included), against the built-in server: questions ending in
``?``, each error shown once, and every run option on the magic line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic_arguments import parse_argstring

import agentnb
from agentnb import Media
from agentnb._app.front import connections as conns
from agentnb._core.request import RUN_OPTIONS, build_request
from agentnb._notebook.magic_args import request_options
from agentnb._notebook.magics import OUTPUT_COLUMNS


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    return ip


@pytest.fixture(autouse=True)
def connections(server: Any, shell: InteractiveShell) -> Iterator[None]:
    conns.close_all()
    agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="test")
    agentnb.connect(
        "operativus", base_url=server.base_url, api_key="wrong-key-000000", name="badkey"
    )
    yield
    conns.close_all()


# ---- questions ending in "?" ------------------------------------------------------------
def run_cell(shell: InteractiveShell, source: str) -> Any:
    shell.user_ns.pop("_agent", None)
    result = shell.run_cell(source)
    assert result.success, result.error_in_exec or result.error_before_exec
    return shell.user_ns.get("_agent")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%agent echo --via test --wait what is NVDA at?", "what is NVDA at?"),
        ("%agent echo --via test --temperature 0.2 --wait what is up??", "what is up??"),
        ("%agent echo --via test --wait what's NVDA at?", "what's NVDA at?"),
        ("x = 1\n%agent echo --via test --wait and then?", "and then?"),
        ("if True:\n    %agent echo --via test --wait indented?", "indented?"),
        (
            "%agent echo --via test --wait a question\\\nover two lines?",
            "a question over two lines?",
        ),
    ],
)
def test_a_question_mark_ends_the_message(
    shell: InteractiveShell, source: str, message: str
) -> None:
    handle = run_cell(shell, source)
    assert handle is not None and handle.text == message


def test_a_cell_magic_whose_first_line_ends_in_a_question_mark(shell: InteractiveShell) -> None:
    handle = run_cell(shell, "%%agent echo --via test --wait --meta why=because?\nreally?")
    assert handle.text == "really?"


def test_question_marks_elsewhere_keep_their_meaning(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cell(shell, "%agent?")
    assert "one-line run" in capsys.readouterr().out  # help for the magic itself
    shell.run_cell('text = """\n%agent echo --via test hi?\n"""')
    assert shell.user_ns["text"] == "\n%agent echo --via test hi?\n"
    run_cell(shell, "%%agent echo --via test --wait\n%agent echo why?")
    assert shell.user_ns["_agent"].text == "%agent echo why?"


def test_unloading_removes_the_question_transform(shell: InteractiveShell) -> None:
    cleanup = shell.input_transformers_cleanup
    count = len(cleanup)
    shell.extension_manager.reload_extension("agentnb")
    assert len(shell.input_transformers_cleanup) == count  # reloading does not add a copy
    shell.extension_manager.unload_extension("agentnb")
    try:
        assert len(shell.input_transformers_cleanup) == count - 1
    finally:
        shell.extension_manager.load_extension("agentnb")
    assert len(shell.input_transformers_cleanup) == count


# ---- each error once -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("%%agent no_such_agent --via test\nhi", "unknown agent 'no_such_agent'"),
        ("%%agent no_such_agent --via test --wait\nhi", "unknown agent 'no_such_agent'"),
        ("%agent no_such_agent --via test --plain hi", "unknown agent 'no_such_agent'"),
        ("%%agent echo --via badkey\nhi", "AuthenticationError"),
    ],
)
def test_a_refused_run_is_reported_once(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], source: str, error: str
) -> None:
    result = shell.run_cell(source)
    assert isinstance(result.error_in_exec, UsageError)
    out, err = capsys.readouterr()
    assert (out + err).count(error) == 1, out + err


def test_a_run_failing_midway_with_wait_is_reported_once(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], server: Any
) -> None:
    agentnb.connect(
        "operativus",
        base_url=server.base_url,
        api_key=server.api_key,
        name="drops",
        headers={"X-AgentNB-Fault": "drop-after=20;no-ids;tag=once-midway"},
    )
    result = shell.run_cell("%%agent writer --via drops --wait --meta paragraphs=5\ngo")
    assert isinstance(result.error_in_exec, UsageError)
    handle = shell.user_ns["_agent"]
    assert handle.status == "interrupted" and handle.text  # the partial answer was shown
    out, err = capsys.readouterr()
    assert handle.text[:20] in out
    reason = " ".join(handle.run.error.message.split())
    assert " ".join((out + err).split()).count(reason) == 1, out + err  # wrapped between words


# ---- every request option -----------------------------------------------------------------
def test_penalties_reach_the_request(shell: InteractiveShell, server: Any) -> None:
    agentnb.connect("seekrflow", base_url=server.base_url, api_key=server.api_key, name="sf")
    handle = run_cell(
        shell, "%agent echo --via sf --wait --frequency-penalty 0.5 --presence-penalty -1 hello"
    )
    assert handle.text == "hello"
    for line, match in [
        ("echo --via sf --frequency-penalty 3", "frequency_penalty"),
        ("echo --via sf --presence-penalty -2.5", "presence_penalty"),
        (
            "echo --via test --presence-penalty 1",
            r"(?s)connection .test. .*\scannot send\s+presence_penalty",
        ),
    ]:
        with pytest.raises(UsageError, match=match):
            shell.run_cell_magic("agent", line, "hi")


def test_help_lists_the_penalties(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("agent", "--help", "ignored")
    out = capsys.readouterr().out
    assert "--frequency-penalty" in out and "--presence-penalty" in out


def test_every_run_option_has_a_magic_option(shell: InteractiveShell) -> None:
    magic = shell.magics_manager.magics["line"]["agent"]
    args = parse_argstring(
        magic,
        "echo --thread t1 --temperature 0.1 --top-p 0.9 --max-tokens 5 "
        "--frequency-penalty 0.5 --presence-penalty -0.5 --meta a=b --followups "
        "--team-id T --user-id U --org-id O --media pics --extra more --tool look",
    )
    pics = [Media(type="image/png", data="aGk=")]

    def look(ticker: str) -> str:
        """Look a ticker up."""
        return ticker

    options = request_options(args, {"pics": pics, "more": {"k": 1}, "look": look})
    assert set(options) == RUN_OPTIONS - {"response_format"}  # that one is --schema
    built = build_request("echo", "hi", **options)
    assert [tool.name for tool in built.tools] == ["look"]
    assert built.model_copy(update={"tools": ()}) == build_request(
        "echo",
        "hi",
        thread_id="t1",
        temperature=0.1,
        top_p=0.9,
        max_tokens=5,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        metadata={"a": "b"},
        followups=True,
        team_id="T",
        user_id="U",
        org_id="O",
        media=pics,
        extra={"k": 1},
    )
    with pytest.raises(UsageError, match="--media nothing: no variable 'nothing'"):
        request_options(parse_argstring(magic, "echo --media nothing"), {})


def test_a_refused_run_leads_with_the_server_s_reason_in_whole_words(
    shell: InteractiveShell,
) -> None:
    """What the person can act on comes first (the server's reason), the URL and the error's
    class after it; lines are cut between words, so a notebook's output never breaks one."""
    result = shell.run_cell("%%agent writer --via test --meta paragraphs=lots\nhi")
    said = str(result.error_in_exec)
    assert " ".join(said.split()).startswith(
        "The server refused the request: body.metadata.paragraphs: paragraphs must be an "
        "integer, got 'lots' (422 Unprocessable Entity from POST http://"
    ), said
    assert said.rstrip().endswith("InvalidRequestError)") and "→" not in said
    for line in f"UsageError: {said}".splitlines():  # as IPython prints it
        assert len(line) <= OUTPUT_COLUMNS or " " not in line, line


def test_a_tool_made_with_agentnb_tool_is_taken_by_the_magic(shell: InteractiveShell) -> None:
    """``asking = agentnb.tool(fn, approve=True)`` then ``--tool asking``: the tool with its
    settings, as ``tools=[asking]`` takes it (not "is a ClientTool, not a function")."""
    magic = shell.magics_manager.magics["line"]["agent"]

    def look(ticker: str) -> str:
        """Look a ticker up."""
        return ticker

    asking = agentnb.tool(look, name="look_up", approve=True)
    options = request_options(parse_argstring(magic, "echo --tool asking"), {"asking": asking})
    [made] = build_request("echo", "hi", **options).tools
    assert (made.name, made.approve) == ("look_up", True)
    with pytest.raises(UsageError, match="--tool n: 'n' is a int, not a function"):
        request_options(parse_argstring(magic, "echo --tool n"), {"n": 3})
