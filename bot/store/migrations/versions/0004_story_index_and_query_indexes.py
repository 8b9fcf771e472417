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
    op.create_index("ix_story_band_recent", "story_band", ["band", "seen_at", "story_id"])
    op.create_index("ix_story_band_seen", "story_band", ["seen_at"])
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
    # plain ALTERs and index statements: rebuilding `match` or `item` on SQLite would drop tables
    # that the outbox's foreign keys point at
    op.add_column("match", sa.Column("published_at", bot.store.types.UTCDateTime(timezone=True)))
    op.execute(
        "UPDATE match SET published_at = "
        "(SELECT item.published_at FROM item WHERE item.id = match.item_id)"
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add NOT NULL in place
        op.alter_column(
            "match",
            "published_at",
            existing_type=bot.store.types.UTCDateTime(timezone=True),
            nullable=False,
        )
    op.create_index("ix_match_situation_published", "match", ["situation", "published_at"])
    op.drop_index("ix_match_situation", table_name="match")  # the composite index leads with it
    op.drop_index("ix_match_item_id", table_name="match")  # uq_match_item_situation leads with it
    op.create_index("ix_item_fetched", "item", ["fetched_at"])
    op.drop_index("ix_item_feed_id", table_name="item")  # uq_item_feed_guid leads with it


def downgrade() -> None:
    op.create_index("ix_item_feed_id", "item", ["feed_id"])
    op.drop_index("ix_item_fetched", table_name="item")
    op.create_index("ix_match_item_id", "match", ["item_id"])
    op.create_index("ix_match_situation", "match", ["situation"])
    op.drop_index("ix_match_situation_published", table_name="match")
    op.drop_column("match", "published_at")  # SQLite ≥ 3.35 drops a column in place
    op.drop_table("indicator_seen")
    op.drop_table("story_source")
    op.drop_index("ix_story_band_seen", table_name="story_band")
    op.drop_index("ix_story_band_recent", table_name="story_band")
    op.drop_table("story_band")
