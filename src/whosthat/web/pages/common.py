"""What every page shares: rendering with the page context, flash messages, redirects, and the one
way a page shows an error.

Errors: a page route raises instead of catching. `PageRoute` (the route class of every page router)
turns LoginRequired into a redirect to the sign-in page (or the kiosk), and any other BadInputError
into the page's error view: the one given with `@on_error(view)` (e.g. the form again, with the
message), else the error page with a Back link (`@back_to("/admin/people")`, default "/"). CSRF
failures are left to the app's handler (a plain 403 page). No page has inline script or style.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import contextmanager

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.services.common import Context, site_timezone
from whosthat.services.errors import PermissionDeniedError
from whosthat.web.deps import CsrfError, LoginRequired, client_address, csrf_token
from whosthat.web.language import localise, request_language, tr
from whosthat.web.rendering import templates

MAX_FLASHES = 5

ErrorView = Callable[[Request, BadInputError], Response]  # or a coroutine function returning one


# Rendering ---------------------------------------------------------------------------------------
def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """The template `name` with the page context: flashes (consumed), CSRF token, the site's time zone
    (`tz`, `tzname`) and the upload limit; `admin` (the signed-in Actor, for the navigation) or None."""
    settings = request.app.state.runtime.settings
    tz = site_timezone(settings)
    context.setdefault("admin", None)
    context.setdefault("flashes", _pop_flashes(request))
    context["csrf_token"] = csrf_token(request)
    context["tz"] = tz
    context["tzname"] = str(tz)
    context["max_upload_bytes"] = settings.max_upload_bytes
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def flash(request: Request, kind: str, text: str) -> None:
    """A message ("ok" | "error") for the next page rendered in this session (the last few are kept)."""
    request.session.setdefault("flashes", [])
    request.session["flashes"] = [*request.session["flashes"], [kind, text]][-MAX_FLASHES:]


def _pop_flashes(request: Request) -> list[tuple[str, str]]:
    return [tuple(x) for x in request.session.pop("flashes", [])]


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form, the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def sentence(text: str) -> str:
    """A service message ("employee code 'E1' is already used") as a sentence for a page."""
    text = str(text).strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else text


def error_text(request: Request, exc: BaseException) -> str:
    """An error's message in the request's language, as a sentence (an M_ message is translated with
    its values; other text is shown as it is)."""
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return sentence(localise(request, message))


@contextmanager
def page_context(request: Request):
    """A service Context of its own, for an error view (the request's own session was rolled back)."""
    with Context.open(request.app.state.runtime, client_address(request)) as ctx:
        yield ctx


def signed_in_admin(request: Request):
    """The admin Actor that this request's dependencies found (deps.get_optional_admin), or None."""
    return getattr(request.state, "admin", None)


# Forms sent back with errors (post/redirect/get) -----------------------------------------------
# A refused form is never answered on its POST address (a reload would send it again): its values,
# errors and chosen photos go into a draft on the server (services/drafts.py: encrypted, this browser
# session's only, 30 minutes at most) and the browser is sent (303) to the form's GET page with
# ?draft=<token>, which shows the form again: every error beside its field under the field's own
# label, a summary at the top linking to the fields, the entered values and the photos' thumbnails.
REFERS_URL = {
    "person": "/admin/people/{id}",
    "kiosk": "/admin/kiosks#kiosk-{id}",
    "apikey": "/admin/apikeys#key-{id}",
}


def draft_session(request: Request) -> str | None:
    """What a draft is bound to: the signed-in session's server-side token, else (a form before
    sign-in) this browser session's CSRF token."""
    sid = request.session.get("sid")
    return sid if isinstance(sid, str) and sid else csrf_token(request)


def field_messages(request: Request, exc: BadInputError, labels: dict[str, str]) -> list[dict]:
    """The error (and the others it carries) as messages for a form, in the request's language:
    {"field" (None: about the whole form), "text" (a sentence; an M_ message with a `field` value names
    the field by its own label, `labels[field]`, an N_ text), "before", "link", "name", "after" (the
    text around a link to who or what it refers to)}. A photo batch's problems are one message."""
    lang = request_language(request)
    out = []
    for e in exc.field_errors:
        field = e.field if e.field in labels else None
        lines = getattr(e, "lines", None)
        message = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
        if lines:  # photo problems: every photo's line (what happened to the whole batch is said above)
            shown = [
                x for x in lines if not x.startswith(("Nothing was saved", "No photo was added"))
            ] or lines
            text = " ".join(sentence(i18n.translate(x, lang)) for x in shown)
        elif field and isinstance(message, i18n.Message) and "field" in message.params:
            label = i18n.translate(labels[field], lang)
            text = sentence(i18n.gettext(lang, message.msgid, **{**message.params, "field": label}))
        else:
            text = sentence(i18n.translate(message, lang))
        item = {"field": field, "text": text, "before": text, "link": None, "name": None, "after": ""}
        if e.refers and e.refers[0] in REFERS_URL and e.refers[2] in text:
            kind, rid, name = e.refers
            before, _, after = text.rpartition(name)
            item.update(before=before, link=REFERS_URL[kind].format(id=rid), name=name, after=after)
        out.append(item)
    return out


def send_back(
    request: Request,
    ctx: Context,
    form: str,
    url: str,
    exc: BadInputError,
    labels: dict[str, str],
    values: dict[str, str],
    photos=(),
) -> RedirectResponse:
    """303 to the form's GET `url` with a new draft of what was sent (values, the errors, photos)."""
    data = {"values": values, "errors": field_messages(request, exc, labels)}
    return send_back_draft(request, ctx, form, url, data, photos)


def form_message(field: str | None, text: str) -> dict:
    """One message of a form sent back (as field_messages makes them) from a text already in the
    reader's language: beside `field`, or about the whole form (None)."""
    text = sentence(text)
    return {"field": field, "text": text, "before": text, "link": None, "name": None, "after": ""}


def send_back_draft(request: Request, ctx: Context, form: str, url: str, data: dict, photos=()):
    """303 to the form's GET `url` with a new draft of `data` ({"values", "errors"} and whatever the
    form's page needs). Never put a password or a PIN in it."""
    from whosthat.services import drafts

    token = drafts.save(ctx, draft_session(request), form, data, list(photos))
    return redirect(f"{url}{'&' if '?' in url else '?'}draft={token}")


def discard_draft(request: Request, ctx: Context, form: str, token: object) -> None:
    """The draft a form was sent again with (its hidden field "draft") is used up."""
    from whosthat.services import drafts

    if isinstance(token, str) and token:
        drafts.discard(ctx, draft_session(request), token, form)


class FormState:
    """What a form's template shows (see the section comment): `values`, `errors` (field -> message),
    `summary` (every message in order), `photos` (the draft's photos: position and label), `draft`
    (its token, sent with the form again)."""

    def __init__(self, values=None, messages=(), photos=(), draft: str = "", data=None):
        self.data = dict(data or {})
        self.values = dict(values or {})
        self.summary = list(messages)
        self.errors = {}
        for m in self.summary:
            if m["field"] and m["field"] not in self.errors:  # one error per field beside it
                self.errors[m["field"]] = m
        self.photos = list(photos)
        self.draft = draft

    def value(self, name: str) -> str:
        return self.values.get(name) or ""


def form_state(request: Request, ctx: Context, form: str, token: str | None) -> FormState:
    """The draft named by ?draft= as the form's state, or an empty form (no, another session's, or an
    expired draft)."""
    from whosthat.services import drafts

    draft = drafts.load(ctx, draft_session(request), token, form) if token else None
    if draft is None:
        return FormState()
    photos = [{"position": i, "label": p.label} for i, p in enumerate(draft.photos)]
    return FormState(
        draft.data.get("values"), draft.data.get("errors") or [], photos, draft.token, draft.data
    )


# Errors ------------------------------------------------------------------------------------------
def error_page(request: Request, exc: BadInputError, back: str = "/", title: str | None = None) -> Response:
    """The error page: the message as a sentence in the request's language, the error's HTTP status,
    a Back link."""
    return render(
        request,
        "error.html",
        status_code=getattr(exc, "http_status", 400),
        title=title or tr(request, "That did not work"),
        detail=error_text(request, exc),
        back=back,
    )


def on_error(view: ErrorView):
    """Decorator for a page route: show its BadInputErrors with `view(request, exc)` (sync or async)."""

    def mark(endpoint):
        endpoint.error_view = view
        return endpoint

    return mark


def back_to(path: str):
    """Decorator for a page route: its errors show the error page with a Back link to `path`, which
    may name path parameters, e.g. "/admin/people/{person_id}". A POST's error (post/redirect/get) is
    a flash message on `path`, answered 303, so a reload never sends the form again; only a refusal
    that is not about the form (no permission) stays the error page."""

    def view(request: Request, exc: BadInputError) -> Response:
        back = path.format(**request.path_params)
        if request.method == "POST" and not isinstance(exc, PermissionDeniedError):
            flash(request, "error", error_text(request, exc))
            return redirect(back)
        return error_page(request, exc, back)

    return on_error(view)


class PageRoute(APIRoute):
    """The route class of the page routers: sign-in redirects and error views (see the module docstring)."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return redirect(exc.redirect_url(request))
            except CsrfError:
                raise
            except BadInputError as exc:
                view = getattr(endpoint, "error_view", None) or (lambda r, e: error_page(r, e))
                response = view(request, exc)
                return await response if inspect.isawaitable(response) else response

        return handle


def page_router() -> APIRouter:
    """A router for HTML pages: not in the OpenAPI document, with PageRoute."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)
