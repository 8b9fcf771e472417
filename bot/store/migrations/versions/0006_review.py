"""review before sharing, and direct messages

- `subscription` gains `review_channel` and `review_timeout` (seconds): its alerts go to that
  channel for review first (NULL: the situation's `review_channel`, if any).
- `outbox` gains `review_id`: the `review` message an alert waits for (state `review`).
- `review_decision`: one reviewer decision per review message (its primary key is the review's
  id, which is what makes Share exactly-once).
- `channel_state` gains `dm_user`: for a direct-message channel, the user it belongs to (a
  restricted situation goes there only when that user is in the situation's `allowed_users`).

Existing rows are unchanged: no subscription has a review channel, no alert waits for review.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.store.types.UTCDateTime


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


# SQLite adds and drops these columns in place (ALTER TABLE … ADD/DROP COLUMN): a batch copy of
# `outbox` or `subscription` would drop a table that `feedback` and `outbox` rows point at, which
# foreign keys refuse.
def upgrade() -> None:
    op.add_column("subscription", sa.Column("review_channel", _string(32), nullable=True))
    op.add_column("subscription", sa.Column("review_timeout", sa.Integer(), nullable=True))
    op.add_column("channel_state", sa.Column("dm_user", _string(32), nullable=True))
    if _sqlite():
        op.execute("ALTER TABLE outbox ADD COLUMN review_id INTEGER REFERENCES outbox (id)")
    else:
        op.add_column("outbox", sa.Column("review_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_outbox_review_id_outbox", "outbox", "outbox", ["review_id"], ["id"]
        )
    op.create_index("ix_outbox_review_id", "outbox", ["review_id"], unique=False)
    op.create_table(
        "review_decision",
        sa.Column("review_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("decision", _string(16), nullable=False),
        sa.Column("actor", _string(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("review_id"),
    )


def downgrade() -> None:
    op.drop_table("review_decision")
    op.drop_index("ix_outbox_review_id", table_name="outbox")
    if not _sqlite():
        op.drop_constraint("fk_outbox_review_id_outbox", "outbox", type_="foreignkey")
    for table, column in (
        ("outbox", "review_id"),
        ("channel_state", "dm_user"),
        ("subscription", "review_timeout"),
        ("subscription", "review_channel"),
    ):
        if _sqlite():
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
