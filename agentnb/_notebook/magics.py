"""IPython magics: ``%%agent``, ``%agent``, ``%agent_attach``, ``%agent_runs``,
``%agent_config``.

Thin: each parses its arguments with ``magic_arguments`` and calls the public API. Errors the
user can fix come back as a ``UsageError`` (one paragraph, no internal traceback) that fails
the cell, and are shown only there: a run the server refused is not displayed, and a
``--wait`` run that did not complete is displayed without its error line.

In terminal IPython a run always streams in the foreground (the prompt it would otherwise
print over comes back after the answer), Ctrl-C cancels it, and a tool call awaiting
approval is asked about at a ``[y/N]`` prompt (see :mod:`agentnb._display.approval_prompt`).
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float, Unicode

from .._app.context.attachments import as_text, asks_first, typed_message
from .._app.context.context_tools import remember_code_error
from .._app.context.interpolate import interpolate
from .._app.context.live_notebook import notebook_tools
from .._app.front import api as _api
from .._app.front import interrupts
from .._app.front.attach_targets import history_row
from .._app.front.connections import connect, connections, get_connection, via_for
from .._app.front.run_flags import AGENT_HELP, approval_policy, parser_options, unknown_options
from .._app.past.history_tables import runs
from .._core.exceptions import AgentNBError, HTTPStatusError
from .._core.handle import RunHandle
from .._core.request import RunOptions
from .._core.text import terminal_safe
from .._display.approval_prompt import wait_for_readers
from .._display.environment import kernel_shell, terminal_shell
from .._display.plain_table import PlainTable
from .._tracing import SWITCH_VAR, configure_tracing, settings_from_env, tracing_status
from . import MAGICS, magic_input
from .magic_args import (
    attach_options,
    lookup,
    request_options,
    run_options,
    split_line,
    without_comment,
)

__all__ = ["AgentMagics", "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class AgentMagics(Magics):
    """Run agents from notebook cells. Configure with ``c.AgentMagics.<trait>``."""

    default_via = Unicode("default", help="connection used when --via is not given").tag(
        config=True
    )
    provider = Unicode(
        "", help="provider of the default connection (overrides AGENTNB_PROVIDER)"
    ).tag(config=True)
    base_url = Unicode("", help="base URL of the default connection").tag(config=True)
    plain = Bool(False, help="text output instead of widgets by default").tag(config=True)
    wait = Bool(
        False, help="block until each run ends by default (terminal IPython always does)"
    ).tag(config=True)
    start_timeout = Float(
        5.0,
        help="seconds a magic waits for the server to accept a run before showing it, so "
        "that errors such as an unknown agent or a bad key are raised by the cell",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        if self.provider:
            connect(self.provider, base_url=self.base_url or None, name="default")

    # ---- %%agent / %agent ---------------------------------------------------------------
    @magic_arguments(name="agent")
    @argument("agent", help=AGENT_HELP)
    @run_options
    @cell_magic
    def agent(self, line: str, cell: str) -> None:
        """Run AGENT with the cell body as the message; the run handle is bound to ``_agent``."""
        args = self._parse(self.agent, without_comment(line))
        if args is not None:
            self._start(args, cell)

    @magic_arguments(name="agent")
    @argument("agent", help=AGENT_HELP)
    @run_options
    @line_magic("agent")  # type: ignore[arg-type]
    def agent_line(self, line: str) -> Any:
        """%agent AGENT [options] message... — a one-line run. ``%agent`` alone (or with only
        ``--via NAME``) lists the agents the connection offers."""
        listing = re.fullmatch(r"\s*(?:--via[ =](\S+))?\s*", without_comment(line))
        if listing is not None:
            with _usage_errors():
                return get_connection(listing.group(1) or self.default_via).agents()
        prefix, message = split_line(line)
        args = self._parse(self.agent_line, prefix)
        if args is None:
            return None
        if not message.strip():
            raise UsageError("%agent needs a message after the agent name: %agent AGENT message")
        self._start(args, message)
        return None

    # ---- %agent_attach ----------------------------------------------------------------
    @magic_arguments()
    @argument(
        "run",
        nargs="?",
        help="the run: its id (agentnb's local id or the platform's run id) or a notebook "
        "variable holding a history / remote_runs() row, a RemoteRun or a Run (default: the "
        "latest run of the history still running or interrupted)",
    )
    @argument("--agent", help="the run's agent, when the history does not know the run")
    @attach_options
    @line_magic
    def agent_attach(self, line: str) -> RunHandle | None:
        """Show again a run the platform is still executing (after a kernel restart, from
        another notebook); its history row is completed. The handle is bound to ``_agent``."""
        args = self._parse(self.agent_attach, line)
        if args is None:
            return None
        ns = self.shell.user_ns if self.shell is not None else {}
        if args.out and not args.out.isidentifier():
            raise UsageError(f"--out {args.out!r} is not a valid variable name")
        with _usage_errors():
            target = _attach_target(args.run, ns)
            waits = terminal_shell() is not None or self._waits(args)
            via = args.via or _own_connection(target) or self.default_via
            handle = _api.attach(
                target,
                agent=args.agent,
                thread_id=args.thread,
                via=via,
                plain=self.plain if args.plain is None else args.plain,
                wait=waits,
                record=not args.no_record,
                start_timeout=self.start_timeout,
                approve=approval_policy(args.approve, get_connection(via), waiting=waits),
            )
        ns["_agent"] = handle
        if args.out:
            ns[args.out] = handle
        return None

    # ---- %agent_runs ------------------------------------------------------------------
    @magic_arguments()
    @argument("--agent", help="only runs of this agent")
    @argument("--status", help="only runs with this status (completed, failed, ...)")
    @argument("--thread", help="only runs of this thread")
    @argument("--limit", type=int, default=None, help="at most N runs (default: all, 20 a page)")
    @argument(
        "--search",
        nargs="+",
        metavar="WORD",
        help="only runs holding these words, best match first (see agentnb.runs)",
    )
    @line_magic
    def agent_runs(self, line: str) -> Any:
        """Show the run history as a table."""
        args = self._parse(self.agent_runs, line)
        if args is None:
            return None
        search = None if args.search is None else " ".join(args.search)
        with _usage_errors():
            return runs(
                agent=args.agent,
                status=args.status,
                thread=args.thread,
                limit=args.limit,
                search=search,
            )

    # ---- %agent_config ----------------------------------------------------------------
    @magic_arguments()
    @argument("--default-via", metavar="NAME", help="connection used when --via is not given")
    @argument("--plain", action="store_true", default=None, help="text output by default")
    @argument("--widget", action="store_true", default=None, help="widget output by default")
    @argument("--wait", action="store_true", default=None, help="block until runs end")
    @argument("--no-wait", action="store_true", default=None, help="return at once (default)")
    @argument(
        "--tracing",
        metavar="on|off|URL",
        help="trace every run with OpenTelemetry: on (the OTEL_* variables say where), off, "
        "or an OTLP/HTTP collector URL such as http://localhost:6006 (Phoenix)",
    )
    @argument(
        "--trace-content",
        action="store_true",
        default=None,
        help="with --tracing: also record messages, answers and tool calls (user data)",
    )
    @line_magic
    def agent_config(self, line: str) -> Any:
        """Show the connections (keys masked), the magics' defaults and tracing; set them."""
        args = self._parse(self.agent_config, line)
        if args is None:
            return None
        if args.tracing is not None or args.trace_content:
            with _usage_errors():
                _switch_tracing(args.tracing, args.trace_content)
        if args.default_via:
            with _usage_errors():
                get_connection(args.default_via)
            self.default_via = args.default_via
        if args.plain or args.widget:
            self.plain = bool(args.plain)
        if args.wait or args.no_wait:
            self.wait = bool(args.wait)
        return _config_table(
            [c.describe() for c in connections().values()],
            {
                "default_via": self.default_via,
                "plain": self.plain,
                "wait": self.wait,
                "tracing": tracing_status().describe(),
            },
        )

    # ---- helpers -----------------------------------------------------------------------
    def _parse(self, magic: Any, line: str) -> argparse.Namespace | None:
        """The parsed options, or None after printing the help for ``-h`` / ``--help``."""
        if {"-h", "--help"} & set(line.split()):
            print(_help(magic))
            return None
        try:
            parsed: argparse.Namespace = parse_argstring(magic, line)
            return parsed
        except UsageError as exc:
            raise _with_did_you_mean(exc, magic.parser) from None
        except ValueError as exc:  # unbalanced quotes in the line
            raise UsageError(f"{exc}\n{magic.parser.format_usage()}") from None

    def _start(self, args: argparse.Namespace, body: str) -> RunHandle | None:
        ns = self.shell.user_ns if self.shell is not None else {}
        if args.out and not args.out.isidentifier():
            raise UsageError(f"--out {args.out!r} is not a valid variable name")
        started: list[RunHandle] = []

        def bind(handle: RunHandle) -> None:
            started.append(handle)
            ns["_agent"] = handle
            if args.out:
                ns[args.out] = handle

        terminal = terminal_shell() is not None
        try:
            with _usage_errors():
                self._ask(args, body, ns, bind, wait=terminal or self._waits(args))
        except KeyboardInterrupt:
            if not (terminal and started):
                raise
            # the cancelled run's approval question, if any, must stop reading the terminal
            # before the prompt is drawn, or it would swallow the next line typed
            wait_for_readers()
            # Ctrl-C at a terminal: the run ended cancelled and its summary line said so;
            # the prompt comes back without a traceback through agentnb's internals
        return started[0] if started else None

    def _waits(self, args: argparse.Namespace) -> bool:
        return self.wait if args.wait is None else bool(args.wait)

    def _ask(
        self,
        args: argparse.Namespace,
        body: str,
        ns: dict[str, Any],
        bind: Callable[[RunHandle], None],
        *,
        wait: bool,
    ) -> None:
        # the body was typed; what {{name}} puts in it was not: its @ mentions stay text
        message = body if args.no_interpolate else interpolate(body, ns, inserted=as_text)
        if not message.strip():
            raise UsageError("the message is empty: write it in the cell body")
        options = request_options(args, ns)
        if args.notebook:
            options["tools"] = [*(options.get("tools") or ()), *notebook_tools()]
        # a mention's attachment is decided here too (the context settings' ask_first)
        local_tools = bool(args.context or options.get("tools") or asks_first(message))
        typed = typed_message.set(True)  # the magic's own body: its mentions attach
        try:
            self._send(args, message, ns, options, bind, wait=wait, local_tools=local_tools)
        finally:
            typed_message.reset(typed)

    def _send(
        self,
        args: argparse.Namespace,
        message: str,
        ns: dict[str, Any],
        options: RunOptions,
        bind: Callable[[RunHandle], None],
        *,
        wait: bool,
        local_tools: bool,
    ) -> None:
        via = via_for(args.agent, args.via) or self.default_via
        _api.ask(
            args.agent,
            message.strip("\n"),
            via=via,
            continue_thread=getattr(args, "continue"),
            schema=lookup(ns, args.schema, "--schema") if args.schema else None,
            plain=self.plain if args.plain is None else args.plain,
            wait=wait,
            record=not args.no_record,
            on_started=bind,
            start_timeout=self.start_timeout,
            approve=approval_policy(
                args.approve, get_connection(via), waiting=wait, local_tools=local_tools
            ),
            context=args.context,
            **options,
        )


def _config_table(rows: list[dict[str, str]], defaults: dict[str, Any]) -> PlainTable:
    """What ``%agent_config`` shows: the connections (keys masked), then the defaults."""
    header = ("name", "provider", "base_url", "api_key")
    note = "defaults: " + ", ".join(f"{k}={v}" for k, v in defaults.items())
    return PlainTable(header, (list(row.values()) for row in rows), notes=[note])


def _switch_tracing(value: str | None, content: bool | None) -> None:
    """``--tracing on|off|URL`` read as ``AGENTNB_TRACING`` is, then configure_tracing."""
    if value is None:
        raise UsageError("--trace-content goes with --tracing on (or a collector URL)")
    settings = settings_from_env({SWITCH_VAR: value})
    if settings.problem is not None:
        raise UsageError(f"--tracing {value!r} is neither on/off nor an http(s):// collector URL")
    if not settings.enabled:
        configure_tracing(False)
        return
    configure_tracing(endpoint=settings.endpoint, content=content)


def _help(magic: Any) -> str:
    """The magic's help as argparse writes it, without the reST marker IPython puts first,
    and named as it is typed (``%%agent`` for the cell magic)."""
    parser = magic.parser
    if magic.__name__ == "agent":  # the cell magic; IPython's usage line adds one "%"
        parser.prog = "%agent"
    text: str = parser.format_help()
    return text.removeprefix("::").lstrip("\n")


