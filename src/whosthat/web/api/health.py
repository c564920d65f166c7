"""Health probes (outside /api/v1): /healthz (the process answers), /readyz (database reachable, gallery
loads), /metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from whosthat.services import health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness probe: the process answers")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness probe: the database answers and the gallery index loads")
def readyz(request: Request) -> JSONResponse:
    """200 {"status": "ok", "gallery_version", "gallery", "pipeline_loaded"}; 503 while not ready."""
    result = health.readiness(request.app.state.runtime)
    return JSONResponse(result.body, status_code=200 if result.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        health.metrics_text(request.app.state.runtime), media_type="text/plain; version=0.0.4"
    )
