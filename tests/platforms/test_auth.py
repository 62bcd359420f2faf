"""Tokens: a credential that gets none is a PlatformError (AUTH) callers can answer, with none of its text."""

from __future__ import annotations

import pytest
from azure.identity import CredentialUnavailableError

from platforms.auth import CREDENTIAL_UNAVAILABLE, AccessToken, BearerToken
from platforms.http import ErrorKind, PlatformError


class _Credential:
    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.calls = error, 0

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.calls += 1
        if self.error:
            raise self.error
        return AccessToken("tok", 10_000)


def test_a_credential_that_finds_no_identity_is_an_auth_platform_error_without_its_text():
    bearer = BearerToken(_Credential(CredentialUnavailableError("EnvironmentCredential: secret=abc123")), "s/.default")
    with pytest.raises(PlatformError) as caught:
        bearer.headers()
    assert caught.value.kind == ErrorKind.AUTH and caught.value.code == CREDENTIAL_UNAVAILABLE
    assert not caught.value.transient
    assert "abc123" not in str(caught.value) and "CredentialUnavailableError" in caught.value.message


def test_a_token_is_cached_until_near_expiry():
    credential = _Credential()
    bearer = BearerToken(credential, "s/.default", clock=lambda: 1_000)
    assert bearer.headers() == bearer.headers() == {"Authorization": "Bearer tok"}
    assert credential.calls == 1
