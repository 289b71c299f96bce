"""``agentnb run AGENT "message"``: stream one run to the terminal."""

from __future__ import annotations

import argparse
import sys

from .._core.exceptions import AgentNBError, ConfigurationError
from .._core.request import build_request
from .._core.text import terminal_safe
from .._notebook.api import start_run
from .._notebook.connections import Connection, connect, get_connection
from .._notebook.terminal import TerminalPrinter

__all__ = ["HELP", "configure", "run_command"]


HELP = "stream an agent run to the terminal (the built-in server when nothing is configured)"


def configure(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Stream one agent run to the terminal: reasoning dimmed, tool calls as one-line "
        "notes, the answer as it arrives, a summary line at the end; exit status 1 if the "
        "run did not complete. With no connection configured it uses the built-in local "
        "server. The API key comes from AGENTNB_API_KEY (never from the command line, where "
        "other users could see it)."
    )
    p.add_argument(
        "agent", help="agent to run (built-in server: finance_agent, echo, writer, structured)"
    )
    p.add_argument("message", nargs="+", help="the message (words are joined with spaces)")
    p.add_argument(
        "--provider",
        help="dialect: seekrflow, seekrflow-vercel, runagent, operativus, runtools, vercel, "
        "openai (default: AGENTNB_PROVIDER, else the built-in server)",
    )
    p.add_argument("--base-url", help="the platform's base URL (default: AGENTNB_BASE_URL)")
    p.add_argument("--via", help="a named connection from AGENTNB_<NAME>_* variables")
    p.add_argument("--thread", help="continue this thread / session id")
    p.add_argument("--temperature", type=float, help="sampling temperature, 0-2")
    p.add_argument("--top-p", type=float, help="nucleus sampling mass, 0-1")
    p.add_argument("--max-tokens", type=int, help="upper bound on generated tokens")
    p.add_argument("--frequency-penalty", type=float, help="frequency penalty, -2 to 2")
    p.add_argument("--presence-penalty", type=float, help="presence penalty, -2 to 2")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--followups", action="store_true", help="ask for follow-up questions")
    p.add_argument("--no-color", action="store_true", help="plain text output")


def run_command(args: argparse.Namespace) -> int:
    try:
        conn = _connection(args)
        request = build_request(
            args.agent,
            " ".join(args.message),
            thread_id=args.thread,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            frequency_penalty=args.frequency_penalty,
            presence_penalty=args.presence_penalty,
            metadata=_pairs(args.meta),
            followups=args.followups,
        )
        printer = TerminalPrinter(color=False if args.no_color else None)
        handle = start_run(conn, request, listeners=(printer,))
        try:
            handle.wait()
        except AgentNBError:
            return 1  # the printer's summary line already says why
        except KeyboardInterrupt:
            return 130  # the run was cancelled; the summary line says so
    except AgentNBError as exc:
        message = terminal_safe(str(exc))  # it may quote the server's answer
        print(f"agentnb: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


def _connection(args: argparse.Namespace) -> Connection:
    if args.base_url and not args.provider:
        raise ConfigurationError(
            "--base-url needs --provider: say which dialect that server speaks "
            "(seekrflow, runagent, operativus, runtools, vercel, openai, ...)"
        )
    conn = connect(args.provider, base_url=args.base_url) if args.provider else None
    conn = conn or get_connection(args.via)
    if args.thread and conn.local:
        raise ConfigurationError(
            "--thread cannot continue a conversation on the built-in server: each "
            "`agentnb run` starts a fresh one, which keeps no threads. Run `agentnb serve` "
            "and pass --provider/--base-url (key in AGENTNB_API_KEY), or drop --thread"
        )
    return conn


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--meta {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs
