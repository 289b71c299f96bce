"""Values placed in a URL path: each one segment, whatever it holds.

Agent names come from the person, run, thread and response ids from the platform; either may
hold ``/``, ``?``, ``#``, ``%``, spaces or any other character. Every dialect puts such a
value into a path through :func:`segment` (or :func:`fill_agent` for a ``path`` option's
``{agent}``), so no value can add a level, go up one (``../admin``), start a query or a
fragment, or reach another route with the key.
"""

from __future__ import annotations

from urllib.parse import quote

from .._core.exceptions import ConfigurationError

__all__ = ["AGENT_PLACEHOLDER", "fill_agent", "segment"]

AGENT_PLACEHOLDER = "{agent}"
"""Where a ``path`` option puts the agent's name (A2A, AG-UI: one agent per path)."""

_NO_SEGMENT = frozenset({"", ".", ".."})
"""Values no escaping can send as one segment: an empty one is no segment, and ``.`` and
``..`` name the path's own levels even percent-encoded (RFC 3986 §6.2.2.2 reads ``%2E`` as
``.``, and servers and proxies normalise it so)."""


def segment(value: str, what: str) -> str:
    """``value`` as one path segment: every character but letters, digits and ``-._~``
    percent-encoded (UTF-8). ``what`` names the value in the error for one that cannot be
    a segment (empty, ``.``, ``..``)."""
    if value in _NO_SEGMENT:
        raise ConfigurationError(
            f"the {what} {value!r} cannot be sent as a part of a URL path: an empty part is "
            f"none, and '.' and '..' name the path's own levels; use another {what}"
        )
    return quote(value, safe="")


def fill_agent(path: str, agent: str) -> str:
    """A ``path`` option with the agent's name, one segment, in place of ``{agent}``."""
    if AGENT_PLACEHOLDER not in path:
        return path
    return path.replace(AGENT_PLACEHOLDER, segment(agent, "agent name"))
