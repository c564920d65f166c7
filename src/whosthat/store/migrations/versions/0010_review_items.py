"""Review queue: kiosk events with a weak match or a liveness warning, with the attempt's encrypted
face chip until an administrator confirms or voids the event.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("attendance_events.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("chip", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_review_items_person_id", "review_items", ["person_id"])
    op.create_index("ix_review_items_status", "review_items", ["status"])


def downgrade() -> None:
    op.drop_table("review_items")
