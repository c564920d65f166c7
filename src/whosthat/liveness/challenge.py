"""Challenge-response liveness, decided on the server: one `ChallengeSession` per kiosk attempt.

The server draws a random sequence of steps (blink, turn left, turn right) with `secrets`, gives the
kiosk a session id, a nonce and an expiry, then consumes the kiosk's camera frames one by one
(`process_frame`, each timed on arrival). It passes only when every step happens, in order, before the
expiry, by one continuous face. This module is the state machine; each rule has its own home:

- frame timing (webcam speed, gaps, catch-up bursts, the time each frame is stamped with):
  `liveness.timing`; what a frame must be: `liveness.frame`;
- per frame: MediaPipe face mesh (video mode, one tracker per session) -> eye aspect ratio of both
  eyes, 24x24 eye patches -> eye-state model -> fused closed probability, and head yaw and pitch from
  landmark ratios that a moved or rotated flat photo cannot change (`liveness.mesh`);
- blink: open -> closed -> open with a human closed phase, on timestamps (`liveness.blink`);
- turn left / right: yaw past `turn_deg` from the face's own frontal baseline, then back
  (`liveness.head_turn`);
- one face throughout (`liveness.continuity`): the face may not vanish for longer than `face_lost_s`,
  its box may not jump between frames, and the embeddings of key frames (start, each step, about once
  every `embed_every_s`) must all stay within the match threshold of each other (else `face_changed`);
- the frame recognised: the best frontal, eyes-open key frame (`liveness.best_frame`);
- print attacks: the detector's score of frames sampled through the challenge (about three a second,
  on the frame's own face-mesh box), fused by their mean (`liveness.pad_fusion`); `pad_mode` "off"
  ignores it, "warn" records it in `summary()`, "enforce" (the default) fails with `print_attack`;
- what each failure reason tells the person: `liveness.outcomes`.

`recognition()` is the FaceResult of the best frontal, eyes-open frame captured during the challenge
(same continuous face); the web route searches the gallery with its embedding.

The HTTP/WebSocket route (web/api/liveness.py) feeds decoded RGB frames to `process_frame(rgb, now)`
with `now` = the frame's arrival time (time.time()), sends back the returned messages, may call
`poll(now)` between frames to catch stalls and expiry, and on `done` sends the result. Nothing the
client sends can make a session pass except frames that show the steps.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass

import numpy as np

from whosthat.i18n import N_
from whosthat.liveness.best_frame import BestFrame, frame_score
from whosthat.liveness.blink import BlinkDetector, OpenEarBaseline, ear_closed_prob, fuse_closed_prob
from whosthat.liveness.continuity import BoxContinuity, FacePresence, KeyFrameIdentity
from whosthat.liveness.frame import usable_frame
from whosthat.liveness.head_turn import HeadTurnDetector
from whosthat.liveness.pad_fusion import FusedPadScore
from whosthat.liveness.timing import FrameTiming

log = logging.getLogger("whosthat.liveness")

STEP_KINDS = ("blink", "turn_left", "turn_right")
TURN_KINDS = ("turn_left", "turn_right")
# Directions are in the person's own frame: turn_left is *their* left (liveness.head_turn), which on the
# kiosk's mirrored preview is the screen's left too (kiosk.js draws the arrow that way).
PROMPTS = {
    "blink": N_("Blink slowly"),
    "turn_left": N_("Turn your head to your left"),
    "turn_right": N_("Turn your head to your right"),
}
# What the kiosk is told while it streams (a guidance message's `code` and English `message`; the
# kiosk page shows the code's text in its own language).
GUIDANCE = {
    "no_face": N_("No face: look at the camera"),
    "one_person": N_("One person at a time"),
    "closer": N_("Move closer"),
    "back": N_("Move back: keep your whole face in the picture"),
    "look_back": N_("Now look back at the camera"),
}


@dataclass
class ChallengeConfig:
    """Tunables, in seconds, degrees and pixels (640x480 frames)."""

    frame_interval_ms: int = 100  # what the kiosk is told to send
    min_face_px: float = 90.0  # mesh box width below which we ask to move closer
    max_face_frac: float = 0.9  # box wider than this fraction of the frame: move back
    frontal_deg: float = 12.0  # |yaw - baseline| within this is frontal
    turn_deg: float = 20.0  # a turn step needs |yaw - baseline| past this, in its direction
    face_lost_s: float = 1.0  # face missing longer than this fails
    multiple_faces_s: float = 1.5
    max_gap_s: float = 2.5  # no frame for longer than this (net of our own processing) fails
    max_fps: float = 40.0  # frames sustained faster than this over rate_window_s: not a webcam
    rate_window_s: float = 2.0
    embed_every_s: float = 1.5
    min_embed_frames: int = 2  # embeddings needed (start + end at least) to pass
    jump_frac: float = 0.5  # allowed centre jump per frame, in face widths (+ jump_frac_per_s * dt)
    jump_frac_per_s: float = 1.5
    max_scale_change: float = 1.5  # box width ratio between consecutive frames
    pad_every_s: float = 0.3  # one frame scored for print attacks per this many seconds
    pad_min_samples: int = 5  # frames scored before an enforced print attack fails the challenge early
    guidance_repeat_s: float = 1.5
    settle_s: float = 1.0  # no step completes in the first second of a tracked face: the
    # identity, open-eye level and frontal yaw are measured first (the yaw in its first half)
    # Adaptive challenges: after the blink, a turn is asked for only when the print-attack evidence is
    # unsure (turn_needed): mean attack probability at or above this fraction of the threshold.
    pad_unsure_frac: float = 0.5


def turn_needed(
    pad_mode: str, scores: list[float], threshold: float | None, *, min_samples: int, unsure_frac: float
) -> bool:
    """Whether an adaptive challenge should add a head turn after its blink: the liveness signals are
    unsure. They are unless the print-attack detector ran (`pad_mode` not "off"), scored at least
    `min_samples` frames, and their mean attack probability stayed below `unsure_frac` of its threshold."""
    if pad_mode == "off" or threshold is None or len(scores) < min_samples:
        return True
    return float(np.mean(scores)) >= unsure_frac * threshold


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
        adaptive_turns: tuple[str, ...] = (),
    ):
        for s in (*steps, *adaptive_turns):
            if s not in STEP_KINDS:
                raise ValueError(f"unknown liveness step {s!r}; known: {', '.join(STEP_KINDS)}")
        self.config = cfg = config or ChallengeConfig()
        self._pad = FusedPadScore(pad_mode, min_samples=cfg.pad_min_samples, every_s=cfg.pad_every_s)
        self.id = secrets.token_urlsafe(16)
        self.nonce: str | None = secrets.token_urlsafe(24)
        self.nonce_hash: str | None = None
        self.kiosk = kiosk
        self.steps = list(steps)
        self.created_at = time.time() if now is None else now
        self.expires_at = self.created_at + timeout_s
        self.timeout_s = timeout_s
        self.pad_mode = pad_mode
        self._pipeline = pipeline
        self._lock = threading.RLock()
        # Adaptive: the turns one of which is added after the last step when turn_needed(); empty: the
        # steps are fixed. `adapted` says whether a turn was added.
        self.adaptive_turns = tuple(adaptive_turns)
        self.adapted = False
        self._rng = secrets.SystemRandom()

        self.done = False
        self.passed = False
        self.reason: str | None = None
        self.detail = ""  # what exactly failed, for the stored summary and the log
        self.step_index = 0
        self.blinks = 0
        self._tracker = None
        self._eyes = None
        self._prompted = False
        self._multi_since: float | None = None
        self._last_guidance: tuple[str, float] | None = None
        self._last_embed_t: float | None = None  # time of the last key frame

        self._timing = FrameTiming(
            frame_interval_s=cfg.frame_interval_ms / 1000.0,
            max_gap_s=cfg.max_gap_s,
            max_fps=cfg.max_fps,
            rate_window_s=cfg.rate_window_s,
            max_frames=timeout_s * cfg.max_fps + 20,
        )
        self._presence = FacePresence(face_lost_s=cfg.face_lost_s)
        self._box = BoxContinuity(
            jump_frac=cfg.jump_frac,
            jump_frac_per_s=cfg.jump_frac_per_s,
            max_scale_change=cfg.max_scale_change,
        )
        # Key frames farther apart than this are two people (the caller resolves it: gallery.threshold).
        self._identity = KeyFrameIdentity(match_threshold)
        self._ear_baseline = OpenEarBaseline()
        self._blink = BlinkDetector()
        self._head = HeadTurnDetector(
            frontal_deg=cfg.frontal_deg, turn_deg=cfg.turn_deg, baseline_after_s=0.5 * cfg.settle_s
        )
        self._best_frame = BestFrame()

    # ------------------------------------------------------------------ creation and public view
    @classmethod
    def create(
        cls,
        kiosk: str,
        steps: list[str] | None = None,
        *,
        n_steps: int = 2,
        timeout_s: float = 30.0,
        pad_mode: str = "enforce",
        pipeline=None,
        match_threshold: float | None = None,
        rng=None,
        step_kinds: tuple[str, ...] = STEP_KINDS,
        config: ChallengeConfig | None = None,
        now: float | None = None,
        adaptive: bool = False,
    ) -> ChallengeSession:
        """A new session; `steps` None draws `n_steps` from `step_kinds` with the server's RNG (secrets).

        `adaptive` (with `steps` None and "blink" among `step_kinds`): the challenge starts with the step
        most people do easily, one blink, and adds one head turn (of the turns in `step_kinds`) after it
        only when the liveness signals are unsure (`turn_needed`)."""
        adaptive_turns: tuple[str, ...] = ()
        if steps is None and adaptive and "blink" in step_kinds:
            steps = ["blink"]
            adaptive_turns = tuple(k for k in step_kinds if k in TURN_KINDS)
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
            adaptive_turns=adaptive_turns,
        )

    def public(self) -> dict:
        """The kiosk's view: the steps so far (an adaptive session may add a turn: `adaptive`), their
        prompts, the expiry (server clock) and the time allowed (`timeout_s`, for the kiosk's countdown)."""
        return {
            "id": self.id,
            "nonce": self.nonce,
            "steps": list(self.steps),
            "prompts": [PROMPTS[s] for s in self.steps],
            "expires_at": self.expires_at,
            "timeout_s": self.timeout_s,
            "adaptive": bool(self.adaptive_turns),
            "frame_interval_ms": self.config.frame_interval_ms,
        }

    def check_nonce(self, nonce: str | None) -> bool:
        if not nonce:
            return False
        if self.nonce is None:  # restored from the shared store, which keeps only the nonce's hash
            digest = hashlib.sha256(str(nonce).encode()).hexdigest()
            return self.nonce_hash is not None and secrets.compare_digest(digest, self.nonce_hash)
        return secrets.compare_digest(str(nonce), self.nonce)

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
        if self._eyes is None:
            from whosthat.liveness.eyes import get_eye_classifier

            self._eyes = get_eye_classifier()
        return self._eyes

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
            if not self._frame_arrived(now):
                return out
            if not usable_frame(rgb):
                self._fail("bad_frame")
                return out
            started = time.perf_counter()
            try:
                self._analyse_frame(rgb, self._timing.signal_t, out)
            finally:
                took_s = time.perf_counter() - started
                self._timing.processed(took_s)
                # A slow frame must not carry the session past its expiry unnoticed.
                self._check_time(now + took_s)
                if self.done:
                    self._release()
            return out

    def _frame_arrived(self, now: float) -> bool:
        """Expiry, stalls and the frame-timing rules at the frame's arrival; False when the session ended."""
        self._check_time(now)
        if self.done:
            return False
        problem = self._timing.arrive(now)
        if problem is not None:
            self._fail("frame_timing", problem)
            return False
        return True

    def _check_time(self, now: float) -> None:
        if self.done:
            return
        if now > self.expires_at:
            self._fail(self._timeout_reason())
        else:
            stall = self._timing.stalled(now)
            if stall is not None:
                self._fail("frame_timing", stall)
        if self.done:
            self._release()

    def _timeout_reason(self) -> str:
        if not self._presence.seen or self.step_index >= len(self.steps):
            return "timeout"
        return "no_blink" if self.steps[self.step_index] == "blink" else "no_head_turn"

    def _guide(self, out: list[dict], code: str, now: float) -> None:
        last = self._last_guidance
        if last is None or last[0] != code or now - last[1] >= self.config.guidance_repeat_s:
            out.append({"type": "guidance", "code": code, "message": GUIDANCE[code]})
            self._last_guidance = (code, now)

    def _prompt(self) -> dict:
        step = self.steps[self.step_index]
        return {
            "type": "prompt",
            "step": self.step_index,
            "of": len(self.steps),
            "kind": step,
            "instruction": PROMPTS[step],
        }

    def _analyse_frame(self, rgb: np.ndarray, now: float, out: list[dict]) -> None:
        cfg = self.config
        analysis = self._tracker_().analyse(rgb)
        if analysis is None:
            lost = self._presence.absent(now)
            if lost is not None:
                self._fail("face_lost", lost)
                return
            self._guide(out, "no_face", now)
            return
        lost = self._presence.present(now)
        if lost is not None:
            self._fail("face_lost", lost)
            return
        box = analysis.box
        jumped = self._box.follow(box, now)
        if jumped is not None:
            self._fail("face_changed", jumped)
            return

        if analysis.n_faces > 1:
            self._multi_since = self._multi_since if self._multi_since is not None else now
            if now - self._multi_since > cfg.multiple_faces_s:
                self._fail("multiple_faces")
                return
            self._guide(out, "one_person", now)
            return
        self._multi_since = None

        h, w = rgb.shape[:2]
        width = max(box[2] - box[0], 1.0)
        if width < cfg.min_face_px:
            self._guide(out, "closer", now)
            return
        if (
            width > cfg.max_face_frac * w
            or box[0] < -0.05 * w
            or box[2] > 1.05 * w
            or box[1] < -0.1 * h
            or box[3] > 1.1 * h
        ):
            self._guide(out, "back", now)
            return

        # Per-frame signals.
        if self._pad.due(now):
            self._pad.add(rgb, box, now)
            if self._pad.fails(final=False):
                self._fail(
                    "print_attack",
                    f"mean attack probability {self._pad.mean:.3f} on {len(self._pad.scores)} frames",
                )
                return
        closed_prob = self._closed_prob(analysis, now)
        blink = self._blink.update(now, closed_prob)
        if blink is not None:
            self.blinks += 1
        face_age_s = self._presence.age_s(now)
        rel_yaw = self._head.observe(analysis.yaw_deg, face_age_s)
        score = frame_score(rel_yaw, analysis.pitch_deg, width)
        eyes_open = closed_prob <= self._blink.open_threshold
        if self._head.frontal and eyes_open:
            # Candidate frame for recognition; embedded at key moments.
            self._best_frame.offer(score, now, rgb)

        step = self.steps[self.step_index]
        completed = False
        if step == "blink":
            completed = blink is not None
        else:
            turn = self._head.update(step)
            if turn == "reached":
                self._guide(out, "look_back", now)
            completed = turn == "done"

        if completed and face_age_s < cfg.settle_s:
            completed = False
            self._head.reset()
        if completed:
            # The frame that completed the step is itself checked against the session's face, so a
            # stand-in cannot perform a step between two frames of the enrolled person.
            candidate = self._best_frame.candidate
            if (
                candidate is not None
                and candidate.t < now
                and self._last_embed_t is not None
                and now - self._last_embed_t >= cfg.embed_every_s
                and not self._embed_candidate(now)
            ):
                return
            self._best_frame.replace(score, now, rgb)
        key_moment = completed or self._last_embed_t is None or now - self._last_embed_t >= cfg.embed_every_s
        if key_moment and self._best_frame.candidate is not None:
            if not self._embed_candidate(now):
                return

        if completed:
            self.step_index += 1
            self._head.reset()
            if self.step_index == len(self.steps) and self._adapt():
                log.info(
                    "liveness session %s: unsure after %s, adding %s",
                    self.id[:8],
                    self.steps[:-1],
                    self.steps[-1],
                )
            out.append({"type": "progress", "completed": self.step_index, "of": len(self.steps)})
            if self.step_index < len(self.steps):
                out.append(self._prompt())
            else:
                self._finish(now)

    def _adapt(self) -> bool:
        """After the last step of an adaptive session: add one turn when the signals are unsure."""
        if not self.adaptive_turns or self.adapted:
            return False
        cfg = self.config
        if not turn_needed(
            self.pad_mode,
            self._pad.scores,
            self._pad.threshold,
            min_samples=cfg.pad_min_samples,
            unsure_frac=cfg.pad_unsure_frac,
        ):
            return False
        self.adapted = True
        self.steps.append(self._rng.choice(self.adaptive_turns))
        return True

    def _closed_prob(self, analysis, now: float) -> float:
        """This frame's eye-closed probability: the EAR against the face's open level, fused with the model."""
        p_ear = ear_closed_prob(analysis.ear, self._ear_baseline.update(now, analysis.ear))
        p_model = float(self._eye_model().closed_prob(analysis.eye_patches).mean())
        return fuse_closed_prob(p_ear, p_model)

    def _embed_candidate(self, now: float) -> bool:
        """Embed the best frame since the last key frame; False when the session failed (face changed)."""
        from whosthat.errors import BadInputError

        candidate = self._best_frame.take()
        self._last_embed_t = now
        pipeline = self.pipeline()
        try:
            result = pipeline.embed_single(candidate.rgb, purpose="login")
        except BadInputError:  # detector disagreed with the mesh on this frame, or face too small: skip it
            return True
        changed = self._identity.add(candidate.t, result.embedding, pipeline.distance)
        if changed is not None:
            self._fail("face_changed", changed)
            return False
        self._best_frame.embedded(candidate.score, result)
        return True

    def _finish(self, now: float) -> None:
        if self._best_frame.candidate is not None and not self._embed_candidate(now):
            return
        if len(self._identity) < self.config.min_embed_frames:
            # Too few usable frames for a consistency check: not enough evidence of one face.
            self._fail("face_lost")
            return
        if self._pad.fails(final=True):
            self._fail(
                "print_attack",
                f"mean attack probability {self._pad.mean:.3f} on {len(self._pad.scores)} frames",
            )
            return
        self.done = True
        self.passed = True
        self.reason = None
        self._release()
        log.info(
            "liveness session %s passed: steps %s, %d frames, max embedding distance %.3f",
            self.id[:8],
            self.steps,
            self._timing.frames,
            self._identity.max_distance,
        )

    def _fail(self, reason: str, detail: str = "") -> None:
        """End the session failed; `reason` is one of liveness.outcomes.MESSAGES."""
        if self.done:
            return
        self.done = True
        self.passed = False
        self.reason = reason
        self.detail = detail
        self._best_frame.forget()
        log.warning(
            "liveness session %s failed: %s %s (frames %d, step %d of %s)",
            self.id[:8],
            reason,
            detail,
            self._timing.frames,
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
        self._best_frame.candidate = None

    # ------------------------------------------------------------------ outcome
    def recognition(self):
        """FaceResult of the best frontal frame captured during a passed challenge, else None."""
        with self._lock:
            if not (self.done and self.passed):
                return None
            return self._best_frame.recognised

    @property
    def pad_score(self) -> float | None:
        """Mean print-attack probability of the frames scored so far (None: none scored)."""
        return self._pad.mean

    def summary(self) -> dict:
        """Stored with the attendance event: outcome, reason, steps and the evidence behind them."""
        with self._lock:
            timing = self._timing
            duration = timing.duration_s
            pad_score = self._pad.mean
            best = self._best_frame.recognised
            return {
                "passed": self.passed,
                "reason": self.reason,
                "detail": self.detail,
                "steps": list(self.steps),
                "adapted": self.adapted,
                "completed": self.step_index,
                "kiosk": self.kiosk,
                "frames": timing.frames,
                "duration_s": round(duration, 3),
                "fps": round((timing.frames - 1) / duration, 2) if duration > 0 else None,
                "blinks": self.blinks,
                "processing_ms": {
                    "mean": round(1000 * timing.total_processing_s / max(timing.frames, 1), 1),
                    "max": round(1000 * timing.max_processing_s, 1),
                },
                "embeddings": len(self._identity),
                "max_embedding_distance": round(self._identity.max_distance, 4),
                "pad_mode": self.pad_mode,
                "pad_score": round(pad_score, 4) if pad_score is not None else None,
                "pad_threshold": self._pad.threshold,
                "pad_flag": self._pad.flagged,
                "pad_frames": len(self._pad.scores),
                "pad_model": self._pad.model,
                "pad_advice": self._pad.advice() if self._pad.flagged else None,
                "model": best.model if best is not None else None,
            }


class ChallengeStore:
    """In-memory sessions by id; expired ones are dropped on access. Thread-safe; one per process."""

    def __init__(self, max_sessions: int = 1000, grace_s: float = 5.0):
        self._sessions: dict[str, ChallengeSession] = {}
        self._claimed: set[str] = set()
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
        kwargs.setdefault("adaptive", getattr(s, "liveness_challenge", "random") == "adaptive")
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

    def claim(self, session_id: str) -> bool:
        """True for the first WebSocket that takes the session: a session is run once only."""
        with self._lock:
            if session_id in self._claimed or session_id not in self._sessions:
                return False
            self._claimed.add(session_id)
            if len(self._claimed) > 4 * self.max_sessions:
                self._claimed.intersection_update(self._sessions)
            return True

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
