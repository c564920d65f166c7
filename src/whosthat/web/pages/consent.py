"""Consent on a person's page: record it (the current text), or withdraw it, which deletes their face
templates and images at once (services/consent.py) and says how many."""

from __future__ import annotations

from fastapi import Request

from whosthat.services import consent
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.pages.common import back_to, flash, page_router, redirect

router = page_router()


@router.post("/admin/people/{person_id}/consent", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
def consent_record(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: RowId):
    row = consent.record_consent(ctx, person_id, actor=admin)
    flash(request, "ok", f"Consent recorded (text version {row.text_version}).")
    return redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/consent/withdraw", dependencies=[deps.VerifyCsrf])
@back_to("/admin/people/{person_id}")
def consent_withdraw(request: Request, ctx: Ctx, admin: CurrentAdmin, person_id: RowId):
    done = consent.withdraw(ctx, person_id, actor=admin)
    flash(
        request,
        "ok",
        f"Consent withdrawn: {done.templates_deleted} face template(s) and their images and "
        f"{done.images_deleted} review image(s) deleted. Attendance is kept.",
    )
    return redirect(f"/admin/people/{person_id}")
