"""Platform run listings (a thread's runs: SeekrFlow, LangGraph, A2A's ListTasks; runs by id:
Operativus' batch status, the Responses API's retrieve, A2A's GetTask) as `RunHistory`, which
``agentnb.runs().with_remote(...)`` joins with the local history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..._client.async_client import AsyncAgentClient
from ..._client.sync import AgentClient
from ..._core.exceptions import ConfigurationError
from ..._core.loop import run_sync
from ..._history._records import host_of
from ..front.connections import get_connection
from .history_tables import RunHistory

__all__ = ["fetch_remote_runs", "remote_runs"]


async def fetch_remote_runs(
    client: AsyncAgentClient,
    *,
    thread_id: str | None = None,
    agent: str | None = None,
    run_ids: Sequence[str] | None = None,
    limit: int | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> RunHistory:
    """The platform's runs of a thread (``thread_id``; ``agent`` where the dialect needs it)
    or by id (``agent`` + ``run_ids``)."""
    if order not in ("asc", "desc"):
        raise ConfigurationError(f"order must be 'asc' or 'desc', not {order!r}")
    if thread_id is not None and run_ids is not None:
        raise ConfigurationError("give either thread_id (list a thread) or run_ids, not both")
    if thread_id is not None:
        listed = await client.list_runs(thread_id, limit=limit, order=order, agent=agent)
    elif run_ids is not None:
        if not agent:
            raise ConfigurationError("run_ids needs the agent they belong to: agent=...")
        listed = await client.run_status(agent, list(run_ids))
        listed = listed[:limit] if limit is not None else listed
    else:
        raise ConfigurationError(
            "say which runs: thread_id=... (a thread's runs) or agent=... with run_ids=[...]"
        )
    return RunHistory.from_remote(
        listed,
        provider=client.provider.name,
        connection=getattr(client, "connection", None) or None,
        host=host_of(str(client.base_url)) if getattr(client, "base_url", None) else None,
    )


def remote_runs(
    client: AsyncAgentClient | AgentClient | str | None = None,
    *,
    thread_id: str | None = None,
    agent: str | None = None,
    run_ids: Sequence[str] | None = None,
    limit: int | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> RunHistory:
    """A platform's own listing of runs, as a :class:`RunHistory` like the local one, with
    the platform's usage and model where its listing has them and each run priced from them
    (or the platform's own cost).

    ``client`` is an ``AgentClient`` or ``AsyncAgentClient``, a connection name, or None for
    the default connection. SeekrFlow, LangGraph and A2A 1.0 (``ListTasks``: a context's
    tasks; ``agent=`` on a server with one endpoint per agent) list a thread's runs
    (``thread_id``, every page; SeekrFlow also ``order`` asc or desc); Operativus (100 ids a
    request), the Responses API and A2A report runs by id (``agent`` and ``run_ids``).

    ``agentnb.runs().with_remote(remote_runs(...))`` joins the listing with the local
    history: runs made from another notebook or the platform's UI beside the local ones.
    """
    if isinstance(client, AgentClient):
        client = client.aio
    if client is None or isinstance(client, str):
        client = get_connection(client).client()
    return run_sync(
        fetch_remote_runs(
            client, thread_id=thread_id, agent=agent, run_ids=run_ids, limit=limit, order=order
        )
    )
