"""SQLModel tables. Every datetime is timezone-aware UTC (see `UTCDateTime`).

feed ─< item ─< match
             └─< outbox >─ subscription     (the outbox: every message that leaves Tocsin, by kind;
                   └─< outbox (parent)        an alert is one row per subscription × item)
outbox ─< feedback;  audit_log;  channel_state (what Tocsin knows about a channel, its pace)
outbox (review) ─< outbox (alerts waiting for it, `review_id`);  outbox (review) ── review_decision

What the assessment remembers (`bot.assessment.StoryBook`, read and written by `bot.store.stories`;
band rows older than the cluster window are pruned):
story_band (LSH band × story: the story index);  story_source (story × source: corroboration);
indicator_seen (situation × risk factor: when last seen, for novelty)

Kept by the database (triggers on `match`, migration 0009), read by `bot.summary`:
match_count (situation × UTC day × severity × risk factor, "" for every match: a count);
outlet_count (situation × UTC day × source × feed × language: a count)
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.store.types import EnumText, UTCDateTime, utcnow


def _empty() -> dict[str, Any]:
    return {}


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Feed(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    kind: str = Field(max_length=16)
    url: str = Field(sa_type=Text)
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, max_length=120)
    body_hash: str | None = Field(default=None, max_length=64)
    last_status: str | None = Field(default=None, max_length=32)
    last_success_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = _when()
    consecutive_failures: int = 0
    next_poll_at: datetime | None = _when(index=True)
    high_water: str | None = Field(default=None, max_length=64)
    budget_day: str | None = Field(default=None, max_length=10)
    budget_calls: int = 0
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_expires_at: datetime | None = _when()


class Item(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_item_feed_guid"),
        Index("ix_item_published", "published_at"),
        Index("ix_item_fetched", "fetched_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")  # indexed first in uq_item_feed_guid
    guid: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    source: str = Field(default="", max_length=255)
    language: str | None = Field(default=None, max_length=16)
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    primary_country: str | None = Field(default=None, max_length=3)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    title_key: str = Field(default="", sa_type=Text)
    cluster_id: int | None = Field(default=None, index=True)
    published_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _item_published(context: Any) -> datetime | None:
    """Default of `match.published_at`: the item's (ingestion passes it; other writers may not)."""
    item_id = context.get_current_parameters()["item_id"]
    query = text("SELECT published_at FROM item WHERE id = :id").columns(published_at=UTCDateTime)
    return context.connection.execute(query, {"id": item_id}).scalar()  # type: ignore[no-any-return]


class Match(SQLModel, table=True):
    """`published_at` repeats the item's, so that a situation's period is one index range.
    (No single-column indexes where a composite one starts with the column: with stale
    statistics PostgreSQL preferred `item.feed_id` alone to `(feed_id, guid)` and read every
    item of the feed for each poll.)"""

    __table_args__ = (
        UniqueConstraint("item_id", "situation", name="uq_match_item_situation"),
        Index("ix_match_situation_published", "situation", "published_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")  # indexed first in uq_match_item_situation
    situation: str = Field(max_length=64)  # indexed first in ix_match_situation_published
    indicators: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    breakdown: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score: float = 0.0
    severity: str = Field(max_length=16)
    why: str = Field(default="", sa_type=Text)
    published_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"default": _item_published},
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MatchCount(SQLModel, table=True):
    """How many matches a situation had on a UTC day, by severity and by risk factor (`code`
    "" counts every match, whatever its factors): what summaries and briefings count, so that
    a period costs a row per day and factor, not a row per report. Triggers on `match` keep it
    (migration 0009): an insert adds one, a delete removes one, in the same transaction.
    `last_at`: the latest match counted (an upper bound once one is deleted); `first_id`: the
    first one, whose evidence names the factor."""

    __tablename__ = "match_count"

    situation: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    severity: str = Field(primary_key=True, max_length=16)
    code: str = Field(primary_key=True, max_length=32)
    n: int = 0
    last_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_id: int = 0


class OutletCount(SQLModel, table=True):
    """How many matches of a situation came on a UTC day from each source, feed and language
    ("" for none): the briefing's source diversity. Kept by the same triggers as `match_count`."""

    __tablename__ = "outlet_count"

    situation: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=255)
    feed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    language: str = Field(primary_key=True, max_length=16)
    n: int = 0


