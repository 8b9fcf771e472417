"""one outbox for every message: `alert` and `briefing` become `outbox`; channel pace and pauses

Every message that leaves Tocsin is now an `outbox` row with a kind (alert, follow_up,
card_update, rollup, digest, briefing, briefing_on_demand, escalation):
- `alert` rows move over with their ids (Slack buttons and `feedback` keep pointing at them);
  their states carry over, except `suppressed` (the old flood guard's silent drop), which becomes
  `held`: the next roll-up posts them. An alert that was posted as a thread reply becomes a
  `follow_up` of the alert whose message it replied to.
- `briefing` rows (weekly briefings and digests, the at-most-once claims) become `briefing` and
  `digest` rows with the dedupe key the code now uses; sent → delivered, failed → failed, empty
  and interrupted claims → skipped (never re-sent); digested alerts point at their digest.
- `channel_state` loses `last_post_at` and gains the pace slot (`slot_at`), the Retry-After pause
  (`paused_until`) and the flood guard's hourly count (`cap_hour`, `cap_count`).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.store.types.UTCDateTime
WEEKLY_TITLE = "weekly briefing"
FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
ALERT_COLUMNS = (
    "id, subscription_id, item_id, match_id, channel, situation, severity, attempts, "
    "next_attempt_at, last_error, message_ts, thread_ts, delivered_at, lease_owner, "
    "lease_expires_at, created_at"
)


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    _create_outbox()
    _copy_alerts()
    _copy_briefings()
    _point_feedback_at("outbox", old="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        for index in ("ix_alert_subscription_id", "ix_alert_item_id", "ix_alert_due"):
            batch_op.drop_index(index)
        batch_op.drop_index("ix_alert_channel")
    op.drop_table("alert")
    op.drop_table("briefing")
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_until", UTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("slot_at", UTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cap_hour", UTC(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("cap_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.drop_column("last_post_at")


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _string(24), nullable=False, server_default="alert"),
        sa.Column("state", _string(16), nullable=False),
        sa.Column("channel", _string(32), nullable=False),
        sa.Column("situation", _string(64), nullable=False),
        sa.Column("severity", _string(16), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", _string(200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("period_start", UTC(timezone=True), nullable=True),
        sa.Column("period_end", UTC(timezone=True), nullable=True),
        sa.Column("parts_sent", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_ts", _string(32), nullable=True),
        sa.Column("thread_ts", _string(32), nullable=True),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        sa.Column("lease_owner", _string(120), nullable=True),
        sa.Column("lease_expires_at", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["match_id"], ["match.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        sa.UniqueConstraint("subscription_id", "item_id", name="uq_outbox_subscription_item"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_channel_queue", ["channel", "state", "id"], unique=False)
        batch_op.create_index("ix_outbox_subscription_id", ["subscription_id"], unique=False)
        batch_op.create_index("ix_outbox_item_id", ["item_id"], unique=False)
        batch_op.create_index("ix_outbox_parent_id", ["parent_id"], unique=False)


def _copy_alerts() -> None:
    """Every alert, same id; suppressed → held; thread replies → follow-ups of their root."""
    op.execute(
        f"INSERT INTO outbox ({ALERT_COLUMNS}, kind, state, payload, parts_sent, period_start, "
        "period_end) "
        f"SELECT {ALERT_COLUMNS}, "
        "CASE WHEN thread_ts IS NOT NULL THEN 'follow_up' ELSE 'alert' END, "
        "CASE WHEN state = 'suppressed' THEN 'held' ELSE state END, "
        "'{}', "
        "CASE WHEN state = 'delivered' THEN 1 ELSE 0 END, "
        "CASE WHEN state = 'suppressed' THEN created_at ELSE NULL END, "
        "CASE WHEN state = 'suppressed' THEN created_at ELSE NULL END "  # rolled up at once
        "FROM alert"
    )
    op.execute(
        "UPDATE outbox SET parent_id = (SELECT r.id FROM outbox r WHERE r.channel = outbox.channel "
        "AND r.message_ts = outbox.thread_ts AND r.id <> outbox.id ORDER BY r.id LIMIT 1) "
        "WHERE kind = 'follow_up'"
    )
    # a reply whose root is unknown is sent as an alert of its own
    op.execute("UPDATE outbox SET kind = 'alert' WHERE kind = 'follow_up' AND parent_id IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('outbox', 'id'), "
            "COALESCE((SELECT max(id) FROM outbox), 0) + 1, false)"
        )


BRIEFING_STATES = {"sent": "delivered", "failed": "failed"}  # empty, claimed → skipped


def _copy_briefings() -> None:
    """Each briefing claim becomes an outbox row with the dedupe key the code now computes."""
    old = sa.table(
        "briefing",
        sa.column("channel", sa.String()),
        sa.column("situation", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("period_start", UTC()),
        sa.column("period_end", UTC()),
        sa.column("state", sa.String()),
        sa.column("message_ts", sa.String()),
        sa.column("created_at", UTC()),
    )
    bind = op.get_bind()
    rows = [_briefing_row(dict(r._mapping)) for r in bind.execute(sa.select(old))]
    if rows:
        bind.execute(sa.insert(_outbox_table()), rows)
    op.execute(
        "UPDATE outbox SET parent_id = (SELECT d.id FROM outbox d WHERE d.kind = 'digest' "
        "AND d.channel = outbox.channel AND d.message_ts = outbox.message_ts "
        "ORDER BY d.id LIMIT 1) WHERE state = 'digested'"
    )


def _briefing_row(old: dict[str, Any]) -> dict[str, Any]:
    kind = "digest" if old["kind"] == "digest" else "briefing"
    state = BRIEFING_STATES.get(old["state"], "skipped")
    key = f"{kind}:{old['channel']}:{old['situation']}:{old['period_start'].isoformat()}"
    return {
        "kind": kind,
        "state": state,
        "channel": old["channel"],
        "situation": old["situation"],
        "dedupe_key": key,
        "payload": {"title": WEEKLY_TITLE, "chart": True} if kind == "briefing" else {},
        "period_start": old["period_start"],
        "period_end": old["period_end"],
        "parts_sent": 1 if state == "delivered" else 0,
        "attempts": 0,
        "message_ts": old["message_ts"],
        "delivered_at": old["created_at"] if state == "delivered" else None,
        "last_error": None if state != "skipped" else f"briefing claim left {old['state']!r}",
        "next_attempt_at": old["created_at"],
        "created_at": old["created_at"],
    }


def _outbox_table() -> sa.TableClause:
    return sa.table(
        "outbox",
        sa.column("kind", sa.String()),
        sa.column("state", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("situation", sa.String()),
        sa.column("dedupe_key", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("period_start", UTC()),
        sa.column("period_end", UTC()),
        sa.column("parts_sent", sa.Integer()),
        sa.column("attempts", sa.Integer()),
        sa.column("message_ts", sa.String()),
        sa.column("delivered_at", UTC()),
        sa.column("last_error", sa.Text()),
        sa.column("next_attempt_at", UTC()),
        sa.column("created_at", UTC()),
    )


def _point_feedback_at(table: str, *, old: str) -> None:
    """feedback.alert_id references `table` instead of `old` (same ids on both)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE feedback DROP CONSTRAINT IF EXISTS feedback_alert_id_fkey")
        op.execute(f"ALTER TABLE feedback DROP CONSTRAINT IF EXISTS fk_feedback_alert_id_{old}")
        op.create_foreign_key(
            f"fk_feedback_alert_id_{table}", "feedback", table, ["alert_id"], ["id"]
        )
        return
    with op.batch_alter_table("feedback", naming_convention=FK_NAMES, recreate="always") as b:
        b.drop_constraint(f"fk_feedback_alert_id_{old}", type_="foreignkey")
        b.create_foreign_key(f"fk_feedback_alert_id_{table}", table, ["alert_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_post_at", UTC(timezone=True), nullable=True))
        for column in ("cap_count", "cap_hour", "slot_at", "paused_until"):
            batch_op.drop_column(column)
    _restore_briefings()
    _restore_alerts()
    _point_feedback_at("alert", old="outbox")
    op.drop_table("outbox")


def _restore_briefings() -> None:
    op.create_table(
        "briefing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _string(32), nullable=False),
        sa.Column("situation", _string(64), nullable=False),
        sa.Column("kind", _string(16), nullable=False),
        sa.Column("period_start", UTC(timezone=True), nullable=False),
        sa.Column("period_end", UTC(timezone=True), nullable=False),
        sa.Column("state", _string(16), nullable=False),
        sa.Column("message_ts", _string(32), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "channel", "situation", "kind", "period_start", name="uq_briefing_period"
        ),
    )
    op.execute(
        "INSERT INTO briefing (channel, situation, kind, period_start, period_end, state, "
        "message_ts, created_at) SELECT channel, situation, "
        "CASE WHEN kind = 'digest' THEN 'digest' ELSE 'weekly' END, period_start, period_end, "
        "CASE state WHEN 'delivered' THEN 'sent' WHEN 'failed' THEN 'failed' "
        "WHEN 'skipped' THEN 'empty' ELSE 'claimed' END, message_ts, created_at "
        "FROM outbox WHERE kind IN ('digest', 'briefing') AND dedupe_key IS NOT NULL"
    )


def _restore_alerts() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("channel", _string(32), nullable=False),
        sa.Column("situation", _string(64), nullable=False),
        sa.Column("severity", _string(16), nullable=False),
        sa.Column("state", _string(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_ts", _string(32), nullable=True),
        sa.Column("thread_ts", _string(32), nullable=True),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        sa.Column("lease_owner", _string(120), nullable=True),
        sa.Column("lease_expires_at", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["match_id"], ["match.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "item_id", name="uq_alert_subscription_item"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_channel", ["channel"], unique=False)
        batch_op.create_index("ix_alert_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_alert_item_id", ["item_id"], unique=False)
        batch_op.create_index("ix_alert_subscription_id", ["subscription_id"], unique=False)
    op.execute(
        f"INSERT INTO alert ({ALERT_COLUMNS}, state) SELECT {ALERT_COLUMNS}, "
        "CASE WHEN state IN ('held', 'rolled_up') THEN 'suppressed' "
        "WHEN state = 'skipped' THEN 'failed' ELSE state END "
        "FROM outbox WHERE kind IN ('alert', 'follow_up')"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('alert', 'id'), "
            "COALESCE((SELECT max(id) FROM alert), 0) + 1, false)"
        )
