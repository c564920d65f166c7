"""Stored codes shown on the admin pages in the reader's words: the correction requests' status tabs and
an attendance event's source were English codes ("pending", "über kiosk") on German pages."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, sign_in
from whosthat.services import attendance, people


def test_request_tabs_and_an_events_source_in_german_and_italian(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        sign_in(client)
        ctx = context(app)
        ada = people.create_person(ctx, employee_code="W1", name="Ada", surname="Lovelace")
        face = attendance.clock(ctx, ada.id, kiosk="lobby", at=datetime(2026, 3, 2, 8, tzinfo=UTC))
        pin = attendance.clock(
            ctx, ada.id, kiosk="lobby", at=datetime(2026, 3, 2, 12, tzinfo=UTC), source="pin"
        )
        ctx.db.close()

        tabs = client.get("/admin/attendance/requests", headers={"Accept-Language": "de"}).text
        for word in ("offen", "alle"):
            assert f">{word}</a>" in tabs
        assert ">pending</a>" not in tabs and ">all</a>" not in tabs
        tabs = client.get("/admin/attendance/requests", headers={"Accept-Language": "it"}).text
        assert ">in attesa</a>" in tabs and ">tutte</a>" in tabs

        page = client.get(f"/admin/attendance/events/{face.id}", headers={"Accept-Language": "de"}).text
        assert "(Gesichtsanmeldung)" in page and "über kiosk" not in page
        page = client.get(f"/admin/attendance/events/{pin.id}", headers={"Accept-Language": "it"}).text
        assert "(accesso con PIN)" in page
        page = client.get(f"/admin/attendance/events/{face.id}").text
        assert "(face login)" in page
