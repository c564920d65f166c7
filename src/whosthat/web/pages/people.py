"""The people pages: the searchable list, adding a person with photos (uploaded or taken with the
webcam), a person's page (edit, add photos, templates with their face chips), and deleting a person."""

from __future__ import annotations

import base64
import binascii
import io
import json
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from whosthat.errors import BadInputError
from whosthat.services import consent, people, pin_login, templates
from whosthat.services.common import MAX_PAGE
from whosthat.services.errors import ConfirmationError, DuplicateFaceError, PhotosRejectedError
from whosthat.services.templates import Photo
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, OptionalAdmin
from whosthat.web.pages.common import (
    back_to,
    error_page,
    flash,
    on_error,
    page_context,
    page_router,
    redirect,
    render,
    sentence,
    signed_in_admin,
)

router = page_router()
PEOPLE_PAGE_SIZE = 20
QUALITY_URL = "/api/v1/quality"  # the live enrollment quality check (JSON API, admin session + CSRF header)
PERSON_FIELDS = ("employee_code", "name", "surname")  # the form's text fields


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


KEPT_MAX_SIDE = 1600  # a kept photo over KEPT_REENCODE_BYTES is re-encoded at most this large
KEPT_REENCODE_BYTES = 1024 * 1024


def _keep(photo: Photo) -> str:
    """A photo as one hidden form value of the duplicate-face confirm step (JSON: source, label, the
    image in base64), so the admin does not choose it again. Photos over 1 MB are re-encoded as JPEG
    of at most 1600 px a side first: the confirm form stays far under the request size limit."""
    data = photo.data
    if len(data) > KEPT_REENCODE_BYTES:
        from PIL import Image

        image = Image.open(io.BytesIO(data))
        image.thumbnail((KEPT_MAX_SIDE, KEPT_MAX_SIDE))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=92)
        data = out.getvalue()
    return json.dumps({"s": photo.source, "l": photo.label, "d": base64.b64encode(data).decode()})


def _kept(values: list, limit: int) -> list[Photo]:
    """The photos a confirm step sent back (see _keep); each is checked again like a new upload. A
    value that does not parse is one photo the checks reject (empty data)."""
    photos = []
    for i, value in enumerate(values, 1):
        try:
            item = json.loads(str(value))
            source = item["s"] if item.get("s") in ("upload", "webcam") else "upload"
            label = str(item.get("l") or f"photo {i}")[:120]
            data = base64.b64decode(str(item["d"]), validate=True)[: limit + 1]
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            source, label, data = "upload", f"photo {i}", b""
        photos.append(Photo(label, data, source))
    return photos


async def _photos(request: Request, form) -> list[Photo]:
    """Every non-empty file of the form, read up to one byte over the upload limit: "photos" are
    uploads, "captured" webcam shots; plus the photos a duplicate-face confirm step kept ("kept")."""
    limit = request.app.state.runtime.settings.max_upload_bytes
    files = [
        (f, source)
        for field, source in (("photos", "upload"), ("captured", "webcam"))
        for f in form.getlist(field)
        if isinstance(f, UploadFile) and (f.filename or f.size)
    ]
    photos = []
    for i, (f, source) in enumerate(files, 1):
        label = f.filename if source == "upload" and f.filename else f"camera photo {i}"
        photos.append(Photo(label, await f.read(limit + 1), source))
    return photos + _kept(form.getlist("kept"), limit)


def _confirmed(form) -> bool:
    return form.get("confirm_duplicate") == "1"


def _duplicate_step(request: Request, admin, exc: DuplicateFaceError, photos, action, fields, cancel):
    """The confirm step: who the face already matches, the form again with the photos kept."""
    return render(
        request,
        "admin/enrol_duplicate.html",
        status_code=409,
        admin=admin,
        nav="people",
        matches=exc.matches,
        kept=[_keep(p) for p in photos],
        action=action,
        fields=fields,
        cancel=cancel,
    )


