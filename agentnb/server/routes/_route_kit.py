"""What a dialect's routes are written with: the service's parts a routes module uses, in one
place. A module of this package imports, of the server, only this kit, the steps it renders
(:mod:`agentnb.server._steps`) and its sibling modules (``tests/test_layers.py`` keeps it so),
the kit and the steps as modules: ``from . import _route_kit as kit``, then ``kit.run_route``.
What every dialect does alike is here; a routes module holds what differs: its paths, how it
reads its platform's request, and its frames.

Declaring the dialect
    ``ServedDialect`` (what the module serves: found by the app, read by ``url_for``) and
    ``Dialect`` (how it renders a run: a renderer of steps into ``Frame`` s, the response
    headers, the answer when not streamed, whether it can say "wait for a human").

A run request, the one flow
    ``run_route(dialect, begin)`` is the endpoint of a path that starts runs
    (``run_endpoint`` when the path does more): it replays after ``Last-Event-ID``, or awaits
    ``begin`` (a ``Begin``: the request read into a ``RunStart``, or a ``Response`` of its
    own) and starts the run, streamed or awaited. ``begin`` reads the body
    (``request_model``, ``request_json``; ``parse_model`` for a query), finds the agent
    (``require_agent``; ``AGENTS``, ``unknown_agent``), reads what it asks into an
    ``AgentInput`` (``ChatMessage`` for earlier turns, ``last_user_index`` for the question
    among them, ``json_schema_at`` for an untyped response format, ``scalar_options``,
    ``wants_followups``) and hands it to ``run_start``, which names the run (``new_run_id``
    when the dialect needs an id of its own), has the agent check it and opens its
    ``RunLog`` at its pace.

A run again
    ``paused_run`` is a thread's run that waits for decisions (its ``RunLog.approvals``, the
    requests a client's approval ids answer); ``continue_run`` hands it its ``Decision`` s and
    streams the rest; ``rejoin`` streams a run to a client joining it again (after
    ``Last-Event-ID``, never before its latest pause); ``replay`` / ``replay_after`` /
    ``replay_selected`` read a run again from a frame on, or the frames one selects;
    ``state_of`` is the server's ``AppState`` (its runs and conversations).

Errors
    ``ApiError`` (status, message, code), ``invalid`` (a 422 at one field of the body),
    ``error_response`` (an error in the path's dialect's shape), and
    ``openai_validation_error`` (a validation error as OpenAI words it).

Frames
    ``Frame``, ``dumps`` (compact JSON), ``flat`` (a renderer for a dialect that cannot nest
    sub-agents), ``parse_last_event_id``, ``sse_response``; text cut into stream pieces
    (``split_chunks``; a call's arguments in pieces of ``ARGUMENT_PIECE_CHARS``) and counted
    (``count_tokens``).

What the server keeps
    ``Conversation`` and ``StoredMessage`` (threads and sessions), ``iso`` (a time as the
    platforms write it).
"""

from __future__ import annotations

from .._http_plumbing import ApiError, error_response, invalid, parse_model
from .._openai_errors import openai_validation_error
from .._run_log import RunLog, iso, new_run_id
from .._served_dialects import ServedDialect
from .._service import (
    AppState,
    Begin,
    Dialect,
    RunStart,
    continue_run,
    json_schema_at,
    last_user_index,
    paused_run,
    rejoin,
    replay,
    replay_after,
    replay_selected,
    request_json,
    request_model,
    require_agent,
    run_endpoint,
    run_route,
    run_start,
    scalar_options,
    state_of,
    wants_followups,
)
from .._sse_responses import Frame, dumps, flat, parse_last_event_id, sse_response
from .._threads import Conversation, StoredMessage
from .._tokens import ARGUMENT_PIECE_CHARS, count_tokens, split_chunks
from ..agents import AGENTS, AgentInput, ChatMessage, unknown_agent

__all__ = [
    "AGENTS",
    "ARGUMENT_PIECE_CHARS",
    "AgentInput",
    "ApiError",
    "AppState",
    "Begin",
    "ChatMessage",
    "Conversation",
    "Dialect",
    "Frame",
    "RunLog",
    "RunStart",
    "ServedDialect",
    "StoredMessage",
    "continue_run",
    "count_tokens",
    "dumps",
    "error_response",
    "flat",
    "invalid",
    "iso",
    "json_schema_at",
    "last_user_index",
    "new_run_id",
    "openai_validation_error",
    "parse_last_event_id",
    "parse_model",
    "paused_run",
    "rejoin",
    "replay",
    "replay_after",
    "replay_selected",
    "request_json",
    "request_model",
    "require_agent",
    "run_endpoint",
    "run_route",
    "run_start",
    "scalar_options",
    "split_chunks",
    "sse_response",
    "state_of",
    "unknown_agent",
    "wants_followups",
]
