"""The people pages: the searchable list, adding a person with photos (uploaded or taken with the
webcam), a person's page (edit, add photos, templates with their face chips), and deleting a person."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import M_, N_
from whosthat.services import consent, drafts, people, pin_login, templates
from whosthat.services.common import MAX_PAGE
from whosthat.services.errors import (
    AuthenticationError,
    ConfirmationError,
    DuplicateFaceError,
    NotFoundError,
    PermissionDeniedError,
)
from whosthat.services.templates import Photo
from whosthat.vision import reasons as quality_reasons
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, OptionalAdmin
from whosthat.web.language import localise, request_language, tr, trn
from whosthat.web.pages.common import (
    FormState,
    back_to,
    draft_session,
    error_page,
    flash,
    form_state,
    on_error,
    page_router,
    redirect,
    render,
    send_back,
    sentence,
)

router = page_router()
PEOPLE_PAGE_SIZE = 20
QUALITY_URL = "/api/v1/quality"  # the live enrollment quality check (JSON API, admin session + CSRF header)
PERSON_FIELDS = ("employee_code", "name", "surname")  # the form's text fields


# What the capture widget (static/js/capture.js) says; the quality check's reasons come as codes with
# their values (POST /api/v1/quality: problems) and are shown in the page's language.
CAPTURE_WORDS = {
    "good": N_("Good: one face, large enough, sharp and frontal. Take the photo."),
    "no_face_yet": N_("No usable face yet."),
    "unreachable": N_("The quality check is not reachable."),
    "no_camera": N_("This browser cannot use a camera here (it needs HTTPS or localhost)."),
    "camera_failed": N_("The camera could not be opened (%(error)s)."),
    "unknown_error": N_("unknown error"),
    "photo": N_("Photo %(num)s"),
    "remove_photo": N_("Remove photo %(num)s"),
    "too_large": N_(
        "The photos add up to %(total)s MB; at most %(max)s MB can be sent at once. Send fewer or smaller photos."
    ),
    "check_failed": N_("The quality check could not judge this frame (%(code)s)."),
}
# The quality check's refusals (the API's error codes) as the widget says them.
CAPTURE_ERRORS = {
    "csrf_failed": N_("This page is out of date: reload it, then start the camera again."),
    "unauthenticated": N_("You are signed out: sign in again, then take the photos."),
    "forbidden": N_("You are not allowed to add face photos."),
    "busy": N_("The server is busy; the check goes on in a moment."),
    "payload_too_large": N_("The camera's picture is too large for the quality check."),
    "image_too_large": N_("The camera's picture is too large for the quality check."),
    "bad_image": N_("The camera's picture could not be read."),
}


def capture_texts(lang: str) -> dict:
    """Every text capture.js shows, in `lang`: its words, the reasons by code, the refusals by code."""

    def t(text: str) -> str:
        return i18n.translate(text, lang)

    reasons = {code: t(text) for code, text in quality_reasons.REASONS.items()}
    reasons["no_face"] = t(quality_reasons.NO_FACE)
    reasons["multiple_faces"] = t(quality_reasons.MULTIPLE_FACES)
    return {
        "lang": lang,
        "locale": i18n.FORMAT_LOCALES[lang].replace("_", "-"),
        "words": {key: t(text) for key, text in CAPTURE_WORDS.items()},
        "reasons": reasons,
        "errors": {code: t(text) for code, text in CAPTURE_ERRORS.items()},
    }


# Forms sent back (post/redirect/get, pages/common.py): their drafts and field labels.
NEW_FORM = "person-new"  # the Add person form
PHOTOS_FORM = "person-photos"  # a person's Add photos form
EDIT_FORM = "person-edit"  # a person's details form
PIN_FORM = "person-pin"  # a person's Kiosk PIN form (its draft holds the error only, never the PIN)
LABELS = {  # each form field's own label (as on the form), for its errors
    "employee_code": N_("Employee code"),
    "name": N_("First name"),
    "surname": N_("Surname"),
    "photos": N_("Face photos"),
    "active": N_("Active"),
    "consent": N_("Consent"),
    "pin": N_("New PIN (6 to 12 digits)"),
}


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
        label = f.filename if source == "upload" and f.filename else M_("camera photo %(num)s", num=i)
        photos.append(Photo(label, await f.read(limit + 1), source))
    return photos


def _kept_photos(request: Request, ctx, form, name: str) -> tuple[str, list[Photo]]:
    """The draft this form was sent back with (its token from the hidden field "draft"; this session's
    only) and its photos the admin kept (checkboxes "keep", by position)."""
    token = str(form.get("draft") or "")
    draft = drafts.load(ctx, draft_session(request), token, name) if token else None
    if draft is None:
        return "", []
    keep = {str(v) for v in form.getlist("keep")}
    return draft.token, [p for i, p in enumerate(draft.photos) if str(i) in keep]


def _confirmed(form) -> bool:
    return form.get("confirm_duplicate") == "1"


def _consent_of(form) -> str | None:
    """The consent text version of the ticked consent box ("consent"), or None when it was not ticked."""
    return str(form.get("consent") or "")[:32] or None


def _consent_language(form) -> str | None:
    """The language the consent box showed its text in (its hidden "consent_language"), or None."""
    value = form.get("consent_language")
    return value if isinstance(value, str) and value in i18n.LANGUAGES else None


def _consent_context(request: Request) -> dict:
    """What the consent box needs (admin/_consent_box.html): the current text, in the page's language,
    and its version."""
    return {
        "consent_version": consent.CURRENT_VERSION,
        "consent_text": consent.text_of(consent.CURRENT_VERSION, request_language(request)),
    }


def _matches(exc: DuplicateFaceError) -> list[dict]:
    return [
        {
            "label": m.label,
            "person_id": m.person_id,
            "full_name": m.full_name,
            "employee_code": m.employee_code,
            "distance": float(m.distance),
        }
        for m in exc.matches
    ]


def _sent_back(request, ctx, name, url, exc, fields, photos, old_draft):
    """The form's draft (post/redirect/get) after an error; the draft it was sent with is used up."""
    ctx.db.rollback()
    if old_draft:
        drafts.discard(ctx, draft_session(request), old_draft, name)
    if isinstance(exc, DuplicateFaceError):  # the confirm step: who the face already matches
        data = {"values": fields, "errors": [], "duplicate": _matches(exc)}
        token = drafts.save(ctx, draft_session(request), name, data, photos)
        return redirect(f"{url}?draft={token}")
    return send_back(request, ctx, name, url, exc, LABELS, fields, photos)