def _with_did_you_mean(exc: UsageError, parser: argparse.ArgumentParser) -> UsageError:
    """IPython's "unrecognized arguments" error, each misspelled option with its did-you-mean."""
    prefix = "unrecognized arguments: "
    text = str(exc)
    if not text.startswith(prefix):
        return exc
    return UsageError(unknown_options(text.removeprefix(prefix).split(), parser_options(parser)))


def _attach_target(run: str | None, ns: dict[str, Any]) -> Any:
    """What ``%agent_attach RUN`` names: a variable's value, an id, or the latest run of the
    history left running or interrupted."""
    if run is not None and run.isidentifier() and run in ns:
        return ns[run]
    if run is not None:
        return history_row(run) or run
    left = runs(status=["running", "interrupted"], limit=1)
    if not len(left):
        raise UsageError("no run in the history is running or interrupted: %agent_attach RUN")
    return left[0]


def _own_connection(target: Any) -> str | None:
    """The connection of the run's row, when it is registered."""
    name = getattr(target, "connection", None)
    return name if isinstance(name, str) and name in connections() else None


@contextmanager
def _usage_errors() -> Iterator[None]:
    """agentnb errors a user can fix → UsageError: one paragraph, no internal traceback, and
    nothing a terminal would act on (the message may quote a server; terminal IPython prints
    it as it is)."""
    try:
        yield
    except UsageError:
        raise
    except AgentNBError as exc:
        raise UsageError(terminal_safe(_said(exc))) from None


