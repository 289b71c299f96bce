"""``%%agent AGENT --tool NAME`` in a real kernel: the notebook's function is declared, the
agent (a Responses server made by ``azure-ai-agentserver-responses``) calls it, and the cell's
run ends with the answer that uses its result; what it prints stays out of the cell's output;
a name that is not a function is a UsageError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import free_port, sdk_python, serving
from kernel_session import Session, reset_kernel, running_kernel

pytestmark = [pytest.mark.kernel]

SERVER = Path(__file__).parents[1] / "providers" / "sdk_servers" / "responses_agentserver.py"


@pytest.fixture(scope="module")
def responses_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("responses") / "server.log"
    command = [str(sdk_python("agentserver")), str(SERVER), str(port)]
    with serving(command, ready_url=f"{url}/log", log_path=log):
        yield url


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    """One kernel for the module's tests, each given it reset (``fresh``)."""
    with running_kernel() as client:
        yield client


@pytest.fixture
def fresh(kernel: Any) -> Any:
    reset_kernel(kernel)
    return kernel


def test_the_tool_flag_lets_the_agent_call_a_notebook_function(
    responses_url: str, fresh: Any
) -> None:
    session = Session(fresh)
    session.execute(
        f"""
        %load_ext agentnb
        import agentnb
        agentnb.connect("openai-responses", base_url={responses_url!r}, api_key="k", name="r")
        seen = []
        def position_value(ticker: str, shares: int = 1) -> float:
            seen.append((ticker, shares))
            print("pricing", ticker)
            return 100.5 * shares
        """
    )
    ran = session.execute(
        "%%agent portfolio --via r --tool position_value --wait --no-record --out h\nportfolio"
    )
    assert "pricing" not in session.stdout(ran)
    shown = session.execute("print(seen, h.run.text, h.run.tool_calls[0].ran_by)")
    assert session.stdout(shown) == "[('NVDA', 3)] The position is worth 301.5. client\n"
    refused = session.execute("%%agent portfolio --via r --tool seen\nportfolio")
    stderr = "".join(
        m["content"]["text"]
        for m in session.of(refused, "stream")
        if m["content"]["name"] == "stderr"
    )
    assert stderr == "UsageError: --tool seen: 'seen' is a list, not a function\n"


def test_an_async_tool_is_awaited_on_the_kernels_loop(responses_url: str, fresh: Any) -> None:
    session = Session(fresh)
    session.execute(
        f"""
        import asyncio, threading
        import agentnb
        agentnb.connect("openai-responses", base_url={responses_url!r}, api_key="k", name="r")
        kernel_loop = asyncio.get_running_loop()
        where = []
        async def position_value(ticker: str, shares: int = 1) -> float:
            where.append((asyncio.get_running_loop() is kernel_loop, threading.current_thread().name))
            await asyncio.sleep(0)
            return 100.5 * shares
        h = agentnb.ask("portfolio", "portfolio", via="r", tools=[position_value], display=False)
        """
    )
    shown = session.execute(
        """
        while not h.run.done:
            await asyncio.sleep(0.05)
        print(where, h.run.text)
        """
    )
    assert session.stdout(shown) == "[(True, 'MainThread')] The position is worth 301.5.\n"


def test_a_tool_may_ask_the_agent_again_with_a_tool_of_its_own(fresh: Any) -> None:
    session = Session(fresh)
    session.execute(
        """
        %load_ext agentnb
        import agentnb
        agentnb.connect("openai", local=True, name="local")
        def share_price(ticker: str, shares: int = 1) -> str:
            return "7 per share"
        def position_value(ticker: str, shares: int = 1) -> str:
            inner = agentnb.ask("finance_agent", f"My {ticker} position?", via="local",
                                tools=[share_price], wait=True, display=False)
            return f"{inner.run.status}: {inner.run.text}"
        """
    )
    session.execute(
        "%%agent finance_agent --via local --tool position_value --wait --no-record --out h\n"
        "My NVDA position?"
    )
    shown = session.execute("print(h.run.tool_calls[0].status, '|', h.run.text)")
    assert session.stdout(shown) == (
        "succeeded | Your notebook's tool says: completed: Your notebook's tool says: 7 per share\n"
    )
