"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the full stack.

`make test` installs Debian's chromium package when it is missing and it can (root with apt-get); without
it these tests are skipped with the reason. Playwright never downloads a browser here: it launches
/usr/bin/chromium (or $RUNBRIDGE_CHROMIUM) with the flags a closed network needs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import stack  # noqa: F401 - simulators + devhost + the HTTP API, on a virtual clock

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "dashboard"
DOCS_IMAGES = ROOT / "docs" / "images"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    configured = os.environ.get("RUNBRIDGE_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium here (Debian package chromium, or set RUNBRIDGE_CHROMIUM): browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (requirements-dev.txt): browser tests skipped")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


class Dashboard:
    """A browser page on the dashboard, failing the test on any script error or CSP violation."""

    def __init__(self, page: Any, url: str) -> None:
        self.page, self.url = page, url
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx fetch as a console error; the API's 4xx answers are expected in some tests.
        if message.type == "error" and "responded with a status of 4" not in message.text:
            self.problems.append(f"console {message.type}: {message.text}")

    def open(self, fragment: str = "") -> Any:
        self.page.goto(self.url + fragment)
        return self.page

    def shot(self, name: str, docs: bool = False) -> Path:
        """Keep a screenshot under tests/artifacts/dashboard (and docs/images when RUNBRIDGE_DOCS_SCREENSHOTS=1)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        if docs and os.environ.get("RUNBRIDGE_DOCS_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMAGES / f"{name}.png")
        return path


@pytest.fixture
def dashboard(browser, stack) -> Iterator[Dashboard]:  # noqa: F811 - stack is the fixture imported above
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    board = Dashboard(page, f"{stack.api}/dashboard")
    try:
        yield board
    finally:
        context.close()
    assert board.problems == [], board.problems
