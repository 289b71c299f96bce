"""An ACP session's own controls, against a scripted agent on the official SDK
(``acp_agents/controls_agent.py``): its settings (model, mode, effort) read as
``conn.acp.config_options`` and set for every session (``connect(..., config=...)``) or one run
(``config=``), recorded with the run; its slash commands; its plan; image and file blocks in
the prompt; its past sessions listed and imported."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from acp_testing import acp_connection, agentnb_run
from agentnb_testing import PATIENCE_S, wait_until
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb import ConfigurationError, evals
from agentnb._app.coding_agents.acp_sessions import PastSession, SessionList
from agentnb._app.front.connections import disconnect
from agentnb._core.run import TOO_LARGE
from agentnb._display.controller import pasted_media
from agentnb._history._past_run import past_run
from agentnb.providers._acp_session import MAX_COMMANDS, MAX_OPTIONS, MAX_PLAN_ENTRIES
from agentnb.providers.acp import MAX_SESSIONS, Acp

AGENT = Path(__file__).resolve().parent / "acp_agents" / "controls_agent.py"


def controls(
    acp_python: Path,
    cwd: Path,
    style: str = "config",
    env: dict[str, str] | None = None,
    **options: object,
) -> contextlib.AbstractContextManager[agentnb.Connection]:
    """A connection to the controls agent in ``style`` (``CONTROLS_STYLE``), run in ``cwd``,
    with ``env`` over it."""
    command = [acp_python, AGENT]
    env = {"CONTROLS_STYLE": style, **(env or {})}
    return acp_connection(f"controls_{style}", command, cwd=cwd, env=env, **options)


def ctl(acp_python: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``agentnb run ctl ARGS`` with the controls agent, its runs in ``folder``'s history."""
    return agentnb_run("ctl", [acp_python, AGENT], folder / "history.db", *args)


def ask(conn: agentnb.Connection, message: str, **options: object) -> agentnb.Run:
    """The run of ``message`` once it ended (failing: its error raised)."""
    handle = agentnb.ask(conn.name, message, plain=True, wait=False, via=conn.name, **options)  # type: ignore[arg-type]
    handle.wait(PATIENCE_S)
    return handle.run


