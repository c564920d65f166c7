"""The kiosk page: the camera, the prompts of the liveness challenge, the result (web/static/js/kiosk.js
talks to the liveness API). The page carries the table of failure messages (liveness.outcomes) for
the cases only the browser sees (no camera, a dropped connection)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from whosthat.liveness import outcomes
from whosthat.services.kiosk_login import DEFAULT_KIOSK, kiosk_name
from whosthat.web.deps import Ctx
from whosthat.web.pages.common import page_router, render

router = page_router()
KIOSK_RESET_MS = 6000  # the result stays on screen this long before the kiosk is ready again


def kiosk_url(name: str | None) -> str:
    """The kiosk page of a kiosk name (the default kiosk for a name that breaks the kiosk-name rule)."""
    return "/kiosk?" + urlencode({"name": kiosk_name(name) or DEFAULT_KIOSK})


@router.get("/kiosk")
def kiosk(request: Request, ctx: Ctx, name: str = DEFAULT_KIOSK):
    kiosk = kiosk_name(name) or DEFAULT_KIOSK
    return render(
        request,
        "kiosk/kiosk.html",
        kiosk=kiosk,
        # The clock shows this kiosk's time zone (its own, else the site's), the same as its welcome.
        kiosk_timezone=ctx.runtime.settings.kiosk_timezone(kiosk),
        reset_ms=KIOSK_RESET_MS,
        messages=outcomes.MESSAGES,  # kiosk.js shows these for the cases only the page sees
    )
