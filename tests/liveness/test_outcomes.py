"""One table of failure reasons -> what the person should do: every reason the server can produce has
a message there, the kiosk page reads the same table, and kiosk.js keeps no copy of its own."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import whosthat
from whosthat.liveness.challenge import ChallengeSession
from whosthat.liveness.outcomes import ADVICE, MESSAGES, message_for

from .liveness_frames import astronaut_frame, default_match_threshold, drive

SRC = Path(whosthat.__file__).parent
KIOSK_JS = SRC / "web/static/js/kiosk.js"
# Where face-login failures are decided: the challenge, the kiosk-login service, the liveness route.
REASON_SOURCES = ["liveness", "services/kiosk_login.py", "web/api"]
# Calls whose string arguments are failure reasons.
REASON_CALLS = {"_fail", "_failed", "message_for", "record_failure", "_record_failure"}


def _strings(node: ast.AST | None) -> set[str]:
    """The strings an expression can evaluate to: a constant, either branch of `a if c else b`, `a or b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(v) for v in node.values))
    return set()


def reasons_in(tree: ast.AST) -> set[str]:
    """Strings used as a failure reason: arguments of REASON_CALLS and `reason=` keywords, values of a
    "reason" key, values assigned to `reason`, and what functions named *_reason return."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in REASON_CALLS:
                found |= set().union(*(_strings(a) for a in node.args))
            found |= {s for k in node.keywords if k.arg == "reason" for s in _strings(k.value)}
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "reason":
                    found |= _strings(value)
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "reason" for t in node.targets):
                found |= _strings(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_reason"):
            found |= {s for r in ast.walk(node) if isinstance(r, ast.Return) for s in _strings(r.value)}
    return found


def server_reasons() -> set[str]:
    found: set[str] = set()
    for source in REASON_SOURCES:
        path = SRC / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            found |= reasons_in(ast.parse(file.read_text(), str(file)))
    return found


def test_every_reason_the_server_can_produce_has_a_message():
    reasons = server_reasons()
    # The scan finds the challenge's reasons, the route's and the service's (else it is looking elsewhere).
    assert {"no_head_turn", "multiple_faces", "invalid_session", "not_recognised", "failed"} <= reasons
    assert reasons <= set(MESSAGES), sorted(reasons - set(MESSAGES))


def test_a_still_photo_asked_to_turn_is_told_so():
    """The reason the kiosk page used to have no words for: the person reads what to do, not a bare retry."""
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["turn_left"], timeout_s=3, pad_mode="off"
    )
    still = astronaut_frame()
    drive(s, lambda t: still)
    assert s.reason == "no_head_turn"
    assert message_for(s.reason) == MESSAGES["no_head_turn"] != MESSAGES["failed"]


def test_an_unknown_reason_gets_the_one_fallback():
    assert message_for("something_new") == message_for(None) == MESSAGES["failed"]


def test_kiosk_js_has_no_message_table_of_its_own():
    script = KIOSK_JS.read_text()
    copied = [m for m in MESSAGES.values() if m in script]
    assert not copied, copied
    reason_key = re.compile(r"\b(" + "|".join(MESSAGES) + r")\s*:")  # an object literal keyed by reason
    keyed = reason_key.findall(script)
    assert not keyed, keyed
    assert 'getElementById("kiosk-texts")' in script


def test_kiosk_js_only_uses_reasons_of_the_table():
    script = KIOSK_JS.read_text()
    used = set(re.findall(r'reason:\s*"(\w+)"', script)) | set(re.findall(r"MESSAGES\.(\w+)", script))
    assert used and used <= set(MESSAGES), sorted(used - set(MESSAGES))


def test_the_kiosk_page_carries_the_table(client):
    page = client.get("/kiosk?name=lobby")
    assert page.status_code == 200
    found = re.search(r'<script type="application/json" id="kiosk-texts">(.*?)</script>', page.text, re.S)
    assert found and json.loads(found.group(1))["reasons"] == MESSAGES


def test_the_kiosk_page_carries_the_table_in_the_browsers_language(client):
    page = client.get("/kiosk?name=lobby", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in page.text
    found = re.search(r'<script type="application/json" id="kiosk-texts">(.*?)</script>', page.text, re.S)
    texts = json.loads(found.group(1))
    assert texts["lang"] == "de" and texts["locale"] == "de-DE"
    assert texts["reasons"]["no_blink"].startswith("Wir haben kein Blinzeln gesehen")
    assert set(texts["reasons"]) == set(MESSAGES)


def test_a_refused_print_attack_is_told_what_to_change():
    general = message_for("print_attack")
    assert "light" in general and "arm's length" in general
    for key, advice in ADVICE.items():
        told = message_for("print_attack", key)
        assert told.endswith(advice) and "photos and screens are not accepted" in told
    assert message_for("print_attack", "unknown") == general
    assert message_for("no_blink", "dark") == MESSAGES["no_blink"]  # advice is for print attacks only


def test_every_message_says_what_to_do():
    """A failure message says what happened and what the person should do next (issue 15): no bare
    "Please try again" without a hint, no reason without a next step."""
    what_to_do = re.compile(r"\b(please|try again|ask an administrator|wait)\b", re.IGNORECASE)
    for reason, message in MESSAGES.items():
        assert what_to_do.search(message), (reason, message)
        assert message.rstrip().endswith("."), (reason, message)
    for key in ADVICE:
        assert what_to_do.search(message_for("print_attack", key)), key
