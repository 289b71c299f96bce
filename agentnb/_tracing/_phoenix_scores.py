"""Scores given to traced runs, as Phoenix's span annotations: OTLP carries no annotations,
so they go over Phoenix's REST API (``POST /v1/span_annotations``) to the run's span, named
by the id derived from the run (:mod:`._ids`) whether it was traced live or exported.

Sent in the background, one request at a time; Phoenix keeps an annotation whose span has not
arrived yet and retries it. A later score of the same name replaces the span's annotation, as
it replaces the run's current score. A Phoenix that cannot be reached is logged once.

With content capture off, a score's comment stays in the history: whoever wrote it (an
evaluator, a judge, a person) may have quoted the answer, and content off means no answer
text leaves the process.

A :class:`RunAnnotation` is sent the same way: a value of a run that is not one of its scores
(a judge's agreement with a person on it, ``agentnb.evals``), its ``metadata`` beside the
annotation's own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._core.secrets import redact, redacted_error
from .._core.trace_ids import run_span_id

__all__ = ["GivenScore", "PhoenixScores", "RunAnnotation", "annotation"]

logger = logging.getLogger("agentnb.tracing")

_ANNOTATOR = {"person": "HUMAN", "code": "CODE", "agent": "LLM"}
_API_KEY_VAR = "PHOENIX_API_KEY"


class GivenScore(Protocol):
    """A score as the history keeps it (``agentnb.history.ScoreRecord``)."""

    @property
    def local_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> float | bool | str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def author(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RunAnnotation:
    """A value of a run that is not one of its scores, sent where tracing sends scores
    (:func:`agentnb.types.annotate_runs`) and kept nowhere: what ``agentnb.evals`` sends of
    an agreement kept (on each run, whether the judge agreed with the person). Read as a
    score is (``value``: a number, a bool or a label; ``source``: ``code``, ``agent`` or
    ``person``); ``metadata`` (JSON values, its text redacted) goes beside the annotation's
    own."""

    local_id: str
    """The run's ``local_id``: the annotation goes on its span."""
    name: str
    value: float | bool | str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    comment: str | None = None
    """Its explanation, sent with content capture on only (as a score's comment)."""
    source: str = "code"
    author: str | None = None


def annotation(score: GivenScore, *, content: bool) -> dict[str, Any]:
    """``score`` as Phoenix's span annotation: a number as its score, a bool as 1 or 0 and
    ``true`` / ``false``, a label as its label, the comment as its explanation (with
    ``content`` only); a :class:`RunAnnotation`'s metadata beside agentnb's."""
    value = score.value
    result: dict[str, Any] = {}
    if isinstance(value, bool):
        result = {"score": float(value), "label": str(value).lower()}
    elif isinstance(value, str):
        result = {"label": redact(value)}
    else:
        result = {"score": float(value)}
    if content and score.comment:
        result["explanation"] = redact(score.comment)
    given: Mapping[str, Any] = getattr(score, "metadata", None) or {}
    metadata = {
        **{key: redact(v) if isinstance(v, str) else v for key, v in given.items()},
        "source": "agentnb",
        **({"author": redact(score.author)} if score.author else {}),
    }
    return {
        "span_id": format(run_span_id(score.local_id), "016x"),
        "name": score.name,
        "annotator_kind": _ANNOTATOR.get(score.source, "HUMAN"),
        "result": result,
        "metadata": metadata,
    }


class PhoenixScores:
    """Sends scores to the Phoenix at ``base_url`` (``PHOENIX_API_KEY``, if set, as its key);
    their comments only with ``content``."""

    def __init__(self, base_url: str, *, content: bool = False) -> None:
        self.content = content
        self.url = base_url.rstrip("/") + "/v1/span_annotations"
        key = os.environ.get(_API_KEY_VAR, "").strip()
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._key = key
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="agentnb-scores")
        self._pending: list[Future[None]] = []
        self._reported = False

    def send(self, scores: Sequence[GivenScore]) -> None:
        """Send ``scores`` in the background."""
        sent = [score for score in scores if score.name != "note"]  # Phoenix's notes' own name
        if sent:
            body = {"data": [annotation(score, content=self.content) for score in sent]}
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._worker.submit(self._post, body))

    def flush(self, timeout: float) -> bool:
        """Wait until the scores handed over so far are sent; False past ``timeout``."""
        return not wait(self._pending, timeout).not_done

    def close(self) -> None:
        self._worker.shutdown(wait=False)

    def _post(self, body: dict[str, Any]) -> None:
        # httpx brings its own command line (click, rich, pygments): at the first score sent
        import httpx

        try:
            reply = httpx.post(self.url, json=body, headers=self._headers, timeout=30)
            cause = None if reply.is_success else f"HTTP {reply.status_code}: {reply.text[:200]}"
        except httpx.HTTPError as exc:
            cause = repr(exc)
        if cause is None:
            self._reported = False
        elif not self._reported:
            self._reported = True
            logger.warning(
                "agentnb tracing: cannot send scores to %s (%s); they stay in the history, "
                "and are dropped here until it can be reached (said once)",
                self.url,
                redacted_error(cause, (self._key,)),
            )
