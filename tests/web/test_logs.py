"""Structured JSON logs with request ids: one access line per request with the route template (never
the query string, which can carry one-time tokens), and the id echoed to the client."""

from __future__ import annotations

import io
import json
import logging

from whosthat.web.logs import JsonFormatter


def _capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("whosthat")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    return stream, handler, logger, old


def test_access_lines_are_json_with_the_request_id_and_no_query_string(web):
    stream, handler, logger, old = _capture()
    try:
        r = web.client.get(
            "/api/v1/people/123456?token=very-secret-token",
            headers={**web.headers, "X-Request-ID": "trace-42"},
        )
        assert r.status_code == 404 and r.headers["X-Request-ID"] == "trace-42"
        bad = web.client.get("/healthz", headers={"X-Request-ID": "no spaces allowed"})
        generated = bad.headers["X-Request-ID"]
        assert generated != "no spaces allowed" and len(generated) == 32
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [x for x in lines if x["logger"] == "whosthat.access"]
    mine = next(x for x in access if x["request_id"] == "trace-42")
    assert mine["route"] == "/api/v1/people/{person_id}" and mine["status"] == 404 and mine["method"] == "GET"
    assert mine["duration_ms"] >= 0 and mine["level"] == "info"
    assert any(x["request_id"] == generated for x in access)
    text = stream.getvalue()
    assert "very-secret-token" not in text and "123456" not in text and web.admin_key not in text


def test_the_formatter_writes_only_its_fields():
    record = logging.LogRecord("whosthat.web", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.password = "hunter2"  # an extra that is not one of the formatter's fields
    out = json.loads(JsonFormatter().format(record))
    assert out["msg"] == "failed x" and out["level"] == "error" and "password" not in out
