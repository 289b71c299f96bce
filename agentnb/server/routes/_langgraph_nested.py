"""Sub-agents as LangGraph subgraphs, the way ``langgraph-api`` streams them with
``stream_subgraphs: true``.

A delegated call (``ToolStart.delegate``) is a subgraph run by a node named after the
sub-agent: its frames' event names carry the namespace, one ``node:task_id`` entry per level
(``messages|analyst:<uuid>``, ``messages|analyst:<uuid>|quant:<uuid>``), and each
``messages`` frame's metadata names ``langgraph_node`` and ``langgraph_checkpoint_ns``, as
``langgraph dev`` sends them. The delegating tool call itself is not a message of its own
(the subgraph is the call); it ends with the ``updates`` frame of the level above
(``{analyst: {messages: [the sub-agent's answer]}}``). The sub-agents' own tool calls have
run-wide ids (their path joined with ``/``: ids must not collide across parallel subgraphs).
Without ``stream_subgraphs`` a sub-agent's frames are left out, as ``langgraph-api`` does.
A sub-agent's last message chunk carries what it spent, as a chat model's last chunk does:
``usage_metadata`` ``{input_tokens, output_tokens, total_tokens}`` and
``response_metadata.model_name``, in the subgraph's namespace.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .._sse_responses import Frame, dumps
from .._steps import (
    Nested,
    Reasoning,
    SubAgent,
    SubAgentDone,
    Text,
    TokenUsage,
    ToolEnd,
    ToolStart,
    run_wide_id,
)

__all__ = ["Subgraphs"]


class Subgraphs:
    """One run's subgraph frames."""

    def __init__(self, run_id: str, streamed: bool) -> None:
        self.run_id = run_id
        self.streamed = streamed
        self.nodes: dict[tuple[str, ...], str] = {}
        """The node (sub-agent) each delegating call runs, by the call's path."""
        self.reported = TokenUsage()
        """What the sub-agents' own chunks said they spent, all together."""

    def own_usage(self, run: TokenUsage) -> TokenUsage:
        """The top agent's part of the run's usage: the rest was reported by the subgraphs."""
        return TokenUsage(
            run.prompt_tokens - self.reported.prompt_tokens,
            run.completion_tokens - self.reported.completion_tokens,
        )

    def _entry(self, call_path: tuple[str, ...]) -> str:
        task = uuid.uuid5(uuid.NAMESPACE_URL, f"agentnb:{self.run_id}/{run_wide_id(call_path)}")
        return f"{self.nodes.get(call_path, 'subgraph')}:{task}"

    def namespace(self, path: tuple[str, ...]) -> str:
        """``node:task|node:task…`` of the subgraph a delegating call path runs."""
        return "|".join(self._entry(path[: depth + 1]) for depth in range(len(path)))

    def delegated(self, call_path: tuple[str, ...], step: ToolStart) -> bool:
        """Note a call that runs a sub-agent (True: it has no frame of its own)."""
        if step.delegate is None:
            return False
        self.nodes[call_path] = step.delegate
        return True

    def ended(self, call_path: tuple[str, ...], step: ToolEnd) -> list[Frame]:
        """A delegating call ends: the ``updates`` frame of the level above names its node."""
        node = self.nodes.get(call_path)
        if node is None or (not self.streamed and len(call_path) > 1):
            return []
        output = step.output
        answer = step.error or (output if isinstance(output, str) else json.dumps(output))
        update = {node: {"messages": [{"type": "ai", "content": answer}]}}
        above = self.namespace(call_path[:-1])
        return [Frame(dumps(update), event=f"updates|{above}" if above else "updates")]

    def _spent(self, where: SubAgent, done: SubAgentDone) -> list[Frame]:
        """The sub-agent's last chunk: its usage and model, as a chat model's last chunk."""
        if not self.streamed:
            return []
        usage = done.usage
        self.reported = TokenUsage(
            self.reported.prompt_tokens + usage.prompt_tokens,
            self.reported.completion_tokens + usage.completion_tokens,
        )
        chunk: dict[str, Any] = {
            "type": "AIMessageChunk",
            "content": "",
            "usage_metadata": {
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
            "chunk_position": "last",
        }
        if done.model is not None:
            chunk["response_metadata"] = {"model_name": done.model}
        return [
            Frame(dumps([chunk, self._metadata(where)]), f"messages|{self.namespace(where.path)}")
        ]

    def _metadata(self, where: SubAgent) -> dict[str, Any]:
        namespace = self.namespace(where.path)
        return {
            "run_id": self.run_id,
            "langgraph_node": where.name,
            "langgraph_checkpoint_ns": namespace,
            "checkpoint_ns": namespace,
        }

    def render(self, nested: Nested) -> list[Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, SubAgentDone):
            return self._spent(where, step)
        call_path = where.call_path(step.call_id) if isinstance(step, ToolStart | ToolEnd) else ()
        if isinstance(step, ToolStart) and self.delegated(call_path, step):
            return []
        if isinstance(step, ToolEnd) and call_path in self.nodes:
            return self.ended(call_path, step)
        if not self.streamed:
            return []
        message = [self._message(step, call_path), self._metadata(where)]
        return [Frame(dumps(message), f"messages|{self.namespace(where.path)}")]

    def _message(
        self, step: Text | Reasoning | ToolStart | ToolEnd, call_path: tuple[str, ...]
    ) -> dict[str, Any]:
        if isinstance(step, ToolEnd):
            failed = step.error is not None
            return {
                "type": "tool",
                "content": step.error if failed else json.dumps(step.output),
                "tool_call_id": run_wide_id(call_path),
                "name": step.name,
                "status": "error" if failed else "success",
            }
        chunk: dict[str, Any] = {"type": "AIMessageChunk", "content": ""}
        if isinstance(step, Text):
            chunk["content"] = step.text
        elif isinstance(step, Reasoning):
            chunk["additional_kwargs"] = {"reasoning_content": step.text}
        else:
            call = {"name": step.name, "args": json.dumps(step.arguments)}
            call_id = run_wide_id(call_path)
            chunk["tool_call_chunks"] = [
                {**call, "id": call_id, "index": 0, "type": "tool_call_chunk"}
            ]
        return chunk
