"""feedback keeps the evidence behind the alert: terms, events, mentions, item, feed, origin

Each `feedback` row gains a snapshot of what made its alert fire, taken when the vote is cast
(`bot.feedback.record`): `evidence` (matched terms, events, situation mentions), the item, the
feed, the severity, and where the vote came from (`origin`: a button or a review decision).
Existing votes are filled in from their alert's stored match, item and feed, so the precision
report (`tocsin feedback report`) counts them too. An index on `created_at` serves its period.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
TERM_KEYS = ("key", "term", "matched", "field", "start", "end")
EVENT_KEYS = ("act", "act_kind", "codes", "victims", "targets", "phrase", "field")


def upgrade() -> None:
    with op.batch_alter_table("feedback", naming_convention=FK_NAMES) as batch:
        batch.add_column(
            sa.Column(
                "origin",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="button",
            )
        )
        batch.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "feed",
                sqlmodel.sql.sqltypes.AutoString(length=120),
                nullable=False,
                server_default="",
            )
        )
        batch.add_column(
            sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_feedback_item_id_item", "item", ["item_id"], ["id"])
        batch.create_index("ix_feedback_item_id", ["item_id"], unique=False)
        batch.create_index("ix_feedback_created", ["created_at"], unique=False)
    _fill_in()
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("evidence", existing_type=sa.JSON(), nullable=False)


def _fill_in() -> None:
    """Votes cast before this revision: item, feed, severity and evidence from their alert."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT f.id, o.item_id, o.severity, m.evidence, fd.name FROM feedback f "
            "JOIN outbox o ON o.id = f.alert_id "
            "LEFT JOIN match m ON m.id = o.match_id "
            "LEFT JOIN item i ON i.id = o.item_id "
            "LEFT JOIN feed fd ON fd.id = i.feed_id"
        ).columns(evidence=sa.JSON())
    ).all()
    table = sa.table(
        "feedback",
        sa.column("id"),
        sa.column("item_id"),
        sa.column("severity"),
        sa.column("feed"),
        sa.column("evidence", sa.JSON()),
    )
    for fid, item_id, severity, evidence, feed in rows:
        conn.execute(
            table.update()
            .where(table.c.id == fid)
            .values(
                item_id=item_id,
                severity=severity,
                feed=(feed or "")[:120],
                evidence=_snapshot(evidence or []),
            )
        )
    conn.execute(table.update().where(table.c.evidence.is_(None)).values(evidence={}))


def _snapshot(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """The evidence as `bot.feedback.snapshot` wrote it at this revision (frozen here)."""

    def pick(e: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        return {k: e.get(k) for k in keys}

    return {
        "terms": [pick(e, TERM_KEYS) for e in evidence if e.get("kind") == "indicator"],
        "events": [pick(e, EVENT_KEYS) for e in evidence if e.get("kind") == "event"],
        "mentions": [pick(e, TERM_KEYS) for e in evidence if e.get("kind") == "situation"],
    }


def downgrade() -> None:
    with op.batch_alter_table("feedback", naming_convention=FK_NAMES) as batch:
        batch.drop_index("ix_feedback_created")
        batch.drop_index("ix_feedback_item_id")
        batch.drop_constraint("fk_feedback_item_id_item", type_="foreignkey")
        batch.drop_column("evidence")
        batch.drop_column("severity")
        batch.drop_column("feed")
        batch.drop_column("item_id")
        batch.drop_column("origin")
