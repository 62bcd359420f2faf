"""The one exception the domain raises for a caller's mistake.

Starters turn a `ValidationError` into a 4xx answer `{"error": {"code", "message", "field"}}`. Reasons are
fixed phrases that never quote the caller's value back, so a hostile or secret value cannot reach a
response or a log through an error.
"""

from __future__ import annotations

from core.status import ErrorCode


class ValidationError(ValueError):
    """A request is wrong at `field` (a JSON path such as `parameters[2].name`, `$` for the whole body)."""

    def __init__(self, field: str, reason: str, code: ErrorCode | str = ErrorCode.INVALID_REQUEST) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = str(code)

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The JSON error body the HTTP API answers with."""
        return {"error": {"code": self.code, "message": str(self), "field": self.field}}
