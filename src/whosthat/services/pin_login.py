"""The kiosk's fallback login when the face fails (a bandage, a new beard, a broken camera): employee
code + PIN.

- The PIN is set by an administrator (people:write) or by the employee on their own page; it is
  stored as an argon2id hash (services.credentials, the passwords' hasher) and never shown.
- A PIN login counts toward the same lockout as a face login (this kiosk, this address:
  kiosk_login.lockout_keys) and also per employee code, so guessing one person's PIN from several
  kiosks stops as well. A wrong code, a code without a PIN and a wrong PIN get one answer.
- A passed PIN login clocks the person with source "pin" (no face, no liveness): it is never the same
  as a face login, and every such event is queued for review (services/reviews.py, reason
  "pin_login"). It is audited as `pin_login` / `pin_login.failed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.liveness import outcomes
from whosthat.services import attendance, audit, kiosk_login, reviews
from whosthat.services.common import Actor, Context, valid_id
from whosthat.services.credentials import hash_password, verify_password
from whosthat.services.errors import (
    AuthenticationError,
    LockedOutError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from whosthat.store import repositories as repo
from whosthat.store.models import AttendanceEvent, Person

PIN_RULE = "a PIN is 6 to 12 digits, not all the same digit and not a run like 123456"
PIN = re.compile(r"^[0-9]{6,12}$")
WRONG = outcomes.MESSAGES["pin_wrong"]  # one message for a wrong code and a wrong PIN
PIN_SOURCE = "pin"
PIN_LOGINS_METRIC = ("whosthat_pin_logins_total", "kiosk PIN logins by outcome")


@dataclass
class PinLogin:
    """A passed PIN login. recorded False: inside the repeat window nothing was recorded and `event` is
    the person's last one (attendance.clock_or_repeat)."""

    person: Person
    event: AttendanceEvent
    ticket: str
    message: str
    recorded: bool = True


def needs_review(event: AttendanceEvent) -> bool:
    """An event recorded by a PIN login: no face confirmed who it was, so an administrator reviews it."""
    return event.source == PIN_SOURCE


def pin_problem(pin: str) -> str | None:
    """Why `pin` is not acceptable (PIN_RULE), or None."""
    if not isinstance(pin, str) or not PIN.match(pin):
        return PIN_RULE
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    if steps in ({0}, {1}, {-1}):
        return PIN_RULE
    return None


def set_pin(ctx: Context, person_id: int, pin: str | None, *, actor: Actor) -> Person:
    """Set (or with `pin` None, remove) a person's PIN. An administrator needs people:write; an employee
    may set only their own. ValidationError for a PIN that breaks PIN_RULE."""
    person = repo.people.get(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    if actor.kind == "employee":
        if actor.id != person.id:
            raise PermissionDeniedError(M_("an employee can only set their own PIN"))
    else:
        actor.require("people:write")
    if pin is not None:
        problem = pin_problem(pin)
        if problem:
            raise ValidationError(problem)
    repo.people.set_pin_hash(ctx.db, person, hash_password(pin) if pin is not None else None)
    audit.record(
        ctx,
        actor,
        "person.pin_set" if pin is not None else "person.pin_removed",
        f"person:{person.id}",  # the row's label names the person (never a name in the detail)
    )
    ctx.commit()
    return person


def _keys(ctx: Context, kiosk: str, code: str) -> list[str]:
    return [*kiosk_login.lockout_keys(ctx, kiosk), f"pin:{code[:64]}"]


def pin_login(ctx: Context, kiosk: str, employee_code: str, pin: str) -> PinLogin:
    """Log in at `kiosk` with an employee code and PIN: clock the person (source "pin", flagged for
    review) and issue a login ticket. BadInputError for a bad kiosk name; LockedOutError while the
    kiosk, address or code is locked out; AuthenticationError (one message) for any wrong detail."""
    name = kiosk_login.kiosk_name(kiosk)
    if name is None:
        raise BadInputError(kiosk_login.KIOSK_NAME_RULE)
    code = (employee_code or "").strip()
    if not code or len(code) > 64:
        raise ValidationError(M_("enter your employee code"))
    rt = ctx.runtime
    keys = _keys(ctx, name, code)
    for key in keys:
        state = rt.face_limiter.check(key)
        if state.locked:
            raise LockedOutError(
                M_("too many failed attempts: try again in %(seconds)s s", seconds=state.retry_after_s),
                state.retry_after_s,
            )
    person = repo.people.by_code(ctx.db, code)
    ok = verify_password(person.pin_hash if person is not None else None, pin or "")
    if not ok or person is None or not person.active:
        for key in keys:
            rt.face_limiter.failure(key)
        audit.record(ctx, Actor.for_kiosk(name), "pin_login.failed", None, {"employee_code": code})
        ctx.commit()
        rt.metrics.inc(*PIN_LOGINS_METRIC, outcome="failed")
        raise AuthenticationError(WRONG)
    clocking = attendance.clock_or_repeat(
        ctx, person.id, kiosk=name, source=PIN_SOURCE, actor=Actor.for_kiosk(name)
    )
    event = clocking.event
    for key in keys:
        rt.face_limiter.success(key)
    audit.record(
        ctx,
        Actor.for_kiosk(name),
        "pin_login",
        f"person:{person.id}",
        {  # the row's label names the person (never a name in the detail)
            "kind": event.kind,
            "recorded": clocking.recorded,
        },
    )
    ctx.commit()
    if clocking.recorded:
        reviews.flag_if_needed(ctx, event, None, None)  # the review queue, reason "pin_login"
    ticket = kiosk_login.issue_login_ticket(ctx, person.id)
    rt.metrics.inc(*PIN_LOGINS_METRIC, outcome="passed")
    message = kiosk_login.welcome_message(ctx, name, person, clocking)
    if clocking.recorded:
        message = f"{message} with your PIN. An administrator will review this entry."
    return PinLogin(person, event, ticket, message, recorded=clocking.recorded)
