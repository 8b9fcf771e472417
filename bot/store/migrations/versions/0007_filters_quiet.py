"""subscription filters, quiet hours and snoozes

- `subscription.filter_query`: the subscription's filter (`bot.filters` syntax), NULL for none;
- `subscription.quiet_hours`: quiet hours from `config.toml` ("22:00-07:00"), NULL: the channel's;
- `channel_state.quiet_hours`: the channel's quiet hours, set by `/tocsin quiet`.

Snoozes reuse `subscription.muted_until` (the 24-hour Mute button's field); held alerts reuse
the outbox's `held` state and roll-ups. No data moves.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filter_query", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("quiet_hours", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=True)
        )
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quiet_hours", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=True)
        )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+ has it): batch mode would copy and drop
    # `subscription`, which the outbox's foreign key forbids while foreign keys are on
    for table, column in (
        ("channel_state", "quiet_hours"),
        ("subscription", "quiet_hours"),
        ("subscription", "filter_query"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
