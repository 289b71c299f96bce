"""A Ctrl-C (a kernel's interrupt) lands while agentnb blocks, whatever else the process
loaded. polars installs its own SIGINT handler with SA_RESTART: a wait on a lock is then
restarted after the signal instead of returning to Python, so Python's handler (the
``KeyboardInterrupt``) ran only once the wait was over — a Stop during ``batch()``,
``handle.wait()`` or a stream's iteration let every run finish. Each case runs in a fresh
interpreter that imported polars (as ``to_polars()`` does), so the suite's order cannot
hide it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from agentnb_testing import PATIENCE_S

from agentnb.server import ServerHandle

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="pthread_kill is POSIX"),
]

SCRIPT = textwrap.dedent(
    """
    import json, signal, socket, sys, threading
    import polars  # noqa: F401  (its SIGINT handler is the point)
    import agentnb
    import agentnb.evals

    url, key, case = sys.argv[1:4]
    agentnb.connect("operativus", base_url=url, api_key=key, name="slow",
                    headers={"X-AgentNB-Delay-Ms": "20"})
    main = threading.main_thread().ident
    # ~3 s at 20 ms a chunk: still going when an interrupt lands (a stuck one lets it finish),
    # soon over where the batch's first run must end before the interrupt is sent
    STORY = {"metadata": {"paragraphs": "10"}}

    def stop() -> None:  # from another thread, as a kernel's interrupt comes
        signal.pthread_kill(main, signal.SIGINT)

    outcome = {}
    try:
        if case == "batch":
            def stop_after_the_first(run, example):
                if example["id"] == "0":
                    stop()
            agentnb.evals.experiment("stopped", "writer", [f"story {i}" for i in range(6)], concurrency=1, via="slow", progress=False, evaluators=[stop_after_the_first], **STORY)
        elif case == "wait":
            handle = agentnb.ask("writer", "a story", via="slow", display=False, **STORY)
            seen = []

            def stop_at_the_fifth_event(run, event):  # on agentnb's loop thread
                seen.append(event)
                if len(seen) == 5:
                    stop()

            handle.add_listener(stop_at_the_fifth_event)
            handle.wait()
        elif case == "evaluate":
            agentnb.evals.experiment("kept", "echo", [f"q {i}" for i in range(6)], via="slow", progress=False)
            def stop_at_the_second(run, example):  # in an evaluator's worker thread
                if example["id"] == "1":  # evaluate() is waiting by now
                    stop()
                threading.Event().wait(0.5)  # a judge waiting for its agent
                return 1
            try:
                agentnb.evals.experiment("kept").evaluate(stop_at_the_second, concurrency=1)
            finally:
                outcome["scored"] = int(
                    agentnb.evals.experiment("kept").to_pandas()["score.stop_at_the_second"].count())
        elif case == "started":  # a platform that accepts and never answers
            silent = socket.create_server(("127.0.0.1", 0))
            agentnb.connect("operativus", base_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
                            api_key=key, name="silent")
            handle = agentnb.ask("writer", "a story", via="silent", display=False)
            threading.Timer(0.5, stop).start()
            handle.wait_started()
        elif case == "stream":
            with agentnb.AgentClient("operativus", base_url=url, api_key=key,
                                     headers={"X-AgentNB-Delay-Ms": "20"}) as client:
                with client.stream("writer", "a story", **STORY) as stream:
                    for i, _ in enumerate(stream):
                        if i == 3:
                            threading.Thread(target=stop).start()
        outcome["raised"] = None
    except KeyboardInterrupt:
        outcome["raised"] = "KeyboardInterrupt"
    outcome["statuses"] = list(agentnb.runs().to_pandas()["status"])
    print(json.dumps(outcome))
    """
)


def interrupted(
    server: ServerHandle, case: str, tmp_path: object, timeout: float = PATIENCE_S
) -> dict[str, object]:
    env = {**os.environ, "AGENTNB_HISTORY": f"{tmp_path}/history.sqlite3"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.url_for("operativus"), server.api_key, case],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


@pytest.mark.parametrize("case", ["batch", "wait", "stream"])
def test_an_interrupt_cancels_the_runs_a_blocking_call_waits_for(
    server: ServerHandle, case: str, tmp_path: object
) -> None:
    outcome = interrupted(server, case, tmp_path)
    assert outcome["raised"] == "KeyboardInterrupt"
    statuses = outcome["statuses"]
    assert isinstance(statuses, list) and "cancelled" in statuses, statuses
    assert "running" not in statuses


def test_an_interrupt_stops_an_experiment_s_evaluation(
    server: ServerHandle, tmp_path: object
) -> None:
    outcome = interrupted(server, "evaluate", tmp_path)
    assert outcome["raised"] == "KeyboardInterrupt"
    scored = outcome["scored"]
    # the first kept; the second still going when the frame is read; the rest never started
    assert isinstance(scored, int) and 1 <= scored < 6, scored


def test_an_interrupt_ends_a_wait_for_a_first_event_that_never_comes(
    server: ServerHandle, tmp_path: object
) -> None:
    outcome = interrupted(server, "started", tmp_path)
    assert outcome["raised"] == "KeyboardInterrupt"
