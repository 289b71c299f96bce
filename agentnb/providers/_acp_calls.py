"""An ACP tool call read for what its fields are (agentclientprotocol.com/protocol/tool-calls),
as a card shows it: the command line and its cwd, the path, the proposed diff, the MCP tool
it calls, with the agent's notes and its whole ``rawInput`` put aside (the whole call's).

A ``tool_call`` and each ``tool_call_update`` (and a permission request's ``toolCall``) carry
the fields that changed: those present replace the call's. ``title`` names what the call does
in words (the card's question, and its name where the agent gives no ``kind``); ``kind``,
``locations`` and ``rawInput`` say what it does. ``content`` that comes before the call runs
(a permission request's, or an update while the call is ``pending``) is what the agent
*proposes*, a diff to write, a note: shown on the card as the call's ``diff`` and ``details``,
never as its output. Once the call runs (``in_progress``, ``completed``, ``failed``) its
content, else its ``rawOutput``, is its output, read as text."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from typing import Any

from .._core.transcript import CardArguments, action_of
from ._frames import as_dict

__all__ = [
    "AcpCall",
    "block_text",
    "content_text",
    "output_of",
    "shell_line",
    "shown_diff",
]

_RUNNING = frozenset({"in_progress", "completed", "failed"})
_COMMAND_KEYS = ("command", "cmd")
_CWD_KEYS = ("cwd", "workdir", "working_directory")
_PATH_KEYS = ("file_path", "path", "filePath", "abs_path", "notebook_path")
_OUTPUT_KEYS = ("formatted_output", "aggregated_output", "output", "stdout", "content", "text")
_ASIDE = ("details", "input")
"""The agent's notes and whole input: the card's bookkeeping, where it shows what a call does."""
_ASKED_TOOL = re.compile(r'run tool "([^"]+)"')


def shown_diff(path: str, old: str | None, new: str) -> str:
    """A diff as a person reads one: unified, the file named (a new file: every line added)."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path.lstrip('/')}",
        tofile=f"b/{path.lstrip('/')}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def block_text(block: Any) -> str | None:
    """A content block's text (a resource's, a link as markdown); None: no text."""
    obj = as_dict(block)
    if obj is None:
        return None
    if obj.get("type") == "text" and isinstance(obj.get("text"), str):
        return str(obj["text"])
    resource = as_dict(obj.get("resource"))
    if obj.get("type") == "resource" and resource and isinstance(resource.get("text"), str):
        return str(resource["text"])
    if obj.get("type") == "resource_link":
        return f"[{obj.get('name') or 'resource'}]({obj.get('uri')})"
    return None


def _diff_of(item: Mapping[str, Any]) -> str:
    old = item.get("oldText")
    return shown_diff(
        str(item.get("path", "")), old if isinstance(old, str) else None, str(item["newText"])
    )


def content_text(content: Any) -> str | None:
    """A tool call's content as text: its text blocks, each diff as a unified diff, a
    terminal by its id (None: no content)."""
    if not isinstance(content, list):
        return None
    parts: list[str] = []
    for item in content:
        obj = as_dict(item) or {}
        if obj.get("type") == "diff" and isinstance(obj.get("newText"), str):
            parts.append(_diff_of(obj))
        elif obj.get("type") == "terminal":
            parts.append(f"[terminal {obj.get('terminalId')}]")
        elif (text := block_text(obj.get("content"))) is not None:
            parts.append(text)
    return "\n".join(parts) if parts else None


def output_of(update: Mapping[str, Any]) -> Any:
    """What a call that ran gave back, as text where the agent sent text: its content, else
    its ``rawOutput`` (content blocks read as their text; an object whose output is under a
    known key, such as a command's ``formatted_output`` or ``stdout``, as that text); else
    the ``rawOutput`` as it came (None: neither)."""
    if (text := content_text(update.get("content"))) is not None:
        return text
    raw = update.get("rawOutput")
    if isinstance(raw, list):
        texts = [block_text(block) for block in raw]
        if texts and all(t is not None for t in texts):
            return "\n".join(t for t in texts if t is not None)
    if isinstance(raw, dict):
        for key in _OUTPUT_KEYS:
            if isinstance(raw.get(key), str):
                code = raw.get("exit_code", raw.get("exitCode"))
                tail = f"\n[exit code {code}]" if isinstance(code, int) and code != 0 else ""
                return str(raw[key]) + tail
    return raw


def shell_line(words: list[str]) -> str:
    """Words as a shell reads them back, without the whitespace the last one ends with (a
    script's last line break hides nothing)."""
    return shlex.join([*words[:-1], words[-1].rstrip()])


