"""Health: readiness (the database answers, the gallery loads) and the Prometheus metrics text.

These take the Runtime rather than a Context: a probe opens its own database session, so that a
database that cannot be reached is reported, not raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from whosthat.services.runtime import Runtime
from whosthat.store import repositories as repo


@dataclass
class Readiness:
    """ready: whether to send traffic here; body: what the probe answers."""

    ready: bool
    body: dict


def readiness(runtime: Runtime) -> Readiness:
    """Ready when start-up loading is done, the database answers and, once the face pipeline is loaded,
    its gallery loads. While `whosthat serve` loads the gallery: 503 {"status": "starting"}.

    body: {"status": "ok", "gallery_version", "gallery": {embedder: templates}, "pipeline_loaded"},
    or {"status": "unavailable", "error": "database", "detail": the exception's class name}.
    """
    if runtime.warming_up():
        return Readiness(False, {"status": "starting", "gallery": runtime.gallery.sizes()})
    try:
        with runtime.database.session() as db:
            version = repo.counters.gallery_version(db)
            sizes = {}
            if runtime.pipeline_loaded():
                index = runtime.gallery.index(db, runtime.pipeline().model)
                sizes[index.embedder] = len(index)
    except Exception as exc:  # the probe reports, it does not crash
        return Readiness(False, {"status": "unavailable", "error": "database", "detail": type(exc).__name__})
    return Readiness(
        True,
        {
            "status": "ok",
            "gallery_version": version,
            "gallery": sizes,
            "pipeline_loaded": runtime.pipeline_loaded(),
        },
    )


def metrics_text(runtime: Runtime) -> str:
    """The Prometheus text exposition: the counters and histograms, plus the gallery gauges."""
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
    return runtime.metrics.render(gauges)
