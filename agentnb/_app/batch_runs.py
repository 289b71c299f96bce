"""`batch()`: one agent over many messages, a bounded number at a time, every run recorded;
or an experiment: several agents, or several variants of the options (model settings), over
the same messages, each message's runs side by side in the result.

A failing run is recorded as failed and the batch goes on; cancelling (a kernel interrupt)
cancels the runs in flight, which end ``cancelled``, and starts no more.

Nobody can click Approve in a batch: a tool call awaiting approval is decided by the batch's
``approve=`` policy, and one it leaves undecided (every one, without a policy) is denied with
the reason "no one could approve it: batch runs are unattended", so no run waits forever.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._client.async_client import AsyncAgentClient
from .._client.stream import AsyncRunStream
from .._core.approvals import ApprovalPolicy
from .._core.exceptions import ConfigurationError
from .._core.loop import in_loop_thread, submit
from .._core.request import RunRequest, build_request
from .._core.run import Run
from .._core.schema import resolve_schema
from .._display.progress import NoProgress, Progress, make_progress
from .._history import HistoryStore, RunHistory, default_store
from .._tracing import batch_span
from .connections import AnyClient, resolve_target

__all__ = ["batch", "build_requests", "experiment_requests", "run_batch", "run_requests"]

UNATTENDED_BATCH = "batch runs are unattended"
"""Why a batch denies the calls its ``approve=`` policy leaves undecided."""

CANCEL_GRACE = 10.0
"""Seconds ``batch()`` waits, after an interrupt, for the runs in flight to end cancelled."""


def build_requests(
    agent: str, messages: Sequence[str], options: Mapping[str, Any]
) -> list[RunRequest]:
    """One request per message (each on a new thread), options checked once, up front:
    the options of ``client.stream`` plus ``schema``."""
    options = dict(options)
    response_format, _ = resolve_schema(options.pop("schema", None))
    if response_format is not None:
        options["response_format"] = response_format
    first = build_request(agent, messages[0] if messages else "", **options)
    return [first.model_copy(update={"message": message}) for message in messages]


def experiment_requests(
    agents: str | Sequence[str],
    messages: Sequence[str],
    options: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]] | None,
) -> list[RunRequest]:
    """The requests of a batch: for each message, one per agent and variant (the variant's
    options over ``options``), agents outer; all checked up front."""
    names = _check_agents(agents)
    if variants is not None and (isinstance(variants, Mapping | str) or not list(variants)):
        raise ConfigurationError("variants must be a non-empty list of option dicts")
    arms = [
        build_requests(name, messages, {**options, **dict(variant)})
        for name in names
        for variant in (variants if variants is not None else [{}])
    ]
    return [arm[i] for i in range(len(messages)) for arm in arms]


def _check_agents(agents: str | Sequence[str]) -> list[str]:
    names = [agents] if isinstance(agents, str) else list(agents)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(
            f"agent must be a name or a non-empty list of names, not {agents!r}"
        )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"an agent is named twice in {names}")
    return names


def _check_messages(messages: Iterable[str]) -> list[str]:
    if isinstance(messages, str):
        raise ConfigurationError("messages must be a list of strings, not one string")
    listed = list(messages)
    bad = [i for i, message in enumerate(listed) if not isinstance(message, str)]
    if bad:
        first = listed[bad[0]]
        raise ConfigurationError(
            f"every message must be a string; item {bad[0]} is {type(first).__name__} "
            f"({len(bad)} such item(s))"
        )
    return listed


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a whole number ≥ 1, not {concurrency!r}")
    return concurrency


async def run_batch(
    client: AsyncAgentClient,
    agent: str,
    messages: Iterable[str],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
    **options: Any,
) -> RunHistory:
    """Run ``agent`` on every message, at most ``concurrency`` at once, and return the runs
    in input order. Each run is built, recorded and streamed by the client's run engine
    (:meth:`AsyncAgentClient.stream`), as every other run is; ``store`` (default: the
    client's history) is where the table is read back from (runs it lacks are shown from
    memory).
    ``approve`` decides on tool calls awaiting approval; those it leaves undecided are denied.
    """
    requests = build_requests(agent, _check_messages(messages), options)
    return await run_requests(
        client, requests, concurrency, store=store, progress=progress, approve=approve
    )


async def run_requests(
    client: AsyncAgentClient,
    requests: Sequence[RunRequest],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
) -> RunHistory:
    """Run ``requests`` as :func:`run_batch` does (at most ``concurrency`` at once), and
    return their runs in the requests' order."""
    for request in _one_per_agent_and_settings(requests):
        client.provider.check_request(request)  # an option the dialect lacks fails the batch
    limit = asyncio.Semaphore(_check_concurrency(concurrency))
    store = store if store is not None else _store_of(client)
    progress = progress or NoProgress()
    streams = [client.stream(request, approve=approve) for request in requests]
    runs = [stream.run for stream in streams]
    counts = {"done": 0, "failed": 0}

    async def one(stream: AsyncRunStream) -> None:
        async with limit:
            stream.approvals.deny_undecided(UNATTENDED_BATCH)
            try:
                await stream.run_to_end()  # a failed run is recorded failed; the batch goes on
            finally:
                counts["done"] += 1
                counts["failed"] += stream.run.status != "completed"
                progress.update(counts["done"], counts["failed"])

    agents = ", ".join(dict.fromkeys(request.agent for request in requests))
    with batch_span(agents, runs):  # tracing on: the runs' tasks copy it as their parent
        tasks = [asyncio.ensure_future(one(stream)) for stream in streams]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams:
                await stream.aclose()  # the runs not started yet end cancelled too
            raise
    return _result(runs, store)


