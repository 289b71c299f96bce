"""A Responses API server made by ``azure-ai-agentserver-responses`` itself (its routes,
stream state machine, in-memory response store, background mode, ``starting_after`` replay
and cancel) with a scripted handler: no model, no network. Run with the ``.tools/agentserver``
venv's Python:

    python responses_agentserver.py PORT

What the handler answers depends on the input:
- an ``mcp_approval_response`` item (the decision on ``trade``): the MCP call, run when
  approved, then a message saying what happened;
- ``trade``: an ``mcp_approval_request`` for ``place_trade`` (the response ends there);
- ``weather``: a ``function_call`` for the client to run (``get_weather``);
- ``storm N``: N ``function_call``s of ``position_value`` in one response; ``bomb``: one whose
  arguments are 200,000 characters;
- ``portfolio``: a ``function_call`` of ``position_value`` (a tool the client declared), then,
  given its ``function_call_output``, an answer quoting the output;
- ``slow N``: N text deltas, 50 ms apart (to cut, resume, attach to or cancel);
- ``turns``: how many user messages the conversation holds (history included);
- ``refuse``: a refusal;
- anything else: a reasoning summary in two deltas, then the answer in three, and usage.

``GET /log`` lists the response ids whose cancellation the handler saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from azure.ai.agentserver.responses import (
    ResponseContext,
    ResponseEventStream,
    ResponsesAgentServerHost,
)
from azure.ai.agentserver.responses.models import CreateResponse, ResponseUsage
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CANCELLED: list[str] = []


async def cancelled_log(request: Request) -> JSONResponse:
    return JSONResponse({"cancelled": CANCELLED})


app = ResponsesAgentServerHost(routes=[Route("/log", cancelled_log)])


def usage(reasoning: int = 0) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=12,
        input_tokens_details={"cached_tokens": 4},
        output_tokens=20,
        output_tokens_details={"reasoning_tokens": reasoning},
        total_tokens=32,
    )


def _role(item: Any) -> str | None:
    return item.get("role") if isinstance(item, dict) else getattr(item, "role", None)


def _type(item: Any) -> str | None:
    return item.get("type") if isinstance(item, dict) else getattr(item, "type", None)


async def _answered(stream: ResponseEventStream, text: str) -> AsyncIterator[Any]:
    message = stream.add_output_item_message()
    yield message.emit_added()
    part = message.add_text_content()
    yield part.emit_added()
    yield part.emit_delta(text)
    yield part.emit_text_done()
    yield part.emit_done()
    yield message.emit_done()


@app.response_handler
async def handler(
    request: CreateResponse, context: ResponseContext, cancellation_signal: asyncio.Event
) -> AsyncIterator[Any]:
    items = await context.get_input_items()
    text = (await context.get_input_text()).strip()
    stream = ResponseEventStream(response_id=context.response_id, request=request)
    yield stream.emit_created()
    yield stream.emit_in_progress()
    decisions = [i for i in items if _type(i) == "mcp_approval_response"]
    if decisions:
        approved = bool(getattr(decisions[0], "approve", None) or decisions[0].get("approve"))
        if approved:
            call = stream.add_output_item_mcp_call("broker", "place_trade")
            yield call.emit_added()
            yield call.emit_arguments_delta(json.dumps({"ticker": "NVDA", "shares": 10}))
            yield call.emit_arguments_done(json.dumps({"ticker": "NVDA", "shares": 10}))
            yield call.emit_completed()
            yield call.emit_done(output=json.dumps({"order": "filled"}))
        async for event in _answered(stream, "traded" if approved else "not traded"):
            yield event
    elif text == "trade":
        arguments = json.dumps({"ticker": "NVDA", "shares": 10})
        for event in stream.output_item_mcp_approval_request("broker", "place_trade", arguments):
            yield event
    elif outputs := [i for i in items if _type(i) == "function_call_output"]:
        output = outputs[-1].get("output") if isinstance(outputs[-1], dict) else outputs[-1].output
        async for event in _answered(stream, f"The position is worth {output}."):
            yield event
    elif text.startswith("storm"):
        for n in range(int(text.split()[1])):
            arguments = json.dumps({"ticker": "NVDA", "shares": n})
            for event in stream.output_item_function_call("position_value", f"call_{n}", arguments):
                yield event
    elif text == "bomb":
        arguments = json.dumps({"ticker": "N" * 200_000, "shares": 1})
        for event in stream.output_item_function_call("position_value", "call_bomb", arguments):
            yield event
    elif text == "portfolio":
        declared = [t.get("name") for t in request.get("tools") or []]
        name = "position_value" if "position_value" in declared else "undeclared_tool"
        arguments = json.dumps({"ticker": "NVDA", "shares": 3})
        for event in stream.output_item_function_call(name, "call_pos_1", arguments):
            yield event
    elif text == "weather":
        arguments = json.dumps({"city": "Paris"})
        for event in stream.output_item_function_call("get_weather", "call_weather_1", arguments):
            yield event
    elif text.startswith("slow"):
        count = int(text.split()[1]) if len(text.split()) > 1 else 40
        message = stream.add_output_item_message()
        yield message.emit_added()
        part = message.add_text_content()
        yield part.emit_added()
        for n in range(count):
            if cancellation_signal.is_set():
                CANCELLED.append(context.response_id)
                return
            yield part.emit_delta(f"{n} ")
            await asyncio.sleep(0.05)
        yield part.emit_text_done()
        yield part.emit_done()
        yield message.emit_done()
    elif text.startswith("turns"):
        history = await context.get_history()
        turns = 1 + sum(1 for item in history if _role(item) == "user")
        async for event in _answered(stream, f"turn {turns}"):
            yield event
    elif text == "refuse":
        message = stream.add_output_item_message()
        yield message.emit_added()
        for event in message.refusal_content("I can't help with that."):
            yield event
        yield message.emit_done()
    else:
        reasoning = stream.add_output_item_reasoning_item()
        yield reasoning.emit_added()
        summary = reasoning.add_summary_part()
        yield summary.emit_added()
        yield summary.emit_text_delta("Looking ")
        yield summary.emit_text_delta("it up")
        yield summary.emit_text_done("Looking it up")
        yield summary.emit_done()
        yield reasoning.emit_done()
        message = stream.add_output_item_message()
        yield message.emit_added()
        part = message.add_text_content()
        yield part.emit_added()
        for piece in ("NVDA ", "trades at ", "875.4"):
            yield part.emit_delta(piece)
        yield part.emit_text_done()
        yield part.emit_done()
        yield message.emit_done()
        yield stream.emit_completed(usage=usage(reasoning=8))
        return
    yield stream.emit_completed(usage=usage())


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
