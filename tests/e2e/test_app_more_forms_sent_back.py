"""Post/redirect/get for the employee's /me forms (PIN, correction request), a person's Kiosk PIN form,
a group's Add member form and the New schedule form's weekday rows (issue 15), over HTTP without a
browser: a refused form answers 303 to its GET page with a draft token; that page shows the error
beside its field (aria-invalid + aria-describedby) in the reader's language with what was entered kept,
except a PIN, which is never kept (not on the page, not in the draft); nothing is changed."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.page_client import app_with_admins, context, csrf_of, sign_in

from whosthat.services import corrections, kiosk_login, people, pin_login, schedules
from whosthat.store.models import FormDraft


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path)


def _sent_back(client, page_url: str, url: str, data: dict, to: str) -> str:
    """POST the form found on `page_url`; assert the 303 to `to` with a draft; the page sent back."""
    page = client.get(page_url)
    r = client.post(url, data={"csrf_token": csrf_of(page.text), **data}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    location = r.headers["location"]
    assert re.fullmatch(rf"{re.escape(to)}\?draft=[\w-]+", location), location
    shown = client.get(location)
    assert shown.status_code == 200
    return shown.text


def _error(html: str, field: str) -> str:
    return re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html).group(1)


def _draft_plaintexts(app) -> list[str]:
    """Every stored draft's values and errors, decrypted (what the server keeps)."""
    ctx = context(app)
    try:
        cipher = app.state.runtime.cipher
        rows = ctx.db.query(FormDraft).all()
        return [cipher.decrypt_draft(r.payload, r.token_hash, "values").decode() for r in rows]
    finally:
        ctx.db.close()


def _employee(app, code="K2", name="Kim"):
    ctx = context(app)
    person = people.create_person(ctx, employee_code=code, name=name, surname="Self")
    ticket = kiosk_login.issue_login_ticket(ctx, person.id)
    ctx.db.close()
    return person.id, ticket


# The employee's page ---------------------------------------------------------------------------
def test_a_weak_pin_on_the_employee_page_is_said_beside_the_pin_and_never_kept(app):
    pid, ticket = _employee(app)
    with TestClient(app) as client:
        client.get(f"/me/enter?ticket={ticket}")
        html = _sent_back(client, "/me", "/me/pin", {"pin": "222222", "pin2": "222222"}, "/me")
        assert re.search(
            r'<input id="me-pin" name="pin"[^>]*aria-invalid="true" aria-describedby="pin-error"', html
        )
        assert "6 to 12 digits" in _error(html, "pin")
        assert "Your PIN was not set:" in html and '<a href="#me-pin">' in html
        assert "222222" not in html
        # a reload of the page sent back sets nothing; the error is not shown on a plain /me
        assert 'id="pin-error"' not in client.get("/me").text
        differ = _sent_back(client, "/me", "/me/pin", {"pin": "480151", "pin2": "480152"}, "/me")
        assert re.search(r'<input id="me-pin2"[^>]*aria-invalid="true" aria-describedby="pin2-error"', differ)
        assert _error(differ, "pin2") == "The two PINs differ."
        assert "480151" not in differ and "480152" not in differ
    assert all("222222" not in s and "48015" not in s for s in _draft_plaintexts(app))
    ctx = context(app)
    assert people.get_person(ctx, pid).pin_hash is None  # nothing set
    ctx.db.close()


