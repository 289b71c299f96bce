"""The chat cell in a real Jupyter kernel, against the real built-in server.

A cell shows a run and returns at once; the stream goes on between cells; the widget's frames
arrive numbered; the static copy is refreshed on the cell that displayed it when the run ends;
a Stop sent by the view while the kernel is idle cancels the run; a notebook executed by
nbclient saves the final answer in both the output and the widget state; a chat cell whose
views are out of sight gets a frame once in a long while (`UNSEEN_INTERVAL`), what it lacks at
once when a view says it came into sight, a card waiting for a person at once, and its whole
final state; and one with no view at all gets no frame, then the whole state once a view says
hello, until that view says it is gone.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from chat_cell_views import Replica
from kernel_session import WIDGET_MIME, Session, notebook_client, running_kernel

from agentnb._display.static_copy import REOPENED_STYLE
from agentnb.server import ServerHandle, start_server
from agentnb.server.agents._trader_agent import APPROVAL_REASON

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

pytest.importorskip("jupyter_client")


@pytest.fixture(scope="module")
def paced_server() -> Iterator[ServerHandle]:
    """A server pacing chunks (20 ms) so a run outlives the cell that starts it."""
    handle = start_server(delay_ms=20)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    with running_kernel() as client:
        yield client


def setup_code(server: ServerHandle) -> str:
    return f"""
        import agentnb
        from agentnb._client.async_client import AsyncAgentClient
        client = AsyncAgentClient(
            "seekrflow", base_url={server.url_for("seekrflow")!r}, api_key={server.api_key!r}
        )
    """


def test_a_cell_shows_a_run_returns_at_once_and_the_copy_is_refreshed_on_that_cell(
    kernel: Any, paced_server: ServerHandle
) -> None:
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    show_id = session.execute(
        """
        cell = agentnb.show(client.stream("finance_agent", "What is NVDA trading at?"))
        cell
        """
    )
    displays = session.of(show_id, "display_data")
    assert len(displays) == 2, "shown once (the returned cell is not echoed): view + copy"
    assert session.of(show_id, "execute_result") == []
    view, copy = (d["content"] for d in displays)
    assert set(view["data"]) == {WIDGET_MIME, "text/plain"} and view["data"]["text/plain"] == ""
    assert set(copy["data"]) == {"text/html", "text/markdown", "text/plain"}
    assert "display_id" not in view.get("transient", {}), "the live view is never replaced"
    display_id = copy["transient"]["display_id"]
    comm_id = view["data"][WIDGET_MIME]["model_id"]

    from_view(session, comm_id, {"kind": "seen", "view": "page", "seen": True})
    probe = session.execute("print(cell.runs[0].done, cell.runs[0].status)")
    assert session.stdout(probe).split()[0] == "False", "the run goes on after the cell ends"

    wait_id = session.execute(
        f"import json; run = cell.wait({PATIENCE_S:g}); print(json.dumps(run.text))"
    )
    final_text = json.loads(session.stdout(wait_id))
    assert "NVDA" in final_text
    session.drain(0.5)

    updates = [
        m
        for m in session.messages
        if m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == display_id
    ]
    assert updates, "the static copy is refreshed when the run ends"
    routed = [m for m in updates if m["parent_header"]["msg_id"] == show_id]
    assert routed, "one refresh is routed to the cell that showed it (JupyterLab)"
    assert any(m["parent_header"]["msg_id"] in (probe, wait_id) for m in updates), (
        "one refresh goes to the cell executing (or last executed) now, for nbclient"
    )
    final = routed[-1]
    assert "Running…" not in final["content"]["data"]["text/html"]
    assert "get_stock_price" in final["content"]["data"]["text/html"]
    assert WIDGET_MIME not in final["content"]["data"], "a refresh touches only the copy"

    data = session.comm_data(comm_id)
    customs = [d["content"] for d in data if d.get("method") == "custom"]
    seqs = [c["seq"] for c in customs if c["kind"] == "delta"]
    assert seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs))), "numbered, none lost"
    shown = view_of(session, comm_id)
    assert shown.answer() == final_text and shown.ignored == 0 and shown.requests == []
    states = [d["state"]["transcript"] for d in data if "transcript" in d.get("state", {})]
    assert len(states) < len(seqs) + 2, "the transcript trait is not written per frame"
    last = states[-1]
    assert last["turns"][0]["meta"]["status"] == "completed"
    text = "".join(p["text"] for p in last["turns"][0]["parts"] if p["kind"] == "text")
    assert text == final_text


def test_stop_sent_by_the_view_while_the_kernel_is_idle_cancels_the_run(
    kernel: Any, paced_server: ServerHandle
) -> None:
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    show_id = session.execute(
        """
        cell = agentnb.show(client.stream("writer", "Write", metadata={"paragraphs": "60"}))
        """
    )
    view = session.of(show_id, "display_data")[0]["content"]
    comm_id = view["data"][WIDGET_MIME]["model_id"]
    from_view(session, comm_id, {"kind": "seen", "view": "page", "seen": True})
    # the run has words to keep when the Stop comes (a cell that returns: the kernel is idle)
    session.execute(
        f"""
        import time
        deadline = time.monotonic() + {PATIENCE_S:g}
        while not cell.runs[0].text and time.monotonic() < deadline:
            time.sleep(0.05)
        """
    )
    stop = kernel.session.msg(
        "comm_msg",
        {"comm_id": comm_id, "data": {"method": "custom", "content": {"kind": "stop", "t": 0}}},
    )
    kernel.shell_channel.send(stop)
    check = session.execute(
        f"""
        try:
            cell.wait({PATIENCE_S:g})
        except agentnb.RunCancelledError as exc:
            print("cancelled", len(exc.partial_text) > 0, len(exc.partial_text))
        """
    )
    words = session.stdout(check).split()
    assert words[:2] == ["cancelled", "True"]
    session.drain(0.5)
    customs = [d["content"] for d in session.comm_data(comm_id) if d.get("method") == "custom"]
    metas = [
        op["meta"]["status"]
        for c in customs
        if c["kind"] == "delta"
        for op in c["ops"]
        if op["op"] == "meta" and "status" in op["meta"]
    ]
    assert metas[-1] == "cancelled"


def test_nbclient_saves_the_final_answer_in_the_output_and_the_widget_state(
    paced_server: ServerHandle,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(textwrap.dedent(setup_code(paced_server))),
        nbformat.v4.new_code_cell(
            'cell = agentnb.show(client.stream("finance_agent", "NVDA?"))\n'
            "print('returned while', cell.runs[0].status)"
        ),
        nbformat.v4.new_code_cell(f"run = cell.wait({PATIENCE_S:g})\nprint(run.status)"),
    ]
    client = notebook_client(nb, store_widget_state=True)
    client.execute()
    show_outputs = nb.cells[1].outputs
    printed = "".join(o.get("text", "") for o in show_outputs)
    assert printed.strip() in ("returned while running", "returned while pending")
    view, copy = (o for o in show_outputs if o.output_type == "display_data")
    html_copy = copy.data["text/html"]
    assert "Running…" not in html_copy and "get_stock_price" in html_copy
    assert "NVDA" in copy.data["text/markdown"]
    assert copy.data["text/plain"].startswith("agentnb · finance_agent: NVDA?\n")
    assert copy.data["text/plain"].splitlines()[-1].startswith("completed · ")
    model_id = view.data[WIDGET_MIME]["model_id"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    transcript = state[model_id]["state"]["transcript"]
    assert transcript["turns"][0]["meta"]["status"] == "completed"
    runtime = state[model_id]["state"]["runtime"]
    assert "bundle" in state[runtime]["state"], "the runtime the cell loads from is saved too"
    carriers = [m for m in state.values() if len(json.dumps(m)) > 30_000]
    assert len(carriers) == 1, "the widget's code is saved once"
    assert "NVDA" in "".join(p["text"] for p in transcript["turns"][0]["parts"])


def opened_bytes(session: Session, msg_id: str) -> list[int]:
    """The size of each comm_open a cell's execution sent (its content as JSON)."""
    return [len(json.dumps(m["content"])) for m in session.of(msg_id, "comm_open")]


