"""agentnb: stream AI agent runs into Jupyter notebooks.

    %load_ext agentnb
    %%agent finance_agent
    What is NVDA trading at, and how did it move this week?

The public API is listed in ``__all__`` (what a notebook names, and every error), with the
types a user rarely names in public submodules: ``agentnb.types`` (what ``ask``, ``chat``,
``connect`` and ``configure_tracing`` return, a run's request, streams and parts),
``agentnb.history`` and ``agentnb.approvals``; ``agentnb.providers`` holds
``RemoteRun``, ``agentnb.server`` the ``ServerHandle``; evaluation (datasets, experiments,
evaluators, the judge) is its own package, ``agentnb.evals``, which nothing here imports.
Everything else lives in private modules. Heavy parts (the run's model and its pydantic
events, the clients, the widget, the history's pandas tables, the built-in server) are
imported on first use, so ``import agentnb`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

# agentnb.evals is a distribution of its own (agentnb-evals) that installs into this package:
# beside it in site-packages, or, installed editable, in a directory of its own on the path.
__path__ = pkgutil.extend_path(__path__, __name__)

from ._core import exceptions as _errors
from ._core.exceptions import *  # noqa: F403  every error agentnb raises is public
from ._core.extras import hint_missing_parts, missing_part
from ._core.recorder import RunRecorder, combine_recorders, set_default_recorder
from ._core.version import __version__
from ._notebook import offer_magics
from ._tracing import configure_tracing, tracing_recorder

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from ._app.context.live_notebook import notebook_tools, undo_notebook
    from ._app.front.api import ask, attach, chat
    from ._app.front.connections import connect, connections, get_connection
    from ._app.front.scoring import score, scores
    from ._app.many.batch_runs import batch
    from ._app.mcp.mcp_tools import mcp_logout, mcp_tools
    from ._app.past.compare_runs import compare
    from ._app.past.history_tables import browse, runs, summary
    from ._app.past.past_runs import show
    from ._app.past.remote_runs import remote_runs
    from ._app.past.trace_export import export_traces
    from ._client.async_client import AsyncAgentClient
    from ._client.sync import AgentClient
    from ._core.client_tools import ClientTool, tool
    from ._core.price_settings import set_prices
    from ._core.request import Media
    from ._core.run import Run
    from .server import start_server


__all__ = [
    "AgentClient",
    "AsyncAgentClient",
    "ClientTool",
    "Media",
    "Run",
    "__version__",
    "ask",
    "attach",
    "batch",
    "browse",
    "chat",
    "compare",
    "configure_tracing",
    "connect",
    "connections",
    "export_traces",
    "get_connection",
    "mcp_logout",
    "mcp_tools",
    "notebook_tools",
    "remote_runs",
    "runs",
    "score",
    "scores",
    "set_prices",
    "show",
    "start_server",
    "summary",
    "tool",
    "undo_notebook",
]
__all__ += _errors.__all__

_LAZY: dict[str, str] = {
    "ClientTool": "._core.client_tools",
    "tool": "._core.client_tools",
    "Media": "._core.request",
    "Run": "._core.run",
    "set_prices": "._core.price_settings",
    "AgentClient": "._client.sync",
    "AsyncAgentClient": "._client.async_client",
    "ask": "._app.front.api",
    "attach": "._app.front.api",
    "chat": "._app.front.api",
    "connect": "._app.front.connections",
    "connections": "._app.front.connections",
    "get_connection": "._app.front.connections",
    "show": "._app.past.past_runs",
    "batch": "._app.many.batch_runs",
    "compare": "._app.past.compare_runs",
    "export_traces": "._app.past.trace_export",
    "score": "._app.front.scoring",
    "scores": "._app.front.scoring",
    "browse": "._app.past.history_tables",
    "remote_runs": "._app.past.remote_runs",
    "mcp_logout": "._app.mcp.mcp_tools",
    "mcp_tools": "._app.mcp.mcp_tools",
    "notebook_tools": "._app.context.live_notebook",
    "undo_notebook": "._app.context.live_notebook",
    "runs": "._app.past.history_tables",
    "summary": "._app.past.history_tables",
    "start_server": ".server",
}


def _default_recorder() -> RunRecorder | None:
    """The history (unless ``AGENTNB_HISTORY=off``) and, while tracing is on, tracing."""
    from ._history import default_store  # sqlite and the tables load on the first run only

    return combine_recorders(default_store(), tracing_recorder())


set_default_recorder(_default_recorder)
hint_missing_parts()  # ``import agentnb.evals`` without agentnb-evals says how to install it
offer_magics()  # in IPython, ``%%agent`` works after ``import agentnb`` alone


_SUBMODULES = (
    "types",
    "history",
    "approvals",
    "providers",
    "events",
    "sse",
    "server",
    "context",
)
"""Public submodules, imported on first use: ``agentnb.types.RunRequest`` after ``import
agentnb`` works as after ``import agentnb.types``."""


_MOVED = ("ChatCell", "Connection", "RunHandle", "ToolCall", "TracingStatus")
"""Types named only in annotations, in ``agentnb.types`` since 0.5: the root's error says where."""


_EVALUATION = frozenset(
    {
        "Experiment",
        "dataset",
        "evaluate",
        "experiment",
        "experiments",
        "judge",
        "live",
        "to_phoenix",
    }
)
"""Names evaluation's package holds (since 0.5; ``live`` and ``to_phoenix`` since they came),
which a person may look for at the root (the root names no module of it)."""


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _MOVED:
        raise AttributeError(
            f"agentnb.{name} is agentnb.types.{name} (from agentnb.types import {name}) since 0.5"
        )
    module = _LAZY.get(name)
    if name in _EVALUATION:
        raise AttributeError(
            f"agentnb.{name} is evaluation's: from agentnb.evals import {name} (its package "
            "since 0.5; batch(experiment=...) is agentnb.evals.experiment(name, agents, dataset))"
        )
    if module is None and not name.startswith("_") and missing_part(f"{__name__}.{name}"):
        # agentnb.evals, another distribution's: imported, or its ModuleNotFoundError says
        # how to install it (``from agentnb import evals`` asks here first)
        return importlib.import_module(f".{name}", __name__)
    if module is None:
        raise AttributeError(f"module 'agentnb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext agentnb``: register the ``%%agent`` family of magics."""
    from ._notebook.magics import load_ipython_extension as load  # IPython magics: on %load_ext

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    from ._notebook.magics import unload_ipython_extension as unload  # as above

    unload(ipython)