def _flash_enrolment(request: Request, errors: list[str]) -> None:
    for e in errors:
        flash(request, "error", e)


def _errors_of(exc: BadInputError) -> list[str]:
    return exc.lines if isinstance(exc, PhotosRejectedError) else [sentence(str(exc))]


# The list ----------------------------------------------------------------------------------------
@router.get("/admin/people")
@back_to("/admin/people")
def people_list(request: Request, ctx: Ctx, admin: CurrentAdmin, q: str = "", page: int = 1):
    q = q.strip()[: people.MAX_QUERY]
    result = people.list_people(ctx, q or None, page=min(max(1, page), MAX_PAGE), size=PEOPLE_PAGE_SIZE)

    def qs(**changes) -> str:
        params = {"q": q, "page": result.page, **changes}
        return urlencode({k: v for k, v in params.items() if v})

    return render(
        request,
        "admin/people.html",
        admin=admin,
        nav="people",
        people=result.items,
        q=q,
        page=result.page,
        pages=result.pages,
        total=result.total,
        qs=qs,
        can_edit=admin.has("people:write"),
    )


# Adding a person ---------------------------------------------------------------------------------
def _new_person_form(request: Request, admin, status_code: int = 200, form=None, errors=None):
    return render(
        request,
        "admin/person_new.html",
        consent_version=consent.CURRENT_VERSION,
        consent_text=consent.CONSENT_TEXTS[consent.CURRENT_VERSION],
        status_code=status_code,
        admin=admin,
        nav="people",
        form=form or {},
        errors=errors,
        quality_url=QUALITY_URL,
    )


@router.get("/admin/people/new")
def person_new(request: Request, admin: CurrentAdmin):
    return _new_person_form(request, admin)


async def _new_person_again(request: Request, exc: BadInputError):
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in PERSON_FIELDS}
    return _new_person_form(request, signed_in_admin(request), exc.http_status, fields, _errors_of(exc))


@router.post("/admin/people/new", dependencies=[deps.VerifyCsrf])
@on_error(_new_person_again)
async def person_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in PERSON_FIELDS}
    photos = await _photos(request, form)
    try:
        person, enrolment = templates.enroll_new_person(
            ctx, **fields, photos=photos, actor=admin, confirm_duplicate=_confirmed(form)
        )
    except DuplicateFaceError as exc:
        return _duplicate_step(request, admin, exc, photos, "/admin/people/new", fields, "/admin/people")
    if form.get("consent") == consent.CURRENT_VERSION:  # the box with the consent text was ticked
        consent.record_consent(ctx, person.id, text_version=consent.CURRENT_VERSION, actor=admin)
    flash(request, "ok", f"{person.full_name} added with {_plural(enrolment.added, 'face template')}.")
    _flash_enrolment(request, enrolment.errors)
    return redirect(f"/admin/people/{person.id}")


# A person's page ---------------------------------------------------------------------------------
def _person_page(request: Request, ctx, admin, person_id: int, status_code: int = 200, errors=None):
    person, rows = templates.person_with_templates(ctx, person_id)
    return render(
        request,
        "admin/person_detail.html",
        status_code=status_code,
        admin=admin,
        nav="people",
        person=person,
        templates=rows,
        errors=errors,
        can_edit=admin.has("people:write"),
        quality_url=QUALITY_URL,
        consent_record=consent.current(ctx, person.id),
        consent_history=consent.history(ctx, person.id),
    )


def _person_page_again(request: Request, exc: BadInputError):
    """The person's page with the errors; the error page when the person cannot be shown."""
    person_id = int(request.path_params["person_id"])
    try:
        with page_context(request) as ctx:
            return _person_page(
                request, ctx, signed_in_admin(request), person_id, exc.http_status, _errors_of(exc)
            )
    except BadInputError:
        return error_page(request, exc, "/admin/people")


