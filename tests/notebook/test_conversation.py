"""A chat cell's conversation: Retry and Edit replace the last turn by forking the thread
where the dialect can (and say before sending that they continue it where it cannot), and an
opened past run continues its conversation on the connection it was made on, or says why it
cannot. Against the built-in server (real uvicorn), on what its agents received."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import ConfigurationError
from agentnb._app.front import connections as conns
from agentnb._app.front.conversation import Conversation, conversation_cell
from agentnb._core.loop import run_sync
from agentnb._history import close_default_stores
from agentnb.server import ServerHandle
from agentnb.server._run_log import RunLog


@pytest.fixture(autouse=True)
def fresh_connections() -> Iterator[None]:
    conns.close_all()
    yield
    conns.close_all()


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    yield path
    close_default_stores()


def connect(server: ServerHandle, provider: str, name: str) -> None:
    agentnb.connect(provider, **server.client_settings(provider), api_key=server.api_key, name=name)


def asked(server: ServerHandle, message: str) -> list[RunLog]:
    return [log for log in server.app.state.agentnb.runs.all() if log.request.message == message]


def contents(log: RunLog) -> list[str]:
    return [m.content for m in log.request.history]


def next_turn(widget: Any, count: int) -> agentnb.Run:
    """Wait for the widget's turn number ``count`` (started from the view) to end."""
    deadline = time.monotonic() + PATIENCE_S
    while len(widget.runs) < count:
        assert time.monotonic() < deadline, "no new turn"
        time.sleep(0.02)
    return widget.wait(PATIENCE_S)  # type: ignore[no-any-return]


def view(widget: Any, **content: Any) -> None:
    widget._on_view_message(widget, content, [])


def tagged(text: str, provider: str) -> str:
    return f"{text} ({provider}, {time.monotonic_ns()})"


@pytest.mark.parametrize("provider", ["vercel", "openai-responses", "langgraph"])
def test_retry_and_edit_fork_the_thread_before_the_turn(
    server: ServerHandle, provider: str
) -> None:
    connect(server, provider, "forking")
    widget = agentnb.chat("echo", via="forking", followups=False)
    assert widget.options["retry_note"] == ""  # nothing to warn of: they fork
    first_q, second_q = tagged("first", provider), tagged("second", provider)
    widget.ask(first_q)
    widget.wait(PATIENCE_S)
    widget.ask(second_q)
    second = widget.wait(PATIENCE_S)
    view(widget, kind="retry", t=1)
    retried = next_turn(widget, 3)
    original, again = asked(server, second_q)
    assert contents(again) == contents(original) == [first_q, first_q]  # the question, its echo
    assert retried.usage and second.usage
    assert retried.usage.prompt_tokens == second.usage.prompt_tokens
    edited_q = tagged("second, edited", provider)
    view(widget, kind="edit", t=2, text=edited_q)
    next_turn(widget, 4)
    [edited] = asked(server, edited_q)
    assert contents(edited) == [first_q, first_q]  # neither attempt it replaces
    third_q = tagged("third", provider)
    widget.ask(third_q)
    widget.wait(PATIENCE_S)
    [third] = asked(server, third_q)
    assert contents(third) == [first_q, first_q, edited_q, edited_q]  # the thread goes on
    widget.close()


def test_where_a_retry_cannot_fork_the_cell_says_so_and_it_continues(
    server: ServerHandle,
) -> None:
    connect(server, "operativus", "sessions")
    widget = agentnb.chat("echo", via="sessions", followups=False)
    note = widget.options["retry_note"]
    assert note == ""  # no turn yet
    first_q, second_q = tagged("first", "operativus"), tagged("second", "operativus")
    widget.ask(first_q)
    widget.wait(PATIENCE_S)
    assert widget.options["retry_note"] == "", "a first turn is retried on a new thread"
    widget.ask(second_q)
    widget.wait(PATIENCE_S)
    note = widget.options["retry_note"]
    assert "Retry and Edit continue the thread: the earlier attempt stays in it" in note
    assert "connection 'sessions' (Operativus) keeps the conversation on its side" in note
    view(widget, kind="retry", t=1)
    next_turn(widget, 3)
    _, again = asked(server, second_q)
    assert contents(again) == [first_q, first_q, second_q, second_q]  # as the note said
    widget.close()


