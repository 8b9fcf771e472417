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


def upgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_channel", _string(32), nullable=True))
        batch_op.add_column(sa.Column("review_timeout", sa.Integer(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_outbox_review_id_outbox", "outbox", ["review_id"], ["id"])
        batch_op.create_index("ix_outbox_review_id", ["review_id"], unique=False)
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dm_user", _string(32), nullable=True))
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
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.drop_column("dm_user")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_review_id")
        batch_op.drop_constraint("fk_outbox_review_id_outbox", type_="foreignkey")
        batch_op.drop_column("review_id")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("review_timeout")
        batch_op.drop_column("review_channel")
