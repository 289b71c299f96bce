"""Conversations the server remembers: SeekrFlow threads and the other dialects' sessions."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .agents import ChatMessage

__all__ = ["Conversation", "ConversationStore", "StoredMessage"]

MAX_CONVERSATIONS = 1000
MAX_MESSAGES = 500
_ID_PREFIXES = {"seekrflow": "thread", "runtools": "thr"}


@dataclass
class StoredMessage:
    id: str
    role: str
    content: str
    created_at: float
    run_id: str | None = None
    agent_id: str | None = None
    meta_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    """One thread or session: its messages, oldest first."""

    id: str
    created_at: float
    meta_data: dict[str, Any] = field(default_factory=dict)
    messages: list[StoredMessage] = field(default_factory=list)
    latest_run_id: str | None = None

    def add(
        self, role: str, content: str, *, run_id: str | None = None, agent_id: str | None = None
    ) -> StoredMessage:
        message = StoredMessage(
            id=f"msg_{secrets.token_hex(8)}",
            role=role,
            content=content,
            created_at=time.time(),
            run_id=run_id,
            agent_id=agent_id,
        )
        self.messages.append(message)
        del self.messages[:-MAX_MESSAGES]
        return message

    def history(self) -> tuple[ChatMessage, ...]:
        return tuple(ChatMessage(m.role, m.content) for m in self.messages)

    def last_user_message(self) -> StoredMessage | None:
        return next((m for m in reversed(self.messages) if m.role == "user"), None)


class ConversationStore:
    """Conversations by (kind, id); the least recently used go first past the bound."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self.max_conversations = max_conversations
        self._items: OrderedDict[tuple[str, str], Conversation] = OrderedDict()

    def create(
        self, kind: str, conversation_id: str | None = None, meta_data: dict[str, Any] | None = None
    ) -> Conversation:
        prefix = _ID_PREFIXES.get(kind, "sess")
        conversation = Conversation(
            id=conversation_id or f"{prefix}_{secrets.token_hex(12)}",
            created_at=time.time(),
            meta_data=dict(meta_data or {}),
        )
        self._items[(kind, conversation.id)] = conversation
        while len(self._items) > self.max_conversations:
            self._items.popitem(last=False)
        return conversation

    def get(self, kind: str, conversation_id: str) -> Conversation | None:
        conversation = self._items.get((kind, conversation_id))
        if conversation is not None:
            self._items.move_to_end((kind, conversation_id))
        return conversation

    def get_or_create(self, kind: str, conversation_id: str | None) -> Conversation:
        if conversation_id:
            found = self.get(kind, conversation_id)
            if found is not None:
                return found
        return self.create(kind, conversation_id)
