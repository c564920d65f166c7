"""One-time tokens (hashes only): kiosk login tickets and the first-run setup token. Using a token is
one conditional UPDATE, so that two requests racing with the same token cannot both succeed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from whosthat.store.models import LoginTicket, SetupToken


# Login tickets -------------------------------------------------------------------------------------
def add_login_ticket(
    session: Session, token_hash: str, person_id: int, *, now: datetime, expires_at: datetime
) -> None:
    """Add a ticket, dropping the tickets expired by `now` first."""
    session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
    session.add(LoginTicket(token_hash=token_hash, person_id=person_id, expires_at=expires_at))


def use_login_ticket(session: Session, token_hash: str, *, now: datetime) -> int | None:
    """Mark an unused, unexpired ticket used and return its person id; None when there is no such ticket."""
    result = session.execute(
        update(LoginTicket)
        .where(
            LoginTicket.token_hash == token_hash, LoginTicket.used_at.is_(None), LoginTicket.expires_at > now
        )
        .values(used_at=now)
    )
    if result.rowcount != 1:
        return None
    return session.execute(
        select(LoginTicket.person_id).where(LoginTicket.token_hash == token_hash)
    ).scalar_one()


# Setup token ---------------------------------------------------------------------------------------
def replace_setup_token(session: Session, token_hash: str, *, expires_at: datetime) -> None:
    """Revoke every setup token and add this one."""
    session.execute(delete(SetupToken))
    session.add(SetupToken(token_hash=token_hash, expires_at=expires_at))


def get_setup_token(session: Session, token_hash: str) -> SetupToken | None:
    return session.get(SetupToken, token_hash)


def use_setup_token(session: Session, token_hash: str, *, now: datetime) -> bool:
    """Mark the unused setup token used; False when it was used meanwhile."""
    result = session.execute(
        update(SetupToken)
        .where(SetupToken.token_hash == token_hash, SetupToken.used_at.is_(None))
        .values(used_at=now)
    )
    return result.rowcount == 1
