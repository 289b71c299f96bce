"""The notebook as an MCP server, in a real kernel, called by the ``mcp`` SDK's own client
over Streamable HTTP: the six tools listed and called (a DataFrame described, the variables
paged), a key planted in the environment, a variable, a dict and a cell never in any result,
``.env`` refused as a tool error, no token and a wrong token answered 401 with nothing run, a
foreign Origin refused, a call denied by ``approve=False`` or by the person a tool error saying
so, a call waiting for the person answered once they approve, and the kernel answering
``1+1`` while a client calls in a loop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S, sdk_npm_file
from kernel_session import Session, reset_kernel, running_kernel
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

pytestmark = [pytest.mark.kernel]

KEY = "sk-proj-" + secrets.token_hex(16)
"""Planted in the kernel's environment, a variable, a dict and a cell's source."""
SIX = [
    "notebook_variables",
    "notebook_describe",
    "notebook_cells",
    "notebook_error",
    "notebook_files",
    "notebook_read_file",
]


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(AGENTNB_HISTORY=":memory:", WAREHOUSE_TOKEN=KEY)
    with running_kernel(env) as client:
        yield client


@pytest.fixture
def session(kernel: Any, tmp_path: Path) -> Iterator[Session]:
    """A fresh namespace in ``tmp_path``: a frame, 60 numbers, the planted key, a ``.env``."""
    reset_kernel(kernel)
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    (tmp_path / "sales.csv").write_text("region,revenue\nnorth,10\n")
    session = Session(kernel)
    session.execute(
        f"""
        import os, json
        os.chdir({str(tmp_path)!r})
        import pandas as pd
        import agentnb, agentnb.context
        sales = pd.DataFrame({{"region": ["north", "south", "west"], "revenue": [1.0, 2.5, None]}})
        for i in range(60):
            globals()[f"x{{i:03}}"] = i
        db_password = {KEY!r}
        cfg = {{"host": "db.internal", "api_token": {KEY!r}, "note": "uses {KEY}"}}
        """
    )
    yield session
    session.execute(
        "agentnb.context.configure(ask_first=True)\n"
        "for server in globals().get('servers', []): server.stop()"
    )


def started(session: Session, options: str = "") -> tuple[str, str]:
    """A server started in the kernel: its URL and token."""
    session.execute(
        f"servers = globals().get('servers', []); servers.append(agentnb.context.serve({options}))"
    )
    printed = session.stdout(
        session.execute("print(json.dumps([servers[-1].url, servers[-1].token]))")
    )
    url, token = json.loads(printed)
    return url, token


@asynccontextmanager
async def connected(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(PATIENCE_S)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client


async def called(client: ClientSession, tool: str, **arguments: Any) -> tuple[bool, str]:
    result = await client.call_tool(tool, arguments)
    [block] = result.content
    assert block.type == "text"
    return result.is_error, block.text


def calls_served(session: Session) -> list[list[str]]:
    printed = session.stdout(
        session.execute("print(json.dumps([[c.tool, c.status] for c in servers[-1].calls]))")
    )
    return json.loads(printed)


async def test_the_six_tools_answer_as_context_true_does(session: Session) -> None:
    session.execute("agentnb.context.configure(ask_first=False)")
    url, token = started(session)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
    async with connected(url, token) as client:
        listed = (await client.list_tools()).tools
        assert [t.name for t in listed] == SIX
        assert all(t.annotations and t.annotations.read_only_hint for t in listed)
        results = {
            "describe": await called(client, "notebook_describe", name="sales"),
            "page1": await called(client, "notebook_variables"),
            "page2": await called(client, "notebook_variables", page=2),
            "cfg": await called(client, "notebook_describe", name="cfg"),
            "password": await called(client, "notebook_describe", name="db_password"),
            "cells": await called(client, "notebook_cells", count=20),
            "error": await called(client, "notebook_error"),
            "files": await called(client, "notebook_files"),
            "csv": await called(client, "notebook_read_file", path="sales.csv"),
            "env": await called(client, "notebook_read_file", path=".env"),
            "outside": await called(client, "notebook_read_file", path="../x"),
        }
    failed = {name for name, (error, _) in results.items() if error}
    assert failed == {"env", "outside"}
    describe = results["describe"][1]
    assert describe.startswith('<notebook-data id="')
    assert "sales: pandas DataFrame, 3 rows × 2 columns" in describe
    assert "revenue — float64, 1 null" in describe
    assert re.search(
        r"\n6\d variables; page 1 of 2 \(call again with page=2 for more\)\n", results["page1"][1]
    )
    assert "page 2 of 2" in results["page2"][1] and "x059: int" in results["page2"][1]
    assert "'api_token': ***" in results["cfg"][1]
    assert "sales.csv (first 2 lines):\nregion,revenue\nnorth,10" in results["csv"][1]
    assert ".env (listed, never read: it may hold secrets)" in results["files"][1]
    assert results["env"][1] == "'.env' is never read: it may hold secrets"
    assert "outside the working directory" in results["outside"][1]
    for name, (_, text) in results.items():
        assert KEY not in text, name
        assert token not in text, name
    assert [tool for tool, _ in calls_served(session)] == [
        "notebook_describe",
        "notebook_variables",
        "notebook_variables",
        "notebook_describe",
        "notebook_describe",
        "notebook_cells",
        "notebook_error",
        "notebook_files",
        "notebook_read_file",
        "notebook_read_file",
        "notebook_read_file",
    ]


async def test_describe_and_variables_return_structured_content_as_their_schemas_say(
    session: Session,
) -> None:
    """The SDK's client checks each result against its tool's ``outputSchema``; the data is
    redacted as the text is."""
    session.execute("agentnb.context.configure(ask_first=False)")
    url, token = started(session)
    async with connected(url, token) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        described = await client.call_tool("notebook_describe", {"name": "sales"})
        variables = await client.call_tool("notebook_variables", {"page": 2})
        secret = await client.call_tool("notebook_describe", {"name": "cfg"})
        missing = await client.call_tool("notebook_describe", {"name": "nothing"})
        cells = await client.call_tool("notebook_cells", {})
    schemas = {name: tool.output_schema for name, tool in listed.items()}
    assert schemas["notebook_describe"] is not None and schemas["notebook_variables"] is not None
    assert {name for name, schema in schemas.items() if schema is None} == set(SIX[2:])
    data = described.structured_content
    assert data is not None
    assert (data["name"], data["type"]) == ("sales", "pandas DataFrame")
    assert "revenue — float64, 1 null" in data["description"]
    page = variables.structured_content
    assert page is not None and (page["page"], page["pages"]) == (2, 2)
    assert page["count"] == len(page["variables"]) + 50
    assert {"name": "x059", "summary": "int"} in page["variables"]
    assert secret.structured_content is not None
    assert "'api_token': ***" in secret.structured_content["description"]
    assert KEY not in json.dumps(secret.structured_content)
    assert missing.is_error and missing.structured_content is None
    assert cells.structured_content is None


async def test_no_token_a_wrong_token_and_a_foreign_origin_run_nothing(
    session: Session,
) -> None:
    session.execute("agentnb.context.configure(ask_first=False)")
    url, token = started(session)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=PATIENCE_S) as http:
        none = await http.post(url, json=call, headers=accept)
        wrong = await http.post(
            url, json=call, headers={**accept, "Authorization": f"Bearer {token[:-1]}x"}
        )
        foreign = await http.post(
            url,
            json=call,
            headers={**accept, "Authorization": f"Bearer {token}", "Origin": "http://evil.test"},
        )
        rebound = await http.post(
            url,
            json=call,
            headers={**accept, "Authorization": f"Bearer {token}", "Host": "evil.test"},
        )
    assert (none.status_code, wrong.status_code, foreign.status_code) == (401, 401, 403)
    assert rebound.status_code == 421
    assert none.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in none.json()["error"]
    assert token not in none.text + wrong.text + foreign.text
    assert calls_served(session) == []
    line = f'claude mcp add --transport http notebook {url} --header "Authorization: Bearer '
    shown = session.execute("servers[-1]")
    (result,) = session.of(shown, "execute_result")
    for text in result["content"]["data"].values():  # text/plain and text/html
        assert token not in text and token[:4] + "…" in text and "srv.reveal()" in text
    assert result["content"]["data"]["text/plain"].startswith(f'{line}{token[:4]}…"\n')
    revealed = session.execute("servers[-1].reveal(1)")
    (whole,) = session.of(revealed, "display_data")
    assert whole["content"]["data"]["text/plain"] == f'{line}{token}"'
    display_id = whole["content"]["transient"]["display_id"]

    def masked_again() -> list[dict[str, Any]]:
        return [
            m for m in session.messages
            if m["msg_type"] == "update_display_data"
            and m["content"]["transient"]["display_id"] == display_id
        ]  # fmt: skip

    session.wait_for(lambda: bool(masked_again()))
    assert token not in masked_again()[0]["content"]["data"]["text/plain"]


async def test_a_denied_call_is_a_tool_error_saying_so(session: Session) -> None:
    url, token = started(session, "approve=False")
    async with connected(url, token) as client:
        error, text = await called(client, "notebook_describe", name="sales")
    assert error
    assert text.startswith("the user denied this call")
    assert calls_served(session) == [["notebook_describe", "denied"]]


async def test_an_unknown_tool_is_a_protocol_error_and_runs_nothing(session: Session) -> None:
    """MCP's tools/call of a tool the server never listed is a JSON-RPC error (-32602,
    invalid params; the conformance suite checks it), not a tool result worded as a client's."""
    url, token = started(session, "approve=False")
    async with connected(url, token) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("notebook_delete_everything", {})
    assert refused.value.code == INVALID_PARAMS
    assert "notebook_delete_everything" in refused.value.message
    assert calls_served(session) == []


