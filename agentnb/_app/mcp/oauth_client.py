"""How agentnb signs in to an MCP server's OAuth 2.1 authorization server: the person's
choice (:class:`OAuth`), apart from the flow (:mod:`.mcp_oauth`, the ``mcp`` SDK's) so that
naming it needs no optional extra."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from ..._core.exceptions import ConfigurationError
from ..._core.secrets import register_secret

__all__ = ["OAuth"]


@dataclasses.dataclass(frozen=True)
class OAuth:
    """How ``mcp_tools(url=..., auth=OAuth(...))`` signs in to the server's OAuth 2.1
    authorization server (``auth="oauth"`` is ``OAuth()``): as a client registered there
    ahead of time (``client_id``), else named by its metadata document's URL where the
    authorization server takes one (``client_metadata_url``), else registered on the spot
    (dynamic client registration)."""

    client_id: str | None = None
    """The client's id, registered ahead of time with the authorization server."""
    client_secret: str | None = None
    """That client's secret (a confidential client: sent with HTTP Basic), kept as a secret."""
    redirect_port: int | None = None
    """The port of the redirect URI registered with that client,
    ``http://127.0.0.1:PORT/callback`` (default: a free port, for a client registered on the
    spot or named by a metadata document that allows any loopback port)."""
    client_metadata_url: str | None = None
    """An https URL of this client's metadata document (a Client ID Metadata Document), used
    as its id by an authorization server that says it takes one."""

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret", "client_metadata_url"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"OAuth({name}=) is a text, not {value!r:.100}")
        if self.client_secret is not None and self.client_id is None:
            raise ConfigurationError("OAuth(client_secret=) goes with the client_id= it is for")
        port = self.redirect_port
        if port is not None and (type(port) is not int or not 0 < port < 65536):
            raise ConfigurationError(f"OAuth(redirect_port=) is a port number, not {port!r:.100}")
        document = urlsplit(self.client_metadata_url or "https://a/b")
        if document.scheme != "https" or not document.hostname or document.path in ("", "/"):
            raise ConfigurationError(
                "OAuth(client_metadata_url=) is an https URL with a path, not "
                f"{self.client_metadata_url!r:.200}"
            )
        register_secret(self.client_secret)
