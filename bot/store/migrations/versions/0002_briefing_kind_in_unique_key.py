"""briefing: the kind (weekly | digest) is part of the unique period key

A daily digest and a weekly briefing of the same channel and situation may start at the same
instant (e.g. both at 09:00); each must still be claimed exactly once.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.drop_constraint("uq_briefing_period", type_="unique")
        batch_op.create_unique_constraint(
            "uq_briefing_period", ["channel", "situation", "kind", "period_start"]
        )


def downgrade() -> None:
    with op.batch_alter_table("briefing", schema=None) as batch_op:
        batch_op.drop_constraint("uq_briefing_period", type_="unique")
        batch_op.create_unique_constraint(
            "uq_briefing_period", ["channel", "situation", "period_start"]
        )