def _first_text(raw: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((value for key in keys if isinstance(value := raw.get(key), str) and value), None)


def _command_line(raw: Mapping[str, Any]) -> str | None:
    """The command a ``rawInput`` runs, as a shell line (a list of words joined as a shell
    would read them back), without the whitespace it ends with (a script's last line break)."""
    for key in _COMMAND_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value.rstrip()
        if isinstance(value, list) and value and all(isinstance(w, str) for w in value):
            return shell_line(value)
    return None


def _mcp_call(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """The MCP tool call a ``rawInput`` makes, in either of Codex's spellings: its call's
    ``server``, ``tool`` and ``arguments``, or its permission request's ``server_name`` and
    form (``codex_approval_kind`` ``mcp_tool_call``), the tool named in its message and the
    arguments in ``tool_params``. None: no MCP tool call."""
    if isinstance(raw.get("server"), str) and isinstance(raw.get("tool"), str):
        return {"server": raw["server"], "tool": raw["tool"], "arguments": raw.get("arguments")}
    request = as_dict(raw.get("request")) or {}
    meta = as_dict(request.get("_meta")) or {}
    tool = _ASKED_TOOL.search(str(request.get("message")))
    if meta.get("codex_approval_kind") != "mcp_tool_call" or not tool or not raw.get("server_name"):
        return None
    return {"server": raw["server_name"], "tool": tool[1], "arguments": meta.get("tool_params")}


class AcpCall:
    """What a turn knows of one of the agent's tool calls (see the module)."""

    __slots__ = (
        "asked_action",
        "details",
        "diffs",
        "finished",
        "fixed",
        "kind",
        "locations",
        "raw_input",
        "running",
        "title",
    )

    def __init__(self, fixed: dict[str, Any] | None = None, kind: str | None = None) -> None:
        self.fixed = fixed
        """A client request's arguments as the card shows them (a file, a terminal)."""
        self.title: str | None = None
        self.kind = kind
        self.locations: list[str] = []
        self.raw_input: Any = None
        self.diffs: list[Mapping[str, Any]] = []
        """The diffs the agent proposes (``path``, ``oldText``, ``newText``)."""
        self.details: str | None = None
        """The proposal's text, other than its diffs."""
        self.running = False
        self.finished = False
        self.asked_action: dict[str, Any] | None = None
        """What the call does, as the card asking for a decision showed it."""

    @property
    def name(self) -> str:
        """The tool's name on the card: its ``kind``, else the MCP tool it calls
        (``server/tool``), else its ``title``."""
        mcp = _mcp_call(as_dict(self.raw_input) or {})
        return self.kind or (mcp and f"{mcp['server']}/{mcp['tool']}") or self.title or "tool"

    def merge(self, update: Mapping[str, Any], *, proposal: bool = False) -> None:
        """Take the fields ``update`` carries; its content is a proposal when it came with a
        permission request (``proposal``) or before the call runs."""
        if isinstance(update.get("title"), str) and update["title"].strip():
            self.title = update["title"].strip()
        if isinstance(update.get("kind"), str) and update["kind"] and update["kind"] != "other":
            self.kind = update["kind"]
        if isinstance(update.get("locations"), list):
            paths = [as_dict(loc) or {} for loc in update["locations"]]
            self.locations = [str(p["path"]) for p in paths if isinstance(p.get("path"), str)]
        if update.get("rawInput") is not None:
            self.raw_input = update["rawInput"]
        if update.get("status") in _RUNNING:
            self.running = True
        if (proposal or not self.running) and isinstance(update.get("content"), list):
            self._propose(update["content"])

    def _propose(self, content: list[Any]) -> None:
        items = [as_dict(item) or {} for item in content]
        self.diffs = [
            i for i in items if i.get("type") == "diff" and isinstance(i.get("newText"), str)
        ]
        others = [i for i in items if i.get("type") != "diff"]
        self.details = content_text(others)

    def arguments(self) -> dict[str, Any]:
        """The call as the card shows it: what it does, then, put aside where it says that, the
        agent's notes and its whole input."""
        if self.fixed is not None:
            return self.fixed
        raw = as_dict(self.raw_input) or {}
        arguments: dict[str, Any] = _mcp_call(raw) or {}
        if (command := _command_line(raw)) is not None:
            arguments["command"] = command
        if (cwd := _first_text(raw, _CWD_KEYS)) is not None:
            arguments["cwd"] = cwd
        diffed = [str(d["path"]) for d in self.diffs if isinstance(d.get("path"), str)]
        paths = list(dict.fromkeys([*self.locations, *diffed]))
        if not paths and (path := _first_text(raw, _PATH_KEYS)) is not None:
            paths = [path]
        if len(paths) == 1:
            arguments["path"] = paths[0]
        elif paths:
            arguments["paths"] = paths
        if self.diffs:
            arguments["diff"] = "".join(_diff_of(d) for d in self.diffs)
        aside = _ASIDE if arguments else ()
        if self.details:
            arguments["details"] = self.details
        if self.raw_input is not None:
            arguments["input"] = self.raw_input
        if not arguments and self.title:
            arguments["title"] = self.title  # all the agent says of what the call does
        return CardArguments(arguments, aside)

    def action(self) -> Any:
        """What the call does, to tell another call from more words about the same one."""
        arguments = self.arguments()
        return action_of(arguments, arguments)

    def question(self) -> str | None:
        """What the card asks about, in the agent's words: the title, and the agent's
        justification where its input gives one."""
        raw = as_dict(self.raw_input) or {}
        why = _first_text(raw, ("justification", "reason", "description"))
        return " — ".join(text for text in (self.title, why) if text) or None

    def permits(self, call_id: str) -> list[dict[str, Any]]:
        """The writes the proposal's diffs are: an approval of the call lets the client make
        each one without asking again (see the transport)."""
        return [
            {"call": call_id, "path": d.get("path"), "old": d.get("oldText"), "new": d["newText"]}
            for d in self.diffs
            if isinstance(d.get("path"), str)
        ]
