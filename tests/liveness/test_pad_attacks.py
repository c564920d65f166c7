"""Print attacks that the blink / head-turn challenge alone lets through, stopped by the print-attack detector
fused over the challenge's frames; a live person still passes. Real NUAA frames (tests/liveness/
nuaa_sequences.py says how each sequence is built), fed to ChallengeSession at 10 fps on a clock.

Each attack is first run with pad_mode "off" to show what the challenge alone does with it, then with the
default, "enforce": the reason must be print_attack.
"""

from __future__ import annotations

import pytest

from whosthat.liveness.challenge import ChallengeSession

from . import nuaa_sequences as seq
from .liveness_frames import default_match_threshold, drive


@pytest.fixture(scope="module")
def pipeline():
    from whosthat.vision.pipeline import get_pipeline

    return get_pipeline()


@pytest.fixture(scope="module")
def photo(nuaa):
    return seq.print_frame(nuaa)


def run(frames, steps, pad_mode, pipeline, timeout_s=10.0) -> ChallengeSession:
    session = ChallengeSession.create(
        "k",
        steps=steps,
        timeout_s=timeout_s,
        pad_mode=pad_mode,
        pipeline=pipeline,
        match_threshold=default_match_threshold(),
    )
    drive(session, seq.looping(frames))
    return session


def test_the_default_pad_mode_is_enforce():
    from whosthat.config import Settings

    assert Settings().pad_mode == "enforce"
    assert ChallengeSession.create("k", match_threshold=0.5).pad_mode == "enforce"


def test_a_live_nuaa_sequence_passes_with_print_attacks_enforced(nuaa, pipeline):
    session = run(seq.live_video(nuaa), ["blink"], "enforce", pipeline)
    summary = session.summary()
    assert session.passed, (session.reason, session.detail, summary)
    assert summary["pad_frames"] >= 3 and summary["pad_score"] < summary["pad_threshold"]
    assert summary["pad_model"] == "pad-minifasnet"


def test_a_tilted_print_fakes_a_head_turn_but_fails_as_a_print_attack(photo, pipeline):
    video = seq.tilted_print_video(photo)
    alone = run(video, ["turn_left"], "off", pipeline)
    assert alone.passed, (alone.reason, alone.detail)  # the head-turn check alone is fooled
    enforced = run(video, ["turn_left"], "enforce", pipeline)
    assert not enforced.passed and enforced.reason == "print_attack", (enforced.reason, enforced.detail)


def test_a_print_slideshow_fakes_a_blink_but_fails_as_a_print_attack(nuaa, photo, pipeline):
    video = seq.print_blink_video(photo, seq.closed_eye_frame(seq.live_frames(nuaa)))
    alone = run(video, ["blink"], "off", pipeline, timeout_s=8.0)
    assert alone.passed, (alone.reason, alone.detail)  # the blink check alone is fooled
    enforced = run(video, ["blink"], "enforce", pipeline, timeout_s=8.0)
    assert not enforced.passed and enforced.reason == "print_attack", (enforced.reason, enforced.detail)


def test_a_print_held_still_fails_as_a_print_attack_before_the_timeout(photo, pipeline):
    alone = run([photo], ["blink"], "off", pipeline, timeout_s=6.0)
    assert alone.reason == "no_blink"  # only when time runs out
    enforced = run([photo], ["blink"], "enforce", pipeline, timeout_s=6.0)
    assert enforced.reason == "print_attack"
    summary = enforced.summary()
    assert summary["duration_s"] < 3.0 and summary["pad_flag"] and summary["pad_frames"] >= 5


def test_warn_records_the_print_attack_without_failing(photo, pipeline):
    session = run(seq.tilted_print_video(photo), ["turn_left"], "warn", pipeline)
    summary = session.summary()
    assert session.passed and summary["pad_flag"] and summary["pad_score"] >= summary["pad_threshold"]
