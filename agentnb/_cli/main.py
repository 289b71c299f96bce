"""The ``agentnb`` command line. Each subcommand is one small function pair (configure the
parser, run) registered in :data:`COMMANDS`; a package adds its own through the
:data:`PLUGINS` entry-point group (evaluation adds ``agentnb experiments``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import NoReturn, TextIO

from .._app.front.connections import close_all
from .._app.front.run_flags import parser_options, unknown_options
from .._app.past.history_tables import HistoryStore
from .._core.exceptions import ConfigurationError
from .._core.text import did_you_mean
from .._display.terminal import fit_lines, print_fitted, terminal_width
from . import analysis
from . import attach as attach_cli
from . import run_command as run_cli
from . import runs as runs_cli
from .key_file import key_from_file

__all__ = ["COMMANDS", "PLUGINS", "Command", "commands", "main"]

API_KEY_ENV = "AGENTNB_SERVER_API_KEY"


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key-file",
        default=None,
        metavar="PATH",
        help="read the key clients must send from this file (its first line)",
    )
    key.add_argument(
        "--api-key",
        default=None,
        help=f"the key itself (visible to other users in `ps`: prefer ${API_KEY_ENV} or "
        "--api-key-file; default: a random one)",
    )
    parser.add_argument(
        "--delay-ms", type=_non_negative, default=15, help="pause between streamed chunks"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (other machines can then reach the server)",
    )


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _serve(args: argparse.Namespace) -> int:
    # the server (starlette, uvicorn) loads only for `serve`
    from ..server._auth import generate_api_key
    from ..server._serve import run_foreground

    given, source = _given_key(args)
    api_key = given or generate_api_key()

    def ready(base_url: str) -> None:
        _print_banner(base_url, api_key, source)

    with contextlib.suppress(KeyboardInterrupt):
        run_foreground(
            args.host,
            args.port,
            api_key,
            delay_ms=args.delay_ms,
            allow_remote=args.allow_remote,
            on_ready=ready,
        )
    print("agentnb server stopped.", flush=True)
    return 0


def _given_key(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The key the user gave and where it came from (None, None: generate one). A key on the
    command line is warned about: any user of the machine can read it in ``ps``."""
    if args.api_key_file is not None:
        return key_from_file(Path(args.api_key_file), "agentnb serve"), args.api_key_file
    if args.api_key:
        print_fitted(
            "agentnb serve: warning: a key given with --api-key is visible to every user of "
            f"this machine (ps, /proc); set ${API_KEY_ENV} or use --api-key-file instead"
        )
        return args.api_key, "--api-key"
    from_env = os.environ.get(API_KEY_ENV)
    return (from_env, f"${API_KEY_ENV}") if from_env else (None, None)


def _auth_header_argument(api_key: str, source: str | None) -> str:
    """The example's ``-H`` argument as a shell reads it: the generated key itself, the
    environment variable (double quotes, so the shell expands it), or a placeholder for a
    key given on the command line (not echoed back)."""
    if source is None:
        return shlex.quote(f"Authorization: Bearer {api_key}")
    if source.startswith("$"):
        return f'"Authorization: Bearer {source}"'
    if source != "--api-key":  # a key file: the shell reads it
        return f'"Authorization: Bearer $(cat {shlex.quote(source)})"'
    return "'Authorization: Bearer <your key>'"


def _print_banner(base_url: str, api_key: str, source: str | None) -> None:
    shown_key = api_key if source is None else f"(the one from {source})"
    lines = [
        f"agentnb local agent server on {base_url}",
        f"API key: {shown_key}",
        "  send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>';",
        f"  OpenAI-compatible clients use base URL {base_url}/v1",
        "Try:",
        f"  curl -N {base_url}/v1/agents/finance_agent/stream \\",
        f"    -H {_auth_header_argument(api_key, source)} \\",
        "    -H 'Content-Type: application/json' \\",
        """    -d '{"query": "What is NVDA trading at?"}'""",
    ]
    lines.append("Press Ctrl-C to stop.")
    print(fit_lines("\n".join(lines), terminal_width(sys.stdout)), flush=True)


