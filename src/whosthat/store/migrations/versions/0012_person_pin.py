"""People get a PIN for the kiosk's fallback login (employee code + PIN): `pin_hash`, an argon2id hash,
NULL when no PIN is set. Attendance events recorded that way have source "pin" (no schema change).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("pin_hash", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("people", "pin_hash")
