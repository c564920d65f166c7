"""Frame timing on arrival times: a webcam passes, a fast or stalled stream does not, catch-up bursts
keep their real spacing."""

from __future__ import annotations

from whosthat.liveness.challenge import ChallengeConfig
from whosthat.liveness.timing import FrameTiming


def timing(max_frames: float = 10_000) -> FrameTiming:
    cfg = ChallengeConfig()
    return FrameTiming(
        frame_interval_s=cfg.frame_interval_ms / 1000,
        max_gap_s=cfg.max_gap_s,
        max_fps=cfg.max_fps,
        rate_window_s=cfg.rate_window_s,
        max_frames=max_frames,
    )


def test_a_webcam_at_10_fps_is_stamped_on_arrival():
    t = timing()
    for i in range(50):
        assert t.arrive(100 + i / 10) is None
        assert t.signal_t == 100 + i / 10
        t.processed(0.02)
    assert t.frames == 50 and abs(t.duration_s - 4.9) < 1e-9
    assert t.stalled(100 + 4.9 + 1.0) is None


def test_frames_sustained_faster_than_a_camera_fail():
    t = timing()
    problems = [t.arrive(100 + i / 100) for i in range(300)]
    first = next(i for i, p in enumerate(problems) if p is not None)
    assert first / 100 >= t.rate_window_s  # judged over the whole window, not on one short gap
    assert problems[first].endswith(f"frames in {t.rate_window_s:g} s")


def test_time_going_backwards_fails():
    t = timing()
    assert t.arrive(100.0) is None and t.arrive(100.1) is None
    assert t.arrive(100.05) == "time went backwards"


def test_a_stall_is_measured_net_of_our_own_processing():
    t = timing()
    t.arrive(100.0)
    t.processed(1.0)  # e.g. the first frame loads the face mesh
    assert t.stalled(100.0 + t.max_gap_s + 0.9) is None
    assert t.stalled(100.0 + t.max_gap_s + 1.1).startswith("no frame for")


def test_a_burst_after_a_slow_frame_is_stamped_at_most_a_frame_interval_apart():
    """A frame that arrives right behind one we spent 0.35 s on starts a catch-up burst of
    int(0.35 s / 0.1 s) + 1 = 4 frames, stamped one frame interval after the previous stamp (or at their
    arrival when that is earlier): the wait behind our own work is not time the eyes were closed."""
    t = timing()
    t.arrive(100.0)
    t.processed(0.35)
    stamps = []
    for arrival in (100.01, 100.4, 100.6, 100.8, 101.0):
        assert t.arrive(arrival) is None
        stamps.append(round(t.signal_t, 3))
        t.processed(0.01)
    assert stamps == [100.01, 100.11, 100.21, 100.31, 101.0]  # the last one is after the burst


def test_more_frames_than_a_session_can_need_fail():
    t = timing(max_frames=5)
    assert all(t.arrive(100 + i / 10) is None for i in range(5))
    assert t.arrive(100.5) == "too many frames"