def _flash_enrolment(request: Request, errors: list[str]) -> None:
    for e in errors:  # marked messages: in the reader's language
        flash(request, "error", sentence(localise(request, e)))


def _not_a_form_error(exc: BadInputError) -> bool:
    """Errors that are not about what was typed (no permission, nobody signed in): the error page."""
    return isinstance(exc, PermissionDeniedError | AuthenticationError)


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
def _new_person_form(request: Request, ctx, admin, state: FormState):
    return render(
        request,
        "admin/person_new.html",
        **_consent_context(request),
        admin=admin,
        nav="people",
        state=state,
        form_state_photos=state,
        form_name_photos=NEW_FORM,
        quality_url=QUALITY_URL,
        capture_texts=capture_texts(request_language(request)),
    )


def _duplicate_step(request: Request, admin, state: FormState, duplicate: list, action: str, cancel: str):
    """The confirm step: who the face already matches; the photos stay in the draft."""
    return render(
        request,
        "admin/enrol_duplicate.html",
        admin=admin,
        nav="people",
        matches=duplicate,
        state=state,
        action=action,
        cancel=cancel,
    )


@router.get("/admin/people/new")
def person_new(request: Request, ctx: Ctx, admin: CurrentAdmin, draft: str = ""):
    state = form_state(request, ctx, NEW_FORM, draft)
    if state.draft and (duplicate := state.data.get("duplicate")):
        return _duplicate_step(request, admin, state, duplicate, "/admin/people/new", "/admin/people")
    return _new_person_form(request, ctx, admin, state)


@router.post("/admin/people/new", dependencies=[deps.VerifyCsrf])
async def person_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in PERSON_FIELDS}
    old_draft, kept = _kept_photos(request, ctx, form, NEW_FORM)
    photos = kept + await _photos(request, form)
    try:
        person, enrolment = templates.enroll_new_person(
            ctx,
            **fields,
            photos=photos,
            actor=admin,
            confirm_duplicate=_confirmed(form),
            consent_version=_consent_of(form),  # recorded with the person (required with photos)
            consent_field="consent",
            consent_language=_consent_language(form),
        )
    except BadInputError as exc:
        if _not_a_form_error(exc):
            raise
        values = {**fields, "consent": _consent_of(form) or ""}
        return _sent_back(request, ctx, NEW_FORM, "/admin/people/new", exc, values, photos, old_draft)
    if old_draft:
        drafts.discard(ctx, draft_session(request), old_draft, NEW_FORM)
    flash(
        request,
        "ok",
        trn(
            request,
            "%(name)s added with %(num)s face template.",
            "%(name)s added with %(num)s face templates.",
            enrolment.added,
            name=person.full_name,
        ),
    )
    _flash_enrolment(request, enrolment.errors)
    return redirect(f"/admin/people/{person.id}")


# A person's page ---------------------------------------------------------------------------------
def _person_page(request: Request, ctx, admin, person_id: int, draft: str = ""):
    person, rows = templates.person_with_templates(ctx, person_id)
    edit = form_state(request, ctx, EDIT_FORM, draft)
    photos = form_state(request, ctx, PHOTOS_FORM, draft)
    if photos.draft and (duplicate := photos.data.get("duplicate")):
        back = f"/admin/people/{person_id}"
        return _duplicate_step(request, admin, photos, duplicate, f"{back}/templates", back)
    return render(
        request,
        "admin/person_detail.html",
        admin=admin,
        nav="people",
        person=person,
        templates=rows,
        state=edit,
        pin_state=form_state(request, ctx, PIN_FORM, draft),
        form_state_photos=photos,
        form_name_photos=PHOTOS_FORM,
        can_edit=admin.has("people:write"),
        quality_url=QUALITY_URL,
        capture_texts=capture_texts(request_language(request)),
        consent_record=consent.current(ctx, person.id),
        consent_history=consent.history(ctx, person.id),
        **_consent_context(request),
    )


