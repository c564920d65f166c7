"""The API's own documentation: /docs (the OpenAPI document as a self-contained HTML page, no CDN, so it
works offline) and /api/v1 (where to find it)."""

from __future__ import annotations

import html

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute

from whosthat.web.api import PREFIX

router = APIRouter(include_in_schema=False)


NO_KEY = {"/api/v1/liveness", "/api/v1/kiosk", "/api/v1/auth", "/api/v1/health", "/healthz", "/readyz"}


def _scopes(dependant) -> set[str]:
    """The API-key scopes an endpoint requires (deps.require_scope marks its dependencies)."""
    found = {dependant.call.scope} if hasattr(dependant.call, "scope") else set()
    for sub in dependant.dependencies:
        found |= _scopes(sub)
    return found


def endpoint_scopes(app: FastAPI) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> what calling it needs, in words: its scopes, or who may call it without a key."""
    out = {}
    routes = [r for router in getattr(app.state, "api_routers", []) for r in router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        scopes = _scopes(route.dependant)
        if scopes:
            need = ", ".join(sorted(scopes))
        elif any(route.path.startswith(p) for p in NO_KEY):
            need = "no API key (the kiosk page, sign-in, health)"
        else:
            need = "any valid API key or an administrator session"
        for method in route.methods:
            out[(method.upper(), route.path)] = need
    return out


def docs_page(app: FastAPI) -> str:
    """Every operation of the OpenAPI document as one table row: method, path, summary, the API-key
    scope it needs, parameters; titled with the API's name and version, a way back to the app."""
    spec = app.openapi()
    needs = endpoint_scopes(app)
    rows = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            need = needs.get((method.upper(), path), "")
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}<br><small>{html.escape(op.get('description', '') or '')[:400]}"
                f"</small></td><td class='scope'>{html.escape(need)}</td><td>{html.escape(params)}</td></tr>"
            )
    title = f"{spec['info']['title']} {spec['info']['version']}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='icon' href='/static/img/favicon.svg' type='image/svg+xml'>"
        "<link rel='stylesheet' href='/static/css/app.css'></head><body><main class='panel'>"
        "<p><a href='/' id='back'>&larr; Back to whosthat</a></p>"
        f"<h1>{html.escape(title)}</h1>"
        "<p>Send the key as <code>X-API-Key</code>; each endpoint lists the scope it needs. "
        "Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Guide: docs/api.md.</p>"
        "<table><thead><tr><th scope='col'>Method</th><th scope='col'>Path</th><th scope='col'>What</th>"
        "<th scope='col'>Needs</th><th scope='col'>Parameters</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(docs_page(request.app))


@router.get(PREFIX)
def api_root() -> JSONResponse:
    return JSONResponse({"openapi": "/openapi.json", "docs": "/docs"})
