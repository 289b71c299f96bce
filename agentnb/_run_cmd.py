"""``agentnb run AGENT "message"``: stream one run to the terminal."""

from __future__ import annotations

import argparse
import sys

from ._exceptions import AgentNBError, RunError

__all__ = ["add_run_parser", "run_command"]


def add_run_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "run",
        help="stream a run to the terminal",
        description="Stream one agent run to the terminal: reasoning dimmed, tool calls as "
        "one-line notes, the answer as it arrives, a summary line at the end. With no "
        "connection configured it uses the built-in local server. The API key comes from "
        "AGENTNB_API_KEY (never from the command line, where other users could see it).",
    )
    p.add_argument(
        "agent", help="agent to run (built-in server: finance_agent, echo, writer, structured)"
    )
    p.add_argument("message", nargs="+", help="the message (words are joined with spaces)")
    p.add_argument(
        "--provider",
        help="dialect: seekrflow, seekrflow-vercel, runagent, operativus, runtools, vercel, openai",
    )
    p.add_argument("--base-url", help="the platform's base URL")
    p.add_argument("--via", help="a named connection from AGENTNB_<NAME>_* variables")
    p.add_argument("--thread", help="continue this thread / session id")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--followups", action="store_true", help="ask for follow-up questions")
    p.add_argument("--no-color", action="store_true", help="plain text output")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from ._api import build_request, start_run
    from ._connections import connect, get_connection
    from ._terminal import TerminalPrinter

    try:
        if args.provider:
            conn = connect(args.provider, base_url=args.base_url, name="cli")
        else:
            conn = get_connection(args.via)
        request = build_request(
            args.agent,
            " ".join(args.message),
            thread_id=args.thread,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            response_format=None,
            metadata=_pairs(args.meta),
            followups=args.followups,
            media=(),
            extra={},
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
    from ._exceptions import ConfigurationError

    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--meta {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs
