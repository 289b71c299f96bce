"""A question an MCP server asks in the middle of a call (elicitation), against
``elicit_server.py`` (the ``mcp`` SDK's ``ctx.elicit`` and ``ctx.elicit_url``):
``mcp_tools(elicit=fn)`` answers in code, and accept, decline and cancel reach the server; an
answer that does not fit the form is declined, saying why; a form of 300 fields is declined
unasked; a run nobody can answer declines, its call's result saying so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, wait_until
from mcp_servers import calling_first, server_command

import agentnb
from agentnb import AgentClient, ConfigurationError
from agentnb._core.questions import QuestionReply
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle
from agentnb.types import McpElicitation

COMMAND = server_command("elicit_server.py")


def called(tools: agentnb.types.McpTools, name: str) -> str:
    """What the tool ``travel__<name>`` returned (called as a run calls it)."""
    [tool] = [t for t in tools if t.name == f"travel__{name}"]
    assert tool.function is not None and tool.user_loop is not None
    done = asyncio.run_coroutine_threadsafe(tool.function(city="Paris"), tool.user_loop)
    result: str = done.result(PATIENCE_S)
    return result


def test_a_form_is_answered_in_code() -> None:
    asked: list[McpElicitation] = []

    def elicit(question: McpElicitation) -> dict[str, Any]:
        asked.append(question)
        return {"date": "2026-12-01", "seats": 2}

    with agentnb.mcp_tools(command=COMMAND, elicit=elicit) as tools:
        assert called(tools, "book") == "accepted {'date': '2026-12-01', 'seats': 2}"
    [question] = asked
    assert question.mode == "form" and question.url is None
    assert question.message == "Which date and how many seats for Paris?"
    assert question.fields["seats"]["type"] == "integer"
    assert question.fields["date"]["title"] == "<b>Date</b> of travel", (
        "the server's text, as it is"
    )
    assert question.server == "travel", "the name its calls carry, not its command line"


def test_an_answer_in_code_gets_the_forms_defaults_for_the_fields_it_left_out() -> None:
    """SEP-1034 (the MCP conformance suite checks it): the client fills what a form's fields
    default to, as the chat cell's card does; a field the answer gives keeps its value."""
    with agentnb.mcp_tools(command=COMMAND, elicit=lambda _: {"bags": 2}) as tools:
        received = called(tools, "cabin")
    assert received == "received {'bags': 2, 'cabin': 'economy', 'meals': True}"


@pytest.mark.parametrize(
    ("answer", "said"), [(None, "declined"), ("decline", "declined"), ("cancel", "cancelled")]
)
def test_decline_and_cancel_reach_the_server(answer: str | None, said: str) -> None:
    with agentnb.mcp_tools(command=COMMAND, elicit=lambda _: answer) as tools:
        assert called(tools, "book") == said
        assert called(tools, "pay") == said


def test_a_link_is_accepted_and_never_opened_here() -> None:
    asked: list[McpElicitation] = []

    def elicit(question: McpElicitation) -> bool:
        asked.append(question)
        return True

    with agentnb.mcp_tools(command=COMMAND, elicit=elicit) as tools:
        assert called(tools, "pay") == "accepted"
    [question] = asked
    assert (question.mode, question.url) == ("url", "https://pay.example.com/checkout/42")
    assert question.fields == {}


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"date": "2026-12-01", "seats": "two"}, "'two' is not of type 'integer'"),
        ({"date": "2026-12-01", "seats": 12}, "12 is greater than the maximum of 9"),
        ({"date": "2026-12-01"}, "'seats' is a required property"),
        ({"date": "x", "seats": 1, "card": "4111"}, "Additional properties are not allowed"),
        ("yes", "the answer was not a dict of its fields"),
    ],
)
def test_an_answer_that_does_not_fit_the_form_is_declined_saying_why(
    answer: object, why: str
) -> None:
    with agentnb.mcp_tools(command=COMMAND, elicit=lambda _: answer) as tools:
        result = called(tools, "book")
    assert result.startswith("declined\n[the server asked 'Which date and how many seats")
    assert why in result


def test_a_form_of_hundreds_of_fields_is_declined_unasked() -> None:
    asked: list[McpElicitation] = []
    with agentnb.mcp_tools(command=COMMAND, elicit=asked.append) as tools:
        result = called(tools, "survey")
    assert asked == []
    assert result == (
        "declined\n[the server asked 'A few questions' with a form of 300 fields, more than "
        "the 50 agentnb asks for: declined unasked]"
    )


