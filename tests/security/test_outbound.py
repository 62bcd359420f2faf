"""Outbound calls go only to configured hosts, over https (http only to this machine), and credentials
are sent only to the host they are for.

- core/connections.py refuses every endpoint setting that is not https, or http to loopback;
- platforms/auth.py gives the made-up local token only to loopback endpoints, and only when asked;
- platforms/http.py must not send a connection's credentials to any other origin: not to an absolute
  URL handed to it (a platform's nextLink, an API page token), not across a redirect. Two of these are
  open findings (SECURITY.md "Findings"), marked xfail(strict=True): when the fix lands they pass, the
  strict marker turns that into a failure, and the marker is removed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from core.connections import _SPECS, ConnectionType, _endpoint, read_connections
from platforms import auth
from platforms.http import NO_RETRY, HttpClient, PlatformError

SECRET = "outbound-test-secret-0123456789"

ENDPOINT_SETTINGS = [(kind, key) for kind, spec in _SPECS.items() for key, rule in spec.items()
                     if rule.check is _endpoint]
BASE = {
    ConnectionType.AZURE_ML: {"subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "rg",
                              "workspace": "ws", "region": "eastus"},
    ConnectionType.FOUNDRY_AGENTS: {"endpoint": "https://acct.services.ai.azure.com/api/projects/p"},
    ConnectionType.ABACUS: {"apiKey": "k"},
}
REFUSED = [
    "http://management.azure.com", "http://evil.example", "ftp://evil.example", "file:///etc/passwd",
    "javascript:alert(1)", "//evil.example", "evil.example", "https://", "https://user:pw@evil.example",
    "https://evil.example?x=1", "https://evil.example#x", "https://evil .example", "http://127.0.0.1.evil.example",
    "http://localhost.evil.example", "http://169.254.169.254/metadata", "http://10.0.0.1", "http://[::2]:80",
    "https://host:99999", "gopher://127.0.0.1",
]
ACCEPTED = ["https://management.azure.com", "https://eastus.api.azureml.ms", "http://127.0.0.1:7101",
            "http://localhost:7101", "http://[::1]:7101", "https://api.abacus.ai/"]


def _settings(kind: ConnectionType, key: str, value: str) -> dict[str, str]:
    values = {**BASE[kind], key: value}
    env = {f"CONNECTIONS__c1__{k}": v for k, v in values.items()}
    env["CONNECTIONS__c1__type"] = kind.value
    return env


def test_every_endpoint_setting_is_known():
    assert {key for _, key in ENDPOINT_SETTINGS} >= {"armEndpoint", "historyEndpoint", "endpoint"}


@pytest.mark.parametrize(("kind", "key"), ENDPOINT_SETTINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("value", REFUSED)
def test_endpoint_settings_refuse_anything_but_https_or_loopback_http(kind, key, value):
    connections, problems = read_connections(_settings(kind, key, value))
    assert connections == {}, f"{kind}.{key}={value} was accepted"
    assert any(p.startswith(f"CONNECTIONS__c1__{key}:") for p in problems), problems


@pytest.mark.parametrize(("kind", "key"), ENDPOINT_SETTINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("value", ACCEPTED)
def test_endpoint_settings_accept_https_and_loopback_http(kind, key, value):
    connections, problems = read_connections(_settings(kind, key, value))
    assert problems == [] and connections["c1"].settings[key] == value.rstrip("/")


def test_defaults_are_the_public_https_hosts():
    connections, _ = read_connections({**_settings(ConnectionType.AZURE_ML, "region", "westeurope"),
                                       "CONNECTIONS__c2__type": "abacus", "CONNECTIONS__c2__apiKey": "k"})
    assert connections["c1"].settings["armEndpoint"] == "https://management.azure.com"
    assert connections["c1"].settings["historyEndpoint"] == "https://westeurope.api.azureml.ms"
    assert connections["c2"].settings["endpoint"] == "https://api.abacus.ai"


# ---- the local credential --------------------------------------------------------------------------


@pytest.fixture
def recorded_credentials(monkeypatch):
    """platforms.auth with Azure credentials replaced by records of (tenantId, clientId)."""
    made: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr(auth, "_CREDENTIALS", {})
    monkeypatch.setattr(auth, "_azure_credential", lambda tenant, client: made.append((tenant, client)) or
                        ("azure", tenant, client))
    return made


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:7101", "http://localhost:7102", "http://[::1]:7103"])
def test_the_local_token_goes_only_to_loopback_and_only_when_asked(recorded_credentials, endpoint):
    assert isinstance(auth.credential_for({}, endpoint, {auth.LOCAL_CREDENTIAL_SETTING: "1"}),
                      auth.LocalDevCredential)
    for flag in ({}, {auth.LOCAL_CREDENTIAL_SETTING: "0"}, {auth.LOCAL_CREDENTIAL_SETTING: "true"}):
        assert auth.credential_for({}, endpoint, flag)[0] == "azure"


@pytest.mark.parametrize("endpoint", ["https://management.azure.com", "https://127.0.0.1.nip.io",
                                      "https://localhost.evil.example"])
def test_real_hosts_never_get_the_local_token(recorded_credentials, endpoint):
    credential = auth.credential_for({"clientId": "c"}, endpoint, {auth.LOCAL_CREDENTIAL_SETTING: "1"})
    assert credential == ("azure", None, "c")


# ---- credentials stay with their origin ---------------------------------------------------------------


class _Recorder:
    """A loopback HTTP server that records each request's path and headers; may redirect."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                recorder.seen.append((self.path, dict(self.headers)))
                if recorder.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", recorder.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"value": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.redirect_to = redirect_to
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def credentials_seen(self) -> list[str]:
        return [f"{path} {name}" for path, headers in self.seen for name, value in headers.items()
                if SECRET in value]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[_Recorder, _Recorder]]:
    """(the configured platform host, another host) on two loopback ports: two origins."""
    other = _Recorder()
    platform = _Recorder()
    try:
        yield platform, other
    finally:
        platform.stop()
        other.stop()


