"""The kiosk page: the camera, the prompts of the liveness challenge, the result (web/static/js/kiosk.js
talks to the liveness API). The page carries the table of failure messages (liveness.outcomes) for
the cases only the browser sees (no camera, a dropped connection).

Only a paired kiosk gets the camera page (services/kiosks.py): any other browser gets the pairing page,
which says how to pair and takes the one-time code from an administrator."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.liveness import outcomes
from whosthat.services import kiosk_login, kiosks
from whosthat.services.kiosk_login import DEFAULT_KIOSK, kiosk_name
from whosthat.web import deps
from whosthat.web.deps import Ctx, OptionalKiosk
from whosthat.web.pages.common import on_error, page_router, redirect, render, sentence

router = page_router()
KIOSK_RESET_MS = 6000  # the result stays on screen this long before the kiosk is ready again


def kiosk_url(name: str | None) -> str:
    """The kiosk page of a kiosk name (the default kiosk for a name that breaks the kiosk-name rule)."""
    return "/kiosk?" + urlencode({"name": kiosk_name(name) or DEFAULT_KIOSK})


def _pair_page(request: Request, status_code: int = 200, error: str | None = None):
    return render(
        request,
        "kiosk/pair.html",
        status_code=status_code,
        error=error,
        code_length=kiosks.PAIRING_CODE_LENGTH,
    )


@router.get("/kiosk")
def kiosk(request: Request, ctx: Ctx, kiosk: OptionalKiosk):
    if kiosk is None:
        return _pair_page(request)
    return render(
        request,
        "kiosk/kiosk.html",
        kiosk=kiosk.name,  # the paired kiosk's own name (a ?name= in the address changes nothing)
        site=kiosk.site,
        # The clock shows this kiosk's time zone (its own, else the site's), the same as its welcome.
        kiosk_timezone=kiosk_login.kiosk_timezone(ctx, kiosk.name),
        reset_ms=KIOSK_RESET_MS,
        messages=outcomes.MESSAGES,  # kiosk.js shows these for the cases only the page sees
    )


def _pair_again(request: Request, exc: BadInputError):
    return _pair_page(request, getattr(exc, "http_status", 400), sentence(str(exc)))


@router.post("/kiosk/pair", dependencies=[deps.VerifyCsrf])
@on_error(_pair_again)
async def kiosk_pair(request: Request, ctx: Ctx):
    form = await request.form()
    code = form.get("code")
    kiosk, token = kiosks.pair(ctx, code if isinstance(code, str) else "")
    response = redirect("/kiosk")
    deps.set_kiosk_cookie(request, response, token)
    return response
