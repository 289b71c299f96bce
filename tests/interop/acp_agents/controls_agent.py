"""A scripted ACP agent on the official SDK (``agent-client-protocol``) with the session's own
controls: settings (``configOptions``: a model, a mode, an effort), slash commands, a plan,
image prompts, ``session/list`` and ``session/load`` replaying past turns. Run as a subprocess
from ``.tools/acp`` by the tests. ``CONTROLS_STYLE`` says how it advertises its settings:

- ``config`` (default): ``configOptions`` (``session/set_config_option``);
- ``modes``: only the older ``modes`` (``session/set_mode``), no ``configOptions``;
- ``none``: no settings, no commands, no session/list nor session/load, text prompts only;
- ``hostile``: hundreds of settings and commands, names with markup, line breaks and bidi
  controls, a plan of 10,000 entries, and it claims images but rejects them.

``CONTROLS_SET_DELAY`` (seconds) delays its answer to ``session/set_config_option``,
``CONTROLS_REFUSE`` names a setting whose every change it refuses (an error), and
``CONTROLS_LOG`` a file it appends each setting it was asked to set to (``set ID VALUE``).

The prompt's first word says what it does: ``settings`` (answers the settings in effect),
``plan`` (a plan of three entries, updated), ``how`` (whether the session was resumed), ``blocks`` (answers the prompt's blocks by
type), ``attached`` (answers the prompt's blocks whole, as JSON), ``bigplan`` (a plan of 10,000
entries); anything else is echoed.
"""

from __future__ import annotations

import asyncio
import json
import os
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
    update_agent_message_text,
    update_plan,
    update_user_message_text,
)
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    AvailableCommand,
    AvailableCommandInput,
    AvailableCommandsUpdate,
    CurrentModeUpdate,
    Implementation,
    ListSessionsResponse,
    PromptCapabilities,
    ResumeSessionResponse,
    SessionCapabilities,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    SessionInfo,
    SessionListCapabilities,
    SessionMode,
    SessionModeState,
    SessionResumeCapabilities,
    SetSessionConfigOptionResponse,
    SetSessionModeResponse,
    UnstructuredCommandInput,
)

STYLE = os.environ.get("CONTROLS_STYLE", "config")
CHOICES = {
    "model": ["controls-model-1", "controls-model-2"],
    "mode": ["ask", "code"],
    "effort": ["low", "high"],
}
CATEGORY = {"model": "model", "mode": "mode", "effort": "thought_level"}
BIDI = "\u202e"


