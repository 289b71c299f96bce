"""A scripted model for Google ADK agents (ADK's own ``BaseLlm``): no network, no key.

It reads the conversation ADK sends it and answers by a script: a question with "add" calls
the agent's ``add`` tool with ``a=2, b=2``; a function response is answered "The answer is
N." (a failed one "The tool failed: ERROR.") streamed in pieces (partial chunks, then the whole turn, as ADK's models stream);
"count" streams numbers slowly until the client goes (then writes
``stopped.log`` beside this file); "again?" says how many questions the
session holds; "break" answers with an error code. Every model turn reports usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path

from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types


def _usage(
    prompt: int, answer: int, thoughts: int = 0
) -> types.GenerateContentResponseUsageMetadata:
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt,
        candidates_token_count=answer,
        thoughts_token_count=thoughts or None,
        total_token_count=prompt + answer + thoughts,
    )


def _texts(request: LlmRequest) -> list[str]:
    return [
        part.text
        for content in request.contents
        if content.role == "user"
        for part in content.parts or []
        if part.text and not part.thought
    ]


def _last_result(request: LlmRequest) -> object | None:
    last = request.contents[-1] if request.contents else None
    for part in (last.parts or []) if last else []:
        if part.function_response is not None:
            response = part.function_response.response or {}
            return response.get("result", response)
    return None


class ScriptedLlm(BaseLlm):
    model: str = "scripted-model"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        result = _last_result(llm_request)
        question = (_texts(llm_request) or [""])[-1]
        if isinstance(result, dict) and set(result) == {"error"}:
            async for response in self._say(["The tool failed: ", f"{result['error']}."], stream):
                yield response
        elif result is not None:
            async for response in self._say(["The answer ", "is ", f"{result}."], stream):
                yield response
        elif "break" in question:
            yield LlmResponse(error_code="RESOURCE_EXHAUSTED", error_message="the quota is spent")
        elif "count" in question:
            async for response in self._count():
                yield response
        elif "again?" in question:
            said = f"This session holds {len(_texts(llm_request))} questions."
            async for response in self._say([said], stream):
                yield response
        elif "add" in question:
            call = types.FunctionCall(name="add", args={"a": 2, "b": 2})
            content = types.Content(role="model", parts=[types.Part(function_call=call)])
            yield LlmResponse(content=content, usage_metadata=_usage(12, 5))
        else:
            async for response in self._say([f"You said: {question}"], stream):
                yield response

    async def _say(self, pieces: list[str], stream: bool) -> AsyncGenerator[LlmResponse, None]:
        thought = types.Part(text="Thinking it over.", thought=True)
        if stream:
            yield LlmResponse(content=types.Content(role="model", parts=[thought]), partial=True)
            for piece in pieces:
                part = types.Part(text=piece)
                yield LlmResponse(content=types.Content(role="model", parts=[part]), partial=True)
        whole = [thought, types.Part(text="".join(pieces))]
        yield LlmResponse(
            content=types.Content(role="model", parts=whole),
            usage_metadata=_usage(20, 7, thoughts=3),
            model_version="scripted-model-1",
            turn_complete=True,
        )

    async def _count(self) -> AsyncGenerator[LlmResponse, None]:
        number = 0
        try:
            for number in range(1, 600):
                part = types.Part(text=f"{number} ")
                yield LlmResponse(content=types.Content(role="model", parts=[part]), partial=True)
                await asyncio.sleep(0.1)
        finally:
            (Path(__file__).parent / "stopped.log").write_text(f"stopped at {number}\n")
