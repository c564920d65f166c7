"""Face templates: encrypted insertion, per-person listing and counts, deletion, and the reads face
search and re-embedding need (ids without ciphertext, ciphertext in batches, chips to re-embed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.orm import Session

from whosthat.store.crypto import TemplateCipher
from whosthat.store.models import FaceTemplate, Person
from whosthat.store.repositories.counters import bump_gallery_version

DELETE_BATCH = 500  # ids per DELETE ... IN (...), well under every backend's parameter limit


def insert(
    session: Session,
    cipher: TemplateCipher,
    person_id: int,
    *,
    embedder: str,
    embedding: np.ndarray,
    chip_ciphertext: bytes | None,
    quality: float,
    source: str,
    alignment: str | None = None,
) -> FaceTemplate:
    """Add one template whose chip is already encrypted (or None), without flushing or bumping the
    counter: for batches, whose caller bumps once at the end. The embedding (float[D]) is encrypted here.
    `alignment`: how the embedder placed its input (FaceTemplate.alignment), None for chip embedders."""
    embedding = np.asarray(embedding, dtype=np.float32).ravel()
    row = FaceTemplate(
        person_id=person_id,
        embedder=embedder,
        dim=int(embedding.shape[0]),
        embedding=cipher.encrypt_embedding(embedding, person_id, embedder),
        chip=chip_ciphertext,
        quality=float(quality),
        source=source,
        alignment=alignment,
    )
    session.add(row)
    return row


def insert_many(
    session: Session,
    cipher: TemplateCipher,
    embedder: str,
    person_ids: np.ndarray,
    embeddings: np.ndarray,
    *,
    source: str,
    quality: float = 1.0,
    batch: int = 5000,
) -> int:
    """Encrypt and insert many templates without chips (benchmarks, imports) in batched INSERTs; the
    caller bumps the counter. Returns how many were inserted."""
    from whosthat.store.models import utcnow

    now = utcnow()
    dim = int(embeddings.shape[1])
    for start in range(0, len(person_ids), batch):
        rows = [
            {
                "person_id": int(pid),
                "embedder": embedder,
                "dim": dim,
                "embedding": cipher.encrypt_embedding(vec, int(pid), embedder),
                "chip": None,
                "quality": float(quality),
                "source": source,
                "created_at": now,
            }
            for pid, vec in zip(
                person_ids[start : start + batch], embeddings[start : start + batch], strict=True
            )
        ]
        session.execute(sql_insert(FaceTemplate), rows)
    return len(person_ids)


def add(
    session: Session,
    cipher: TemplateCipher,
    person_id: int,
    *,
    embedder: str,
    embedding: np.ndarray,
    chip: np.ndarray | None,
    quality: float,
    source: str,
    alignment: str | None = None,
) -> FaceTemplate:
    """Encrypt and insert one template (and its chip, uint8[H, W, 3], when given); bumps the counter."""
    row = insert(
        session,
        cipher,
        person_id,
        embedder=embedder,
        embedding=embedding,
        chip_ciphertext=cipher.encrypt_chip(chip, person_id) if chip is not None else None,
        quality=quality,
        source=source,
        alignment=alignment,
    )
    session.flush()
    bump_gallery_version(session, [person_id])
    return row


def get(session: Session, template_id: int) -> FaceTemplate | None:
    return session.get(FaceTemplate, template_id)


def of_person(session: Session, person_id: int) -> list[FaceTemplate]:
    """A person's template rows, oldest first."""
    stmt = select(FaceTemplate).where(FaceTemplate.person_id == person_id).order_by(FaceTemplate.id)
    return list(session.execute(stmt).scalars())


