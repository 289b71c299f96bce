"""The Vercel AI SDK UI message stream, spoken by any AI SDK chat route (``/api/chat``).
A chat route is stateless: the client keeps each chat's UI messages and posts them all, as
``useChat`` does, and sends approvals and tool results the way the SDK's
``sendAutomaticallyWhen`` does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError
from .._core.request import RunRequest
from ._base import HttpRequest, Translator
from ._client_threads import ClientThreadProvider, ClientThreads
from ._frames import local_id
from ._options import carried
from ._uimessage import UIMessageTranslator

__all__ = ["UIMessageTranslator", "Vercel"]


def user_message(text: str) -> dict[str, Any]:
    return {"id": local_id("msg"), "role": "user", "parts": [{"type": "text", "text": text}]}


class Vercel(ClientThreadProvider):
    """Any endpoint speaking the AI SDK UI message stream.

    Options: ``path`` (default ``/api/chat``), ``agent_field`` (the body key naming the agent,
    default ``agent``; None to leave it out). Model settings, metadata, a response format and
    the follow-up wish go into the body as ``modelSettings``, ``metadata``, ``responseFormat``
    and ``followups`` (a chat route reads what it knows); ``extra`` fields are merged in.
    """

    name: ClassVar[str] = "vercel"
    title: ClassVar[str] = "Vercel AI SDK"
    carries: ClassVar[frozenset[str] | None] = carried(
        "response_format", "metadata", "followups", "tools"
    )
    supports_approvals = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.path = str(options.get("path", "/api/chat"))
        agent_field = options.get("agent_field", "agent")
        self.agent_field = None if agent_field is None else str(agent_field)
        self.threads = ClientThreads("chat", lambda request: user_message(request.message))

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "agent_field")

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        return self._chat_request(request, [], {})

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, UIMessageTranslator):
            raise ConfigurationError("the Vercel dialect continues only its own UI message runs")
        translator.record_decisions(decisions)
        return self._continued(request, translator)

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest:
        """The client tools' outputs in the assistant message's tool parts, as the SDK's
        ``addToolResult`` puts them (``output-available``, or ``output-error``), sent as
        ``sendAutomaticallyWhen`` does once every call has its output."""
        if not isinstance(translator, UIMessageTranslator):
            raise ConfigurationError("the Vercel dialect continues only its own UI message runs")
        for result in results:
            if result.failed:
                translator.builder.output_error(result.call_id, result.text)
            else:
                translator.builder.output(result.call_id, {"output": result.text})
        translator.done = False
        return self._continued(request, translator)

    def _continued(self, request: RunRequest, translator: UIMessageTranslator) -> HttpRequest:
        assistant = translator.message()
        trigger = {"trigger": "submit-message", "messageId": assistant["id"]}
        return self._chat_request(request, [assistant], trigger)

    def _chat_request(
        self, request: RunRequest, answered: list[dict[str, Any]], trigger: dict[str, Any]
    ) -> HttpRequest:
        chat_id, messages = self.threads.conversation(request)
        body: dict[str, Any] = {"id": chat_id, "messages": [*messages, *answered], **trigger}
        if self.agent_field:
            body[self.agent_field] = request.agent
        if request.model_settings.as_dict():
            body["modelSettings"] = request.model_settings.as_dict()
        if request.metadata:
            body["metadata"] = dict(request.metadata)
        if request.response_format is not None:
            body["responseFormat"] = request.response_format
        if request.followups:
            body["followups"] = True
        if request.tools:
            body["tools"] = [t.declaration() for t in request.tools]
        body = request.with_extra(body)
        return HttpRequest("POST", self.path, json=body, headers={"Accept": "text/event-stream"})

    def translator(self, request: RunRequest) -> Translator:
        return UIMessageTranslator(thread_id=request.thread_id)

    def answer(self, translator: Translator) -> tuple[list[dict[str, Any]], Any] | None:
        if not isinstance(translator, UIMessageTranslator):
            return None
        return [translator.message()], None
