"""The HTML pages over HTTP (no browser): sign-in and its protections, pagination, worked hours and the
missing clock-out flag, roles, and the employee session opened by a kiosk login ticket.

These run in a second or two on a fresh clone (no faces, no Chromium); the browser tests in
test_app_kiosk.py cover the camera, the kiosk and the JavaScript.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.kiosk_pairing import pair_client
from tests.page_client import PASSWORD, app_with_admins, context, csrf_of, sign_in

from whosthat.services import access, attendance, consent, kiosk_login, people, templates


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path, password_max_failures=3)


def test_admin_pages_need_a_signed_in_admin(app):
    with TestClient(app) as client:
        for path in (
            "/admin/people",
            "/admin/people/new",
            "/admin/attendance",
            "/admin/audit",
            "/admin/apikeys",
            "/admin/attendance/report.csv",
        ):
            r = client.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        assert client.get("/me", follow_redirects=False).headers["location"] == "/kiosk"


def _sign_in(client, next_path: str):
    page = client.get(f"/login?next={next_path}")
    return client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD, "next": next_path},
        follow_redirects=False,
    )


def test_sign_in_redirects_back_but_never_off_site(app):
    with TestClient(app) as client:
        assert _sign_in(client, "/admin/audit").headers["location"] == "/admin/audit"
    with TestClient(app) as client:
        assert _sign_in(client, "//evil.example/").headers["location"] == "/admin/people"


def test_forms_without_the_csrf_token_change_nothing(app):
    with TestClient(app) as client:
        assert sign_in(client).status_code == 303
        r = client.post(
            "/admin/people/new", data={"employee_code": "E1", "name": "Ada", "surname": "Lovelace"}
        )
        assert r.status_code == 403
        r = client.post(
            "/admin/people/new",
            data={"csrf_token": "forged", "employee_code": "E1", "name": "Ada", "surname": "Lovelace"},
        )
        assert r.status_code == 403
    assert people.list_people(context(app)).total == 0


def test_repeated_wrong_passwords_lock_the_sign_in(app):
    with TestClient(app) as client:
        # post/redirect/get: each refusal is a 303 to the sign-in page with its draft
        sent = [sign_in(client, password="wrong password 1") for _ in range(3)]
        assert [r.status_code for r in sent] == [303, 303, 303]
        shown = [client.get(r.headers["location"]).status_code for r in sent]
        assert shown == [200, 200, 429]
        locked = client.get(sign_in(client).headers["location"])  # even the right password, while locked out
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in locked.text


def test_people_list_searches_and_pages(app):
    ctx = context(app)
    for i in range(25):
        people.create_person(ctx, employee_code=f"E{i:03d}", name=f"Person{i:02d}", surname="Sample")
    people.create_person(ctx, employee_code="X-1", name="Ada", surname="Lovelace")
    with TestClient(app) as client:
        sign_in(client)
        first = client.get("/admin/people")
        assert "26 people · page 1 of 2" in first.text and first.text.count("<tr>") == 21  # header + 20
        second = client.get("/admin/people?page=2")
        assert second.text.count("<tr>") == 7 and 'rel="prev"' in second.text
        found = client.get("/admin/people?q=lovel")
        assert "Ada Lovelace" in found.text and "Person00" not in found.text


def test_attendance_computes_worked_hours_and_flags_a_missing_clock_out(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=2)
    for hours, kiosk in ((0, "lobby"), (4, "lobby"), (4.5, "side"), (8.25, "side")):  # 4 h + 3 h 45 min
        attendance.clock(ctx, ada.id, at=day + timedelta(hours=hours), kiosk=kiosk, source="manual")
    attendance.clock(ctx, ada.id, at=day + timedelta(days=1), kiosk="lobby", source="manual")  # in, never out
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/attendance").text
        rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="worked-hours"')[1].split("</table>")[0], re.S)[
            1:
        ]
        assert len(rows) == 2
        assert "7:45" in rows[0] and "missing" not in rows[0]
        assert "0:00" in rows[1] and "missing clock-out: not counted" in rows[1]
        csv_body = client.get("/admin/attendance/report.csv").text.splitlines()
        assert len(csv_body) == 3 and ",7.75,no," in csv_body[1] and ",yes," in csv_body[2]
        only_ada = client.get(f"/admin/attendance?person={ada.id}")
        assert "Attendance: Ada Lovelace" in only_ada.text


def test_viewer_can_read_but_not_change(app):
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    with TestClient(app) as client:
        sign_in(client, "victor")
        listing = client.get("/admin/people")
        assert "Ada Lovelace" in listing.text and "Add person" not in listing.text
        r = client.post(
            "/admin/people/new",
            data={
                "csrf_token": csrf_of(listing.text),
                "employee_code": "E2",
                "name": "Eve",
                "surname": "Viewer",
            },
        )
        assert r.status_code == 403
        keys = client.get("/admin/apikeys")
        r = client.post(
            "/admin/apikeys",
            data={"csrf_token": csrf_of(keys.text), "name": "x", "scopes": "identify"},
            follow_redirects=False,
        )
        assert r.status_code == 403 and not access.list_api_keys(ctx)  # not about the form: the error page
    assert people.list_people(context(app)).total == 1


def test_kiosk_ticket_opens_the_employee_page_once(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    attendance.clock(ctx, ada.id, kiosk="lobby", source="manual")
    ticket = kiosk_login.issue_login_ticket(ctx, ada.id)
    with TestClient(app) as client:
        r = client.get(f"/me/enter?ticket={ticket}&kiosk=lobby", follow_redirects=False)
        assert r.headers["location"] == "/me"
        me = client.get("/me")
        assert "Hello, Ada" in me.text and "In since" in me.text and "still in" in me.text
        assert 'data-idle-logout-s="30"' in me.text  # a shared kiosk signs the employee out by itself
        assert client.get("/admin/people", follow_redirects=False).status_code == 303  # not an admin
        out = client.post("/me/logout", data={"csrf_token": csrf_of(me.text)}, follow_redirects=False)
        assert out.headers["location"] == "/kiosk?name=lobby"
        assert client.get("/me", follow_redirects=False).headers["location"] == "/kiosk"
    with TestClient(app) as client:
        again = client.get(f"/me/enter?ticket={ticket}")
        assert again.status_code == 401 and "invalid, used or expired" in again.text


def test_person_page_edits_and_shows_each_template_chip_to_admins_only(app, astronaut):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "JPEG")
    ctx = context(app)
    person = people.create_person(ctx, employee_code="NASA-1", name="Eileen", surname="Collins")
    template = templates.enroll_template(
        ctx, person.id, buf.getvalue(), source="upload", consent_version=consent.CURRENT_VERSION
    )
    chip_url = f"/admin/people/{person.id}/templates/{template.id}/chip.png"
    with TestClient(app) as client:
        assert client.get(chip_url).status_code == 401
        sign_in(client)
        page = client.get(f"/admin/people/{person.id}")
        assert chip_url in page.text
        # The card says what the template is in words: where the photo came from, its day, its quality.
        from whosthat.web.rendering import quality_words

        card = re.search(r'<div class="template-card">(.*?)</form>', page.text, re.S).group(1)
        assert re.search(r"of \w{3} \d{1,2} \w{3}, (very good|good|fair|poor) quality", card), card
        assert quality_words(template.quality) in card and "quality 0." not in card
        assert "Recognised with " in card
        chip = client.get(chip_url)
        assert chip.status_code == 200 and chip.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(chip.content)).size == (150, 150)
        assert "no-store" in chip.headers["cache-control"]
        r = client.post(
            f"/admin/people/{person.id}",
            data={
                "csrf_token": csrf_of(page.text),
                "employee_code": "NASA-1",
                "name": "Eileen M.",
                "surname": "Collins",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
    changed = people.get_person(context(app), person.id)
    assert changed.name == "Eileen M." and changed.active is False  # the unchecked box deactivates


def test_a_kiosk_name_with_spaces_is_kept_and_links_back_to_that_kiosk(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    ticket = kiosk_login.issue_login_ticket(ctx, ada.id)
    with TestClient(app) as client:
        assert 'id="pair-form"' in client.get("/kiosk", params={"name": "Front door"}).text  # not paired
        pair_client(client, app.state.runtime, "Front door")
        page = client.get("/kiosk", params={"name": "Front door"})
        assert 'data-kiosk="Front door"' in page.text
        assert 'data-kiosk="Front door"' in client.get("/kiosk", params={"name": "bad/name"}).text
        client.get("/me/enter", params={"ticket": ticket, "kiosk": "Front door"}, follow_redirects=False)
        me = client.get("/me")
        out = client.post("/me/logout", data={"csrf_token": csrf_of(me.text)}, follow_redirects=False)
        assert out.headers["location"] == "/kiosk?name=Front+door"


def test_a_rejected_form_comes_back_with_its_values_and_the_reason(app):
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    with TestClient(app) as client:
        page = client.get(sign_in(client).headers["location"])
        r = client.post(
            "/admin/people/new",
            data={"csrf_token": csrf_of(page.text), "employee_code": "E1", "name": "Eve", "surname": "Again"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/people/new?draft=")
        again = client.get(r.headers["location"])
        assert "Employee code E1 is already used by" in again.text and 'value="Eve"' in again.text
        missing = client.get("/admin/people/999999")
        assert missing.status_code == 404 and "No person with id 999999." in missing.text
        assert 'href="/admin/people"' in missing.text
    assert people.list_people(context(app)).total == 1


def test_the_employee_page_counts_the_open_shift_as_running_time(app):
    """Issue 15: "0:00 worked this week" beside "In since ..." was wrong; the open shift's time so far is
    in the week's total, and the page says so."""
    ctx = context(app)
    now = datetime.now(UTC)
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), datetime.min.time(), tzinfo=UTC)
    since = max(now - timedelta(hours=2, minutes=5), monday)
    kim = people.create_person(ctx, employee_code="K1", name="Kim", surname="Kiosk")
    attendance.clock(ctx, kim.id, kiosk="lobby", source="manual", at=since)
    ticket = kiosk_login.issue_login_ticket(ctx, kim.id)
    with TestClient(app) as client:
        client.get(f"/me/enter?ticket={ticket}")
        me = client.get("/me").text
    hours = re.search(r'id="week-hours">([^<]+)<', me).group(1)
    h, m = (int(x) for x in hours.split(":"))
    expected_min = (now - since).total_seconds() / 60
    assert abs(h * 60 + m - expected_min) <= 2, (hours, expected_min)
    assert "including the open shift" in me and "In since" in me


