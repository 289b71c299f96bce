"""What a run keeps of why it did not complete: a plain record the errors and the run share,
so the errors (imported with the package) need not load the run's model (pydantic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TOO_LARGE", "RunErrorInfo"]

TOO_LARGE = "too_large"
"""The error code of a run that went past its ``max_size`` (its error: RunTooLargeError)."""


@dataclass
class RunErrorInfo:
    """Why a run did not complete."""

    message: str
    code: str | None = None
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "retry_after": self.retry_after}