@router.get("/admin/people/{person_id}")
@back_to("/admin/people")
def person_detail(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int, draft: str = ""):
    return _person_page(request, ctx, admin, person_id, draft)


@router.post("/admin/people/{person_id}", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people")
async def person_update(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in PERSON_FIELDS}
    active = form.get("active") == "1"
    people.get_person(ctx, person_id)  # an unknown person: the error page, not a draft
    try:
        people.update_person(ctx, person_id, actor=admin, active=active, **fields)
    except BadInputError as exc:
        if _not_a_form_error(exc) or isinstance(exc, NotFoundError):
            raise
        values = {**fields, "active": "1" if active else ""}
        return _sent_back(request, ctx, EDIT_FORM, f"/admin/people/{person_id}", exc, values, (), None)
    flash(request, "ok", tr(request, "Saved."))
    return redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/pin", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people")
async def person_pin(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    """Set or remove the person's kiosk PIN (services/pin_login.py). A refused PIN is sent back
    (post/redirect/get) with the reason beside the PIN field; the draft never holds the PIN."""
    form = await request.form()
    people.get_person(ctx, person_id)  # an unknown person: the error page, not a draft
    back = f"/admin/people/{person_id}"
    old_draft = form.get("draft")
    if isinstance(old_draft, str) and old_draft:
        drafts.discard(ctx, draft_session(request), old_draft, PIN_FORM)
    remove = form.get("action") == "remove"
    pin = None if remove else str(form.get("pin") or "")[:64]
    try:
        pin_login.set_pin(ctx, person_id, pin, actor=admin)
    except BadInputError as exc:
        if _not_a_form_error(exc) or isinstance(exc, NotFoundError):
            raise
        if exc.field is None:
            exc.field = "pin"  # the PIN rule: about the one field of the form
        return _sent_back(request, ctx, PIN_FORM, back, exc, {}, (), None)  # never the PIN
    flash(
        request,
        "ok",
        tr(request, "PIN removed.")
        if remove
        else tr(request, "PIN set: it works at every kiosk from now on."),
    )
    return redirect(back)


@router.post("/admin/people/{person_id}/templates", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people")
async def person_add_photos(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int):
    form = await request.form()
    people.get_person(ctx, person_id)  # an unknown person: the error page, not a draft
    old_draft, kept = _kept_photos(request, ctx, form, PHOTOS_FORM)
    photos = kept + await _photos(request, form)
    try:
        enrolment = templates.enroll_photos(
            ctx,
            person_id,
            photos,
            actor=admin,
            confirm_duplicate=_confirmed(form),
            consent_version=_consent_of(form),  # the box shown while no consent is in force
            consent_field="consent",
            consent_language=_consent_language(form),
        )
    except BadInputError as exc:
        if _not_a_form_error(exc) or isinstance(exc, NotFoundError):
            raise
        back = f"/admin/people/{person_id}"
        values = {"consent": _consent_of(form) or ""}
        return _sent_back(request, ctx, PHOTOS_FORM, back, exc, values, photos, old_draft)
    if old_draft:
        drafts.discard(ctx, draft_session(request), old_draft, PHOTOS_FORM)
    flash(
        request,
        "ok",
        trn(request, "%(num)s face template added.", "%(num)s face templates added.", enrolment.added),
    )
    _flash_enrolment(request, enrolment.errors)
    return redirect(f"/admin/people/{person_id}")


@router.get("/admin/drafts/{token}/photos/{position}.jpg")
@on_error(lambda request, exc: Response(status_code=exc.http_status))
def draft_photo(request: Request, ctx: Ctx, admin: OptionalAdmin, token: str, position: int, form: str = ""):
    """A thumbnail of a photo kept in this session's form draft (re-encoded, never the upload itself).
    An image, not a page: 401 when nobody is signed in, 404 for another session's or a used draft."""
    if admin is None:
        return Response(status_code=401)
    if form not in (NEW_FORM, PHOTOS_FORM):
        return Response(status_code=404)
    jpeg = drafts.thumbnail(ctx, draft_session(request), token, form, position)
    if jpeg is None:
        return Response(status_code=404)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})


@router.post("/admin/people/{person_id}/templates/{template_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
def template_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: int, template_id: int):
    templates.delete_template(ctx, person_id, template_id, actor=admin)
    flash(request, "ok", tr(request, "Face template removed."))
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
    flash(request, "ok", tr(request, "%(name)s and all their face data were deleted.", name=person.full_name))
    return redirect("/admin/people")