def _one_per_agent_and_settings(requests: Sequence[RunRequest]) -> list[RunRequest]:
    """A request of each kind the batch sends (they differ only by message within a kind)."""
    kinds: dict[str, RunRequest] = {}
    for request in requests:
        kinds.setdefault(request.model_copy(update={"message": ""}).model_dump_json(), request)
    return list(kinds.values())


def _store_of(client: AsyncAgentClient) -> HistoryStore | None:
    recorder = client.recorder
    if isinstance(recorder, HistoryStore):
        return recorder
    return default_store() if client.record else None


def _result(runs: Sequence[Run], store: HistoryStore | None) -> RunHistory:
    if store is None or store.closed:
        return RunHistory.from_runs(runs)
    stored = store.runs_by_ids([run.local_id for run in runs])
    if len(stored) == len(runs):
        return stored
    # Some runs could not be written: show them from memory rather than lose them.
    by_id = {record.local_id: record for record in stored}
    fallback = RunHistory.from_runs([run for run in runs if run.local_id not in by_id])
    missing = {record.local_id: record for record in fallback}
    records = [by_id.get(run.local_id) or missing[run.local_id] for run in runs]
    tool_calls = [*stored.tool_calls(), *fallback.tool_calls()]
    return RunHistory.from_records(records, tool_calls=tool_calls)


def batch(
    agent: str | Sequence[str],
    messages: Iterable[str],
    concurrency: int = 8,
    via: str | None = None,
    *,
    client: AnyClient | None = None,
    progress: bool = True,
    approve: ApprovalPolicy = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    **options: Any,
) -> RunHistory:
    """Run ``agent`` over ``messages`` (e.g. an evaluation set), ``concurrency`` at a time,
    with a progress bar, and return their :class:`RunHistory` in input order.

    Failures are recorded and the batch goes on. Interrupting the kernel cancels the runs
    in flight (recorded ``cancelled``) and starts no more. ``via`` names a connection
    (default: the default one); ``client`` gives an ``AgentClient`` or ``AsyncAgentClient``
    instead. Options: those of ``client.stream`` (:class:`~agentnb.RunOptions`) and
    ``schema``. Each message runs on a new thread.

    ``approve`` decides on tool calls the platform runs only once approved (True, False, or a
    callable taking the :class:`~agentnb.ToolCall`, as in :func:`~agentnb.ask`). Nobody can
    click Approve in a batch, so a call it leaves undecided — every one, without it — is
    denied with the reason "no one could approve it: batch runs are unattended".

    **Experiments.** ``agent`` may be a list of agents, and ``variants`` a list of option
    dicts (``[{"temperature": 0}, {"temperature": 1}]``, each over ``options``): every
    message then runs once per agent and variant, and the result holds, for each message in
    turn, its runs in that order (agents outer). ``batch(["a", "b"], questions).summary()``
    sets the agents' cost, agent time and failures side by side;
    ``agentnb.compare(result[2 * i : 2 * i + 2])`` their answers to question ``i``.
    """
    if in_loop_thread():
        raise RuntimeError("batch() blocks; on agentnb's loop use `await run_batch(...)`")
    listed = _check_messages(messages)
    _check_concurrency(concurrency)
    requests = experiment_requests(agent, listed, options, variants)  # bad options fail first
    conn = resolve_target(via, client)
    probes = _one_per_agent_and_settings(requests)
    for request in probes or experiment_requests(agent, [""], options, variants):
        conn.check(request, approve)
    target = conn.client()
    label = agent if isinstance(agent, str) else " vs ".join(agent)
    bar = make_progress(len(requests), f"batch {label}", enabled=progress)
    ended = threading.Event()

    async def main() -> RunHistory:
        try:
            return await run_requests(target, requests, concurrency, progress=bar, approve=approve)
        finally:
            ended.set()

    future = submit(main())
    try:
        return _wait(future, ended)
    finally:
        bar.close()


def _wait(future: concurrent.futures.Future[RunHistory], ended: threading.Event) -> RunHistory:
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        ended.wait(CANCEL_GRACE)
        raise