async def test_a_call_waits_for_the_person_in_the_kernel(session: Session) -> None:
    url, token = started(session)  # ask_first: each read waits for a decision
    answers: list[tuple[bool, str]] = []

    async def client_calls() -> None:
        async with connected(url, token) as client:
            answers.append(await called(client, "notebook_describe", name="sales"))
            answers.append(await called(client, "notebook_variables"))

    caller = threading.Thread(target=lambda: asyncio.run(client_calls()))
    caller.start()
    session.wait_for(lambda: waiting(session) == ["mcp_1"])
    session.execute("servers[-1].approve('mcp_1')")
    session.wait_for(lambda: waiting(session) == ["mcp_2"])
    session.execute("servers[-1].deny('mcp_2', 'not the listing')")
    caller.join(PATIENCE_S)
    assert answers[0][0] is False and "sales: pandas DataFrame" in answers[0][1]
    assert answers[1] == (True, "the user denied this call: not the listing")
    session.wait_for(lambda: ("mcp_2", "denied") in cards_shown(session))
    assert ("mcp_1", "awaiting_approval") in cards_shown(session), "its approval card"
    assert ("mcp_1", "succeeded") in cards_shown(session)


async def test_a_read_never_made_is_refused_before_anyone_is_asked(session: Session) -> None:
    """Asking first, a read of ``.env`` (or outside the working directory) is refused at once,
    as an ACP agent's reads are: approving could not make it read, so no card asks."""
    url, token = started(session)  # ask_first: each read that may be made waits
    async with connected(url, token) as client:
        env = await called(client, "notebook_read_file", path=".env")
        outside = await called(client, "notebook_read_file", path="../x")
    assert env == (True, "'.env' is never read: it may hold secrets")
    assert outside[0] and "outside the working directory" in outside[1]
    assert waiting(session) == []
    session.wait_for(lambda: {("mcp_1", "failed"), ("mcp_2", "failed")} <= cards_shown(session))
    assert not {c for c in cards_shown(session) if c[1] == "awaiting_approval"}, "none asked"


