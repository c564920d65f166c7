"""One continuous face: presence, the box between frames, and the identity of key frames."""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.liveness.challenge import ChallengeConfig
from whosthat.liveness.continuity import BoxContinuity, FacePresence, KeyFrameIdentity

CFG = ChallengeConfig()


def test_a_face_missing_for_longer_than_face_lost_s_is_lost():
    p = FacePresence(face_lost_s=CFG.face_lost_s)
    assert p.absent(100.0) is None  # nobody seen yet: nothing to lose
    assert p.present(100.1) is None and p.seen and p.first_seen_t == 100.1
    assert p.absent(100.2) is None and p.absent(100.2 + CFG.face_lost_s) is None
    assert p.absent(100.3 + CFG.face_lost_s).startswith("no face for")


def test_a_face_back_too_late_is_lost_and_back_in_time_is_not():
    p = FacePresence(face_lost_s=CFG.face_lost_s)
    p.present(100.0)
    p.absent(100.1)
    assert p.present(100.1 + CFG.face_lost_s / 2) is None
    p.absent(102.0)
    assert p.present(102.0 + CFG.face_lost_s + 0.1).startswith("no face for")
    assert p.age_s(103.0) == pytest.approx(3.0)


def boxes() -> BoxContinuity:
    return BoxContinuity(
        jump_frac=CFG.jump_frac, jump_frac_per_s=CFG.jump_frac_per_s, max_scale_change=CFG.max_scale_change
    )


def test_a_head_moving_between_frames_keeps_its_box():
    b = boxes()
    for i in range(20):
        x = 200 + 5 * i  # 50 px per second sideways, 200 px wide face
        assert b.follow((x, 100, x + 200, 320), 100 + i / 10) is None


def test_a_box_that_jumps_or_grows_at_once_is_another_face():
    b = boxes()
    assert b.follow((100, 100, 300, 320), 100.0) is None
    assert "jumped" in b.follow((300, 100, 500, 320), 100.1)  # one face width in 0.1 s
    b = boxes()
    b.follow((200, 150, 300, 260), 100.0)
    assert "scale" in b.follow((150, 100, 350, 320), 100.1)  # twice as wide in 0.1 s


def test_more_movement_is_allowed_after_a_longer_gap():
    b = boxes()
    b.follow((100, 100, 300, 320), 100.0)
    assert b.follow((300, 100, 500, 320), 101.0) is None  # the same jump, one second later


def euclidean(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def test_key_frames_of_two_people_are_a_changed_face():
    ids = KeyFrameIdentity(match_threshold=0.5)
    same = np.array([1.0, 0.0, 0.0])
    assert ids.add(0.0, same, euclidean) is None
    assert ids.add(1.0, same + [0.0, 0.3, 0.0], euclidean) is None
    assert ids.max_distance == pytest.approx(0.3) and len(ids) == 2
    other = np.array([0.0, 1.0, 0.0])
    assert ids.add(2.0, other, euclidean) == "embedding distance 1.414 > 0.500"
    assert len(ids) == 2  # the stranger's frame is not kept


def test_each_key_frame_is_compared_with_every_earlier_one():
    ids = KeyFrameIdentity(match_threshold=0.5)
    ids.add(0.0, np.array([0.0, 0.0]), euclidean)
    ids.add(1.0, np.array([0.4, 0.0]), euclidean)
    # Within 0.5 of the previous frame but 0.8 from the first: drifting to another face fails.
    assert ids.add(2.0, np.array([0.8, 0.0]), euclidean).startswith("embedding distance 0.800")


def test_embedding_without_a_match_threshold_is_a_programming_error():
    with pytest.raises(ValueError, match="match_threshold"):
        KeyFrameIdentity(match_threshold=None).add(0.0, np.zeros(3), euclidean)
