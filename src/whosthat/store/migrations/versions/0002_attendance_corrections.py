"""Attendance corrections (add / edit / void, each with a reason and who) and employees' correction
requests; events themselves are never rewritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("kind", sa.String(3), nullable=True),
        sa.Column("event_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decision_note", sa.String(500), nullable=True),
    )
    op.create_index("ix_correction_requests_person_id", "correction_requests", ["person_id"])
    op.create_index("ix_correction_requests_status", "correction_requests", ["status"])
    op.create_table(
        "attendance_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "replaces_event_id",
            sa.Integer(),
            sa.ForeignKey("attendance_events.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("by", sa.String(80), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("correction_requests.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_attendance_corrections_person_id", "attendance_corrections", ["person_id"])
    op.create_index("ix_attendance_corrections_event_id", "attendance_corrections", ["event_id"])


def downgrade() -> None:
    op.drop_table("attendance_corrections")
    op.drop_table("correction_requests")
