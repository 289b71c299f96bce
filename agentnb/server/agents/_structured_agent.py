"""The ``structured`` demo agent: JSON valid for the request's JSON schema, each field filled
to fit its name (:mod:`._schema_instances`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .._steps import Finish, Step, Text
from ._agent_input import AgentInput, DemoAgent, InputProblem
from ._schema_instances import SchemaError, instance_for

__all__ = ["StructuredAgent"]


class StructuredAgent(DemoAgent):
    name = "structured"
    model = "gpt-4o"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = (
        "Answers with JSON valid for the request's JSON schema, each field filled to fit "
        "its name (a ticker and its DEMO price, a summary, ...)."
    )

    def check(self, request: AgentInput) -> None:
        self._instance(request)

    def steps(self, request: AgentInput) -> Iterator[Step]:
        instance = self._instance(request)
        yield Text(json.dumps(instance, ensure_ascii=False))
        followups = ("Fill it with other values.",) if request.followups else ()
        yield Finish(final_output=instance, followups=followups)

    def _instance(self, request: AgentInput) -> Any:
        if request.response_format is None:
            return {
                "agent": self.name,
                "message": request.message,
                "words": len(request.message.split()),
            }
        try:
            return instance_for(request.response_format, request.message)
        except SchemaError as exc:
            raise InputProblem("response_format", f"unusable JSON schema: {exc}") from None
