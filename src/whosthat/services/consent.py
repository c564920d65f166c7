"""Consent to face login, and retention.

Rules (each lives here only):
- Consent is recorded per person with the version of the text they agreed to (CONSENT_TEXTS), when,
  and who took it.
- No face template is stored for a person without consent in force (`needed_for_templates`, applied
  by services/templates.py to every enrolment: admin pages, API): a person who never gave it, or who
  withdrew it, gets new templates only once it is recorded again (the enrolment may record it in the
  same transaction as the template). People enrolled before this rule keep their templates: the
  lists show "no consent on record" until an admin records it or deletes their face data.
- Withdrawing consent deletes the person's templates and every stored face image (template chips,
  review-queue chips) at once, in the same transaction, and says how many; the person and their
  attendance stay (payroll needs the hours), face login no longer finds them.
- Retention (`run_retention`, on the server's schedule and `whosthat retention run`): attendance older
  than settings.retention_attendance_months is deleted, and the face chips of people inactive for
  settings.retention_inactive_chip_days; each run leaves an audit entry with the counts.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from whosthat import i18n
from whosthat.i18n import M_
from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context, valid_id
from whosthat.services.errors import ConflictError, ConsentRequiredError, NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import ConsentRecord, utcnow

log = logging.getLogger("whosthat.retention")

# The consent texts by version; a version is one meaning, in each of the app's languages (i18n.LANGUAGES),
# kept here rather than in the catalogues so that no later catalogue edit changes what a person agreed
# to. A changed meaning is a new version. The record says which language the text was shown in.
CONSENT_TEXTS = {
    "2026-12": {
        "en": (
            "I agree that my face is photographed to create face templates that this workplace's attendance "
            "system uses to recognise me at its kiosks. The templates and photos are stored encrypted, used "
            "only for clocking in and out and signing me in, and deleted when I withdraw this consent, which "
            "I can do at any time by telling an administrator."
        ),
        "de": (
            "Ich bin damit einverstanden, dass mein Gesicht fotografiert wird, um Gesichtsvorlagen zu "
            "erstellen, mit denen das Zeiterfassungssystem dieses Arbeitsplatzes mich an seinen Kiosks "
            "erkennt. Die Vorlagen und Fotos werden verschlüsselt gespeichert, nur zum Ein- und Ausstempeln "
            "und zu meiner Anmeldung verwendet und gelöscht, wenn ich diese Einwilligung widerrufe; das kann "
            "ich jederzeit tun, indem ich es einem Administrator sage."
        ),
        "it": (
            "Acconsento a che il mio volto venga fotografato per creare modelli del volto che il sistema di "
            "rilevazione presenze di questo luogo di lavoro usa per riconoscermi ai suoi chioschi. I modelli "
            "e le foto sono conservati cifrati, usati solo per registrare entrata e uscita e per il mio "
            "accesso, e cancellati quando revoco questo consenso, cosa che posso fare in qualsiasi momento "
            "dicendolo a un amministratore."
        ),
        "fr": (
            "J'accepte que mon visage soit photographié pour créer des modèles de visage que le système de "
            "pointage de ce lieu de travail utilise pour me reconnaître à ses bornes. Les modèles et les "
            "photos sont conservés chiffrés, utilisés uniquement pour pointer mes arrivées et mes départs et "
            "pour me connecter, et supprimés lorsque je retire ce consentement, ce que je peux faire à tout "
            "moment en le disant à un administrateur."
        ),
    },
}
CURRENT_VERSION = "2026-12"


def text_of(version: str, lang: str | None) -> str:
    """The consent text `version` in `lang` (English for a language it has no text in)."""
    texts = CONSENT_TEXTS[version]
    return texts.get(i18n.normalise(lang) or i18n.SOURCE_LANGUAGE, texts[i18n.SOURCE_LANGUAGE])


def check_language(language: str | None, field: str = "language") -> str | None:
    """The language a consent text was shown in: one of i18n.LANGUAGES, or None (not recorded)."""
    if language is None or (isinstance(language, str) and not language.strip()):
        return None
    value = language.strip() if isinstance(language, str) else language
    if value not in i18n.LANGUAGES:
        raise ValidationError(
            M_(
                "the consent text's language must be one of %(languages)s",
                languages=", ".join(i18n.LANGUAGES),
            ),
            field=field,
        )
    return value


@dataclass
class Withdrawal:
    record: ConsentRecord | None
    templates_deleted: int
    images_deleted: int


def record_consent(
    ctx: Context,
    person_id: int,
    *,
    text_version: str = CURRENT_VERSION,
    language: str | None = None,
    actor: Actor = SYSTEM,
) -> ConsentRecord:
    """The person's consent to the text `text_version`, shown to them in `language` (None: not known),
    taken by `actor` now."""
    actor.require("people:write")
    language = check_language(language)
    if text_version not in CONSENT_TEXTS:
        raise ValidationError(
            M_("unknown consent text version: %(versions)s", versions=", ".join(CONSENT_TEXTS))
        )
    person = repo.people.get(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    row = add_record(ctx, person.id, text_version, actor, language)
    ctx.commit()
    return row


def add_record(
    ctx: Context, person_id: int, text_version: str, actor: Actor, language: str | None = None
) -> ConsentRecord:
    """A consent record with its audit entry, in the caller's transaction (not committed). `language`:
    the language the text was shown in (one of i18n.LANGUAGES; anything else is not recorded)."""
    language = language if language in i18n.LANGUAGES else None
    row = repo.consent.add(
        ctx.db, person_id=person_id, text_version=text_version, language=language, taken_by=actor.label
    )
    audit.record(
        ctx, actor, "consent.given", f"person:{person_id}", {"version": text_version, "language": language}
    )
    return row


def check_version(text_version: str, field: str = "consent_version") -> str:
    """`text_version` when it names a consent text, else ConsentRequiredError naming `field`."""
    if text_version not in CONSENT_TEXTS:
        raise ConsentRequiredError(
            M_(
                "%(field)s: unknown consent text version %(given)s; the current one is %(version)s",
                field=field,
                given=repr(str(text_version)[:32]),
                version=CURRENT_VERSION,
            ),
            field,
        )
    return text_version


def needed_for_templates(
    ctx: Context, person, consent_version: str | None = None, *, field: str = "consent_version"
) -> str | None:
    """Before storing a face template of `person`: None when their consent is in force; else the text
    version to record with the template (`consent_version`, given by the caller once the person agreed
    to it). ConsentRequiredError (naming `field`) when there is neither: nothing may be stored."""
    if current(ctx, person.id) is not None:
        return None
    if consent_version is None:
        withdrawn = next((r for r in history(ctx, person.id) if r.withdrawn_at is not None), None)
        if withdrawn is not None:
            message = M_(
                "%(field)s: the consent of %(name)s was withdrawn on %(day)s: record their consent to the "
                "consent text (version %(version)s) before their face is stored; nothing was saved",
                field=field,
                name=person.full_name,
                day=withdrawn.withdrawn_at.astimezone(ctx.tz).date(),  # ISO in English, else the reader's
                version=CURRENT_VERSION,
            )
        else:
            message = M_(
                "%(field)s: %(name)s has no consent on record: record their consent to the consent text "
                "(version %(version)s) before their face is stored; nothing was saved",
                field=field,
                name=person.full_name,
                version=CURRENT_VERSION,
            )
        raise ConsentRequiredError(message, field)
    return check_version(consent_version, field)


def current(ctx: Context, person_id: int) -> ConsentRecord | None:
    """The person's consent in force (the newest not withdrawn), or None."""
    rows = repo.consent.of_person(ctx.db, person_id) if valid_id(person_id) else []
    return next((r for r in rows if r.withdrawn_at is None), None)


