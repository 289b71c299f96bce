"""What the wire leaves on a response it answers (:mod:`.aiohttp_transport`): its body, to be
read without httpx's iterators, and the means to close its connection at once. Read here
without aiohttp, which loads with the first HTTP client: a command that sends no request
never loads it."""

from __future__ import annotations

import httpx

__all__ = ["BODY", "STOP", "abort"]

STOP = "agentnb_stop"
"""The response extension holding its body's ``AiohttpBody.abort``."""
BODY = "agentnb_body"
"""The response extension holding its ``AiohttpBody``, read without httpx's iterators
(three async generators a body, each left for the collector to close with a task)."""


def abort(response: httpx.Response) -> None:
    """Close ``response``'s connection at once if it is on this transport (else nothing:
    closing the response does what a user's own client does)."""
    stop = response.extensions.get(STOP)
    if stop is not None:
        stop()
