"""The per-process state every request and command shares: settings, database, cipher, gallery,
rate limiters, metrics, the liveness challenge store, and the (lazily loaded) face pipeline.

`Runtime.from_settings()` builds one; `create_app()` keeps it in `app.state.runtime`, the command
line builds its own; each service call gets it through its `Context`. Loading the face pipeline
(dlib, MediaPipe) happens on first use, not here.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from whosthat.config import Settings, get_settings
from whosthat.gallery import Gallery, match_margin, match_threshold
from whosthat.services.limits import (
    FailureLimiter,
    RateLimiter,
    SharedFailureLimiter,
    SharedRateLimiter,
    WorkPool,
)
from whosthat.services.metrics import Metrics
from whosthat.store.crypto import TemplateCipher, load_or_create_key
from whosthat.store.db import Database, open_database

if TYPE_CHECKING:
    from whosthat.vision.pipeline import FacePipeline


class Runtime:
    def __init__(self, settings: Settings, database: Database, cipher: TemplateCipher):
        self.settings = settings
        self.database = database
        self.cipher = cipher
        self.gallery = Gallery(
            cipher, float16=settings.gallery_float16, ann_min=settings.gallery_ann_min or None
        )
        self.warming: threading.Event | None = None  # set while start-up loading runs (see warm_up)
        self.warm_error: str | None = None
        self.metrics = Metrics()
        # Lockouts, rate limits and liveness sessions: in this process's memory, or in the database
        # every replica shares (settings.shared_state; "auto": shared on PostgreSQL).
        self.shared_state = settings.shared_state == "database" or (
            settings.shared_state == "auto" and database.engine.dialect.name == "postgresql"
        )
        if self.shared_state:
            failures = lambda name, n, s: SharedFailureLimiter(database, name, n, s)  # noqa: E731
            self.session_limiter = SharedRateLimiter(database, "sessions", limit=30, window_s=60.0)
        else:
            failures = lambda name, n, s: FailureLimiter(n, s)  # noqa: E731
            self.session_limiter = RateLimiter(limit=30, window_s=60.0)
        # Face logins: failures per kiosk and per address lock that kiosk/address out for a while.
        self.face_limiter = failures("face", settings.face_login_max_failures, settings.face_login_lockout_s)
        # Passwords: per (username, address), plus a wider per-address bound against password spraying.
        self.password_limiter = failures(
            "password", settings.password_max_failures, settings.password_lockout_s
        )
        self.password_address_limiter = failures(
            "password_address", settings.password_max_failures * 4, settings.password_lockout_s
        )
        # Liveness sessions started per address and per kiosk name: session_limiter above.
        # Uploads' decoding and face analysis: a bounded pool (a flood queues, then gets 503).
        self.face_pool = WorkPool(
            settings.face_workers or os.cpu_count() or 1,
            settings.face_queue,
            settings.face_queue_wait_s,
            metrics=self.metrics,
        )
        # The kiosk's "is a face in view?" checks (about one a second while it waits), per address: in
        # this process's memory even with shared state (a database write a second per kiosk is not
        # worth it; behind N replicas the bound is N times this).
        self.presence_limiter = RateLimiter(limit=150, window_s=60.0)
        self._pipelines: dict[str | None, FacePipeline] = {}
        self._lock = threading.Lock()
        self._challenges = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        cipher = TemplateCipher(load_or_create_key(settings.secret_key, settings.home))
        return cls(settings, open_database(settings), cipher)

    # Face pipeline ---------------------------------------------------------------------------------
    def pipeline(self, embedder: str | None = None) -> FacePipeline:
        """The cached face pipeline for `embedder` (default: settings.embedder)."""
        with self._lock:
            if embedder not in self._pipelines:
                from whosthat.vision.pipeline import get_pipeline

                self._pipelines[embedder] = get_pipeline(embedder=embedder) if embedder else get_pipeline()
            return self._pipelines[embedder]

    def pipeline_loaded(self) -> bool:
        return bool(self._pipelines)

    def threshold(self, pipeline=None) -> float:
        """The match threshold of `pipeline`'s embedder (default pipeline when None); see gallery.threshold."""
        return match_threshold((pipeline or self.pipeline()).embedder, self.settings)

    def operating_point(self) -> tuple[float, float]:
        """(threshold, margin) of the configured embedder, without loading the face pipeline (the
        attendance pages flag weak matches with it)."""
        from whosthat.vision.embedders import get_embedder

        embedder = get_embedder(self.settings.embedder, flip=self.settings.flip_tta)
        return match_threshold(embedder, self.settings), match_margin(embedder, self.settings)

    def margin(self, pipeline=None) -> float:
        """The 1:N open-set margin of `pipeline`'s embedder (default pipeline when None); see gallery.threshold."""
        return match_margin((pipeline or self.pipeline()).embedder, self.settings)

    # Liveness --------------------------------------------------------------------------------------
    def challenges(self):
        """The in-process liveness ChallengeStore, or None when whosthat.liveness.challenge is absent."""
        with self._lock:
            if self._challenges is None:
                try:
                    from whosthat.liveness.challenge import ChallengeStore
                except ImportError:
                    return None
                if self.shared_state:
                    from whosthat.services.challenges import SharedChallengeStore

                    self._challenges = SharedChallengeStore(
                        self.database,
                        lambda: {"pipeline": self.pipeline(), "match_threshold": self.threshold()},
                    )
                else:
                    self._challenges = ChallengeStore()
            return self._challenges

    # Start-up -------------------------------------------------------------------------------------
    def warm_up(self) -> threading.Thread:
        """Load and decrypt the configured embedder's gallery (and build its approximate index), then
        the face pipeline, in a background thread; /readyz answers 503 until it is done."""
        self.warming = threading.Event()

        def run() -> None:
            try:
                with self.database.session() as db:
                    self.gallery.index(db, self.settings.embedder)
                self.pipeline()
            except Exception as exc:  # reported by /readyz; requests load lazily as before
                self.warm_error = f"{type(exc).__name__}: {exc}"
            finally:
                self.warming.set()

        thread = threading.Thread(target=run, name="whosthat-warm-up", daemon=True)
        thread.start()
        return thread

    def warming_up(self) -> bool:
        return self.warming is not None and not self.warming.is_set()

    def close(self) -> None:
        """At shutdown: the WAL is checkpointed into the database (SQLite), then the pool closed."""
        try:
            self.database.checkpoint()
        finally:
            self.database.dispose()
