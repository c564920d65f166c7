"""Post/redirect/get for the Kiosks, API keys, group and holiday create forms (issue 15, admin polish), over HTTP
without a browser: a refused form answers 303 to the form's GET page with a draft token; that page
shows the error beside its field under the field's own label (aria-invalid + aria-describedby), the
summary at the top, and what was entered; nothing is created."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.page_client import app_with_admins, context, csrf_of, sign_in

from whosthat.services import access, kiosks, schedules


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path)


def _refused(client, url: str, data: dict) -> str:
    """POST the form; assert the 303 to its GET page with a draft; the page sent back."""
    page = client.get(url)
    r = client.post(url, data={"csrf_token": csrf_of(page.text), **data}, follow_redirects=False)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(rf"{re.escape(url)}\?draft=[\w-]+", location), location
    shown = client.get(location)
    assert shown.status_code == 200
    return shown.text


def _error(html: str, field: str) -> str:
    return re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html).group(1)


def test_a_taken_kiosk_name_is_said_beside_the_name_field_with_the_entered_values_kept(app):
    ctx = context(app)
    taken, _code = kiosks.create_kiosk(ctx, name="Front door")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        data = {"name": "Front door", "site": "Annex", "timezone": "Europe/Rome", "language": "it"}
        html = _refused(client, "/admin/kiosks", data)
        assert re.search(
            r'<input id="k-name" name="name"[^>]*aria-invalid="true" aria-describedby="name-error"', html
        )
        assert _error(html, "name") == (  # the field's own label; a link to the kiosk that has the name
            f'Kiosk name <a href="/admin/kiosks#kiosk-{taken.id}">Front door</a> is already the name of a kiosk.'
        )
        assert 'id="error-summary"' in html and "The kiosk was not created. Nothing was saved:" in html
        assert '<a href="#k-name">' in html  # the summary leads to the field
        assert re.search(r'<input id="k-name"[^>]*value="Front door"', html)
        assert re.search(r'<input id="k-site"[^>]*value="Annex"', html)
        assert re.search(r'<input id="k-tz"[^>]*value="Europe/Rome"', html)
        assert '<option value="it" lang="it" selected>' in html
        # A reload of the sent-back page creates nothing; the site and time zone fields are not marked.
        assert 'aria-describedby="site-error"' not in html and 'aria-describedby="timezone-error"' not in html
    assert [k.name for k in kiosks.list_kiosks(context(app))] == ["Front door"]


def test_a_wrong_time_zone_is_said_beside_its_field_in_the_admins_language(app):
    with TestClient(app, headers={"Accept-Language": "de-DE,de;q=0.9"}) as client:
        sign_in(client)
        html = _refused(client, "/admin/kiosks", {"name": "lobby", "site": "", "timezone": "Mars/Olympus"})
        assert re.search(
            r'<input id="k-tz" name="timezone"[^>]*aria-invalid="true" aria-describedby="timezone-error"',
            html,
        )
        assert "Mars/Olympus" in _error(html, "timezone")
        assert "Der Kiosk wurde nicht angelegt. Nichts wurde gespeichert:" in html
        assert re.search(r'<input id="k-name"[^>]*value="lobby"', html)
    assert kiosks.list_kiosks(context(app)) == []


def test_an_api_key_without_a_name_is_sent_back_with_its_scopes_kept(app):
    with TestClient(app) as client:
        sign_in(client)
        html = _refused(client, "/admin/apikeys", {"name": " ", "scopes": ["identify", "people:write"]})
        assert re.search(
            r'<input id="key-name" name="name"[^>]*aria-invalid="true" aria-describedby="name-error"', html
        )
        assert _error(html, "name") == "Name must not be empty."
        assert "No key was created. Nothing was saved:" in html and '<a href="#key-name">' in html
        checked = re.findall(r'<input type="checkbox" name="scopes" value="([\w:]+)" checked', html)
        assert sorted(checked) == ["identify", "people:write"]  # what was ticked, not the defaults
        assert 'id="new-key"' not in html
    assert access.list_api_keys(context(app)) == []


def test_an_api_key_without_scopes_is_said_beside_the_scopes_in_the_admins_language(app):
    with TestClient(app, headers={"Accept-Language": "fr-FR,fr;q=0.9"}) as client:
        sign_in(client)
        html = _refused(client, "/admin/apikeys", {"name": "payroll export"})
        assert '<fieldset class="scopes" id="key-scopes" aria-describedby="scopes-error">' in html
        assert 'value="identify" aria-invalid="true"' in html
        assert _error(html, "scopes")
        assert "Aucune clé n’a été créée. Rien n’a été enregistré :" in html
        assert re.search(r'<input id="key-name"[^>]*value="payroll export"', html)
        assert not re.findall(r'name="scopes" value="[\w:]+" checked', html)  # none was ticked
    assert access.list_api_keys(context(app)) == []


def test_a_taken_group_name_is_said_beside_the_group_name_field(app):
    ctx = context(app)
    schedules.create_group(ctx, "Warehouse")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/schedules")
        r = client.post(
            "/admin/groups",
            data={"csrf_token": csrf_of(page.text), "name": "Warehouse"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert re.fullmatch(r"/admin/schedules\?draft=[\w-]+", r.headers["location"])
        html = client.get(r.headers["location"]).text
        assert re.search(
            r'<input id="g-name" name="name"[^>]*value="Warehouse" aria-invalid="true" aria-describedby="name-error"',
            html,
        )
        assert _error(html, "name") == "A group named &#39;Warehouse&#39; exists."
        assert "The group was not created. Nothing was saved:" in html and '<a href="#g-name">' in html
        assert (
            'id="h-name" name="name" required maxlength="120" value=""' in html
        )  # the other form: untouched
    assert [g.name for g in schedules.list_groups(context(app))] == ["Warehouse"]


def test_a_holiday_without_a_day_is_sent_back_with_its_name_in_the_admins_language(app):
    with TestClient(app, headers={"Accept-Language": "it-IT,it;q=0.9"}) as client:
        sign_in(client)
        page = client.get("/admin/schedules")
        r = client.post(
            "/admin/holidays",
            data={"csrf_token": csrf_of(page.text), "day": "", "name": "Ferragosto"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        html = client.get(r.headers["location"]).text
        assert re.search(
            r'<input id="h-day" name="day"[^>]*aria-invalid="true" aria-describedby="day-error"', html
        )
        assert _error(html, "day")
        assert re.search(r'<input id="h-name" name="name"[^>]*value="Ferragosto"', html)
        assert "La festività non è stata aggiunta. Non è stato salvato nulla:" in html
        assert '<a href="#h-day">' in html
    assert schedules.list_holidays(context(app)) == []


def test_a_refused_schedule_is_sent_back_with_the_error_beside_the_field_and_the_week_kept(app):
    with TestClient(app, headers={"Accept-Language": "de-DE,de;q=0.9"}) as client:
        sign_in(client)
        page = client.get("/admin/schedules")
        data = {"csrf_token": csrf_of(page.text), "name": "Late shift", "timezone": "Europe/Berlin"}
        data |= {"grace_late_min": "10", "grace_early_min": "5", "half_day_below_pct": "20"}
        data |= {"absent_below_pct": "30", "mon_start": "14:00", "mon_end": "22:00", "mon_break": "45"}
        r = client.post("/admin/schedules", data=data, follow_redirects=False)
        assert r.status_code == 303
        assert re.fullmatch(r"/admin/schedules\?draft=[\w-]+", r.headers["location"])
        html = client.get(r.headers["location"]).text
        assert re.search(
            r'<input id="s-absent" name="absent_below_pct"[^>]*value="30" aria-invalid="true"'
            r' aria-describedby="absent_below_pct-error"',
            html,
        )
        assert _error(html, "absent_below_pct")
        assert "Der Dienstplan wurde nicht angelegt. Nichts wurde gespeichert:" in html
        assert '<a href="#s-absent">' in html and '<details class="panel" id="new-schedule" open>' in html
        assert re.search(r'<input id="s-name"[^>]*value="Late shift"', html)
        assert re.search(r'<input id="s-late"[^>]*value="10"', html)
        assert 'name="mon_start" type="time"' in html and 'value="14:00"' in html and 'value="22:00"' in html
        assert re.search(r'name="tue_start" type="time"[^>]*value=""', html)  # left empty: not the default
    assert schedules.list_schedules(context(app)) == []


def test_an_assignment_without_a_first_day_is_sent_back_with_the_choices_kept(app):
    ctx = context(app)
    week = [{"start": "09:00", "end": "17:00", "break_min": 30}, *[None] * 6]
    office = schedules.create_schedule(ctx, name="Office", timezone="Europe/Berlin", week=week)
    night = schedules.create_schedule(ctx, name="Night", timezone="Europe/Berlin", week=week)
    crew = schedules.create_group(ctx, "Crew")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/schedules")
        data = {"csrf_token": csrf_of(page.text), "schedule": str(night.id), "target": f"group:{crew.id}"}
        r = client.post("/admin/schedules/assign", data={**data, "valid_from": ""}, follow_redirects=False)
        assert r.status_code == 303
        assert re.fullmatch(r"/admin/schedules\?draft=[\w-]+", r.headers["location"])
        html = client.get(r.headers["location"]).text
        assert re.search(
            r'<input id="a-from" name="valid_from"[^>]*aria-invalid="true" aria-describedby="valid_from-error"',
            html,
        )
        assert _error(html, "valid_from") == "Give the day as YYYY-MM-DD."
        assert "The schedule was not assigned. Nothing was saved:" in html and '<a href="#a-from">' in html
        assert f'<option value="{night.id}" selected>Night</option>' in html
        assert f'<option value="{office.id}">Office</option>' in html
        assert f'<option value="group:{crew.id}" selected>' in html
    assert schedules.list_assignments(context(app)) == []
