"""Rows left ``running`` by a process that no longer exists (a killed kernel) become
``interrupted``, keeping the partial answer their last checkpoint saved."""

from __future__ import annotations

import sqlite3

from ._owner import ProcessOwner, current_owner, owner_is_gone
from ._writes import ORPHAN_MESSAGE

__all__ = ["gone_owners", "mark_interrupted"]


def gone_owners(db: sqlite3.Connection, *, other_pids_only: bool) -> list[ProcessOwner]:
    """Owners of this host's running rows whose process has certainly ended.

    ``other_pids_only`` skips this process's pid: its own runs are known to be alive, and an
    earlier process that had the same pid was already judged when the store opened."""
    me = current_owner()
    sql = (
        "SELECT DISTINCT owner_pid, owner_token FROM runs "
        "WHERE status = 'running' AND owner_host = ?"
    )
    params: list[object] = [me.host]
    if other_pids_only:
        sql += " AND owner_pid IS NOT ?"
        params.append(me.pid)
    owners = [
        ProcessOwner(me.host, pid, token)
        for pid, token in db.execute(sql, params).fetchall()
        if pid is not None
    ]
    return [owner for owner in owners if owner_is_gone(owner)]


def mark_interrupted(db: sqlite3.Connection, owners: list[ProcessOwner]) -> int:
    """Mark these owners' running rows interrupted (inside the caller's write transaction)."""
    count = 0
    for owner in owners:
        count += db.execute(
            "UPDATE runs SET status = 'interrupted', error_code = 'process_exited', "
            "error_message = ? WHERE status = 'running' AND owner_host = ? "
            "AND owner_pid = ? AND owner_token IS ?",
            (ORPHAN_MESSAGE, owner.host, owner.pid, owner.token),
        ).rowcount
    return count