def test_the_employee_sets_a_good_pin_and_reads_the_flash(app):
    pid, ticket = _employee(app)
    with TestClient(app) as client:
        client.get(f"/me/enter?ticket={ticket}")
        token = csrf_of(client.get("/me").text)
        r = client.post(
            "/me/pin", data={"csrf_token": token, "pin": "480151", "pin2": "480151"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/me"
        me = client.get("/me").text
        assert "Your PIN is set." in me and "You have a PIN." in me
    assert pin_login.pin_login(context(app), "lobby", "K2", "480151").person.id == pid


def test_a_short_reason_is_said_beside_its_field_in_german_with_the_request_kept(app):
    pid, ticket = _employee(app)
    with TestClient(app, headers={"Accept-Language": "de-DE,de;q=0.9"}) as client:
        client.get(f"/me/enter?ticket={ticket}")
        data = {"action": "add", "kind": "in", "day": "2026-03-10", "time": "08:15", "reason": "ok"}
        html = _sent_back(client, "/me", "/me/requests", data, "/me")
        assert re.search(
            r'<input id="req-reason" name="reason"[^>]*value="ok" aria-invalid="true"'
            r' aria-describedby="reason-error"',
            html,
        )
        # the field's own label ("What happened") in the German message
        assert (
            _error(html, "reason") == "Was ist passiert braucht mindestens 3 Zeichen: nennen Sie den Grund."
        )
        assert "Ihr Antrag wurde nicht gesendet:" in html and '<a href="#req-reason">' in html
        assert '<option value="add" selected>' in html and '<option value="in" selected>' in html
        assert 'value="2026-03-10"' in html and 'value="08:15"' in html
        assert 'aria-describedby="day-error"' not in html
    assert corrections.my_requests(context(app), pid) == []


def test_a_bad_time_and_a_missing_event_are_said_beside_their_fields_in_french(app):
    pid, ticket = _employee(app)
    with TestClient(app, headers={"Accept-Language": "fr"}) as client:
        client.get(f"/me/enter?ticket={ticket}")
        data = {"action": "add", "kind": "out", "day": "2026-03-10", "time": "late", "reason": "oublié"}
        html = _sent_back(client, "/me", "/me/requests", data, "/me")
        assert re.search(
            r'<input id="req-time" name="time"[^>]*aria-invalid="true" aria-describedby="time-error"', html
        )
        assert "HH:MM" in _error(html, "time") and "Votre demande n'a pas été envoyée :" in html
        assert 'value="oublié"' in html
        data = {"action": "void", "event": "", "reason": "ce n'était pas moi"}
        html = _sent_back(client, "/me", "/me/requests", data, "/me")
        assert re.search(
            r'<select id="req-event" name="event" aria-invalid="true" aria-describedby="event-error"', html
        )
        assert _error(html, "event") == "Choisissez le pointage à modifier ou à supprimer."
        assert '<option value="void" selected>' in html
    assert corrections.my_requests(context(app), pid) == []


# A person's Kiosk PIN form (administrator) -----------------------------------------------------
def test_a_weak_pin_set_by_the_admin_is_said_beside_the_pin_field_and_never_kept(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="A1", name="Ada", surname="Lovelace")
    ctx.db.close()
    url = f"/admin/people/{ada.id}"
    with TestClient(app, headers={"Accept-Language": "it"}) as client:
        sign_in(client)
        html = _sent_back(client, url, f"{url}/pin", {"pin": "111111", "action": "set"}, url)
        assert re.search(
            r'<input id="pin" name="pin"[^>]*aria-invalid="true" aria-describedby="pin-error pin-help"', html
        )
        assert _error(html, "pin") and "Il PIN non è stato modificato:" in html
        assert "111111" not in html and '<a href="#pin">' in html
        assert 'id="pin-error"' not in client.get(url).text  # a reload: the plain page
    assert all("111111" not in s for s in _draft_plaintexts(app))
    ctx = context(app)
    assert people.get_person(ctx, ada.id).pin_hash is None
    ctx.db.close()


# A group's Add member form ---------------------------------------------------------------------
def test_a_person_already_in_the_group_is_said_beside_that_groups_person_field(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="A1", name="Ada", surname="Lovelace")
    bob = people.create_person(ctx, employee_code="B1", name="Bob", surname="Builder")
    crew = schedules.create_group(ctx, "Crew")
    other = schedules.create_group(ctx, "Other")
    schedules.add_member(ctx, crew.id, ada.id)
    ctx.db.close()
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        sign_in(client)
        url = f"/admin/groups/{crew.id}/members"
        html = _sent_back(client, "/admin/schedules", url, {"person": str(ada.id)}, "/admin/schedules")
        assert re.search(
            rf'<select id="m-{crew.id}" name="person" aria-invalid="true" aria-describedby="person-error">',
            html,
        )
        assert _error(html, "person") == "Ada Lovelace ist bereits in Crew."
        assert f'<option value="{ada.id}" selected>' in html  # the choice kept (in Crew's form only)
        assert re.search(rf'<select id="m-{other.id}" name="person">', html)
        assert "Niemand wurde der Gruppe hinzugefügt:" in html and f'<a href="#m-{crew.id}">' in html
        page = client.get("/admin/schedules")
        r = client.post(
            url, data={"csrf_token": csrf_of(page.text), "person": str(bob.id)}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/admin/schedules"
    assert sorted(schedules.group_members(context(app))[crew.id]) == sorted([ada.id, bob.id])


def test_an_unknown_person_for_a_group_is_sent_back_and_nothing_changes(app):
    ctx = context(app)
    crew = schedules.create_group(ctx, "Crew")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        url = f"/admin/groups/{crew.id}/members"
        html = _sent_back(client, "/admin/schedules", url, {"person": "999"}, "/admin/schedules")
        assert "999" in _error(html, "person")
    assert schedules.group_members(context(app)).get(crew.id, []) == []


# The New schedule form's weekday rows ----------------------------------------------------------
def test_each_weekdays_error_is_beside_that_days_row_with_the_week_kept(app):
    with TestClient(app, headers={"Accept-Language": "de-DE,de;q=0.9"}) as client:
        sign_in(client)
        data = {"name": "Early", "timezone": "Europe/Berlin"}
        data |= {"mon_start": "25:00", "mon_end": "17:00", "mon_break": "30"}
        data |= {"tue_start": "08:00", "tue_end": "08:00", "tue_break": "0"}
        data |= {"wed_start": "08:00", "wed_end": "12:00", "wed_break": "300"}
        data |= {"thu_start": "07:00", "thu_end": "15:00", "thu_break": "30"}
        html = _sent_back(client, "/admin/schedules", "/admin/schedules", data, "/admin/schedules")
        assert re.search(
            r'<input id="mon_start" name="mon_start" type="time"[^>]*value="25:00" aria-invalid="true"'
            r' aria-describedby="mon_start-error">',
            html,
        )
        assert _error(html, "mon_start") == "Montag: Uhrzeiten im Format HH:MM."
        assert re.search(r'<input id="tue_end"[^>]*aria-describedby="tue_end-error">', html)
        assert _error(html, "tue_end") == "Dienstag: die Schicht endet, wenn sie beginnt."
        assert re.search(r'<input id="wed_break"[^>]*aria-describedby="wed_break-error">', html)
        assert "Mittwoch" in _error(html, "wed_break")
        # each error is in the row right after its day's row, not only in the summary
        rows = re.findall(r"<tr>.*?</tr>|<tr class=\"day-error\">.*?</tr>", html, re.S)
        mon = next(i for i, r in enumerate(rows) if 'id="mon_start"' in r)
        assert 'id="mon_start-error"' in rows[mon + 1]
        assert 'aria-describedby="thu_' not in html  # the good day is not marked
        assert '<a href="#mon_start">' in html and '<a href="#tue_end">' in html
        assert re.search(r'<input id="thu_start"[^>]*value="07:00"', html)
    assert schedules.list_schedules(context(app)) == []
