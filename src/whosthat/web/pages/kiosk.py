"""The kiosk page: the camera, the prompts of the liveness challenge, the result (web/static/js/kiosk.js
talks to the liveness API). The page carries every text the script shows, in the kiosk's language
(`kiosk_texts`: the failure messages of liveness.outcomes, the step prompts and guidance of
liveness.challenge, the page's own words): the API's messages are English and the script holds none.
The kiosk's own language (an administrator's setting) comes first, then the browser's choice.

Only a paired kiosk gets the camera page (services/kiosks.py): any other browser gets the pairing page,
which says how to pair and takes the one-time code from an administrator."""

from __future__ import annotations

import math
import time
from urllib.parse import urlencode

from fastapi import Request

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import N_
from whosthat.liveness import challenge, outcomes
from whosthat.services import kiosk_login, kiosks
from whosthat.services.errors import LockedOutError
from whosthat.services.kiosk_login import DEFAULT_KIOSK, kiosk_name
from whosthat.web import deps
from whosthat.web.deps import Ctx, OptionalKiosk
from whosthat.web.language import request_language, tr, use_language
from whosthat.web.pages.common import (
    discard_draft,
    error_text,
    form_message,
    form_state,
    page_router,
    redirect,
    render,
    send_back_draft,
)

router = page_router()
KIOSK_RESET_MS = 6000  # the result stays on screen this long before the kiosk is ready again


def kiosk_url(name: str | None) -> str:
    """The kiosk page of a kiosk name (the default kiosk for a name that breaks the kiosk-name rule)."""
    return "/kiosk?" + urlencode({"name": kiosk_name(name) or DEFAULT_KIOSK})


# The kiosk page's own words (kiosk.js): %(name)s placeholders are filled in by the script.
KIOSK_WORDS = {
    "idle_title": N_("Look at the camera"),
    "idle_guidance": N_("Step up to the camera and the check starts by itself."),
    "starting": N_("Hold still…"),
    "running": N_("Follow the instructions"),
    "signed_in": N_("Signed in"),
    "not_signed_in": N_("Not signed in"),
    "opening_page": N_("Opening your page…"),
    "pin_title": N_("Sign in with your PIN"),
    "camera_title": N_("Camera not available"),
    "seconds_left": N_("%(seconds)s s left"),
    "step": N_("Step %(step)s of %(of)s"),
    "step_done": N_("Step %(step)s of %(of)s, done"),
    "step_failed": N_("Step %(step)s of %(of)s, not done"),
    # What the status region says to a screen reader (the step and its prompt; the time left at a few points)
    "say_step": N_("Step %(step)s of %(of)s: %(prompt)s"),
    "say_seconds_left": N_("%(seconds)s seconds left"),
    "welcome_in": N_("Welcome, %(name)s: clocked in at %(time)s (%(zone)s)"),
    "welcome_out": N_("Goodbye, %(name)s: clocked out at %(time)s (%(zone)s)"),
    "welcome_in_pin": N_(
        "Welcome, %(name)s: clocked in at %(time)s (%(zone)s) with your PIN. An administrator will review this entry."
    ),
    "welcome_out_pin": N_(
        "Goodbye, %(name)s: clocked out at %(time)s (%(zone)s) with your PIN. An administrator will review this entry."
    ),
    # Inside the repeat window (WHOSTHAT_CLOCK_REPEAT_S): the login opens the page but records nothing;
    # the time is that of the person's last event.
    "repeat_in": N_("Hello, %(name)s: already clocked in at %(time)s (%(zone)s) — nothing changed"),
    "repeat_out": N_("Hello, %(name)s: already clocked out at %(time)s (%(zone)s) — nothing changed"),
}
# The BCP 47 tag the script formats the clock and the welcome's time with (Intl; CLDR, as Babel).
INTL_LOCALES = {"en": "en-GB", "de": "de-DE", "it": "it-IT", "fr": "fr-FR"}


def kiosk_texts(lang: str) -> dict:
    """Every text kiosk.js shows, in `lang`."""

    def t(text: str) -> str:
        return i18n.translate(text, lang)

    reasons = {reason: t(text) for reason, text in outcomes.MESSAGES.items()}
    return {
        "lang": lang,
        "locale": INTL_LOCALES.get(lang, "en-GB"),
        "reasons": reasons,
        # print_attack with advice: the refusal, then what to change
        "advice": {
            key: t(outcomes.PRINT_ATTACK_REFUSED) + " " + t(text) for key, text in outcomes.ADVICE.items()
        },
        "prompts": {kind: t(text) for kind, text in challenge.PROMPTS.items()},
        "guidance": {code: t(text) for code, text in challenge.GUIDANCE.items()},
        "words": {key: t(text) for key, text in KIOSK_WORDS.items()},
    }


# The pairing form is sent back (post/redirect/get, pages/common.py): 303 to /kiosk with a draft that
# holds the error, never the code typed (a one-time credential, like a password).
PAIR_FORM = "kiosk-pair"


def _pair_page(request: Request, ctx, draft: str = ""):
    """The pairing page; with ?draft= the form sent back: a wrong or expired code said beside the
    field, or while this address is locked out the time left (429, Retry-After)."""
    state = form_state(request, ctx, PAIR_FORM, draft)
    status_code, left = 200, 0
    until = state.data.get("locked_until")
    if isinstance(until, int | float):
        left = math.ceil(until - time.time())
        if left > 0:
            status_code = 429
            text = tr(request, "Too many wrong pairing codes. Try again in %(seconds)s s.", seconds=left)
            state.summary = [form_message(None, text)]
    response = render(
        request,
        "kiosk/pair.html",
        status_code=status_code,
        state=state,
        code_length=kiosks.PAIRING_CODE_LENGTH,
    )
    if status_code == 429:
        response.headers["Retry-After"] = str(left)
    return response


@router.get("/kiosk")
def kiosk(request: Request, ctx: Ctx, kiosk: OptionalKiosk, draft: str = ""):
    if kiosk is None:
        return _pair_page(request, ctx, draft)
    use_language(request, kiosk.language)  # the kiosk's own language beats the browser's
    return render(
        request,
        "kiosk/kiosk.html",
        kiosk=kiosk.name,  # the paired kiosk's own name (a ?name= in the address changes nothing)
        site=kiosk.site,
        # The clock shows this kiosk's time zone (its own, else the site's), the same as its welcome.
        kiosk_timezone=kiosk_login.kiosk_timezone(ctx, kiosk.name),
        reset_ms=KIOSK_RESET_MS,
        texts=kiosk_texts(request_language(request)),  # every text kiosk.js shows
    )


@router.post("/kiosk/pair", dependencies=[deps.VerifyCsrf])
async def kiosk_pair(request: Request, ctx: Ctx):
    form = await request.form()
    discard_draft(request, ctx, PAIR_FORM, form.get("draft"))
    code = form.get("code")
    try:
        kiosk, token = kiosks.pair(ctx, code[:200] if isinstance(code, str) else "")
    except LockedOutError as exc:
        ctx.db.rollback()
        data = {"values": {}, "errors": [], "locked_until": time.time() + exc.retry_after_s}
        return send_back_draft(request, ctx, PAIR_FORM, "/kiosk", data)
    except BadInputError as exc:
        ctx.db.rollback()
        data = {"values": {}, "errors": [form_message("code", error_text(request, exc))]}
        return send_back_draft(request, ctx, PAIR_FORM, "/kiosk", data)
    response = redirect("/kiosk")
    deps.set_kiosk_cookie(request, response, token)
    return response
