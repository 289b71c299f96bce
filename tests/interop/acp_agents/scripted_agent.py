"""A scripted ACP agent on the official SDK (``agent-client-protocol``), run as a subprocess
from ``.tools/acp`` by the tests. The prompt's first word says what it does:

- ``think``: a thought, then the answer;
- ``edit PATH``: a plan, a tool call editing PATH with a diff, usage and a cost;
- ``permission``: asks permission for a tool call, says which option it was given;
- ``slow``: streams a word every 0.05 s until cancelled (then ends ``cancelled``);
- ``words N [SECONDS]``: waits SECONDS (default none), as a model would before its first
  token, then streams N words, one chunk each, as fast as it can (``bench_acp.py``);
- ``stubborn``: the same, ignoring ``session/cancel``;
- ``read PATH`` / ``write PATH TEXT``: the client's ``fs/*``, says what came back;
- ``reads PATH...``: reads each file in turn, says what came back;
- ``crash``: writes to stderr, then exits with status 3 mid-turn;
- ``orphan``: starts a child that holds its stdout open, says ``child PID``, then exits
  with status 3 mid-turn (the child keeps the pipe open after it);
- ``chatty``: writes 2 MB to stderr, then answers;
- ``refuse`` / ``cut``: ends with ``refusal`` / ``max_tokens``;
- ``env NAME``: answers the variable's value;
- ``child``: starts a child process in its group and answers its pid;
- ``count``: answers how many prompts this session had;
- ``mcp``: answers the names of the MCP servers its session was given;
- ``mcpjson``: answers those servers as JSON, as the SDK read them;
- ``terminal CMD ARG...``: runs the command in the client's terminal (when offered: else
  says so), waits for it, answers its exit code and output;
- ``askrun CMD...``: asks permission to run a command as Codex's adapter does (the request
  first, its ``rawInput`` the adapter's bookkeeping around ``command`` and ``cwd``, the
  command and the title ending with the model's line break, its ``content`` a note); approved, reports the call running (other bookkeeping) and its
  ``rawOutput``, then says so; denied, ends the turn ``cancelled``;
- ``askwrite PATH TEXT...``: writes a file as Claude Code's adapter does: the call announced
  with an empty input, again with its input and diff, a permission request naming it, then
  (approved) ``fs/write_text_file``; denied, the call fails and the turn ends;
- ``askedit PATH OLD NEW``: the same for an edit of a piece of the file (``OLD`` to
  ``NEW``), which it reads (``fs/read_text_file``) and writes whole;
- ``twice``: says two messages with a tool call between, then two by ``messageId``;
- ``mcpcall TOOL [JSON]``: calls TOOL of the session's first HTTP MCP server (Streamable
  HTTP, its headers sent; JSON: its arguments), reporting it as a tool call titled by the tool (no ``kind``, as Codex reports
  an MCP call), and says the result's first line;
- ``spin SECONDS NAME``: spends SECONDS of CPU (cancel stops it), then answers ``NAME
  spun`` with usage (the executor benchmark's work); with ``SCRIPTED_SPIN_LOG`` set, first
  appends ``NAME pid ppid`` to that file (which worker's agent started it, and how often),
  and ``NAME stopped pid ppid`` when a cancel stopped it;
- ``hold NAME``: the same, but held until the test releases it (the file
  ``SCRIPTED_SPIN_RELEASE`` names exists) where ``spin`` spends CPU: a task as long as the
  test needs, spending none.
- ``terminaljson {"command", "args", "env", "outputByteLimit"}``: the same, the request as
  given (``env`` a dict), answering ``{"exit", "output", "truncated"}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    Agent,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PromptResponse,
    RequestError,
    plan_entry,
    run_agent,
    start_tool_call,
    text_block,
    tool_content,
    tool_diff_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    ClientCapabilities,
    Cost,
    EnvVariable,
    Implementation,
    PermissionOption,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    ToolCallLocation,
    ToolCallUpdate,
    Usage,
    UsageUpdate,
)


class ScriptedAgent(Agent):
    _conn: Client

    def __init__(self) -> None:
        self._prompts: dict[str, int] = {}
        self._cancelled: dict[str, asyncio.Event] = {}
        self._cost = 0.0
        self._servers: dict[str, list[str]] = {}
        self._server_entries: dict[str, list[dict[str, Any]]] = {}
        self._terminal_offered = False

    def on_connect(self, conn: Client) -> None:
        self._conn = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        self._terminal_offered = bool(client_capabilities and client_capabilities.terminal)
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(load_session=True),
            agent_info=Implementation(name="scripted", title="Scripted agent", version="1.0"),
        )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any], **kwargs: Any
    ) -> NewSessionResponse:
        session_id = f"s{len(self._prompts) + 1}"
        self._prompts[session_id] = 0
        self._servers[session_id] = [server.name for server in mcp_servers]
        self._server_entries[session_id] = [
            server.model_dump(mode="json") for server in mcp_servers
        ]
        model = SessionConfigOptionSelect(
            id="model",
            name="Model",
            category="model",
            type="select",
            current_value="scripted-model-1",
            options=[SessionConfigSelectOption(value="scripted-model-1", name="Scripted 1")],
        )
        return NewSessionResponse(session_id=session_id, config_options=[model])

    async def load_session(
        self, cwd: str, mcp_servers: list[Any], session_id: str, **kwargs: Any
    ) -> LoadSessionResponse | None:
        self._prompts.setdefault(session_id, 0)
        await self._say(session_id, "replayed history")  # a load replays the session
        return LoadSessionResponse()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        self._cancelled.setdefault(session_id, asyncio.Event()).set()

    async def _say(self, session_id: str, text: str) -> None:
        await self._conn.session_update(session_id, update_agent_message_text(text))

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        self._prompts[session_id] = self._prompts.get(session_id, 0) + 1
        self._cancelled[session_id] = asyncio.Event()
        text = " ".join(getattr(block, "text", "") for block in prompt)
        word, _, rest = text.strip().partition(" ")
        handler = getattr(self, f"_{word}", None)
        if handler is None:
            await self._say(session_id, f"echo: {text}")
            return PromptResponse(stop_reason="end_turn")
        return await handler(session_id, rest)

    async def _think(self, session_id: str, rest: str) -> PromptResponse:
        await self._conn.session_update(session_id, update_agent_thought_text("pondering"))
        await self._say(session_id, "thought it through")
        return PromptResponse(stop_reason="end_turn")

    async def _edit(self, session_id: str, path: str) -> PromptResponse:
        await self._conn.session_update(
            session_id, update_plan([plan_entry("edit the file", status="in_progress")])
        )
        call = start_tool_call(
            "call-1",
            f"Edit {path}",
            kind="edit",
            status="pending",
            locations=[ToolCallLocation(path=path, line=1)],
            raw_input={"path": path},
        )
        await self._conn.session_update(session_id, call)
        diff = tool_diff_content(path, "new line\n", "old line\n")
        await self._conn.session_update(
            session_id, update_tool_call("call-1", status="completed", content=[diff])
        )
        self._cost += 0.25
        usage = UsageUpdate(
            session_update="usage_update",
            used=1000,
            size=200000,
            cost=Cost(amount=self._cost, currency="USD"),
        )
        await self._conn.session_update(session_id, usage)
        await self._say(session_id, "edited")
        return PromptResponse(
            stop_reason="end_turn",
            usage=Usage(input_tokens=120, output_tokens=30, total_tokens=150),
        )

    async def _permission(self, session_id: str, rest: str) -> PromptResponse:
        await self._conn.session_update(
            session_id,
            start_tool_call("call-p", "Run rm -rf build", kind="execute", status="pending"),
        )
        options = [
            PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
            PermissionOption(option_id="always", name="Always allow", kind="allow_always"),
            PermissionOption(option_id="no", name="Reject", kind="reject_once"),
        ]
        answer = await self._conn.request_permission(
            session_id=session_id,
            tool_call=ToolCallUpdate(
                tool_call_id="call-p", title="Run rm -rf build", kind="execute"
            ),
            options=options,
        )
        outcome = answer.outcome
        chosen = getattr(outcome, "option_id", None) or outcome.outcome
        status = "completed" if chosen in ("yes", "always") else "failed"
        await self._conn.session_update(session_id, update_tool_call("call-p", status=status))
        await self._say(session_id, f"permission: {chosen}")
        return PromptResponse(stop_reason="end_turn")

    async def _slow(self, session_id: str, rest: str, *, stubborn: bool = False) -> PromptResponse:
        cancelled = self._cancelled[session_id]
        for n in range(100000):
            if cancelled.is_set() and not stubborn:
                return PromptResponse(stop_reason="cancelled")
            await self._say(session_id, f"w{n} ")
            await asyncio.sleep(0.05)
        return PromptResponse(stop_reason="end_turn")

    async def _words(self, session_id: str, rest: str) -> PromptResponse:
        count, _, wait = rest.partition(" ")
        await asyncio.sleep(float(wait or 0))
        for n in range(int(count)):
            await self._say(session_id, f"w{n} ")
        return PromptResponse(stop_reason="end_turn")

    async def _spin(self, session_id: str, rest: str) -> PromptResponse:
        seconds, _, name = rest.partition(" ")
        cancelled = self._cancelled[session_id]
        return await self._spun(session_id, name, _spend_cpu, float(seconds), cancelled, name)

    async def _hold(self, session_id: str, name: str) -> PromptResponse:
        return await self._spun(session_id, name, _held, self._cancelled[session_id], name)

    async def _spun(
        self, session_id: str, name: str, work: Callable[..., bool], *args: Any
    ) -> PromptResponse:
        """Run ``work(*args)`` in a thread; answer ``NAME spun`` when it ends, or note the
        stop when it was cancelled first (it returned False)."""
        if not await asyncio.to_thread(work, *args):
            await asyncio.to_thread(_note, f"{name} stopped")
            return PromptResponse(stop_reason="cancelled")
        await self._say(session_id, f"{name} spun")
        return PromptResponse(
            stop_reason="end_turn",
            usage=Usage(input_tokens=len(name) + 10, output_tokens=3, total_tokens=len(name) + 13),
        )

    async def _stubborn(self, session_id: str, rest: str) -> PromptResponse:
        return await self._slow(session_id, rest, stubborn=True)

    async def _read(self, session_id: str, path: str) -> PromptResponse:
        try:
            answer = await self._conn.read_text_file(session_id=session_id, path=path)
        except RequestError as exc:
            await self._say(session_id, f"read refused: {exc}")
        else:
            await self._say(session_id, f"read: {answer.content}")
        return PromptResponse(stop_reason="end_turn")

    async def _reads(self, session_id: str, rest: str) -> PromptResponse:
        said = []
        for path in rest.split():
            try:
                answer = await self._conn.read_text_file(session_id=session_id, path=path)
            except RequestError as exc:
                said.append(f"refused: {exc}")
            else:
                said.append(answer.content.strip())
        await self._say(session_id, " | ".join(said))
        return PromptResponse(stop_reason="end_turn")

    async def _write(self, session_id: str, rest: str) -> PromptResponse:
        path, _, content = rest.partition(" ")
        try:
            await self._conn.write_text_file(session_id=session_id, path=path, content=content)
        except RequestError as exc:
            await self._say(session_id, f"write refused: {exc}")
        else:
            await self._say(session_id, "written")
        return PromptResponse(stop_reason="end_turn")

    async def _crash(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, "about to crash")
        await asyncio.sleep(0.2)
        sys.stderr.write("Traceback: something broke inside the agent\n")
        sys.stderr.flush()
        os._exit(3)

    async def _orphan(self, session_id: str, rest: str) -> PromptResponse:
        child = await asyncio.create_subprocess_exec(  # stdout inherited: the pipe stays open
            sys.executable, "-c", "import time; time.sleep(600)"
        )
        await self._say(session_id, f"child {child.pid}")
        await asyncio.sleep(0.2)
        sys.stderr.write("Traceback: the agent went, its child did not\n")
        sys.stderr.flush()
        os._exit(3)

    async def _chatty(self, session_id: str, rest: str) -> PromptResponse:
        line = "x" * 999 + "\n"
        for _ in range(2000):
            sys.stderr.write(line)
        sys.stderr.flush()
        await self._say(session_id, "still here")
        return PromptResponse(stop_reason="end_turn")

    async def _refuse(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, "I will not")
        return PromptResponse(stop_reason="refusal")

    async def _cut(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, "a long answer that")
        return PromptResponse(stop_reason="max_tokens")

    async def _env(self, session_id: str, name: str) -> PromptResponse:
        await self._say(session_id, f"{name}={os.environ.get(name.strip())}")
        return PromptResponse(stop_reason="end_turn")

    async def _child(self, session_id: str, rest: str) -> PromptResponse:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(600)"
        )
        await self._say(session_id, f"child {child.pid}")
        return PromptResponse(stop_reason="end_turn")

    async def _mcpjson(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, json.dumps(self._server_entries.get(session_id)))
        return PromptResponse(stop_reason="end_turn")

    async def _mcp(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, f"mcp servers: {self._servers.get(session_id)}")
        return PromptResponse(stop_reason="end_turn")

    async def _terminal(self, session_id: str, rest: str) -> PromptResponse:
        if not self._terminal_offered:
            await self._say(session_id, "terminal not offered")
            return PromptResponse(stop_reason="end_turn")
        command, *args = rest.split()
        try:
            made = await self._conn.create_terminal(
                session_id=session_id, command=command, args=args
            )
        except RequestError as exc:
            await self._say(session_id, f"terminal refused: {exc}")
            return PromptResponse(stop_reason="end_turn")
        ended = await self._conn.wait_for_terminal_exit(
            session_id=session_id, terminal_id=made.terminal_id
        )
        output = await self._conn.terminal_output(
            session_id=session_id, terminal_id=made.terminal_id
        )
        await self._conn.release_terminal(session_id=session_id, terminal_id=made.terminal_id)
        await self._say(session_id, f"exit {ended.exit_code}: {output.output.strip()}")
        return PromptResponse(stop_reason="end_turn")

    async def _ask(self, session_id: str, call: ToolCallUpdate) -> bool:
        options = [
            PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
            PermissionOption(option_id="reject", name="Reject", kind="reject_once"),
        ]
        answer = await self._conn.request_permission(
            session_id=session_id, tool_call=call, options=options
        )
        return getattr(answer.outcome, "option_id", None) == "allow"

    async def _askrun(self, session_id: str, command: str) -> PromptResponse:
        await self._say(session_id, "Model metadata not found; this can cause issues.")
        words = ["/bin/bash", "-lc", f"{command}\n"]  # as a model writes it, a line break last
        asked = {"call_id": "c1", "turn_id": "t1", "command": words, "cwd": os.getcwd()}
        asked |= {"parsed_cmd": [{"type": "unknown", "cmd": command}]}
        note = tool_content(text_block(f"Proposed Amendment: {command}"))
        call = ToolCallUpdate(
            tool_call_id="run-1",
            title=f"{command}\n",
            kind="execute",
            status="pending",
            raw_input=asked,
            content=[note],
        )
        if not await self._ask(session_id, call):
            return PromptResponse(stop_reason="cancelled")
        running = {**asked, "process_id": "42", "source": "unified_exec_startup"}
        del running["parsed_cmd"]
        started = start_tool_call(
            "run-1", command, kind="execute", status="in_progress", raw_input=running
        )
        await self._conn.session_update(session_id, started)
        output = {"stdout": f"ran {command}\n", "exit_code": 0, "formatted_output": "done\n"}
        await self._conn.session_update(
            session_id, update_tool_call("run-1", status="completed", raw_output=output)
        )
        await self._say(session_id, "The command ran.")
        return PromptResponse(stop_reason="end_turn")

    async def _askwrite(self, session_id: str, rest: str) -> PromptResponse:
        path, _, text = rest.partition(" ")
        given = {"file_path": path, "content": text}
        return await self._write_asked(session_id, path, given, None, text)

    async def _askedit(self, session_id: str, rest: str) -> PromptResponse:
        path, old, new = rest.split(" ", 2)
        given = {"file_path": path, "old_string": old, "new_string": new}
        return await self._write_asked(session_id, path, given, old, new)

    async def _write_asked(
        self, session_id: str, path: str, given: dict[str, Any], old: str | None, new: str
    ) -> PromptResponse:
        """Claude Code's way: announced empty, then with its input and diff (``old`` to
        ``new``: a new file, or a piece of it), asked, then written whole."""
        empty = start_tool_call("w-1", "Write", kind="edit", status="pending", raw_input={})
        await self._conn.session_update(session_id, empty)
        full = start_tool_call(
            "w-1",
            f"Write {path}",
            kind="edit",
            status="pending",
            raw_input=given,
            content=[tool_diff_content(path, new, old)],
            locations=[ToolCallLocation(path=path)],
        )
        await self._conn.session_update(session_id, full)
        call = ToolCallUpdate(tool_call_id="w-1", title=f"Write {path}", raw_input=given)
        if not await self._ask(session_id, call):
            refused = tool_content(text_block("User refused permission to run tool"))
            await self._conn.session_update(
                session_id, update_tool_call("w-1", status="failed", content=[refused])
            )
            return PromptResponse(stop_reason="end_turn")
        text = new
        if old is not None:
            read = await self._conn.read_text_file(session_id=session_id, path=path)
            text = read.content.replace(old, new, 1)
        try:
            await self._conn.write_text_file(session_id=session_id, path=path, content=text)
        except RequestError as exc:
            await self._conn.session_update(session_id, update_tool_call("w-1", status="failed"))
            await self._say(session_id, f"write refused: {exc}")
            return PromptResponse(stop_reason="end_turn")
        said = [text_block(f"The file {path} has been updated successfully.")]
        await self._conn.session_update(
            session_id, update_tool_call("w-1", status="completed", raw_output=said)
        )
        await self._say(session_id, "written")
        return PromptResponse(stop_reason="end_turn")

    async def _twice(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, "First message.")
        await self._conn.session_update(
            session_id, start_tool_call("t-1", "Look", kind="read", status="completed")
        )
        await self._say(session_id, "Second message.")
        for message_id, text in (("m1", "Third"), ("m1", " message."), ("m2", "Fourth.")):
            chunk = update_agent_message_text(text)
            chunk.message_id = message_id
            await self._conn.session_update(session_id, chunk)
        return PromptResponse(stop_reason="end_turn")

    async def _mcpcall(self, session_id: str, rest: str) -> PromptResponse:
        tool, _, arguments = rest.partition(" ")
        [server, *_] = [s for s in self._server_entries[session_id] if s.get("url")]
        title = f"notebook/{tool}"
        await self._conn.session_update(
            session_id, start_tool_call("m-1", title, status="in_progress", raw_input={})
        )
        said = await asyncio.to_thread(mcp_call, server, tool, json.loads(arguments or "{}"))
        output = [text_block(said)]
        await self._conn.session_update(
            session_id, update_tool_call("m-1", status="completed", raw_output=output)
        )
        await self._say(session_id, f"the notebook said: {said.splitlines()[0]}")
        return PromptResponse(stop_reason="end_turn")

    async def _terminaljson(self, session_id: str, rest: str) -> PromptResponse:
        spec = json.loads(rest)
        env = [EnvVariable(name=k, value=v) for k, v in (spec.get("env") or {}).items()]
        try:
            made = await self._conn.create_terminal(
                session_id=session_id,
                command=spec["command"],
                args=spec.get("args"),
                env=env or None,
                output_byte_limit=spec.get("outputByteLimit"),
            )
        except RequestError as exc:
            await self._say(session_id, f"terminal refused: {exc}")
            return PromptResponse(stop_reason="end_turn")
        terminal_id = made.terminal_id
        ended = await self._conn.wait_for_terminal_exit(
            session_id=session_id, terminal_id=terminal_id
        )
        output = await self._conn.terminal_output(session_id=session_id, terminal_id=terminal_id)
        await self._conn.release_terminal(session_id=session_id, terminal_id=terminal_id)
        said = {"exit": ended.exit_code, "output": output.output, "truncated": output.truncated}
        await self._say(session_id, json.dumps(said))
        return PromptResponse(stop_reason="end_turn")

    async def _count(self, session_id: str, rest: str) -> PromptResponse:
        await self._say(session_id, f"prompts in this session: {self._prompts[session_id]}")
        return PromptResponse(stop_reason="end_turn")


def mcp_call(server: dict[str, Any], tool: str, arguments: dict[str, Any]) -> str:
    """``tools/call`` of ``tool`` on a Streamable HTTP MCP server (initialize first): the
    text of its result (or its error)."""
    headers = {h["name"]: h["value"] for h in server.get("headers") or []}
    headers |= {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    def post(body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        request = urllib.request.Request(
            server["url"], json.dumps(body).encode(), headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            session = answer.headers.get("mcp-session-id")
            text = answer.read().decode()
        lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
        found = json.loads(lines[-1] if lines else text) if text.strip() else None
        return found, session

    hello = {"protocolVersion": "2025-06-18", "capabilities": {}}
    hello |= {"clientInfo": {"name": "scripted", "version": "1.0"}}
    _, session = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
    if session:
        headers["mcp-session-id"] = session
    post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    call = {"name": tool, "arguments": arguments}
    answer, _ = post({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    result = (answer or {}).get("result") or {}
    texts = [c.get("text", "") for c in result.get("content") or []]
    return "\n".join(texts) or json.dumps(answer)


def _note(what: str) -> None:
    """Append ``what``, this process's id and its parent's to ``SCRIPTED_SPIN_LOG``."""
    log = os.environ.get("SCRIPTED_SPIN_LOG")
    if log:
        with open(log, "a") as file:
            file.write(f"{what} {os.getpid()} {os.getppid()}\n")


def _spend_cpu(seconds: float, cancelled: asyncio.Event, name: str) -> bool:
    """Note the start in ``SCRIPTED_SPIN_LOG`` (where set), then spend ``seconds`` of this
    process's CPU; False when cancelled first."""
    _note(name)
    end = time.process_time() + seconds
    while time.process_time() < end:
        if cancelled.is_set():
            return False
        sum(range(10000))
    return True


def _held(cancelled: asyncio.Event, name: str) -> bool:
    """Note the start in ``SCRIPTED_SPIN_LOG`` (where set), then wait until the test releases
    the spin (the file ``SCRIPTED_SPIN_RELEASE`` names exists); False when cancelled first."""
    _note(name)
    release = os.environ["SCRIPTED_SPIN_RELEASE"]
    while not os.path.exists(release):
        if cancelled.is_set():
            return False
        time.sleep(0.05)
    return True


async def main() -> None:
    await run_agent(ScriptedAgent())


if __name__ == "__main__":
    asyncio.run(main())
