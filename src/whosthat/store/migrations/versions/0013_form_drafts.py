"""Form drafts: a page form sent back with errors is kept server-side (encrypted values, errors and
chosen photos, bound to the browser session) for its next GET, so no page is left on a POST address.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from whosthat.store.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_drafts",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_form_drafts_session_hash", "form_drafts", ["session_hash"])
    op.create_index("ix_form_drafts_expires_at", "form_drafts", ["expires_at"])
    op.create_table(
        "form_draft_photos",
        sa.Column(
            "draft_hash",
            sa.String(64),
            sa.ForeignKey("form_drafts.token_hash", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("form_draft_photos")
    op.drop_table("form_drafts")
