"""Every public input that takes a number refuses NaN, the infinities, an integer past a
float's range, a bool and a value out of its range with a ConfigurationError naming it (one
checker, agentnb/_core/request.py: checked_number), never an OverflowError, a ValueError from the standard
library or a silently accepted nonsense value."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb.events import Usage
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

HUGE = 10**400
BAD = [math.nan, math.inf, -math.inf, HUGE, -HUGE, True]
URL = "http://127.0.0.1:9"


def _client(**options: Any) -> agentnb.AgentClient:
    return agentnb.AgentClient("openai", base_url=URL, api_key="k", record=False, **options)


INPUTS: dict[str, Callable[[Any], object]] = {
    "timeout": lambda v: _client(timeout=v),
    "idle_timeout": lambda v: _client(idle_timeout=v),
    "run_timeout": lambda v: _client(run_timeout=v),
    "max_run_mib": lambda v: _client(max_run_mib=v),
    "max_retries": lambda v: _client(max_retries=v),
    "backoff": lambda v: _client(backoff=v),
    "max_resumes": lambda v: _client(max_resumes=v),
    "temperature": lambda v: _client().stream("m", "hi", temperature=v),
    "top_p": lambda v: _client().stream("m", "hi", top_p=v),
    "max_tokens": lambda v: _client().stream("m", "hi", max_tokens=v),
    "concurrency": lambda v: agentnb.batch("echo", ["hi"], concurrency=v, client=_client()),
    "connect": lambda v: agentnb.connect("openai", base_url=URL, name="numbers", run_timeout=v),
    "prices": lambda v: agentnb.set_prices({"my-model": {"input_mtok": v, "output_mtok": 1}}),
}


@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf", "huge", "-huge", "bool"])
def test_a_bad_number_is_a_configuration_error(name: str, bad: object) -> None:
    with pytest.raises(agentnb.ConfigurationError):
        INPUTS[name](bad)


def test_a_custom_price_cannot_make_a_cost_past_the_sane_range() -> None:
    agentnb.set_prices({"my-model": {"input_mtok": 10**6, "output_mtok": 10**6}})
    try:
        run = agentnb.Run(model="my-model")
        run.usage = Usage(prompt_tokens=10**12, completion_tokens=1)
        assert run.cost is None and "past 10^6 USD" in (run.cost_reason or "")
        run.usage = Usage(prompt_tokens=1000, completion_tokens=0)
        assert run.cost == 1000.0
    finally:
        agentnb.set_prices(None)


def test_the_message_names_the_input_and_shows_a_huge_number_short() -> None:
    with pytest.raises(agentnb.ConfigurationError) as refused:
        _client(idle_timeout=HUGE)
    message = str(refused.value)
    assert message.startswith("idle_timeout must be a finite number > 0")
    assert "an integer of about 401 digits" in message and len(message) < 200


def test_a_score_past_a_float_is_a_configuration_error() -> None:
    run = agentnb.Run(agent="a", message="m")
    run.start()
    run.finish("completed")
    HistoryStore(os.environ["AGENTNB_HISTORY"]).record(run)
    for bad in (HUGE, -HUGE, math.nan, math.inf):
        with pytest.raises(agentnb.ConfigurationError, match="a score must be a finite number"):
            agentnb.score(run.local_id, "n", bad)
    assert agentnb.score(run.local_id, "n", 10**15).value == 10**15


@pytest.mark.parametrize("bad", [*BAD, -1])
def test_waiting_for_a_run_takes_a_sane_timeout(server: ServerHandle, bad: object) -> None:
    client = agentnb.AgentClient(
        "runagent", base_url=server.url_for("runagent"), api_key=server.api_key, record=False
    )
    handle = agentnb.ask("echo", "hi", client=client, display=False)
    with pytest.raises(agentnb.ConfigurationError, match="timeout must be"):
        handle.wait(bad)  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="timeout must be"):
        handle.wait_started(bad)  # type: ignore[arg-type]
    assert handle.wait(PATIENCE_S).status == "completed"