class ControlsAgent(Agent):
    _conn: Client

    def __init__(self) -> None:
        self._settings: dict[str, dict[str, str]] = {}
        self._turns: dict[str, list[tuple[str, str]]] = {}
        self._resumed: set[str] = set()
        self._past = {
            "past-1": [("fix the tests", "fixed 3 tests"), ("now the docs", "docs updated")],
        }
        if STYLE == "hostile":  # a past turn of 3 MiB: past a 1 MiB run's bound
            self._past["past-huge"] = [("dump it", "x" * (3 * 1024 * 1024)), ("and", "then")]

    def on_connect(self, conn: Client) -> None:
        self._conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        sessions = SessionCapabilities(
            list=SessionListCapabilities(),
            resume=SessionResumeCapabilities() if STYLE == "config" else None,
        )
        capabilities = AgentCapabilities(
            load_session=STYLE != "none",
            prompt_capabilities=PromptCapabilities(
                image=STYLE != "none", embedded_context=STYLE != "none"
            ),
            session_capabilities=sessions if STYLE != "none" else None,
        )
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=capabilities,
            agent_info=Implementation(name="controls", title="Controls agent", version="1.0"),
        )

    # ---- settings ---------------------------------------------------------------------------
    def _options(self, session_id: str) -> list[Any]:
        now = self._settings[session_id]
        options: list[Any] = [
            SessionConfigOptionSelect(
                id=key,
                name=key.title(),
                category=CATEGORY[key],
                type="select",
                current_value=now[key],
                options=[SessionConfigSelectOption(value=v, name=v.title()) for v in values],
            )
            for key, values in CHOICES.items()
        ]
        if STYLE == "hostile":
            options += [
                SessionConfigOptionSelect(
                    id=f"opt{n}",
                    name=f"<b>Option</b>\n{BIDI}{n}",
                    type="select",
                    current_value="a",
                    options=[
                        SessionConfigSelectOption(value=f"v{k}", name=f"<i>{k}</i>\n")
                        for k in range(300)
                    ]
                    + [SessionConfigSelectOption(value="a", name="A")],
                )
                for n in range(300)
            ]
        return options

    def _modes(self, session_id: str) -> SessionModeState:
        return SessionModeState(
            current_mode_id=self._settings[session_id]["mode"],
            available_modes=[SessionMode(id=m, name=m.title()) for m in CHOICES["mode"]],
        )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> NewSessionResponse:
        session_id = f"c{len(self._settings) + 1}"
        self._settings[session_id] = {key: values[0] for key, values in CHOICES.items()}
        self._turns[session_id] = []
        if STYLE != "none":
            asyncio.get_running_loop().call_later(
                0.05, lambda: asyncio.ensure_future(self._advertise(session_id))
            )
        if STYLE == "modes":
            return NewSessionResponse(session_id=session_id, modes=self._modes(session_id))
        if STYLE == "none":
            return NewSessionResponse(session_id=session_id)
        return NewSessionResponse(session_id=session_id, config_options=self._options(session_id))

    async def _advertise(self, session_id: str) -> None:
        commands = [
            AvailableCommand(name="review", description="Review the changes so far"),
            AvailableCommand(
                name="test",
                description="Run the tests",
                input=AvailableCommandInput(root=UnstructuredCommandInput(hint="which tests")),
            ),
        ]
        if STYLE == "hostile":
            commands += [
                AvailableCommand(name=f"cmd{n}<script>", description=f"line\nbreak {BIDI}{n}")
                for n in range(800)
            ]
        update = AvailableCommandsUpdate(
            session_update="available_commands_update", available_commands=commands
        )
        await self._conn.session_update(session_id, update)

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **kwargs: Any
    ) -> SetSessionConfigOptionResponse | None:
        if os.environ.get("CONTROLS_LOG"):
            _logged(os.environ["CONTROLS_LOG"], f"set {config_id} {value}")
        await asyncio.sleep(float(os.environ.get("CONTROLS_SET_DELAY") or 0))
        if config_id == os.environ.get("CONTROLS_REFUSE"):
            raise RequestError.invalid_params({"reason": f"{config_id} is locked by policy"})
        if config_id not in CHOICES or value not in CHOICES[config_id]:
            raise RequestError.invalid_params({"configId": config_id, "value": value})
        self._settings[session_id][config_id] = str(value)
        return SetSessionConfigOptionResponse(config_options=self._options(session_id))

    async def set_session_mode(
        self, session_id: str, mode_id: str, **kwargs: Any
    ) -> SetSessionModeResponse | None:
        if mode_id not in CHOICES["mode"]:
            raise RequestError.invalid_params({"modeId": mode_id})
        self._settings[session_id]["mode"] = mode_id
        update = CurrentModeUpdate(session_update="current_mode_update", current_mode_id=mode_id)
        await self._conn.session_update(session_id, update)
        return SetSessionModeResponse()

    # ---- past sessions ----------------------------------------------------------------------
    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any
    ) -> ListSessionsResponse:
        if STYLE == "none":
            raise RequestError.method_not_found("session/list")
        listed = [
            SessionInfo(
                session_id="past-1",
                cwd=cwd or "/",
                title="Fix the tests" if STYLE != "hostile" else f"<b>x</b>\n{BIDI}y",
                updated_at="2026-11-26T10:00:00Z",
            )
        ]
        return ListSessionsResponse(sessions=listed)

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> LoadSessionResponse | None:
        turns = self._past.get(session_id) or self._turns.get(session_id)
        if turns is None:
            raise RequestError.resource_not_found(session_id)
        self._settings.setdefault(session_id, {k: v[0] for k, v in CHOICES.items()})
        self._turns.setdefault(session_id, list(turns))
        for asked, answered in turns:  # a load replays the session's turns
            await self._conn.session_update(session_id, update_user_message_text(asked))
            for start in range(0, len(answered), 64 * 1024):
                piece = answered[start : start + 64 * 1024]
                await self._conn.session_update(session_id, update_agent_message_text(piece))
        return LoadSessionResponse(config_options=self._options(session_id))

    async def resume_session(
        self, session_id: str, cwd: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> ResumeSessionResponse:
        turns = self._past.get(session_id) or self._turns.get(session_id)
        if turns is None:
            raise RequestError.resource_not_found(session_id)
        self._settings.setdefault(session_id, {k: v[0] for k, v in CHOICES.items()})
        self._turns.setdefault(session_id, list(turns))
        self._resumed.add(session_id)
        return ResumeSessionResponse(config_options=self._options(session_id))

    # ---- turns ------------------------------------------------------------------------------
    async def _say(self, session_id: str, text: str) -> None:
        await self._conn.session_update(session_id, update_agent_message_text(text))

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        text = " ".join(getattr(block, "text", "") for block in prompt if block.type == "text")
        word = text.strip().split(" ", 1)[0]
        if word == "how":
            answer = "resumed" if session_id in self._resumed else "not resumed"
        elif word == "settings":
            now = self._settings[session_id]
            answer = " ".join(f"{k}={v}" for k, v in now.items())
        elif word == "plan":
            await self._plan(session_id)
            answer = "planned"
        elif word == "bigplan":
            entries = [plan_entry(f"step {n}", status="pending") for n in range(10000)]
            await self._conn.session_update(session_id, update_plan(entries))
            answer = "a big plan"
        elif word == "attached":
            answer = json.dumps(
                [block.model_dump(by_alias=True, exclude_none=True) for block in prompt]
            )
        elif word == "blocks":
            if STYLE == "hostile" and any(b.type == "image" for b in prompt):
                raise RequestError.invalid_params({"reason": "this model takes no images"})
            answer = " ".join(_described(block) for block in prompt)
        else:
            answer = f"echo: {text}"
        self._turns.setdefault(session_id, []).append((text, answer))
        await self._say(session_id, answer)
        return PromptResponse(stop_reason="end_turn")

    async def _plan(self, session_id: str) -> None:
        entries = [
            plan_entry("read the code", priority="high", status="in_progress"),
            plan_entry("write the fix", priority="medium", status="pending"),
            plan_entry("run the tests", priority="low", status="pending"),
        ]
        await self._conn.session_update(session_id, update_plan(entries))
        await asyncio.sleep(0.05)
        entries[0] = plan_entry("read the code", priority="high", status="completed")
        entries[1] = plan_entry("write the fix", priority="medium", status="in_progress")
        await self._conn.session_update(session_id, update_plan(entries))


def _logged(path: str, line: str) -> None:
    with open(path, "a") as log:  # a line, at once: the tests read it while the agent runs
        log.write(line + "\n")


def _described(block: Any) -> str:
    if block.type == "image":
        return f"image:{block.mime_type}:{len(block.data)}"
    if block.type == "resource":
        resource = block.resource
        return f"resource:{resource.uri}:{len(getattr(resource, 'text', '') or '')}"
    if block.type == "resource_link":
        return f"link:{block.uri}"
    return f"text:{block.text}" if block.text.startswith("[") else f"text:{len(block.text)}"


async def main() -> None:
    await run_agent(ControlsAgent(), use_unstable_protocol=True)  # session/resume is unstable


if __name__ == "__main__":
    asyncio.run(main())
