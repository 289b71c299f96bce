"""Scores and verdicts given in a real kernel are in the next kernel's DataFrame: a score given
with ``agentnb.score`` in a cell, and a verdict sent by a chat cell's view (its ✓ and note,
the widget message the browser sends), both read back after the kernel is gone, with the
metadata ``%%agent --meta`` and ``ask(metadata=)`` recorded."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import connection_env
from kernel_session import WIDGET_MIME, Session, running_kernel

from agentnb.server import ServerHandle

pytestmark = pytest.mark.kernel

jupyter_client = pytest.importorskip("jupyter_client")


def send_to_view(kernel: Any, comm_id: str, content: dict[str, Any]) -> None:
    message = kernel.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
    )
    kernel.shell_channel.send(message)


def test_a_score_and_a_verdict_given_in_a_cell_are_in_the_next_kernels_frame(
    server: ServerHandle, tmp_path: Path
) -> None:
    env = connection_env(server, tmp_path)
    with running_kernel(env) as kernel:
        session = Session(kernel)
        session.execute("%load_ext agentnb\nimport agentnb")
        asked = session.execute(
            "h = agentnb.ask('echo', 'Is NVDA up?', metadata={'user': 'alice'})\nh.wait()"
        )
        views = [
            m["content"]["data"][WIDGET_MIME]["model_id"]
            for m in session.of(asked, "display_data")
            if WIDGET_MIME in m["content"]["data"]
        ]
        assert len(views) == 1, "ask showed its chat cell"
        session.execute("agentnb.score(h, 'correct', True, 'checked by hand')")
        session.execute("%%agent echo --meta user=bob --meta team=red\nHello there")
        send_to_view(kernel, views[0], {"kind": "seen", "view": "page", "seen": True})
        send_to_view(
            kernel, views[0], {"kind": "verdict", "t": 0, "value": True, "comment": "nice"}
        )

        def told() -> list[dict[str, Any]]:
            """The verdicts the views were sent, as the turn's state (``meta.verdict``)."""
            return [
                op["meta"]["verdict"]
                for d in session.comm_data(views[0])
                if d.get("method") == "custom" and d["content"].get("kind") == "delta"
                for op in d["content"]["ops"]
                if op.get("op") == "meta" and op["meta"].get("verdict")
            ]

        session.wait_for(lambda: bool(told()))  # the loop keeps it, then tells every view
        assert told() == [{"value": True, "comment": "nice"}]
        send_to_view(kernel, views[0], {"kind": "verdict", "t": 5, "value": True})  # no turn 5
        session.execute("pass")
        # a verdict kept anywhere else (here: code) is the same fact: the cell shows it too
        session.execute("agentnb.score(h, 'verdict', False, 'nice, but slow')")
        session.wait_for(lambda: len(told()) == 2)
        assert told()[-1] == {"value": False, "comment": "nice, but slow"}

    with running_kernel(env) as kernel:
        session = Session(kernel)
        probe = session.execute(
            """
            import json, agentnb, pandas
            frame = agentnb.runs().to_pandas()
            def value(x):
                return None if pandas.isna(x) else bool(x)
            rows = [
                {"user": (m or {}).get("user"), "team": (m or {}).get("team"),
                 "correct": value(c), "verdict": value(v)}
                for m, c, v in zip(frame["metadata"], frame["score.correct"], frame["score.verdict"])
            ]
            store = agentnb._history.default_store()
            notes = sorted((s.name, s.comment, s.source) for s in store.scores())
            users = agentnb.summary("metadata.user")["score.correct"].to_dict()
            print(json.dumps({"rows": rows, "notes": notes, "users": users}))
            """
        )
        found = json.loads(session.stdout(probe))
    assert found["rows"] == [
        {"user": "bob", "team": "red", "correct": None, "verdict": None},
        {"user": "alice", "team": None, "correct": True, "verdict": False},
    ]
    assert found["notes"] == [
        ["correct", "checked by hand", "person"],
        ["verdict", "nice, but slow", "person"],
    ]
    assert found["users"]["alice"] == 1.0
    assert math.isnan(found["users"]["bob"]), "bob's run was not scored: no mean"
