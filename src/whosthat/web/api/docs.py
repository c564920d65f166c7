"""The API's own documentation: /docs (the OpenAPI document as a self-contained HTML page, no CDN, so it
works offline) and /api/v1 (where to find it)."""

from __future__ import annotations

import html

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from whosthat.web.api import PREFIX

router = APIRouter(include_in_schema=False)


def docs_page(app: FastAPI) -> str:
    """Every operation of the OpenAPI document as one table row: method, path, summary, parameters."""
    spec = app.openapi()
    rows = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}<br><small>{html.escape(op.get('description', '') or '')[:400]}"
                f"</small></td><td>{html.escape(params)}</td></tr>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>whosthat API</title>"
        "<link rel='stylesheet' href='/static/css/app.css'></head><body><main class='panel'>"
        f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Guide: docs/api.md.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Parameters</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(docs_page(request.app))


@router.get(PREFIX)
def api_root() -> JSONResponse:
    return JSONResponse({"openapi": "/openapi.json", "docs": "/docs"})
