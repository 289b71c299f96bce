"""A scripted coding agent on the official ACP SDK (``agent-client-protocol``, run from
``.tools/acp`` by the tests). Every prompt: it reads ``calc.py`` in its session's ``cwd``
through the client's ``fs/read_text_file``; started with ``--fix`` it writes it back with
``a - b`` made ``a + b`` (``fs/write_text_file``); with ``--escape`` it writes that beside
its copy instead, outside it; else it leaves it. It reports a cost per
turn (``--cost``) and answers what it did and where (its session's cwd, its process's)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    Agent,
    InitializeResponse,
    NewSessionResponse,
    PromptResponse,
    RequestError,
    run_agent,
    update_agent_message_text,
)
from acp.interfaces import Client
from acp.schema import AgentCapabilities, Cost, Implementation, Usage, UsageUpdate

FIX = "--fix" in sys.argv
ESCAPE = "--escape" in sys.argv
COST = float(sys.argv[sys.argv.index("--cost") + 1]) if "--cost" in sys.argv else 0.1


class CodingAgent(Agent):
    _conn: Client

    def __init__(self) -> None:
        self._cwd: dict[str, str] = {}
        self._spent = 0.0

    def on_connect(self, conn: Client) -> None:
        self._conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        name = "fixer" if FIX else "idler"
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(),
            agent_info=Implementation(name=name, title=name, version="1.0"),
        )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any], **kwargs: Any
    ) -> NewSessionResponse:
        session_id = f"s{len(self._cwd) + 1}"
        self._cwd[session_id] = cwd
        return NewSessionResponse(session_id=session_id)

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        cwd = self._cwd[session_id]
        path = os.path.join(cwd, "calc.py")
        said = await self._edit(session_id, path)
        self._spent += COST
        await self._conn.session_update(
            session_id,
            UsageUpdate(
                session_update="usage_update",
                used=100,
                size=1000,
                cost=Cost(amount=self._spent, currency="USD"),
            ),
        )
        where = f"session cwd {cwd}; process cwd {os.getcwd()}"
        await self._conn.session_update(session_id, update_agent_message_text(f"{said} ({where})"))
        return PromptResponse(
            stop_reason="end_turn", usage=Usage(input_tokens=80, output_tokens=20, total_tokens=100)
        )

    async def _edit(self, session_id: str, path: str) -> str:
        try:
            code = (await self._conn.read_text_file(session_id=session_id, path=path)).content
        except RequestError as exc:
            return f"read refused: {exc}"
        if not (FIX or ESCAPE):
            return "looked, changed nothing"
        target = os.path.join(os.path.dirname(path), os.pardir, "calc.py") if ESCAPE else path
        try:
            await self._conn.write_text_file(
                session_id=session_id, path=target, content=code.replace("a - b", "a + b")
            )
        except RequestError as exc:
            return f"write refused: {exc}"
        return "fixed add"


if __name__ == "__main__":
    asyncio.run(run_agent(CodingAgent()))
