"""The review queue page (no browser): the attempt's chip only for a signed-in admin and only while
pending (no-store), confirm / void with a note, the chip gone after."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from fastapi.testclient import TestClient
from tests.page_client import PASSWORD, csrf_of

from whosthat.config import Settings
from whosthat.services import access, attendance, people, reviews
from whosthat.services.common import Context
from whosthat.web.app import create_app


def test_review_page_shows_the_chip_until_the_decision(tmp_path):
    app = create_app(Settings(home=tmp_path))
    with Context.open(app.state.runtime) as ctx:
        access.create_admin(ctx, "alice", PASSWORD)
        ada = people.create_person(ctx, employee_code="RV1", name="Ada", surname="Lovelace")
        threshold, _ = ctx.runtime.operating_point()
        event = attendance.clock(
            ctx,
            ada.id,
            kiosk="lobby",
            at=datetime(2026, 3, 2, 8, tzinfo=UTC),
            match_distance=0.95 * threshold,
        )
        item = reviews.flag_if_needed(ctx, event, np.full((150, 150, 3), 200, np.uint8), None)
    chip_url = f"/admin/attendance/review/{item.id}/chip.png"
    with TestClient(app) as client:
        assert client.get(chip_url).status_code == 401
        page = client.get("/login")
        client.post(
            "/login", data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        )
        page = client.get("/admin/attendance/review")
        assert chip_url in page.text and "weak match" in page.text
        german = client.get("/admin/attendance/review", headers={"Accept-Language": "de"}).text
        assert "knappe Übereinstimmung" in german and "weak match" not in german
        assert ">offen</a>" in german and ">bestätigt</a>" in german and ">pending</a>" not in german
        french = client.get("/admin/attendance/review", headers={"Accept-Language": "fr"}).text
        assert "correspondance faible" in french and ">en attente</a>" in french
        chip = client.get(chip_url)
        assert chip.status_code == 200 and "no-store" in chip.headers["cache-control"]
        bad = client.post(
            f"/admin/attendance/review/{item.id}/decide",
            data={"csrf_token": csrf_of(page.text), "decision": "void"},
        )
        assert [r.status_code for r in bad.history] == [303] and "note" in bad.text  # a void needs a note
        r = client.post(
            f"/admin/attendance/review/{item.id}/decide",
            data={"csrf_token": csrf_of(page.text), "decision": "void", "note": "someone else"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert client.get(chip_url).status_code == 404
        assert "Nothing to review" in client.get("/admin/attendance/review").text
    app.state.runtime.close()