def test_on_the_built_in_server_the_note_names_it_not_a_dialect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AGENTNB_PROVIDER", "AGENTNB_BASE_URL", "AGENTNB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    widget = agentnb.chat("echo", followups=False)  # no connection configured: the local one
    for message in ("first", "second"):
        widget.ask(message)
        widget.wait(PATIENCE_S)
    note = widget.options["retry_note"]
    assert "the built-in local server keeps the conversation on its side" in note, note
    assert "Operativus" not in note and "operativus" not in note
    widget.close()


def test_an_asked_runs_cell_retries_it_as_a_fork(server: ServerHandle) -> None:
    connect(server, "langgraph", "graphs")
    first_q = tagged("first", "ask")
    first = agentnb.ask("echo", first_q, via="graphs", wait=True, display=False)
    second_q = tagged("second", "ask")
    handle = agentnb.ask(
        "echo", second_q, via="graphs", thread_id=first.run.thread_id, wait=True, display=False
    )
    conversation = Conversation(conns.get_connection("graphs"), "echo", {"followups": False})
    conversation.follow(handle, started_from=first.run.thread_id)
    widget = conversation_cell(conversation, handle)
    view(widget, kind="retry", t=0)
    next_turn(widget, 2)
    original, again = asked(server, second_q)
    assert contents(again) == contents(original) == [first_q, first_q]
    widget.close()


def test_a_follow_up_to_a_run_still_starting_goes_on_its_thread(server: ServerHandle) -> None:
    """The cell of an ``ask`` is built before the platform names the run's thread: the
    follow-up typed under it still continues that thread."""
    connect(server, "operativus", "early")
    handle = agentnb.ask("echo", tagged("early", "follow"), via="early", display=False)
    conversation = Conversation(conns.get_connection("early"), "echo", {"followups": False})
    conversation.follow(handle, started_from=None)
    first = handle.wait(PATIENCE_S)
    follow = conversation.send("and then?").wait(PATIENCE_S)
    assert first.thread_id and follow.thread_id == first.thread_id


# ---- an opened past run -------------------------------------------------------------------


def record_run(server: ServerHandle, provider: str, name: str, question: str) -> agentnb.Run:
    connect(server, provider, name)
    handle = agentnb.ask("echo", question, via=name, wait=True, display=False)
    return handle.run


def test_an_opened_past_run_continues_its_thread_on_its_connection(
    server: ServerHandle, history: Path
) -> None:
    question = tagged("remember me", "past")
    past = record_run(server, "langgraph", "kept", question)
    cell = agentnb.show(past.local_id)
    assert cell.options["can_continue"] is True and cell.options["continue_note"] == ""
    assert cell.options["input"] is False  # a past run is read-only until continued
    view(cell, kind="continue")
    deadline = time.monotonic() + PATIENCE_S
    while not cell.options["input"]:
        assert time.monotonic() < deadline, "the input box never came"
        time.sleep(0.02)
    assert cell.options["can_retry"] is True and cell.options["can_continue"] is False
    follow_q = tagged("what did I say?", "past")
    handle = cell.ask(follow_q)
    run = handle.wait(PATIENCE_S)
    assert run.thread_id == past.thread_id
    [log] = asked(server, follow_q)
    assert contents(log) == [question, question]  # the platform's thread, past turn included
    deadline = time.monotonic() + PATIENCE_S
    while len(cell.transcript.get("turns", [])) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [t["meta"]["started_as"] for t in cell.transcript["turns"]] == [None, "continue"]
    view(cell, kind="retry", t=1)  # the continued turn is the cell's own: it can be retried
    next_turn(cell, 3)
    assert contents(asked(server, follow_q)[1]) == [question, question]
    cell.close()


def test_continuing_from_code_goes_through_the_same_checks(
    server: ServerHandle, history: Path
) -> None:
    past = record_run(server, "operativus", "sessions", tagged("hello", "code"))
    cell = agentnb.show(past.local_id)
    run = cell.ask("and again").wait(PATIENCE_S)
    assert run.thread_id == past.thread_id and len(cell.runs) == 2
    cell.close()


