"""`TracingStatus`: what tracing does right now, as ``configure_tracing`` and
``%agent_config`` show it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OFF", "TracingStatus"]


@dataclass(frozen=True)
class TracingStatus:
    """Whether runs are traced, where their spans go, and whether content is recorded."""

    enabled: bool
    destination: str | None = None
    """Where spans go: an OTLP/HTTP URL, or the tracer provider that exports them."""
    content: bool = False
    """Message, answer and tool call content are recorded (user data: opt-in)."""
    service_name: str | None = None
    scores: str | None = None
    """The backend scores given to traced runs go to (``phoenix``), or None."""

    def describe(self) -> str:
        """One line: ``on → OTLP/HTTP http://…/v1/traces (service agentnb, content off)``."""
        if not self.enabled:
            return "off"
        service = f"service {self.service_name}, " if self.service_name else ""
        content = "content on" if self.content else "content off"
        scores = f", scores → {self.scores}" if self.scores else ""
        return f"on → {self.destination} ({service}{content}{scores})"

    def __repr__(self) -> str:
        return f"<agentnb tracing: {self.describe()}>"


OFF = TracingStatus(enabled=False)
