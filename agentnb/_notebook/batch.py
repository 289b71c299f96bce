"""`batch()`: one agent over many messages, a bounded number at a time, every run recorded.

A failing run is recorded as failed and the batch goes on; cancelling (a kernel interrupt)
cancels the runs in flight, which end ``cancelled``, and starts no more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pydantic

from .._core.exceptions import AgentNBError, ConfigurationError
from .._core.request import Media, ModelSettings, RunRequest
from .._core.run import Run, RunErrorInfo
from .._history._table import RunHistory
from .progress import NoProgress, Progress, make_progress

if TYPE_CHECKING:
    from .._client.client import AsyncAgentClient
    from .._history._store import HistoryStore

__all__ = ["batch", "build_requests", "run_batch"]

CANCEL_GRACE = 10.0
"""Seconds ``batch()`` waits, after an interrupt, for the runs in flight to end cancelled."""
_SETTINGS = ("temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty")
_REQUEST_OPTIONS = ("metadata", "followups", "media", "team_id", "user_id", "org_id", "extra")


def build_requests(
    agent: str, messages: Sequence[str], options: Mapping[str, Any]
) -> list[RunRequest]:
    """One request per message (each on a new thread), options checked once, up front."""
    options = dict(options)
    response_format = None
    if options.get("schema") is not None:
        from .._core.schema import resolve_schema

        response_format, _ = resolve_schema(options.pop("schema"))
    options.pop("schema", None)
    settings = {name: options.pop(name) for name in _SETTINGS if name in options}
    fields = {name: options.pop(name) for name in _REQUEST_OPTIONS if name in options}
    if "media" in fields:
        fields["media"] = tuple(
            m if isinstance(m, Media) else Media(**m) for m in fields["media"] or ()
        )
    if options:
        known = sorted((*_SETTINGS, *_REQUEST_OPTIONS, "schema"))
        raise ConfigurationError(
            f"batch() does not take option(s) {sorted(options)}; it takes {', '.join(known)}"
        )
    try:
        model_settings = ModelSettings(**settings)
        return [
            RunRequest(
                agent=agent,
                message=message,
                model_settings=model_settings,
                response_format=response_format,
                **fields,
            )
            for message in messages
        ]
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid batch options: {problems}") from None


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
    **options: Any,
) -> RunHistory:
    """Run ``agent`` on every message, at most ``concurrency`` at once, and return the runs
    in input order. ``store`` (default: the client's recorder, else the default store) gets
    any run the client did not record itself (one that failed before its request was sent).
    """
    listed = _check_messages(messages)
    requests = build_requests(agent, listed, options)
    limit = asyncio.Semaphore(_check_concurrency(concurrency))
    store = store if store is not None else _store_of(client)
    progress = progress or NoProgress()
    runs = [_new_run(client, request) for request in requests]
    counts = {"done": 0, "failed": 0}

    async def one(run: Run, request: RunRequest) -> None:
        async with limit:
            try:
                await _stream(client, request, run)
            finally:
                counts["done"] += 1
                counts["failed"] += run.status != "completed"
                progress.update(counts["done"], counts["failed"])
                if store is not None and run.done:
                    _ensure_recorded(store, run, request, client)

    tasks = [
        asyncio.ensure_future(one(run, request))
        for run, request in zip(runs, requests, strict=True)
    ]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for run in runs:
            run.finish("cancelled")
        raise
    return _result(runs, store)


async def _stream(client: AsyncAgentClient, request: RunRequest, run: Run) -> None:
    try:
        async with client.stream_request(request, run=run) as stream:
            async for _ in stream:
                pass
    except asyncio.CancelledError:
        run.finish("cancelled")
        raise
    except AgentNBError as exc:
        run.finish("failed", RunErrorInfo(str(exc), code=_error_code(exc)))
    except Exception as exc:  # one run's unexpected error must not stop the batch
        run.finish("failed", RunErrorInfo(f"{type(exc).__name__}: {exc}", code="internal"))
    if not run.done:
        run.finish("interrupted")


def _error_code(exc: AgentNBError) -> str:
    code = getattr(exc, "code", None)
    return str(code) if code else type(exc).__name__


def _new_run(client: AsyncAgentClient, request: RunRequest) -> Run:
    return Run(
        agent=request.agent,
        message=request.message,
        provider=client.provider.name,
        connection=getattr(client, "connection", "") or "",
    )


def _store_of(client: AsyncAgentClient) -> HistoryStore | None:
    from .._history._store import HistoryStore

    recorder = getattr(client, "recorder", None)
    if isinstance(recorder, HistoryStore):
        return recorder
    from .._history import default_store

    return default_store()


def _ensure_recorded(
    store: HistoryStore, run: Run, request: RunRequest, client: AsyncAgentClient
) -> None:
    try:
        stored = store.get(run.local_id)
        if stored is None or stored.status == "running":
            store.record(run, request, base_url=str(getattr(client, "base_url", "") or ""))
    except Exception as exc:  # recording must not stop the batch; say so
        import logging

        logging.getLogger("agentnb.history").error(
            "agentnb history: could not record a batch run: %s", exc
        )


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
    agent: str,
    messages: Iterable[str],
    concurrency: int = 8,
    via: str | None = None,
    *,
    client: AsyncAgentClient | None = None,
    progress: bool = True,
    **options: Any,
) -> RunHistory:
    """Run ``agent`` over ``messages`` (e.g. an evaluation set), ``concurrency`` at a time,
    with a progress bar, and return their :class:`RunHistory` in input order.

    Failures are recorded and the batch goes on. Interrupting the kernel cancels the runs
    in flight (recorded ``cancelled``) and starts no more. ``via`` names a connection
    (default: the default one); ``client`` gives an ``AsyncAgentClient`` instead. Options:
    ``temperature``, ``top_p``, ``max_tokens``, ``frequency_penalty``, ``presence_penalty``,
    ``schema``, ``metadata``, ``followups``, ``media``, ``team_id``, ``user_id``, ``org_id``,
    ``extra``. Each message runs on a new thread.
    """
    from .._core.loop import in_loop_thread, submit

    if in_loop_thread():
        raise RuntimeError("batch() blocks; on agentnb's loop use `await run_batch(...)`")
    listed = _check_messages(messages)
    _check_concurrency(concurrency)
    build_requests(agent, listed[:1] or [""], options)  # bad options fail before anything runs
    if client is None:
        from .connections import get_connection

        client = get_connection(via).client()
    bar = make_progress(len(listed), f"batch {agent}", enabled=progress)
    ended = threading.Event()

    async def main() -> RunHistory:
        try:
            return await run_batch(client, agent, listed, concurrency, progress=bar, **options)
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
