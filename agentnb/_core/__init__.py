"""The core: what a run *is*, independent of any platform, transport or display.

Requests, the event-folding :class:`~agentnb._core.run.Run`, the exception tree, secrets,
retry policy, the background loop and :class:`~agentnb._core.handle.RunHandle`. Together with
the public leaf modules :mod:`agentnb.sse` and :mod:`agentnb.events` it imports nothing else
from agentnb; every other layer builds on it.
"""
