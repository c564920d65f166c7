"""Schedules (weekly pattern, time zone, grace, breaks, half-day/absent thresholds), work groups,
assignments to people or groups, public holidays, locked periods.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("week", sa.JSON(), nullable=False),
        sa.Column("grace_late_min", sa.Integer(), nullable=False),
        sa.Column("grace_early_min", sa.Integer(), nullable=False),
        sa.Column("half_day_below_pct", sa.Integer(), nullable=False),
        sa.Column("absent_below_pct", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "work_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
    )
    op.create_table(
        "work_group_members",
        sa.Column(
            "group_id", sa.Integer(), sa.ForeignKey("work_groups.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "schedule_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "schedule_id", sa.Integer(), sa.ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=True),
        sa.Column(
            "group_id", sa.Integer(), sa.ForeignKey("work_groups.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    for column in ("schedule_id", "person_id", "group_id"):
        op.create_index(f"ix_schedule_assignments_{column}", "schedule_assignments", [column])
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
    )
    op.create_table(
        "period_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("locked_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(80), nullable=False),
        sa.Column("unlocked_at", UTCDateTime(), nullable=True),
        sa.Column("unlocked_by", sa.String(80), nullable=True),
        sa.Column("unlock_reason", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    for table in (
        "period_locks",
        "holidays",
        "schedule_assignments",
        "work_group_members",
        "work_groups",
        "schedules",
    ):
        op.drop_table(table)
