"""What a message attaches is shown and decided before it goes (issue 68, "The notebook as
context"): in a real kernel against the built-in server behind a proxy that keeps every
request, ``@name`` in ``ask`` or a ``%%agent`` cell waits, where the context settings ask
first (the default), as one call of the run (``attach``) through its approval gate: nothing
reaches the server before the decision, a denial sends nothing (yours ends the run as you
decided; a policy's, or no one's, fails it saying so), and the history keeps what was
decided. ``approve=`` decides it as it decides any call; ``configure(ask_first=False)`` sends
at once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, said_on_page, serving_asgi
from kernel_session import Session, reset_kernel, running_kernel
from wire_tap import WireTap

from agentnb.server import start_server

pytestmark = [pytest.mark.kernel]


@pytest.fixture(scope="module")
def tap() -> Iterator[tuple[WireTap, str, str]]:
    with start_server(delay_ms=2) as server:
        wire = WireTap(server.base_url)
        with serving_asgi(wire) as url:
            yield wire, url + "/v1", server.api_key


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(AGENTNB_HISTORY=":memory:")
    with running_kernel(env) as client:
        yield client


@pytest.fixture
def session(kernel: Any, tap: tuple[WireTap, str, str], tmp_path: Path) -> Session:
    _, url, key = tap
    reset_kernel(kernel)
    session = Session(kernel)
    session.execute(
        f"""
        %load_ext agentnb
        import os, time
        os.environ["AGENTNB_HISTORY"] = {str(tmp_path / "history.db")!r}
        import pandas as pd
        import agentnb
        agentnb.context.configure(ask_first=True)
        agentnb.connect("openai", base_url={url!r}, api_key={key!r}, name="t")
        df = pd.DataFrame({{"region": ["north", "south"], "revenue": [1.5, 2.5]}})
        def asking(h):
            deadline = time.monotonic() + {PATIENCE_S}
            while not h.awaiting_approval and not h.done:
                assert time.monotonic() < deadline, "the run never asked"
                time.sleep(0.02)
            return h.awaiting_approval[0]
        """
    )
    return session


def test_nothing_reaches_the_server_before_the_attachments_are_approved(
    session: Session, tap: tuple[WireTap, str, str]
) -> None:
    said_on_page(
        "context.md",
        "Nothing leaves before you decide, not even a first request to the platform",
    )
    said_on_page(
        "security.md",
        "What a message's `@name` attachments would send is shown, the exact text, and waits "
        "for your decision too: nothing of the run is sent before it",
    )
    wire = tap[0]
    before = len(wire.bodies)
    asked = session.execute(
        """
        h = agentnb.ask("finance_agent", "Why is @df short?", via="t", display=False)
        call = asking(h)
        print(call.name, call.arguments, h.status)
        from agentnb._display.widget_protocol import meta_wire
        print("as sent:", meta_wire(h.run)["sent"])
        print(call.approval.reason)
        """
    )
    out = session.stdout(asked)
    assert out.startswith("attach {'mentions': ['@df']} paused\nas sent: None\n"), out
    assert "attaches to the message, sent once approved: @df" in out
    assert "@df: pandas DataFrame" in out  # the summary that would go, shown before
    session.execute("time.sleep(0.5)")
    assert len(wire.bodies) == before  # nothing, not even the platform's discovery, went
    done = session.execute(
        """
        h.approve(call.call_id)
        h.wait()
        print(h.status, [(c.name, c.status) for c in h.run.tool_calls][0])
        print("@df: pandas DataFrame" in meta_wire(h.run)["sent"])
        """
    )
    assert session.stdout(done) == "completed ('attach', 'succeeded')\nTrue\n"
    sent = wire.sent()[len("\n".join(wire.bodies[:before])) :]
    assert "@df: pandas DataFrame" in sent


def test_your_denial_sends_nothing_ends_the_run_as_decided_and_the_history_keeps_it(
    session: Session, tap: tuple[WireTap, str, str]
) -> None:
    said_on_page(
        "context.md",
        "Denied, nothing is sent. Your denial is your decision, not a failure: the run ends "
        'completed, `finish_reason` `"denied"`, its status saying `ended at your denial of '
        "attach`. Denied by `approve=` or because no one could decide, the run ends failed, "
        "saying so (error code `attachments_denied`). Either way the history keeps the run with "
        "the message as you typed it and the `attach` call with what was decided and by whom.",
    )
    wire = tap[0]
    before = len(wire.bodies)
    ran = session.execute(
        """
        h = agentnb.ask("finance_agent", "Why is @df short?", via="t", display=False)
        from agentnb._display.run_text import status_line
        h.deny(asking(h).call_id, "not this one")
        run = h.wait()
        print(run.status, run.finish_reason, repr(run.text), status_line(run).split(" · ")[1])
        row = agentnb.runs(limit=1)[0]
        print(row.status, repr(row.message), [(c.name, c.status) for c in row.tool_calls])
        print(run.tool_calls[0].error)
        """
    )
    assert session.stdout(ran) == (
        "completed denied '' ended at your denial of attach\n"
        "completed 'Why is @df short?' [('attach', 'denied')]\n"
        "not this one\n"
    )
    assert len(wire.bodies) == before


def test_approve_decides_the_attachments_as_it_decides_any_call(session: Session) -> None:
    ran = session.execute(
        """
        seen = []
        def policy(call):
            seen.append((call.name, call.arguments["mentions"]))
            return call.arguments["mentions"] == ["@df"]
        ok = agentnb.ask("finance_agent", "What is in @df?", via="t", approve=policy,
                         wait=True, display=False)
        both = agentnb.ask("finance_agent", "@df and @In[1]?", via="t", approve=policy,
                           display=False)
        try:
            both.wait()
        except agentnb.RunFailedError as exc:
            print(ok.status, exc.code, seen)
        all_ = agentnb.ask("finance_agent", "What is in @df?", via="t", approve=True,
                           wait=True, display=False)
        print(all_.status)
        """
    )
    assert session.stdout(ran).splitlines() == [
        "completed attachments_denied [('attach', ['@df']), ('attach', ['@df', '@In[1]'])]",
        "completed",
    ]


def test_a_waiting_cell_cannot_be_clicked_so_its_attachments_are_denied(
    session: Session, tap: tuple[WireTap, str, str]
) -> None:
    wire = tap[0]
    before = len(wire.bodies)
    session.execute("%%agent finance_agent --via t --wait\nWhy is @df short?")
    ran = session.execute("print(_agent.status, _agent.run.error.message)")
    out = session.stdout(ran)
    assert out.startswith("failed the attachments (@df) were denied: nothing was sent"), out
    assert "pass --approve all" in out
    assert len(wire.bodies) == before
    session.execute("%%agent finance_agent --via t --wait --approve all\nWhy is @df short?")
    assert len(wire.bodies) > before


def test_settings_that_do_not_ask_first_send_at_once(
    session: Session, tap: tuple[WireTap, str, str]
) -> None:
    ran = session.execute(
        """
        agentnb.context.configure(ask_first=False)
        h = agentnb.ask("finance_agent", "Why is @df short?", via="t", wait=True,
                        display=False)
        print(h.status, "attach" in [c.name for c in h.run.tool_calls])
        agentnb.context.configure(ask_first=True)
        """
    )
    assert session.stdout(ran) == "completed False\n"


def test_a_waiting_cell_that_attaches_nothing_is_not_asked_about(session: Session) -> None:
    """An ``@`` that mentions nothing (an address, ``@@``, code) asks nothing, on a dialect
    that carries no decisions too."""
    session.execute(
        "%%agent finance_agent --via t --wait\nMail ann@example.com about @@home and `@df`"
    )
    ran = session.execute("print(_agent.status, [c.name for c in _agent.run.tool_calls][:1])")
    assert session.stdout(ran) == "completed ['get_stock_price']\n"


def test_stop_while_the_attachments_wait_sends_nothing(
    session: Session, tap: tuple[WireTap, str, str]
) -> None:
    wire = tap[0]
    before = len(wire.bodies)
    ran = session.execute(
        """
        h = agentnb.ask("finance_agent", "Why is @df short?", via="t", display=False)
        asking(h)
        h.cancel()
        try:
            h.wait()
        except agentnb.RunCancelledError:
            pass
        print(h.status, h.run.tool_calls[0].status)
        """
    )
    assert session.stdout(ran).split()[0] == "cancelled"
    session.execute("time.sleep(0.5)")
    assert len(wire.bodies) == before