def _client(base_url: str) -> HttpClient:
    return HttpClient(base_url, retry=NO_RETRY, auth=lambda: {"Authorization": f"Bearer {SECRET}",
                                                              "apiKey": SECRET, "x-azureml-token": SECRET})


def test_credentials_go_to_the_configured_host(servers):
    platform, _ = servers
    _client(platform.url).request("GET", "/jobs", operation="test")
    assert len(platform.credentials_seen()) == 3


def _open_finding(number: int, what: str) -> pytest.MarkDecorator:
    """An open finding of SECURITY.md: the test fails on its assertion until the fix lands."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"finding F{number} (SECURITY.md): {what}")


@pytest.mark.parametrize("platform", ["azure_ml", "foundry_agents", "abacus"])
def test_an_absolute_url_to_another_origin_never_gets_the_credentials(servers, monkeypatch, platform):
    here, other = servers
    http, extra = _platform_http(platform, here.url, monkeypatch)
    with contextlib.suppress(PlatformError, ValueError):
        http.request("GET", f"{other.url}/steal", operation="test", headers=extra)
    assert other.credentials_seen() == []


def _platform_http(platform: str, endpoint: str, monkeypatch) -> tuple[HttpClient, dict[str, str]]:
    """The HttpClient a real platform client builds for `endpoint`, with SECRET as its token or key, and the
    extra headers it sends on some calls (Azure ML's pipeline PUT carries x-azureml-token)."""
    from core.connections import Connection

    monkeypatch.setattr(auth, "_CREDENTIALS", {})
    monkeypatch.setattr(auth, "_azure_credential", lambda tenant, client: _SecretCredential())
    monkeypatch.delenv(auth.LOCAL_CREDENTIAL_SETTING, raising=False)
    if platform == "azure_ml":
        from platforms.azure_ml.client import create_client

        client = create_client(Connection("ml", ConnectionType.AZURE_ML, {
            **BASE[ConnectionType.AZURE_ML], "armEndpoint": endpoint, "historyEndpoint": endpoint}))
        return client.arm, {"x-azureml-token": SECRET}
    if platform == "foundry_agents":
        from platforms.foundry_agents.client import create_client

        return create_client(Connection("fa", ConnectionType.FOUNDRY_AGENTS, {"endpoint": endpoint})).http, {}
    from platforms.abacus.client import create_client

    return create_client(Connection("ab", ConnectionType.ABACUS, {"endpoint": endpoint, "apiKey": SECRET})).http, {}


class _SecretCredential:
    def get_token(self, *scopes: str, **kwargs) -> auth.AccessToken:
        return auth.AccessToken(SECRET, 4_102_444_800)


@pytest.mark.parametrize(("platform", "header"), [
    ("azure_ml", "Authorization"),
    ("azure_ml", "x-azureml-token"),
    ("foundry_agents", "Authorization"),
    ("abacus", "apiKey"),
])
def test_a_redirect_to_another_origin_carries_no_credential(servers, monkeypatch, platform, header):
    here, other = servers
    here.redirect_to = f"{other.url}/landing"
    http, extra = _platform_http(platform, here.url, monkeypatch)
    with contextlib.suppress(PlatformError):
        http.request("GET", "/jobs", operation="test", headers=extra)
    assert here.credentials_seen(), "the configured host got no credential: the test proves nothing"
    leaked = [seen for seen in other.credentials_seen() if seen.endswith(f" {header}")]
    assert leaked == [], f"{header} followed the redirect to another origin"


def test_a_forged_discovery_page_token_cannot_send_the_platform_token_elsewhere(stack):
    other = _Recorder()
    try:
        forged = base64.urlsafe_b64encode(json.dumps({"p": f"{other.url}/steal"}).encode()).decode().rstrip("=")
        response = requests.get(f"{stack.api}/connections/azureml-sim/jobs", params={"page": forged}, timeout=30)
        assert response.status_code < 500 or response.status_code in (502, 504), response.text
        assert [h for _, headers in other.seen for h, v in headers.items() if "Bearer" in v] == []
    finally:
        other.stop()
