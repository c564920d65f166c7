"""The people pages: the searchable list, adding a person with photos (uploaded or taken with the
webcam), a person's page (edit, add photos, templates with their face chips), and deleting a person."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from whosthat.errors import BadInputError
from whosthat.services import people, templates
from whosthat.services.common import MAX_PAGE
from whosthat.services.errors import ConfirmationError, PhotosRejectedError
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


async def _photos(request: Request, form) -> list[Photo]:
    """Every non-empty file of the form, read up to one byte over the upload limit: "photos" are
    uploads, "captured" webcam shots."""
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
    return photos


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
    person, enrolment = templates.enroll_new_person(
        ctx,
        **{k: str(form.get(k) or "") for k in PERSON_FIELDS},
        photos=await _photos(request, form),
        actor=admin,
    )
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


@router.post("/admin/people/{person_id}/templates", dependencies=[deps.VerifyCsrf])
@on_error(_photos_rejected_again)
async def person_add_photos(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    enrolment = templates.enroll_photos(ctx, person_id, await _photos(request, form), actor=admin)
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
