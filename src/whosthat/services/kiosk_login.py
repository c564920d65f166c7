"""The kiosk face login, around the liveness challenge (whosthat.liveness.challenge) that decides
whether a live person is in front of the camera:

1. `start_challenge`: refuse while the kiosk or the caller's address is locked out or starts sessions
   too fast, then open a challenge session.
2. The web route streams the kiosk's frames into the session.
3. `conclude_challenge`: a passed challenge's face is searched in the gallery; a match clocks the
   person in or out and gets a one-time login ticket, which `/me/enter` exchanges for an employee
   session (`redeem_login_ticket`). Every failure counts toward the lockout (`record_failure`).

The kiosk-name rule and the lockout keys live here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services import attendance, audit, reviews
from whosthat.services.common import Actor, Context
from whosthat.services.credentials import new_token, token_hash
from whosthat.services.errors import AuthenticationError, LockedOutError, UnavailableError
from whosthat.services.metrics import LIVENESS, LOCKOUTS
from whosthat.store import repositories as repo
from whosthat.store.models import AttendanceEvent, Person, utcnow

# Letters, digits, spaces, dots, dashes, underscores: a kiosk is named after where it stands ("Front
# door", "lobby-2"); the name shows on the kiosk, in the audit log and in the attendance table.
KIOSK_NAME_MAX_LENGTH = 64
KIOSK_NAME = re.compile(rf"^[A-Za-z0-9 ._-]{{1,{KIOSK_NAME_MAX_LENGTH}}}$")
KIOSK_NAME_RULE = M_(
    "kiosk name: 1-%(max)s letters, digits, spaces, dots, dashes or underscores", max=KIOSK_NAME_MAX_LENGTH
)
DEFAULT_KIOSK = "kiosk"
LOGIN_TICKET_TTL_S = 60
FACE_LOGINS_METRIC = ("whosthat_face_logins_total", "kiosk face logins by outcome")


@dataclass
class KioskLogin:
    """The outcome of a passed liveness challenge: who, which event, the session ticket, the message.
    recorded False: inside the repeat window nothing was recorded and `event` is the person's last one
    (attendance.clock_or_repeat)."""

    person: Person
    event: AttendanceEvent
    ticket: str
    message: str
    distance: float
    margin: float | None = None  # how far the second-best person was behind (None: only one enrolled)
    recorded: bool = True


@dataclass
class ChallengeOutcome:
    """How a finished challenge ended: `login` when someone was logged in, else the failure `reason`
    (a liveness reason such as "no_blink", "not_recognised" or "ambiguous")."""

    login: KioskLogin | None = None
    reason: str | None = None
    advice: str | None = None  # what the person can change (liveness.outcomes.ADVICE), for print_attack


def kiosk_name(value: str | None) -> str | None:
    """The kiosk name without surrounding whitespace when it follows KIOSK_NAME, else None."""
    name = (value or "").strip()
    return name if KIOSK_NAME.match(name) else None


def kiosk_timezone(ctx: Context, kiosk: str) -> str:
    """The IANA zone of kiosk `kiosk`'s clock and welcome: the kiosk's own (services/kiosks.py), else
    the site's (WHOSTHAT_TIMEZONE)."""
    row = repo.kiosks.by_name(ctx.db, kiosk)
    return row.timezone if row is not None and row.timezone else str(ctx.tz)


def lockout_keys(ctx: Context, kiosk: str) -> list[str]:
    """The keys that face-login failures and session starts are counted under: this kiosk, and the
    caller's address (so that neither moving to another kiosk nor renaming the kiosk escapes a lockout)."""
    return [f"kiosk:{kiosk}", f"address:{ctx.address or '-'}"]


def locked_out_for(ctx: Context, kiosk: str) -> int:
    """Seconds until this kiosk and address may try again after failed face logins; 0 when they may now."""
    states = [ctx.runtime.face_limiter.check(key) for key in lockout_keys(ctx, kiosk)]
    return next((s.retry_after_s for s in states if s.locked), 0)


# A face this wide (a fraction of the frame's width) starts the kiosk by itself: someone standing at the
# kiosk, not a passer-by in the background (the challenge itself asks to come closer below 90 of 640 px).
PRESENCE_MIN_FACE_FRAC = 0.12