def test_an_elicit_function_that_raises_cancels() -> None:
    def elicit(question: McpElicitation) -> None:
        raise RuntimeError("no screen")

    with agentnb.mcp_tools(command=COMMAND, elicit=elicit) as tools:
        result = called(tools, "book")
    assert result.startswith("cancelled\n[the server asked")
    assert "the elicit function raised RuntimeError('no screen')" in result


def test_elicit_must_be_a_function() -> None:
    with pytest.raises(ConfigurationError, match="elicit= is a function"):
        agentnb.mcp_tools(command=COMMAND, elicit="yes")  # type: ignore[arg-type]


def test_a_run_nobody_can_answer_declines_saying_so(server: ServerHandle, tmp_path: Path) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools, HistoryStore(tmp_path / "h.db") as store:
        ordered = calling_first(tools, "travel__book")
        settings = server.client_settings("openai")
        with AgentClient("openai", api_key=server.api_key, recorder=store, **settings) as c:
            run = c.run("finance_agent", "book Paris", tools=ordered)
        store.flush()
        [record] = store.runs()
        kept = record.tool_calls[0].output
    said = (
        "declined\n[the server asked 'Which date and how many seats for NVDA?': declined, as "
        "nobody could answer it: the caller was waiting for the run to end "
        "(mcp_tools(..., elicit=fn) answers in code)]"
    )
    assert [(call.status, call.output) for call in run.tool_calls] == [("succeeded", said)]
    assert said in run.text, "the agent reads it"
    assert kept == said


def asking_run(
    server: ServerHandle, tools: agentnb.types.McpTools, first: str, via: str = "elicit"
) -> Any:
    """A run (not waited for: a person may answer) whose agent calls ``travel__<first>``."""
    ordered = calling_first(tools, f"travel__{first}")
    settings = server.client_settings("openai")
    conn = agentnb.connect("openai", api_key=server.api_key, name=via, **settings)
    return agentnb.ask("finance_agent", "book Paris", via=conn.name, tools=ordered, display=False)


def test_a_person_answers_the_form_the_run_shows(server: ServerHandle) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        handle = asking_run(server, tools, "book")
        wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].asks, "the form")
        [call] = handle.run.tool_calls
        asked = call.asks
        assert asked is not None and call.status == "running"
        assert asked["mode"] == "form" and asked["hidden"] == 0
        assert asked["message"] == "Which date and how many seats for NVDA?"
        seats = {f["key"]: f for f in asked["fields"]}["seats"]
        assert (seats["kind"], seats["min"], seats["max"], seats["required"]) == (
            "integer",
            1,
            9,
            True,
        )
        assert {f["key"]: f for f in asked["fields"]}["date"]["label"] == "<b>Date</b> of travel"
        with pytest.raises(ConfigurationError, match="accept, decline or cancel, not 'yes'"):
            handle.reply(call.call_id, "yes")
        handle.reply(call.call_id, "accept", {"date": "2026-12-01", "seats": 3})
        run = handle.wait(PATIENCE_S)
    assert run.tool_calls[0].output == "accepted {'date': '2026-12-01', 'seats': 3}"
    assert run.tool_calls[0].asks is None
    with pytest.raises(ConfigurationError, match="asks no question now"):
        handle.reply(call.call_id, "decline")


def test_a_question_goes_to_the_call_that_asked_not_the_oldest(server: ServerHandle) -> None:
    """Two runs on one server: the second's question is shown on its own call's card while
    the first's waits on its own, and each answer reaches its own call."""
    with agentnb.mcp_tools(command=COMMAND) as tools:
        first = asking_run(server, tools, "book")
        wait_until(lambda: first.run.tool_calls and first.run.tool_calls[0].asks, "the form")
        second = asking_run(server, tools, "pay", via="elicit-2")
        wait_until(lambda: second.run.tool_calls and second.run.tool_calls[0].asks, "the link")
        [booking], [paying] = first.run.tool_calls, second.run.tool_calls
        assert booking.asks is not None and booking.asks["mode"] == "form"
        assert paying.asks is not None and paying.asks["mode"] == "url"
        second.reply(paying.call_id, "decline")
        first.reply(booking.call_id, "accept", {"date": "2026-12-01", "seats": 1})
        paid, booked = second.wait(PATIENCE_S), first.wait(PATIENCE_S)
    assert paid.tool_calls[0].output == "declined"
    assert booked.tool_calls[0].output == "accepted {'date': '2026-12-01', 'seats': 1}"