def cannot(cell: Any, why: str) -> None:
    """The cell says ``why`` up front, from code and when its control is clicked."""
    assert why in cell.options["continue_note"]
    with pytest.raises(ConfigurationError, match=why):
        cell.ask("next")
    view(cell, kind="continue")
    run_sync(asyncio.sleep(0))
    assert cell.options["input"] is False


def test_a_connection_that_is_gone_is_named(server: ServerHandle, history: Path) -> None:
    past = record_run(server, "langgraph", "gone", tagged("q", "gone"))
    conns.disconnect("gone")
    cannot(agentnb.show(past.local_id), "connection 'gone' does not exist in this kernel")


def test_a_client_thread_this_kernel_no_longer_holds(server: ServerHandle, history: Path) -> None:
    past = record_run(server, "vercel", "chatty", tagged("q", "chatty"))
    connect(server, "vercel", "chatty")  # a new client: as after a restart, no messages kept
    cannot(agentnb.show(past.local_id), "this kernel does not hold thread")


def test_a_connection_now_elsewhere_or_speaking_another_dialect(
    server: ServerHandle, history: Path
) -> None:
    past = record_run(server, "langgraph", "moved", tagged("q", "moved"))
    agentnb.connect("langgraph", base_url="http://127.0.0.2:9/langgraph", name="moved")
    cannot(agentnb.show(past.local_id), "now points at 127.0.0.2:9")
    connect(server, "operativus", "moved")
    cannot(agentnb.show(past.local_id), "now speaks operativus")


def test_the_built_in_server_of_an_earlier_kernel(server: ServerHandle, history: Path) -> None:
    past = record_run(server, "operativus", "default", tagged("q", "default"))
    conns.disconnect("default")
    cannot(agentnb.show(past.local_id), "built-in local server of an earlier kernel")


def test_a_thread_the_server_forgot_is_its_404_in_the_cell(
    server: ServerHandle, history: Path
) -> None:
    past = record_run(server, "langgraph", "forgetful", tagged("q", "forgetful"))
    conversations = server.app.state.agentnb.conversations
    conversations._items.pop(("langgraph", past.thread_id))  # expired on the server
    cell = agentnb.show(past.local_id)
    handle = cell.ask("still there?")
    with pytest.raises(agentnb.NotFoundError, match="not found"):
        handle.wait(PATIENCE_S)
    assert handle.run.status == "failed" and len(cell.runs) == 2
    cell.close()


def test_retrying_a_stopped_turn_starts_from_before_it(server: ServerHandle) -> None:
    """A stopped run never joined its client-side thread: its retry is given the thread as
    the earlier turns left it."""
    settings = server.client_settings("vercel")
    agentnb.connect(
        "vercel",
        **settings,
        api_key=server.api_key,
        name="slowchat",
        headers={"X-AgentNB-Delay-Ms": "50"},
    )
    widget = agentnb.chat("echo", via="slowchat", followups=False)
    first_q = tagged("first", "stopped")
    widget.ask(first_q)
    widget.wait(PATIENCE_S)
    handle = widget.ask("writer: " + "a long answer " * 20)
    handle.cancel()
    with pytest.raises(agentnb.RunCancelledError):
        handle.wait(PATIENCE_S)
    view(widget, kind="edit", t=1, text=tagged("instead", "stopped"))
    retried = next_turn(widget, 3)
    assert retried.status == "completed"
    [log] = [
        log
        for log in server.app.state.agentnb.runs.all()
        if "instead (stopped" in log.request.message
    ]
    assert contents(log) == [first_q, first_q]
    widget.close()


def test_a_run_of_an_earlier_kernel_s_built_in_server_says_to_ask_again(
    server: ServerHandle, history: Path
) -> None:
    """The default connection made the run on an earlier kernel's built-in server (another
    port): the cell says what a person can do, not which ports differ."""
    past = record_run(server, "operativus", "default", tagged("q", "earlier kernel"))
    conns.disconnect("default")
    cell = agentnb.show(past.local_id)  # before this kernel made a run of its own
    assert "ask again" in cell.options["continue_note"]
    agentnb.get_connection()  # this kernel's default: its own built-in server, on another port
    note = agentnb.show(past.local_id).options["continue_note"]
    assert "ask again" in note and "earlier kernel" in note, note
    assert server.base_url.rsplit(":", 1)[-1].strip("/") not in note, "no ports"
