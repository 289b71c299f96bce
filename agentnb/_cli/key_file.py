"""A key read from a file (``--api-key-file``), so it never shows on a command line."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

from .._core.exceptions import ConfigurationError
from .._display.terminal import print_fitted

__all__ = ["key_from_file"]


def key_from_file(path: Path, command: str) -> str:
    """The one line of ``path`` (a trailing newline is fine); a clear error otherwise, and a
    warning when other users may read the file."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigurationError(f"cannot read the key file {path}: {reason}") from None
    lines = text.strip().splitlines()
    if len(lines) != 1 or not lines[0].strip():
        found = "is empty" if not lines else f"holds {len(lines)} lines"
        raise ConfigurationError(f"the key file {path} {found}: it must hold the key alone")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print_fitted(
            f"{command}: warning: the key file {path} is readable by other users "
            f"(mode {stat.S_IMODE(mode):04o}): chmod 600 {shlex.quote(str(path))}"
        )
    return lines[0].strip()
