"""Health endpoints: /healthz (the process answers), /readyz (database reachable, gallery loads),
/metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from whosthat.store import repositories as repo

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness probe: the process answers")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness probe: the database answers and the gallery index loads")
def readyz(request: Request):
    runtime = request.app.state.runtime
    try:
        with runtime.database.session() as db:
            version = repo.counters.gallery_version(db)
            sizes = {}
            if runtime.pipeline_loaded():
                index = runtime.gallery.index(db, runtime.pipeline().model)
                sizes[index.embedder] = len(index)
    except Exception as exc:  # the probe reports, it does not crash
        return JSONResponse(
            {"status": "unavailable", "error": "database", "detail": type(exc).__name__}, status_code=503
        )
    return {
        "status": "ok",
        "gallery_version": version,
        "gallery": sizes,
        "pipeline_loaded": runtime.pipeline_loaded(),
    }


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    runtime = request.app.state.runtime
    gauges = {
        "whosthat_gallery_templates": (
            "templates in the in-memory index",
            [({"embedder": k}, v) for k, v in runtime.gallery.sizes().items()],
        ),
        "whosthat_gallery_reloads": (
            "index refreshes after the change counter moved",
            [({}, runtime.gallery.reloads)],
        ),
        "whosthat_gallery_decrypt_failures": (
            "template rows that did not decrypt",
            [({}, runtime.gallery.decrypt_failures)],
        ),
    }
    return PlainTextResponse(runtime.metrics.render(gauges), media_type="text/plain; version=0.0.4")
