"""Post/redirect/get for the admin forms (issue 15, admin polish), over HTTP without a browser: a refused
form answers 303 to its GET page, which shows every error beside its field under the field's own label
(with a summary at the top), the entered values and the chosen photos (kept encrypted in a draft bound
to the admin's session); a reload re-submits nothing; another session's draft token shows nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select, update
from tests.page_client import PASSWORD, app_with_admins, context, csrf_of, sign_in

from whosthat.services import access, people
from whosthat.store.models import FormDraft, FormDraftPhoto, utcnow


@pytest.fixture()
def app(tmp_path):
    application = app_with_admins(tmp_path)
    ctx = context(application)
    access.create_admin(ctx, "bob", PASSWORD)
    ctx.db.close()
    return application


def _jpeg(seed: int = 1) -> bytes:
    """A JPEG with no face (its draft keeps it; enrolment would reject it)."""
    image = Image.new("RGB", (320, 240), (40 * seed % 255, 120, 200))
    for x in range(0, 320, 16):
        for y in range(0, 240, 16):
            if (x // 16 + y // 16 + seed) % 3 == 0:
                image.paste((250, 250, 250), (x, y, x + 8, y + 8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _count(app, table) -> int:
    with app.state.runtime.database.session() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def _bad_add(client, photo: bytes, **fields):
    page = client.get("/admin/people/new")
    data = {"csrf_token": csrf_of(page.text), "employee_code": "E1", "name": "", "surname": "Smith", **fields}
    return client.post(
        "/admin/people/new",
        data=data,
        files=[("photos", ("alice.jpg", photo, "image/jpeg"))],
        follow_redirects=False,
    )


def test_a_refused_add_person_redirects_to_a_get_with_the_errors_beside_their_fields(app):
    ctx = context(app)
    alice = people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        r = _bad_add(client, _jpeg(), consent="")
        assert r.status_code == 303
        url = r.headers["location"]
        assert re.fullmatch(r"/admin/people/new\?draft=[\w-]+", url), url
        page = client.get(url)
        assert page.status_code == 200
        html = page.text
        # Each error beside its field, under the field's own label, tied to it for screen readers.
        assert re.search(
            r'<input id="name" name="name"[^>]*aria-invalid="true" aria-describedby="name-error"', html
        )
        assert '<p class="field-error" id="name-error">First name must not be empty.</p>' in html
        code_error = re.search(r'<p class="field-error" id="employee_code-error">(.*?)</p>', html).group(1)
        assert code_error == (
            f'Employee code E1 is already used by <a href="/admin/people/{alice.id}">Alice Smith</a>.'
        )
        assert "Name must not be empty" not in html
        # The summary at the top links to the fields.
        summary = re.search(r'<div class="flash flash-error error-summary".*?</div>', html, re.S).group(0)
        assert '<a href="#name">First name must not be empty.</a>' in summary
        assert '<a href="#employee_code">Employee code E1 is already used by Alice Smith.</a>' in summary
        # The entered values and the chosen photo (a thumbnail to keep or remove) are there.
        assert 'value="E1"' in html and 'value="Smith"' in html
        token = url.split("draft=")[1]
        thumb = re.search(r'<img src="(/admin/drafts/[^"]+)"', html).group(1)
        assert token in thumb
        shot = client.get(thumb)
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
        assert (
            max(Image.open(io.BytesIO(shot.content)).size) <= 240
            and "no-store" in shot.headers["cache-control"]
        )
        assert 'name="keep" value="0" checked' in html and "Keep alice.jpg" in html
        # Reloading the GET page sends nothing again: still one person, still one draft.
        assert client.get(url).status_code == 200
        assert people.list_people(context(app)).total == 1
        assert _count(app, FormDraft) == 1


def test_fixing_the_field_sends_the_form_with_the_kept_photo_and_uses_the_draft_up(app):
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        url = _bad_add(client, _jpeg()).headers["location"]
        token = url.split("draft=")[1]
        page = client.get(url)
        # Fixed, the photo kept: the form goes on with it (this one has no face, so it is refused again,
        # now as the photo's error beside the photos, the draft replaced by a new one).
        r = client.post(
            "/admin/people/new",
            data={
                "csrf_token": csrf_of(page.text),
                "employee_code": "E2",
                "name": "Eve",
                "surname": "Smith",
                "draft": token,
                "keep": "0",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and token not in r.headers["location"]
        again = client.get(r.headers["location"]).text
        assert 'id="photos-field-error"' in again and "alice.jpg" in again
        assert 'id="name-error"' not in again and 'value="Eve"' in again
        assert _count(app, FormDraft) == 1  # the old draft was used up
        assert client.get(url).text.count('name="keep"') == 0  # its token shows nothing any more
        # Removing the photo (no "keep"): the person is added, the draft deleted with its photos.
        new_token = r.headers["location"].split("draft=")[1]
        r = client.post(
            "/admin/people/new",
            data={
                "csrf_token": csrf_of(again),
                "employee_code": "E2",
                "name": "Eve",
                "surname": "Smith",
                "draft": new_token,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and re.fullmatch(r"/admin/people/\d+", r.headers["location"])
        assert "Eve Smith added with 0 face templates." in client.get(r.headers["location"]).text
    assert people.list_people(context(app)).total == 2
    assert _count(app, FormDraft) == 0 and _count(app, FormDraftPhoto) == 0


def test_a_draft_belongs_to_the_session_that_made_it(app):
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    ctx.db.close()
    with TestClient(app) as alice, TestClient(app) as bob:
        sign_in(alice)
        url = _bad_add(alice, _jpeg(), surname="Secret-Surname").headers["location"]
        token = url.split("draft=")[1]
        thumb = re.search(r'<img src="(/admin/drafts/[^"]+)"', alice.get(url).text).group(1)
        sign_in(bob, "bob")
        theirs = bob.get(url).text  # another admin with the same token: an empty form
        assert "Secret-Surname" not in theirs and 'name="keep"' not in theirs and "field-error" not in theirs
        assert bob.get(thumb).status_code == 404
        # Sending the form with it keeps nothing of it, and leaves alice's draft alone.
        page = bob.get("/admin/people/new")
        r = bob.post(
            "/admin/people/new",
            data={
                "csrf_token": csrf_of(page.text),
                "employee_code": "E9",
                "name": "Bo",
                "surname": "B",
                "draft": token,
                "keep": "0",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and re.fullmatch(r"/admin/people/\d+", r.headers["location"])
        assert (
            people.get_person(context(app), int(r.headers["location"].rsplit("/", 1)[1])).template_count == 0
        )
        assert "Secret-Surname" in alice.get(url).text
        # Signed out, the session's drafts are gone.
        alice.post("/logout", data={"csrf_token": csrf_of(alice.get(url).text)})
    assert _count(app, FormDraft) == 0
    with TestClient(app) as client:
        assert client.get(thumb).status_code == 401


def test_the_draft_photo_is_encrypted_at_rest_and_expires(app, tmp_path):
    photo = _jpeg(3)
    ctx = context(app)
    people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        url = _bad_add(client, photo, surname="Plainname").headers["location"]
        with app.state.runtime.database.session() as db:
            blobs = [bytes(b) for b in db.execute(select(FormDraftPhoto.data)).scalars()]
            values = [bytes(b) for b in db.execute(select(FormDraft.payload)).scalars()]
        assert len(blobs) == 1 and photo not in blobs[0] and photo[:64] not in blobs[0]
        assert b"alice.jpg" not in blobs[0] and b"Plainname" not in values[0]
        app.state.runtime.database.checkpoint()
        on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("whosthat.sqlite3*"))
        assert on_disk and photo[100:164] not in on_disk and b"Plainname" not in on_disk
        # Expired: the page shows an empty form, the photo is gone; the next draft saved drops it.
        with app.state.runtime.database.session() as db:
            db.execute(update(FormDraft).values(expires_at=utcnow() - timedelta(seconds=1)))
            db.commit()
        assert "Plainname" not in client.get(url).text
        _bad_add(client, _jpeg(4))
        assert _count(app, FormDraft) == 1 and _count(app, FormDraftPhoto) == 1


def test_the_person_page_sends_back_its_details_with_the_errors(app):
    ctx = context(app)
    alice = people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    bea = people.create_person(ctx, employee_code="E2", name="Bea", surname="Jones")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        page = client.get(f"/admin/people/{bea.id}")
        r = client.post(
            f"/admin/people/{bea.id}",
            data={
                "csrf_token": csrf_of(page.text),
                "employee_code": "E1",
                "name": "Beatrice",
                "surname": " ",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith(f"/admin/people/{bea.id}?draft=")
        html = client.get(r.headers["location"]).text
        assert '<p class="field-error" id="surname-error">Surname must not be empty.</p>' in html
        assert f'used by <a href="/admin/people/{alice.id}">Alice Smith</a>.' in html
        assert 'value="Beatrice"' in html
    assert people.get_person(context(app), bea.id).name == "Bea"


def test_post_errors_of_the_other_admin_forms_redirect_to_their_get_page(app):
    """The forms with @back_to answer a refused POST with 303 to their page and the reason there
    (the Kiosks and API keys create forms: tests/e2e/test_app_admin_forms_sent_back.py)."""
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/kiosks")
        token = csrf_of(page.text)
        r = client.post(
            "/admin/kiosks", data={"csrf_token": token, "name": "bad/name"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/kiosks?draft=")
        assert "Kiosk name: 1-" in client.get(r.headers["location"]).text
        r = client.post("/admin/apikeys/999999/revoke", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/apikeys"


def test_the_errors_beside_the_fields_are_in_the_admins_language(app):
    ctx = context(app)
    alice = people.create_person(ctx, employee_code="E1", name="Alice", surname="Smith")
    ctx.db.close()
    with TestClient(app, headers={"Accept-Language": "de-DE,de;q=0.9"}) as client:
        sign_in(client)
        html = client.get(_bad_add(client, _jpeg()).headers["location"]).text
        assert '<p class="field-error" id="name-error">Vorname darf nicht leer sein.</p>' in html
        assert (
            f'Personalnummer E1 wird bereits von <a href="/admin/people/{alice.id}">Alice Smith</a> verwendet.'
            in html
        )
        assert "Die Person wurde nicht hinzugefügt." in html
