"""Running the server: in a background thread (notebooks, tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .._core.exceptions import ConfigurationError
from .._core.stoppable import Stoppable
from ._auth import generate_api_key
from ._served_dialects import dialect_for, dialect_providers
from ._service import AppState, RunFaults
from ._starlette_app import create_app

__all__ = [
    "DIALECT_PROVIDERS",
    "ServerHandle",
    "Serving",
    "bind_socket",
    "check_host",
    "local_server",
    "make_server",
    "serve_in_thread",
    "start_server",
]

STOP_TIMEOUT_S = 10.0
GRACEFUL_SHUTDOWN_S = 3
BACKLOG = 2048
MAX_CONNECTIONS = 1024
"""Connections and requests served at once; past it uvicorn answers 503 (a client holding
connections with half-sent heads cannot take more than these: uvicorn has no public deadline
for a request head)."""
MAX_PORT = 65535

DIALECT_PROVIDERS = dialect_providers()
"""Provider names whose base URL :meth:`ServerHandle.url_for` knows (every ``DIALECT`` a
``_<dialect>_routes`` module declares)."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless remote access was asked for explicitly."""
    if not allow_remote and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to listen on {host!r}: the agentnb server listens on loopback only "
            "(127.0.0.1, ::1 or localhost). To let other machines reach it, pass "
            "--allow-remote (Python: allow_remote=True); every request still needs the API key."
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (port 0 picks a free one), so the real port is known at once.
    ``host`` may be a name, an IPv4 or an IPv6 address (``::1`` or ``[::1]``); each address it
    resolves to is tried in turn."""
    check_port(port)
    failure: OSError | None = None
    for family, kind, proto, _, address in resolve(host, port):
        try:
            return _listening_socket(family, kind, proto, address)
        except OSError as exc:
            failure = exc
    reason = failure.strerror if failure is not None else "no address to listen on"
    raise ConfigurationError(f"cannot listen on {host}:{port}: {reason}")


def check_port(port: int) -> None:
    if not 0 <= port <= MAX_PORT:
        raise ConfigurationError(f"port must be between 0 and {MAX_PORT}, got {port}")


Address = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


def resolve(host: str, port: int) -> Sequence[Address]:
    """The TCP addresses of ``host``; a clear error when it has none."""
    try:
        return socket.getaddrinfo(_unbracketed(host), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigurationError(f"cannot resolve host {host!r}: {reason}") from None


def _unbracketed(host: str) -> str:
    """``[::1]`` (the URL spelling of an IPv6 address) as ``::1``."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _listening_socket(
    family: socket.AddressFamily, kind: socket.SocketKind, proto: int, address: Any
) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)  # connections queue from now on, even before uvicorn accepts
    except OSError:
        sock.close()
        raise
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """Ends every stream before uvicorn waits for connections to close, so stopping is quick;
    tells ``on_started`` once it accepts connections and handles Ctrl-C."""

    def __init__(
        self,
        config: uvicorn.Config,
        state: AppState,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.agentnb_state = state
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.agentnb_state.runs.shutdown()
        await super().shutdown(sockets)


def make_server(
    app: Starlette, *, background: bool, on_started: Callable[[], None] | None = None
) -> uvicorn.Server:
    """A uvicorn server for ``app`` (h11: heads at most 16 KiB; connections bounded)."""
    config = uvicorn.Config(
        app,
        http="h11",
        limit_concurrency=MAX_CONNECTIONS,
        log_level="warning",
        access_log=False,
        log_config=None if background else uvicorn.config.LOGGING_CONFIG,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    state: AppState = app.state.agentnb
    return _Server(config, state, on_started)


class Serving(Stoppable):
    """uvicorn serving in a daemon thread of its own (:func:`serve_in_thread`): whether it
    still runs, and how to stop it."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._stop_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop serving and wait for the thread to end. Safe to call more than once."""
        with self._stop_lock:
            self.stop_soon()
            if self._thread is not threading.current_thread():
                self._thread.join(timeout)

    def stop_soon(self) -> None:
        """Stop serving, without waiting for the thread."""
        self._server.should_exit = True


def serve_in_thread(
    server: uvicorn.Server, sock: socket.socket, name: str, what: str
) -> threading.Thread:
    """Serve on ``sock`` in a daemon thread called ``name``, returned once the server accepts
    connections (``sock`` is closed when it ends); a RuntimeError saying why ``what`` failed
    to start when it does not."""
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the starting thread
            failures.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    # no deadline: on a busy machine a start takes what it takes, and one that fails ends
    # its thread, which is what is waited for besides the start
    while not server.started:
        if not thread.is_alive():
            reason = repr(failures[0]) if failures else "its thread ended"
            raise RuntimeError(f"{what} failed to start: {reason}")
        time.sleep(0.01)
    return thread


class ServerHandle(Serving):
    """A running server: where it is, its key, and how to stop it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        server: uvicorn.Server,
        thread: threading.Thread,
        app: Starlette,
    ) -> None:
        super().__init__(server, thread)
        self.base_url = base_url
        self.api_key = api_key
        self.app = app

    def url_for(self, provider: str) -> str:
        """The base URL a provider's client uses (``/v1`` appended for OpenAI, ``/ag-ui`` for
        AG-UI)."""
        return self.base_url + dialect_for(provider).prefix

    def client_settings(self, provider: str) -> dict[str, Any]:
        """``base_url`` and the ``provider_options`` a provider's client of this server needs
        (AG-UI and A2A: ``{"path": "/{agent}"}``, one agent per path), as keyword arguments
        for ``AsyncAgentClient`` or ``agentnb.connect``."""
        dialect = dialect_for(provider)
        settings: dict[str, Any] = {"base_url": self.base_url + dialect.prefix}
        if dialect.client_options:
            settings["provider_options"] = dict(dialect.client_options)
        return settings

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServerHandle {self.base_url} api_key='***' {state}>"


def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    delay_ms: int = 15,
    faults: RunFaults | None = None,
    *,
    allow_remote: bool = False,
) -> ServerHandle:
    """Start the server in a daemon thread and return once it accepts connections.

    ``port=0`` picks a free port; ``api_key=None`` makes a random per-process key.
    ``faults`` lets requests inject faults (the tests' seam: the package ships none).
    """
    check_host(host, allow_remote)
    key = api_key or generate_api_key()
    app = create_app(key, delay_ms=delay_ms, faults=faults)
    server = make_server(app, background=True)
    sock = bind_socket(host, port)
    thread = serve_in_thread(server, sock, "agentnb-server", "the agentnb server")
    return ServerHandle(base_url_of(sock), key, server, thread, app)


_shared: ServerHandle | None = None
_shared_lock = threading.Lock()


def local_server() -> ServerHandle:
    """The process-wide shared server, started on first use (loopback, random port and key)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = start_server()
            atexit.register(_shared.stop)
        return _shared


def run_foreground(
    host: str,
    port: int,
    api_key: str,
    *,
    delay_ms: int,
    allow_remote: bool,
    on_ready: Callable[[str], None],
) -> None:
    """Serve in this thread until interrupted (Ctrl-C stops it gracefully). ``on_ready`` is
    told the base URL once the server accepts connections and Ctrl-C is its own: a Ctrl-C
    sent earlier, while uvicorn still imports its protocol modules, can be swallowed by an
    import-lock callback and leave the server running."""
    check_host(host, allow_remote)
    app = create_app(api_key, delay_ms=delay_ms)
    sock = bind_socket(host, port)
    server = make_server(app, background=False, on_started=lambda: on_ready(base_url_of(sock)))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
