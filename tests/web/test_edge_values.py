"""Edge values that used to answer 500: a page number past 2^63 / size, the calendar's last day, and
LIKE wildcards in a search. Each now gets a clear 4xx or a correct answer."""

from __future__ import annotations

from datetime import UTC, datetime

from whosthat.services import access, attendance, people

PASSWORD = "edge values 12345"


def _setup(web):
    ctx = web.context()
    try:
        if not people.list_people(ctx, "edge", page=1, size=5).total:
            access.create_admin(ctx, "edge", PASSWORD)
            a = people.create_person(ctx, employee_code="EDGE-1", name="Ada", surname="Edge")
            people.create_person(ctx, employee_code="EDGE_2", name="Bob", surname="100% Edge")
            attendance.clock(ctx, a.id, source="api", at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    finally:
        ctx.db.close()


def test_page_numbers_beyond_any_offset_are_a_4xx(web):
    _setup(web)
    for path in ("/api/v1/people", "/api/v1/audit", "/api/v1/attendance", "/api/v1/attendance/requests"):
        for page in (2**62, 2**63, 2**64 + 1, 10**30):
            r = web.client.get(path, params={"page": page}, headers=web.headers)
            assert 400 <= r.status_code < 500, (path, page, r.status_code, r.text)
            assert r.json()["error"] == "invalid_request"
        assert web.client.get(path, params={"page": 1_000_000}, headers=web.headers).status_code == 200


def test_the_calendars_first_and_last_days_are_answered(web):
    _setup(web)
    for path in ("/api/v1/attendance", "/api/v1/attendance/days", "/api/v1/attendance/report.csv"):
        for lo, hi in (
            ("9999-12-31", "9999-12-31"),
            ("0001-01-01", "9999-12-31"),
            ("0001-01-01", "0001-01-01"),
        ):
            r = web.client.get(path, params={"from": lo, "to": hi}, headers=web.headers)
            assert r.status_code == 200, (path, lo, hi, r.text)
        everything = web.client.get(
            path, params={"from": "0001-01-01", "to": "9999-12-31"}, headers=web.headers
        )
        assert "2026-03-02" in everything.text
    client = web.client
    token = client.post("/api/v1/auth/login", json={"username": "edge", "password": PASSWORD}).json()[
        "csrf_token"
    ]
    try:
        for query in (
            "from=9999-12-31&to=9999-12-31",
            "to=0001-01-01",
            "from=0001-01-01&to=9999-12-31",
            "person=%C2%B2",
            "person=99999999999999999999999",
        ):
            for path in ("/admin/attendance", "/admin/attendance/report.csv"):
                r = client.get(f"{path}?{query}", follow_redirects=False)
                assert r.status_code < 500, (path, query, r.status_code)
        for path in ("/admin/people?page=99999999999999999999", "/admin/audit?page=99999999999999999999"):
            assert client.get(path).status_code == 200, path
    finally:
        client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        client.cookies.clear()


def test_search_wildcards_match_literally(web):
    _setup(web)

    def codes(q):
        r = web.client.get("/api/v1/people", params={"q": q}, headers=web.headers)
        assert r.status_code == 200, r.text
        return sorted(p["employee_code"] for p in r.json()["items"])

    assert codes("%") == ["EDGE_2"]  # "100% Edge", not everyone
    assert codes("_") == ["EDGE_2"]  # the code's underscore, not any one character
    assert codes("edge-") == ["EDGE-1"]
    assert codes("\\") == []


def test_a_chunked_body_over_the_limit_is_a_413(web):
    def body():
        for _ in range(40):
            yield b"x" * (1024 * 1024)

    r = web.client.post(
        "/api/v1/identify",
        content=body(),
        headers={**web.headers, "content-type": "multipart/form-data; boundary=abc"},
    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


def test_405_names_every_method_of_the_path(web):
    r = web.client.put("/api/v1/people", headers=web.headers)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
