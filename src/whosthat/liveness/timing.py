"""Frame timing of a challenge's camera stream: is it a webcam at human speed, and when was each frame?

All times are seconds on the server's clock (time.time()), taken when a frame *arrives*. A webcam sends
5-30 frames per second; a stream that sends frames much faster, stops for longer than `max_gap_s`, goes
back in time or sends more frames than a session can need is not one, and the challenge fails with
`frame_timing`.

The route reads the socket between frames, so while a frame is being analysed (an embedding takes
100-300 ms) later frames queue and are then read back to back. Such a catch-up burst is neither a fast
fake camera nor a human-speed eyelid: gaps are measured net of the server's own processing time, speed
is judged over a window of `rate_window_s`, and burst frames are stamped at the nominal frame interval
after the previous one (never later than their arrival), so blink durations keep their real length.
"""

from __future__ import annotations

from collections import deque


class FrameTiming:
    """Feed each frame's arrival time to `arrive`; `signal_t` is then the time its signals are stamped with.

    `arrive(now)` and `stalled(now)` return a one-line reason when the stream breaks the timing rules
    (the challenge then fails with `frame_timing`), else None. `processed(seconds)` records how long
    the server took on the frame just counted: that time delays the next read, so it is not a gap.
    """

    def __init__(
        self,
        *,
        frame_interval_s: float,
        max_gap_s: float,
        max_fps: float,
        rate_window_s: float,
        max_frames: float,
    ):
        self.frame_interval_s = frame_interval_s  # what the kiosk was told to send
        self.max_gap_s = max_gap_s
        self.max_fps = max_fps  # sustained over rate_window_s
        self.rate_window_s = rate_window_s
        self.max_frames = max_frames  # in the whole session

        self.frames = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.signal_t = 0.0
        self.last_processing_s = 0.0
        self.total_processing_s = 0.0
        self.max_processing_s = 0.0
        self._arrivals: deque[float] = deque()
        self._burst_left = 0  # frames still to read from the current catch-up burst

    def arrive(self, now: float) -> str | None:
        """Count a frame that arrived at `now` (seconds); why the stream is not a webcam's, else None."""
        nominal = self.frame_interval_s
        if self.last_t is not None:
            if now < self.last_t:
                return "time went backwards"
            self._arrivals.append(now)
            while self._arrivals and now - self._arrivals[0] > self.rate_window_s:
                self._arrivals.popleft()
            if (
                now - self.first_t >= self.rate_window_s
                and len(self._arrivals) > self.max_fps * self.rate_window_s
            ):
                return f"{len(self._arrivals)} frames in {self.rate_window_s:g} s"
            queued = (now - self.last_t) < 0.5 * nominal and self.last_processing_s > 0.5 * nominal
            if queued or self._burst_left > 0:
                if queued:
                    self._burst_left = max(self._burst_left, int(self.last_processing_s / nominal) + 1)
                self._burst_left -= 1
                self.signal_t = max(min(self.signal_t + nominal, now), self.signal_t + 1e-3)
            else:
                self.signal_t = max(now, self.signal_t + 1e-3)
        else:
            self._arrivals.append(now)
            self.first_t = now
            self.signal_t = now
        self.frames += 1
        self.last_t = now
        if self.frames > self.max_frames:
            return "too many frames"
        return None

    def processed(self, seconds: float) -> None:
        """The server spent `seconds` on the frame just counted."""
        self.last_processing_s = seconds
        self.total_processing_s += seconds
        self.max_processing_s = max(self.max_processing_s, seconds)

    def stalled(self, now: float) -> str | None:
        """Why the stream counts as stopped at `now` (no frame for max_gap_s, net of our processing), else None."""
        if self.last_t is None or now - self.last_t - self.last_processing_s <= self.max_gap_s:
            return None
        return f"no frame for {now - self.last_t:.2f} s (our last frame took {self.last_processing_s:.2f} s)"

    @property
    def duration_s(self) -> float:
        """Seconds from the first frame to the last one."""
        return (self.last_t - self.first_t) if self.first_t is not None else 0.0