def test_the_widget_code_goes_to_the_page_once_and_later_cells_open_small(
    kernel: Any, paced_server: ServerHandle
) -> None:
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    first = session.execute('a = agentnb.show(client.stream("echo", "one"))')
    second = session.execute('b = agentnb.show(client.stream("echo", "two"))')
    third = session.execute('c = agentnb.show(client.stream("echo", "three"))')
    sizes = {name: opened_bytes(session, msg_id) for name, msg_id in
             [("first", first), ("second", second), ("third", third)]}  # fmt: skip
    print("comm_open bytes per cell:", sizes)
    assert sum(sizes["second"]) <= 15_000, sizes
    assert sum(sizes["third"]) <= 15_000, sizes
    code_carriers = [
        m
        for msg_id in (first, second, third)
        for m in session.of(msg_id, "comm_open")
        if len(json.dumps(m["content"])) > 30_000
    ]
    assert len(code_carriers) <= 1, "the widget's code went out at most once"
    ids = session.execute("print(a.runtime, b.runtime, c.runtime)")
    runtimes = set(session.stdout(ids).split())
    assert len(runtimes) == 1 and runtimes != {""}, "every cell loads the one runtime"
    session.execute(f"a.wait({PATIENCE_S:g}); b.wait({PATIENCE_S:g}); c.wait({PATIENCE_S:g})")