def history(ctx: Context, person_id: int) -> list[ConsentRecord]:
    return repo.consent.of_person(ctx.db, person_id) if valid_id(person_id) else []


def withdraw(ctx: Context, person_id: int, *, actor: Actor = SYSTEM) -> Withdrawal:
    """Withdraw the person's consent: their templates and face images are deleted now."""
    actor.require("people:write")
    person = repo.people.lock(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        ctx.db.rollback()
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    record = current(ctx, person.id)
    templates, images = repo.consent.delete_biometrics(ctx.db, person.id)
    if record is None and not templates and not images:
        ctx.db.rollback()
        raise ConflictError(M_("%(name)s has no consent in force and no face data", name=person.full_name))
    if record is not None:
        record.withdrawn_at, record.withdrawn_by = utcnow(), actor.label
    detail = {"templates_deleted": templates, "images_deleted": images}
    audit.record(ctx, actor, "consent.withdrawn", f"person:{person.id}", detail)
    ctx.commit()
    return Withdrawal(record, templates, images)


@dataclass
class RetentionRun:
    events_deleted: int
    chips_deleted: int


def run_retention(ctx: Context, *, actor: Actor = SYSTEM) -> RetentionRun | None:
    """Apply the retention settings once (None when both are off), with an audit entry."""
    s = ctx.runtime.settings
    months, days = s.retention_attendance_months, s.retention_inactive_chip_days
    if not months and not days:
        return None
    now = utcnow()
    events = repo.consent.delete_events_before(ctx.db, now - timedelta(days=30.44 * months)) if months else 0
    chips = repo.consent.clear_chips_of_inactive(ctx.db, now - timedelta(days=days)) if days else 0
    audit.record(
        ctx,
        actor,
        "retention.run",
        None,
        {
            "attendance_months": months,
            "inactive_chip_days": days,
            "events_deleted": events,
            "chips_deleted": chips,
        },
    )
    ctx.commit()
    return RetentionRun(events, chips)


class RetentionSchedule:
    """Runs run_retention every settings.retention_every_s in a daemon thread (first run at start)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="whosthat-retention", daemon=True)

    def start(self) -> RetentionSchedule:
        s = self.runtime.settings
        if s.retention_attendance_months or s.retention_inactive_chip_days:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with Context.open(self.runtime, address="retention") as ctx:
                    run_retention(ctx)
            except Exception:  # a failed run is logged and retried at the next interval
                log.exception("retention run failed")
            self._stop.wait(self.runtime.settings.retention_every_s)
