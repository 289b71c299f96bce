"""``mcp_tools(url=..., auth="oauth")``: the ``mcp`` SDK's OAuth 2.1 client flow (discovery of
the server's authorization server, dynamic client registration, PKCE, refresh) with agentnb's
parts around it:

- the authorization link is shown where the person is (the cell's output or the terminal),
  and agentnb never opens it;
- the redirect comes back to a listener on 127.0.0.1 only, on a port of its own, for the
  path ``/callback`` and the ``state`` the flow sent;
- the tokens and the client's registration are kept in agentnb's MCP key file (one JSON file,
  mode 0600, in a folder of mode 0700; :func:`key_file`), by server URL, and registered as
  secrets, so no text agentnb writes (the history, a log, an error) carries them;
- :func:`forget` (``agentnb.mcp_logout(url)``) removes a server's entry;
- codes, tokens and the person go only over https, or to this machine (OAuth 2.1, 1.5, as
  MCP's authorization asks): a request of the session (:func:`over_tls`) or a link to a
  host elsewhere over plain http is refused before it goes.

The rest of what another host may do is the SDK's to refuse, and it does (the tests hold it
to that): metadata naming another issuer (RFC 8414, 3.3), a callback's ``iss`` of another
issuer (RFC 9207), a redirect off the server's origin, tokens kept from an authorization
server sent to another, a resource that is not the server's (RFC 9728).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import platformdirs
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl, ValidationError

from ..._core.exceptions import ConfigurationError
from ..._core.secrets import register_secret
from ..._core.version import __version__
from .oauth_client import OAuth

__all__ = [
    "AUTHORIZE_TIMEOUT",
    "ENV_VAR",
    "OAuthCallback",
    "forget",
    "key_file",
    "oauth",
    "over_tls",
]

ENV_VAR: Final = "AGENTNB_MCP_KEYS"
"""Names the MCP key file (default: ``mcp-keys.json`` in agentnb's per-user data folder)."""
AUTHORIZE_TIMEOUT: Final = 300.0
"""Seconds the person has to open the link and sign in."""
_REQUEST_BYTES: Final = 8_192
"""The most of a request the callback reads (its first line and headers)."""
_lock = threading.Lock()


class _SaidByAgentnb(logging.Filter):
    """Drops the SDK's log of a failure agentnb raises with its own message (a sign-in
    nobody finished): said once, by agentnb, not also as the SDK's traceback above it."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        return not isinstance(failure, ConfigurationError)


logging.getLogger("mcp.client.auth.oauth2").addFilter(_SaidByAgentnb())


def key_file() -> Path:
    """The MCP key file: ``AGENTNB_MCP_KEYS``, else ``mcp-keys.json`` in agentnb's per-user
    data folder."""
    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        return Path(named).expanduser()
    return Path(platformdirs.user_data_dir("agentnb", appauthor=False)) / "mcp-keys.json"


def _entries() -> dict[str, Any]:
    path = key_file()
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the MCP key file {path}: {exc}") from None
    return entries if isinstance(entries, dict) else {}


def _write(entries: dict[str, Any]) -> None:
    """The key file replaced whole (written beside it with mode 0600, then moved over it)."""
    path = key_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".mcp-keys-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entries, out)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _update(url: str, key: str, value: dict[str, Any]) -> None:
    with _lock:
        entries = _entries()
        entries[url] = {**(entries.get(url) or {}), key: value}
        _write(entries)


def forget(url: str) -> bool:
    """Remove what the key file keeps for the server at ``url`` (its tokens and its client's
    registration): whether there was anything."""
    with _lock:
        entries = _entries()
        kept = entries.pop(url, None) is not None
        if kept:
            _write(entries)
        return kept


def _registered(token: OAuthToken) -> OAuthToken:
    register_secret(token.access_token)
    register_secret(token.refresh_token)
    return token


class _KeyFileStorage:
    """The SDK's token storage, in the key file under ``url``; a client registered ahead of
    time is the person's (``OAuth(client_id=)``), never kept in the file."""

    def __init__(self, url: str, redirect_uri: str, signing_in: OAuth) -> None:
        self._url = url
        self._redirect_uri = redirect_uri
        self._given = _given_client(signing_in, redirect_uri)

    async def get_tokens(self) -> OAuthToken | None:
        kept = _entries().get(self._url, {}).get("tokens")
        try:
            return _registered(OAuthToken.model_validate(kept)) if kept else None
        except ValidationError:  # a damaged entry: signed in again
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        _update(self._url, "tokens", _registered(tokens).model_dump(mode="json"))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        if self._given is not None:
            return self._given
        kept = _entries().get(self._url, {}).get("client")
        try:
            client = OAuthClientInformationFull.model_validate(kept) if kept else None
        except ValidationError:
            return None
        if client is None or self._redirect_uri not in [str(u) for u in client.redirect_uris or []]:
            return None  # registered for another callback port: registered again
        register_secret(client.client_secret)
        return client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        register_secret(client_info.client_secret)
        _update(self._url, "client", client_info.model_dump(mode="json"))


def _given_client(signing_in: OAuth, redirect_uri: str) -> OAuthClientInformationFull | None:
    """The client registered ahead of time, as the SDK holds a registration: a confidential
    one authenticates with HTTP Basic (RFC 6749, 2.3.1), a public one with its id alone."""
    if signing_in.client_id is None:
        return None
    return OAuthClientInformationFull(
        client_id=signing_in.client_id,
        client_secret=signing_in.client_secret,
        redirect_uris=[AnyUrl(redirect_uri)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_basic" if signing_in.client_secret else "none",
    )


class OAuthCallback:
    """Where the authorization server sends the person back: a listener on 127.0.0.1 only
    (``port``, else one of its own, bound now so the redirect URI is known), for one
    ``/callback``."""

    def __init__(self, port: int | None = None) -> None:
        self._socket = socket.socket()
        try:
            self._socket.bind(("127.0.0.1", port or 0))
        except OSError as exc:
            self._socket.close()
            raise ConfigurationError(
                f"the sign-in's redirect port {port} on 127.0.0.1 is taken ({exc.strerror}): "
                "close what listens there, or register another port with the client"
            ) from None
        self._socket.listen(4)
        self._socket.setblocking(False)
        self.redirect_uri = f"http://127.0.0.1:{self._socket.getsockname()[1]}/callback"
        self.state: str | None = None
        """The ``state`` of the link shown: a callback without it is not the sign-in."""
        self._server: asyncio.Server | None = None
        self._came: asyncio.Future[AuthorizationCodeResult] | None = None

    async def wait(self) -> AuthorizationCodeResult:
        """The code the redirect brings (within :data:`AUTHORIZE_TIMEOUT`). The listener
        stays up for the session: a server asking for more scope later signs in again to the
        same redirect URI."""
        self._came = asyncio.get_running_loop().create_future()
        if self._server is None:
            self._server = await asyncio.start_server(self._answer, sock=self._socket)
        try:
            return await asyncio.wait_for(self._came, AUTHORIZE_TIMEOUT)
        except TimeoutError:
            raise ConfigurationError(
                f"nobody signed in within {AUTHORIZE_TIMEOUT:g} s (the link was not opened)"
            ) from None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.read(_REQUEST_BYTES)
            result = _code_of(head, self.state)
            body = b"Signed in: you may close this page." if result else b"Not a sign-in."
            status = b"200 OK" if result else b"400 Bad Request"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body
            )
            await writer.drain()
            if result is not None and self._came is not None and not self._came.done():
                self._came.set_result(result)
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._socket.close()


def _code_of(head: bytes, expected: str | None) -> AuthorizationCodeResult | None:
    """The code and state of a ``GET /callback?code=...&state=...`` request with the
    ``expected`` state; None for any other request."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, _, rest = line.partition(" ")
    target = rest.rpartition(" ")[0] or rest
    parts = urlsplit(target)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    code, state = query.get("code", ""), query.get("state")
    if method != "GET" or parts.path != "/callback" or not code or state != expected:
        return None
    return AuthorizationCodeResult(code=code, state=state, iss=query.get("iss"))


def oauth(
    url: str, signing_in: OAuth, callback: OAuthCallback, show: Callable[[str], None]
) -> OAuthClientProvider:
    """The SDK's OAuth client for the server at ``url`` signing in as ``signing_in`` says,
    its tokens in the key file, the authorization link given to ``show``, the redirect to
    ``callback``."""
    metadata = OAuthClientMetadata(
        client_name=f"agentnb {__version__}",
        redirect_uris=[AnyUrl(callback.redirect_uri)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )

    async def redirect(link: str) -> None:
        over_tls(link)
        callback.state = next(iter(parse_qs(urlsplit(link).query).get("state", [])), None)
        show(link)

    return OAuthClientProvider(
        server_url=url,
        client_metadata=metadata,
        storage=_KeyFileStorage(url, callback.redirect_uri, signing_in),
        redirect_handler=redirect,
        callback_handler=callback.wait,
        client_metadata_url=signing_in.client_metadata_url,
    )


def over_tls(url: str) -> None:
    """A :class:`ConfigurationError` for a URL a signed-in session would reach over plain
    http on another machine (codes, tokens, the person's sign-in): https, or this machine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" or (parts.scheme == "http" and _this_machine(host)):
        return
    raise ConfigurationError(
        f"refused to reach {host or url:.200} over plain {parts.scheme or 'text'}: OAuth "
        "sends codes and tokens only over https, or to this machine"
    )


def _this_machine(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
