"""Attendance events keep how the face matched: `distance` becomes `match_distance` (the Euclidean
distance to the person's closest template) and `match_margin` is new (how far the second-best person
was behind; NULL when only one person was enrolled, and for manual and API events).

Plain ALTER TABLE on both backends (SQLite >= 3.25 renames, >= 3.35 drops a column): no batch copy of
the table, which on SQLite would drop and recreate attendance_events and so cascade into the rows that
reference it (attendance corrections).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE attendance_events RENAME COLUMN distance TO match_distance")
    op.add_column("attendance_events", sa.Column("match_margin", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("attendance_events", "match_margin")
    op.execute("ALTER TABLE attendance_events RENAME COLUMN match_distance TO distance")
