"""`batch()`: one agent over many messages, or several agents and variants of the options
(model settings) over the same messages, each message's runs side by side in the result;
the requests are built and checked here and run by :mod:`agentnb._app.many.run_many`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Unpack

from ..._client.async_client import AsyncAgentClient
from ..._core.approvals import ApprovalPolicy, or_denied
from ..._core.exceptions import ConfigurationError
from ..._core.loop import in_loop_thread, result_of, submit, wait_for
from ..._core.request import RunOptions, RunRequest, build_request
from ..._core.schema import resolve_schema
from ..._display.progress import Progress, make_progress
from ..._history import HistoryStore
from ..context.attachments import notebook_context
from ..context.context_summary import context_settings
from ..front.connections import (
    AnyClient,
    Connection,
    Via,
    carrying_tools,
    connection_of,
    resolve_target,
    via_for,
)
from ..past.history_tables import RunHistory
from .examples import DatasetRows, examples_of, in_split
from .run_many import (
    CANCEL_GRACE,
    UNATTENDED_BATCH,
    AfterRun,
    Link,
    Place,
    check_concurrency,
    one_per_agent_and_settings,
    run_requests,
)

__all__ = [
    "RequestPlace",
    "batch",
    "batch_requests",
    "connections_of",
    "run_batch",
    "send_batch",
]


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


def batch_requests(
    agent: str | Sequence[str],
    messages: Sequence[str],
    *,
    variants: Sequence[RunOptions] | None = None,
    **options: Unpack[BatchOptions],
) -> list[RunRequest]:
    """The requests :func:`agentnb.batch` sends: for each message, one per agent and variant
    (the variant's options over ``options``), agents outer; every option checked up front,
    before any I/O. Each is what :func:`send_batch` runs, and its JSON is what a later
    kernel needs to send it again."""
    return _arms_requests(agent, messages, variants, options, lambda _name, arm: arm)


def _arms_requests(
    agent: str | Sequence[str],
    messages: Sequence[str],
    variants: Sequence[RunOptions] | None,
    options: Mapping[str, Any],
    fit: Callable[[str, dict[str, Any]], dict[str, Any]],
) -> list[RunRequest]:
    """:func:`batch_requests`, each arm's options (a variant's over ``options``) passed
    through ``fit(agent, options)`` first (``batch``: fitted to the agent's connection)."""
    names = _check_agents(agent)
    if variants is not None and (isinstance(variants, Mapping | str) or not list(variants)):
        raise ConfigurationError("variants must be a non-empty list of option dicts")
    arms = [
        build_requests(name, messages, fit(name, {**options, **dict(variant)}))
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


async def run_batch(
    client: AsyncAgentClient,
    agent: str,
    messages: Iterable[str],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
    **options: Unpack[BatchOptions],
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


EVALUATION_OPTIONS = ("experiment", "evaluators", "judge")
"""What a batch took before evaluation became its own package (0.5), and a person may still
give it: the error points there."""


def _no_evaluation_options(options: Mapping[str, object]) -> None:
    given = [name for name in EVALUATION_OPTIONS if name in options]
    if given:
        raise ConfigurationError(
            f"batch() takes no {', '.join(f'{name}=' for name in given)}: evaluation is "
            "agentnb.evals's (from agentnb.evals import experiment, judge): an experiment is "
            "agentnb.evals.experiment(name, agents, dataset, evaluators=[...]), a judge "
            "agentnb.evals.judge(model, via=...) among its evaluators"
        )


class BatchOptions(RunOptions, total=False):
    """The options a batch takes: every run's, and ``schema`` (as :func:`agentnb.ask`'s)."""

    schema: Any


def batch(
    agent: str | Sequence[str],
    messages: DatasetRows,
    concurrency: int = 8,
    via: str | None = None,
    *,
    client: AnyClient | None = None,
    progress: bool = True,
    approve: ApprovalPolicy = None,
    variants: Sequence[RunOptions] | None = None,
    split: str | None = None,
    context: bool = False,
    **options: Unpack[BatchOptions],
) -> RunHistory:
    """Run ``agent`` over ``messages`` (e.g. an evaluation set), ``concurrency`` at a time,
    with a progress bar (done, failed, left, the cost so far), and return their
    :class:`RunHistory` in input order.

    ``messages`` is a list of questions, a list of dicts, or a DataFrame with a
    ``question`` column and optionally ``expected`` (the reference answer), ``id`` and other
    columns (see ``experiment``).

    Failures are recorded and the batch goes on; a question the platform refuses with 429
    is sent again once the rate limit allows (all the batch's runs wait together, for as
    long as the platform's Retry-After says). Interrupting the kernel cancels the runs in
    flight (recorded ``cancelled``) and starts no more. ``via`` names a connection
    (default: the default one); ``client`` gives an ``AgentClient`` or ``AsyncAgentClient``
    instead. Options: those of ``client.stream`` (:class:`~agentnb.types.RunOptions`) and
    ``schema``. Each message runs on a new thread.

    ``approve`` decides on tool calls the platform runs only once approved (True, False, or a
    callable taking the :class:`~agentnb.types.ToolCall`, as in :func:`~agentnb.ask`). Nobody can
    click Approve in a batch, so a call it leaves undecided — every one, without it — is
    denied with the reason "no one could approve it: batch runs are unattended".

    **Several agents or variants.** ``agent`` may be a list of agents, and ``variants`` a
    list of option dicts (``[{"temperature": 0}, {"temperature": 1}]``, each over
    ``options``): every message then runs once per agent and variant, and the result holds,
    for each message in turn, its runs in that order (agents outer).

    **Splits.** A row's ``split`` field names the split it is in (``"train"``, ``"test"``);
    ``split="test"`` runs only that split's rows.

    Evaluation (datasets kept in versions, experiments, evaluators, arms compared) is
    :mod:`agentnb.evals`: ``experiment(name, agents, dataset, evaluators=[...])``.

    ``context=True`` (in a notebook) offers every run the read-only tools over the kernel
    (see docs/context.md); nobody can approve a read in a batch, so they go only with
    ``approve=`` deciding them or ``agentnb.context.configure(ask_first=False)``.
    """
    if in_loop_thread():
        raise RuntimeError("batch() blocks; on agentnb's loop use `await run_batch(...)`")
    _no_evaluation_options(options)
    questions = [example.question for example in in_split(examples_of(messages), split)]
    check_concurrency(concurrency)
    batch_requests(agent, [""], variants=variants, **options)  # bad options before any connection
    conn = carrying_tools(resolve_target(via, client), bool(options.get("tools")) or context)
    names = _check_agents(agent)
    own = via is None and client is None and any(via_for(name, None) for name in names)

    def fit(name: str, arm: dict[str, Any]) -> dict[str, Any]:
        """An arm's options as the connection its agent runs on takes tools."""
        runs_on = resolve_target(None, None, name) if own else conn
        fitted = runs_on._fit_tools(arm, context=context)
        if fitted.context_as_tools:
            tools = fitted.options.get("tools")
            fitted.options["tools"] = notebook_context("", tools, context=True).tools
        return fitted.options

    requests = _arms_requests(agent, questions, variants, options, fit)
    if not requests:  # nothing to run, and still the options are checked against conn
        for request in _arms_requests(agent, [""], variants, options, fit):
            conn.check(request, approve)
    return send_batch(
        requests,
        via=None if own else conn,  # None: each agent on the connection its name names
        concurrency=concurrency,
        progress=progress,
        approve=approve,
        label=f"batch {agent if isinstance(agent, str) else ' vs '.join(agent)}",
    )


def send_batch(
    requests: Sequence[RunRequest],
    *,
    via: Via = None,
    concurrency: int = 8,
    progress: bool = True,
    approve: ApprovalPolicy = None,
    label: str = "batch",
    on_start: Link | None = None,
    on_end: AfterRun | None = None,
    place: RequestPlace | None = None,
) -> RunHistory:
    """Run ``requests`` (:func:`batch_requests` builds them) on the connection ``via`` (a
    name, a Connection or a client; default: the default connection) as :func:`agentnb.batch` does:
    ``concurrency`` at a time, with a progress bar named ``label``, blocking until they end;
    their runs in order. ``on_start`` is handed ``[(index, run), ...]`` for runs about to
    start (a question the platform refused with 429 starts again as a new run), ``on_end``
    ``(index, run)`` once a run ended for good, each in a worker thread: what a package built
    on agentnb (``agentnb.evals``) links and scores runs with.

    ``place`` puts each request somewhere of its own (:data:`RequestPlace`: an experiment's
    pair in a copy of its workspace, on a connection working there), made as its turn comes
    (within ``concurrency``) and left after ``on_end``; a place that could not be made fails
    its request without a run, and the batch raises its error once the others ended."""
    conns = connections_of(requests, via)
    kinds = [
        (conn, request)
        for conn in {id(c): c for c in conns}.values()
        for request in one_per_agent_and_settings(
            [r for r, c in zip(requests, conns, strict=True) if c is conn]
        )
    ]
    for conn, request in kinds:
        conn.check(request, approve)
    check_concurrency(concurrency)
    bar = make_progress(len(requests), label, enabled=progress)
    ended = threading.Event()
    unshare = _share_notebook(kinds, approve)

    async def main() -> RunHistory:
        try:
            return await run_requests(
                [conn.client() for conn in conns],
                requests,
                concurrency,
                progress=bar,
                approve=approve,
                link=on_start,
                after=on_end,
                place=None if place is None else _on_clients(place, conns),
            )
        finally:
            ended.set()

    future = submit(main())
    try:
        return result_of(future)
    except KeyboardInterrupt:
        future.cancel()
        wait_for(ended, CANCEL_GRACE)
        raise
    finally:
        bar.close()
        for end in unshare:
            end()


RequestPlace = Callable[
    [int, RunRequest, Connection], AbstractContextManager[tuple[Via, RunRequest]]
]
"""``send_batch(place=...)``: called with a request's index, the request and the connection
the batch would run it on when its turn comes, a context manager that makes its place (in a
worker thread: it may block) and gives the connection it runs on there (a :data:`Via`) and
the request as it goes there; left, in a worker thread, once its run ended and ``on_end``
was told (an error in between is passed to its exit)."""


def _on_clients(place: RequestPlace, conns: Sequence[Connection]) -> Place:
    """``place`` as the batch engine takes it: the connection it gives, as its client."""

    @contextlib.contextmanager
    def placed(index: int, request: RunRequest) -> Iterator[tuple[AsyncAgentClient, RunRequest]]:
        with place(index, request, conns[index]) as (via, there):
            [conn] = connections_of([there], via)
            yield conn.client(), there

    return placed


def _share_notebook(
    kinds: Sequence[tuple[Connection, RunRequest]], approve: ApprovalPolicy
) -> list[Callable[[], None]]:
    """Share the notebook, for the batch, with the turns of each connection whose requests
    list its MCP server (``context=True`` on an ACP agent: :meth:`Connection._fit_tools`),
    each read decided as the notebook's context tools are in a batch: where the context
    settings ask first, by ``approve``, and denied when it leaves one undecided; the
    functions that end the sharing."""
    policy = or_denied(approve, UNATTENDED_BATCH) if context_settings().ask_first else None
    ends: dict[int, Callable[[], None]] = {}
    for conn, request in kinds:
        if id(conn) not in ends:
            end = conn.share_notebook(request, policy)
            if end is not None:
                ends[id(conn)] = end
    return list(ends.values())


def connections_of(requests: Sequence[RunRequest], via: Via) -> list[Connection]:
    """The connection of each request: ``via``'s; with none, the one a request's agent names
    when it names a connection that reaches one agent (``via_for``: an ACP agent, so an
    experiment compares ``claude`` with ``codex``), else the default one."""
    if via is not None:
        return [connection_of(via)] * len(requests)
    named = {agent: via_for(agent, None) for agent in {r.agent for r in requests}}
    conns = {name: connection_of(name) for name in set(named.values())}
    return [conns[named[r.agent]] for r in requests]
