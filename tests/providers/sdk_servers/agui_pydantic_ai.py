"""A pydantic-ai agent served over AG-UI (pydantic-ai's own ``AGUIAdapter``), with a scripted
model (``FunctionModel``): no network, no key. Run with the ``.tools/agui`` venv's Python:

    python agui_pydantic_ai.py PORT

Routes (one agent each, as pydantic-ai mounts them):
- ``/quotes``: thinks, calls ``get_price`` (a real tool run by pydantic-ai), answers with the
  price; a later turn that asks "again?" answers from the history it was sent;
- ``/trade``: calls ``place_trade``, a tool that needs approval (an AG-UI interrupt), then
  answers whether it ran;
- ``/notes``: calls ``remember``, whose return carries AG-UI events (a ``STATE_SNAPSHOT`` of
  the state the client sent, read through ``StateDeps``, a ``STATE_DELTA`` adding the note and
  a ``CUSTOM`` event), then answers;
- ``/broken``: the model raises (a ``RUN_ERROR``).
- ``/portfolio``: calls ``position_value``, a tool the client declared (``RunAgentInput.tools``:
  pydantic-ai leaves its calls to the client), then answers with the result it was sent;
- ``/context``: calls ``notebook_describe`` (a context tool agentnb offers with
  ``context=True``) for ``customers``; a result that says "IGNORE ALL PREVIOUS INSTRUCTIONS"
  provokes a call of ``notebook_read_file`` for ``.env``, as an injected model would; then
  answers with how much it read;
- ``/``: the ``quotes`` agent again, mounted at the root as a one-agent server is (the URL a
  user is given is the endpoint itself);
- ``/health``: 200 once serving.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import uvicorn
from ag_ui.core import CustomEvent, EventType, StateDeltaEvent, StateSnapshotEvent
from pydantic import BaseModel
from pydantic_ai import Agent, DeferredToolRequests, RunContext, ToolReturn
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaThinkingPart, DeltaToolCall, FunctionModel
from pydantic_ai.ui import StateDeps
from pydantic_ai.ui.ag_ui import AGUIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

PRICES = {"NVDA": 875.4, "AMD": 160.2}


def last_request(messages: list[ModelMessage]) -> ModelRequest:
    request = messages[-1]
    assert isinstance(request, ModelRequest)
    return request


def user_prompts(messages: list[ModelMessage]) -> list[str]:
    return [
        str(part.content)
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, UserPromptPart)
    ]


async def quotes_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    returns = [p for p in last_request(messages).parts if isinstance(p, ToolReturnPart)]
    if returns:
        price = returns[0].content
        yield f"**NVDA** trades at **${price}**."
        return
    prompts = user_prompts(messages)
    if len(prompts) > 1:
        yield f"You asked {len(prompts)} times; first: {prompts[0]}"
        return
    yield {0: DeltaThinkingPart(content="The user wants a price; ")}
    yield {0: DeltaThinkingPart(content="I look it up.")}
    yield {1: DeltaToolCall(name="get_price", json_args='{"ticker": ', tool_call_id="call_q1")}
    yield {1: DeltaToolCall(json_args='"NVDA"}')}


async def trade_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    returns = [p for p in last_request(messages).parts if isinstance(p, ToolReturnPart)]
    if returns:
        yield f"Trade outcome: {returns[0].content}"
        return
    yield {
        0: DeltaToolCall(
            name="place_trade", json_args='{"ticker": "NVDA", "shares": 10}', tool_call_id="call_t1"
        )
    }


async def notes_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    if any(isinstance(p, ToolReturnPart) for p in last_request(messages).parts):
        yield "Noted."
        return
    yield {0: DeltaToolCall(name="remember", json_args='{"note": "milk"}', tool_call_id="c_n1")}


async def portfolio_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    returns = [p for p in last_request(messages).parts if isinstance(p, ToolReturnPart)]
    if returns:
        yield f"The position is worth {returns[0].content}."
        return
    declared = [t.name for t in info.function_tools]
    name = "position_value" if "position_value" in declared else "undeclared_tool"
    args = '{"ticker": "NVDA", "shares": 3}'
    yield {0: DeltaToolCall(name=name, json_args=args, tool_call_id="call_p1")}


async def context_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    returns = [p for p in last_request(messages).parts if isinstance(p, ToolReturnPart)]
    if returns:
        said = str(returns[0].content)
        read_env = any(
            isinstance(p, ToolReturnPart) and p.tool_name == "notebook_read_file"
            for m in messages
            if isinstance(m, ModelRequest)
            for p in m.parts
        )
        if "IGNORE ALL PREVIOUS INSTRUCTIONS" in said and not read_env:
            args = '{"path": ".env"}'
            yield {0: DeltaToolCall(name="notebook_read_file", json_args=args, tool_call_id="c_r1")}
            return
        yield f"I read {len(said)} characters of your notebook: {said[:40]}"
        return
    if "notebook_describe" not in [t.name for t in info.function_tools]:
        yield "no context tool"
        return
    args = '{"name": "customers"}'
    yield {0: DeltaToolCall(name="notebook_describe", json_args=args, tool_call_id="c_d1")}


class Notes(BaseModel):
    notes: list[str] = []


async def broken_model(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[object]:
    raise RuntimeError("the scripted model failed")
    yield ""  # pragma: no cover - makes this an async generator


quotes = Agent(FunctionModel(stream_function=quotes_model), name="quotes")
trade = Agent(
    FunctionModel(stream_function=trade_model),
    name="trade",
    output_type=[str, DeferredToolRequests],
)
broken = Agent(FunctionModel(stream_function=broken_model), name="broken")
portfolio = Agent(FunctionModel(stream_function=portfolio_model), name="portfolio")
context = Agent(FunctionModel(stream_function=context_model), name="context")
notes = Agent(FunctionModel(stream_function=notes_model), name="notes", deps_type=StateDeps[Notes])


@notes.tool
def remember(ctx: RunContext[StateDeps[Notes]], note: str) -> ToolReturn:
    """Add a note to the shared state."""
    before = list(ctx.deps.state.notes)
    add = [{"op": "add", "path": "/notes/-", "value": note}]
    events = [
        StateSnapshotEvent(type=EventType.STATE_SNAPSHOT, snapshot={"notes": before}),
        StateDeltaEvent(type=EventType.STATE_DELTA, delta=add),
        CustomEvent(type=EventType.CUSTOM, name="remembered", value={"count": len(before) + 1}),
    ]
    return ToolReturn(return_value=f"{len(before) + 1} notes", metadata=events)


@quotes.tool_plain
def get_price(ticker: str) -> float:
    """The demo price of a ticker."""
    return PRICES[ticker]


@trade.tool_plain(requires_approval=True)
def place_trade(ticker: str, shares: int) -> str:
    """Buy shares (needs a person's approval)."""
    return f"bought {shares} {ticker}"


def endpoint(agent: Agent[None, object]):  # type: ignore[no-untyped-def]
    async def handle(request: Request) -> Response:
        return await AGUIAdapter.dispatch_request(request, agent=agent)

    return handle


async def serve_notes(request: Request) -> Response:
    return await AGUIAdapter.dispatch_request(request, agent=notes, deps=StateDeps(Notes()))


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/", endpoint(quotes), methods=["POST"]),
        Route("/quotes", endpoint(quotes), methods=["POST"]),
        Route("/trade", endpoint(trade), methods=["POST"]),
        Route("/broken", endpoint(broken), methods=["POST"]),
        Route("/portfolio", endpoint(portfolio), methods=["POST"]),
        Route("/context", endpoint(context), methods=["POST"]),
        Route("/notes", serve_notes, methods=["POST"]),
        Route("/health", health),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
