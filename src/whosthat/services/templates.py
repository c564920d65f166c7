"""Face templates: the live enrolment quality check, enrolling one image or a batch of photos (all
checked before any is stored), deleting a template, and showing its aligned face chip to admins.

Every enrolment needs the person's consent in force, or records it with the first template
(services/consent.py, `needed_for_templates`); without either nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from whosthat.errors import BadInputError, MultipleFacesError, NoFaceError, QualityError
from whosthat.gallery.threshold import is_match
from whosthat.i18n import M_, Joined, Message
from whosthat.services import audit, consent, people
from whosthat.services.common import SYSTEM, Actor, Context, clean_text, decode_upload, face_box, valid_id
from whosthat.services.errors import (
    BusyError,
    ConsentRequiredError,
    DuplicateFaceError,
    NotFoundError,
    PhotosRejectedError,
)
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError
from whosthat.store.models import FaceTemplate, Person

MAX_PHOTOS = 10  # photos per enrolment form


@dataclass
class QualityReport:
    """Live feedback on one frame: ok when exactly one face passes every enrollment rule.

    reasons: human-readable, actionable (English; marked messages that know their `code`, see
    vision.quality.REASONS); box: [left, top, right, bottom] pixels of the face judged, or None;
    measures: the quality numbers (face_px, sharpness, yaw_deg, ...) when a face was found.
    """

    ok: bool
    reasons: list[str]
    box: list[float] | None = None
    faces: int = 0
    measures: dict | None = None
    width: int = 0
    height: int = 0

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "reasons": self.reasons,
            # the same reasons as codes with their values, for a page that says them in its language
            "problems": [
                {
                    "code": getattr(r, "code", "low_quality"),
                    "values": dict(getattr(r, "params", {})),
                    "message": str(r),
                }
                for r in self.reasons
            ],
            "box": self.box,
            "faces": self.faces,
            "quality": self.measures,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True)
class Photo:
    """One photo of an enrolment form: what to call it in messages, its bytes (read up to one byte
    over the upload limit, so that an oversized file is recognised), and "upload" or "webcam"."""

    label: str
    data: bytes
    source: str


@dataclass
class Enrolment:
    """What a batch enrolment did: templates added, and one line per photo that failed at embedding."""

    added: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DuplicateMatch:
    """A photo being enrolled whose face already matches another enrolled person."""

    label: str
    person_id: int
    employee_code: str
    name: str
    surname: str
    distance: float

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.surname}".strip()

    def to_dict(self) -> dict:
        return {
            "person_id": self.person_id,
            "employee_code": self.employee_code,
            "name": self.name,
            "surname": self.surname,
            "distance": round(self.distance, 4),
        }


def duplicate_of(
    ctx: Context, person_id: int | None, face, label: str = "This face"
) -> DuplicateMatch | None:
    """The nearest enrolled person other than `person_id` (None: everyone counts) whose templates match
    `face` (a FaceResult) within the match threshold, or None."""
    rt = ctx.runtime
    threshold = rt.threshold(rt.pipeline(face.model))
    for match in rt.gallery.search(ctx.db, face.model, face.embedding, k=2):
        if match.person_id == person_id:
            continue
        if not is_match(match.distance, threshold):
            return None
        other = repo.people.get(ctx.db, match.person_id)
        if other is None:
            return None
        return DuplicateMatch(label, other.id, other.employee_code, other.name, other.surname, match.distance)
    return None


def list_templates(ctx: Context, person_id: int) -> list[FaceTemplate]:
    """Template rows of a person (metadata: id, embedder, dim, quality, source, created_at)."""
    people.get_person(ctx, person_id)
    return repo.templates.of_person(ctx.db, person_id)


def person_with_templates(ctx: Context, person_id: int) -> tuple[Person, list[FaceTemplate]]:
    """The person (NotFoundError when absent) and their template rows, for the admin's person page."""
    return people.get_person(ctx, person_id), repo.templates.of_person(ctx.db, person_id)


