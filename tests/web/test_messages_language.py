"""Service messages on the pages in the reader's language: the week's time errors of a schedule, a
review item or a correction request decided twice, a bad audit-log date, a missing permission, and
no known English service message left on a German page. The services, the JSON API and the command
line keep the English text."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, csrf_of, sign_in
from whosthat import i18n
from whosthat.services import attendance, corrections, people, reviews
from whosthat.services.common import SYSTEM, check_paging
from whosthat.services.errors import DuplicateFaceError, ValidationError
from whosthat.services.templates import DuplicateMatch
from whosthat.web.deps import CurrentAdmin

SOURCE = Path(__file__).resolve().parents[2] / "src" / "whosthat"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


@cache
def english_messages() -> list[tuple[str, re.Pattern]]:
    """Every M_ message of the Python source whose German text differs from the English, as a pattern
    of its English text (values: any short text); those with too little fixed text to tell are left out."""
    found = []
    for _file, _line, msgid, _comments, _context in extract_from_dir(
        str(SOURCE), [("**.py", "python")], keywords={"M_": None}
    ):
        if not isinstance(msgid, str) or i18n.gettext("de", msgid) == msgid:
            continue
        parts = PLACEHOLDER.split(msgid.replace("%%", "%"))
        if max(len(p.strip()) for p in parts) < 14:  # e.g. "%(field)s is required": too short to tell
            continue
        found.append((msgid, re.compile(".{1,120}?".join(re.escape(p) for p in parts), re.I)))
    return found


def visible_text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def english_on(page: str) -> list[str]:
    """The English service messages a page shows."""
    text = visible_text(page)
    return [msgid for msgid, pattern in english_messages() if pattern.search(text)]


def test_the_leak_check_knows_the_service_messages_and_finds_one():
    ids = [m for m, _ in english_messages()]
    assert len(ids) > 100 and "review item %(id)s was already confirmed" in ids
    assert english_on("<p>Review item 7 was already confirmed.</p>") == [
        "review item %(id)s was already confirmed"
    ]
    assert english_on("<p>Der Prüfeintrag 7 wurde bereits bestätigt.</p>") == []


def _sent_back(client, response) -> str:
    assert response.status_code == 303, response.text[:300]
    return client.get(response.headers["location"]).text


def test_a_schedules_week_errors_in_german_and_french(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        sign_in(client)

        def create(lang: str, **week) -> str:
            page = client.get("/admin/schedules", headers={"Accept-Language": lang}).text
            data = {"csrf_token": csrf_of(page), "name": "Early", "timezone": "Europe/Berlin", **week}
            sent = client.post(
                "/admin/schedules", data=data, headers={"Accept-Language": lang}, follow_redirects=False
            )
            return _sent_back(client, sent)

        page = create("de", mon_start="25:00", mon_end="17:00")
        assert "Montag: Uhrzeiten im Format HH:MM." in visible_text(page)
        assert english_on(page) == [] and "times are HH:MM" not in page
        page = create("de", tue_start="08:00", tue_end="08:00")
        assert "Dienstag: die Schicht endet, wenn sie beginnt." in visible_text(page)
        page = create("fr", wed_start="08:00", wed_end="12:00", wed_break="300")
        assert (
            "Mercredi : la pause s'indique en minutes entières et doit être plus courte que le service."
            in visible_text(page)
        )
        page = create("fr", fri_start="08:00", fri_end="12:00", fri_break="x")
        assert "La pause du vendredi : indiquez un nombre entier." in visible_text(page)
        page = create("de", timezone="Mars/Olympus", mon_start="08:00", mon_end="12:00")
        assert "Unbekannte Zeitzone 'Mars/Olympus'" in visible_text(page)
        # the English reader reads the English text
        page = create("en", thu_start="8 o'clock", thu_end="17:00")
        assert "Thursday: times are HH:MM." in visible_text(page)


def _weak_login(ctx, person_id):
    event = attendance.clock(
        ctx, person_id, kiosk="lobby", at=datetime(2026, 3, 2, 8, tzinfo=UTC), match_distance=0.58
    )
    return reviews.flag_if_needed(
        ctx, event, np.zeros((150, 150, 3), np.uint8), {"passed": True, "pad_flag": True}
    )


def test_decided_twice_in_german_and_french_and_the_service_keeps_english(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    person = people.create_person(ctx, employee_code="R1", name="Ada", surname="Lovelace")
    item = _weak_login(ctx, person.id)
    reviews.decide(ctx, item.id, confirm=True)
    day = attendance.clock(ctx, person.id, kiosk="lobby", at=datetime(2026, 3, 3, 8, tzinfo=UTC))
    req = corrections.request_correction(
        ctx,
        person.id,
        action="add",
        kind="out",
        at=datetime(2026, 3, 3, 16, tzinfo=UTC),
        reason="forgot to clock out",
    )
    corrections.decide_request(ctx, req.id, approve=True, actor=SYSTEM)
    ctx.db.close()
    assert day.id
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/attendance/review", headers={"Accept-Language": "de"}).text
        again = client.post(
            f"/admin/attendance/review/{item.id}/decide",
            data={"csrf_token": csrf_of(page), "decision": "void", "note": "not her"},
            headers={"Accept-Language": "de"},
        )
        assert f"Der Prüfeintrag {item.id} wurde bereits bestätigt." in visible_text(again.text)
        assert english_on(again.text) == []
        again = client.post(
            f"/admin/attendance/requests/{req.id}/decide",
            data={"csrf_token": csrf_of(page), "decision": "reject", "note": "no, it was fine"},
            headers={"Accept-Language": "fr"},
        )
        assert f"La demande {req.id} a déjà été approuvée." in visible_text(again.text)
        # the JSON API keeps English
        api = client.post(
            f"/api/v1/attendance/requests/{req.id}/decision",
            json={"approve": False, "note": "no, it was fine"},
            headers={"Accept-Language": "de", "X-CSRF-Token": csrf_of(page)},
        )
        assert api.status_code == 409 and api.json()["detail"] == f"request {req.id} was already approved"


def test_a_bad_audit_date_in_italian_and_a_missing_permission_in_german(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/audit?date_from=31-12-2026", headers={"Accept-Language": "it"})
        assert page.status_code == 400
        assert "'31-12-2026' non è una data (AAAA-MM-GG)." in visible_text(page.text)
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})
        sign_in(client, "victor")
        page = client.get("/admin/schedules", headers={"Accept-Language": "de"}).text
        refused = client.post(
            "/admin/schedules",
            data={"csrf_token": csrf_of(page), "name": "Late"},
            headers={"Accept-Language": "de", "Accept": "text/html"},
        )
        assert refused.status_code == 403
        assert "Dafür ist die Berechtigung 'attendance:write' nötig." in visible_text(refused.text)
        assert english_on(refused.text) == []


def _plain_admin_page(admin: CurrentAdmin) -> dict:
    return {"ok": True}


def test_the_sign_in_and_form_checks_of_web_deps_in_german_on_a_page_and_english_in_the_api(tmp_path):
    """web/deps.py's refusals (signed out, a stale form, an empty upload) on an HTML page in the reader's
    language; the same refusal from the JSON API stays English."""
    app = app_with_admins(tmp_path)
    # a route outside the page routers: the app's error handler answers
    app.add_api_route("/plain-admin-page", _plain_admin_page)

    with TestClient(app) as client:
        german = {"Accept-Language": "de", "Accept": "text/html"}
        refused = client.get("/plain-admin-page", headers=german)
        assert refused.status_code == 401
        assert "melden Sie sich zuerst als Administrator an" in visible_text(refused.text)
        assert english_on(refused.text) == []
        api = client.get("/plain-admin-page", headers={"Accept-Language": "de"})
        assert api.status_code == 401 and api.json()["detail"] == "log in as an administrator first"
        sign_in(client)
        # a form sent with a stale token: the error page in German
        stale = client.post("/admin/people/new", data={"csrf_token": "stale"}, headers=german)
        assert stale.status_code == 403
        assert "das Formular ist abgelaufen oder ungültig" in visible_text(stale.text)
        # the API's own refusals stay English whatever the caller's language
        page = client.get("/admin/people").text
        empty = client.post(
            "/api/v1/quality",
            files={"image": ("frame.jpg", b"", "image/jpeg")},
            headers={"Accept-Language": "de", "X-CSRF-Token": csrf_of(page)},
        )
        assert empty.status_code == 400 and empty.json()["detail"] == "the uploaded file is empty"
    assert i18n.gettext("de", "the uploaded file is empty") == "die hochgeladene Datei ist leer"


def test_marked_messages_keep_english_and_translate_with_their_values():
    try:
        check_paging(1, 10_000)
    except ValidationError as exc:
        message = exc.args[0]
    assert str(message).startswith("size must be between 1 and ")
    assert i18n.translate(message, "de").startswith("die Seitengröße muss zwischen 1 und ")
    match = DuplicateMatch(i18n.M_("camera photo %(num)s", num=2), 7, "E-7", "Grace", "Hopper", 0.3141)
    duplicate = DuplicateFaceError([match]).args[0]
    assert str(duplicate).startswith(
        "camera photo 2 already matches Grace Hopper (E-7, id 7) at distance 0.314"
    )
    french = i18n.translate(duplicate, "fr")
    assert (
        i18n.translate(match.label, "fr") + " correspond déjà à Grace Hopper (E-7, identifiant 7)" in french
    )
    assert "stesso volto" in i18n.translate(duplicate, "it")


# Messages only the command line shows (backups, the gallery's calibration): English is their language.
CLI_ONLY = {("backup.py", "*"), ("recognition.py", "calibrate_threshold")}
PLAIN_ERRORS = {"ValueError", "TypeError", "KeyError", "RuntimeError"}


def test_no_service_or_page_raises_a_plain_english_message():
    """A BadInputError raised in services/, web/pages/ or web/deps.py with a literal or f-string text (not M_) would
    reach a page in English: this fails on it (the command line's own messages are allowed)."""
    import ast

    found = []
    for folder in ("services", "web/pages", "web/deps.py"):
        for path in (
            sorted((SOURCE / folder).glob("*.py")) if (SOURCE / folder).is_dir() else [SOURCE / folder]
        ):
            if (path.name, "*") in CLI_ONLY:
                continue
            source = path.read_text()
            for func in ast.walk(ast.parse(source)):
                if (
                    not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
                    or (path.name, func.name) in CLI_ONLY
                ):
                    continue
                for node in ast.walk(func):
                    call = node.exc if isinstance(node, ast.Raise) else None
                    if isinstance(node, ast.Return):
                        call = node.value
                    if not isinstance(call, ast.Call) or not call.args:
                        continue
                    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                    if not name.endswith("Error") or name in PLAIN_ERRORS:
                        continue
                    if isinstance(call.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
                        text = ast.get_source_segment(source, call.args[0]) or ""
                        found.append(f"{path.name}:{node.lineno} ({func.name}): {text[:80]}")
    assert not found, "plain English messages (use M_):\n" + "\n".join(sorted(set(found)))
