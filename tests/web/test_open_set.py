"""Open-set 1:N through the server: a face that fits two enrolled people is given to neither
("ambiguous"), by the API's identify and by the kiosk login alike, and nothing is clocked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.conftest import lfw_bytes, upload
from whosthat.services import consent
from whosthat.store.models import AttendanceEvent, AuditLog


def r_threshold(web) -> float:
    return web.runtime.threshold()


def _enrol(web, code, name, surname, photo: bytes, **form) -> int:
    r = web.client.post(
        "/api/v1/people", json={"employee_code": code, "name": name, "surname": surname}, headers=web.headers
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    form = {"consent_version": consent.CURRENT_VERSION, **form}  # the person agreed: recorded with it
    r = web.client.post(
        f"/api/v1/people/{pid}/templates", files=upload(photo), data=form, headers=web.headers
    )
    assert r.status_code == 201, r.text
    return pid


def test_a_face_enrolled_as_two_people_is_ambiguous_for_identify_and_the_kiosk(web, lfw_root):
    from whosthat.services.kiosk_login import complete_kiosk_login
    from whosthat.vision.image import decode_image

    colin = _enrol(web, "CP-1", "Colin", "Powell", lfw_bytes(lfw_root, "Colin_Powell", 1))
    probe = lfw_bytes(lfw_root, "Colin_Powell", 3)
    r = web.client.post("/api/v1/identify", files=upload(probe), headers=web.headers).json()
    assert r["match"]["person_id"] == colin and r["reason"] is None and r["margin"] is None
    assert r["margin_required"] > 0

    # The same man enrolled a second time under another record: the API refuses (409, naming the
    # other person, nothing stored) until the request confirms it; then his face fits both.
    twin = web.client.post(
        "/api/v1/people",
        json={"employee_code": "CP-2", "name": "Colin", "surname": "Twin"},
        headers=web.headers,
    ).json()["id"]
    before = web.snapshot()
    photo = lfw_bytes(lfw_root, "Colin_Powell", 2)
    agreed = {"consent_version": consent.CURRENT_VERSION}
    r = web.client.post(
        f"/api/v1/people/{twin}/templates", files=upload(photo), data=agreed, headers=web.headers
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "duplicate_face" and "Colin Powell" in body["detail"]
    assert body["duplicate_of"]["person_id"] == colin and body["duplicate_of"]["name"] == "Colin"
    assert body["duplicate_of"]["distance"] <= web.runtime.threshold()
    assert web.snapshot() == before
    r = web.client.post(
        f"/api/v1/people/{twin}/templates",
        files=upload(photo),
        data={"confirm_duplicate": "true", **agreed},
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    with web.runtime.database.session() as db:
        audit = db.execute(select(AuditLog).where(AuditLog.action == "template.create")).scalars().all()
    assert audit[-1].detail["duplicate_of"] == colin
    r = web.client.post("/api/v1/identify", files=upload(probe), headers=web.headers).json()
    assert r["match"] is None and r["reason"] == "ambiguous", r
    assert 0 <= r["margin"] < r["margin_required"]

    face = web.runtime.pipeline().embed_single(decode_image(probe))
    with web.runtime.database.session() as db:
        before = db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one()
    ctx = web.context()
    try:
        outcome = complete_kiosk_login(
            ctx, kiosk="lobby", embedding=face.embedding, model=face.model, liveness={"passed": True}
        )
    finally:
        ctx.db.close()
    assert outcome.login is None and outcome.reason == "ambiguous"
    with web.runtime.database.session() as db:
        assert db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one() == before

    # A stranger is still simply not recognised.
    r = web.client.post(
        "/api/v1/identify", files=upload(lfw_bytes(lfw_root, "Gerhard_Schroeder", 1)), headers=web.headers
    ).json()
    assert r["match"] is None and r["reason"] == "not_recognised"


def _kept_form(html: str) -> dict:
    """The hidden fields of the duplicate-face confirm form, as the browser would send them back."""
    import html as html_lib
    import re

    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html):
        fields.setdefault(name, []).append(html_lib.unescape(value))
    return fields


def test_the_admin_page_asks_before_enrolling_a_face_that_matches_someone_else(web, lfw_root):
    from whosthat.services import access
    from whosthat.services.common import Context

    with Context.open(web.runtime) as ctx:
        access.create_admin(ctx, "dup-admin", "duplicate faces 123")
    tony = _enrol(web, "TB-1", "Tony", "Blair", lfw_bytes(lfw_root, "Tony_Blair", 3))
    client = web.client
    r = client.post("/api/v1/auth/login", json={"username": "dup-admin", "password": "duplicate faces 123"})
    token = r.json()["csrf_token"]
    try:
        photo = ("photos", ("tony5.jpg", lfw_bytes(lfw_root, "Tony_Blair", 5), "image/jpeg"))
        own = ("photos", ("tony8.jpg", lfw_bytes(lfw_root, "Tony_Blair", 8), "image/jpeg"))
        r = client.post(
            f"/admin/people/{tony}/templates", data={"csrf_token": token}, files=[own], follow_redirects=False
        )
        assert r.status_code == 303, r.text  # his own face again: no question
        before = web.snapshot()
        form = {
            "csrf_token": token,
            "employee_code": "TB-2",
            "name": "Anthony",
            "surname": "Blair",
            "consent": consent.CURRENT_VERSION,
        }
        r = client.post("/admin/people/new", data=form, files=[photo], follow_redirects=False)
        # Post/redirect/get: the confirm step is the form's GET page with the draft (photos kept there).
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/people/new?draft="), r.text
        r = client.get(r.headers["location"])
        assert "already enrolled as someone else" in r.text and "Tony Blair" in r.text
        assert f'href="/admin/people/{tony}"' in r.text
        assert web.snapshot() == before  # nothing stored before the confirmation
        kept = _kept_form(r.text)
        assert kept["keep"] == ["0"] and kept["employee_code"] == ["TB-2"] and len(kept["draft"]) == 1
        assert kept["consent"] == [consent.CURRENT_VERSION]  # the ticked box goes through the confirm step
        assert "base64" not in r.text and len(r.text) < 20_000  # the photo is not in the page

        # Confirmed: the kept photo is enrolled without choosing it again.
        r = client.post("/admin/people/new", data=kept, follow_redirects=False)
        assert r.status_code == 303, r.text
        new_id = int(r.headers["location"].rsplit("/", 1)[1])
        people = client.get(f"/api/v1/people/{new_id}", headers=web.headers).json()
        assert people["employee_code"] == "TB-2" and people["templates"] == 1

        # Adding photos on a person's page asks the same way.
        r = client.post(
            f"/admin/people/{new_id}/templates",
            data={"csrf_token": token},
            files=[("photos", ("tony6.jpg", lfw_bytes(lfw_root, "Tony_Blair", 6), "image/jpeg"))],
        )
        assert (
            r.status_code == 200 and "already enrolled as someone else" in r.text and "Tony Blair" in r.text
        )
        assert f'action="/admin/people/{new_id}/templates"' in r.text and 'name="keep" value="0"' in r.text
    finally:
        client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        client.cookies.clear()


def test_attendance_shows_weak_matches_in_the_api_and_on_the_page(web):
    from whosthat.services import access, attendance
    from whosthat.services.common import Context

    threshold, margin = web.runtime.operating_point()
    with Context.open(web.runtime) as ctx:
        access.create_admin(ctx, "weak-admin", "weak matches 123")
        pids = []
        for code in ("W-1", "W-2", "W-3", "W-4"):
            r = web.client.post(
                "/api/v1/people",
                json={"employee_code": code, "name": "Wanda", "surname": code},
                headers=web.headers,
            )
            pids.append(r.json()["id"])
        cases = {
            pids[0]: (0.3 * threshold, 5 * margin),  # clear
            pids[1]: (0.95 * threshold, 5 * margin),  # just under the threshold
            pids[2]: (0.3 * threshold, 1.5 * margin),  # passed the margin, only just
            pids[3]: (None, None),  # recorded without a face
        }
        for pid, (d, m) in cases.items():
            attendance.clock(ctx, pid, kiosk="lobby", match_distance=d, match_margin=m)
    r = web.client.get("/api/v1/attendance?size=1000", headers=web.headers)
    assert r.status_code == 200, r.text
    got = {e["person_id"]: e for e in r.json()["items"] if e["person_id"] in cases}
    assert {pid: e["weak_match"] for pid, e in got.items()} == {
        pids[0]: False,
        pids[1]: True,
        pids[2]: True,
        pids[3]: False,
    }
    assert got[pids[2]]["margin"] == pytest.approx(1.5 * margin, abs=1e-4)
    assert got[pids[3]]["distance"] is None and got[pids[3]]["margin"] is None

    client = web.client
    token = client.post(
        "/api/v1/auth/login", json={"username": "weak-admin", "password": "weak matches 123"}
    ).json()["csrf_token"]
    try:
        page = client.get("/admin/attendance")
        assert page.status_code == 200
        rows = [row for row in page.text.split("<tr>") if "Wanda" in row]
        flagged = {row.split("</td>")[1].strip() for row in rows if "weak match" in row}
        assert flagged == {"<td>Wanda W-2", "<td>Wanda W-3"}, flagged
    finally:
        client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        client.cookies.clear()