def face_in_view(ctx: Context, rgb: np.ndarray) -> bool:
    """Whether a face is close enough to the kiosk's camera to start a login by itself (the kiosk page
    asks about once a second while it waits). Only detection: nothing is embedded, stored or counted
    toward the lockout. LockedOutError when the address asks too often."""
    state = ctx.runtime.presence_limiter.hit(f"address:{ctx.address or '-'}")
    if state.locked:
        raise LockedOutError(
            M_("too many presence checks: try again in %(seconds)s s", seconds=state.retry_after_s),
            state.retry_after_s,
        )
    width = rgb.shape[1]
    with ctx.runtime.face_pool.slot():  # bounded like every face analysis: a flood gets 503 busy
        faces = ctx.runtime.pipeline().detect(rgb)
    return any(d.box[2] - d.box[0] >= PRESENCE_MIN_FACE_FRAC * width for d in faces)


def start_challenge(ctx: Context, kiosk: str):
    """Open a liveness challenge session (whosthat.liveness.challenge) for `kiosk`.

    BadInputError for a name that breaks KIOSK_NAME; LockedOutError (with retry_after_s) while the
    kiosk or address is locked out or starts sessions too fast; UnavailableError when the liveness
    module is not installed (face login is then off, never open).
    """
    name = kiosk_name(kiosk)
    if name is None:
        raise BadInputError(KIOSK_NAME_RULE)
    rt = ctx.runtime
    wait_s = locked_out_for(ctx, name)
    if wait_s:
        raise LockedOutError(
            M_("too many failed face logins: try again in %(seconds)s s", seconds=wait_s), wait_s
        )
    for key in lockout_keys(ctx, name):
        state = rt.session_limiter.hit(key)
        if state.locked:
            raise LockedOutError(
                M_("too many login attempts: try again in %(seconds)s s", seconds=state.retry_after_s),
                state.retry_after_s,
            )
    store = rt.challenges()
    if store is None:
        raise UnavailableError(
            M_(
                "liveness unavailable: the liveness module (whosthat.liveness.challenge) "
                "is not installed on this server, so face login is off"
            )
        )
    settings = rt.settings
    pipeline = rt.pipeline()
    session = store.create(
        name,
        settings.kiosk(name).steps,  # this kiosk's own steps, if it has them; else adaptive or random
        n_steps=settings.liveness_steps,
        adaptive=settings.liveness_challenge == "adaptive",
        timeout_s=settings.liveness_timeout_s,
        pad_mode=settings.pad_mode,
        pipeline=pipeline,
        match_threshold=rt.threshold(pipeline),
    )
    rt.metrics.inc("whosthat_liveness_sessions_total", "liveness sessions started")
    return session


def record_failure(ctx: Context, kiosk: str, reason: str, detail: dict | None = None) -> None:
    """Count a failed face login toward the lockout, and audit it (no biometric data)."""
    for key in lockout_keys(ctx, kiosk):
        state = ctx.runtime.face_limiter.failure(key)
        if state.locked:
            ctx.runtime.metrics.inc(*LOCKOUTS, kind="face_login")
    ctx.runtime.metrics.inc(*FACE_LOGINS_METRIC, outcome=reason[:32])
    audit.record(ctx, Actor.for_kiosk(kiosk), "face_login.failed", None, {"reason": reason, **(detail or {})})
    ctx.commit()


def complete_kiosk_login(
    ctx: Context,
    *,
    kiosk: str,
    embedding: np.ndarray,
    model: str,
    liveness: dict | None,
    chip: np.ndarray | None = None,
) -> ChallengeOutcome:
    """After a PASSED liveness challenge: search the gallery with the challenge's embedding (the one
    1:N rule, `Gallery.identify`: threshold and open-set margin); when a person is recognised, clock
    them in/out (liveness summary, match distance and margin stored with the event) and issue a
    one-time login ticket. Otherwise the outcome's reason is "not_recognised" or "ambiguous" (the
    caller counts it as a failure)."""
    rt = ctx.runtime
    pipeline = rt.pipeline(model) if model else None
    found = rt.gallery.identify(ctx.db, model, embedding, rt.threshold(pipeline), rt.margin(pipeline))
    match = found.match
    if match is None:
        return ChallengeOutcome(reason=found.reason or "not_recognised")
    person = repo.people.get(ctx.db, match.person_id)
    if person is None or not person.active:
        return ChallengeOutcome(reason="not_recognised")
    clocking = attendance.clock_or_repeat(
        ctx,
        person.id,
        kiosk=kiosk,
        match_distance=match.distance,
        match_margin=found.margin,
        liveness=liveness,
        source="kiosk",
        actor=Actor.for_kiosk(kiosk),
    )
    event = clocking.event
    if clocking.recorded:  # a weak match or a liveness warning: queued (a repeat records nothing to review)
        reviews.flag_if_needed(ctx, event, chip, liveness)
    for key in lockout_keys(ctx, kiosk):
        rt.face_limiter.success(key)
    ticket = issue_login_ticket(ctx, person.id)
    rt.metrics.inc(*FACE_LOGINS_METRIC, outcome="passed")
    message = welcome_message(ctx, kiosk, person, clocking)
    return ChallengeOutcome(
        login=KioskLogin(
            person, event, ticket, message, match.distance, found.margin, recorded=clocking.recorded
        )
    )


