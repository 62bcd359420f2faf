"""What a platform failure tells a caller: the hint naming what to fix, and the HTTP answer that carries it.

One place for the hints, so a connection test, a start, a dry run, a discovery page and a chain say the
same thing about the same failure (the role the identity lacks, the setting to fix). Nothing here quotes
a secret: PlatformError messages never hold one, and hints name settings, not their values.
"""

from __future__ import annotations

import azure.functions as func

from core.connections import Connection, ConnectionType
from platforms.auth import CREDENTIAL_UNAVAILABLE
from platforms.http import ErrorKind, PlatformError
from starters.responses import json_response

# What a 401/403 means per connection type: the role the identity lacks (infra/README.md "Roles").
AUTH_HINTS = {
    ConnectionType.AZURE_ML: ("The app's identity lacks the AzureML Data Scientist role "
                              "(f6c7c914-8db3-469d-8ca1-694a8f32e121) on workspace {workspace}; assign it there "
                              "(infra/README.md, Roles)."),
    ConnectionType.FOUNDRY_AGENTS: ("The app's identity lacks the Azure AI User role "
                                    "(53ca6127-db72-4b80-b1b0-d745d6d5456d) on the Foundry project; assign it "
                                    "there (infra/README.md, Roles). API keys are not accepted."),
    ConnectionType.ABACUS: ("The API key setting (CONNECTIONS__{name}__apiKey, or its Key Vault secret) is wrong, "
                            "or the key lacks access to the organisation's pipelines."),
}
# No token at all: the identity the connection names can't be found or used (platforms/auth.py).
CREDENTIAL_HINT = ("Check the identity settings (CONNECTIONS__{name}__clientId, CONNECTIONS__{name}__tenantId) and "
                   "that the identity exists; on a developer machine, sign in (az login).")
OTHER_HINTS = {
    ErrorKind.TRANSIENT: "The platform did not answer; check the connection's endpoint setting and the network.",
    ErrorKind.THROTTLED: "The platform is throttling calls; try again later.",
    ErrorKind.NOT_FOUND: "The endpoint answered, but what the connection settings name does not exist there; "
                         "check them.",
    ErrorKind.PERMANENT: "The platform refused the call; check the connection settings.",
}
AUTHENTICATION_FAILED = "AuthenticationFailed"


def hint_for(connection: Connection, error: PlatformError) -> str:
    """What the operator should fix for `error` on `connection`."""
    if error.code == CREDENTIAL_UNAVAILABLE:
        return CREDENTIAL_HINT.format(name=connection.name)
    if error.kind == ErrorKind.AUTH:
        return AUTH_HINTS[connection.type].format(name=connection.name,
                                                  workspace=connection.settings.get("workspace", ""))
    return OTHER_HINTS.get(error.kind, OTHER_HINTS[ErrorKind.PERMANENT])


def platform_error_body(connection: Connection, error: PlatformError, field: str = "connection"
                        ) -> dict[str, dict[str, str]]:
    """`{"error": {code, message, field, connection, hint}}` for a call the platform refused or failed,
    naming the connection, with the hint a connection test gives. An auth failure is AuthenticationFailed."""
    code = AUTHENTICATION_FAILED if error.kind == ErrorKind.AUTH else error.code
    verb = "could not authenticate" if error.kind == ErrorKind.AUTH else "failed"
    return {"error": {"code": code, "message": f"Connection {connection.name} {verb}: {error.message}",
                      "field": field, "connection": connection.name, "hint": hint_for(connection, error)}}


def platform_error_response(connection: Connection, error: PlatformError, field: str = "connection"
                            ) -> func.HttpResponse:
    """The HTTP answer for `platform_error_body`: 502, or 504 when the platform may answer later."""
    return json_response(504 if error.transient else 502, platform_error_body(connection, error, field))
