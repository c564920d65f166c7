"""The kiosk-login rules that live in services/kiosk_login.py: the kiosk-name rule and the lockout keys."""

from __future__ import annotations

import pytest

from whosthat.errors import BadInputError
from whosthat.services import kiosk_login
from whosthat.services.errors import LockedOutError


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("lobby", "lobby"),
        ("Front door", "Front door"),  # spaces are allowed: kiosks are named after where they stand
        ("  side-2 ", "side-2"),  # surrounding whitespace is dropped
        ("gate_3.b", "gate_3.b"),
        ("bad/name", None),
        ("<script>", None),
        ("tab\there", None),
        ("", None),
        ("x" * 65, None),
    ],
)
def test_kiosk_names_allow_letters_digits_spaces_dots_dashes_underscores(given, name):
    assert kiosk_login.kiosk_name(given) == name


def test_a_bad_kiosk_name_cannot_start_a_challenge(context):
    with pytest.raises(BadInputError, match="kiosk name"):
        kiosk_login.start_challenge(context(), "bad/name")


def test_failed_face_logins_lock_out_the_kiosk_and_the_address(runtime, context):
    at_lobby = context("198.51.100.7")
    for _ in range(runtime.settings.face_login_max_failures):
        assert kiosk_login.locked_out_for(at_lobby, "lobby") == 0
        kiosk_login.record_failure(at_lobby, "lobby", "no_blink")
    assert kiosk_login.locked_out_for(at_lobby, "lobby") > 0
    assert kiosk_login.locked_out_for(at_lobby, "another kiosk") > 0  # same address
    assert kiosk_login.locked_out_for(context("203.0.113.9"), "lobby") > 0  # same kiosk
    assert kiosk_login.locked_out_for(context("203.0.113.9"), "another kiosk") == 0
    with pytest.raises(LockedOutError) as locked:
        kiosk_login.start_challenge(at_lobby, "lobby")
    assert locked.value.retry_after_s > 0
