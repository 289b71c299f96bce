"""The runner for the user's code: where it runs, what it captures, its bounds."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest
from agentnb_testing import PATIENCE_S, ctrl_c_as_a_wait_takes_its_lock_back

from agentnb._core.user_code import MAX_OUTPUT_CHARS, call_within, run_user_code


async def test_a_value_comes_back_with_what_the_function_printed() -> None:
    def add(a: int, b: int) -> int:
        print("adding", a, b)
        print("to stderr", file=sys.stderr)
        return a + b

    outcome = await run_user_code(add, (2,), {"b": 3}, time_limit=PATIENCE_S)
    assert (outcome.status, outcome.value, outcome.error) == ("ok", 5, None)
    assert outcome.output == "adding 2 3\nto stderr\n"
    assert sys.stdout.__class__.__name__ != "_Routed"  # put back once no call runs


async def test_it_runs_off_the_callers_thread_and_the_loop_goes_on() -> None:
    gate = threading.Event()
    ticks: list[int] = []

    def waits() -> str:
        gate.wait(PATIENCE_S)
        return threading.current_thread().name

    async def tick() -> None:
        for i in range(3):
            ticks.append(i)
            await asyncio.sleep(0)
        gate.set()

    outcome, _ = await asyncio.gather(run_user_code(waits, time_limit=PATIENCE_S), tick())
    assert ticks == [0, 1, 2]
    assert outcome.value.startswith("agentnb-user-code:waits")


async def test_a_raising_function_is_an_error_outcome_not_a_raise() -> None:
    def fails() -> None:
        print("before")
        raise ValueError("no such ticker")

    outcome = await run_user_code(fails, time_limit=PATIENCE_S)
    assert outcome.status == "error"
    assert isinstance(outcome.error, ValueError) and outcome.output == "before\n"


async def test_past_its_time_a_sync_call_is_abandoned_and_frees_the_line() -> None:
    release = threading.Event()
    outcome = await run_user_code(lambda: release.wait(PATIENCE_S), time_limit=0.05)
    assert (outcome.status, outcome.abandoned) == ("timed_out", True)
    # the abandoned call still runs, yet the next one is not held behind it
    assert (await run_user_code(lambda: "next", time_limit=PATIENCE_S)).value == "next"
    release.set()


async def test_calls_take_turns_unless_parallel() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def counted() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    await asyncio.gather(*(run_user_code(counted, time_limit=PATIENCE_S) for _ in range(4)))
    assert most == 1
    both = threading.Barrier(2, timeout=PATIENCE_S)  # would break if they did not overlap
    outcomes = await asyncio.gather(
        *(run_user_code(both.wait, time_limit=PATIENCE_S, parallel=True) for _ in range(2))
    )
    assert [o.status for o in outcomes] == ["ok", "ok"]


async def test_an_async_function_is_awaited_on_the_loop_it_is_given() -> None:
    user_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=user_loop.run_forever, daemon=True)
    thread.start()
    try:

        async def where() -> object:
            print("async output")
            return asyncio.get_running_loop()

        outcome = await run_user_code(where, time_limit=PATIENCE_S, user_loop=user_loop)
        assert outcome.value is user_loop and outcome.output == "async output\n"

        async def forever() -> None:
            await asyncio.sleep(60)

        late = await run_user_code(forever, time_limit=0.05, user_loop=user_loop)
        assert (late.status, late.abandoned) == ("timed_out", False)  # cancelled, not left
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), user_loop).result(PATIENCE_S)
    finally:
        user_loop.call_soon_threadsafe(user_loop.stop)
        thread.join(PATIENCE_S)
        user_loop.close()


async def test_an_async_function_without_a_loop_runs_on_its_own() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert (await run_user_code(answer, time_limit=PATIENCE_S)).value == 42


async def test_output_is_kept_up_to_its_bound() -> None:
    outcome = await run_user_code(
        lambda: print("x" * (MAX_OUTPUT_CHARS + 10)), time_limit=PATIENCE_S
    )
    assert outcome.output.startswith("x" * MAX_OUTPUT_CHARS)
    assert outcome.output.endswith("[11 more characters of output not kept]")


async def test_cancelling_the_caller_abandons_the_call() -> None:
    release = threading.Event()
    task = asyncio.create_task(run_user_code(lambda: release.wait(PATIENCE_S), time_limit=None))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await run_user_code(lambda: 1, time_limit=PATIENCE_S)).value == 1
    release.set()


def test_a_ctrl_c_as_a_bounded_read_s_wait_takes_its_lock_back_is_the_interrupt() -> None:
    """A summary's read of a value waits for it in the kernel's thread, which a Ctrl-C
    interrupts: landing as CPython's ``Condition.wait`` takes its lock back, it is the
    interrupt, not ``RuntimeError: release unlocked lock``."""
    ended = threading.Event()
    with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
        call_within(lambda: ended.wait(PATIENCE_S), PATIENCE_S, "agentnb-test-read")
    ended.set()