def test_a_question_the_session_cannot_place_is_declined_saying_why() -> None:
    """Two calls running on one session and a question that names neither (MCP's
    elicitation over stdio): nobody is asked on a card that may not be its call's."""
    asked: list[dict[str, Any]] = []

    async def ask(form: dict[str, Any]) -> QuestionReply:
        asked.append(form)
        return QuestionReply("accept", {"date": "2026-12-01", "seats": 1})

    with agentnb.mcp_tools(command=COMMAND) as tools:
        by_name = {t.name: t for t in tools}
        hold, book = by_name["travel__hold"], by_name["travel__book"]
        assert hold.function is not None and book.function is not None
        loop = book.user_loop
        assert loop is not None
        holding = asyncio.run_coroutine_threadsafe(hold.function(ask, city="Paris"), loop)
        booking = asyncio.run_coroutine_threadsafe(book.function(ask, city="Paris"), loop)
        booked = booking.result(PATIENCE_S)
        assert called(tools, "release") == "released"
        held = holding.result(PATIENCE_S)
    assert asked == []
    assert booked.startswith("declined\n[the server asked 'Which date and how many seats")
    assert "2 calls of it were running and its question does not say which" in booked
    assert held == booked.replace("declined", "released", 1), "each call that may have asked"


@pytest.mark.parametrize(("action", "said"), [("decline", "declined"), ("cancel", "cancelled")])
def test_a_person_declines_or_cancels_a_link(server: ServerHandle, action: str, said: str) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        handle = asking_run(server, tools, "pay")
        wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].asks, "the link")
        [call] = handle.run.tool_calls
        assert call.asks is not None
        assert (call.asks["mode"], call.asks["host"]) == ("url", "pay.example.com")
        handle.reply(call.call_id, action)
        run = handle.wait(PATIENCE_S)
    assert run.tool_calls[0].output == said


def test_required_fields_past_what_a_person_is_shown_decline_unasked(
    server: ServerHandle,
) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        run = asking_run(server, tools, "survey").wait(PATIENCE_S)
    output = run.tool_calls[0].output
    assert output.startswith("declined\n[the server asked 'A few questions'"), output
    assert all(call.asks is None for call in run.tool_calls)


def test_a_person_is_shown_twenty_fields_plainly_and_told_how_many_more(
    server: ServerHandle,
) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        handle = asking_run(server, tools, "preferences")
        wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].asks, "the form")
        [call] = handle.run.tool_calls
        asked = call.asks
        assert asked is not None
        assert (len(asked["fields"]), asked["hidden"]) == (20, 10)
        assert asked["fields"][0]["label"] == "<img src=x onerror=alert(1)>⟨U+202E⟩evil 0", (
            "the markup is text for the views to show as text; the override is made visible"
        )
        handle.reply(call.call_id, "accept", {"p00": "window"})
        run = handle.wait(PATIENCE_S)
    assert run.tool_calls[0].output.startswith("accepted {'p00': 'window', 'p01': ''")


@pytest.mark.parametrize(
    ("tool", "why"),
    [
        ("feedback", "whose 10 required ones past the 20 a person is shown"),
        (
            "launch",
            "a link that is not http(s) with a host every parser reads alike "
            "('file:///etc/passwd') is not shown",
        ),
    ],
)
def test_what_a_person_cannot_be_shown_is_declined_unasked(
    server: ServerHandle, tool: str, why: str
) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        run = asking_run(server, tools, tool).wait(PATIENCE_S)
    [call] = run.tool_calls
    assert call.output.startswith("declined\n[the server asked"), call.output
    assert why in call.output


def test_a_run_stopped_while_its_question_waits_leaves_the_server_answering(
    server: ServerHandle,
) -> None:
    with agentnb.mcp_tools(command=COMMAND) as tools:
        handle = asking_run(server, tools, "book")
        wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].asks, "the form")
        handle.cancel()
        with pytest.raises(agentnb.RunCancelledError):
            handle.wait(PATIENCE_S)
        assert handle.run.tool_calls[0].asks is None
        again = asking_run(server, tools, "pay")
        wait_until(lambda: again.run.tool_calls and again.run.tool_calls[0].asks, "the link")
        again.reply(again.run.tool_calls[0].call_id, "accept")
        assert again.wait(PATIENCE_S).tool_calls[0].output == "accepted"


def test_a_calls_progress_is_shown_on_its_card_while_it_runs(server: ServerHandle) -> None:
    """agentnb sends a progress token with each call: the server's progress notifications
    show on the call's card as they come, and the result replaces them."""
    with agentnb.mcp_tools(command=COMMAND) as tools:
        handle = asking_run(server, tools, "search")
        halfway = "searching flights to NVDA (1/2)"
        wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].output, "progress")
        [call] = handle.run.tool_calls
        assert (call.status, call.output) == ("running", halfway)
        assert called(tools, "release") == "released"
        run = handle.wait(PATIENCE_S)
    assert run.tool_calls[0].output == "found 3 flights"
