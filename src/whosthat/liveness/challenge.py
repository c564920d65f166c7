"""Challenge-response liveness, decided on the server: one `ChallengeSession` per kiosk attempt.

The server draws a random sequence of steps (blink, turn left, turn right) with `secrets`, gives the
kiosk a session id, a nonce and an expiry, then consumes the kiosk's camera frames one by one
(`process_frame`, each timed on arrival). It passes only when every step happens, in order, before the
expiry, by one continuous face:

- per frame: MediaPipe face mesh (video mode, one tracker per session) -> eye aspect ratio of both
  eyes, 24x24 eye patches -> eye-state model -> fused closed probability (`liveness.blink`), head yaw
  and pitch from landmark ratios that a moved or rotated flat photo cannot change (`liveness.mesh`);
- blink: open -> closed -> open with a human closed phase, on timestamps (5-30 fps);
- turn left / right: yaw away from the face's own frontal baseline past `turn_deg`, then back;
- one face throughout: the landmark box may not jump between frames, the face may not vanish for
  longer than `face_lost_s`, and embeddings of key frames (start, each step, about once a second)
  must all stay within the embedder's match threshold of the first one (else `face_changed`);
- frame timing: frames arriving much faster than a camera sends them, gaps over `max_gap_s`, or too
  many frames fail with `frame_timing`;
- print-attack detector (when a model is shipped): scored on key frames; `pad_mode` "off" ignores it,
  "warn" records it in `summary()`, "enforce" fails with `print_attack`.

`recognition()` is the FaceResult of the best frontal, eyes-open frame captured during the challenge
(same continuous face); the web route searches the gallery with its embedding.

The HTTP/WebSocket route (web/routes/liveness.py) feeds decoded RGB frames to `process_frame(rgb, now)`
with `now` = the frame's arrival time (time.time()), sends back the returned messages, may call
`poll(now)` between frames to catch stalls and expiry, and on `done` sends the result. Nothing the
client sends can make a session pass except frames that show the steps.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from whosthat.liveness.blink import BlinkDetector, OpenEarBaseline, ear_closed_prob, fuse_closed_prob

log = logging.getLogger("whosthat.liveness")

STEP_KINDS = ("blink", "turn_left", "turn_right")
PROMPTS = {
    "blink": "Blink slowly",
    "turn_left": "Turn your head to the left",
    "turn_right": "Turn your head to the right",
}
FAIL_REASONS = (
    "timeout",
    "face_lost",
    "face_changed",
    "no_blink",
    "no_head_turn",
    "print_attack",
    "frame_timing",
    "multiple_faces",
    "not_recognised",
    "bad_frame",
)


@dataclass
class ChallengeConfig:
    """Tunables, in seconds, degrees and pixels (640x480 frames)."""

    frame_interval_ms: int = 100
    min_face_px: float = 90.0  # mesh box width below which we ask to move closer
    max_face_frac: float = 0.9  # box wider than this fraction of the frame: move back
    frontal_deg: float = 12.0  # |yaw - baseline| within this is frontal
    turn_deg: float = 20.0  # a turn step needs |yaw - baseline| past this, in its direction
    face_lost_s: float = 1.0  # face missing longer than this fails
    multiple_faces_s: float = 1.5
    max_gap_s: float = 2.5  # no frame for longer than this (net of our own processing) fails
    max_fps: float = 40.0  # frames sustained faster than this over rate_window_s: not a webcam
    rate_window_s: float = 2.0
    max_frame_pixels: int = 1280 * 960
    embed_every_s: float = 1.5
    min_embed_frames: int = 2  # embeddings needed (start + end at least) to pass
    jump_frac: float = 0.5  # allowed centre jump per frame, in face widths (+ jump_frac_per_s * dt)
    jump_frac_per_s: float = 1.5
    max_scale_change: float = 1.5  # box width ratio between consecutive frames
    pad_min_samples: int = 3
    guidance_repeat_s: float = 1.5
    settle_s: float = 1.0  # no step completes in the first second of a tracked face: the
    # identity, open-eye level and frontal yaw are measured first


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class ChallengeSession:
    """One kiosk attempt; all decisions are made here. See the module docstring."""

    def __init__(
        self,
        kiosk: str,
        steps: list[str],
        *,
        timeout_s: float,
        pad_mode: str,
        pipeline=None,
        match_threshold: float | None = None,
        config: ChallengeConfig | None = None,
        now: float | None = None,
    ):
        for s in steps:
            if s not in STEP_KINDS:
                raise ValueError(f"unknown liveness step {s!r}; known: {', '.join(STEP_KINDS)}")
        if pad_mode not in ("off", "warn", "enforce"):
            raise ValueError("pad_mode must be off, warn or enforce")
        self.id = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(24)
        self.kiosk = kiosk
        self.steps = list(steps)
        self.created_at = time.time() if now is None else now
        self.expires_at = self.created_at + timeout_s
        self.timeout_s = timeout_s
        self.pad_mode = pad_mode
        self.config = config or ChallengeConfig()
        self._pipeline = pipeline
        # Key frames farther apart than this are two people (the caller resolves it: gallery.threshold).
        self.match_threshold = match_threshold
        self._lock = threading.RLock()

        self.done = False
        self.passed = False
        self.reason: str | None = None
        self.detail = ""  # what exactly failed, for the stored summary and the log
        self.step_index = 0
        self._tracker = None
        self._eyes = None
        self._eyes_loaded = False
        self._pad = None
        self._pad_loaded = False

        self._frames = 0
        self._first_frame_t: float | None = None
        self._last_frame_t: float | None = None
        self._arrivals: deque[float] = deque()
        self._last_proc_s = 0.0  # how long the previous frame took us (it delays the next read)
        self._signal_t = 0.0  # time stamp of the current frame's signals (see _timing_ok)
        self._burst_left = 0
        self._prompted = False

        self._last_box = None
        self._last_face_t: float | None = None
        self._face_seen = False
        self._first_face_t: float | None = None
        self._no_face_since: float | None = None
        self._proc_total_s = 0.0
        self._proc_max_s = 0.0
        self._multi_since: float | None = None
        self._last_guidance: tuple[str, float] | None = None

        self._ear_baseline = OpenEarBaseline()
        self._blink = BlinkDetector()
        self._yaw_history: deque[float] = deque(maxlen=15)
        self._yaw_baseline: float | None = None
        self._turn_reached = False
        self.blinks = 0

        self._embeddings: list[tuple[float, np.ndarray]] = []
        self._last_embed_t: float | None = None
        self._best = None  # (score, FaceResult)
        self._candidate = None  # (score, t, rgb) best frontal frame since the last embedding
        self.max_embedding_distance = 0.0
        self._pad_scores: list[float] = []
        self._completed_at: list[float] = []
        self._last_closed_prob: float | None = None
        self._last_analysis = None

    # ------------------------------------------------------------------ creation and public view
    @classmethod
    def create(
        cls,
        kiosk: str,
        steps: list[str] | None = None,
        *,
        n_steps: int = 2,
        timeout_s: float = 30.0,
        pad_mode: str = "warn",
        pipeline=None,
        match_threshold: float | None = None,
        rng=None,
        step_kinds: tuple[str, ...] = STEP_KINDS,
        config: ChallengeConfig | None = None,
        now: float | None = None,
    ) -> ChallengeSession:
        """A new session; `steps` None draws `n_steps` from `step_kinds` with the server's RNG (secrets)."""
        if steps is None:
            rng = rng or secrets.SystemRandom()
            kinds = [k for k in step_kinds if k in STEP_KINDS]
            if not kinds:
                raise ValueError("no usable liveness step kinds")
            if n_steps < 1:
                raise ValueError("n_steps must be at least 1")
            steps = []
            for _ in range(n_steps):
                # No step twice in a row when there is a choice: a repeat is easier to replay.
                choices = [k for k in kinds if not steps or k != steps[-1]] or kinds
                steps.append(rng.choice(choices))
        return cls(
            kiosk,
            steps,
            timeout_s=timeout_s,
            pad_mode=pad_mode,
            pipeline=pipeline,
            match_threshold=match_threshold,
            config=config,
            now=now,
        )

    def public(self) -> dict:
        return {
            "id": self.id,
            "nonce": self.nonce,
            "steps": list(self.steps),
            "prompts": [PROMPTS[s] for s in self.steps],
            "expires_at": self.expires_at,
            "frame_interval_ms": self.config.frame_interval_ms,
        }

    def check_nonce(self, nonce: str | None) -> bool:
        return bool(nonce) and secrets.compare_digest(str(nonce), self.nonce)

    @property
    def expired(self) -> bool:
        return time.time() > self.expires_at

    # ------------------------------------------------------------------ lazy parts
    def pipeline(self):
        if self._pipeline is None:
            from whosthat.vision.pipeline import get_pipeline

            self._pipeline = get_pipeline()
        return self._pipeline

    def _tracker_(self):
        if self._tracker is None:
            from whosthat.liveness.mesh import FaceMeshTracker

            self._tracker = FaceMeshTracker()
        return self._tracker

    def _eye_model(self):
        if not self._eyes_loaded:
            from whosthat.liveness.eyes import get_eye_classifier

            self._eyes = get_eye_classifier()
            self._eyes_loaded = True
        return self._eyes

    def _pad_model(self):
        if not self._pad_loaded:
            self._pad_loaded = True
            if self.pad_mode != "off":
                from whosthat.liveness.pad import get_pad_detector

                self._pad = get_pad_detector()
        return self._pad

    # ------------------------------------------------------------------ the state machine
    def poll(self, now: float | None = None) -> list[dict]:
        """Between frames: fail on expiry or a stalled stream. Returns messages (none, normally)."""
        with self._lock:
            if self.done:
                return []
            now = time.time() if now is None else now
            self._check_time(now)
            return []

    def process_frame(self, rgb: np.ndarray, now: float | None = None) -> list[dict]:
        """Consume one RGB uint8 frame that arrived at `now` (time.time()); return guidance/prompt/progress."""
        with self._lock:
            if self.done:
                return []
            now = time.time() if now is None else now
            out: list[dict] = []
            if not self._prompted:
                self._prompted = True
                out.append(self._prompt())
            if not self._timing_ok(now):
                return out
            if (
                not isinstance(rgb, np.ndarray)
                or rgb.ndim != 3
                or rgb.shape[2] != 3
                or rgb.dtype != np.uint8
                or rgb.shape[0] * rgb.shape[1] > self.config.max_frame_pixels
                or min(rgb.shape[:2]) < 32
            ):
                self._fail("bad_frame")
                return out
            started = time.perf_counter()
            try:
                self._analyse_frame(rgb, self._signal_t, out)
            finally:
                self._last_proc_s = time.perf_counter() - started
                self._proc_total_s += self._last_proc_s
                self._proc_max_s = max(self._proc_max_s, self._last_proc_s)
                # A slow frame must not carry the session past its expiry unnoticed.
                self._check_time(now + self._last_proc_s)
                if self.done:
                    self._release()
            return out

    def _timing_ok(self, now: float) -> bool:
        """Frame-timing rules on arrival times; sets self._signal_t, the time the frame's signals are stamped with.

        The route reads the socket between frames, so while a frame is being analysed (an embedding takes
        100-300 ms) later frames queue and are then read back to back. Such a catch-up burst is neither a
        fast fake camera nor a human-speed eyelid: gaps are measured net of our own processing time, speed
        is judged over a 2 s window, and burst frames are stamped at the nominal frame interval after the
        previous one (never later than their arrival) so blink durations keep their real length.
        """
        cfg = self.config
        self._check_time(now)
        if self.done:
            return False
        nominal = cfg.frame_interval_ms / 1000.0
        if self._last_frame_t is not None:
            if now < self._last_frame_t:
                self._fail("frame_timing", "time went backwards")
                return False
            self._arrivals.append(now)
            while self._arrivals and now - self._arrivals[0] > cfg.rate_window_s:
                self._arrivals.popleft()
            if (
                now - self._first_frame_t >= cfg.rate_window_s
                and len(self._arrivals) > cfg.max_fps * cfg.rate_window_s
            ):
                self._fail("frame_timing", f"{len(self._arrivals)} frames in {cfg.rate_window_s:g} s")
                return False
            queued = (now - self._last_frame_t) < 0.5 * nominal and self._last_proc_s > 0.5 * nominal
            if queued or self._burst_left > 0:
                if queued:
                    self._burst_left = max(self._burst_left, int(self._last_proc_s / nominal) + 1)
                self._burst_left -= 1
                self._signal_t = max(min(self._signal_t + nominal, now), self._signal_t + 1e-3)
            else:
                self._signal_t = max(now, self._signal_t + 1e-3)
        else:
            self._arrivals.append(now)
            self._first_frame_t = now
            self._signal_t = now
        self._frames += 1
        self._last_frame_t = now
        if self._frames > self.timeout_s * cfg.max_fps + 20:
            self._fail("frame_timing", "too many frames")
            return False
        return True

    def _check_time(self, now: float) -> None:
        if self.done:
            return
        if now > self.expires_at:
            self._fail(self._timeout_reason())
        elif (
            self._last_frame_t is not None
            and now - self._last_frame_t - self._last_proc_s > self.config.max_gap_s
        ):
            self._fail(
                "frame_timing",
                f"no frame for {now - self._last_frame_t:.2f} s "
                f"(our last frame took {self._last_proc_s:.2f} s)",
            )
        if self.done:
            self._release()

    def _timeout_reason(self) -> str:
        if not self._face_seen or self.step_index >= len(self.steps):
            return "timeout"
        return "no_blink" if self.steps[self.step_index] == "blink" else "no_head_turn"

    def _guide(self, out: list[dict], message: str, now: float) -> None:
        last = self._last_guidance
        if last is None or last[0] != message or now - last[1] >= self.config.guidance_repeat_s:
            out.append({"type": "guidance", "message": message})
            self._last_guidance = (message, now)

    def _prompt(self) -> dict:
        step = self.steps[self.step_index]
        return {
            "type": "prompt",
            "step": self.step_index,
            "of": len(self.steps),
            "instruction": PROMPTS[step],
        }

    def _analyse_frame(self, rgb: np.ndarray, now: float, out: list[dict]) -> None:
        cfg = self.config
        analysis = self._tracker_().analyse(rgb)
        self._last_analysis = analysis
        if analysis is None:
            # Lost = frames keep coming without the face for face_lost_s (a pause of the stream itself
            # is the timing rules' business, and the next face must still pass the continuity checks).
            if self._face_seen:
                if self._no_face_since is None:
                    self._no_face_since = now
                elif now - self._no_face_since > cfg.face_lost_s:
                    self._fail("face_lost", f"no face for {now - self._no_face_since:.2f} s")
                    return
            self._guide(out, "No face: look at the camera", now)
            return
        if self._no_face_since is not None and now - self._no_face_since > cfg.face_lost_s:
            self._fail("face_lost", f"no face for {now - self._no_face_since:.2f} s")
            return
        self._no_face_since = None

        # One continuous face: the landmark box may only move as far as a head moves between frames.
        box = analysis.box
        width = max(box[2] - box[0], 1.0)
        if self._last_box is not None:
            dt = now - self._last_face_t
            lb = self._last_box
            lw = max(lb[2] - lb[0], 1.0)
            jump = np.hypot((box[0] + box[2] - lb[0] - lb[2]) / 2, (box[1] + box[3] - lb[1] - lb[3]) / 2)
            allowed = max(width, lw) * (cfg.jump_frac + cfg.jump_frac_per_s * dt)
            scale = max(width / lw, lw / width)
            if jump > allowed or scale > cfg.max_scale_change * (1 + dt):
                self._fail(
                    "face_changed", f"face box jumped {jump:.0f} px / scale x{scale:.2f} in {dt:.2f} s"
                )
                return
        self._last_box = box
        self._last_face_t = now
        if self._first_face_t is None:
            self._first_face_t = now
        self._face_seen = True

        if analysis.n_faces > 1:
            self._multi_since = self._multi_since if self._multi_since is not None else now
            if now - self._multi_since > cfg.multiple_faces_s:
                self._fail("multiple_faces")
                return
            self._guide(out, "One person at a time", now)
            return
        self._multi_since = None

        h, w = rgb.shape[:2]
        if width < cfg.min_face_px:
            self._guide(out, "Move closer", now)
            return
        if (
            width > cfg.max_face_frac * w
            or box[0] < -0.05 * w
            or box[2] > 1.05 * w
            or box[1] < -0.1 * h
            or box[3] > 1.1 * h
        ):
            self._guide(out, "Move back: keep your whole face in the picture", now)
            return

        # Per-frame signals.
        baseline_ear = self._ear_baseline.update(now, analysis.ear)
        p_ear = ear_closed_prob(analysis.ear, baseline_ear)
        eyes = self._eye_model()
        p_model = float(eyes.closed_prob(analysis.eye_patches).mean()) if eyes is not None else None
        closed_prob = fuse_closed_prob(p_ear, p_model)
        self._last_closed_prob = closed_prob
        blink = self._blink.update(now, closed_prob)
        if blink is not None:
            self.blinks += 1

        self._yaw_history.append(analysis.yaw_deg)
        if (
            self._yaw_baseline is None
            and len(self._yaw_history) >= 3
            and now - self._first_face_t >= 0.5 * cfg.settle_s
        ):
            # The face's own frontal yaw (cameras sit off-axis): the median of its first half second.
            self._yaw_baseline = float(np.median(self._yaw_history))
        rel_yaw = analysis.yaw_deg - (
            self._yaw_baseline if self._yaw_baseline is not None else analysis.yaw_deg
        )
        frontal = abs(rel_yaw) <= cfg.frontal_deg
        eyes_open = closed_prob <= self._blink.open_threshold

        # Candidate frame for recognition: frontal, eyes open, big and centred; embedded at key moments.
        if frontal and eyes_open:
            score = -abs(rel_yaw) - abs(analysis.pitch_deg) * 0.5 + min(width, 250) / 10.0
            if self._candidate is None or score > self._candidate[0]:
                self._candidate = (score, now, rgb.copy())

        step = self.steps[self.step_index]
        completed = False
        if step == "blink":
            completed = blink is not None
        else:
            want = 1.0 if step == "turn_left" else -1.0
            if self._yaw_baseline is not None:
                if not self._turn_reached and want * rel_yaw >= cfg.turn_deg:
                    self._turn_reached = True
                    self._guide(out, "Now look back at the camera", now)
                elif self._turn_reached and frontal:
                    completed = True

        if completed and now - self._first_face_t < cfg.settle_s:
            completed = False
            self._turn_reached = False
        if completed:
            # The frame that completed the step is itself checked against the session's face, so a
            # stand-in cannot perform a step between two frames of the enrolled person.
            if (
                self._candidate is not None
                and self._candidate[1] < now
                and self._last_embed_t is not None
                and now - self._last_embed_t >= cfg.embed_every_s
                and not self._embed_candidate(now)
            ):
                return
            score = -abs(rel_yaw) - abs(analysis.pitch_deg) * 0.5 + min(width, 250) / 10.0
            self._candidate = (score, now, rgb.copy())
        key_moment = completed or self._last_embed_t is None or now - self._last_embed_t >= cfg.embed_every_s
        if key_moment and self._candidate is not None:
            if not self._embed_candidate(now):
                return

        if completed:
            self.step_index += 1
            self._turn_reached = False
            self._completed_at.append(now)
            out.append({"type": "progress", "completed": self.step_index, "of": len(self.steps)})
            if self.step_index < len(self.steps):
                out.append(self._prompt())
            else:
                self._finish(now)

    def _embed_candidate(self, now: float) -> bool:
        """Embed the best frame since the last key frame; False when the session failed (face changed)."""
        from whosthat.errors import BadInputError

        score, t, frame = self._candidate
        self._candidate = None
        self._last_embed_t = now
        pipeline = self.pipeline()
        try:
            result = pipeline.embed_single(frame, purpose="login")
        except BadInputError:  # detector disagreed with the mesh on this frame, or face too small: skip it
            return True
        threshold = self.match_threshold
        if threshold is None:
            raise ValueError("a ChallengeSession that embeds faces needs match_threshold")
        for _, emb in self._embeddings:
            d = pipeline.distance(emb, result.embedding)
            self.max_embedding_distance = max(self.max_embedding_distance, d)
            if d > threshold:
                self._fail("face_changed", f"embedding distance {d:.3f} > {threshold:.3f}")
                return False
        self._embeddings.append((t, result.embedding))
        if self._best is None or score >= self._best[0]:
            self._best = (score, result)
        self._score_pad(frame, result)
        if self.pad_mode == "enforce" and self._pad_attack():
            self._fail("print_attack")
            return False
        return True

    def _score_pad(self, frame: np.ndarray, result) -> None:
        pad = self._pad_model()
        if pad is None:
            return
        try:
            self._pad_scores.append(float(pad.attack_prob_box(frame, result.detection.box)))
        except Exception:  # noqa: BLE001 - a PAD hiccup must not crash the session; it is only a signal
            return

    def _pad_attack(self) -> bool:
        pad = self._pad
        if pad is None or len(self._pad_scores) < self.config.pad_min_samples:
            return False
        return float(np.mean(self._pad_scores)) >= pad.threshold

    def _finish(self, now: float) -> None:
        if self._candidate is not None and not self._embed_candidate(now):
            return
        if len(self._embeddings) < self.config.min_embed_frames:
            # Too few usable frames for a consistency check: not enough evidence of one face.
            self._fail("face_lost")
            return
        if (
            self.pad_mode == "enforce"
            and self._pad is not None
            and self._pad_scores
            and float(np.mean(self._pad_scores)) >= self._pad.threshold
        ):
            self._fail("print_attack")
            return
        self.done = True
        self.passed = True
        self.reason = None
        self._release()
        log.info(
            "liveness session %s passed: steps %s, %d frames, max embedding distance %.3f",
            self.id[:8],
            self.steps,
            self._frames,
            self.max_embedding_distance,
        )

    def _fail(self, reason: str, detail: str = "") -> None:
        if self.done:
            return
        self.done = True
        self.passed = False
        self.reason = reason
        self.detail = detail
        self._best = None
        log.warning(
            "liveness session %s failed: %s %s (frames %d, step %d of %s)",
            self.id[:8],
            reason,
            detail,
            self._frames,
            self.step_index,
            self.steps,
        )

    def _release(self) -> None:
        if self._tracker is not None:
            try:
                self._tracker.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            self._tracker = None
        self._candidate = None

    # ------------------------------------------------------------------ outcome
    def recognition(self):
        """FaceResult of the best frontal frame captured during a passed challenge, else None."""
        with self._lock:
            if not (self.done and self.passed) or self._best is None:
                return None
            return self._best[1]

    @property
    def pad_score(self) -> float | None:
        return float(np.mean(self._pad_scores)) if self._pad_scores else None

    def summary(self) -> dict:
        """Stored with the attendance event: outcome, reason, steps and the evidence behind them."""
        with self._lock:
            duration = (self._last_frame_t - self._first_frame_t) if self._first_frame_t is not None else 0.0
            pad = self._pad
            pad_score = self.pad_score
            return {
                "passed": self.passed,
                "reason": self.reason,
                "detail": self.detail,
                "steps": list(self.steps),
                "completed": self.step_index,
                "kiosk": self.kiosk,
                "frames": self._frames,
                "duration_s": round(duration, 3),
                "fps": round((self._frames - 1) / duration, 2) if duration > 0 else None,
                "blinks": self.blinks,
                "processing_ms": {
                    "mean": round(1000 * self._proc_total_s / max(self._frames, 1), 1),
                    "max": round(1000 * self._proc_max_s, 1),
                },
                "embeddings": len(self._embeddings),
                "max_embedding_distance": round(self.max_embedding_distance, 4),
                "pad_mode": self.pad_mode,
                "pad_score": round(pad_score, 4) if pad_score is not None else None,
                "pad_threshold": pad.threshold if pad is not None else None,
                "pad_flag": bool(pad is not None and pad_score is not None and pad_score >= pad.threshold),
                "model": self._best[1].model if self._best is not None else None,
            }


