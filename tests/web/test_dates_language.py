"""Days on the pages in the reader's date format, not ISO (issue 15, item 4): the locked periods and the
timesheet's heading, a holiday, the locked-period refusal and a flash message; the English text of
a message (the API's, the log's) keeps ISO 8601."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, csrf_of, sign_in
from whosthat import i18n
from whosthat.i18n import M_
from whosthat.services import attendance, corrections, people, periods, schedules
from whosthat.services.common import SYSTEM


def _visible(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_day_in_a_message_is_iso_in_english_and_the_readers_format_on_a_page():
    message = M_("%(day)s is already a holiday", day=date(2026, 12, 2))
    assert str(message) == "2026-12-02 is already a holiday"  # the API and the log
    assert i18n.translate(message, "de").startswith("02.12.2026 ")
    assert i18n.translate(message, "fr").startswith("2 déc. 2026 ")
    assert i18n.translate(message, "it").startswith("2 dic 2026 ")
    assert i18n.translate(message, "en") == "2 Dec 2026 is already a holiday"
    assert i18n.gettext(
        "de", "Unlocked %(start)s to %(end)s.", start=date(2026, 11, 1), end=date(2026, 11, 30)
    ) == (i18n.gettext("de", "Unlocked %(start)s to %(end)s.", start="01.11.2026", end="30.11.2026"))


def test_locked_periods_holidays_and_the_lock_refusal_in_german_dates(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="L1", name="Ada", surname="Lovelace")
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    attendance.clock(ctx, ada.id, at=start)
    periods.lock_period(ctx, date(2026, 3, 1), date(2026, 3, 31), note="exported March", actor=SYSTEM)
    schedules.add_holiday(ctx, date(2026, 12, 25), "Weihnachten")
    with pytest.raises(periods.PeriodLockedError) as refused:
        corrections.add_event(ctx, ada.id, kind="out", at=start + timedelta(hours=8), reason="forgot it")
    ctx.db.close()
    english = str(refused.value)
    assert "2026-03-02 is in a locked period (2026-03-01 to 2026-03-31)" in english
    assert i18n.translate(refused.value.args[0], "de").startswith(
        "02.03.2026 liegt in einem gesperrten Zeitraum (01.03.2026 bis 31.03.2026)"
    )
    with TestClient(app) as client:
        sign_in(client)
        german = {"Accept-Language": "de"}
        page = _visible(client.get("/admin/timesheets?from=2026-03-01&to=2026-03-31", headers=german).text)
        assert "01.03.2026 – 31.03.2026" in page and "2026-03-01" not in page, page[:600]
        page = _visible(client.get("/admin/schedules", headers=german).text)
        assert "25.12.2026 Fr." in page and "2026-12-25" not in page
        french = _visible(
            client.get(
                "/admin/timesheets?from=2026-03-01&to=2026-03-31", headers={"Accept-Language": "fr"}
            ).text
        )
        assert "1 mars 2026 – 31 mars 2026" in french
        csrf = csrf_of(client.get("/admin/timesheets", headers=german).text)
        unlocked = client.post(
            f"/admin/timesheets/locks/{periods.list_locks(context(app))[0].id}/unlock",
            data={"csrf_token": csrf, "reason": "late correction"},
            headers=german,
            follow_redirects=False,
        )
        shown = _visible(client.get(unlocked.headers["location"], headers=german).text)
        assert (
            i18n.gettext("de", "Unlocked %(start)s to %(end)s.", start="01.03.2026", end="31.03.2026")
            in shown
        )
