"""`local.settings.json`, read the way Core Tools (`func start`) reads it for a Python app.

- `Values` become app settings, that is environment variables of the host and the worker, before the app
  is imported. A variable already set in the environment wins (Core Tools skips that value and says so).
- `IsEncrypted: true` means the values were encrypted with `func settings encrypt` (a machine-bound key):
  devhost cannot read them and refuses to start rather than run with ciphertext as settings.
- `ConnectionStrings` are for frameworks that read a connection-strings section (ASP.NET); Python code and
  the Functions bindings read `Values`, so devhost applies none of them and says so.
- `Host` (LocalHttpPort, CORS) is not read: devhost takes its port from `--port`.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "local.settings.json"


class LocalSettingsError(ValueError):
    """local.settings.json cannot be applied; the message says why and what to do."""


@dataclass
class Applied:
    """What applying local.settings.json did, for the start-up log."""

    set: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already in the environment, which wins
    ignored_connection_strings: list[str] = field(default_factory=list)


def apply_local_settings(app_dir: str | Path, environ: MutableMapping[str, str] | None = None) -> Applied | None:
    """Apply `<app_dir>/local.settings.json` to `environ` (default: the process environment); None if absent."""
    path = Path(app_dir) / FILE_NAME
    if not path.is_file():
        return None
    environ = os.environ if environ is None else environ
    try:
        settings = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise LocalSettingsError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(settings, dict):
        raise LocalSettingsError(f"{path} must hold a JSON object")
    if settings.get("IsEncrypted") is True:
        raise LocalSettingsError(f"{path} is encrypted (IsEncrypted: true); devhost cannot read encrypted values: "
                                 "run `func settings decrypt` in the app folder first")
    values = settings.get("Values") or {}
    if not isinstance(values, dict):
        raise LocalSettingsError(f"{path}: Values must be an object of name/value strings")
    applied = Applied(ignored_connection_strings=sorted(settings.get("ConnectionStrings") or {}))
    present = {name.upper() for name in environ}
    for name, value in values.items():
        if not isinstance(value, str):
            raise LocalSettingsError(f"{path}: Values.{name} must be a string (app settings are strings)")
        if name.upper() in present:  # app setting names compare ignoring case
            applied.kept.append(name)
            continue
        environ[name] = value
        applied.set.append(name)
    return applied