class ChallengeStore:
    """In-memory sessions by id; expired ones are dropped on access. Thread-safe; one per process."""

    def __init__(self, max_sessions: int = 1000, grace_s: float = 5.0):
        self._sessions: dict[str, ChallengeSession] = {}
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        self.grace_s = grace_s

    def create(self, kiosk: str, steps: list[str] | None = None, **kwargs) -> ChallengeSession:
        """Like ChallengeSession.create; unspecified n_steps/timeout_s/pad_mode come from the settings."""
        from whosthat.config import get_settings

        s = get_settings()
        kwargs.setdefault("n_steps", s.liveness_steps)
        kwargs.setdefault("timeout_s", s.liveness_timeout_s)
        kwargs.setdefault("pad_mode", s.pad_mode)
        kinds = getattr(s, "liveness_step_kinds", None)
        if kinds and "step_kinds" not in kwargs:
            kwargs["step_kinds"] = tuple(k.strip() for k in str(kinds).split(",") if k.strip())
        session = ChallengeSession.create(kiosk, steps, **kwargs)
        with self._lock:
            self._purge(time.time())
            if len(self._sessions) >= self.max_sessions:
                oldest = min(self._sessions.values(), key=lambda x: x.created_at)
                self._sessions.pop(oldest.id, None)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> ChallengeSession | None:
        with self._lock:
            self._purge(time.time())
            return self._sessions.get(session_id)

    def discard(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            with session._lock:
                session._release()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _purge(self, now: float) -> None:
        for sid in [sid for sid, s in self._sessions.items() if now > s.expires_at + self.grace_s]:
            session = self._sessions.pop(sid)
            session._release()