# ---- settings: model, mode, effort ---------------------------------------------------------
def test_the_sessions_settings_are_read_with_their_choices(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        options = conn.acp.config_options
        assert [(o.id, o.category, o.current) for o in options] == [
            ("model", "model", "controls-model-1"),
            ("mode", "mode", "ask"),
            ("effort", "thought_level", "low"),
        ]
        assert [c.value for c in options["model"].choices] == [
            "controls-model-1",
            "controls-model-2",
        ]
        assert "controls-model-2" in repr(options)  # a table of them


def test_a_connections_config_sets_every_session_and_the_run_records_it(
    acp_python: Path, tmp_path: Path
) -> None:
    config = {"model": "controls-model-2", "mode": "code"}
    with controls(acp_python, tmp_path, config=config) as conn:
        run = ask(conn, "settings")
        assert run.text == "model=controls-model-2 mode=code effort=low"
        assert (run.model, run.extras["mode"]) == ("controls-model-2", "code")
        assert run.extras["config"] == {
            "model": "controls-model-2",
            "mode": "code",
            "effort": "low",
        }
        # a run's config goes over the connection's
        other = ask(conn, "settings", config={"model": "controls-model-1", "effort": "High"})
        assert other.text == "model=controls-model-1 mode=code effort=high"
        assert conn.acp.config_options["model"].current == "controls-model-1"
    past = agentnb.runs(model="controls-model-2", mode="code").local_ids
    assert run.local_id in past and other.local_id not in past
    [kept] = [
        row
        for row in agentnb.runs(model="controls-model-1").to_dicts()
        if row["local_id"] == other.local_id
    ]
    assert kept["extras"] == {"mode": "code", "config": other.extras["config"]}


def test_a_value_the_agent_does_not_offer_fails_before_the_prompt_naming_the_choices(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        with pytest.raises(ConfigurationError, match=r"controls-model-1.*controls-model-2"):
            ask(conn, "settings", config={"model": "gpt-9"})
        with pytest.raises(ConfigurationError, match=r"no setting 'colour'.*model, mode, effort"):
            ask(conn, "settings", config={"colour": "red"})
        assert ask(conn, "settings").text.startswith("model=controls-model-1")


def test_an_agent_with_modes_only_is_set_by_session_set_mode(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "modes", config={"mode": "code"}) as conn:
        run = ask(conn, "settings")
        assert "mode=code" in run.text and run.extras["mode"] == "code"
        assert [(o.id, o.current) for o in conn.acp.config_options] == [("mode", "code")]


def test_an_experiment_whose_arms_differ_only_in_model(acp_python: Path, tmp_path: Path) -> None:
    command = [acp_python, AGENT]
    with (
        acp_connection("m1", command, cwd=tmp_path, config={"model": "controls-model-1"}),
        acp_connection("m2", command, cwd=tmp_path, config={"model": "controls-model-2"}),
    ):
        name = f"two-models-{tmp_path.name}"
        done = evals.experiment(name, ["m1", "m2"], ["settings"], progress=False)
    by_arm = {r.connection: r for r in done.runs()}
    assert {arm: (r.model, r.answer.split()[0]) for arm, r in by_arm.items()} == {
        "m1": ("controls-model-1", "model=controls-model-1"),
        "m2": ("controls-model-2", "model=controls-model-2"),
    }


def test_hundreds_of_settings_with_markup_and_controls_are_bounded_and_marked(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "hostile") as conn:
        options = conn.acp.config_options
        assert len(options) == MAX_OPTIONS
        shown = repr(options)
        html = options._repr_html_()
        assert "\u202e" not in shown and "\u202e" not in html
        assert "⟨U+202E⟩" in shown and "⟨U+000A⟩" in shown  # marked, not acted on
        assert "<b>Option</b>" not in html and "&lt;b&gt;Option&lt;/b&gt;" in html
        assert "(and 289 more)" in shown
        with pytest.raises(ConfigurationError, match=r"and 281 more") as refused:
            ask(conn, "settings", config={"opt3": "nope"})
        assert "\n" not in str(refused.value) and "\u202e" not in str(refused.value)


def test_config_is_refused_where_the_dialect_has_no_settings() -> None:
    with pytest.raises(ConfigurationError, match="config"):
        agentnb.ask("echo", "hi", config={"model": "x"}, plain=True)


def test_a_cells_config_flags_set_the_runs_settings(acp_python: Path, tmp_path: Path) -> None:
    with controls(acp_python, tmp_path) as conn:
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "agentnb")
        line = f"{conn.name} --wait --plain --config model=controls-model-2 --config effort=high"
        shell.run_cell_magic("agent", line, "settings")
        run: agentnb.Run = shell.user_ns["_agent"].run
    assert run.text == "model=controls-model-2 mode=ask effort=high"
    assert run.model == "controls-model-2"


def test_agentnb_run_takes_config_flags(acp_python: Path, tmp_path: Path) -> None:
    ran = ctl(acp_python, tmp_path, "settings", "--plain", "--config", "mode=Code")
    assert ran.returncode == 0, ran.stderr
    assert "model=controls-model-1 mode=code effort=low" in ran.stdout
    refused = ctl(acp_python, tmp_path, "settings", "--plain", "--config", "model=nope")
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "controls-model-1" in said and "controls-model-2" in said


# ---- the plan ------------------------------------------------------------------------------
def test_the_last_plan_is_the_runs_and_the_historys_and_the_terminal_prints_it(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        run = ask(conn, "plan")
    assert run.extras["plan"] == [
        {"content": "read the code", "status": "completed", "priority": "high"},
        {"content": "write the fix", "status": "in_progress", "priority": "medium"},
        {"content": "run the tests", "status": "pending", "priority": "low"},
    ]
    [kept] = [r for r in agentnb.runs(thread=run.thread_id) if r.local_id == run.local_id]
    assert kept.extras == run.extras and set(run.extras) == {"mode", "config", "plan"}
    again = past_run(kept, [])  # a past run read back has it
    assert again.extras == run.extras
    ran = ctl(acp_python, tmp_path, "plan", "--plain")
    assert ran.returncode == 0, ran.stderr
    assert "◐ read the code (high)\n  ☐ write the fix" in ran.stdout  # the first plan, as it came
    assert (
        "☑ read the code (high)\n  ◐ write the fix (medium)\n  ☐ run the tests (low)" in ran.stdout
    )


def test_a_plan_of_ten_thousand_entries_is_kept_bounded(acp_python: Path, tmp_path: Path) -> None:
    with controls(acp_python, tmp_path) as conn:
        run = ask(conn, "bigplan")
    plan = run.extras["plan"]
    assert (
        len(plan) == MAX_PLAN_ENTRIES + 1 and plan[-1]["content"] == "… 9,000 more entries not kept"
    )
    assert "… 971 more entries" in agentnb_text(run)


def agentnb_text(run: agentnb.Run) -> str:
    from agentnb._display.run_text import run_text

    return run_text(run)


# ---- slash commands ------------------------------------------------------------------------
def test_the_commands_the_session_advertises_are_listed_and_go_as_the_prompt_text(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        wait_until(lambda: len(conn.acp.commands) == 2, "the agent advertises its commands")
        commands = conn.acp.commands
        assert [(c.name, c.description, c.hint) for c in commands] == [
            ("review", "Review the changes so far", None),
            ("test", "Run the tests", "which tests"),
        ]
        assert "/test" in repr(commands) and "which tests" in repr(commands)
        assert ask(conn, "/test unit").text == "echo: /test unit"


def test_agentnb_run_completes_a_command(acp_python: Path, tmp_path: Path) -> None:
    ran = ctl(acp_python, tmp_path, "/rev", "the", "diff", "--plain")
    assert ran.returncode == 0, ran.stderr
    assert "echo: /review the diff" in ran.stdout
    assert "/rev → /review" in ran.stderr
    path = ctl(acp_python, tmp_path, "/tmp/x", "--plain")
    assert "echo: /tmp/x" in path.stdout and "→" not in path.stderr


def test_hundreds_of_commands_with_markup_are_bounded_and_marked(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "hostile") as conn:
        wait_until(lambda: len(conn.acp.commands) > 0, "the agent advertises its commands")
        commands = conn.acp.commands
        assert len(commands) == MAX_COMMANDS and commands.dropped == 302
        html = commands._repr_html_()
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "\u202e" not in repr(commands) and "⟨U+202E⟩" in repr(commands)


# ---- past sessions -------------------------------------------------------------------------
def test_past_sessions_are_listed_and_one_is_imported_as_runs_once(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        listed = conn.acp.sessions()
        assert [(s.session_id, s.title, s.updated) for s in listed] == [
            ("past-1", "Fix the tests", "2026-11-26T10:00:00Z")
        ]
        assert "Fix the tests" in repr(listed) and "past-1" in listed._repr_html_()
        assert repr(listed).splitlines()[1].split()[0] == "session_id"  # as the attribute is
        runs = conn.acp.import_session("past-1")
        again = conn.acp.import_session("past-1")
        # going on with it from here: the agent loads it, and it answers
        later = ask(conn, "settings", thread_id="past-1")
    assert [(r.message, r.text, r.imported, r.thread_id) for r in runs] == [
        ("fix the tests", "fixed 3 tests", True, "past-1"),
        ("now the docs", "docs updated", True, "past-1"),
    ]
    assert [r.local_id for r in again] == [r.local_id for r in runs]
    kept = [r for r in agentnb.runs(thread="past-1") if r.imported]
    assert sorted(r.message for r in kept) == ["fix the tests", "now the docs"]
    assert [r.local_id for r in agentnb.runs(search="docs updated")] == [runs[1].local_id]
    assert later.text.startswith("model=") and not later.imported


def test_a_session_titled_by_an_at_turn_is_listed_by_the_words_typed() -> None:
    """An agent titles a session by its first message; an ``@`` turn's carries the notebook's
    data block after the person's words, which the list leaves out."""
    title = 'Plot @df by month <notebook-data id="0a1b2c3d4e5f6a7b"> Read from the user\'s'
    listed = SessionList("coder", [PastSession("s-1", title, None, None)], more=False)
    assert "Plot @df by month" in repr(listed)
    assert "notebook-data" not in repr(listed) + listed._repr_html_()


def test_a_session_kept_live_is_imported_without_the_turns_already_kept(
    acp_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session whose first turn went unrecorded and whose second was recorded live: the
    import keeps the first, not the second again, and says so."""
    with acp_connection("kept_live", [acp_python, AGENT], cwd=tmp_path) as conn:
        first = ask(conn, "look at this", record=False)
        session = first.thread_id
        assert session is not None
        live = ask(conn, "and then", thread_id=session)
        imported = conn.acp.import_session(session)
    assert [(r.message, r.imported) for r in imported] == [("look at this", True)]
    said = capsys.readouterr()
    assert "1 turn already in the history, not imported again" in said.err
    kept = agentnb.runs(agent="kept_live", thread=session)  # the agent names its sessions c1...
    assert sorted((r.message, bool(r.imported)) for r in kept) == [
        ("and then", False),
        ("look at this", True),
    ]
    assert [r.local_id for r in kept if not r.imported] == [live.local_id]


def test_an_imported_turn_is_held_to_the_bound_of_a_live_run(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "hostile", max_run_mib=1) as conn:
        runs = conn.acp.import_session("past-huge")
    huge, after = runs
    assert huge.status == "interrupted" and huge.error is not None
    assert huge.error.code == TOO_LARGE and "max_run_mib" in huge.error.message
    assert 0 < len(huge.text) <= 1024 * 1024
    assert (after.status, after.text) == ("completed", "then")
    [kept] = [r for r in agentnb.runs(thread="past-huge") if r.local_id == huge.local_id]
    assert kept.status == "interrupted" and 0 < len(kept.answer or "") <= 1024 * 1024


def test_an_agent_without_past_sessions_says_so(acp_python: Path, tmp_path: Path) -> None:
    with controls(acp_python, tmp_path, "none") as conn:
        with pytest.raises(ConfigurationError, match=r"does not list its sessions"):
            conn.acp.sessions()
        with pytest.raises(ConfigurationError, match=r"cannot replay its past sessions"):
            conn.acp.import_session("past-1")
        assert list(conn.acp.config_options) == [] and list(conn.acp.commands) == []


def test_session_titles_with_markup_and_controls_are_marked(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "hostile") as conn:
        listed = conn.acp.sessions()
    assert "<b>x</b>" not in listed._repr_html_() and "⟨U+202E⟩" in repr(listed)


def test_sessions_are_an_acp_agents() -> None:
    with pytest.raises(ConfigurationError, match=r"sessions, their settings and commands"):
        agentnb.connect(local=True, name="plainly").acp  # noqa: B018 (the access refuses)
    disconnect("plainly")


def test_the_old_spellings_still_work_saying_where_they_went(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        with pytest.warns(DeprecationWarning, match=r"use\s+Connection\.acp\.config_options"):
            options = conn.config_options
        with pytest.warns(DeprecationWarning, match=r"use\s+Connection\.acp\.commands"):
            wait_until(lambda: len(conn.commands) == 2, "the agent advertises its commands")
        with pytest.warns(DeprecationWarning, match=r"use\s+Connection\.acp\.sessions"):
            listed = conn.sessions(cwd=tmp_path)
        with pytest.warns(DeprecationWarning, match=r"use\s+Connection\.acp\.import_session"):
            runs = conn.import_session("past-1")
    assert [o.id for o in options] == ["model", "mode", "effort"]
    assert [s.session_id for s in listed] == ["past-1"] and len(runs) == 2


# ---- images and files in the prompt ------------------------------------------------------------
PNG = agentnb.Media(type="image/png", data="iVBORw0KGgo=")
CSV = agentnb.Media(type="text/csv", data="YSxiCjEsMgo=")
LINK = agentnb.Media(type="application/pdf", data="https://example.org/paper.pdf")


def test_media_go_as_image_resource_and_link_blocks_where_the_agent_takes_them(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        run = ask(conn, "blocks", media=[PNG, CSV, LINK])
    assert run.text == (
        "text:6 image:image/png:12 resource:agentnb:attachment/2:0 "
        "link:https://example.org/paper.pdf"
    )


def test_media_an_agent_does_not_take_go_as_text_saying_so(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "none") as conn:
        run = ask(conn, "blocks", media=[PNG, CSV, LINK])
    said = run.text
    assert (
        "[attachment-1 (image/png, 9 bytes) is not sent: the agent's promptCapabilities take no images]"
        in said
    )
    assert (
        "[attachment-2 (text/csv, 9 bytes) is not sent: the agent's promptCapabilities take no embedded files]"
        in said
    )
    assert said.endswith("link:https://example.org/paper.pdf")


@pytest.mark.kernel
def test_a_figure_mentioned_in_a_cell_goes_as_an_image_block(
    acp_python: Path, tmp_path: Path
) -> None:
    from kernel_session import Session, running_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env["AGENTNB_HISTORY"] = "off"
    command = [str(acp_python), str(AGENT)]
    with running_kernel(env) as kernel:
        session = Session(kernel)
        ran = session.execute(
            f"""
            import agentnb
            from matplotlib.figure import Figure
            fig = Figure(figsize=(4, 2), dpi=100)
            fig.subplots().plot([1, 2, 3], [10, 30, 20])
            agentnb.connect("acp", command={command!r}, name="ctl", cwd={str(tmp_path)!r})
            h = agentnb.ask("ctl", "blocks @fig", wait=True, display=False, approve=True)
            print(h.run.status, h.run.text)
            """
        )
        said = session.stdout(ran)
    assert said.startswith("completed text:") and " image:image/png:" in said, said


def test_an_image_the_agent_claims_then_rejects_fails_the_run_saying_why(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path, "hostile") as conn:
        with pytest.raises(agentnb.RunFailedError, match="takes no images"):
            ask(conn, "blocks", media=[PNG])
        assert ask(conn, "blocks").text == "text:6"  # the connection goes on


# ---- the chat cell ---------------------------------------------------------------------------
def test_a_chat_cell_offers_the_sessions_settings_and_commands_and_a_pick_goes_next(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        cell = agentnb.chat(conn.name)
        wait_until(
            lambda: len((cell.options.get("session") or {}).get("commands") or []) == 2,
            "the cell offers the session's settings and commands before the first message",
        )
        session = cell.options["session"]
        assert [(s["id"], s["current"]) for s in session["settings"]] == [
            ("model", "controls-model-1"),
            ("mode", "ask"),
            ("effort", "low"),
        ]
        cell._on_view_message(
            cell, {"kind": "config", "id": "model", "value": "controls-model-2"}, []
        )
        wait_until(
            lambda: cell.options["session"]["settings"][0]["current"] == "controls-model-2",
            "the pick shows in the selector",
        )
        run = cell.ask("settings").wait(PATIENCE_S)
        assert run.text == "model=controls-model-2 mode=ask effort=low"
        planned = cell.ask("plan").wait(PATIENCE_S)
        cell.close()
    assert planned.extras["plan"][0]["status"] == "completed"


def test_a_pick_in_the_chat_cell_is_set_on_the_open_session_at_once(
    acp_python: Path, tmp_path: Path
) -> None:
    log = tmp_path / "set.log"
    env = {"CONTROLS_SET_DELAY": "1.5", "CONTROLS_LOG": str(log), "CONTROLS_REFUSE": "effort"}
    with controls(acp_python, tmp_path, env=env) as conn:
        cell = agentnb.chat(conn.name)
        setting = lambda n: (cell.options.get("session") or {"settings": [{}] * 3})["settings"][n]  # noqa: E731
        wait_until(lambda: setting(0).get("current") == "controls-model-1", "the selectors")
        cell._on_view_message(
            cell, {"kind": "config", "id": "model", "value": "Controls-Model-2"}, []
        )
        wait_until(lambda: setting(0)["pending"], "the pick shows pending")
        assert setting(0)["current"] == "controls-model-2"
        wait_until(lambda: not setting(0)["pending"], "the agent answers the setting")
        assert log.read_text() == "set model controls-model-2\n"  # before any message
        provider = conn.client().provider
        assert isinstance(provider, Acp) and provider.latest is not None
        assert provider.sessions[provider.latest].current("model") == "controls-model-2"

        cell._on_view_message(cell, {"kind": "config", "id": "effort", "value": "high"}, [])
        wait_until(lambda: cell.options["session"]["error"] is not None, "the refusal")
        assert setting(2)["current"] == "low" and not setting(2)["pending"]  # back as it was
        assert "Could not set Effort to high: " in cell.options["session"]["error"]
        assert "effort is locked by policy" in cell.options["session"]["error"]

        run = cell.ask("settings").wait(PATIENCE_S)  # the first message takes the session as set
        assert run.text == "model=controls-model-2 mode=ask effort=low"
        assert log.read_text() == "set model controls-model-2\nset effort high\n"  # no more
        cell.close()


def test_a_past_session_goes_on_by_session_resume_where_offered_else_session_load(
    acp_python: Path, tmp_path: Path
) -> None:
    with controls(acp_python, tmp_path) as conn:
        assert ask(conn, "how", thread_id="past-1").text == "resumed"
    with controls(acp_python, tmp_path, "modes") as conn:  # it offers session/load only
        assert ask(conn, "how", thread_id="past-1").text == "not resumed"


def test_a_connection_keeps_the_state_of_its_latest_sessions_only() -> None:
    provider = Acp()
    provider.latest = "s0"  # the one conn.acp.config_options reads stays
    for n in range(MAX_SESSIONS + 50):
        provider.session_state(f"s{n}")
    assert len(provider.sessions) == MAX_SESSIONS
    assert "s0" in provider.sessions and "s1" not in provider.sessions
    assert f"s{MAX_SESSIONS + 49}" in provider.sessions


# ---- @ attachments as content blocks ---------------------------------------------------------
PRICES = 'def load_prices():\n    db_password = "hunter2hunter2"\n    return [1, 2]\n'


@pytest.mark.kernel
def test_attachments_go_as_resources_where_the_agent_takes_them_else_in_the_text(
    acp_python: Path, tmp_path: Path
) -> None:
    """A cell mentioning a variable and a file, to an agent taking embedded context and to
    one that does not: the blocks each received."""
    from kernel_session import Session, running_kernel

    (tmp_path / "prices.py").write_text(PRICES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env["AGENTNB_HISTORY"] = "off"
    command = [str(acp_python), str(AGENT)]
    with running_kernel(env) as kernel:
        session = Session(kernel)
        ran = session.execute(
            f"""
            import os, agentnb
            get_ipython().run_line_magic("load_ext", "agentnb")
            os.chdir({str(tmp_path)!r})  # where @./file is read
            prices_seen = [101.5, 99.25]
            for style in ("config", "none"):
                agentnb.connect("acp", command={command!r}, name="at_" + style,
                                cwd={str(tmp_path)!r}, env={{"CONTROLS_STYLE": style}})
                get_ipython().run_cell_magic(
                    "agent", "at_" + style + " --wait --plain --approve all",
                    "attached @prices_seen @./prices.py")
                print("BLOCKS", _agent.run.text)
            """
        )
        said = session.stdout(ran)
    received = [line.split(" ", 1)[1] for line in said.splitlines() if line.startswith("BLOCKS ")]
    embedded, linked = [json.loads(blocks) for blocks in received]
    file_uri = (tmp_path / "prices.py").resolve().as_uri()

    assert [b["type"] for b in embedded] == ["text", "resource", "resource"]
    assert embedded[0]["text"] == "attached @prices_seen @./prices.py"  # no data block in it
    value, file = embedded[1]["resource"], embedded[2]["resource"]
    assert value["uri"] == "agentnb:notebook/prices_seen" and value["mimeType"] == "text/plain"
    assert "101.5" in value["text"] and value["text"].startswith('<notebook-data id="')
    assert file["uri"] == file_uri and file["mimeType"] == "text/x-python"
    assert file["text"].startswith('<notebook-data id="') and "def load_prices():" in file["text"]
    assert "hunter2hunter2" not in file["text"] and "db_password" in file["text"]  # redacted
    assert value["text"].split('"')[1] == file["text"].split('"')[1]  # the run's one nonce

    assert [b["type"] for b in linked] == ["text", "resource_link"]
    text = linked[0]["text"]
    assert text.startswith("attached @prices_seen @./prices.py\n\n<notebook-data id=")
    assert "101.5" in text and "def load_prices():" in text and "hunter2hunter2" not in text
    assert linked[1] == {
        "type": "resource_link",
        "uri": file_uri,
        "name": "./prices.py",
        "mimeType": "text/x-python",
    }


def test_sessions_offering_the_same_settings_and_commands_share_one_value() -> None:
    """What makes 10 sessions hold no more than their ids beside 10 runs (the memory rows of
    benchmarks/bench_acp.py): each session's state is its id and a reference."""
    answer = {
        "configOptions": [
            {
                "id": "model",
                "name": "Model",
                "category": "model",
                "type": "select",
                "currentValue": "m1",
                "options": [{"value": f"m{n}", "name": f"M{n}"} for n in range(1, 4)],
            }
        ]
    }
    commands = {
        "sessionUpdate": "available_commands_update",
        "availableCommands": [{"name": "review", "description": "Review"}],
    }
    provider = Acp()
    states = [provider.session_state(f"s{n}") for n in range(3)]
    for n, state in enumerate(states):
        provider._opened(f"s{n}", json.loads(json.dumps(answer)))  # parsed afresh each time
        state.update(json.loads(json.dumps(commands)))
    assert states[0].options is states[1].options is states[2].options
    assert states[0].commands is states[2].commands
    states[1].set_current("model", "m2")  # one changed: its own value, the others' as they were
    assert states[1].current("model") == "m2" and states[0].current("model") == "m1"
    many = {
        "configOptions": [
            {"id": f"o{k}", "type": "select", "options": [{"value": f"v{n}"} for n in range(500)]}
            for k in range(5)
        ]
    }  # 2,500 choices in all
    provider._opened("s0", many)
    provider._opened("s1", json.loads(json.dumps(many)))
    assert states[0].options is not states[1].options  # a value this large is not kept shared


def test_an_image_pasted_into_the_chat_cell_goes_as_an_image_block(
    acp_python: Path, tmp_path: Path
) -> None:
    png = {"type": "image/png", "data": "iVBORw0KGgo="}
    with controls(acp_python, tmp_path) as conn:
        cell = agentnb.chat(conn.name)
        assert cell.options["can_paste"] is True  # the dialect carries media
        cell._on_view_message(cell, {"kind": "send", "text": "blocks", "images": [png]}, [])
        wait_until(lambda: cell.runs and cell.runs[-1].done, "the turn with the pasted image")
        assert cell.runs[-1].text == "text:6 image:image/png:12"
        cell.close()


@pytest.mark.parametrize(
    ("images", "why"),
    [
        ([{"type": "image/svg+xml", "data": "PHN2Zy8+"}], "PNG, JPEG, GIF or WebP, not"),
        ([{"type": "image/png", "data": "not base64!"}], "arrived damaged"),
        ([{"type": "image/png", "data": "iVBORw=="}] * 5, "4 pasted images at most"),
        ([{"type": "image/png", "data": "A" * 8_000_000}], "bytes; one of up to 5,242,880"),
    ],
)
def test_pasted_images_are_checked_in_the_kernel(images: list[object], why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        pasted_media(images)
    assert pasted_media(None) == () and pasted_media([]) == ()
