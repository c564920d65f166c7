"""Recognition of an uploaded image: 1:N identify against the gallery, 1:1 verify against one person;
and the threshold calibration on the enrolled gallery. No liveness check here: these serve
integrations, not logging people in (that is kiosk_login)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from whosthat.errors import BadInputError
from whosthat.gallery.calibrate import MIN_CALIBRATION_PEOPLE, Calibration, calibrate_far
from whosthat.gallery.threshold import is_match
from whosthat.i18n import M_
from whosthat.services import people
from whosthat.services.common import Context, decode_upload, face_box
from whosthat.services.errors import ValidationError
from whosthat.services.metrics import RECOGNITIONS
from whosthat.store import repositories as repo
from whosthat.store.models import Person


@dataclass
class IdentifyResult:
    """1:N result. person is None when nobody is recognised; `reason` then says why: "not_recognised"
    (the nearest person is beyond the threshold, or nobody is enrolled) or "ambiguous" (within the
    threshold but the second-best person is less than `margin_required` farther away)."""

    person: Person | None
    distance: float | None
    threshold: float
    model: str
    box: list[float]
    reason: str | None = None
    margin: float | None = None  # how far the second-best person is behind the nearest (None: only one)
    margin_required: float = 0.0
    server_ms: float = 0.0

    def to_dict(self) -> dict:
        match = None
        if self.person is not None:
            match = {
                "person_id": self.person.id,
                "employee_code": self.person.employee_code,
                "name": self.person.name,
                "surname": self.person.surname,
                "distance": round(float(self.distance), 4),
            }
        return {
            "match": match,
            "reason": self.reason,
            "threshold": round(self.threshold, 4),
            "margin": None if self.margin is None else round(float(self.margin), 4),
            "margin_required": round(self.margin_required, 4),
            "model": self.model,
            "face": {"box": self.box},
        }


@dataclass
class Verification:
    """1:1 result: is the face this person? distance: to their closest template (Euclidean)."""

    person_id: int
    same: bool
    distance: float
    threshold: float
    model: str

    def to_dict(self) -> dict:
        return asdict(self)


def _embed(ctx: Context, image: bytes | np.ndarray, kind: str):
    """(the one face of the upload, the pipeline), under the face-work pool; bad input is counted as
    a recognition outcome (its error code) and raised."""
    rt = ctx.runtime
    try:
        with rt.face_pool.slot():  # bounded: a flood queues, then gets 503
            rgb = decode_upload(ctx, image)
            pipeline = rt.pipeline()
            return pipeline.embed_single(rgb, purpose="login"), pipeline
    except BadInputError as exc:
        rt.metrics.inc(*RECOGNITIONS, kind=kind, outcome=exc.code)
        raise


def identify(ctx: Context, image: bytes | np.ndarray) -> IdentifyResult:
    """1:N: the enrolled person whose best template is nearest, if within the threshold and clear of
    the second-best person by the margin (`Gallery.identify`, the one 1:N rule).

    Raises NoFaceError / MultipleFacesError / QualityError (face too small) / ImageError.
    """
    t0 = time.perf_counter()
    rt = ctx.runtime
    face, pipeline = _embed(ctx, image, "identify")
    threshold, margin = rt.threshold(pipeline), rt.margin(pipeline)
    found = rt.gallery.identify(ctx.db, face.model, face.embedding, threshold, margin)
    match = found.match
    person = repo.people.get(ctx.db, match.person_id) if match else None
    result = IdentifyResult(
        person,
        match.distance if match else None,
        threshold,
        face.model,
        face_box(face.detection),
        reason=found.reason,
        margin=found.margin,
        margin_required=margin,
    )
    result.server_ms = (time.perf_counter() - t0) * 1000
    rt.metrics.inc(
        *RECOGNITIONS, kind="identify", outcome="match" if person else (found.reason or "no_match")
    )
    rt.metrics.observe(
        "whosthat_identify_seconds", "server time of one identification", result.server_ms / 1000
    )
    return result


def verify(ctx: Context, person_id: int, image: bytes | np.ndarray) -> Verification:
    """1:1: is the face in `image` this person? ValidationError when they have no template of the
    current embedder."""
    person = people.get_person(ctx, person_id)
    face, pipeline = _embed(ctx, image, "verify")
    threshold = ctx.runtime.threshold(pipeline)
    index = ctx.runtime.gallery.index(ctx.db, face.model)
    _tids, pids, matrix = index.vectors()
    mine = matrix[pids == person.id]
    if len(mine) == 0:
        raise ValidationError(
            M_("person %(id)s has no %(model)s template to compare with", id=person.id, model=face.model)
        )
    distance = float(np.min(np.linalg.norm(mine - face.embedding[None, :], axis=1)))
    same = is_match(distance, threshold)
    ctx.runtime.metrics.inc(*RECOGNITIONS, kind="verify", outcome="same" if same else "different")
    return Verification(
        person_id=person.id,
        same=same,
        distance=round(distance, 4),
        threshold=round(threshold, 4),
        model=face.model,
    )


@dataclass
class ThresholdProposal:
    """What `whosthat calibrate` proposes: the gallery's threshold at the target FAR, but never looser
    than the model's own default (`proposed` = the smaller; `stricter`: the gallery's is smaller)."""

    embedder: str
    calibration: Calibration
    default_threshold: float
    proposed: float
    stricter: bool

    def to_dict(self) -> dict:
        return {
            "model": self.embedder,
            **self.calibration.to_dict(),
            "default_threshold": self.default_threshold,
            "proposed": self.proposed,
            "stricter": self.stricter,
        }


def calibrate_threshold(ctx: Context, far: float, model: str | None = None) -> ThresholdProposal:
    """The threshold reaching false-accept rate `far` on the enrolled gallery's impostor pairs for
    `model` (default: the configured embedder), never looser than the model's default threshold (its
    card's, measured on three populations: a small gallery of one population cannot widen it).
    BadInputError with fewer than MIN_CALIBRATION_PEOPLE enrolled people, or when the gallery cannot
    say."""
    from whosthat.vision.embedders import get_embedder

    embedder = model or ctx.runtime.settings.embedder
    default = get_embedder(embedder).threshold
    _tids, pids, matrix = ctx.runtime.gallery.index(ctx.db, embedder).vectors()
    people_count = len(np.unique(pids))
    if people_count < MIN_CALIBRATION_PEOPLE:
        raise BadInputError(
            f"calibration needs at least {MIN_CALIBRATION_PEOPLE} enrolled people with {embedder} templates "
            f"(the gallery has {people_count}): fewer cannot show the lookalike pairs that cause false "
            f"matches; keep the model's default threshold {default:.4f}"
        )
    try:
        result = calibrate_far(pids, matrix, far)
    except ValueError as exc:
        raise BadInputError(f"{exc} (the {embedder} gallery has {len(pids)} templates)") from exc
    stricter = default is None or result.threshold < default
    proposed = result.threshold if stricter else float(default)
    return ThresholdProposal(
        embedder, result, None if default is None else float(default), proposed, stricter
    )
