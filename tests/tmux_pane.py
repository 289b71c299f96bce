"""One command in a detached tmux session on a private tmux server: what the terminal tests
type into and read back, as a person at a real terminal would."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable

from agentnb_testing import PATIENCE_S

__all__ = ["WAIT", "Pane"]

WAIT = PATIENCE_S
"""Seconds a step may take before the test gives up (a failure, not a timing claim)."""


class Pane:
    """``command`` running in a tmux pane with ``env``, 160x50 unless ``width`` says; it
    prints ``EXIT=<status>`` when it ends and the pane stays open, so its last screen can be
    read."""

    def __init__(
        self, command: list[str], env: dict[str, str], *, name: str = "agentnb", width: int = 160
    ) -> None:
        self.socket = f"{name}-{uuid.uuid4().hex[:8]}"
        shell = " ".join(command) + "; echo EXIT=$?; sleep 60"
        self.tmux(
            "new-session", "-d", "-s", "t", "-x", str(width), "-y", "50",
            *(f"-e{key}={value}" for key, value in env.items()),
            shell,
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=True,
        )
        return done.stdout

    def screen(self, *, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-J", *(["-e"] if colours else []), "-t", "t")

    def everything(self) -> str:
        """All the pane printed (its scrollback too), each line the terminal had to wrap
        (it ran past the pane's width) joined again: a line longer than the pane is one the
        program did not wrap."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def wait_for(self, ready: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"the terminal never showed what was awaited:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, timeout=WAIT)