def test_a_cell_displays_runs_while_agentnb_s_loop_is_busy_and_their_copies_end_final(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """What a cell displays is built without waiting on agentnb's loop: with the loop held
    (as when it streams hundreds of earlier runs), displaying runs neither waits for it nor
    raises; each copy is refreshed to its final answer once the loop is free."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    show_id = session.execute(
        """
        import threading
        from agentnb._core.loop import get_loop
        gate = threading.Event()
        get_loop().call_soon_threadsafe(gate.wait, 60)  # the loop busy for up to a minute
        try:
            cells = [
                agentnb.show(client.stream("finance_agent", f"Question {i} on NVDA"))
                for i in range(3)
            ]
            print("returned while busy:", not gate.is_set())
        finally:
            gate.set()
        """
    )
    assert session.stdout(show_id).strip() == "returned while busy: True"
    copies = [d["content"] for d in session.of(show_id, "display_data")][1::2]
    assert len(copies) == 3
    for i, copy in enumerate(copies):
        assert f"Question {i} on NVDA" in copy["data"]["text/plain"], "the copy names its question"
    display_ids = [copy["transient"]["display_id"] for copy in copies]

    session.execute(f"for cell in cells: cell.wait({PATIENCE_S:g})")

    def final_copies() -> list[str]:
        finals = []
        for display_id in display_ids:
            updates = [
                m["content"]["data"]["text/html"]
                for m in session.messages
                if m["msg_type"] == "update_display_data"
                and m["content"]["transient"]["display_id"] == display_id
                and m["parent_header"]["msg_id"] == show_id
            ]
            if updates and "get_stock_price" in updates[-1]:
                finals.append(updates[-1])
        return finals

    session.wait_for(lambda: len(final_copies()) == 3)


def chat_views(session: Session, cell_id: str) -> list[str]:
    """The model ids of the chat cells' views cell ``cell_id`` displayed."""
    displays = [d["content"]["data"] for d in session.of(cell_id, "display_data")]
    return [data[WIDGET_MIME]["model_id"] for data in displays if WIDGET_MIME in data]


def frames_of(session: Session, comm_id: str) -> list[dict[str, Any]]:
    return [d["content"] for d in session.comm_data(comm_id) if d.get("method") == "custom"]


def test_a_cell_s_chat_cells_all_open_before_their_first_frames_which_go_when_it_ends(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """JupyterLab handles a kernel's messages one after another, and anywidget holds a
    model's messages until the page has imported its module: the chat cells a cell displays
    hold their first frames (the transcript a turn starts with too) until the cell ends (here
    held for as long as it takes), so the page opens them all before any frame comes. Their
    views, which can say they exist only then, get every frame, none lost."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    session.execute("import agentnb._display.controller as controller")
    session.execute("controller.FIRST_FRAME_HOLD = 600")
    try:
        cell_id = session.execute(
            """
            import time
            cells = [
                agentnb.show(client.stream("writer", "Write", metadata={"paragraphs": "40"}))
                for i in range(3)
            ]
            time.sleep(1)  # the runs stream meanwhile
            print([cell.frames_sent for cell in cells], [cell.transcript["seq"] for cell in cells])
            """
        )
        assert session.stdout(cell_id).strip() == "[0, 0, 0] [0, 0, 0]", (
            "no frame, no transcript while the cell runs"
        )
        comm_ids = chat_views(session, cell_id)
        assert len(comm_ids) == 3
        for comm_id in comm_ids:
            from_view(session, comm_id, {"kind": "seen", "view": "page", "seen": True})
        session.wait_for(lambda: all(frames_of(session, c) for c in comm_ids))
        order = [
            m["msg_type"]
            for m in session.messages
            if m["msg_type"] in ("comm_open", "comm_msg") and m["content"]["comm_id"] in comm_ids
        ]
        opened = max(i for i, kind in enumerate(order) if kind == "comm_open")
        framed = min(i for i, kind in enumerate(order) if kind == "comm_msg")
        assert opened < framed, "every chat cell opened before its first message"
        for comm_id in comm_ids:
            shown = view_of(session, comm_id)
            assert shown.answer(), "the views follow the runs"
            assert shown.ignored == 0 and shown.requests == [], "nothing lost, nothing twice"
        session.execute("for cell in cells: cell.stop()")
    finally:
        session.execute("controller.FIRST_FRAME_HOLD = 0.5")


STREAMS_WHILE_EXECUTING = f"""
import time
try:
    cell = agentnb.show(client.stream("writer", "Write", metadata={{"paragraphs": "40"}}))
finally:
    loop_free.set()  # the loop-busy test's: a failure here must not leave the loop blocked
deadline = time.monotonic() + {PATIENCE_S:g}
while cell.frames_sent < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
print(cell.frames_sent >= 2)
cell.stop()
"""
"""A cell that shows a streaming run, then waits (still executing) for its second frame."""


def test_a_cell_that_goes_on_after_displaying_a_run_streams_it_meanwhile(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """The first frame is held only for a moment (`FIRST_FRAME_HOLD`) while the cell that
    displayed the run still executes: a long cell shows its run streaming."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    session.execute("import threading; loop_free = threading.Event()")  # nothing holds it
    cell_id = session.execute(STREAMS_WHILE_EXECUTING)
    assert session.stdout(cell_id).strip() == "True"
    (comm_id,) = chat_views(session, cell_id)
    during = [
        m
        for m in session.of(cell_id, "comm_msg")
        if m["content"]["comm_id"] == comm_id and m["content"]["data"].get("method") == "custom"
    ]
    assert len(during) >= 2, "frames went out while the cell executed"


def test_a_cell_made_while_the_loop_is_busy_with_the_last_cells_end_still_streams(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """The end of the cell before is counted when that cell ends, not when agentnb's loop
    gets to it: a chat cell made meanwhile (the loop busy) is not taken for one whose cell
    has ended, which no view has said it draws (it had got no frame at all)."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    session.execute('agentnb.show(client.stream("finance_agent", "Hi")).wait()')
    session.execute(
        """
        import threading, time
        from agentnb._core.loop import get_loop
        loop_free = threading.Event()
        get_loop().call_soon_threadsafe(loop_free.wait)  # the loop busy past this cell's end
        """
    )
    cell_id = session.execute(STREAMS_WHILE_EXECUTING)
    assert session.stdout(cell_id).strip() == "True"


def test_the_first_copy_a_cell_displays_carries_the_reopened_style_and_keeps_it(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """`REOPENED_STYLE` is one rule for the whole page: the first copy of a cell carries it
    (the page restyled every output of the cell for each ``<style>`` shown or refreshed),
    and its refresh keeps it; the next cell's first copy carries it again."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    cell_ids = [
        session.execute(
            f"""
            cells = [agentnb.show(client.stream("echo", f"Twin {{i}}")) for i in range(3)]
            for cell in cells: cell.wait({PATIENCE_S:g})
            """
        )
        for _ in range(2)
    ]
    session.drain(0.5)
    for cell_id in cell_ids:
        copies = [d["content"] for d in session.of(cell_id, "display_data")][1::2]
        styled = [REOPENED_STYLE in copy["data"]["text/html"] for copy in copies]
        assert styled == [True, False, False]
        assert all("<style" not in copy["data"]["text/html"] for copy in copies[1:])
        for copy, has_style in zip(copies, styled, strict=True):
            refreshed = [
                m["content"]["data"]["text/html"]
                for m in session.messages
                if m["msg_type"] == "update_display_data"
                and m["content"]["transient"]["display_id"] == copy["transient"]["display_id"]
            ]
            assert refreshed and "Running…" not in refreshed[-1]
            assert all((REOPENED_STYLE in html) == has_style for html in refreshed)


def test_a_copy_refreshed_while_its_own_cell_runs_is_sent_once(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """The refresh goes to the displaying cell and to the cell executing now: one message
    where they are the same cell (a cell that waits for the run it shows)."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    show_id = session.execute(
        f"""
        cell = agentnb.show(client.stream("finance_agent", "What is NVDA trading at?"))
        print(cell.wait({PATIENCE_S:g}).status)
        """
    )
    assert session.stdout(show_id).strip() == "completed"
    session.drain(0.5)
    copy = [d["content"] for d in session.of(show_id, "display_data")][1]
    updates = [
        m
        for m in session.messages
        if m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == copy["transient"]["display_id"]
    ]
    assert [m["parent_header"]["msg_id"] for m in updates] == [show_id]
    assert "get_stock_price" in updates[0]["content"]["data"]["text/html"]


def test_a_handle_ending_a_cell_that_shows_its_run_live_prints_no_stale_status(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """``agentnb.ask(...)`` as a cell's last line: the chat cell above follows the run, so the
    handle's text (``status=running chars=0``, stale at once) is not printed under it; a
    handle not shown live still prints."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    shown = session.execute(
        'agentnb.ask("finance_agent", "What is NVDA trading at?", client=client)'
    )
    assert session.of(shown, "execute_result") == []
    texts = [d["content"]["data"].get("text/plain", "") for d in session.of(shown, "display_data")]
    assert len(texts) == 2 and not any("<RunHandle" in text for text in texts)

    hidden = session.execute(
        f'h = agentnb.ask("finance_agent", "And AMD?", client=client, display=False); h.wait({PATIENCE_S:g})\nh'
    )
    printed = [
        m["content"]["data"]["text/plain"]
        for m in session.of(hidden, "execute_result") + session.of(hidden, "display_data")
    ]
    assert any("<RunHandle 'finance_agent' completed" in text for text in printed), printed
    session.execute("_ = None")


def test_a_copy_refreshed_after_a_view_s_message_is_sent_once_to_its_own_cell(
    kernel: Any, paced_server: ServerHandle
) -> None:
    """JupyterLab renders a copy again for each update message: after the cell, with a view's
    hello the kernel's last request (no cell runs for nbclient to read), the refresh goes once,
    to the cell that showed it. A hello from a view holding every frame is told so in a few
    bytes; one that holds nothing gets the snapshot."""
    session = Session(kernel)
    session.execute(setup_code(paced_server))
    show_id = session.execute(
        """
        cell = agentnb.show(client.stream("finance_agent", "What is NVDA trading at?"))
        """
    )
    view, copy = (d["content"] for d in session.of(show_id, "display_data"))
    comm_id = view["data"][WIDGET_MIME]["model_id"]

    def hello(have: int) -> None:
        content = {"kind": "hello", "have": have}
        data = {"method": "custom", "content": content}
        kernel.shell_channel.send(
            kernel.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        )

    hello(-1)

    def answers() -> list[dict[str, Any]]:
        customs = [d["content"] for d in session.comm_data(comm_id) if d.get("method") == "custom"]
        return [c for c in customs if c["kind"] in ("snapshot", "current")]

    session.wait_for(lambda: len(answers()) == 1)
    assert answers()[0]["kind"] == "snapshot", "a view holding nothing gets the transcript"

    def updates() -> list[dict[str, Any]]:
        return [
            m
            for m in session.messages
            if m["msg_type"] == "update_display_data"
            and m["content"]["transient"]["display_id"] == copy["transient"]["display_id"]
        ]

    session.wait_for(
        lambda: any("get_stock_price" in m["content"]["data"]["text/html"] for m in updates())
    )
    session.drain(0.5)
    assert [m["parent_header"]["msg_id"] for m in updates()] == [show_id]

    ended = [
        d["state"]["transcript"]
        for d in session.comm_data(comm_id)
        if "transcript" in d.get("state", {})
    ][-1]
    hello(ended["seq"])
    session.wait_for(lambda: len(answers()) == 2)
    assert answers()[1] == {"kind": "current", "seq": ended["seq"], "now": answers()[1]["now"]}


# ---- a chat cell no view shows, or with no view ----------------------------------------------

STREAMED = 3000
"""Characters of the answer that stream between two looks (many frames' worth in sight)."""


@pytest.fixture
def unseen(kernel: Any, paced_server: ServerHandle) -> Iterator[Session]:
    """A session whose chat cells out of sight (or with no view) get a frame (or write their
    transcript) every ten minutes: what arrives sooner was sent at once."""
    session = Session(kernel)
    try:
        session.execute(
            f"""
            import asyncio, json, time
            import agentnb
            import agentnb._display.controller as controller
            from agentnb._client.async_client import AsyncAgentClient
            from agentnb._core.loop import get_loop
            vercel = AsyncAgentClient(
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
    finally:
        session.execute("controller.UNSEEN_INTERVAL = 1.0")


def from_view(session: Session, comm_id: str, content: dict[str, Any]) -> None:
    """A message from the cell's view, as the page's comm sends it."""
    data = {"method": "custom", "content": content}
    session.client.shell_channel.send(
        session.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    )


def shown_cell(session: Session, code: str) -> str:
    """Run ``code`` (it sets ``cell``); the model id of the chat cell it displayed."""
    (comm_id,) = chat_views(session, session.execute(code))
    return comm_id


def view_of(
    session: Session, comm_id: str, replica: Replica | None = None, first: int = 0
) -> Replica:
    """A view that was shown at once (or ``replica``): every frame the cell sent so far and
    every transcript it wrote (from its ``first`` message on), applied in order, as
    js/src/sync.js applies them."""
    replica = replica or Replica()
    for data in session.comm_data(comm_id)[first:]:
        if data.get("method") == "custom":
            replica.feed(data["content"])
        elif "transcript" in data.get("state", {}):
            replica.start_from(data["state"]["transcript"])
    return replica


def printed(session: Session, code: str) -> Any:
    return json.loads(session.stdout(session.execute(code)))


def stopped_by_view(session: Session, comm_id: str) -> Any:
    """The view's Stop on the cell's run, and once it ended: its status, its text and the
    frames the cell sent."""
    from_view(session, comm_id, {"kind": "stop", "t": 0})
    return printed(
        session,
        """
        try:
            cell.wait(60)
        except agentnb.RunCancelledError:
            pass
        caught_up()
        run = cell.runs[0]
        print(json.dumps({"status": run.status, "text": run.text, "frames": cell.frames_sent}))
        """,
    )


def test_an_unseen_cell_gets_few_frames_what_it_lacks_when_seen_and_its_final_state(
    unseen: Session,
) -> None:
    session = unseen
    comm_id = shown_cell(
        session,
        'cell = agentnb.show(vercel.stream("writer", "Write", metadata={"paragraphs": "200"}))',
    )
    from_view(session, comm_id, {"kind": "seen", "view": "v1", "seen": False})
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

    ended = stopped_by_view(session, comm_id)
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
    unseen: Session,
) -> None:
    session = unseen
    comm_id = shown_cell(session, 'cell = agentnb.show(vercel.stream("trader", "Buy 10 NVDA"))')
    from_view(session, comm_id, {"kind": "seen", "view": "v1", "seen": False})

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


def test_a_cell_with_no_view_gets_no_frame_a_hello_gets_the_whole_state_then_frames(
    unseen: Session,
) -> None:
    """No view (behind "Show more outputs", or on no page): no frame while the run streams. A
    view that says hello holding nothing gets the whole state at once, then frames as it
    streams once in sight; one that says it is gone gets no more, not even the run's end,
    which the transcript still carries."""
    session = unseen
    comm_id = shown_cell(
        session,
        'cell = agentnb.show(vercel.stream("writer", "Write", metadata={"paragraphs": "200"}))',
    )
    frames, length, done = printed(session, f"streamed_to({STREAMED})")
    assert not done and frames == 0, "no view: no frame"
    session.drain()
    asked_at = len(session.comm_data(comm_id))

    from_view(session, comm_id, {"kind": "hello", "have": -1, "view": "v1"})

    def answered() -> Replica:
        """The view that said hello: what came after it, applied."""
        replica = Replica()
        replica.seq, replica.awaiting = -1, True  # as sync.js: it holds nothing, asked, waits
        return view_of(session, comm_id, replica, asked_at)

    def answer_shown() -> str:
        shown = answered()
        return shown.answer() if shown.turns else ""

    session.wait_for(lambda: len(answer_shown()) >= length)
    snapshots = [f for f in frames_of(session, comm_id) if f["kind"] == "snapshot"]
    assert len(snapshots) == 1, "the whole state in one answer"
    from_view(session, comm_id, {"kind": "seen", "view": "v1", "seen": True})
    seen_from, length, _ = printed(session, "caught_up(); streamed_to(0)")
    frames, length, done = printed(session, f"streamed_to({length + STREAMED})")
    assert not done
    assert frames >= seen_from + 3, "in sight, the answer streams in many frames"
    session.wait_for(lambda: len(answer_shown()) >= length)

    from_view(session, comm_id, {"kind": "gone", "view": "v1"})
    gone_at, length, _ = printed(session, "caught_up(); streamed_to(0)")
    frames, length, done = printed(session, f"streamed_to({length + STREAMED})")
    assert not done
    assert frames == gone_at, "the view is gone: no frame"
    ended = stopped_by_view(session, comm_id)
    assert ended["frames"] == gone_at, "not even the run's end"
    session.wait_for(lambda: answered().turns[0]["meta"]["status"] == "cancelled")
    final = answered()
    assert final.answer() == ended["text"], "the transcript written at the end holds it all"
    assert final.requests == [], "every frame applied in order (no gap to ask about)"
