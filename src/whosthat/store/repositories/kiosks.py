"""Paired kiosks: lookups by name, pairing-code hash and device-token hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from whosthat.store.models import Kiosk


def add(session: Session, **fields) -> Kiosk:
    row = Kiosk(**fields)
    session.add(row)
    session.flush()
    return row


def get(session: Session, kiosk_id: int, *, for_update: bool = False) -> Kiosk | None:
    stmt = select(Kiosk).where(Kiosk.id == kiosk_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def by_name(session: Session, name: str) -> Kiosk | None:
    return session.execute(select(Kiosk).where(Kiosk.name == name)).scalar_one_or_none()


def by_pairing_code(session: Session, code_hash: str) -> Kiosk | None:
    stmt = select(Kiosk).where(Kiosk.pairing_code_hash == code_hash).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def by_device(session: Session, token_hash: str) -> Kiosk | None:
    return session.execute(select(Kiosk).where(Kiosk.device_token_hash == token_hash)).scalar_one_or_none()


def all_kiosks(session: Session) -> list[Kiosk]:
    return list(session.execute(select(Kiosk).order_by(Kiosk.name)).scalars())
