"""Graphs the LangGraph Agent Server (``langgraph-api`` in memory) serves to agentnb's tests,
each on a scripted model (``GenericFakeChatModel``), so nothing calls out.

- ``quotes``: the model asks for ``get_price`` (a ``ToolNode`` runs it), then answers; a
  second turn on the same thread answers with how many questions the thread holds;
- ``trade``: ``interrupt()`` asks a free-form question, the answer is in the reply;
- ``research``: a node that runs a subgraph (``researcher``) whose model streams text and
  calls a tool, then the parent answers; a custom event is written on the way;
- ``slow``: streams a chunk every 0.2 s for a while (cancel and join are tried on it).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt


@tool
def get_price(ticker: str) -> float:
    """The last price of a ticker."""
    return {"NVDA": 875.4}.get(ticker, 1.0)


def _questions(messages: list[BaseMessage]) -> int:
    return sum(isinstance(m, HumanMessage) for m in messages)


def _call_price(call_id: str) -> AIMessage:
    call = {"name": "get_price", "args": {"ticker": "NVDA"}, "id": call_id, "type": "tool_call"}
    return AIMessage(content="", tool_calls=[call])


class ScriptedChatModel(GenericFakeChatModel):
    """``GenericFakeChatModel`` that also streams its scripted message's reasoning
    (``additional_kwargs.reasoning_content``), tool calls (as ``tool_call_chunks``, the
    arguments in two pieces) and usage (``usage_metadata`` on the last chunk); the base class
    streams text only."""

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        reply = next(self.messages)
        assert isinstance(reply, AIMessage)
        for piece in _pieces(reply):
            if run_manager:
                run_manager.on_llm_new_token(
                    str(piece.content), chunk=ChatGenerationChunk(message=piece)
                )
            yield ChatGenerationChunk(message=piece)


def _pieces(reply: AIMessage) -> Iterator[AIMessageChunk]:
    reasoning = reply.additional_kwargs.get("reasoning_content")
    if reasoning:
        yield AIMessageChunk(content="", additional_kwargs={"reasoning_content": reasoning})
    for token in re.split(r"(\s)", str(reply.content)) if reply.content else []:
        yield AIMessageChunk(content=token)
    for index, call in enumerate(reply.tool_calls):
        args = json.dumps(call["args"])
        half = len(args) // 2
        first = {"name": call["name"], "args": args[:half], "id": call["id"], "index": index}
        yield AIMessageChunk(content="", tool_call_chunks=[first])
        yield AIMessageChunk(content="", tool_call_chunks=[{"args": args[half:], "index": index}])
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    yield AIMessageChunk(content="", usage_metadata=usage, chunk_position="last")  # type: ignore[arg-type]


def _model(reply: AIMessage) -> GenericFakeChatModel:
    return ScriptedChatModel(messages=iter([reply]))


async def _quotes_model(state: MessagesState) -> dict[str, Any]:
    messages = state["messages"]
    asked = _questions(messages)
    if asked > 1:
        reply = AIMessage(content=f"You asked {asked} times.")
    elif isinstance(messages[-1], HumanMessage):
        reply = _call_price("call_q1")
    else:
        reply = AIMessage(
            content="NVDA trades at $875.4.",
            additional_kwargs={"reasoning_content": "The price is in."},
        )
    return {"messages": [await _model(reply).ainvoke(messages)]}


def _route(state: MessagesState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def _with_tools(name: str, model: Any) -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("model", model)
    graph.add_node("tools", ToolNode([get_price]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", _route, ["tools", END])
    graph.add_edge("tools", "model")
    return graph.compile(name=name)


quotes = _with_tools("quotes", _quotes_model)


async def _researcher_model(state: MessagesState) -> dict[str, Any]:
    if isinstance(state["messages"][-1], HumanMessage):
        get_stream_writer()({"progress": "researching"})
        reply = _call_price("call_r1")
    else:
        reply = AIMessage(content="Research: NVDA at 875.4.")
    return {"messages": [await _model(reply).ainvoke(state["messages"])]}


_researcher = _with_tools("researcher", _researcher_model)


async def _summarise(state: MessagesState) -> dict[str, Any]:
    reply = AIMessage(content="Summary: buy.")
    return {"messages": [await _model(reply).ainvoke(state["messages"])]}


def _research() -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("researcher", _researcher)
    graph.add_node("summarise", _summarise)
    graph.add_edge(START, "researcher")
    graph.add_edge("researcher", "summarise")
    graph.add_edge("summarise", END)
    return graph.compile(name="research")


research = _research()


async def _ask(state: MessagesState) -> dict[str, Any]:
    answer = interrupt("How many shares?")
    reply = AIMessage(content=f"Bought {answer} NVDA.")
    return {"messages": [await _model(reply).ainvoke(state["messages"])]}


def _trade() -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("ask", _ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(name="trade")


trade = _trade()


async def _slow_model(state: MessagesState) -> dict[str, Any]:
    writer = get_stream_writer()
    for tick in range(150):
        writer({"tick": tick})
        await asyncio.sleep(0.2)
    return {"messages": [AIMessage(content="done")]}


def _slow() -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("work", _slow_model)
    graph.add_edge(START, "work")
    graph.add_edge("work", END)
    return graph.compile(name="slow")


slow = _slow()
