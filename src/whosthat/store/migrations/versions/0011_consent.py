"""Consent records: text version, when, who took it; withdrawal.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("taken_by", sa.String(80), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(80), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_consent_records_person_id", "consent_records", ["person_id"])


def downgrade() -> None:
    op.drop_table("consent_records")
