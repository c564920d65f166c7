"""People: search, read, add, edit, and delete with all their face data and attendance (GDPR)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from whosthat.i18n import M_
from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging, clean_text, valid_id
from whosthat.services.errors import ConfirmationError, ConflictError, NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import Person

CODE_MAX_LENGTH = 64  # the columns' widths (store/models.py)
NAME_MAX_LENGTH = 120  # name and surname each
MAX_QUERY = 120
# The editable fields and their maximum lengths (None: a boolean).
FIELDS: dict[str, int | None] = {
    "employee_code": CODE_MAX_LENGTH,
    "name": NAME_MAX_LENGTH,
    "surname": NAME_MAX_LENGTH,
    "active": None,
}


def list_people(
    ctx: Context, q: str | None = None, *, page: int = 1, size: int = 20, active: bool | None = None
) -> Page:
    """People matching `q` (code, name or surname, case-insensitive), sorted by surname.

    Each item is a Person with extra attributes `template_count` and `consent_in_force` (False: no
    consent on record, or withdrawn).
    """
    page, size = check_paging(page, size)
    if q is not None and len(q) > MAX_QUERY:
        raise ValidationError(M_("the search text is too long"))
    people, total = repo.people.search(ctx.db, q, page=page, size=size, active=active)
    ids = [p.id for p in people]
    counts, consented = repo.templates.counts(ctx.db, ids), repo.consent.in_force(ctx.db, ids)
    for p in people:
        p.template_count = counts.get(p.id, 0)
        p.consent_in_force = p.id in consented
    return Page(people, page, size, total)


def get_person(ctx: Context, person_id: int) -> Person:
    """The person, with `template_count` and `consent_in_force` set; NotFoundError when absent."""
    person = repo.people.get(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    person.template_count = repo.templates.counts(ctx.db, [person.id]).get(person.id, 0)
    person.consent_in_force = bool(repo.consent.in_force(ctx.db, [person.id]))
    return person


def find_active_person(ctx: Context, person_id: int) -> Person | None:
    """The person when they exist and are active (an employee session stays open only then), else None."""
    person = repo.people.get(ctx.db, person_id) if valid_id(person_id) else None
    return person if person is not None and person.active else None


def _code_used(code: str, owner: Person) -> ConflictError:
    """A taken employee code, saying who has it (the page links to them)."""
    return ConflictError(
        M_(
            "%(field)s %(code)s is already used by %(owner)s",
            field="employee code",
            code=code,
            owner=owner.full_name,
        ),
        field="employee_code",
        refers=("person", owner.id, owner.full_name),
    )


def raise_first(errors: list) -> None:
    """Raise the first of a form's field errors (malformed fields before taken ones), carrying all."""
    if errors:
        errors = sorted(errors, key=lambda e: isinstance(e, ConflictError))
        raise errors[0].with_others(errors)


def field_errors(ctx: Context, fields: dict[str, Any], *, person_id: int | None = None) -> tuple[dict, list]:
    """The cleaned text fields (employee_code, name, surname; those given) and every field's error:
    each malformed field, and an employee code another person (not `person_id`) already has."""
    clean: dict[str, Any] = {}
    errors: list = []
    for key, value in fields.items():
        if key == "active":
            if not isinstance(value, bool):
                errors.append(ValidationError("active must be true or false", field="active"))
            else:
                clean[key] = value
            continue
        try:
            clean[key] = clean_text(value, key, FIELDS[key], field=key)
        except ValidationError as exc:
            errors.append(exc)
    code = clean.get("employee_code")
    if code is not None and (owner := repo.people.with_code(ctx.db, code, other_than=person_id)):
        errors.append(_code_used(code, owner))
    return clean, errors


def check_new_person(ctx: Context, *, employee_code: str, name: str, surname: str) -> list:
    """Every error of a new person's fields (empty list: they can be used)."""
    return field_errors(ctx, {"employee_code": employee_code, "name": name, "surname": surname})[1]


def create_person(
    ctx: Context, *, employee_code: str, name: str, surname: str, active: bool = True, actor: Actor = SYSTEM
) -> Person:
    """Add a person (no templates yet). ConflictError when the employee code is taken (saying by whom);
    with several bad fields, the error raised carries all of them (`field_errors`)."""
    actor.require("people:write")
    clean, errors = field_errors(ctx, {"employee_code": employee_code, "name": name, "surname": surname})
    raise_first(errors)
    code = clean["employee_code"]
    try:
        person = repo.people.add(
            ctx.db, employee_code=code, name=clean["name"], surname=clean["surname"], active=bool(active)
        )
    except IntegrityError as exc:  # taken meanwhile by a concurrent request
        ctx.db.rollback()
        owner = repo.people.with_code(ctx.db, code)
        if owner is None:
            raise ConflictError(
                M_("employee code %(code)s is already used", code=repr(code)), field="employee_code"
            ) from exc
        raise _code_used(code, owner) from exc
    audit.record(ctx, actor, "person.create", f"person:{person.id}", {"employee_code": code})
    ctx.commit()
    person.template_count, person.consent_in_force = 0, False
    return person


def update_person(ctx: Context, person_id: int, *, actor: Actor = SYSTEM, **fields: Any) -> Person:
    """Change any of employee_code, name, surname, active. Deactivated people are not recognised."""
    actor.require("people:write")
    person = get_person(ctx, person_id)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError(M_("unknown field(s): %(fields)s", fields=", ".join(sorted(unknown))))
    clean, errors = field_errors(ctx, fields, person_id=person.id)
    raise_first(errors)
    changes = {key: value for key, value in clean.items() if getattr(person, key) != value}
    if changes:
        repo.people.update(ctx.db, person, changes)
        audit.record(ctx, actor, "person.update", f"person:{person.id}", {"fields": list(changes)})
        ctx.commit()
    return person


def delete_person(
    ctx: Context, person_id: int, *, actor: Actor = SYSTEM, confirm_code: str | None = None
) -> Person:
    """Delete the person with their templates, chips, attendance and tickets, for real.

    confirm_code: when given (the admin page asks to retype it), it must equal the person's employee
    code, else ConfirmationError and nothing is deleted. Returns the deleted person (detached).
    """
    actor.require("people:write")
    person = get_person(ctx, person_id)
    if confirm_code is not None and confirm_code.strip() != person.employee_code:
        raise ConfirmationError(M_("the employee code you typed does not match: nothing was deleted"))
    detail = {"employee_code": person.employee_code, "templates": person.template_count}
    audit.forget_person(ctx, person)
    repo.people.delete_with_data(ctx.db, person)
    audit.record(
        ctx, actor, "person.delete", f"person:{person.id}", detail, label=audit.deleted_label(person)
    )
    ctx.commit()
    ctx.runtime.database.checkpoint()  # SQLite: the deleted rows leave the WAL too
    return person
