"""Shared state for replicas: failure/rate counters and kiosk liveness sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "limit_states",
        sa.Column("limiter", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_limit_states_updated_at", "limit_states", ["updated_at"])
    op.create_table(
        "liveness_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("kiosk", sa.String(64), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("adaptive_turns", sa.JSON(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("pad_mode", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("claimed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_liveness_sessions_expires_at", "liveness_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_liveness_sessions_expires_at", table_name="liveness_sessions")
    op.drop_table("liveness_sessions")
    op.drop_index("ix_limit_states_updated_at", table_name="limit_states")
    op.drop_table("limit_states")
