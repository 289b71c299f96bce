"""An MCP server behind OAuth 2.1, built with the ``mcp`` SDK's own auth pieces (its
authorization server routes, bearer-token middleware and protected-resource metadata), for the
tests of ``mcp_tools(url=..., auth="oauth")``: an in-memory provider that approves every
authorization at once (the test drives the person's step: it opens the link), issues tokens
that last ``lifetime`` seconds, and counts the refreshes. ``audience`` makes the server say it
is another resource (a token meant for another audience).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.types import ToolAnnotations
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse


@dataclass
class Provider:
    lifetime: int = 3600
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    refreshed: int = 0
    redirects: list[str] = field(default_factory=list)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        code = secrets.token_urlsafe(16)
        assert client.client_id is not None
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        self.redirects.append(str(params.redirect_uri))
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        del self.codes[authorization_code.code]
        return self._issue(authorization_code.client_id, authorization_code.resource)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        del self.refresh[refresh_token.token]
        self.refreshed += 1
        return self._issue(refresh_token.client_id, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)

    def _issue(self, client_id: str, resource: str | None) -> OAuthToken:
        access, refresh = f"at-{secrets.token_hex(16)}", f"rt-{secrets.token_hex(16)}"
        expires = int(time.time()) + self.lifetime
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=[], expires_at=expires, resource=resource
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=[], resource=resource
        )
        return OAuthToken(access_token=access, expires_in=self.lifetime, refresh_token=refresh)


@dataclass
class Seen:
    """Each request the app answered: its ``Host`` and headers, and what it changed."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """``(host, path, headers)`` of each request, in order."""
    bodies: list[tuple[str, str, bytes]] = field(default_factory=list)
    """``(host, path, body)`` of each request, in order."""

    def to(self, host: str) -> list[tuple[str, dict[str, str]]]:
        return [(path, headers) for seen, path, headers in self.requests if seen == host]


def oauth_app(
    base: str,
    provider: Provider,
    audience: str | None = None,
    *,
    issuer: str | None = None,
    claims_issuer: str | None = None,
    endpoints_at: str | None = None,
    moved_endpoints: tuple[str, ...] = (),
    moved_to: str | None = None,
    seen: Seen | None = None,
) -> Starlette:
    """The app at ``base`` (``http://127.0.0.1:PORT``): the MCP endpoint ``/mcp`` and the
            authorization server beside it. ``audience``: the path of the resource the server says it
            is (on the same host: ``/payments``), where it is not its MCP endpoint's. ``issuer``: the
            authorization server's own address, where it is not ``base`` (another host name for the
            same listener, ``http://localhost:PORT``). ``claims_issuer``: an issuer its metadata names
            instead of its own (a metadata document of another server). ``endpoints_at``: the origin
        its metadata names for its endpoints (``moved_endpoints``, or all of them: plain http on
    another host). ``moved_to``: ``/moved``
            redirects there. ``seen`` records every request."""
    server = MCPServer(
        "vault",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer or base,
            resource_server_url=f"{base}{audience or '/mcp'}",
            validate_token_resource=False,
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        ),
    )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def balance(account: str) -> str:
        """An account's balance."""
        return f"{account}: 1,234.56 USD"

    app: Any = server.streamable_http_app()
    if moved_to is not None:
        app.add_route("/moved", lambda request: RedirectResponse(moved_to, 307), ["GET", "POST"])
    if claims_issuer is not None or endpoints_at is not None:
        app.add_middleware(
            MetadataChanged, issuer=claims_issuer, endpoints=endpoints_at, which=moved_endpoints
        )
    if seen is not None:
        app.add_middleware(Recorded, seen=seen)
    return app


class Recorded(BaseHTTPMiddleware):
    def __init__(self, app: Any, seen: Seen) -> None:
        super().__init__(app)
        self.seen = seen

    async def dispatch(self, request: Request, call_next: Any) -> Any:
        headers = {k.lower(): v for k, v in request.headers.items()}
        host = headers.get("host", "")
        self.seen.requests.append((host, request.url.path, headers))
        self.seen.bodies.append((host, request.url.path, await request.body()))
        return await call_next(request)


class MetadataChanged(BaseHTTPMiddleware):
    """The authorization server's metadata, its ``issuer`` replaced, or the origin of its
    endpoints."""

    def __init__(
        self, app: Any, issuer: str | None, endpoints: str | None, which: tuple[str, ...]
    ) -> None:
        super().__init__(app)
        self.issuer = issuer
        self.endpoints = endpoints
        self.which = which

    async def dispatch(self, request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if not request.url.path.startswith("/.well-known/oauth-authorization-server"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        document = json.loads(body)
        if self.issuer is not None:
            document["issuer"] = self.issuer
        if self.endpoints is not None:
            for key, value in list(document.items()):
                moved = key in self.which if self.which else key.endswith("_endpoint")
                if moved and isinstance(value, str):
                    path = value.split("/", 3)[3]
                    document[key] = f"{self.endpoints}/{path}"
        return JSONResponse(document, status_code=response.status_code)
