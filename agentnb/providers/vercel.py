"""The Vercel AI SDK UI message stream, spoken by any AI SDK chat route (``/api/chat``).

The body is what ``useChat`` posts: the chat id and the conversation as UI messages. A chat
route is stateless, so the provider keeps each chat's messages client-side and sends them
all, as the AI SDK does; the first run of a chat gets a fresh chat id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.request import RunRequest
from ..events import RunCompleted
from ._base import HttpRequest, Provider, SendJson, Translator
from ._frames import local_id
from ._options import reject_unsupported
from ._uimessage import UIMessageTranslator

__all__ = ["Vercel"]


def user_message(text: str) -> dict[str, Any]:
    return {"id": local_id("msg"), "role": "user", "parts": [{"type": "text", "text": text}]}


def assistant_message(text: str) -> dict[str, Any]:
    return {"id": local_id("msg"), "role": "assistant", "parts": [{"type": "text", "text": text}]}


class Vercel(Provider):
    """Any endpoint speaking the AI SDK UI message stream.

    Options: ``path`` (default ``/api/chat``), ``agent_field`` (the body key naming the agent,
    default ``agent``; None to leave it out). Model settings, metadata, a response format and
    the follow-up wish go into the body as ``modelSettings``, ``metadata``, ``responseFormat``
    and ``followups`` (a chat route reads what it knows); ``extra`` fields are merged in.
    """

    name: ClassVar[str] = "vercel"
    title: ClassVar[str] = "Vercel AI SDK"
    resume_mode = "last-event-id"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.path = str(options.get("path", "/api/chat"))
        agent_field = options.get("agent_field", "agent")
        self.agent_field = None if agent_field is None else str(agent_field)
        self._chats: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "agent_field")

    def check_request(self, request: RunRequest) -> None:
        features = ("response_format", "metadata", "followups")
        reject_unsupported(request, self.title, features=features)

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        if request.thread_id:
            return request
        return request.model_copy(update={"thread_id": local_id("chat")})

    def stream_request(self, request: RunRequest) -> HttpRequest:
        chat_id = request.thread_id or local_id("chat")
        messages = [*self._chats.get(chat_id, []), user_message(request.message)]
        body: dict[str, Any] = {"id": chat_id, "messages": messages}
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
        body.update(request.extra)
        return HttpRequest("POST", self.path, json=body, headers={"Accept": "text/event-stream"})

    def translator(self, request: RunRequest) -> Translator:
        return UIMessageTranslator(thread_id=request.thread_id)

    async def finalize(
        self,
        request: RunRequest,
        translator: Translator,
        completed: RunCompleted,
        send: SendJson,
    ) -> RunCompleted:
        if request.thread_id and isinstance(translator, UIMessageTranslator):
            history = self._chats.setdefault(request.thread_id, [])
            history.append(user_message(request.message))
            history.append(assistant_message(translator.text))
        return completed