def cards_shown(session: Session) -> set[tuple[str, str]]:
    """The tool cards the latest server's cell was sent (call id, status), as a view gets
    them: each ``tool`` op, each whole ``turn``, and the transcript the cell writes at each
    call (all a cell no view has said it draws is sent)."""
    mime = "application/vnd.jupyter.widget-view+json"
    shown = [
        m["content"]["data"][mime]["model_id"]
        for m in session.messages
        if m["msg_type"] == "display_data" and mime in m["content"]["data"]
    ]
    cards: set[tuple[str, str]] = set()
    for data in session.comm_data(shown[-1]):
        content = data.get("content") if data.get("method") == "custom" else None
        for op in content.get("ops", []) if isinstance(content, dict) else []:
            calls = [op["call"]] if op["op"] == "tool" else op.get("turn", {}).get("tools", [])
            cards.update((call["call_id"], call["status"]) for call in calls)
        transcript = data.get("state", {}).get("transcript") or {"turns": []}
        for turn in transcript["turns"]:
            cards.update((call["call_id"], call["status"]) for call in turn["tools"])
    return cards


def waiting(session: Session) -> list[str]:
    printed = session.stdout(
        session.execute(
            "print(json.dumps([c.call_id for c in servers[-1].handle.run.awaiting_approval]))"
        )
    )
    return json.loads(printed)