def counts(session: Session, person_ids: list[int]) -> dict[int, int]:
    """{person id: number of templates} for the given people (people without templates are absent)."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(FaceTemplate.person_id, func.count())
        .where(FaceTemplate.person_id.in_(person_ids))
        .group_by(FaceTemplate.person_id)
    ).all()
    return {pid: int(n) for pid, n in rows}


def counts_by_embedder(session: Session) -> dict[str, int]:
    """{embedder name: number of templates} over the whole gallery."""
    rows = session.execute(select(FaceTemplate.embedder, func.count()).group_by(FaceTemplate.embedder)).all()
    return {name: int(n) for name, n in rows}


def people_with(session: Session, embedder: str) -> int:
    """How many people have at least one template of `embedder` (whom a stranger is compared with)."""
    return int(
        session.scalar(
            select(func.count(func.distinct(FaceTemplate.person_id))).where(FaceTemplate.embedder == embedder)
        )
        or 0
    )


def delete_one(session: Session, row: FaceTemplate) -> None:
    """Delete one template (and its chip); bumps the counter."""
    person_id = row.person_id
    session.delete(row)
    session.flush()
    bump_gallery_version(session, [person_id])


def delete_ids(session: Session, template_ids: list[int]) -> int:
    """Delete these templates in batches; returns how many went. The caller bumps the counter."""
    removed = 0
    for start in range(0, len(template_ids), DELETE_BATCH):
        chunk = template_ids[start : start + DELETE_BATCH]
        removed += session.execute(delete(FaceTemplate).where(FaceTemplate.id.in_(chunk))).rowcount
    return removed


@dataclass(frozen=True)
class TemplateRef:
    id: int
    person_id: int


def active_refs(session: Session, embedder: str, person_ids: list[int] | None = None) -> list[TemplateRef]:
    """Ids of the templates of active people for one embedder (no ciphertext loaded); only those of
    `person_ids` when given (read in batches)."""
    stmt = (
        select(FaceTemplate.id, FaceTemplate.person_id)
        .join(Person, Person.id == FaceTemplate.person_id)
        .where(FaceTemplate.embedder == embedder, Person.active.is_(True))
    )
    if person_ids is None:
        return [TemplateRef(int(i), int(p)) for i, p in session.execute(stmt).all()]
    out: list[TemplateRef] = []
    for start in range(0, len(person_ids), DELETE_BATCH):
        chunk = person_ids[start : start + DELETE_BATCH]
        rows = session.execute(stmt.where(FaceTemplate.person_id.in_(chunk))).all()
        out.extend(TemplateRef(int(i), int(p)) for i, p in rows)
    return out


def iter_blobs(session: Session, ids: list[int], batch: int = 2000) -> Iterator[tuple[int, int, str, bytes]]:
    """(id, person_id, embedder, ciphertext) for the given template ids, in batches."""
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        yield from session.execute(
            select(
                FaceTemplate.id, FaceTemplate.person_id, FaceTemplate.embedder, FaceTemplate.embedding
            ).where(FaceTemplate.id.in_(chunk))
        ).all()


def iter_active_blobs(
    session: Session, embedder: str, batch: int = 10_000
) -> Iterator[tuple[int, int, bytes]]:
    """(id, person_id, ciphertext) of every template of active people for one embedder, streamed in
    one query (the gallery's start-up load)."""
    stmt = (
        select(FaceTemplate.id, FaceTemplate.person_id, FaceTemplate.embedding)
        .join(Person, Person.id == FaceTemplate.person_id)
        .where(FaceTemplate.embedder == embedder, Person.active.is_(True))
        .execution_options(yield_per=batch)
    )
    for tid, pid, blob in session.execute(stmt):
        yield int(tid), int(pid), bytes(blob)


def not_of_embedder(session: Session, embedder: str) -> list[tuple[int, int, bytes | None, float, str]]:
    """(id, person_id, chip ciphertext or None, quality, source) of every template made by another
    embedder than `embedder`, oldest first: what re-embedding to `embedder` works through."""
    stmt = (
        select(
            FaceTemplate.id,
            FaceTemplate.person_id,
            FaceTemplate.chip,
            FaceTemplate.quality,
            FaceTemplate.source,
        )
        .where(FaceTemplate.embedder != embedder)
        .order_by(FaceTemplate.id)
    )
    return [tuple(row) for row in session.execute(stmt).all()]
