"""/metrics on prometheus_client: parseable exposition with the recognition, liveness and lockout
counters (the hand-written registry had none of them)."""

from __future__ import annotations

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import jpeg, upload
from whosthat.services import access, kiosk_login
from whosthat.services.common import Context


def _samples(web) -> dict:
    r = web.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class _EndedChallenge:
    """A challenge that ended without passing, as the liveness route hands it over."""

    passed = False
    reason = "timeout"

    def summary(self):
        return {}


def test_recognition_liveness_and_lockout_counters(web):
    blank = jpeg(np.full((240, 320, 3), 200, np.uint8))
    r = web.client.post("/api/v1/identify", files=upload(blank), headers=web.headers)
    assert r.status_code == 422 and r.json()["error"] == "no_face"
    ctx = web.context()
    try:
        access.create_admin(ctx, "metrics", "metrics password 1")
    finally:
        ctx.db.close()
    for _ in range(web.runtime.settings.password_max_failures):
        web.client.post("/api/v1/auth/login", json={"username": "metrics", "password": "wrong password"})
    with Context.open(web.runtime, "198.51.100.9") as ctx:
        kiosk_login.conclude_challenge(ctx, "metrics-kiosk", _EndedChallenge())
    samples = _samples(web)
    assert samples[("whosthat_recognitions_total", (("kind", "identify"), ("outcome", "no_face")))] >= 1
    assert samples[("whosthat_lockouts_total", (("kind", "password"),))] >= 1
    assert samples[("whosthat_liveness_total", (("reason", "timeout"), ("result", "failed")))] >= 1
    assert any(name == "whosthat_http_requests_total" for name, _ in samples)
