"""Audit rows keep their target's name as it was at the time of the action: `audit_log.target_label`
("Ada Lovelace (E042)", the kiosk's, API key's, schedule's, group's or holiday's name, the
administrator's username). Existing rows get the name their target has now, where it still exists; the
rows of people deleted before this revision keep no label (their names are gone, as they must be). The
PIN rows (person.pin_set, person.pin_removed, pin_login) no longer copy the person's name into their
detail: it leaves the rows written before too, deleted people's included (right to erasure).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

LABEL_LENGTH = 160
_PIN_ACTIONS = ("person.pin_set", "person.pin_removed", "pin_login")

# target kind -> the query of (id, label) for the targets of that kind that still exist
_NAMES = {
    "person": "SELECT id, name, surname, employee_code FROM people",
    "kiosk": "SELECT id, name FROM kiosks",
    "apikey": "SELECT id, name FROM api_keys",
    "schedule": "SELECT id, name FROM schedules",
    "group": "SELECT id, name FROM work_groups",
    "holiday": "SELECT id, name FROM holidays",
}


def _label(kind: str, row) -> str:
    if kind == "person":
        return f"{f'{row[1]} {row[2]}'.strip()} ({row[3]})"
    return str(row[1])


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("target_label", sa.String(LABEL_LENGTH), nullable=True))
    conn = op.get_bind()
    update = sa.text("UPDATE audit_log SET target_label = :label WHERE target = :target")
    for kind, query in _NAMES.items():
        for row in conn.execute(sa.text(query)).all():
            conn.execute(update, {"label": _label(kind, row)[:LABEL_LENGTH], "target": f"{kind}:{row[0]}"})
    # an administrator's target already says the username ("admin:alice")
    admins = conn.execute(sa.text("SELECT DISTINCT target FROM audit_log WHERE target LIKE 'admin:%'")).all()
    for (target,) in admins:
        conn.execute(update, {"label": target.split(":", 1)[1][:LABEL_LENGTH], "target": target})

    # the PIN rows' copies of the name (and code): the label names the person now
    audit = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("action"), sa.column("detail", sa.JSON)
    )
    pin_rows = conn.execute(
        sa.select(audit.c.id, audit.c.detail).where(audit.c.action.in_(_PIN_ACTIONS))
    ).all()
    for row_id, detail in pin_rows:
        if isinstance(detail, dict) and "name" in detail:
            kept = {k: v for k, v in detail.items() if k not in ("name", "employee_code")}
            conn.execute(sa.update(audit).where(audit.c.id == row_id).values(detail=kept or None))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("target_label")