def check_quality(ctx: Context, image: bytes | np.ndarray) -> QualityReport:
    """Live enrollment feedback for one frame (no embedding computed, ~10-30 ms).

    Raises only for undecodable input (and BusyError when the face-work pool is full); "no face",
    "several faces" and failed quality rules come back as ok=False with reasons.
    """
    with ctx.runtime.face_pool.slot():
        return _check_quality(ctx, image)


def _check_quality(ctx: Context, image: bytes | np.ndarray) -> QualityReport:
    rgb = decode_upload(ctx, image)
    pipeline = ctx.runtime.pipeline()
    detections = pipeline.detect(rgb)
    h, w = rgb.shape[:2]
    try:
        detection = pipeline.dominant_face(detections)
    except (NoFaceError, MultipleFacesError) as exc:
        box = face_box(detections[0]) if detections else None
        message = _message(exc)
        if isinstance(message, Message):
            message.code = exc.code  # no_face, multiple_faces
        return QualityReport(False, [message], box, len(detections), None, w, h)
    from whosthat.vision.quality import assess_quality

    landmarks, chip = pipeline.align(rgb, detection)
    if chip.shape[0] != 150:
        from whosthat.vision.pipeline import dlib_chip_like

        chip = dlib_chip_like(chip)
    quality = assess_quality(detection.size, landmarks, chip, "enroll")
    return QualityReport(
        quality.ok, list(quality.reasons), face_box(detection), len(detections), quality.to_dict(), w, h
    )


def enroll_template(
    ctx: Context,
    person_id: int,
    image: bytes | np.ndarray,
    *,
    source: str = "upload",
    actor: Actor = SYSTEM,
    confirm_duplicate: bool = False,
    label: str = "This face",
    consent_version: str | None = None,
    consent_field: str = "consent_version",
    consent_language: str | None = None,
) -> FaceTemplate:
    """Embed the one face of `image` and store it (encrypted) as a new template of the person.

    source: "upload" | "webcam" | "api" | "cli" (where the image came from). The person's consent must
    be in force, or `consent_version` names the consent text they agreed to (recorded by `actor` with
    the template, in the same transaction, with `consent_language`: the language the text was shown
    in, None when not known); else ConsentRequiredError naming `consent_field`. Raises
    NoFaceError, MultipleFacesError, QualityError (with `.reasons`), ImageError; and DuplicateFaceError
    when the face already matches another enrolled person, unless `confirm_duplicate` (then the audit
    record names that person). Nothing is stored when it raises. The chip is kept unless
    settings.keep_chips is false. The returned row has extra attributes `quality_detail` (dict) and
    `box` ([left, top, right, bottom]).
    """
    actor.require("people:write")
    person = people.get_person(ctx, person_id)
    consent.needed_for_templates(ctx, person, consent_version, field=consent_field)  # before any face work
    with ctx.runtime.face_pool.slot():
        rgb = decode_upload(ctx, image)
        face = ctx.runtime.pipeline().embed_single(rgb, purpose="enroll")
    duplicate = duplicate_of(ctx, person.id, face, label)
    if duplicate is not None and not confirm_duplicate:
        raise DuplicateFaceError([duplicate])
    # Decided again under the person's lock: a withdrawal committed meanwhile (it takes the same lock)
    # must not be followed by a new template.
    repo.people.lock(ctx.db, person.id)
    try:
        to_record = consent.needed_for_templates(ctx, person, consent_version, field=consent_field)
    except ConsentRequiredError:
        ctx.db.rollback()
        raise
    if to_record is not None:
        consent.add_record(ctx, person.id, to_record, actor, consent_language)
    row = repo.templates.add(
        ctx.db,
        ctx.runtime.cipher,
        person.id,
        embedder=face.model,
        embedding=face.embedding,
        chip=face.chip if ctx.runtime.settings.keep_chips else None,
        quality=face.quality.score,
        source=clean_text(source, "source", 32),
        alignment=face.alignment,
    )
    audit.record(
        ctx,
        actor,
        "template.create",
        f"person:{person.id}",
        {
            "template_id": row.id,
            "source": row.source,
            "model": face.model,
            **({"duplicate_of": duplicate.person_id} if duplicate else {}),
        },
    )
    ctx.commit()
    row.quality_detail = face.quality.to_dict()
    row.box = face_box(face.detection)
    return row


