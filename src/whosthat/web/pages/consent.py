"""Consent on a person's page: record it (the current text), or withdraw it, which deletes their face
templates and images at once (services/consent.py) and says how many."""

from __future__ import annotations

from fastapi import Request

from whosthat import i18n
from whosthat.services import consent
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import tr, trn
from whosthat.web.pages.common import back_to, flash, page_router, redirect

router = page_router()


@router.post("/admin/people/{person_id}/consent", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
async def consent_record(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: RowId):
    form = await request.form()
    shown_in = form.get("consent_language")  # the page's language, in which the box showed the text
    language = shown_in if isinstance(shown_in, str) and shown_in in i18n.LANGUAGES else None
    row = consent.record_consent(ctx, person_id, language=language, actor=admin)
    flash(
        request, "ok", tr(request, "Consent recorded (text version %(version)s).", version=row.text_version)
    )
    return redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/consent/withdraw", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
def consent_withdraw(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: RowId):
    done = consent.withdraw(ctx, person_id, actor=admin)
    flash(
        request,
        "ok",
        " ".join(
            (
                trn(
                    request,
                    "Consent withdrawn: %(num)s face template and its images deleted,",
                    "Consent withdrawn: %(num)s face templates and their images deleted,",
                    done.templates_deleted,
                ),
                trn(
                    request,
                    "and %(num)s review image. Attendance is kept.",
                    "and %(num)s review images. Attendance is kept.",
                    done.images_deleted,
                ),
            )
        ),
    )
    return redirect(f"/admin/people/{person_id}")
