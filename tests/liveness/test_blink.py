"""Blink logic on closed-probability sequences sampled at several frame rates.

The sequences are a physical eyelid model (open, a closed phase of a given length, open again)
sampled at the frame times a camera of the given rate would deliver, with jitter: the detector must
find the same blinks whatever the rate, and reject closures that are too short or too long.
"""

from __future__ import annotations

import random

import pytest

from whosthat.liveness.blink import BlinkDetector, OpenEarBaseline, ear_closed_prob, fuse_closed_prob


def eyelid(t: float, close_at: float, closed_for: float) -> float:
    """Closed probability of an eye that closes at `close_at` for `closed_for` seconds (60 ms lid travel)."""
    travel = 0.06
    if t < close_at - travel or t > close_at + closed_for + travel:
        return 0.05
    if t < close_at:
        return 0.05 + 0.9 * (t - (close_at - travel)) / travel
    if t <= close_at + closed_for:
        return 0.95
    return 0.95 - 0.9 * (t - close_at - closed_for) / travel


def run(
    fps: float,
    closed_for: float,
    *,
    duration: float = 3.0,
    close_at: float = 1.2,
    jitter: float = 0.1,
    seed: int = 0,
    phase: float = 0.0,
) -> tuple[list, BlinkDetector]:
    rng = random.Random(seed)
    det = BlinkDetector()
    events = []
    t = phase
    while t < duration:
        ev = det.update(t, eyelid(t, close_at, closed_for))
        if ev:
            events.append(ev)
        t += (1.0 / fps) * (1 + rng.uniform(-jitter, jitter))
    return events, det


@pytest.mark.parametrize("fps", [5, 8, 10, 15, 24, 30])
@pytest.mark.parametrize("closed_for", [0.15, 0.25, 0.4])
def test_human_blink_is_found_once_at_any_frame_rate(fps, closed_for):
    # At 5 fps a frame must land inside the closed phase; 0.15 s + lid travel at 5 fps can fall
    # between frames, so sample several phases and require most of them to see it.
    found = [len(run(fps, closed_for, phase=p / 7.0 / fps, seed=p)[0]) for p in range(7)]
    assert all(n <= 1 for n in found)
    needed = 7 if closed_for >= 0.25 or fps >= 10 else 4
    assert sum(found) >= needed, f"{fps} fps, {closed_for}s closed: found in {sum(found)}/7 phases"


@pytest.mark.parametrize("fps", [5, 10, 30])
def test_eyes_closed_far_too_long_is_not_a_blink(fps):
    events, det = run(fps, 1.5, duration=4.0)
    assert events == []
    assert "closed_too_long" in det.rejected


@pytest.mark.parametrize("fps", [24, 30])  # at 15 fps one closed frame may be a real 100 ms blink
def test_single_frame_glitch_is_not_a_blink(fps):
    det = BlinkDetector()
    events = []
    for i in range(int(2 * fps)):
        t = i / fps
        p = 0.95 if i == fps else 0.05  # one frame reads closed, its neighbours clearly open
        if (ev := det.update(t, p)) is not None:
            events.append(ev)
    assert events == []
    assert det.rejected == ["too_short"]


def test_photo_with_closed_eyes_never_blinks():
    det = BlinkDetector()
    assert all(det.update(i / 10, 0.95) is None for i in range(50))


def test_static_open_eyes_never_blink():
    det = BlinkDetector()
    assert all(det.update(i / 10, 0.05 + 0.02 * (i % 3)) is None for i in range(100))


def test_stream_gap_resets_state():
    det = BlinkDetector()
    det.update(0.0, 0.05)
    det.update(0.1, 0.95)
    # 2 s without frames: the closure before the gap cannot be trusted
    assert det.update(2.1, 0.05) is None
    assert det.state == "open"


def test_two_blinks_counted_separately():
    det = BlinkDetector()
    events = []
    for i in range(60):
        t = i / 20
        p = max(eyelid(t, 0.6, 0.2), eyelid(t, 2.0, 0.2))
        if (ev := det.update(t, p)) is not None:
            events.append(ev)
    assert len(events) == 2
    assert all(0.1 <= ev.closed_max_s and ev.closed_min_s <= 0.7 for ev in events)


def test_ear_probability_is_relative_to_the_faces_open_level():
    assert ear_closed_prob(0.30, 0.30) < 0.01
    assert ear_closed_prob(0.10, 0.30) > 0.9
    # a narrow-eyed person (open EAR 0.2) at 0.2 is open, not half closed
    assert ear_closed_prob(0.20, 0.20) < 0.01
    assert fuse_closed_prob(0.0, None) == 0.0
    assert 0.0 < fuse_closed_prob(0.0, 1.0) < 1.0


def test_open_baseline_ignores_brief_closures():
    base = OpenEarBaseline(window_s=4.0)
    for i in range(40):
        base.update(i / 10, 0.10 if 20 <= i < 23 else 0.30)
    assert abs(base.value - 0.30) < 1e-6
