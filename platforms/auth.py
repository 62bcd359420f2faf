"""Entra ID tokens for platform calls: one credential per connection, tokens cached until near expiry.

In Azure the credential is the Function App's managed identity (`clientId` on the connection picks a
user-assigned one); on a developer machine `DefaultAzureCredential` finds the developer's login. Local
simulators get a fixed token from `LocalDevCredential`, and only when devhost says so
(`RUNBRIDGE_LOCAL_CREDENTIAL=1`) and the endpoint is on loopback, so a misconfiguration can never send a
made-up token to a real host. Tokens are never logged and never leave this module except as a header.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from platforms.http import ErrorKind, PlatformError

LOCAL_CREDENTIAL_SETTING = "RUNBRIDGE_LOCAL_CREDENTIAL"
# The code of the PlatformError a credential that can't get a token raises (no call reached the platform).
CREDENTIAL_UNAVAILABLE = "CredentialUnavailable"
REFRESH_MARGIN = 300  # seconds before expiry a cached token is replaced


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class LocalDevCredential:
    """A stand-in credential for simulators on loopback: a fixed token, valid for an hour."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("devhost-local-token", int(time.time()) + 3600)


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


_CREDENTIALS: dict[tuple[str | None, str | None], Any] = {}
_LOCK = threading.Lock()


def credential_for(settings: Mapping[str, str], endpoint: str, environ: Mapping[str, str] | None = None) -> Any:
    """The credential a connection uses (shared per tenant/client id, so tokens are cached once)."""
    environ = os.environ if environ is None else environ
    if environ.get(LOCAL_CREDENTIAL_SETTING) == "1" and is_loopback(endpoint):
        return LocalDevCredential()
    key = (settings.get("tenantId"), settings.get("clientId"))
    with _LOCK:
        if key not in _CREDENTIALS:
            _CREDENTIALS[key] = _azure_credential(*key)
        return _CREDENTIALS[key]


def _azure_credential(tenant_id: str | None, client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # heavy: import on first use

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    kwargs = {"additionally_allowed_tenants": ["*"]}
    if tenant_id:
        kwargs["tenant_id"] = tenant_id
    return DefaultAzureCredential(**kwargs)


class BearerToken:
    """`Authorization: Bearer` headers for one scope, refreshing the token shortly before it expires."""

    def __init__(self, credential: Any, scope: str, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._scope = scope
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """The current token; PlatformError (kind AUTH, code CredentialUnavailable) when none can be had.

        A credential raises its own errors (azure-identity's ClientAuthenticationError and its
        CredentialUnavailableError when DefaultAzureCredential finds no identity): they become the one
        error type callers branch on. Their text (which may list every credential tried) is left out.
        """
        with self._lock:
            if self._token is None or self._token.expires_on - REFRESH_MARGIN <= self._clock():
                try:
                    got = self._credential.get_token(self._scope)
                except Exception as exc:
                    raise PlatformError(ErrorKind.AUTH, f"No token could be obtained for the connection's identity "
                                                        f"({type(exc).__name__}).",
                                        code=CREDENTIAL_UNAVAILABLE, operation="getToken") from None
                self._token = AccessToken(got.token, int(got.expires_on))
            return self._token.token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def __repr__(self) -> str:
        return f"BearerToken(scope={self._scope!r})"
