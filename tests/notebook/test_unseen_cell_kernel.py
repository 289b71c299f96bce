"""A chat cell no view shows, in a real kernel against the built-in server: the kernel sends
it a frame once in a long while (`UNSEEN_INTERVAL`, made ten minutes here, so what arrives
sooner was sent at once), what it lacks at once when a view says it came into sight, a card
waiting for a person at once, and its whole final state when the run ends or is stopped.
The views' messages are sent the way the page's comm sends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chat_cell_views import Replica
from kernel_session import WIDGET_MIME, Session, running_kernel

from agentnb.server import ServerHandle, start_server
from agentnb.server.agents._trader_agent import APPROVAL_REASON

pytestmark = pytest.mark.kernel

jupyter_client = pytest.importorskip("jupyter_client")

STREAMED = 3000
"""Characters of the answer that stream between two looks (many frames' worth in sight)."""


@pytest.fixture(scope="module")
def paced_server() -> Iterator[ServerHandle]:
    """A server pacing chunks (20 ms): a long document streams for a minute or more."""
    handle = start_server(delay_ms=20)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def session(paced_server: ServerHandle) -> Iterator[Session]:
    with running_kernel() as client:
        session = Session(client)
        session.execute(
            f"""
            import asyncio, json, time
            import agentnb
            import agentnb._display.controller as controller
            from agentnb._client.async_client import AsyncAgentClient
            from agentnb._core.loop import get_loop
            client = AsyncAgentClient(
                "vercel", **{paced_server.client_settings("vercel")!r},
                api_key={paced_server.api_key!r},
            )
            controller.UNSEEN_INTERVAL = 600

            def caught_up():
                '''What was put on agentnb's loop before (a view's message) has run.'''
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0), get_loop()).result(30)

            def streamed_to(length):
                '''Wait until the answer is ``length`` characters long; the frames sent.'''
                deadline = time.monotonic() + 120
                while len(cell.runs[0].text) < length and time.monotonic() < deadline:
                    time.sleep(0.05)
                run = cell.runs[0]
                print(json.dumps([cell.frames_sent, len(run.text), run.done]))
            """
        )
        yield session


def from_view(session: Session, comm_id: str, content: dict[str, Any]) -> None:
    """A message from the cell's view, as the page's comm sends it."""
    data = {"method": "custom", "content": content}
    session.client.shell_channel.send(
        session.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    )


def shown_cell(session: Session, code: str) -> str:
    """Run ``code`` (it sets ``cell``); the model id of the chat cell it displayed."""
    cell_id = session.execute(code)
    displays = [d["content"]["data"] for d in session.of(cell_id, "display_data")]
    (comm_id,) = [data[WIDGET_MIME]["model_id"] for data in displays if WIDGET_MIME in data]
    return comm_id


def view_of(session: Session, comm_id: str) -> Replica:
    """A view that was shown at once: every frame the cell sent so far, applied."""
    replica = Replica()
    for data in session.comm_data(comm_id):
        if data.get("method") == "custom":
            replica.feed(data["content"])
    return replica


def printed(session: Session, code: str) -> Any:
    return json.loads(session.stdout(session.execute(code)))


def test_an_unseen_cell_gets_few_frames_what_it_lacks_when_seen_and_its_final_state(
    session: Session,
) -> None:
    comm_id = shown_cell(
        session,
        'cell = agentnb.show(client.stream("writer", "Write", metadata={"paragraphs": "200"}))',
    )
    frames, length, done = printed(session, f"streamed_to({STREAMED})")
    assert not done and length >= STREAMED, "the document still streams"
    assert frames <= 2, "out of sight: the new turn (and its status), then nothing yet"
    session.drain()
    assert len(view_of(session, comm_id).answer()) < STREAMED

    from_view(session, comm_id, {"kind": "seen", "view": "v1", "seen": True})
    session.wait_for(lambda: len(view_of(session, comm_id).answer()) >= length)
    seen_from, length, _ = printed(session, "caught_up(); streamed_to(0)")
    frames, length, done = printed(session, f"streamed_to({length + STREAMED})")
    assert not done
    assert frames >= seen_from + 3, "in sight, the answer streams in many frames"

    from_view(session, comm_id, {"kind": "seen", "view": "v1", "seen": False})
    left_at, length, _ = printed(session, "caught_up(); streamed_to(0)")
    frames, length, done = printed(session, f"streamed_to({length + STREAMED})")
    assert not done
    assert frames <= left_at + 1, "out of sight again (a frame already due at most)"

    from_view(session, comm_id, {"kind": "stop", "t": 0})
    ended = printed(
        session,
        """
        try:
            cell.wait(60)
        except agentnb.RunCancelledError:
            pass
        print(json.dumps({"status": cell.runs[0].status, "text": cell.runs[0].text}))
        """,
    )
    assert ended["status"] == "cancelled", "Stop works on a cell out of sight"

    def final() -> bool:
        view = view_of(session, comm_id)
        return bool(view.turns) and view.turns[0]["meta"]["status"] == "cancelled"

    session.wait_for(final)
    view = view_of(session, comm_id)
    assert view.answer() == ended["text"], "the whole answer, nothing applied twice"
    assert view.ignored == 0 and view.requests == []
    transcripts = [
        data["state"]["transcript"]
        for data in session.comm_data(comm_id)
        if "transcript" in data.get("state", {})
    ]
    assert transcripts[-1]["turns"][0]["meta"]["status"] == "cancelled"


def test_a_card_waiting_for_a_person_in_an_unseen_cell_is_sent_at_once(
    session: Session,
) -> None:
    comm_id = shown_cell(session, 'cell = agentnb.show(client.stream("trader", "Buy 10 NVDA"))')

    def card() -> dict[str, Any] | None:
        view = view_of(session, comm_id)
        turn = view.turns[0] if view.turns else None
        calls = turn["tools"].values() if turn else []
        waiting = [c for c in calls if (c.get("approval") or {}).get("state") == "awaiting"]
        return waiting[0] if waiting and turn and turn["meta"]["status"] == "paused" else None

    session.wait_for(lambda: card() is not None)
    waiting = card()
    assert waiting is not None
    assert waiting["name"] == "place_trade"
    assert waiting["approval"]["reason"] == APPROVAL_REASON
    seen = printed(session, "print(json.dumps(cell.frames_sent))")

    from_view(session, comm_id, {"kind": "approve", "t": 0, "call_id": waiting["call_id"]})

    def completed() -> bool:
        view = view_of(session, comm_id)
        return view.turns[0]["meta"]["status"] == "completed"

    session.wait_for(completed)
    ended = printed(
        session,
        """
        run = cell.wait(60)
        print(json.dumps({"text": run.text, "frames": cell.frames_sent}))
        """,
    )
    view = view_of(session, comm_id)
    assert view.answer() == ended["text"] and "NVDA" in ended["text"]
    decided = view.turns[0]["tools"][waiting["call_id"]]["approval"]
    assert decided["state"] == "approved" and decided["decided_by"] == "user"
    assert ended["frames"] - seen <= 4, "the decision, then the run's end: no stream of frames"
