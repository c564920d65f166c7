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


def test_a_kiosk_with_its_own_steps_asks_for_them_others_start_with_a_blink(runtime, context):
    from whosthat.config import KioskSettings

    runtime.settings.kiosks["lobby"] = KioskSettings(steps=["turn_right", "blink"])
    lobby = kiosk_login.start_challenge(context("198.51.100.20"), "lobby")
    assert lobby.steps == ["turn_right", "blink"] and not lobby.adaptive_turns
    other = kiosk_login.start_challenge(context("198.51.100.21"), "side door")
    assert other.steps == ["blink"] and other.adaptive_turns  # the adaptive default


def test_kiosk_settings_refuse_unknown_steps(monkeypatch):
    from pydantic import ValidationError

    from whosthat.config import KioskSettings, Settings

    assert KioskSettings(steps=["blink"]).steps == ["blink"]
    with pytest.raises(ValidationError):
        KioskSettings(steps=["smile"])
    with pytest.raises(ValidationError):
        KioskSettings(steps=[])
    with pytest.raises(ValidationError):
        KioskSettings(timezone="Europe/Rome")  # a kiosk's zone is its own record's (whosthat kiosk create)
    monkeypatch.setenv("WHOSTHAT_KIOSKS", '{"lobby": {"steps": ["turn_left"]}}')
    assert Settings().kiosk("lobby").steps == ["turn_left"] and Settings().kiosk("other").steps is None
    monkeypatch.setenv("WHOSTHAT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="time zone"):
        Settings()


def test_the_kiosk_clock_zone_is_the_kiosks_own_else_the_sites(context):
    from whosthat.services import kiosks

    ctx = context()
    kiosks.create_kiosk(ctx, name="Berlin gate", timezone="Europe/Berlin")
    assert kiosk_login.kiosk_timezone(ctx, "Berlin gate") == "Europe/Berlin"
    assert kiosk_login.kiosk_timezone(ctx, "not created") == str(ctx.tz)
