"""``agentnb attach RUN``: stream a run the platform is still executing to the terminal."""

from __future__ import annotations

import argparse

from .._app.front.outcome import HeldSummary
from .._app.front.run_flags import add_run_flags, terminal_start
from .._app.front.run_start import attach_connection, start_attach
from .._core.exceptions import AgentNBError, ConfigurationError
from .._core.handle import RunHandle
from .._core.text import terminal_safe
from .._display.terminal import TerminalPrinter, print_fitted
from .run_command import cli_connection, failed

__all__ = ["HELP", "attach_command", "configure"]

HELP = "show again, in the terminal, a run the platform is still executing"

SHARED_FLAGS = (
    "--provider",
    "--base-url",
    "--api-key-file",
    "--via",
    "--approve",
    "--no-record",
    "--no-color",
)
"""The flags of ``agentnb run`` that mean the same here."""

REFUSED = 2
"""Exit status when there is nothing to attach to (a run that ended, an unknown id, a dialect
that cannot attach), as for a usage error: nothing was streamed."""


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Stream a run that is still going on the platform (started by a notebook whose "
        "kernel died, another terminal or another machine) to the terminal as `agentnb run` "
        "does, from its start, and complete its history row. RUN is agentnb's local id or "
        "the platform's run id; --agent and --thread fill in what the history does not know. "
        "Exit status 0 when the run completes, 1 if it ends otherwise, 130 after Ctrl-C "
        "(which cancels the run on the platform), 2 when there is nothing to attach to."
    )
    p.add_argument("run", help="agentnb's local run id or the platform's run id")
    p.add_argument("--agent", help="the run's agent (when the history does not know the run)")
    p.add_argument("--thread", metavar="ID", help="the run's thread (when the history lacks it)")
    add_run_flags(p, "cli", SHARED_FLAGS)


def attach_command(args: argparse.Namespace) -> int:
    try:
        handle, printer = _start(args)
    except ConfigurationError as exc:
        return _refused(exc)
    except AgentNBError as exc:
        return failed(exc)
    try:
        handle.wait()
    except KeyboardInterrupt:
        printer.release(True)
        return 130  # the run was cancelled; the summary line says so
    except AgentNBError as exc:
        if handle.run.event_count == 0:  # the platform refused: no stream, no summary
            printer.release(False)
            return _refused(exc)
        printer.release(True)
        return 1
    printer.release(True)
    return 0


def _start(args: argparse.Namespace) -> tuple[RunHandle, HeldSummary]:
    named = args.provider or args.via or args.base_url
    via = cli_connection(args).name if named else None
    conn, target = attach_connection(
        args.run, agent=args.agent, thread_id=args.thread, via=via, client=None
    )
    shown = TerminalPrinter(color=False if args.no_color else None)
    printer = HeldSummary(shown)
    return start_attach(conn, target, **terminal_start(args, conn, shown, printer)), printer


CLI_WORDS = {"agent=...": "--agent AGENT", "thread_id=...": "--thread ID", "via=": "--via"}
"""The Python keywords the shared refusals name, as this command's flags."""


def _refused(exc: AgentNBError) -> int:
    message = str(exc)
    for keyword, flag in CLI_WORDS.items():
        message = message.replace(keyword, flag)
    print_fitted(f"agentnb attach: {terminal_safe(message)}")
    return REFUSED
