"""Paired kiosks: name, site, time zone, one-time pairing code (hash, expiry), the device credential's
hash, revocation, last contact.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("site", sa.String(120), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("pairing_code_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("pairing_expires_at", UTCDateTime(), nullable=True),
        sa.Column("device_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("paired_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("last_address", sa.String(64), nullable=True),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("kiosks")
