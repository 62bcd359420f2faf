"""GET /api/dashboard: the runs dashboard, one HTML page that uses only the public HTTP API.

The page, its style and its script are static files in dashboard/, shipped with the app (no build step,
no CDN). They are served as ONE document with the style and script inlined: the route needs the function
key like every other (SECURITY.md C1), and a browser would not send the key for separate asset URLs. The
Content-Security-Policy allows exactly those two inline blocks (by hash), calls to this origin only, and
no framing; `Referrer-Policy: no-referrer` keeps the `?code=` key out of the platforms' monitor pages.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

STATIC = Path(__file__).resolve().parent.parent / "dashboard"
bp = df.Blueprint()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=1)
def dashboard_page() -> tuple[bytes, dict[str, str]]:
    """The page with its style and script inlined, and the headers that lock it down."""
    style = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    script = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("<!-- dashboard.css -->", f"<style>{style}</style>")
    page = page.replace("<!-- dashboard.js -->", f"<script>{script}</script>")
    policy = "; ".join((
        "default-src 'none'",
        f"script-src {_sha256(script)}",
        f"style-src {_sha256(style)}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    return page.encode("utf-8"), headers


@bp.route(route="dashboard", methods=["GET"])
async def api_dashboard(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/dashboard: the runs dashboard (open it with ?code=<function key> where keys are required)."""
    body, headers = dashboard_page()
    return func.HttpResponse(body, status_code=200, mimetype="text/html", charset="utf-8", headers=dict(headers))
