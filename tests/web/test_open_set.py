"""Open-set 1:N through the server: a face that fits two enrolled people is given to neither
("ambiguous"), by the API's identify and by the kiosk login alike, and nothing is clocked."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.web.conftest import lfw_bytes, upload
from whosthat.store.models import AttendanceEvent


def _enrol(web, code, name, surname, photo: bytes, **form) -> int:
    r = web.client.post(
        "/api/v1/people", json={"employee_code": code, "name": name, "surname": surname}, headers=web.headers
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = web.client.post(
        f"/api/v1/people/{pid}/templates", files=upload(photo), data=form or None, headers=web.headers
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

    # The same man enrolled a second time under another record: his face now fits both.
    _enrol(web, "CP-2", "Colin", "Twin", lfw_bytes(lfw_root, "Colin_Powell", 2), confirm_duplicate="true")
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
