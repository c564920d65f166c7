"""Gallery change log: which people changed at each value of the gallery counter.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_gallery_changes_version", "gallery_changes", ["version"])


def downgrade() -> None:
    op.drop_index("ix_gallery_changes_version", table_name="gallery_changes")
    op.drop_table("gallery_changes")