def welcome_message(ctx: Context, kiosk: str, person: Person, clocking: attendance.Clocking) -> str:
    """The kiosk's English welcome (the API's `message`; the kiosk page shows its own words for the
    same codes): clocked in or out at the time on the kiosk's clock, or inside the repeat window that
    nothing changed since the last event."""
    event = clocking.event
    zone = kiosk_timezone(ctx, kiosk)  # the kiosk's clock shows the same zone, named the same
    local = event.at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    if not clocking.recorded:
        verb = "already clocked in" if event.kind == "in" else "already clocked out"
        return f"Hello, {person.name}: {verb} at {local} ({zone}) \N{EM DASH} nothing changed"
    verb = "clocked in" if event.kind == "in" else "clocked out"
    return f"Welcome, {person.name}: {verb} at {local} ({zone})"


# What a failed challenge's audit record keeps from its summary.
FAILURE_EVIDENCE = (
    "steps",
    "completed",
    "detail",
    "pad_mode",
    "pad_model",
    "pad_score",
    "pad_threshold",
    "pad_frames",
)


def conclude_challenge(ctx: Context, kiosk: str, session) -> ChallengeOutcome:
    """After a challenge session ended: log the person in when it passed and their face matches;
    otherwise record the failure (liveness reason, "not_recognised" or "ambiguous")."""
    summary = session.summary()
    passed = bool(session.passed)
    # The metric's label, empty for a pass (a label value, not a failure reason with a message).
    reason_label = "" if passed else (session.reason or "failed")
    ctx.runtime.metrics.inc(*LIVENESS, result="passed" if passed else "failed", reason=reason_label)
    if not passed:
        reason = session.reason or "failed"
        # The evidence behind the refusal goes into the audit record (scores and counts, no image).
        evidence = {k: summary.get(k) for k in FAILURE_EVIDENCE}
        record_failure(ctx, kiosk, reason, evidence)
        return ChallengeOutcome(
            reason=reason, advice=summary.get("pad_advice") if reason == "print_attack" else None
        )
    face = session.recognition()
    if face is None:
        outcome = ChallengeOutcome(reason="not_recognised")
    else:
        outcome = complete_kiosk_login(
            ctx, kiosk=kiosk, embedding=face.embedding, model=face.model, liveness=summary, chip=face.chip
        )
    if outcome.login is None:
        reason = "ambiguous" if outcome.reason == "ambiguous" else "not_recognised"
        record_failure(ctx, kiosk, reason)
        return ChallengeOutcome(reason=reason)
    return outcome


# One-time login tickets --------------------------------------------------------------------------
def issue_login_ticket(ctx: Context, person_id: int, ttl_s: int = LOGIN_TICKET_TTL_S) -> str:
    """A random single-use ticket (valid `ttl_s`) that /me/enter exchanges for an employee session."""
    token = new_token()
    now = utcnow()
    repo.tokens.add_login_ticket(
        ctx.db, token_hash(token), person_id, now=now, expires_at=now + timedelta(seconds=ttl_s)
    )
    ctx.commit()
    return token


def redeem_login_ticket(ctx: Context, ticket: str) -> Person:
    """Consume a ticket (atomically: it works once) and return its person; AuthenticationError otherwise."""
    if not ticket or not isinstance(ticket, str) or len(ticket) > 200:
        raise AuthenticationError(M_("invalid login link"))
    person_id = repo.tokens.use_login_ticket(ctx.db, token_hash(ticket), now=utcnow())
    if person_id is None:
        ctx.db.rollback()
        raise AuthenticationError(
            M_("this login link is invalid, used or expired: log in at the kiosk again")
        )
    person = repo.people.get(ctx.db, person_id)
    employee = Actor.for_employee(person) if person else Actor("employee", person_id, str(person_id))
    audit.record(ctx, employee, "employee.session", f"person:{person_id}")
    ctx.commit()
    if person is None or not person.active:
        raise AuthenticationError(M_("this person is not active"))
    return person
