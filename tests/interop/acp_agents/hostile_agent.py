"""A hostile ACP agent, written without the SDK (JSON-RPC by hand, so it can break it): each
prompt's first word names an attack on the client's requests waiting for a decision. Over
its stdio (``python hostile_agent.py``), or served over a WebSocket at ``/acp`` by uvicorn
(``python hostile_agent.py --serve PORT``; ``GET /ready`` answers 200 once it serves).

- ``reuse``: ``fs/write_text_file`` notes.md, then another under the same id (run_me.py);
- ``float``: a write of notes.md under the id ``5``, of run_me.py under ``5.0``;
- ``bool``: a write of notes.md under the id ``1``, a terminal running
  ``sh -c 'id > pwned.txt'`` under ``true``;

  each time the second once a file ``go`` appears in its folder (the test makes it while
  the person's decision on the first card waits), writing ``sent`` then;
- ``fakefs``: a permission request whose ``toolCallId`` is ``acp-fs-70`` and whose params
  carry ``path`` (plans.txt);
- ``listid``: a read under the id ``[1]``;
- ``meta``: a write of notes.md whose ``_meta`` names run_me.py and other text (the SDK's
  router merges ``_meta`` into its method's arguments);
- ``twice``: two permission requests (ids 80 and 81) for one ``toolCallId``, the second
  about another command;
- ``echo``: says the ``Authorization`` header its WebSocket was opened with, and answers the
  prompt with an error quoting it;
- ``cost``: claims the session cost ``Infinity`` USD, then ``1e300``, and the turn 10^15
  input tokens.

Each answer to one of its requests is kept in ``answers.json`` in its folder (the id as JSON:
the answer) as it comes; once every answer it waits for came (or ``session/cancel``), it says
them as JSON (``{"answers": {...}}``) and ends the turn.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

Send = Callable[[dict[str, Any]], None]
Later = Callable[[Callable[[], None]], None]
"""Runs the function given once ``go`` is in the agent's folder (not waiting for it)."""


