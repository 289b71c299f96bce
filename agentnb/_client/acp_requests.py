"""The requests an ACP agent made of the client that wait for an answer (a decision, a file
read, a terminal's output): one table for the connection to the agent
(:mod:`agentnb._client.acp_transport`), so the call a person approves is the call that runs.

- A request is known by its JSON-RPC id as JSON gives it, type included
  (:func:`id_key`): ``5``, ``5.0`` and ``"5"`` are three ids. An id JSON-RPC does not
  allow (``true``, a list, an object) never reaches the table: the reader answers it as an
  Invalid Request (:mod:`agentnb._client.acp_wire`).
- An id reused while a request under it still waits is a protocol error (the reader finds
  it: :meth:`PendingRequests.under`): the request that waited is withdrawn, and what
  decides next finds nothing under it.
- Each request gets a ticket, the client's own name for it (the id of its card and of its
  approval): a per-connection random prefix no agent can know, so an agent's own
  ``toolCallId`` never names one. A decision reaches the request by its ticket in this
  table, and only when it names the request's method and the digest of the params its card
  was made from (:attr:`Pending.digest`); the params are a copy taken on arrival.
- Each request is answered once (:meth:`PendingRequests.close`): its answer is set on its
  :attr:`Pending.answer`, which the SDK's task for the request awaits and sends; a request
  withdrawn is never answered (:attr:`Pending.withdrawn`).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

__all__ = ["Pending", "PendingRequests", "id_key"]


def id_key(rpc_id: object) -> str | None:
    """A JSON-RPC id as JSON gives it, type included (``5``, ``5.0``, ``"5"`` and ``null``
    are four keys, never one another's, as they would be as Python's dict keys); None: not
    an id JSON-RPC allows (a boolean, a list, an object)."""
    if rpc_id is None or isinstance(rpc_id, str):
        return json.dumps(rpc_id)
    if isinstance(rpc_id, int | float) and not isinstance(rpc_id, bool):
        return json.dumps(rpc_id)  # 5 → "5", 5.0 → "5.0"
    return None


class Pending:
    """One request of the agent's, from its arrival until it is answered."""

    def __init__(self, ticket: str, rpc_id: Any, method: str, params: Mapping[str, Any]) -> None:
        self.ticket = ticket
        """The client's own name for the request (its card's call id and approval id)."""
        self.rpc_id = rpc_id
        """The agent's id, as it sent it (its answer carries it back)."""
        self.method = method
        self.params: dict[str, Any] = copy.deepcopy(dict(params))
        """The params as they arrived: what the card shows and what runs."""
        self.session_id = str(self.params.get("sessionId"))
        self.digest = _digest(method, self.params)
        """What a decision on it must name: its method and params, hashed."""
        self.asked = False
        """Whether it waits for a person's decision (its card is shown)."""
        self.answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        """Its result (or the error refusing it), once decided: what the agent is sent."""
        self.withdrawn = False
        """Whether it was withdrawn (its id reused while it waited): never answered."""


class PendingRequests:
    """The table (see the module) of one connection to an agent."""

    def __init__(self) -> None:
        self._prefix = f"acp-{secrets.token_hex(8)}-"
        self._count = 0
        self._by_key: dict[str | None, Pending] = {}
        self._by_ticket: dict[str, Pending] = {}

    def open(self, rpc_id: Any, method: str, params: Mapping[str, Any]) -> Pending:
        """Keep a request that arrived under an id JSON-RPC allows and no request waits
        under (the reader checks both first: an id reused is a protocol error, see
        :meth:`under`)."""
        self._count += 1
        pending = Pending(f"{self._prefix}{self._count}", rpc_id, method, params)
        self._by_key[id_key(rpc_id)] = self._by_ticket[pending.ticket] = pending
        return pending

    def under(self, rpc_id: Any) -> Pending | None:
        """The request waiting under ``rpc_id`` (as JSON gives it)."""
        return self._by_key.get(id_key(rpc_id))

    def get(self, ticket: object) -> Pending | None:
        """The request a decision names by its ticket, while it waits."""
        return self._by_ticket.get(ticket) if isinstance(ticket, str) else None

    def waits(self, pending: Pending) -> bool:
        """Whether ``pending`` still waits for its answer (not answered, not withdrawn)."""
        return self._by_ticket.get(pending.ticket) is pending

    def close(self, pending: Pending) -> bool:
        """``pending`` is being answered (or withdrawn): False when it was already, so each
        request is answered once."""
        if not self.waits(pending):
            return False
        del self._by_ticket[pending.ticket]
        del self._by_key[id_key(pending.rpc_id)]
        return True

    def reply(self, pending: Pending, result: dict[str, Any]) -> None:
        """Answer ``pending`` with ``result`` (once)."""
        if self.close(pending):
            pending.answer.set_result(result)

    def refuse(self, pending: Pending, error: Exception) -> None:
        """Answer ``pending`` with ``error`` (once)."""
        if self.close(pending):
            pending.answer.set_exception(error)

    def withdraw(self, pending: Pending) -> None:
        """``pending`` is never answered (its id was reused while it waited)."""
        if self.close(pending):
            pending.withdrawn = True
            pending.answer.cancel()

    def asked_in(self, session_id: str) -> list[Pending]:
        """The requests of a session that wait for a person's decision."""
        return [p for p in self._by_ticket.values() if p.asked and p.session_id == session_id]

    def clear(self) -> None:
        """The agent went: nothing of it waits any more."""
        for pending in list(self._by_ticket.values()):
            self.withdraw(pending)


def _digest(method: str, params: Mapping[str, Any]) -> str:
    text = json.dumps([method, params], sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
