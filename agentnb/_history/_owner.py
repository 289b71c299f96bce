"""Which process owns a running row, and whether that process still exists.

A row is stamped with the host name, the pid and a start token (on Linux the boot id and the
process's start time from ``/proc``), so a pid reused by a new process is told apart from the
process that wrote the row. Rows of other hosts are never judged: their processes cannot be
seen from here.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["ProcessOwner", "current_owner", "owner_is_gone"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessOwner:
    host: str
    pid: int
    token: str | None


def current_owner() -> ProcessOwner:
    """This process (recomputed after a fork, since the pid changes)."""
    return _owner_for(os.getpid())


@cache
def _owner_for(pid: int) -> ProcessOwner:
    return ProcessOwner(socket.gethostname(), pid, _start_token(pid))


def owner_is_gone(owner: ProcessOwner) -> bool:
    """True only when ``owner`` certainly no longer runs; unknown cases count as alive."""
    me = current_owner()
    if owner.host != me.host:
        return False
    if owner.pid == me.pid:
        return owner.token is not None and me.token is not None and owner.token != me.token
    if not _pid_alive(owner.pid):
        return True
    if owner.token is None:
        return False
    current = _start_token(owner.pid)
    return current is not None and current != owner.token


# ---- Linux: /proc ---------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` from the state on (the name may hold spaces)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


@cache
def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_token(pid: int) -> str | None:
    if not _PROC.is_dir():
        return None
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return f"{_boot_id()}/{fields[19]}"  # field 22 of stat: start time in clock ticks


def _pid_alive(pid: int) -> bool:
    if _PROC.is_dir():
        fields = _stat_fields(pid)
        return fields is not None and fields[0] not in ("Z", "X")  # zombies have exited
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if sys.platform == "win32":
    import ctypes

    def _windows_pid_alive(pid: int) -> bool:
        query_limited_information, still_active, access_denied = 0x1000, 259, 5
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(query_limited_information, False, pid)
        if not handle:
            return bool(kernel32.GetLastError() == access_denied)
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return bool(code.value == still_active)
        finally:
            kernel32.CloseHandle(handle)