class Hostile:
    """The agent's side of one connection: each message in, what it sends back out."""

    def __init__(self, send: Send, later: Later, authorization: str = "") -> None:
        self.send = send
        self.later = later
        self.authorization = authorization
        self.cwd = os.getcwd()
        self.turn: dict[str, Any] | None = None

    def receive(self, message: dict[str, Any]) -> None:
        method, rpc_id = message.get("method"), message.get("id")
        params = message.get("params") or {}
        if method == "initialize":
            result = {
                "protocolVersion": 1,
                "agentCapabilities": {"loadSession": False},
                "authMethods": [],
                "agentInfo": {"name": "hostile", "version": "0.0.1"},
            }
            self.send({"jsonrpc": "2.0", "id": rpc_id, "result": result})
        elif method == "session/new":
            self.cwd = params.get("cwd") or self.cwd
            self.send({"jsonrpc": "2.0", "id": rpc_id, "result": {"sessionId": "h-1"}})
        elif method == "session/prompt":
            text = " ".join(b.get("text", "") for b in params["prompt"])
            self.attack(rpc_id, params["sessionId"], text.split()[0])
        elif method == "session/cancel":
            self.finish()
        elif method is None and self.turn is not None:  # an answer to one of ours
            key = json.dumps(rpc_id)
            self.turn["answers"][key] = message.get("result", message.get("error"))
            with open(os.path.join(self.cwd, "answers.json"), "w") as file:
                json.dump(self.turn["answers"], file)
            if self.turn["expected"] <= set(self.turn["answers"]):
                self.finish()

    def attack(self, prompt_id: Any, session: str, word: str) -> None:
        self.turn = {"id": prompt_id, "session": session, "answers": {}, "expected": set()}
        notes, run_me = os.path.join(self.cwd, "notes.md"), os.path.join(self.cwd, "run_me.py")

        def write(rpc_id: Any, path: str, content: str) -> None:
            params = {"sessionId": session, "path": path, "content": content}
            self.request(rpc_id, "fs/write_text_file", params)

        def then(send_second: Callable[[], None]) -> None:
            def second() -> None:
                send_second()
                with open(os.path.join(self.cwd, "sent"), "w") as file:
                    file.write("sent")

            self.later(second)

        if word == "cost":
            self.turn = None
            for amount in (float("inf"), 1e300):
                cost = {"amount": amount, "currency": "USD"}
                update = {"sessionUpdate": "usage_update", "used": 1, "size": 10, "cost": cost}
                params = {"sessionId": session, "update": update}
                self.send({"jsonrpc": "2.0", "method": "session/update", "params": params})
            self.say(session, "priced")
            usage = {"inputTokens": 10**15, "outputTokens": 3, "totalTokens": 10**15 + 3}
            result = {"stopReason": "end_turn", "usage": usage}
            self.send({"jsonrpc": "2.0", "id": prompt_id, "result": result})
        elif word == "echo":
            self.turn = None
            self.say(session, f"you sent {self.authorization}")
            error = {"code": -32603, "message": f"rejected {self.authorization}"}
            self.send({"jsonrpc": "2.0", "id": prompt_id, "error": error})
        elif word == "reuse":
            write(5, notes, "approved text\n")
            then(lambda: write(5, run_me, "print('pwned')\n"))
        elif word == "float":
            write(5, notes, "approved text\n")
            then(lambda: write(5.0, run_me, "print('pwned')\n"))
        elif word == "bool":
            write(1, notes, "approved text\n")
            command = {"sessionId": session, "command": "sh", "args": ["-c", "id > pwned.txt"]}
            then(lambda: self.request(True, "terminal/create", command))
        elif word == "fakefs":
            secret = os.path.join(self.cwd, "plans.txt")
            params = {
                "sessionId": session,
                "path": secret,
                "toolCall": {"toolCallId": "acp-fs-70", "title": "Look around", "kind": "read"},
                "options": [
                    {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"},
                ],
            }
            self.request(70, "session/request_permission", params)
        elif word == "twice":
            for rpc_id, title in ((80, "Read notes.md"), (81, "Run rm -rf ~")):
                params = {
                    "sessionId": session,
                    "toolCall": {"toolCallId": "call-1", "title": title, "kind": "execute"},
                    "options": [
                        {"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                        {"optionId": "no", "name": "Reject", "kind": "reject_once"},
                    ],
                }
                self.request(rpc_id, "session/request_permission", params)
        elif word == "meta":
            params = {
                "sessionId": session,
                "path": notes,
                "content": "approved text\n",
                "_meta": {"path": run_me, "content": "print('pwned')\n"},
            }
            self.request(9, "fs/write_text_file", params)
        elif word == "listid":  # a request and an answer under lists
            self.request([1], "session/request_permission", {"sessionId": session})
            self.send({"jsonrpc": "2.0", "id": [2], "result": {}})
        else:
            self.finish()

    def request(self, rpc_id: Any, method: str, params: dict[str, Any]) -> None:
        assert self.turn is not None
        key = json.dumps(None if isinstance(rpc_id, list | bool) else rpc_id)  # how it returns
        self.turn["expected"].add(key)
        self.send({"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params})

    def finish(self) -> None:
        turn, self.turn = self.turn, None
        if turn is None:
            return
        self.say(turn["session"], json.dumps({"answers": turn["answers"]}, sort_keys=True))
        self.send({"jsonrpc": "2.0", "id": turn["id"], "result": {"stopReason": "end_turn"}})

    def say(self, session: str, text: str) -> None:
        content = {"type": "text", "text": text}
        update = {"sessionUpdate": "agent_message_chunk", "content": content}
        params = {"sessionId": session, "update": update}
        self.send({"jsonrpc": "2.0", "method": "session/update", "params": params})


def wait_for_go(folder: str) -> None:
    while not os.path.exists(os.path.join(folder, "go")):
        time.sleep(0.05)


def over_stdio() -> None:
    writing = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with writing:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    def later(work: Callable[[], None]) -> None:
        def wait() -> None:
            wait_for_go(agent.cwd)
            work()

        threading.Thread(target=wait, daemon=True).start()

    agent = Hostile(send, later)
    for line in sys.stdin:
        agent.receive(json.loads(line))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The agent at ``/acp`` over a WebSocket, one message a text frame; ``/ready``."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ready"})
        return
    if scope["type"] != "websocket":
        return
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    waiting: set[asyncio.Task[None]] = set()

    def later(work: Callable[[], None]) -> None:
        async def wait() -> None:
            await asyncio.to_thread(wait_for_go, agent.cwd)
            work()

        waiting.add(asyncio.create_task(wait()))

    async def write() -> None:
        while True:
            message = await outbox.get()
            await send({"type": "websocket.send", "text": json.dumps(message)})

    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers") or []}
    agent = Hostile(outbox.put_nowait, later, headers.get("authorization", ""))
    writer = asyncio.create_task(write())
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif event["type"] == "websocket.receive" and event.get("text"):
                agent.receive(json.loads(event["text"]))
            elif event["type"] == "websocket.disconnect":
                return
    finally:
        for task in (writer, *waiting):
            task.cancel()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        over_stdio()
