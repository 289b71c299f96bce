"""A run's trace and span ids, derived from its ``local_id``: the spans of a run sent live and
the same run exported later carry the same ids, so a collector that keeps one span per id
(Phoenix) counts it once, and a score can name its span without asking the collector."""

from __future__ import annotations

import hashlib

__all__ = ["run_span_id", "run_trace_id", "span_id"]


def run_trace_id(local_id: str) -> int:
    """The 128-bit trace id of the run's own trace."""
    return _digest(f"trace/{local_id}", 16)


def run_span_id(local_id: str) -> int:
    """The 64-bit id of the run's ``invoke_agent`` span (where its scores go)."""
    return span_id(local_id, "run")


def span_id(local_id: str, part: str) -> int:
    """The 64-bit id of one span of the run: ``run``, ``chat``, ``tool/<position>``."""
    return _digest(f"span/{local_id}/{part}", 8)


def _digest(text: str, size: int) -> int:
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
    return number or 1  # zero is the invalid id
