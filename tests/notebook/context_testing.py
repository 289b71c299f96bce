"""What the notebook context tests send a message through: :func:`attach_context`, the
message as a turn sends it, its attachments in the run's data block."""

from __future__ import annotations

from typing import Any

from agentnb._app.context.attachments import attached

__all__ = ["attach_context"]


def attach_context(*args: Any, **options: Any) -> str:
    """The message as sent (``attached(...).message``), its attachments in its data block."""
    return attached(*args, **options).message
