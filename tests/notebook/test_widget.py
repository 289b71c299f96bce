"""ChatCell (with and without its input box) / agentnb.show: the public API, against the real built-in server."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, Scripted, client_for
from chat_cell_views import view

import agentnb
from agentnb._core.handle import RunHandle
from agentnb._core.loop import get_loop
from agentnb._core.run import Run
from agentnb._display.widget import STATIC, WIDGET_VIEW_MIME, ChatCell, shared_runtime
from agentnb.events import RunCompleted, TextDelta
from agentnb.server import ServerHandle


def recorded(cell: ChatCell) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    lock = threading.Lock()

    def record(content: dict[str, Any], buffers: Any = None) -> None:
        with lock:
            frames.append(json.loads(json.dumps(content)))

    cell.send = record  # type: ignore[method-assign]
    view(cell, {"kind": "seen", "view": "page", "seen": True})  # a view on screen draws them
    return frames


def quiesce() -> None:
    """Let the loop run what is queued, and the final flush go out."""
    for _ in range(3):
        done = threading.Event()
        loop = get_loop()
        loop.call_soon_threadsafe(loop.call_later, 0.05, done.set)
        assert done.wait(PATIENCE_S)


def test_a_real_finance_run_reaches_the_views_and_the_static_copy(server: ServerHandle) -> None:
    stream = client_for(server, "seekrflow").stream("finance_agent", "What is NVDA trading at?")
    cell = ChatCell()
    frames = recorded(cell)
    handle = RunHandle.start(lambda: stream, run=stream.run)
    cell.add(handle)
    run = cell.wait(PATIENCE_S)
    quiesce()

    assert run.status == "completed"
    final = cell.transcript
    turn = final["turns"][0]
    assert turn["meta"]["status"] == "completed"
    assert [c["name"] for c in turn["tools"]] == ["get_stock_price", "calculator"]
    assert "".join(p["text"] for p in turn["parts"] if p["kind"] == "text") == run.text
    assert turn["parts"][0]["kind"] == "reasoning"
    deltas = [f for f in frames if f["kind"] == "delta"]
    assert [f["seq"] for f in deltas] == list(range(1, len(deltas) + 1))
    assert final["seq"] == deltas[-1]["seq"]

    view = cell.view_bundle()
    assert view == {
        WIDGET_VIEW_MIME: {"version_major": 2, "version_minor": 1, "model_id": cell.model_id},
        "text/plain": "",
    }
    assert cell._repr_mimebundle_() == view
    copy = cell.static_bundle()
    assert "get_stock_price" in copy["text/html"]
    assert "<table>" in copy["text/html"]
    assert copy["text/plain"].startswith("agentnb · finance_agent: ")
    assert copy["text/plain"].splitlines()[-1].startswith("completed")


def test_show_outside_a_notebook_prints_the_run_as_it_streams(
    server: ServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = client_for(server, "seekrflow").stream("finance_agent", "NVDA?")
    cell = agentnb.show(stream)
    assert isinstance(cell, ChatCell)
    assert cell.handle is not None, "a stream is started through a RunHandle"
    run = cell.wait(PATIENCE_S)
    quiesce()
    out = capsys.readouterr().out
    assert "→ get_stock_price(" in out
    assert "✓ get_stock_price" in out
    assert run.text[:40] in out
    assert out.rstrip().splitlines()[-1].startswith("completed · ")


def test_show_of_a_run_that_ended_before_it_prints_the_whole_run(
    server: ServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fast run may end before ``show`` attaches its printer (CI saw a 15 ms run print two
    call lines and its summary, no answer and no results): the printer catches up."""
    stream = client_for(server, "seekrflow").stream("finance_agent", "NVDA?")
    handle = RunHandle.start(lambda: stream, run=stream.run)
    run = handle.wait(PATIENCE_S)
    agentnb.show(handle)
    quiesce()
    out = capsys.readouterr().out
    assert out.count("→ get_stock_price(") == 1
    assert out.count("✓ get_stock_price") == 1
    assert run.text in out
    assert out.rstrip().splitlines()[-1].startswith("completed · ")


