"""What the caller asks for: a run request, independent of dialect."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Media", "ModelSettings", "RunRequest"]


class ModelSettings(BaseModel):
    """Sampling settings; each dialect sends the ones it supports. Ranges follow SeekrFlow."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature, 0 to 2."""
    top_p: float | None = Field(default=None, ge=0, le=1)
    """Nucleus sampling mass, 0 to 1."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Frequency penalty, -2 to 2."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Presence penalty, -2 to 2."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Upper bound on generated tokens."""

    def as_dict(self) -> dict[str, Any]:
        """The settings that were set, without the Nones."""
        return self.model_dump(exclude_none=True)


class Media(BaseModel):
    """One multimodal input (Operativus ``media``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    type: str
    """MIME type, e.g. ``image/png``."""
    data: str
    """Base64 data or a URL."""


class RunRequest(BaseModel):
    """One run to start: the agent, the user's message and the options every dialect maps."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    agent: str = Field(min_length=1)
    """The agent (or model, for OpenAI-compatible servers) to run."""
    message: str
    """The user's message."""
    thread_id: str | None = None
    """Continue this conversation (thread id / session id); None starts a new one."""
    model_settings: ModelSettings = Field(default_factory=ModelSettings)
    """Sampling settings."""
    response_format: dict[str, Any] | None = None
    """A JSON schema the answer must follow, or None for free text."""
    metadata: dict[str, str] = Field(default_factory=dict)
    """String key/value pairs stored with the run on the platform."""
    followups: bool = False
    """Ask for suggested follow-up questions where the platform supports it."""
    media: tuple[Media, ...] = ()
    """Multimodal inputs, where the platform supports them."""
    team_id: str | None = None
    """SeekrFlow ``x-team-id`` header."""
    user_id: str | None = None
    """Operativus ``userId``."""
    org_id: str | None = None
    """Operativus ``orgId``."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Dialect-specific body fields, merged into the request body as they are."""
