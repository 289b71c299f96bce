"""The types of a run a notebook rarely names: ``from agentnb.types import RunRequest``.

A notebook names a run's functions and its ``Run`` (``agentnb.ask``, ``agentnb.Run``); the
types around a run live here:

- What the entry points return: ``RunHandle`` (``ask``), ``ChatCell`` (``chat``, ``show``),
  ``Connection`` (``connect``), ``TracingStatus`` (``configure_tracing``), and
  ``ToolCall``, a run's tool call (what an ``approve=`` policy is given).
- What makes a client: ``ClientOptions`` (the keywords ``connect``, ``AgentClient`` and
  ``AsyncAgentClient`` take besides the provider, its URL and key).
- What starts a run: ``RunRequest`` (the message and every option, what ``client.run`` and
  ``client.stream`` also take), ``RunOptions`` (the options every entry point takes, as
  keywords), ``ModelSettings`` (``model_settings=``), ``Fork`` (``fork=``: go on from an
  earlier turn) and ``AskedFirst`` (``asks_first=``: a call of the notebook's decided before
  anything is sent, what a message attaches), ``Attachments`` of ``Attachment``
  (``attachments=``: a notebook message's ``@`` attachments one by one, for a dialect that
  sends each as a block of its own). ``Media`` (``media=``) stays at the top:
  ``%%agent --media`` asks for it.
- Where runs go: ``Via`` (a connection's name, a ``Connection`` or a client).
- What an ACP agent's sessions offer: ``AcpSessions`` (``Connection.acp``), whose
  ``.config_options``, ``.commands`` and ``.sessions()`` are ``ConfigOptions`` of
  ``ConfigOption`` (each with its ``ConfigChoice``s), ``CommandList`` of ``SessionCommand``,
  ``SessionList`` of ``PastSession``.
- What reads a run as it goes: ``AsyncRunStream`` and ``RunStream`` (what ``client.stream``
  gives, async and sync).
- What a ``Run`` is made of: ``RunStatus``, ``Part``, ``ToolStatus`` (``ToolCall.status``),
  ``RunErrorInfo`` (``Run.error``) and ``RunCost`` (``Run.cost``).
- What names a run to ``show``, ``compare`` and ``attach``: ``RunLike``; ``run_ids`` gives
  the ``local_id`` of each run one names.
- What a batch takes and sends: ``DatasetRows`` (questions, dicts, a DataFrame), read as
  ``Example``s by ``examples_of`` (``in_split``: those of one ``split``);
  ``batch_requests`` builds its requests, checked, which ``send_batch`` runs as ``batch``
  does (with a hook as each run starts and ends, and ``RequestPlace``: a place of its own
  for each request, made as its turn comes); ``connections_of`` says the connection each
  request goes through.
- What checks an answer against a schema as ``ask(schema=...)`` does: ``answer_validator``.
- What MCP gives and takes: ``McpTools`` (``agentnb.mcp_tools``: an MCP server's tools),
  ``OAuth`` (``mcp_tools(url=..., auth=OAuth(client_id=...))``: how it signs in),
  ``ContextServer`` (``agentnb.context.serve``: the notebook as an MCP server) and
  ``ServedCall`` (one call it served, in ``srv.calls``).
- What makes a remote party's error text fit to show (its secrets redacted, cut):
  ``redacted_error``; what makes a text an agent wrote fit to keep (anything shaped like a key
  redacted too, the one step for context): ``redact_key_shapes``; what ends every process a
  command started, a child in a session of its own too: ``PROCESS_MARK`` set in its
  environment, then ``end_marked(mark)``; ``env_prefix(name)``, the
  prefix of a connection's environment variables (``AGENTNB_<NAME>_``: its ``API_KEY`` is
  read there); whether what goes to an
  observability tool carries content: ``content_captured``; ``annotate_runs`` sends
  ``RunAnnotation``s (a run's value that is not one of its scores) where tracing sends
  scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._app.coding_agents.acp_sessions import (
    AcpSessions,
    CommandList,
    ConfigOptions,
    PastSession,
    SessionList,
)
from ._app.context.context_server import ContextServer
from ._app.context.served_calls import ServedCall
from ._app.front.connections import Connection, Via
from ._app.front.run_like import RunLike, run_ids
from ._app.many.batch_runs import RequestPlace, batch_requests, connections_of, send_batch
from ._app.many.examples import DatasetRows, Example, examples_of, in_split
from ._app.mcp.mcp_question import McpElicitation
from ._app.mcp.mcp_tools import McpTools
from ._app.mcp.oauth_client import OAuth
from ._client.acp_terminals import MARK as PROCESS_MARK
from ._client.acp_terminals import end_marked
from ._client.client_options import ClientOptions
from ._client.stream import AsyncRunStream
from ._client.sync import RunStream
from ._core.client_tools import AskedFirst
from ._core.handle import RunHandle
from ._core.pricing import RunCost
from ._core.request import Attachment, Attachments, Fork, ModelSettings, RunOptions, RunRequest
from ._core.run import Part, RunErrorInfo, RunStatus, ToolCall, ToolStatus
from ._core.schema import answer_validator
from ._core.secrets import env_prefix, redact_key_shapes, redacted_error
from ._tracing import RunAnnotation, TracingStatus, annotate_runs, content_captured
from .providers._acp_session import ConfigChoice, ConfigOption, SessionCommand

if TYPE_CHECKING:
    from ._display.widget import ChatCell

__all__ = [
    "PROCESS_MARK",
    "AcpSessions",
    "AskedFirst",
    "AsyncRunStream",
    "Attachment",
    "Attachments",
    "ChatCell",
    "ClientOptions",
    "CommandList",
    "ConfigChoice",
    "ConfigOption",
    "ConfigOptions",
    "Connection",
    "ContextServer",
    "DatasetRows",
    "Example",
    "Fork",
    "McpElicitation",
    "McpTools",
    "ModelSettings",
    "OAuth",
    "Part",
    "PastSession",
    "RequestPlace",
    "RunAnnotation",
    "RunCost",
    "RunErrorInfo",
    "RunHandle",
    "RunLike",
    "RunOptions",
    "RunRequest",
    "RunStatus",
    "RunStream",
    "ServedCall",
    "SessionCommand",
    "SessionList",
    "ToolCall",
    "ToolStatus",
    "TracingStatus",
    "Via",
    "annotate_runs",
    "answer_validator",
    "batch_requests",
    "connections_of",
    "content_captured",
    "end_marked",
    "env_prefix",
    "examples_of",
    "in_split",
    "redact_key_shapes",
    "redacted_error",
    "run_ids",
    "send_batch",
]


def __getattr__(name: str) -> Any:
    # ChatCell is an anywidget: loaded when asked for, so code that names only a run's types
    # (a script, the command line, agentnb.evals) loads no widget nor IPython.
    if name == "ChatCell":
        from ._display.widget import ChatCell

        return ChatCell
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