def test_the_admin_sets_and_removes_a_kiosk_pin_with_post_redirect_get(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    with TestClient(app) as client:
        sign_in(client)
        page = client.get(f"/admin/people/{ada.id}")
        assert "No PIN is set." in page.text
        token = csrf_of(page.text)
        bad = client.post(
            f"/admin/people/{ada.id}/pin",
            data={"csrf_token": token, "pin": "1111", "action": "set"},
            follow_redirects=False,
        )
        assert bad.status_code == 303 and bad.headers["location"].startswith(f"/admin/people/{ada.id}")
        again = client.get(bad.headers["location"]).text  # the form sent back: the reason beside the PIN
        assert "The PIN was not changed:" in again and "No PIN is set." in again
        assert 'id="pin-error"' in again and "6 to 12 digits" in again
        ok = client.post(
            f"/admin/people/{ada.id}/pin",
            data={"csrf_token": token, "pin": "480151", "action": "set"},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        assert "A PIN is set." in client.get(f"/admin/people/{ada.id}").text
        client.post(f"/admin/people/{ada.id}/pin", data={"csrf_token": token, "action": "remove"})
        assert "No PIN is set." in client.get(f"/admin/people/{ada.id}").text


def test_the_audit_log_filters_by_actor_action_and_day_and_keeps_the_filters(app):
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    with TestClient(app) as client:
        sign_in(client)
        everything = client.get("/admin/audit").text
        assert "person.create" in everything and "admin.login" in everything
        only = client.get("/admin/audit", params={"action": "admin.login", "actor": "admin:al"}).text
        assert "admin.login" in only and "person.create</code>" not in only
        # each action in words, its code beside it (what the filter takes)
        assert 'person added <code class="small">person.create</code>' in everything
        # the form keeps them: the chosen options are selected (a typed actor prefix is kept as a choice)
        assert (
            '<option value="admin.login" selected>' in only and '<option value="admin:al" selected>' in only
        )
        today = datetime.now(UTC).date()
        later = client.get("/admin/audit", params={"date_from": str(today + timedelta(days=2))}).text
        assert "Nothing matches these filters." in later
        bad = client.get("/admin/audit", params={"date_from": "March", "action": "admin.login"})
        assert bad.status_code == 400
        # the reason beside the From field (described by it), the To field untouched
        assert 'id="f-from-error" role="alert">&#39;March&#39; is not a date' in bad.text
        assert 'value="March" aria-invalid="true" aria-describedby="f-from-error"' in bad.text
        assert 'id="f-to-error"' not in bad.text
        reversed_ = client.get(
            "/admin/audit", params={"date_from": str(today), "date_to": str(today - timedelta(days=3))}
        )
        assert (
            reversed_.status_code == 400 and "after" in reversed_.text and 'id="f-to-error"' in reversed_.text
        )


def test_the_employee_sets_their_own_pin_on_their_page(app):
    ctx = context(app)
    kim = people.create_person(ctx, employee_code="K2", name="Kim", surname="Self")
    ticket = kiosk_login.issue_login_ticket(ctx, kim.id)
    with TestClient(app) as client:
        client.get(f"/me/enter?ticket={ticket}")
        me = client.get("/me").text
        assert "You have no PIN yet." in me and "(K2)" in me
        token = csrf_of(me)
        differ = client.post("/me/pin", data={"csrf_token": token, "pin": "480151", "pin2": "480152"})
        assert differ.history[0].status_code == 303  # post/redirect/get: the reason beside the field
        assert "Your PIN was not set:" in differ.text and "The two PINs differ." in differ.text
        weak = client.post("/me/pin", data={"csrf_token": token, "pin": "123456", "pin2": "123456"})
        assert 'id="pin-error"' in weak.text and "6 to 12 digits" in weak.text
        done = client.post("/me/pin", data={"csrf_token": token, "pin": "480151", "pin2": "480151"})
        assert "Your PIN is set." in done.text and "You have a PIN." in done.text
    from whosthat.services import pin_login

    assert pin_login.pin_login(context(app), "lobby", "K2", "480151").person.id == kim.id
