"""Face templates say how their embedder's input was placed (`alignment`): "yunet" (SFace's crop on
YuNet's five points, `sface-2021dec-yunet` and `dlib+sface-yunet`), "chip-map" (that crop placed from
the kept 150x150 dlib chip instead: YuNet found no face, or `whosthat reembed` moved the template from
its chip); NULL for embedders that take the dlib chip itself (all templates before this revision).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("face_templates") as batch:
        batch.add_column(sa.Column("alignment", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("face_templates") as batch:
        batch.drop_column("alignment")
