"""HeadTurnDetector: a turn is yaw past turn_deg from the face's own frontal baseline, in the asked
direction, and back to frontal; nothing counts before the baseline is measured."""

from __future__ import annotations

from whosthat.liveness.challenge import ChallengeConfig
from whosthat.liveness.head_turn import HeadTurnDetector

CFG = ChallengeConfig()
FPS = 10


def detector() -> HeadTurnDetector:
    return HeadTurnDetector(
        frontal_deg=CFG.frontal_deg, turn_deg=CFG.turn_deg, baseline_after_s=0.5 * CFG.settle_s
    )


def feed(det: HeadTurnDetector, yaws: list[float], step: str, start_s: float = 0.0) -> list[str | None]:
    events = []
    for i, yaw in enumerate(yaws):
        det.observe(yaw, start_s + i / FPS)
        events.append(det.update(step))
    return events


def test_turn_left_from_an_off_axis_camera_is_reached_then_done():
    det = detector()
    off_axis = 8.0  # the camera sits to one side: this face's frontal yaw
    assert feed(det, [off_axis] * 10, "turn_left") == [None] * 10
    assert det.baseline_deg == off_axis and det.frontal
    events = feed(
        det, [off_axis + 10, off_axis + CFG.turn_deg + 5, off_axis + 15, off_axis + 2], "turn_left", 1.0
    )
    assert events == [None, "reached", None, "done"]


def test_a_turn_the_wrong_way_never_counts():
    det = detector()
    feed(det, [0.0] * 10, "turn_right")
    assert feed(det, [30.0, 30.0, 0.0, 0.0], "turn_right", 1.0) == [None] * 4


def test_no_turn_before_the_baseline_is_measured():
    det = detector()
    # Large yaws in the face's first half second: every frame is its own frontal, nothing is reached.
    assert feed(det, [0.0, 30.0, 0.0, 30.0], "turn_left") == [None] * 4
    assert det.baseline_deg is None and det.relative_yaw_deg == 0.0 and det.frontal


def test_reset_starts_the_turn_over():
    det = detector()
    feed(det, [0.0] * 10, "turn_left")
    assert feed(det, [25.0], "turn_left", 1.0) == ["reached"]
    det.reset()
    assert feed(det, [0.0], "turn_left", 1.1) == [None]  # back at frontal, but the turn was reset