async def test_the_kernel_answers_while_a_client_calls_in_a_loop(session: Session) -> None:
    session.execute("agentnb.context.configure(ask_first=False)")
    url, token = started(session)
    stop = threading.Event()
    calls = 0

    async def loop_calls() -> None:
        nonlocal calls
        async with connected(url, token) as client:
            while not stop.is_set():
                await called(client, "notebook_describe", name="sales")
                calls += 1

    caller = threading.Thread(target=lambda: asyncio.run(loop_calls()))
    caller.start()
    try:
        session.wait_for(lambda: calls >= 3)
        answered = session.execute("print(1 + 1)")
        during = calls
        assert session.stdout(answered).strip() == "2"
        session.wait_for(lambda: calls > during)
    finally:
        stop.set()
        caller.join(PATIENCE_S)


async def test_stop_in_its_cell_stops_the_server_and_a_waiting_call_is_denied(
    session: Session,
) -> None:
    url, token = started(session)  # ask_first: the call waits
    answers: list[tuple[bool, str]] = []

    async def client_calls() -> None:
        async with connected(url, token) as client:
            answers.append(await called(client, "notebook_variables"))

    caller = threading.Thread(target=lambda: asyncio.run(client_calls()))
    caller.start()
    session.wait_for(lambda: waiting(session) == ["mcp_1"])
    session.execute("servers[-1].stop()")
    caller.join(PATIENCE_S)
    assert answers == [
        (
            True,
            "the user denied this call: no one could approve it: the server was stopped (pass approve= to decide)",
        )
    ]
    url, token = started(session)
    ended: list[BaseException] = []

    async def cut_off() -> None:
        try:
            async with connected(url, token) as client:
                await called(client, "notebook_variables")
        except BaseException as error:  # the SDK's error, inside its task groups
            ended.append(error)

    caller = threading.Thread(target=lambda: asyncio.run(cut_off()))
    caller.start()
    session.wait_for(lambda: waiting(session) == ["mcp_1"])
    session.execute("servers[-1].handle.cancel()")  # what Stop in the cell does
    caller.join(PATIENCE_S)
    assert not caller.is_alive() and ended, "the waiting call ended with the server"
    assert "the notebook's MCP server was stopped" in repr(ended[0]), "and its client was told"
    session.wait_for(
        lambda: "False" in session.stdout(session.execute("print(servers[-1].running)"))
    )
    async with httpx2.AsyncClient(timeout=PATIENCE_S) as http:
        with pytest.raises(httpx2.ConnectError):
            await http.post(url, json={}, headers={"Authorization": f"Bearer {token}"})


def test_the_notebook_s_own_server_as_mcp_tools_over_streamable_http(session: Session) -> None:
    """``mcp_tools(url=...)`` over Streamable HTTP, against the notebook's own server: the
    built-in ``finance_agent`` calls the first tool, ``notebook_variables``. The token is in
    no log record (every logger at DEBUG, a refused request too) and not in the history."""
    session.execute(
        """
        import logging
        from agentnb._history import default_store as _store

        class _Kept(logging.Handler):
            def __init__(self):
                super().__init__(logging.DEBUG)
                self.lines = []

            def emit(self, record):
                self.lines.append(f"{record.name} {self.format(record)}")

        _kept, _was = _Kept(), logging.getLogger().level
        logging.getLogger().addHandler(_kept)
        logging.getLogger().setLevel(logging.DEBUG)
        agentnb.context.configure(ask_first=False)
        """
    )
    try:
        url, token = started(session)
        refused = httpx2.post(url, json={}, headers={"Authorization": f"Bearer {token}x"})
        assert refused.status_code == 401
        printed = session.stdout(
            session.execute(
                f"""
                notebook = agentnb.mcp_tools(url={url!r}, headers={{"Authorization": "Bearer " + servers[-1].token}})
                run = agentnb.ask("finance_agent", "what is in my notebook?", tools=notebook).wait({PATIENCE_S:g})
                print(json.dumps([[t.name for t in notebook], run.text, [c.name for c in run.tool_calls]]))
                notebook.close()
                """,
                timeout=PROGRAM_PATIENCE_S,
            )
        )
        logged, history = json.loads(
            session.stdout(
                session.execute(
                    """
                    _store().flush()
                    _dump = _store().transaction(lambda db: "\\n".join(db.iterdump()))
                    print(json.dumps(["\\n".join(_kept.lines), _dump]))
                    """
                )
            )
        )
    finally:
        session.execute(
            "logging.getLogger().removeHandler(_kept); logging.getLogger().setLevel(_was)"
        )
    names, text, called_names = json.loads(printed.splitlines()[-1])
    assert names == [f"agentnb-notebook__{name}" for name in SIX]
    assert called_names == ["agentnb-notebook__notebook_variables"]
    assert "variables; page 1 of 2" in text and "sales: pandas DataFrame 3×2" in text
    assert token not in printed
    assert calls_served(session) == [["notebook_variables", "succeeded"]]
    assert "mcp." in logged and "httpx" in logged, "the SDK's and the HTTP client's records"
    assert token not in logged
    assert "agentnb-notebook__notebook_variables" in history, "the run is in the history"
    assert token not in history


