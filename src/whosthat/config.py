"""Settings from WHOSTHAT_* environment variables, in one place.

Every part of the app reads its configuration through `get_settings()`; tests override it by
setting environment variables and calling `get_settings.cache_clear()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

StepKind = Literal["blink", "turn_left", "turn_right"]


def _known_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin)") from e
    return value


class KioskSettings(BaseModel):
    """One kiosk's own settings (`WHOSTHAT_KIOSKS`, a JSON object keyed by kiosk name)."""

    model_config = ConfigDict(extra="forbid")

    # The liveness steps this kiosk always asks for, in order (instead of the adaptive challenge).
    steps: list[StepKind] | None = Field(default=None, min_length=1, max_length=4)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WHOSTHAT_", extra="ignore")

    # Where all state lives: database, key file, caches, uploads.
    home: Path = Field(default=Path("var"))
    # Research datasets (LFW, CEW eye patches, NUAA); optional.
    data: Path | None = None
    # SQLAlchemy URL; default is a SQLite file under `home`.
    database_url: str | None = None
    # Key for AES-GCM template encryption (base64, 32 bytes). Default: a 0600 key file under `home`.
    secret_key: str | None = None

    # Face pipeline.
    detector: Literal["auto", "auto-unrefined", "auto-upsample", "mediapipe", "hog"] = "auto"
    # The embedder by zoo name (`whosthat models`): dlib fused with SFace on YuNet's crop, the one with the
    # fewest misses on the tune parts of LFW, NUAA and CelebA at a false-match rate of 1e-5 on each (so a
    # stranger matches nobody in a gallery of 1,000 people about 99% of the time; the margin refuses
    # more): docs/benchmarks.md#recognition-across-populations. Changing it: `whosthat reembed --to NAME`.
    embedder: str = "dlib+sface-yunet"
    # Mirror test-time augmentation: average the descriptors of the chip and its mirror image. It costs
    # a second forward pass (about 12 ms under onnxruntime) and was chosen on LFW View 1; see
    # docs/benchmarks.md. Changing it (or the detector) keeps existing templates usable, but re-enrolling
    # gives the best match scores.
    flip_tta: bool = True
    # Override the embedder's calibrated match threshold (distance; lower = stricter).
    match_threshold: float | None = None
    # Override the embedder's 1:N margin: how much farther the second-best person must be than the best
    # one (distance; higher = stricter; gallery.threshold.match_margin).
    match_margin: float | None = None
    # Decoding limits.
    max_image_pixels: int = 25_000_000
    max_upload_bytes: int = 10 * 1024 * 1024
    # Face work on uploads (decode + detect + embed): at most face_workers at once (0: one per CPU core),
    # face_queue more wait up to face_queue_wait_s; beyond that a request gets 503 with Retry-After.
    face_workers: int = 0
    face_queue: int = 16
    face_queue_wait_s: float = 30.0
    # glibc malloc arenas of the server process (0: glibc's default, 8 per core). Each request thread
    # that decodes a large photo otherwise keeps its own arena's peak: `whosthat bench uploads` measured
    # 1.3 GB after a few rounds of 4 concurrent 25 MP uploads with the default, see docs/reliability.md.
    malloc_arenas: int = 2

    # Face search (gallery/index.py): keep the in-memory matrix in float16 (half the memory), and the
    # gallery size from which search is approximate (FAISS IVF; 0: always exact). The default is where
    # exact search stops meeting the latency target (docs/benchmarks.md#search-at-scale).
    gallery_float16: bool = False
    gallery_ann_min: int = 50_000

    # Lockouts, rate limits and kiosk liveness sessions: "memory" (this process), "database" (shared
    # by every replica of the database) or "auto" (shared on PostgreSQL, memory on SQLite).
    shared_state: Literal["auto", "memory", "database"] = "auto"

    # Enrollment and storage.
    keep_chips: bool = True
    # Retention (services/retention.py), run by the server every retention_every_s and by
    # `whosthat retention run`: attendance older than this many months is deleted (0: kept), and the
    # face chips of people inactive for this many days (0: kept).
    retention_attendance_months: int = Field(default=0, ge=0, le=1200)
    retention_inactive_chip_days: int = Field(default=0, ge=0, le=100_000)
    retention_every_s: float = Field(default=86_400.0, ge=60.0)
    # The repeat window: a clocking less than this many seconds after the person's last event (from any
    # kiosk or source: face, PIN, API) records nothing, so walking past a second kiosk does not clock the
    # person out; the login still opens their page. 0: no window. Corrections are not limited.
    clock_repeat_s: float = Field(default=90.0, ge=0.0, le=3600.0)
    # IANA time zone for attendance days and worked hours (events are stored in UTC).
    timezone: str = "UTC"
    # The pages' language when neither the kiosk, the person's choice nor the browser names one of
    # en, de, it, fr (docs/languages.md).
    default_language: str = "en"
    # Per-kiosk settings, e.g. '{"lobby": {"steps": ["blink", "turn_left"]}}' (a kiosk's time zone is
    # its own, set when it is created: `whosthat kiosk create NAME --timezone Europe/Berlin`).
    kiosks: dict[str, KioskSettings] = Field(default_factory=dict)

    # Liveness. "adaptive": one blink, and a head turn after it only when the print-attack evidence is
    # unsure (liveness.challenge.turn_needed); "random": `liveness_steps` steps drawn from the kinds.
    liveness_challenge: Literal["adaptive", "random"] = "adaptive"
    liveness_steps: int = 2
    liveness_timeout_s: float = 30.0
    # Comma-separated step kinds the server may ask for (liveness.challenge.STEP_KINDS).
    liveness_step_kinds: str = "blink,turn_left,turn_right"
    # Print attacks: "enforce" refuses a challenge whose frames look like a printed photo, "warn" only
    # records the score with the attendance event, "off" does not run the detector (docs/models.md).
    pad_mode: Literal["off", "warn", "enforce"] = "enforce"
    # The liveness models, by zoo name (`whosthat models`): eye state and print-attack detection
    # (pad-minifasnet: chosen by `whosthat eval pad`; pad-nuaa-cnn: the project's NUAA-trained CNN).
    eye_model: str = "eye-state-cnn"
    pad_model: str = "pad-minifasnet"

    # Security.
    session_https_only: bool = False
    face_login_max_failures: int = 5
    face_login_lockout_s: int = 300
    password_max_failures: int = 5
    password_lockout_s: int = 900

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        from whosthat.i18n import LANGUAGES, normalise

        lang = normalise(value)
        if lang is None or lang != value.strip().lower():
            raise ValueError(f"default_language must be one of {', '.join(LANGUAGES)}")
        return lang

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    def kiosk(self, name: str) -> KioskSettings:
        """The settings of kiosk `name` (empty ones when it has none of its own)."""
        return self.kiosks.get(name) or KioskSettings()

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'whosthat.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