def _photos_rejected_again(request: Request, exc: BadInputError):
    """Rejected photos: the person's page with why; anything else (unknown person, no permission):
    the error page."""
    if isinstance(exc, PhotosRejectedError):
        return _person_page_again(request, exc)
    return error_page(request, exc, "/admin/people")


@router.get("/admin/people/{person_id}")
@back_to("/admin/people")
def person_detail(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    return _person_page(request, ctx, admin, person_id)


@router.post("/admin/people/{person_id}", dependencies=[deps.VerifyCsrf])
@on_error(_person_page_again)
async def person_update(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in PERSON_FIELDS}
    people.update_person(ctx, person_id, actor=admin, active=form.get("active") == "1", **fields)
    flash(request, "ok", "Saved.")
    return redirect(f"/admin/people/{person_id}")


def _pin_again(request: Request, exc: BadInputError):
    """A refused PIN: back to the person's page (post/redirect/get) with the reason."""
    flash(request, "error", "PIN not changed: " + sentence(str(exc)))
    return redirect(f"/admin/people/{request.path_params['person_id']}#pin-form")


@router.post("/admin/people/{person_id}/pin", dependencies=[deps.VerifyCsrf])
@on_error(_pin_again)
async def person_pin(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    """Set or remove the person's kiosk PIN (services/pin_login.py)."""
    form = await request.form()
    remove = form.get("action") == "remove"
    pin = None if remove else str(form.get("pin") or "")
    pin_login.set_pin(ctx, person_id, pin, actor=admin)
    flash(request, "ok", "PIN removed." if remove else "PIN set: it works at every kiosk from now on.")
    return redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/templates", dependencies=[deps.VerifyCsrf])
@on_error(_photos_rejected_again)
async def person_add_photos(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    photos = await _photos(request, form)
    try:
        enrolment = templates.enroll_photos(
            ctx, person_id, photos, actor=admin, confirm_duplicate=_confirmed(form)
        )
    except DuplicateFaceError as exc:
        back = f"/admin/people/{person_id}"
        return _duplicate_step(request, admin, exc, photos, f"{back}/templates", {}, back)
    flash(request, "ok", f"{_plural(enrolment.added, 'face template')} added.")
    _flash_enrolment(request, enrolment.errors)
    return redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/templates/{template_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
def template_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int, template_id: int):
    templates.delete_template(ctx, person_id, template_id, actor=admin)
    flash(request, "ok", "Face template removed.")
    return redirect(f"/admin/people/{person_id}")


@router.get("/admin/people/{person_id}/templates/{template_id}/chip.png")
@on_error(lambda request, exc: Response(status_code=exc.http_status))
def template_chip(request: Request, ctx: Ctx, admin: OptionalAdmin, person_id: int, template_id: int):
    """The aligned face chip kept with a template (decrypted), as a PNG for the admin's person page.
    An image, not a page: 401 rather than a redirect when nobody is signed in."""
    if admin is None:
        return Response(status_code=401)
    chip = templates.template_chip(ctx, person_id, template_id, actor=admin)
    if chip is None:
        return Response(status_code=404)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(chip).save(buf, "PNG")
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store, private"})


# Deleting a person -------------------------------------------------------------------------------
@router.get("/admin/people/{person_id}/delete")
@back_to("/admin/people")
def person_delete_confirm(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    person = people.get_person(ctx, person_id)
    return render(request, "admin/person_delete.html", admin=admin, nav="people", person=person)


def _delete_again(request: Request, exc: BadInputError):
    if isinstance(exc, ConfirmationError):
        flash(request, "error", sentence(str(exc)))
        return redirect(f"/admin/people/{request.path_params['person_id']}/delete")
    return error_page(request, exc, "/admin/people")


@router.post("/admin/people/{person_id}/delete", dependencies=[deps.VerifyCsrf])
@on_error(_delete_again)
async def person_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    person = people.delete_person(ctx, person_id, actor=admin, confirm_code=str(form.get("confirm") or ""))
    flash(request, "ok", f"{person.full_name} and all their face data were deleted.")
    return redirect("/admin/people")
