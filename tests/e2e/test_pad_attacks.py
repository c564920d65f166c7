# ruff: noqa: F811 - test arguments named after the imported `playwright_instance` fixture
"""Print attacks end to end: the real app with its default print-attack setting (WHOSTHAT_PAD_MODE is not
set, so it is `enforce`), the real kiosk page in headless Chromium, a fake webcam playing real NUAA frames.

The .y4m files are written here, at test time, from NUAA's frames (tests/liveness/nuaa_sequences.py says
how each sequence is built; nothing is committed). NUAA subject 0009 is enrolled through the JSON API from
two of their live frames of session 01. The kiosk sees:

- their live frames of session 02 (they blink): must pass, welcome them and clock them in;
- a print of them tilted back and forth in front of the camera, faking a head turn (the server asks for
  one turn to the left): must fail with print_attack;
- a slideshow faking a blink (the print, a closed-eye picture of them, the print): must fail with
  print_attack;
- the print held still: must fail with print_attack.

Each failure must be stored with its reason on the attempt's audit record (face_login.failed), with the
print-attack evidence (mean score, threshold, frames scored), and nobody may be clocked in by it.
tests/liveness/test_pad_attacks.py shows, without a browser, that the tilted print and the slideshow pass
the challenge when the print-attack detector is off.
"""

from __future__ import annotations

import os
import re

import pytest
from test_app_kiosk import (
    CHROMIUM,
    Server,
    api_items,
    create_api_key,
    enrol,
    kiosk_attempt,
    playwright_instance,  # noqa: F401 - the web-UI engineer's browser fixture
    write_y4m,
)
from tests.liveness import nuaa_sequences as seq

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium "
        "(`apt-get install -y chromium`; `make test` installs it)",
    ),
]

FPS = 10
SERVER_ENV = {
    "WHOSTHAT_LIVENESS_STEPS": "1",
    "WHOSTHAT_LIVENESS_TIMEOUT_S": "20",
    "WHOSTHAT_FACE_LOGIN_MAX_FAILURES": "50",
}


def _server(tmp_path_factory, name: str, kinds: str):
    assert "WHOSTHAT_PAD_MODE" not in os.environ, "these tests check the default print-attack mode"
    return Server(tmp_path_factory.mktemp(name), {**SERVER_ENV, "WHOSTHAT_LIVENESS_STEP_KINDS": kinds})


@pytest.fixture(scope="module")
def blink_server(tmp_path_factory):
    srv = _server(tmp_path_factory, "e2e-pad-blink", "blink")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory):
    srv = _server(tmp_path_factory, "e2e-pad-turn", "turn_left")
    yield srv
    srv.stop()


def enrol_subject(server, nuaa) -> str:
    """Subject 0009 enrolled through the API; returns an API key that may also read attendance and audit."""
    key = create_api_key(server, "people:write,people:read,attendance:read,audit:read")
    enrol(
        server,
        key,
        {"employee_code": "NUAA-9", "name": "Nine", "surname": "Nuaa"},
        seq.enrolment_photos(nuaa),
    )
    return key


@pytest.fixture(scope="module")
def blink_key(blink_server, nuaa) -> str:
    return enrol_subject(blink_server, nuaa)


@pytest.fixture(scope="module")
def turn_key(turn_server, nuaa) -> str:
    return enrol_subject(turn_server, nuaa)


def run_kiosk(playwright_instance, server, video, kiosk: str, prompt: str) -> tuple[str | None, str]:
    return kiosk_attempt(playwright_instance, server, video, kiosk, prompt, f"pad-{kiosk}")


def assert_refused_as_print(server, key: str, kiosk: str, reason: str | None, text: str) -> None:
    assert reason == "print_attack", (reason, text, server.log()[-3000:])
    assert "photos and screens are not accepted" in text, text
    failures = [
        e
        for e in api_items(server, key, "/api/v1/audit?action=face_login.failed")
        if e["actor"] == f"kiosk:{kiosk}"
    ]
    assert len(failures) == 1, failures
    detail = failures[0]["detail"]
    assert detail["reason"] == "print_attack" and detail["pad_model"] == "pad-minifasnet"
    assert detail["pad_score"] >= detail["pad_threshold"] and detail["pad_frames"] >= 5
    assert kiosk not in [e.get("kiosk") for e in api_items(server, key, "/api/v1/attendance")]


def test_a_live_person_passes_with_print_attacks_enforced_by_default(
    blink_server, blink_key, nuaa, playwright_instance, tmp_path
):
    video = write_y4m(tmp_path / "live.y4m", seq.live_video(nuaa, FPS), fps=FPS)
    reason, text = run_kiosk(playwright_instance, blink_server, video, "live-door", "Blink")
    assert reason in (None, "", "null"), (reason, text, blink_server.log()[-3000:])
    assert re.match(r"Welcome, Nine: clocked in at \d\d:\d\d", text), (text, blink_server.log()[-3000:])
    events = api_items(blink_server, blink_key, "/api/v1/attendance")
    assert [e.get("kiosk") for e in events].count("live-door") == 1
    liveness = next(e for e in events if e.get("kiosk") == "live-door").get("liveness") or {}
    if liveness:  # the summary stored with the event, where the API shows it
        assert liveness["pad_mode"] == "enforce" and not liveness["pad_flag"]


def test_a_tilted_print_faking_a_head_turn_is_refused(
    turn_server, turn_key, nuaa, playwright_instance, tmp_path
):
    video = write_y4m(tmp_path / "tilt.y4m", seq.tilted_print_video(seq.print_frame(nuaa), FPS), fps=FPS)
    reason, text = run_kiosk(playwright_instance, turn_server, video, "tilt-door", "left")
    assert_refused_as_print(turn_server, turn_key, "tilt-door", reason, text)


def test_a_print_slideshow_faking_a_blink_is_refused(
    blink_server, blink_key, nuaa, playwright_instance, tmp_path
):
    closed = seq.closed_eye_frame(seq.live_frames(nuaa))
    video = write_y4m(
        tmp_path / "slides.y4m", seq.print_blink_video(seq.print_frame(nuaa), closed, FPS), fps=FPS
    )
    reason, text = run_kiosk(playwright_instance, blink_server, video, "slides-door", "Blink")
    assert_refused_as_print(blink_server, blink_key, "slides-door", reason, text)


def test_a_print_held_still_is_refused(blink_server, blink_key, nuaa, playwright_instance, tmp_path):
    video = write_y4m(tmp_path / "still.y4m", seq.hold(seq.print_frame(nuaa), 1.0, FPS), fps=FPS)
    reason, text = run_kiosk(playwright_instance, blink_server, video, "still-door", "Blink")
    assert_refused_as_print(blink_server, blink_key, "still-door", reason, text)
