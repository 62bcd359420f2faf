"""The app's key for the page tokens it hands out (core/page_tokens.py): discovery pages and run list pages."""

from __future__ import annotations

import os
import secrets

from core.page_tokens import derive_key

PAGE_KEY_SETTING = "RUNBRIDGE_PAGE_TOKEN_KEY"
_process_key = secrets.token_bytes(32)


def page_key() -> bytes:
    """From the RUNBRIDGE_PAGE_TOKEN_KEY setting, else from the storage connection string's account key (one per
    app, shared by its instances), else made at start-up (tokens then hold on the instance that gave them:
    docs/operations.md)."""
    configured = os.environ.get(PAGE_KEY_SETTING)
    if configured:
        return derive_key(configured)
    storage = os.environ.get("AzureWebJobsStorage") or ""  # noqa: SIM112 (the Functions setting's name)
    if "AccountKey=" in storage:
        return derive_key(storage)
    return _process_key
