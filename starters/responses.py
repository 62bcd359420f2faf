"""JSON answers of the HTTP API: one error shape `{"error": {"code", "message", "field"}}`, never a trace."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from core.errors import ValidationError

MAX_BODY_BYTES = 1024 * 1024


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json",
                             headers=headers or {})


def error_response(status: int, code: str, message: str, field: str | None = None) -> func.HttpResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return json_response(status, {"error": error})


def validation_response(exc: ValidationError) -> func.HttpResponse:
    status = 404 if exc.code == "NotFound" and exc.field == "id" else 400
    return json_response(status, exc.to_dict())


def read_json_body(req: func.HttpRequest) -> Any:
    """The request's JSON body; ValidationError for a malformed one, PayloadTooLarge past the cap."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not body.strip():
        raise ValidationError("$", "the body must be a JSON object")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("$", "the body is not valid JSON") from None
    except RecursionError:  # nesting deeper than the parser's stack: refuse, never a 500
        raise ValidationError("$", "the body is nested too deeply") from None


class PayloadTooLarge(Exception):
    """The body is over MAX_BODY_BYTES (413)."""


def too_large() -> func.HttpResponse:
    return error_response(413, "PayloadTooLarge", f"The body is larger than {MAX_BODY_BYTES} bytes.", "$")
