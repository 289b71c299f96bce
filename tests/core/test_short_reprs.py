"""The objects a person meets print as one short line (what it is, status, time, calls), in
a notebook as HTML with the answer's first characters; never the transcript, never a key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentnb._core.handle import RunHandle
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._core.secrets import register_secret
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agentnb.history import HistoryStore

KEY = "sk-short-repr-secret-0123456789"


def long_run() -> Run:
    run = Run(agent="finance_agent", message="What is NVDA at?", provider="openai")
    run.start(100.0)
    run.apply(RunStarted(run_id="r1", received_at=100.1))
    run.apply(ReasoningDelta(delta="thinking " * 300, received_at=100.2))
    run.apply(ToolCallStarted(call_id="c1", name="get_quote", received_at=100.3))
    run.apply(ToolCallFinished(call_id="c1", output={"price": 1}, received_at=100.7))
    run.apply(TextDelta(delta="NVDA is at 1. " * 200, received_at=101.0))
    run.apply(RunCompleted(received_at=102.5))
    return run


def handle_of(run: Run) -> RunHandle:
    def never_streamed() -> Any:
        raise AssertionError("a repr starts no stream")

    return RunHandle(never_streamed, run=run)


def test_a_run_is_one_line_saying_what_it_is_its_status_time_and_calls() -> None:
    run = long_run()
    line = repr(run)
    assert line.startswith("<Run 'finance_agent' completed") and "\n" not in line
    assert "2.5 s" in line and "1 tool call" in line and "2,800 characters" in line
    assert len(line) < 120 and "thinking" not in line and "Part(" not in line
    html = run._repr_html_()
    assert "&lt;Run &#x27;finance_agent&#x27; completed" in html and "NVDA is at 1." in html
    assert len(html) < 600


def test_tool_calls_print_as_short_lines_in_their_list() -> None:
    calls = repr(long_run().tool_calls)
    assert calls == "[<ToolCall 'get_quote' succeeded · 400 ms · call_id='c1'>]"


def test_a_failed_run_says_its_error_code_and_shows_its_message() -> None:
    run = Run(agent="a", message="hi")
    run.start(10.0)
    run.apply(RunFailed(message="model overloaded", code="CAPACITY", received_at=10.5))
    assert repr(run) == "<Run 'a' failed · 500 ms · 0 characters · 0 tool calls · error CAPACITY>"
    assert "model overloaded" in run._repr_html_()


def test_a_handle_prints_its_run_line() -> None:
    handle = handle_of(long_run())
    assert repr(handle).startswith("<RunHandle 'finance_agent' completed · 2.5 s")
    assert "NVDA is at 1." in handle._repr_html_()


def test_a_recorded_run_is_one_line_with_its_id_and_no_key(tmp_path: Path) -> None:
    register_secret(KEY)
    run = long_run()
    run.message = f"my key is {KEY}"
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        store.record_start(run, RunRequest(agent=run.agent, message=run.message), base_url="")
        store.record_end(run)
        record = store.get(run.local_id)
        assert record is not None
        line = repr(record)
        assert line == (
            f"<RunRecord 'finance_agent' completed · 2.5 s · 1 tool call · "
            f"local_id={run.local_id!r}>"
        )
        assert KEY not in line and KEY not in record._repr_html_()
        (call,) = store.tool_calls([run.local_id])
        assert repr(call).startswith("<ToolCallRecord 'get_quote' succeeded · 400 ms")


def test_no_repr_shows_the_question_which_may_quote_a_key() -> None:
    register_secret(KEY)
    run = long_run()
    run.message = f"use {KEY} for it"
    for shown in (repr(run), run._repr_html_(), repr(handle_of(run)), handle_of(run)._repr_html_()):
        assert KEY not in shown and "use " not in shown
