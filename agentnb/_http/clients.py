"""The HTTP client of one platform: httpx's interface on aiohttp's wire, with one TLS context
made from the user's ``verify=`` (the default one made once per process: loading the
certificate store takes tens of milliseconds of the loop every stream shares)."""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import urllib.request
from typing import Any

import httpx

from .._core.exceptions import ConfigurationError

__all__ = [
    "SIDE_CONNECTIONS",
    "Verify",
    "checked_verify",
    "new_http_client",
    "shared_ssl_context",
    "tls_context",
]

Verify = ssl.SSLContext | str | os.PathLike[str] | bool
"""What ``verify=`` takes, as httpx: True (certifi's store, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR``), False (no check), a CA bundle file or directory, or an
``ssl.SSLContext``."""

SIDE_CONNECTIONS = 8
"""Side requests of one transport in flight at once (the others wait their turn)."""


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The default TLS context (certifi's store, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured),
    made once per process."""
    return _http11(httpx.create_ssl_context())


def checked_verify(verify: object) -> Verify:
    """``verify`` when it is one of the values :data:`Verify` allows (a path: one that
    exists), else a :class:`ConfigurationError` saying what is accepted."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        if not os.path.exists(verify):
            raise ConfigurationError(
                f"verify={os.fspath(verify)!r}: no such CA bundle file or directory"
            )
        return verify
    raise ConfigurationError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, not {verify!r}"
    )


def tls_context(verify: Verify = True) -> ssl.SSLContext:
    """The TLS context for ``verify``, made as httpx makes it (``httpx.create_ssl_context``);
    a CA bundle path as httpx's deprecated ``verify=<str>`` did, without the warning. A
    given ``ssl.SSLContext`` is used as it is (its ALPN set to HTTP/1.1)."""
    if verify is True:
        return shared_ssl_context()
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return _http11(ssl.create_default_context(capath=path))
        return _http11(ssl.create_default_context(cafile=path))
    return _http11(httpx.create_ssl_context(verify=verify))


def _http11(context: ssl.SSLContext) -> ssl.SSLContext:
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which skips responses without cookies (httpx builds a urllib
    request and an email message for every response to look for some)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _AsyncClient(httpx.AsyncClient):
    """httpx's client on :class:`~agentnb._http.aiohttp_transport.AiohttpTransport`, with
    :class:`_Cookies`."""

    def __init__(self, timeout: httpx.Timeout, tls: ssl.SSLContext) -> None:
        # aiohttp loads with the first client: a command that sends no request never pays for it
        from .aiohttp_transport import AiohttpTransport

        super().__init__(
            timeout=timeout, transport=AiohttpTransport(tls), mounts=_proxy_mounts(tls)
        )
        self.cookies = {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self._agentnb_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._agentnb_cookies = _Cookies(cookies)


def _proxy_mounts(tls: ssl.SSLContext) -> dict[str, httpx.AsyncBaseTransport | None]:
    """httpx's own transports for the proxies the environment names (``HTTP_PROXY``,
    ``HTTPS_PROXY``, ``ALL_PROXY``), and none for the hosts ``NO_PROXY`` exempts: httpx's
    rules, which a client given ``transport=`` no longer applies itself."""
    found = urllib.request.getproxies()
    if not found or "*" in (host.strip() for host in found.get("no", "").split(",")):
        return {}
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            url = url if "://" in url else f"http://{url}"
            mounts[f"{scheme}://"] = httpx.AsyncHTTPTransport(proxy=url, verify=tls)
    if not mounts:
        return {}
    for host in (host.strip() for host in found.get("no", "").split(",")):
        if "://" in host:
            mounts[host] = None
        elif ":" in host:  # IPv6
            mounts[f"all://[{host}]"] = None
        elif host.lower() == "localhost" or _is_ipv4(host):
            mounts[f"all://{host}"] = None
        elif host:
            mounts[f"all://*{host}"] = None
    return mounts


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def new_http_client(timeout: httpx.Timeout, verify: Verify = True) -> httpx.AsyncClient:
    """The HTTP client a transport makes when none was given to it: httpx's interface, aiohttp
    on the wire, one TLS context from ``verify``; a proxy the environment names is httpx's to
    use (its own transport, the same TLS context)."""
    return _AsyncClient(timeout, tls_context(verify))
