"""``GET /api/console`` (the page) and ``GET /api/console/{asset}`` (its scripts and styles), from ``static/``.

Anonymous: the page and assets carry no data and no secret; every API call the page makes needs the function key
(or, deployed with ``enableAuthentication``, App Service Authentication in front of everything). A strict
Content-Security-Policy allows scripts, styles and API calls from this origin only and no inline script, so
nothing an image name or tag value smuggles into the page can run.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from triggers.problems import problem

bp = df.Blueprint()
STATIC = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# The index is a template for two values only: where its assets and the API are (the host's routePrefix may vary).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _assets() -> dict[str, tuple[bytes, str]]:
    """Every servable asset by file name, read once: nothing outside ``static/`` can be named."""
    return {
        path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
        for path in sorted(STATIC.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


ASSETS = _assets()
INDEX_TEMPLATE = (STATIC / PAGE).read_text(encoding="utf-8")


def console_base(url: str) -> str:
    """``/api/console`` (whatever the route prefix) from the request URL, for the page's asset and API links."""
    path = urlsplit(url).path.rstrip("/")
    at = path.lower().rfind("/console")
    return path[: at + len("/console")] if at >= 0 else "/console"


def render_index(url: str) -> str:
    base = console_base(url)
    return INDEX_TEMPLATE.replace("{{ASSETS}}", html.escape(base, quote=True)).replace(
        "{{API}}", html.escape(base[: -len("/console")] or "/", quote=True)
    )


@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_page(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/console``: the operator console."""
    return func.HttpResponse(
        render_index(req.url), mimetype="text/html", charset="utf-8", headers=dict(SECURITY_HEADERS)
    )


@bp.route(route="console/{asset}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/console/{asset}``: one of the console's scripts or styles."""
    name = req.route_params.get("asset", "")
    found = ASSETS.get(name)
    if found is None:
        return problem(404, "Asset Not Found", f"the console has no asset named {name[:80]!r}")
    body, media_type = found
    return func.HttpResponse(body, mimetype=media_type, charset="utf-8", headers=dict(SECURITY_HEADERS))
