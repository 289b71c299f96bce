"""``agentnb run AGENT "message"``: stream one run to the terminal."""

from __future__ import annotations

import argparse
import sys

from .._core.exceptions import AgentNBError, ConfigurationError, RunError
from .._core.request import build_request
from .._notebook.api import start_run
from .._notebook.connections import connect, get_connection
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
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--followups", action="store_true", help="ask for follow-up questions")
    p.add_argument("--no-color", action="store_true", help="plain text output")


def run_command(args: argparse.Namespace) -> int:
    try:
        if args.provider:
            conn = connect(args.provider, base_url=args.base_url)
        else:
            conn = get_connection(args.via)
        request = build_request(
            args.agent,
            " ".join(args.message),
            thread_id=args.thread,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            metadata=_pairs(args.meta),
            followups=args.followups,
        )
        printer = TerminalPrinter(color=False if args.no_color else None)
        handle = start_run(conn, request, listeners=(printer,))
        try:
            handle.wait()
        except RunError:
            return 1  # the printer's summary line already says why
        except KeyboardInterrupt:
            print("\nagentnb: cancelled", file=sys.stderr)
            return 130
    except AgentNBError as exc:
        print(f"agentnb: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--meta {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs
