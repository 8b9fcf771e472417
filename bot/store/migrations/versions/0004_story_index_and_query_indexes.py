"""story index, story sources, risk factors seen; match.published_at; indexes for year-long reads

What the assessment remembers moves from per-instance caches into the database, so that several
instances agree on stories, corroboration and novelty (`bot.assessment`, `bot.store.stories`).
`match.published_at` (a copy of the item's) makes a situation's period one index range.
Single-column indexes that a composite index already starts with are dropped: with stale
statistics PostgreSQL chose `ix_item_feed_id` over `uq_item_feed_guid` and read a feed's every
item at each poll (bench/stories.py).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_band",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("seen_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("band", "story_id"),
    )
    with op.batch_alter_table("story_band", schema=None) as batch_op:
        batch_op.create_index("ix_story_band_recent", ["band", "seen_at", "story_id"])
        batch_op.create_index("ix_story_band_seen", ["seen_at"])
    op.create_table(
        "story_source",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("story_id", "source"),
    )
    op.create_table(
        "indicator_seen",
        sa.Column("situation", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("situation", "code"),
    )
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published_at", bot.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE match SET published_at = "
        "(SELECT item.published_at FROM item WHERE item.id = match.item_id)"
    )
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.alter_column(
            "published_at",
            existing_type=bot.store.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_index("ix_match_situation_published", ["situation", "published_at"])
        batch_op.drop_index("ix_match_situation")  # the composite index starts with it
        batch_op.drop_index("ix_match_item_id")  # uq_match_item_situation starts with it
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_fetched", ["fetched_at"])
        batch_op.drop_index("ix_item_feed_id")  # uq_item_feed_guid starts with it


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_feed_id", ["feed_id"])
        batch_op.drop_index("ix_item_fetched")
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.create_index("ix_match_item_id", ["item_id"])
        batch_op.create_index("ix_match_situation", ["situation"])
        batch_op.drop_index("ix_match_situation_published")
        batch_op.drop_column("published_at")
    op.drop_table("indicator_seen")
    op.drop_table("story_source")
    with op.batch_alter_table("story_band", schema=None) as batch_op:
        batch_op.drop_index("ix_story_band_seen")
        batch_op.drop_index("ix_story_band_recent")
    op.drop_table("story_band")
