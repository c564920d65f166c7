"""Small data-access helpers over the models: the queries more than one caller needs.

Callers own the transaction (commit/rollback); these functions only add, query and flush.
Any change that affects face search (templates added or removed, a person (de)activated or
deleted) must call `bump_gallery_version`, which is how every process notices it must reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from whosthat.store.crypto import TemplateCipher
from whosthat.store.models import Counter, FaceTemplate, Person

GALLERY_COUNTER = "gallery"


# Change counter ----------------------------------------------------------------------------------
def gallery_version(session: Session) -> int:
    """Current value of the gallery change counter (one indexed primary-key read)."""
    value = session.execute(select(Counter.value).where(Counter.name == GALLERY_COUNTER)).scalar_one_or_none()
    return int(value or 0)


def bump_gallery_version(session: Session) -> None:
    """Atomically increment the gallery counter (row-level in the database, safe across replicas)."""
    result = session.execute(
        update(Counter).where(Counter.name == GALLERY_COUNTER).values(value=Counter.value + 1)
    )
    if result.rowcount == 0:  # a database created before the counter row existed
        session.add(Counter(name=GALLERY_COUNTER, value=1))
    session.flush()


# People --------------------------------------------------------------------------------------------
def search_people(
    session: Session, q: str | None = None, *, page: int = 1, size: int = 20, active: bool | None = None
) -> tuple[list[Person], int]:
    """People whose code, name or surname contains `q` (case-insensitive), ordered by surname, name.

    Returns (the page's people, the total count over all pages). `page` starts at 1.
    """
    stmt = select(Person)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Person.employee_code).like(pattern),
                func.lower(Person.name).like(pattern),
                func.lower(Person.surname).like(pattern),
                func.lower(Person.name + " " + Person.surname).like(pattern),
            )
        )
    if active is not None:
        stmt = stmt.where(Person.active == active)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = (
        session.execute(
            stmt.order_by(func.lower(Person.surname), func.lower(Person.name), Person.id)
            .offset((page - 1) * size)
            .limit(size)
        )
        .scalars()
        .all()
    )
    return list(rows), int(total)


def template_counts(session: Session, person_ids: list[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = session.execute(
        select(FaceTemplate.person_id, func.count())
        .where(FaceTemplate.person_id.in_(person_ids))
        .group_by(FaceTemplate.person_id)
    ).all()
    return {pid: int(n) for pid, n in rows}


# Templates -----------------------------------------------------------------------------------------
def add_template(
    session: Session,
    cipher: TemplateCipher,
    person_id: int,
    *,
    embedder: str,
    embedding: np.ndarray,
    chip: np.ndarray | None,
    quality: float,
    source: str,
) -> FaceTemplate:
    """Encrypt and insert one template (and its chip when given); bumps the gallery counter."""
    embedding = np.asarray(embedding, dtype=np.float32).ravel()
    row = FaceTemplate(
        person_id=person_id,
        embedder=embedder,
        dim=int(embedding.shape[0]),
        embedding=cipher.encrypt_embedding(embedding, person_id, embedder),
        chip=cipher.encrypt_chip(chip, person_id) if chip is not None else None,
        quality=float(quality),
        source=source,
    )
    session.add(row)
    session.flush()
    bump_gallery_version(session)
    return row


@dataclass(frozen=True)
class TemplateRef:
    id: int
    person_id: int


def active_template_refs(session: Session, embedder: str) -> list[TemplateRef]:
    """Ids of the templates of active people for one embedder (no ciphertext loaded)."""
    rows = session.execute(
        select(FaceTemplate.id, FaceTemplate.person_id)
        .join(Person, Person.id == FaceTemplate.person_id)
        .where(FaceTemplate.embedder == embedder, Person.active.is_(True))
    ).all()
    return [TemplateRef(int(i), int(p)) for i, p in rows]


def iter_template_blobs(
    session: Session, ids: list[int], batch: int = 2000
) -> Iterator[tuple[int, int, str, bytes]]:
    """(id, person_id, embedder, ciphertext) for the given template ids, in batches."""
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        yield from session.execute(
            select(
                FaceTemplate.id, FaceTemplate.person_id, FaceTemplate.embedder, FaceTemplate.embedding
            ).where(FaceTemplate.id.in_(chunk))
        ).all()