COMMANDS: dict[str, Command] = {
    "serve": Command(
        "run the built-in local agent server in the foreground", _configure_serve, _serve
    ),
    "run": Command(run_cli.HELP, run_cli.configure, run_cli.run_command),
    "runs": Command(runs_cli.HELP, runs_cli.configure, runs_cli.main),
    "attach": Command(attach_cli.HELP, attach_cli.configure, attach_cli.attach_command),
    "summary": Command(analysis.SUMMARY_HELP, analysis.configure_summary, analysis.summary_command),
}


PLUGINS = "agentnb.plugins"
"""The entry-point group of modules that add commands, as simonw/llm's plugins do: each
module's ``register_commands(add)`` calls ``add(name, help, configure, text)``, and the
command prints ``text(args, store)``, read from the history ``--db`` names (the default
one otherwise), made safe for and fitted to the terminal; ``(text, status)`` exits with
``status``."""

CommandText = Callable[[argparse.Namespace, HistoryStore], str | tuple[str, int]]


def commands() -> dict[str, Command]:
    """:data:`COMMANDS` and the commands the installed plugins add."""
    found = dict(COMMANDS)

    def add(
        name: str,
        help: str,
        configure: Callable[[argparse.ArgumentParser], None],
        text: CommandText,
    ) -> None:
        if name in found:
            raise ConfigurationError(f"a plugin adds the command {name!r}, which exists")

        def configured(parser: argparse.ArgumentParser) -> None:
            configure(parser)
            parser.add_argument("--db", help="history database path (default: as `agentnb runs`)")

        def run(args: argparse.Namespace) -> int:
            return analysis.print_from(args, name, lambda store: text(args, store))

        found[name] = Command(help, configured, run)

    for point in entry_points(group=PLUGINS):
        try:
            point.load().register_commands(add)
        except Exception as exc:  # a broken plugin costs its commands, not the CLI
            print_fitted(f"agentnb: plugin {point.name!r} adds no command: {exc}")
    return found


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its error wrapped at words to the terminal's width (argparse
    wraps its help, not its errors)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print_fitted(f"{self.prog}: error: {message}")
        self.exit(2)


def build_parser(known: Mapping[str, Command] | None = None) -> argparse.ArgumentParser:
    known = commands() if known is None else known
    parser = _Parser(prog="agentnb", description="Stream AI agent runs into Jupyter.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in known.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(handler=command.run, parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # agentnb's own command needs no plugin loaded (their imports cost a start ~0.1 s)
    known = COMMANDS if argv and argv[0] in COMMANDS else commands()
    parser = build_parser(known)
    if argv and not argv[0].startswith("-") and argv[0] not in known:
        close = did_you_mean(argv[0], known)
        hint = f": did you mean {close!r}?" if close else ""
        parser.error(f"unknown command {argv[0]!r}{hint} (commands: {', '.join(known)})")
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # a misspelled option gets its did-you-mean (exits 2, as argparse does)
        sub: argparse.ArgumentParser = args.parser
        sub.error(unknown_options(unknown, parser_options(sub)))
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _said_plainly
            return handler(args)
    except ConfigurationError as exc:  # a usage error, before anything ran: one line
        print_fitted(f"agentnb {args.command}: error: {exc}")
        return 2
    finally:
        _close_clients()


_python_showwarning = warnings.showwarning


def _said_plainly(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """agentnb's own warnings (``agentnb: ...``) as the terminal's other lines: its words,
    fitted, not a Python warning headed by a source file and line; any other as Python
    shows it."""
    text = str(message).strip()
    if text.startswith("agentnb:"):
        print_fitted(text, file or sys.stderr)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def _close_clients() -> None:
    """Close the clients, waiting (bounded) for their background requests, such as the
    platform cancel after Ctrl-C, which the process would otherwise exit before sending. A
    second Ctrl-C while it waits leaves at once: one line, exit 130, no traceback."""
    try:
        close_all()
    except KeyboardInterrupt:
        print_fitted(
            "agentnb: interrupted again: not waiting for the platform to confirm the cancel "
            "(the run may go on there)"
        )
        raise SystemExit(130) from None


if __name__ == "__main__":
    sys.exit(main())
