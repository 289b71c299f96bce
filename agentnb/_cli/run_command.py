"""``agentnb run AGENT "message"``: stream one run to the terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if sys.platform != "win32":
    import termios

from .._app.front.connections import (
    Connection,
    configured_connection,
    connect,
    get_connection,
    via_for,
)
from .._app.front.run_flags import (
    AGENT_HELP,
    add_run_flags,
    dialect_names,
    run_options_from,
    terminal_start,
)
from .._app.front.run_start import start_run
from .._core.exceptions import AgentNBError, ConfigurationError
from .._core.request import build_request
from .._core.text import terminal_safe
from .._display.terminal import TerminalPrinter, print_fitted
from .key_file import key_from_file

__all__ = ["HELP", "cli_connection", "configure", "failed", "run_command"]


HELP = "stream an agent run to the terminal (the built-in server when nothing is configured)"


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Stream one agent run to the terminal: reasoning dimmed, tool calls as one-line "
        "notes, the answer as it arrives, a summary line at the end; exit status 1 if the "
        "run did not complete, 130 after Ctrl-C (which cancels it). A tool call that needs "
        "approval is asked about at an 'Approve? [y/N]' prompt (denied when stdin is not a "
        "terminal) unless --approve says otherwise. With no connection configured it uses "
        "the built-in local server. The API key comes from AGENTNB_API_KEY or --api-key-file "
        "(never from the command line, where other users could see it)."
    )
    p.add_argument("agent", help=AGENT_HELP)
    p.add_argument("message", nargs="+", help="the message (words are joined with spaces)")
    add_run_flags(p, "cli")


def run_command(args: argparse.Namespace) -> int:
    try:
        conn = _connection(args)
        message = " ".join(args.message)
        if conn.client().provider.session_controls and message.startswith("/"):
            message, note = conn.acp.completed(message)
            if note:
                print_fitted(f"agentnb: {note}")
        options = conn._fit_tools(run_options_from(args)).options  # as every entry point does
        request = build_request(args.agent, message, **options)
        printer = TerminalPrinter(color=False if args.no_color or args.plain else None)
        handle = start_run(conn, request, **terminal_start(args, conn, printer, printer))
        try:
            with _no_echoed_controls():
                handle.wait()
        except AgentNBError:
            return 1  # the printer's summary line already says why
        except KeyboardInterrupt:
            return 130  # the run was cancelled; the summary line says so
    except AgentNBError as exc:
        return failed(exc)
    return 0


@contextmanager
def _no_echoed_controls() -> Iterator[None]:
    """While the answer streams, a terminal does not echo Ctrl-C as ``^C`` where the cursor
    is (inside a word of the answer); the printer's summary says the run was cancelled. The
    terminal's settings are put back after. Not a terminal (or Windows): nothing to do."""
    if sys.platform == "win32":
        yield
        return
    try:
        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # stdin closed, or not a terminal
        yield
        return
    quiet = list(before)
    quiet[3] &= ~termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


def failed(exc: AgentNBError) -> int:
    """Say ``exc`` on stderr as a command that failed; its exit status."""
    message = terminal_safe(str(exc))  # it may quote the server's answer
    print_fitted(f"agentnb: error: {type(exc).__name__}: {message}")
    return 1


def cli_connection(args: argparse.Namespace) -> Connection:
    """The connection ``--provider`` / ``--base-url`` / ``--via`` name (else the default),
    with the key ``--api-key-file`` holds when given."""
    if args.base_url and not args.provider:
        raise ConfigurationError(
            f"--base-url needs --provider: say which dialect that server speaks ({dialect_names()})"
        )
    conn = connect(args.provider, base_url=args.base_url) if args.provider else None
    if args.api_key_file is None:
        return conn or get_connection(via_for(getattr(args, "agent", None), args.via))
    conn = conn or configured_connection(args.via or "default")
    if conn is None or conn.local:
        raise ConfigurationError(
            "--api-key-file: the built-in local server needs no key; say which platform the "
            "key is for with --provider and --base-url (or AGENTNB_PROVIDER / AGENTNB_BASE_URL)"
        )
    key = key_from_file(Path(args.api_key_file), "agentnb")
    return connect(
        conn.provider, base_url=conn.base_url, api_key=key, name=conn.name, **conn.options
    )


def _connection(args: argparse.Namespace) -> Connection:
    conn = cli_connection(args)
    if args.thread and conn.local:
        raise ConfigurationError(
            "--thread cannot continue a conversation on the built-in server: each "
            "`agentnb run` starts a fresh one, which keeps no threads. Run `agentnb serve` "
            "and pass --provider/--base-url (key in AGENTNB_API_KEY or --api-key-file), or drop "
            "--thread"
        )
    return conn
