"""The bounds of reading a platform's listing: a listing that always names a next page (or
answers one byte a minute) would otherwise be read forever, a request at a time.

Every listing loop (a thread's runs, runs' status by id) reads at most
:data:`LISTING_PAGES` pages and :data:`LISTING_ROWS` runs (more only when the caller's
``limit`` asks for more), within :data:`LISTING_SECONDS` in all; past one of them it stops
with a :class:`~agentnb.ProtocolError` that says which bound was reached and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Final

from .._core.exceptions import ProtocolError

__all__ = ["LISTING_PAGES", "LISTING_ROWS", "LISTING_SECONDS", "ListingBounds"]

LISTING_PAGES: Final = 1000
"""Pages of one listing read at most."""
LISTING_ROWS: Final = 100_000
"""Runs of one listing read at most, unless the caller's ``limit`` asks for more."""
LISTING_SECONDS: Final = 300.0
"""Seconds one listing may take in all, its requests' waits and retries included."""


class ListingBounds:
    """Counts one listing's pages, runs and time; raises once one is past its bound."""

    def __init__(self, what: str, limit: int | None = None, *, advice: str = "") -> None:
        self.what = what
        self.advice = advice or "Pass limit=N to read the first N runs only"
        self.rows_bound = max(LISTING_ROWS, limit or 0)
        self.seconds = LISTING_SECONDS
        self.pages = 0
        self.rows = 0
        self._started = time.monotonic()

    @contextlib.asynccontextmanager
    async def timed(self) -> AsyncIterator[None]:
        """The listing's requests, stopped at :data:`LISTING_SECONDS`."""
        try:
            async with asyncio.timeout(self.seconds):
                yield
        except TimeoutError:
            raise self._reached(f"{self.seconds:g} s") from None

    def read_page(self, rows: int) -> None:
        """One more page was read, ``rows`` runs so far, and the listing goes on."""
        self.pages += 1
        self.rows = rows
        if self.pages >= LISTING_PAGES:
            raise self._reached(f"{LISTING_PAGES} pages")
        if rows >= self.rows_bound:
            raise self._reached(f"{self.rows_bound} runs")

    def _reached(self, bound: str) -> ProtocolError:
        took = time.monotonic() - self._started
        return ProtocolError(
            f"{self.what} did not end within {bound} (read {self.pages} page(s), "
            f"{self.rows} run(s) in {took:.0f} s): agentnb stopped asking, as a listing that "
            f"always names a next page would be read forever (at most {LISTING_PAGES} pages, "
            f"{LISTING_ROWS} runs and {LISTING_SECONDS:g} s a listing). {self.advice}"
        )