OUTPUT_COLUMNS = 78
"""Where an error's lines are cut in a terminal, between words, so that one of 80 columns
holds them (it breaks a longer line anywhere, even inside a word). A notebook's output wraps
its lines at its own width, between words: there they are not cut."""


def _said(exc: AgentNBError) -> str:
    """An error as a cell says it: what a person can act on first (a server's own reason for
    refusing), where it came from and the error's class after it, in whole words."""
    text, kind = str(exc), type(exc).__name__
    where, arrow, answer = text.partition(" → ")
    status, colon, reason = answer.partition(": ")
    if isinstance(exc, HTTPStatusError) and arrow and colon and exc.status_code < 500:
        text = f"The server refused the request: {reason}\n({status} from {where}; {kind})"
    else:
        text = f"{text} ({kind})"
    if kernel_shell() is not None:
        return text
    # the first line follows IPython's "UsageError: "
    lines = textwrap.wrap(text.splitlines()[0], OUTPUT_COLUMNS, initial_indent=" " * 12, **_WHOLE)
    for line in text.splitlines()[1:]:
        lines += textwrap.wrap(line, OUTPUT_COLUMNS, **_WHOLE)
    return "\n".join(lines).lstrip()


_WHOLE: dict[str, Any] = {"break_long_words": False, "break_on_hyphens": False}


def _remember_code_error(result: Any) -> None:
    """``post_run_cell``: the exception a cell's code raised is what ``@error`` attaches; a
    magic's ``UsageError`` (a refused ``%%agent`` cell) is not the user's error."""
    error = getattr(result, "error_in_exec", None)
    if error is not None and not isinstance(error, UsageError):
        remember_code_error(error)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext agentnb``: the magics, ``?``-safe ``%agent`` lines, interrupts that
    cancel runs."""
    ipython.register_magics(AgentMagics)
    magic_input.install(ipython)
    interrupts.install(ipython)
    if _remember_code_error not in ipython.events.callbacks["post_run_cell"]:
        ipython.events.register("post_run_cell", _remember_code_error)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext agentnb``: undo :func:`load_ipython_extension`."""
    magic_input.uninstall(ipython)
    interrupts.uninstall(ipython)
    if _remember_code_error in ipython.events.callbacks["post_run_cell"]:
        ipython.events.unregister("post_run_cell", _remember_code_error)
    magics = ipython.magics_manager.registry.get("AgentMagics")
    if magics is not None:
        for kind in ("line", "cell"):
            for name in MAGICS:
                ipython.magics_manager.magics[kind].pop(name, None)