def _message(exc: BaseException) -> str:
    """An error's message, still a marked M_ message when it is one (a page translates it)."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)


def _photo_problems(ctx: Context, photos: list[Photo]) -> list[str]:
    """One sentence per photo that is too large, does not decode or fails the enrolment quality rules."""
    if len(photos) > MAX_PHOTOS:
        return [M_("At most %(num)s photos at once.", num=MAX_PHOTOS)]
    limit = ctx.runtime.settings.max_upload_bytes
    problems = []
    for photo in photos:
        if len(photo.data) > limit:
            problems.append(
                M_("%(photo)s: larger than %(limit)s MB.", photo=photo.label, limit=limit // (1024 * 1024))
            )
            continue
        try:
            report = check_quality(ctx, photo.data)
        except BusyError:
            raise  # the server's state, not the photo's: 503 for the whole form
        except BadInputError as exc:
            problems.append(M_("%(photo)s: %(reason)s.", photo=photo.label, reason=_message(exc)))
            continue
        if not report.ok:
            problems.append(M_("%(photo)s: %(reason)s.", photo=photo.label, reason=Joined(report.reasons)))
    return problems


def _duplicates(ctx: Context, person_id: int | None, photos: list[Photo]) -> list[DuplicateMatch]:
    """Per photo (already through the quality checks) whose face matches another enrolled person: who."""
    pipeline = ctx.runtime.pipeline()
    found = []
    for photo in photos:
        try:
            with ctx.runtime.face_pool.slot():
                face = pipeline.embed_single(decode_upload(ctx, photo.data), purpose="enroll")
        except BusyError:
            raise
        except BadInputError:
            continue  # reported when it is enrolled
        duplicate = duplicate_of(ctx, person_id, face, photo.label)
        if duplicate is not None:
            found.append(duplicate)
    return found


def _enroll_each(
    ctx: Context,
    person_id: int,
    photos: list[Photo],
    actor: Actor,
    confirm_duplicate: bool = True,
    consent_version: str | None = None,
    consent_field: str = "consent_version",
    consent_language: str | None = None,
) -> Enrolment:
    result = Enrolment()
    for photo in photos:
        try:
            enroll_template(
                ctx,
                person_id,
                photo.data,
                source=photo.source,
                actor=actor,
                confirm_duplicate=confirm_duplicate,
                label=photo.label,
                consent_version=consent_version,
                consent_field=consent_field,
                consent_language=consent_language,
            )
            result.added += 1
        except (BusyError, ConsentRequiredError):
            raise
        except BadInputError as exc:
            reasons = Joined(exc.reasons) if isinstance(exc, QualityError) and exc.reasons else _message(exc)
            result.errors.append(M_("%(photo)s: %(reason)s.", photo=photo.label, reason=reasons))
    return result


def enroll_photos(
    ctx: Context,
    person_id: int,
    photos: list[Photo],
    *,
    actor: Actor = SYSTEM,
    confirm_duplicate: bool = False,
    consent_version: str | None = None,
    consent_field: str = "consent_version",
    consent_language: str | None = None,
) -> Enrolment:
    """Add a template from each photo of a form. The person's consent must be in force or be given as
    `consent_version` (recorded with the first template), else ConsentRequiredError before any photo
    is looked at. Every photo is checked first: when any is unusable, PhotosRejectedError lists why
    and nothing is stored (also when no photo was given); when any already matches another person,
    DuplicateFaceError lists who and nothing is stored, unless `confirm_duplicate`."""
    actor.require("people:write")
    person = people.get_person(ctx, person_id)
    if not photos:
        raise PhotosRejectedError([M_("Choose or take at least one photo.")])
    consent.needed_for_templates(ctx, person, consent_version, field=consent_field)
    problems = _photo_problems(ctx, photos)
    if problems:
        raise PhotosRejectedError([*problems, M_("No photo was added.")])
    if not confirm_duplicate and (duplicates := _duplicates(ctx, person_id, photos)):
        raise DuplicateFaceError(duplicates)
    return _enroll_each(
        ctx,
        person_id,
        photos,
        actor,
        consent_version=consent_version,
        consent_field=consent_field,
        consent_language=consent_language,
    )


def enroll_new_person(
    ctx: Context,
    *,
    employee_code: str,
    name: str,
    surname: str,
    photos: list[Photo],
    actor: Actor = SYSTEM,
    confirm_duplicate: bool = False,
    consent_version: str | None = None,
    consent_field: str = "consent_version",
    consent_language: str | None = None,
) -> tuple[Person, Enrolment]:
    """Add a person and a template from each photo (none is fine). `consent_version`: the consent text
    the person agreed to, recorded when given (required with photos: else ConsentRequiredError naming
    `consent_field` and nothing is stored). The photos are checked before the person is created: when
    any is unusable, PhotosRejectedError and nothing is stored; when any already matches an enrolled
    person, DuplicateFaceError and nothing is stored, unless `confirm_duplicate`."""
    actor.require("people:write")
    field_errors = people.check_new_person(ctx, employee_code=employee_code, name=name, surname=surname)
    if consent_version is not None:
        try:
            consent.check_version(consent_version, consent_field)
        except ConsentRequiredError as exc:
            field_errors.append(exc)
    elif photos:  # shown with the form's other errors; nothing is stored
        field_errors.append(
            ConsentRequiredError(
                M_(
                    "%(field)s: the person's consent to the consent text (version %(version)s) is required "
                    "before their face is stored; nothing was saved",
                    field=consent_field,
                    version=consent.CURRENT_VERSION,
                ),
                consent_field,
            )
        )
    problems = _photo_problems(ctx, photos)
    if problems:  # nothing is stored when a photo is unusable: fix it and send the form again
        rejected = PhotosRejectedError([*problems, M_("Nothing was saved; choose the photos again.")])
        raise rejected.with_others(field_errors)
    if field_errors:  # every field's error at once (the photos are fine)
        people.raise_first(field_errors)
    if not confirm_duplicate and (duplicates := _duplicates(ctx, None, photos)):
        raise DuplicateFaceError(duplicates)
    person = people.create_person(ctx, employee_code=employee_code, name=name, surname=surname, actor=actor)
    if consent_version is not None:
        consent.add_record(ctx, person.id, consent_version, actor, consent_language)
        ctx.commit()
    return person, _enroll_each(ctx, person.id, photos, actor)


def _template_of(ctx: Context, person_id: int, template_id: int) -> FaceTemplate:
    row = repo.templates.get(ctx.db, template_id) if valid_id(template_id) else None
    if row is None or row.person_id != person_id:
        raise NotFoundError(
            M_("person %(person)s has no template %(template)s", person=person_id, template=template_id)
        )
    return row


def delete_template(ctx: Context, person_id: int, template_id: int, *, actor: Actor = SYSTEM) -> None:
    """Delete one template (and its chip)."""
    actor.require("people:write")
    repo.templates.delete_one(ctx.db, _template_of(ctx, person_id, template_id))
    audit.record(ctx, actor, "template.delete", f"person:{person_id}", {"template_id": template_id})
    ctx.commit()


def template_chip(
    ctx: Context, person_id: int, template_id: int, *, actor: Actor = SYSTEM
) -> np.ndarray | None:
    """The decrypted aligned face chip (uint8[150, 150, 3]) of a template, for an admin's thumbnail, or
    None if it was not kept or does not decrypt. The `actor` needs people:read."""
    actor.require("people:read")
    row = _template_of(ctx, person_id, template_id)
    if row.chip is None:
        return None
    try:
        return ctx.runtime.cipher.decrypt_chip(row.chip, row.person_id)
    except DecryptionError:
        return None
