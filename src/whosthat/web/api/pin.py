"""The kiosk's fallback login: employee code + PIN (services/pin_login.py). No API key: it is the
kiosk's, like the liveness sessions; a browser's cross-site request is refused (Origin must match)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from whosthat.i18n import M_
from whosthat.services import kiosk_login, pin_login
from whosthat.services.errors import PermissionDeniedError
from whosthat.web.api import PREFIX
from whosthat.web.api.liveness import clocking_fields
from whosthat.web.deps import Ctx, PairedKiosk, PeopleWrite, RowId

router = APIRouter(prefix=PREFIX, tags=["kiosk"])


class PinLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str = Field(
        default=kiosk_login.DEFAULT_KIOSK, min_length=1, max_length=kiosk_login.KIOSK_NAME_MAX_LENGTH
    )
    employee_code: str = Field(min_length=1, max_length=64)
    pin: str = Field(min_length=1, max_length=64)


class PinLoginOut(BaseModel):
    passed: bool
    message: str
    person: dict
    event: dict | None  # null when the repeat window held: nothing was recorded
    recorded: bool
    last_event: dict  # the person's latest event: the new one, or the one inside the repeat window
    needs_review: bool
    redirect: str


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        raise PermissionDeniedError(M_("a PIN login must come from this server's own kiosk page"))


@router.post(
    "/kiosk/pin-login",
    summary="Kiosk fallback login with employee code and PIN (no API key needed)",
    response_model=PinLoginOut,
)
def login_with_pin(body: PinLoginIn, request: Request, ctx: Ctx, kiosk: PairedKiosk) -> JSONResponse:
    """200: clocked in or out (source "pin", flagged for review) with a one-time `redirect` to the
    employee's page; 401 for a wrong code or PIN (one message for both); 429 with Retry-After while the
    kiosk, the address or the code is locked out (the face login's limits); 400 for a bad kiosk name;
    403 for a request from another site, and kiosk_not_paired unless the browser holds a paired kiosk's
    device cookie (the login is that kiosk's, whatever name the body gives)."""
    _same_origin(request)
    done = pin_login.pin_login(ctx, kiosk.name, body.employee_code, body.pin)
    p = done.person
    out = {
        "passed": True,
        "message": done.message,
        "person": {"id": p.id, "name": p.name, "surname": p.surname},
        **clocking_fields(done.event, done.recorded),
        "needs_review": done.recorded and pin_login.needs_review(done.event),
        "redirect": f"/me/enter?ticket={done.ticket}",
    }
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str | None = Field(default=None, max_length=64)  # None removes the PIN


@router.put(
    "/people/{person_id}/pin",
    status_code=204,
    summary="Set or remove a person's kiosk PIN (people:write)",
)
def put_pin(person_id: RowId, body: PinIn, ctx: Ctx, actor: PeopleWrite) -> None:
    """204; 422 for a PIN that breaks the rule (6-12 digits, not all one digit, not a run); 404."""
    pin_login.set_pin(ctx, person_id, body.pin, actor=actor)
