"""The dashboard where the app demands a function key (as in Azure): the key comes in with the page's URL
and goes out with every API call, in the x-functions-key header."""

from __future__ import annotations

import requests

from tests.security.conftest import FUNCTION_KEY, keyed  # noqa: F401 - devhost with a function key set


def test_the_page_needs_the_key_and_passes_it_to_the_api(browser, keyed):  # noqa: F811
    url = f"{keyed.base_url}/api/dashboard"
    assert requests.get(url, timeout=10).status_code == 401
    context = browser.new_context()
    page = context.new_page()
    seen: list[str | None] = []
    page.on("request", lambda r: seen.append(r.headers.get("x-functions-key")) if "/api/runs" in r.url else None)
    try:
        page.goto(f"{url}?code={FUNCTION_KEY}#/runs")
        page.wait_for_selector("#runs-empty")
        assert seen and all(key == FUNCTION_KEY for key in seen)
        page.goto(f"{url}?code={FUNCTION_KEY}#/connections")
        page.wait_for_selector("text=No connection is configured")
    finally:
        context.close()
