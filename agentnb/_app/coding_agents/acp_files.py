"""What an ACP agent may read and write of the person's files: the working directory its
connection runs it in, each file judged as the context tools judge one
(:func:`agentnb._app.context.context_tools.judged_file`: nothing outside it, a symlink followed
before it is judged; folders and files that may hold secrets, and the context deny list,
never read nor written), and what it reads redacted as every read of the notebook is
(:func:`agentnb._app.context.context_summary.redacted`, with the kernel's secrets), at the
``sample`` level only, as a context tool reads a file's lines. Whether a read asks first is
the context settings' ``ask_first``; a write always asks, showing its diff (the transport:
:mod:`agentnb._client.acp_transport`). What an agent read redacted and writes back is
refused where it would replace a secret with the redaction's mark (the mark where the file
held a secret, however the lines were reformatted): no data lost.

A file's text is not put in the notebook's nonced data block, as a context tool's is: a
coding agent edits what it reads, and an edit is matched against the file's text as it is."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Final

from ..._core.secrets import REDACTED, FoundSecrets, without_a_cut_secret
from ..context.context_summary import context_settings, redacted, searched
from ..context.context_tools import judged_file, kernel_secrets, running_kernel

__all__ = ["MAX_READ_BYTES", "WorkdirFiles"]

MAX_READ_BYTES: Final = 4 * 1024 * 1024
"""What one ``fs/read_text_file`` reads of a file at most; the text says where it was cut."""


class WorkdirFiles:
    """The files under ``root`` (see the module); the transport's
    :class:`~agentnb._client.acp_transport.Workspace`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def ask_first(self) -> bool:
        return context_settings().ask_first

    def refusal(self, path: str, *, writing: bool) -> str | None:
        try:
            self._target(path, writing=writing)
        except ValueError as exc:
            return str(exc)
        return None

    def _target(self, path: str, *, writing: bool) -> Path:
        """``path`` judged (again at each use: the file may have become a link since)."""
        return judged_file(self.root, path, "written" if writing else "read", context_settings())

    def read(self, path: str, line: int | None, limit: int | None) -> str:
        target = self._target(path, writing=False)
        found = _secrets()
        level = searched(context_settings(), found).level
        if level != "sample":
            raise ValueError(
                f"{path!r} is not read: a file's lines are rows of data, read at the sample "
                f"level only (the level in force is {level})"
            )
        if not target.is_file():
            raise ValueError(f"{path!r} is not a file under the working directory")
        with target.open("rb") as file:
            start = file.read(MAX_READ_BYTES + 1)
        if b"\x00" in start[:8192]:
            raise ValueError(f"{path!r} is a binary file: only text files are read")
        cut = len(start) > MAX_READ_BYTES
        text = codecs.decode(start[:MAX_READ_BYTES], "utf-8", "replace")
        if cut:  # the read stopped inside the file: maybe inside a secret
            text = without_a_cut_secret(text, found.values)
        if line is not None or limit is not None:
            lines = text.splitlines(keepends=True)
            first = max(1, line or 1) - 1
            text = "".join(lines[first : None if limit is None else first + max(0, limit)])
        text = redacted(text, found.values)
        if cut:
            text += f"\n[agentnb read the first {MAX_READ_BYTES // (1024 * 1024)} MiB only]"
        return text

    def redacted(self, text: str) -> str:
        """``text`` as it may leave the machine: what :meth:`read` does to a file's text."""
        return redacted(text, _secrets().values)

    def old_text(self, path: str) -> str | None:
        target = self._target(path, writing=True)
        if not target.exists():
            return None
        with target.open("rb") as file:
            text = codecs.decode(file.read(MAX_READ_BYTES), "utf-8", "replace")
        return self.redacted(text)  # shown, and kept with the run: redacted too

    def write_refusal(self, path: str, content: str) -> str | None:
        """Why ``content`` is not written over ``path``: the file holds a secret (its text
        as the agent reads it is redacted) and ``content`` carries the redaction's mark more
        often than the file does (the agent read it redacted and writes it back, however it
        reformatted the lines): writing it would replace the secret with the mark."""
        target = self._target(path, writing=True)
        if not target.is_file() or REDACTED not in content:
            return None
        with target.open("rb") as file:
            text = codecs.decode(file.read(MAX_READ_BYTES), "utf-8", "replace")
        if self.redacted(text) == text or content.count(REDACTED) <= text.count(REDACTED):
            return None
        return (
            f"the new text has the redaction's mark {REDACTED} where {path!r} holds a secret "
            f"(the agent read the file redacted): writing it would replace a secret in the "
            f"file with the mark; edit those lines yourself"
        )

    def write(self, path: str, content: str) -> None:
        target = self._target(path, writing=True)
        if not target.parent.is_dir():
            raise ValueError(f"the folder of {path!r} does not exist")
        why = self.write_refusal(path, content)
        if why is not None:
            raise ValueError(why)
        target.write_text(content, encoding="utf-8")


def _secrets() -> FoundSecrets:
    """The running kernel's secrets (none outside a kernel)."""
    kernel = running_kernel()
    return kernel_secrets(kernel) if kernel is not None else FoundSecrets()