class StoryBand(SQLModel, table=True):
    """One story in one LSH band: the latest member key with that band, and when it came."""

    __tablename__ = "story_band"
    __table_args__ = (
        Index("ix_story_band_recent", "band", "seen_at", "story_id"),
        Index("ix_story_band_seen", "seen_at"),
    )

    band: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    story_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title_key: str = Field(sa_type=Text)
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class StorySource(SQLModel, table=True):
    """A distinct source of a story (its corroboration)."""

    __tablename__ = "story_source"

    story_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(primary_key=True, max_length=255)


class IndicatorSeen(SQLModel, table=True):
    """When a risk factor was last seen for a situation (novelty)."""

    __tablename__ = "indicator_seen"

    situation: str = Field(primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=32)
    last_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Subscription(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "situation", name="uq_subscription"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32, index=True)
    situation: str = Field(max_length=64)
    alerts: bool = True
    briefings: bool = True
    min_severity: str = Field(default="watch", max_length=16)
    digest: bool = False
    critical_breakthrough: bool = True
    timezone: str | None = Field(default=None, max_length=64)
    briefing_weekday: str | None = Field(default=None, max_length=3)  # None: [briefings] weekday
    briefing_time: str | None = Field(default=None, max_length=5)  # "HH:MM"; None: [briefings] time
    active: bool = True
    origin: str = Field(default="config", max_length=16)
    review_channel: str | None = Field(default=None, max_length=32)  # None: the situation's
    review_timeout: int | None = None  # seconds; None: the situation's (None there: never)
    muted_until: datetime | None = _when()  # the 24-hour button, or a snooze (`/tocsin mute`)
    filter_query: str | None = Field(default=None, sa_type=Text)  # `bot.filters` syntax
    quiet_hours: str | None = Field(default=None, max_length=11)  # "22:00-07:00"; None: channel's
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MessageKind(StrEnum):
    """What an outbox row carries: every message that leaves Tocsin is one row of one kind.

    An `alert` whose story already has a root card in its channel becomes a `follow_up` when the
    deliverer first sends it (a compact reply in the root's thread); delivering a follow-up queues
    a `card_update` of the root (chat.update: "N sources · latest …", the story's top severity).
    """

    ALERT = "alert"  # item × subscription; the first of a story in a channel is the root card
    FOLLOW_UP = "follow_up"  # a later source of a story: a compact reply in the root's thread
    CARD_UPDATE = "card_update"  # chat.update of a story's root card
    ROLLUP = "rollup"  # the flood guard's roll-up of held alerts (channel × situation × period)
    DIGEST = "digest"  # a digest subscription's daily digest
    BRIEFING = "briefing"  # a subscription's weekly briefing, with its chart
    BRIEFING_ON_DEMAND = "briefing_on_demand"  # /tocsin brief, with its chart
    ESCALATION = "escalation"  # an alert re-posted to its situation's escalation channel
    REVIEW = "review"  # an item put before reviewers (Share / Share with note… / Discard)


class MessageState(StrEnum):
    """Where an outbox row is. The one definition of the delivery state machine:

        queued ─► sending ─► delivered
          ▲  │       ├─► queued     429: the CHANNEL pauses for Retry-After (no attempt counted);
          │  │       │              5xx, timeout, unreadable answer: this message backs off and,
          │  │       │              since it may have gone through, is looked up before re-posting;
          │  │       │              a briefing, digest or roll-up also goes back here between parts
          │  │       ├─► failed     attempts spent, or Slack rejected the message itself
          │  │       └─► blocked    the channel refused it (archived, bot removed, token revoked)
          │  ├─► blocked    the channel is known to be broken   ── channel fixed ──► queued
          │  ├─► withheld   restricted situation: channel not allowed, or shared outside
          │  ├─► muted      its subscription is muted or has ended
          │  ├─► skipped    nothing to send (empty digest, card update superseded, situation gone)
          │  ├─► digest     waits for the daily digest          ── digest posted ──► digested
          │  ├─► held       over the channel's hourly cap, or   ── roll-up made ──► rolled_up
          │  │              the channel's quiet hours
          │  └─► review     waits for a reviewer (`review_id`)  ── Discard ──► discarded
          │                   ── Share, or a critical alert's review_timeout ──► queued
          └─ (a new row starts here; `bot.outbox.policy.decide` picks every arrow out of queued)

    `queued` and `sending` are pending (the deliverer works on them); `blocked`, `digest`,
    `held` and `review` wait for an event; the others are final. Nothing is ever deleted.
    Leaving `review` is a conditional UPDATE (`WHERE state = 'review'`, `bot.review`), so a
    reviewer's Share, a second reviewer and the timeout cannot release an alert twice.
    """

    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    BLOCKED = "blocked"
    WITHHELD = "withheld"
    MUTED = "muted"
    SKIPPED = "skipped"
    DIGEST = "digest"
    DIGESTED = "digested"
    HELD = "held"
    ROLLED_UP = "rolled_up"
    REVIEW = "review"
    DISCARDED = "discarded"