def test_show_a_finished_run_prints_it_whole(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(agent="echo", message="m")
    run.apply(TextDelta(delta="z" * 5_000))
    run.apply(RunCompleted())
    cell = agentnb.show(run)
    assert cell.runs == [run]
    assert "z" * 5_000 in capsys.readouterr().out


def test_a_chat_cell_printed_by_a_script_names_its_last_turn() -> None:
    """A script or a terminal prints a chat cell (``print(agentnb.show(...))``, a docs
    example's last line): the last turn as a ``RunHandle`` reads, not an address."""
    assert repr(ChatCell()) == "<ChatCell turns=0>"
    first, last = Run(agent="echo", message="m"), Run(agent="writer", message="n")
    first.apply(RunCompleted())
    last.apply(TextDelta(delta="hello"))
    cell = ChatCell(first)
    cell.add(last)
    assert repr(cell) == "<ChatCell turns=2 agent='writer' status=running chars=5 tools=0>"


def test_chat_cell_with_input_sends_typed_messages_through_on_followup() -> None:
    asked: list[str] = []

    def start_run(text: str) -> RunHandle:
        asked.append(text)
        script = Scripted([TextDelta(delta=f"echo: {text}"), RunCompleted()], message=text)
        return RunHandle.start(lambda: script, run=script.run)

    widget = ChatCell(on_followup=start_run, input=True, agent="echo")
    frames = recorded(widget)
    assert widget.options["input"] is True
    assert widget.options["placeholder"] == "Message echo…"
    widget.ask("first")
    deadline = time.monotonic() + PATIENCE_S
    while not (widget.runs and widget.runs[-1].done):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    widget.ask("second")
    while not (len(widget.runs) == 2 and widget.runs[-1].done):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    quiesce()
    assert asked == ["first", "second"]
    assert [r.text for r in widget.runs] == ["echo: first", "echo: second"]
    turns = widget.transcript["turns"]
    assert [t["meta"]["message"] for t in turns] == ["first", "second"]
    assert not [f for f in frames if f["kind"] == "notice"]


def test_bad_arguments_get_clear_errors() -> None:
    with pytest.raises(TypeError, match="RunHandle or a Run"):
        ChatCell("hello")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"agentnb\.show\(\) takes"):
        agentnb.show(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="input=True needs on_followup"):
        ChatCell(input=True)
    with pytest.raises(TypeError, match="on_followup must be a callable"):
        ChatCell(on_followup="nope")  # type: ignore[arg-type]
    cell = ChatCell()
    with pytest.raises(TypeError, match="on_followup is set when the ChatCell is built"):
        agentnb.show(cell, on_followup=lambda text: None)
    with pytest.raises(RuntimeError, match="no run to wait for"):
        cell.wait()


def test_a_cell_with_no_followup_starter_says_chips_cannot_run() -> None:
    cell = ChatCell(Run(agent="a", message="m", status="completed"))
    assert cell.options["can_followup"] is False
    assert cell.options["input"] is False
    assert ChatCell(on_followup=lambda text: None).options["can_followup"] is True


def test_the_cells_of_a_kernel_share_one_runtime_holding_the_code() -> None:
    first, second = ChatCell(), ChatCell()
    runtime = shared_runtime()
    assert first.runtime == second.runtime == runtime.model_id
    code = (STATIC / "widget.js").read_bytes()
    assert gzip.decompress(base64.b64decode(runtime.bundle)) == code
    assert len(runtime.bundle) < 0.6 * len(code), "packed: gzip, then base64"
    assert ".anb-turn" in runtime._css
    assert len(first._esm) < 2_000, "a cell carries only the loader"
    assert not hasattr(first, "_css") or not first._css
    runtime.close()
    third = ChatCell()
    assert third.runtime not in ("", first.runtime), "a closed runtime is made again"
    assert shared_runtime().comm is not None


def test_a_cell_is_made_without_a_class_of_its_own() -> None:
    """anywidget adds its front-end traits to each widget it makes, and traitlets builds a
    class for every such call (most of a chat cell's cost on the kernel's main thread): a
    ChatCell declares them, so it only sets their values, which still reach the page."""
    first, second = ChatCell(), ChatCell()
    assert type(first) is ChatCell and type(second) is ChatCell
    assert first._esm == (STATIC / "loader.js").read_text(encoding="utf-8")
    assert first._anywidget_id == "agentnb._display.widget.ChatCell"
    assert {"_esm", "_css", "_anywidget_id"} <= set(first.keys), "synced to the views"
    state = first.get_state()
    assert state["_esm"] == first._esm and state["_anywidget_id"] == first._anywidget_id
