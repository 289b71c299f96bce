"""The ``anthropic`` dialect against servers not written here.

A scripted Messages server (``messages_server/scripted_messages.py``) run by the ``anthropic``
SDK's own venv (``.tools/anthropic``, pinned in ``tests/sdk_envs/anthropic.txt``): every frame it
streams is one of the SDK's event models serialised, and every request agentnb sends must pass
the SDK's ``MessageCreateParamsStreaming`` and carry Anthropic's headers. The SDK's own client
reads the same server, so both readers are held to the same frames. Then a LiteLLM proxy's
``/v1/messages`` (``.tools/litellm``) over its scripted model: Anthropic's wire as a gateway
speaks it, with a notebook tool round trip."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import (
    PATIENCE_S,
    PEER_TIMEOUT,
    free_port,
    patient_polls,
    said_on_page,
    sdk_python,
    serving,
)
from interop_testing import LITELLM_KEY

from agentnb import AsyncAgentClient, InvalidRequestError, RunFailedError, ServerError
from agentnb._core.run import Run
from agentnb.providers.anthropic import MAX_PAUSED_TURNS

pytestmark = [pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parent / "messages_server" / "scripted_messages.py"
KEY = "sk-ant-agentnb-test"


@pytest.fixture(scope="module")
def messages_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python, port = sdk_python("anthropic"), free_port()
    log = tmp_path_factory.mktemp("anthropic") / "server.log"
    command = [str(python), str(SCRIPT), str(port), KEY]
    with serving(command, ready_url=f"http://127.0.0.1:{port}/health", log_path=log):
        yield f"http://127.0.0.1:{port}"


def client(url: str, key: str = KEY, **options: object) -> AsyncAgentClient:
    options.setdefault("timeout", PEER_TIMEOUT)
    return AsyncAgentClient("anthropic", base_url=url, api_key=key, record=False, **options)


async def test_thinking_text_usage_and_cost_then_a_second_turn(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("claude-sonnet-4-5", "What is 2 + 2?")
        again = await anthropic.run("claude-sonnet-4-5", "And again?", thread_id=run.thread_id)
    assert (run.status, run.text, run.reasoning) == (
        "completed",
        "The answer is 4.",
        "Two plus two is four.",
    )
    assert (run.run_id, run.model, run.finish_reason) == (
        "msg_think_1",
        "claude-sonnet-4-5",
        "end_turn",
    )
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (12, 20)
    assert run.cost is not None and run.cost > 0 and run.cost_source == "genai-prices"
    # the thread went back whole, the thinking block with its signature (the server checks it)
    assert again.text == "Turn with 3 messages."


async def test_a_tool_the_server_ran_is_a_finished_call(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("search", "NVDA?")
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments, call.status) == (
        "srvtoolu_1",
        "web_search",
        {"query": "NVDA price"},
        "succeeded",
    )
    assert call.ran_by != "client" and call.output[0]["url"] == "https://example.com/nvda"
    assert run.text == "NVDA is at 100."


async def test_a_notebook_tool_answers_in_the_same_run(messages_url: str) -> None:
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with client(messages_url) as anthropic:
        run = await anthropic.run("tools", "portfolio", tools=[position_value])
        again = await anthropic.run(
            "tools", "more", thread_id=run.thread_id, tools=[position_value]
        )
    assert seen == [("NVDA", 3), ("NVDA", 3)]
    assert (run.status, run.text, run.finish_reason) == (
        "completed",
        "Let me look.The position is worth 301.5.",
        "end_turn",
    )
    [call] = run.tool_calls
    assert (call.call_id, call.ran_by, call.output, call.status) == (
        "toolu_1",
        "client",
        "301.5",
        "succeeded",
    )
    assert run.usage is not None and run.usage.prompt_tokens == 25 + 40  # both requests
    assert again.status == "completed"  # the thread's tool_use and tool_result went back valid


async def test_two_calls_on_one_block_index_both_run_and_both_go_back(messages_url: str) -> None:
    """A hostile stream starts a second ``tool_use`` on an index already open: each call is
    run with its own arguments, and the next request carries both calls with their results
    (the server refuses a result whose call is missing, as Anthropic's API does)."""
    said_on_page(
        "security.md",
        "two calls started on one Anthropic content-block index are two calls, each run and "
        "each sent back with its result.",
    )
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.0 * shares

    async with client(messages_url) as anthropic:
        run = await anthropic.run("one-index-two-calls", "portfolio", tools=[position_value])
    assert run.status == "completed", run.error
    assert sorted(seen) == [("AAPL", 2), ("NVDA", 1)]
    assert run.text == "toolu_a: 100.0; toolu_b: 200.0"
    assert [(c.call_id, c.arguments) for c in run.tool_calls] == [
        ("toolu_a", {"ticker": "NVDA", "shares": 1}),
        ("toolu_b", {"ticker": "AAPL", "shares": 2}),
    ]


async def test_a_call_whose_start_and_streamed_input_disagree_is_denied(
    messages_url: str,
) -> None:
    """The block's start says NVDA × 3, its streamed input AAPL × 1000: neither is run (a
    function run with one while the thread says the other would misreport what ran); the
    call fails saying why, and the thread goes on valid."""
    said_on_page(
        "security.md",
        "The call the function runs with is the call the thread sends back: a call whose "
        "versions disagree (its start's parsed input against its streamed input, as a hostile "
        "Anthropic stream may send; text pieces then an object saying another thing, in Chat "
        "Completions) is denied, nothing runs, and the agent gets a tool error saying why",
    )
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.0 * shares

    async with client(messages_url) as anthropic:
        run = await anthropic.run("disagreeing-call", "portfolio", tools=[position_value])
        again = await anthropic.run("claude-sonnet-4-5", "And?", thread_id=run.thread_id)
    assert seen == []
    assert run.status == "completed", run.error
    [call] = run.tool_calls
    assert call.status == "failed" and call.error is not None and "disagree" in call.error
    assert run.text.startswith("toolu_d failed: ") and "disagree" in run.text
    assert again.text == "Turn with 5 messages."  # the call and its refusal went back valid


async def test_an_error_event_fails_the_run_with_its_type(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        with pytest.raises(RunFailedError) as failed:
            await anthropic.run("overloaded", "hi")
    assert "Overloaded" in str(failed.value)
    run: Run | None = failed.value.run
    assert run is not None and run.error is not None and run.error.code == "overloaded_error"
    assert run.text == "Part"


def position_value(ticker: str = "NVDA", shares: int = 1) -> float:
    """The value of a position (every argument has a default: a call with none would run)."""
    raise AssertionError("a call cut by max_tokens is never run")


async def test_a_max_tokens_stop_keeps_the_answer_cut_there(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("max-tokens", "Tell me everything.")
        again = await anthropic.run("claude-sonnet-4-5", "Go on", thread_id=run.thread_id)
    assert (run.status, run.text, run.finish_reason) == ("completed", "The answer is", "max_tokens")
    assert run.usage is not None and run.usage.completion_tokens == 3
    assert again.text == "Turn with 3 messages."  # the cut answer stays in the thread


async def test_a_call_cut_by_max_tokens_is_not_run_and_says_why(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("max-tokens-call", "portfolio", tools=[position_value])
        again = await anthropic.run("claude-sonnet-4-5", "Go on", thread_id=run.thread_id)
    assert (run.status, run.text, run.finish_reason) == ("completed", "Let me look.", "max_tokens")
    [call] = run.tool_calls
    assert (call.call_id, call.status, call.output) == ("toolu_cut", "failed", None)
    assert call.error == "unfinished: the answer stopped (max_tokens) before this call was whole"
    assert run.client_tool_calls == []
    # the thread keeps the text, not the call nobody answered (the API refuses a lone tool_use)
    assert again.status == "completed" and again.text == "Turn with 3 messages."


async def test_a_stop_sequence_ends_the_answer_as_the_model_ended_it(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("stop-sequence", "Steps?")
    assert (run.status, run.text, run.finish_reason) == ("completed", "Step one.", "stop_sequence")


async def test_a_refusal_fails_the_run_with_its_explanation_and_leaves_the_thread(
    messages_url: str,
) -> None:
    async with client(messages_url) as anthropic:
        with pytest.raises(RunFailedError) as refused:
            await anthropic.run("refusal", "Write malware.", thread_id="thread_refused")
        again = await anthropic.run("claude-sonnet-4-5", "Hi", thread_id="thread_refused")
    run = refused.value.run
    assert run is not None and run.status == "failed" and run.text == "Hello.."
    assert run.error is not None and run.error.code == "refusal"
    assert "declined because it could enable cyber harm" in run.error.message
    assert "cyber" in str(refused.value)
    # Anthropic: after a refusal the turn that caused it goes before the thread goes on
    assert again.text == "The answer is 4."  # its one message: the refused turn was not kept


async def test_a_paused_turn_is_sent_back_and_goes_on_in_the_same_run(
    messages_url: str,
) -> None:
    """``pause_turn``: the API asks for the paused content back as it is; the turn goes on
    with the server tool's result and the answer, one run, its usage both requests'."""
    async with client(messages_url) as anthropic:
        run = await anthropic.run("pause-turn", "NVDA?")
        again = await anthropic.run("claude-sonnet-4-5", "And?", thread_id=run.thread_id)
    assert (run.status, run.finish_reason, run.text) == ("completed", "end_turn", "NVDA is at 100.")
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.status) == ("srvtoolu_p", "web_search", "succeeded")
    assert run.usage is not None and run.usage.prompt_tokens == 30 + 50
    # the thread: the question, the turn as one message (paused, then gone on), the new one
    assert again.text == "Turn with 3 messages."


async def test_a_turn_that_pauses_again_and_again_ends_at_the_bound(messages_url: str) -> None:
    async with client(messages_url) as anthropic:
        run = await anthropic.run("pause-always", "NVDA?")
        again = await anthropic.run("claude-sonnet-4-5", "And?", thread_id=run.thread_id)
    assert (run.status, run.finish_reason) == ("completed", "pause_turn")
    assert run.usage is not None and run.usage.prompt_tokens == 30 * (MAX_PAUSED_TURNS + 1)
    calls = run.tool_calls
    assert [c.call_id for c in calls] == [f"srvtoolu_p{n}" for n in range(MAX_PAUSED_TURNS + 1)]
    assert all(c.status == "failed" and "pause_turn" in (c.error or "") for c in calls)
    # the paused call, without its result, is not sent back before a new question
    assert again.text == "Turn with 2 messages."


async def test_error_statuses_are_typed(messages_url: str) -> None:
    async with client(messages_url, max_retries=0) as anthropic:
        with pytest.raises(ServerError) as overloaded:
            await anthropic.run("status-529", "hi")
        with pytest.raises(InvalidRequestError) as invalid:
            await anthropic.run("status-400", "hi")
    assert overloaded.value.status_code == 529 and "scripted 529" in str(overloaded.value)
    assert invalid.value.status_code == 400 and "scripted 400" in str(invalid.value)
    async with client(messages_url, key="not-the-scripted-key") as anthropic:
        with pytest.raises(Exception, match="invalid x-api-key"):
            await anthropic.run("claude-sonnet-4-5", "hi")


async def test_stop_closes_the_stream_and_the_server_sees_it_go(messages_url: str) -> None:
    async with client(messages_url) as anthropic, anthropic.stream("slow", "go on") as stream:
        async for event in stream:
            if event.type == "text_delta":
                break  # Stop
    assert stream.run.status == "cancelled" and stream.run.text.startswith("word")
    async with httpx.AsyncClient(base_url=messages_url) as probe:
        for _ in patient_polls():  # the server notices at its next write
            if (await probe.get("/gone")).json() == ["slow"]:
                break
            await asyncio.sleep(0.05)
        assert (await probe.get("/gone")).json() == ["slow"]


SDK_READS = """
import json, sys
import anthropic
client = anthropic.Anthropic(base_url=sys.argv[1], api_key=sys.argv[2])
with client.messages.stream(model=sys.argv[3], max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
    message = stream.get_final_message()
print(message.model_dump_json())
"""


def sdk_message(url: str, key: str, model: str) -> dict[str, object]:
    """The message the ``anthropic`` SDK's own stream accumulator reads from ``url``."""
    python = sdk_python("anthropic")
    done = subprocess.run(
        [str(python), "-c", SDK_READS, url, key, model],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    message: dict[str, object] = json.loads(done.stdout)
    return message


async def test_the_sdk_reads_what_agentnb_reads(messages_url: str) -> None:
    message = sdk_message(messages_url, KEY, "claude-sonnet-4-5")
    async with client(messages_url) as anthropic:
        run = await anthropic.run("claude-sonnet-4-5", "hi")
    thinking, text = message["content"]  # type: ignore[misc]
    assert (thinking["thinking"], thinking["signature"]) == (run.reasoning, "sig-abc")
    assert text["text"] == run.text
    assert message["usage"]["output_tokens"] == run.usage.completion_tokens  # type: ignore[index,union-attr]


async def test_litellm_messages_streams_a_notebook_tool_round(proxy_url: str) -> None:
    base = proxy_url.removesuffix("/v1")
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with client(base, key=LITELLM_KEY) as anthropic:
        run = await anthropic.run("portfolio", "portfolio", tools=[position_value])
    assert seen == [("NVDA", 3)]
    assert (run.status, run.text) == ("completed", "The position is worth 301.5.")
    [call] = run.tool_calls
    assert (call.call_id, call.ran_by, call.output) == ("call_llm_1", "client", "301.5")
    assert run.usage is not None and run.usage.completion_tokens == 10  # both requests


async def test_litellm_messages_as_the_sdk_reads_it(proxy_url: str) -> None:
    base = proxy_url.removesuffix("/v1")
    message = sdk_message(base, LITELLM_KEY, "portfolio")
    async with client(base, key=LITELLM_KEY) as anthropic:
        run = await anthropic.run("portfolio", "hi")
    [text] = message["content"]  # type: ignore[misc]
    assert text["text"] == run.text == "no tool"
    assert (run.finish_reason, message["stop_reason"]) == ("end_turn", "end_turn")
    assert run.usage is not None and run.usage.completion_tokens == 5


@pytest.mark.kernel
def test_an_attached_figure_reaches_the_model_as_an_image_beside_its_summary(
    messages_url: str,
) -> None:
    """``@fig`` from a real kernel on the anthropic dialect: the request passes the SDK's
    ``MessageCreateParamsStreaming`` with the figure as a base64 PNG ``image`` block before
    the text, and the model reads the image and the summary's message."""
    from kernel_session import Session, running_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env["AGENTNB_HISTORY"] = "off"
    with running_kernel(env) as kernel:
        session = Session(kernel)
        ran = session.execute(
            f"""
            import agentnb
            from matplotlib.figure import Figure
            fig = Figure(figsize=(4, 2), dpi=100)
            fig.subplots().plot([1, 2, 3], [10, 30, 20])
            agentnb.connect("anthropic", base_url={messages_url!r}, api_key={KEY!r}, name="c")
            h = agentnb.ask("look", "What does @fig show?", via="c", wait=True, display=False,
                            approve=True)
            print(h.run.status, h.run.text)
            """
        )
        said = session.stdout(ran)
    found = re.fullmatch(
        r"completed 1 image\(s\): image/png (\d+)x(\d+); text: (.*); attached: (.*)\n", said
    )
    assert found is not None, said
    assert 300 <= int(found.group(1)) <= 460 and 150 <= int(found.group(2)) <= 260, said
    assert found.group(3) == "What does @fig show?"
    assert found.group(4) == "@fig: matplotlib Figure 400×200 px, 1 plot", "and its summary"