PENDING = (MessageState.QUEUED, MessageState.SENDING)


class OutboxMessage(SQLModel, table=True):
    """The outbox: one row per message that leaves Tocsin, whatever its kind.

    Alerts are unique per subscription × item; briefings, digests, roll-ups and escalations carry
    a `dedupe_key` (e.g. `briefing:C123:sudan:2026-11-23T09:00:00+00:00`), which is how instances
    and restarts agree that a period is sent once. `body` keeps the rendered parts of a
    multi-part message from its first attempt, so a retry sends the same parts; `parts_sent`
    counts the parts Slack has confirmed.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "item_id", name="uq_outbox_subscription_item"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_channel_queue", "channel", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: MessageKind = Field(
        default=MessageKind.ALERT,
        sa_column=Column(EnumText(MessageKind, 24), nullable=False, default=MessageKind.ALERT),
    )
    state: MessageState = Field(
        default=MessageState.QUEUED,
        sa_column=Column(EnumText(MessageState, 16), nullable=False, default=MessageState.QUEUED),
    )
    channel: str = Field(max_length=32)
    situation: str = Field(max_length=64)
    severity: str | None = Field(default=None, max_length=16)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    match_id: int | None = Field(default=None, foreign_key="match.id")
    parent_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    review_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    dedupe_key: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=_empty)
    )
    body: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    period_start: datetime | None = _when()
    period_end: datetime | None = _when()
    parts_sent: int = 0
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_error: str | None = Field(default=None, sa_type=Text)
    message_ts: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    delivered_at: datetime | None = _when()
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_expires_at: datetime | None = _when()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Feedback(SQLModel, table=True):
    """One user's vote on one alert (a later vote replaces it), with a snapshot of the evidence
    that made the alert fire, taken when the vote was cast (`bot.feedback.record`): `evidence`
    holds `terms`, `events` and `mentions` (see `bot.feedback.snapshot`). `created_at` is the
    time of the latest vote; `origin` says where it came from (`bot.feedback.Origin`)."""

    __table_args__ = (
        UniqueConstraint("alert_id", "user", name="uq_feedback_alert_user"),
        Index("ix_feedback_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="outbox.id", index=True)
    user: str = Field(max_length=32)
    relevant: bool
    situation: str = Field(max_length=64, index=True)
    source: str = Field(default="", max_length=255)
    indicators: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    origin: str = Field(default="button", max_length=16)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    feed: str = Field(default="", max_length=120)
    severity: str | None = Field(default=None, max_length=16)
    evidence: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=_empty)
    )


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    channel: str | None = Field(default=None, max_length=32)
    situation: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReviewDecision(SQLModel, table=True):
    """A reviewer's decision on a `review` message: at most one (the primary key is the review's
    id, so two reviewers at once, or one clicking twice, cannot both decide)."""

    __tablename__ = "review_decision"

    review_id: int = Field(
        foreign_key="outbox.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    decision: str = Field(max_length=16)  # "shared" or "discarded"
    actor: str = Field(max_length=32)
    note: str | None = Field(default=None, sa_type=Text)
    decided_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ChannelState(SQLModel, table=True):
    __tablename__ = "channel_state"

    channel: str = Field(primary_key=True, max_length=32)
    is_ext_shared: bool | None = None
    checked_at: datetime | None = _when()
    error: str | None = Field(default=None, max_length=64)
    error_at: datetime | None = _when()
    timezone: str | None = Field(default=None, max_length=64)
    dm_user: str | None = Field(default=None, max_length=32)  # a direct message: whose it is
    quiet_hours: str | None = Field(default=None, max_length=11)  # "22:00-07:00" (`bot.quiet`)
    paused_until: datetime | None = _when()  # Slack answered 429: nothing goes here before this
    slot_at: datetime | None = _when()  # pacing (GCRA): when the next post is due, theoretically
    cap_hour: datetime | None = _when()  # the UTC clock hour that `cap_count` counts
    cap_count: int = 0  # top-level alerts posted in `cap_hour` (the flood guard)