async def test_approve_true_a_callable_a_port_and_with(session: Session) -> None:
    """``approve=True`` lets each call read without waiting, though reads ask first; a
    callable decides each call; ``port=`` is where it listens (a port taken or not a port:
    a clear error); a ``with`` block ends it."""
    url, token = started(session, "approve=True")  # ask_first (the default) asks: True decides
    async with connected(url, token) as client:
        assert (await called(client, "notebook_describe", name="sales"))[0] is False
    url, token = started(session, "approve=lambda call: call.arguments.get('name') == 'sales'")
    async with connected(url, token) as client:
        sales = await called(client, "notebook_describe", name="sales")
        cfg = await called(client, "notebook_describe", name="cfg")
    assert sales[0] is False and "sales: pandas DataFrame" in sales[1]
    assert cfg[0] is True and cfg[1].startswith("the user denied this call")
    assert calls_served(session) == [
        ["notebook_describe", "succeeded"],
        ["notebook_describe", "denied"],
    ]
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    printed = session.stdout(
        session.execute(
            f"""
            refused = []
            for port in ({port}, -1, "80"):
                try:
                    agentnb.context.serve(port=port)
                except agentnb.ConfigurationError as error:
                    refused.append(str(error))
            import socket
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                port = free.getsockname()[1]
            with agentnb.context.serve(port=port) as srv:
                inside = [srv.url, srv.running]
            print(json.dumps([refused, port, inside, srv.running, repr(srv)]))
            """
        )
    )
    refused, free_port, inside, running_after, shown = json.loads(printed.splitlines()[-1])
    assert refused[0].startswith(f"cannot listen on 127.0.0.1:{port}")
    assert refused[1:] == [
        "port is a number from 0 to 65535 (0: a free one), not -1",
        "port is a number from 0 to 65535 (0: a free one), not '80'",
    ]
    assert inside == [f"http://127.0.0.1:{free_port}/mcp", True]
    assert running_after is False and shown == f"<ContextServer {inside[0]} stopped>"


def inspector(tmp_path: Path, url: str, token: str, *arguments: str) -> Any:
    """The MCP Inspector's CLI (``@modelcontextprotocol/inspector``, its maintainers' own
    client) run against the server: what it printed, as JSON."""
    cli = sdk_npm_file("mcp-inspector", ".bin/mcp-inspector")
    command = [str(cli), "--cli", url, "--header", f"Authorization: Bearer {token}", *arguments]
    env = {**os.environ, "MCP_CATALOG_PATH": str(tmp_path / "catalog.json")}
    ran = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=PATIENCE_S, check=False
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    return json.loads(ran.stdout)


def test_the_mcp_inspectors_cli_lists_and_calls_the_tools(session: Session, tmp_path: Path) -> None:
    url, token = started(session, "approve=True")
    listed = inspector(tmp_path, url, token, "--method", "tools/list")
    assert sorted(tool["name"] for tool in listed["tools"]) == sorted(SIX)
    called = inspector(
        tmp_path, url, token, "--method", "tools/call", "--tool-name", "notebook_describe",
        "--tool-arg", "name=sales",
    )  # fmt: skip
    said = " ".join(part["text"] for part in called["content"])
    assert not called.get("isError") and "region" in said and "revenue" in said, said
    assert KEY not in json.dumps(called)
