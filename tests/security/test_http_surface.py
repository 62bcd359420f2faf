"""Every HTTP function needs a key: FUNCTION (or ADMIN) auth level in function_app.py, enforced.

In Azure the Functions host checks the key (x-functions-key header or ?code=) before the function runs;
devhost does the same once a key is configured (`devhost serve --function-key`), so the second test
proves each route of this app is refused without the key, whatever new routes are added.
"""

from __future__ import annotations

import re

import pytest
import requests

from devhost.app_loader import load_app

from .conftest import FUNCTION_KEY, ROOT

KEYED_LEVELS = {"FUNCTION", "ADMIN"}


def _routes():
    return load_app(ROOT).routes


def _sample_path(template: str) -> str:
    """A concrete path for a route template: each {param}, {param?}, {*rest} or {p:int} becomes a value."""
    return re.sub(r"\{\*?([A-Za-z_]\w*)(?::[^}?]*)?\??\}", "sec-1", template)


def test_the_app_has_http_functions_and_every_one_needs_a_key():
    routes = _routes()
    assert routes, "function_app.py serves no HTTP function"
    open_routes = [(r.function.name, r.template, r.auth_level) for r in routes if r.auth_level not in KEYED_LEVELS]
    assert open_routes == [], f"HTTP functions below FUNCTION auth level: {open_routes}"


def test_the_app_default_auth_level_is_function():
    app = load_app(ROOT).module.app
    assert str(app.auth_level).rsplit(".", 1)[-1].upper() == "FUNCTION"


def _requests() -> list[tuple[str, str]]:
    calls = []
    for route in _routes():
        for method in sorted(route.methods or {"GET", "POST"}):
            calls.append((method, _sample_path(route.template)))
    return calls


@pytest.mark.parametrize(("method", "path"), _requests(), ids=lambda v: v)
def test_each_route_is_refused_without_the_key_and_served_with_it(keyed, method, path):
    url = f"{keyed.base_url}/api/{path}"
    for headers, params in (({}, {}), ({"x-functions-key": "wrong"}, {}), ({}, {"code": "wrong"})):
        response = requests.request(method, url, headers=headers, params=params, json={}, timeout=10)
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without the key"
        assert "Traceback" not in response.text
    for headers, params in (({"x-functions-key": FUNCTION_KEY}, {}), ({}, {"code": FUNCTION_KEY})):
        response = requests.request(method, url, headers=headers, params=params, json={}, timeout=10)
        assert response.status_code != 401, f"{method} {path} refused the right key"
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text


def test_the_durable_management_api_needs_the_key(keyed):
    url = f"{keyed.base_url}/runtime/webhooks/durabletask/instances"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"code": FUNCTION_KEY}, timeout=10).status_code == 200
