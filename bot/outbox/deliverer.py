"""The deliverer: drains the outbox through a sink, one message (one part) at a time.

Each channel is a queue served in order: only the oldest pending row of a channel is claimed
(with a lease, `SELECT … FOR UPDATE SKIP LOCKED`), so a channel is served by one instance at a
time and its messages arrive in the order they were queued. For the claimed row:

  1. decide    the facts (message, channel, subscription, situation) go to the pure
               `bot.outbox.policy.decide`: set a state, wait, or send
  2. intent    the row becomes `sending`, with the part it is about to send, and the channel's
               pace slot is taken, all committed BEFORE the sink is called; after a crash (or a
               timeout, a 5xx, an unreadable answer) the next attempt first asks the sink whether
               that part went through (`find_posted`) and only posts it if not
  3. send      one part (a post, an edit, or a chart); then record the answer: the next part,
               delivered, or an error — 429 pauses the channel for Retry-After and gives the slot
               back (no attempt counted); other transient errors back off the message
               exponentially; a channel error blocks the channel; a rejected message fails

Leases are short (`[alerts] lease`) and renewed by the instance's heartbeat (`bot.leases`), so a
dead instance's messages are taken over within one lease.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, exists, select

from bot import access
from bot.config import Settings
from bot.digest import digest_delivered
from bot.leases import instance_id
from bot.metrics import Metrics, process_metrics
from bot.outbox.compose import Next, next_part, total_parts
from bot.outbox.enqueue import queue_card_update
from bot.outbox.facts import channel_facts, count_towards_cap, lock_channel, subscription_facts
from bot.outbox.policy import (
    Action,
    MessageFacts,
    Rules,
    Verdict,
    decide,
    give_back_slot,
    hour_of,
    take_slot,
)
from bot.outbox.views import Story, find_story, newer_card_update
from bot.review import put_up
from bot.sinks import (
    ChannelError,
    DeliveryError,
    Post,
    Posted,
    RateLimitedError,
    RetryableError,
    Sink,
    Upload,
)
from bot.store.db import session_scope
from bot.store.tables import (
    PENDING,
    ChannelState,
    MessageKind,
    MessageState,
    OutboxMessage,
)

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
RECONCILE_SLACK = timedelta(minutes=1)  # look a little before the row was created


@dataclass(frozen=True, kw_only=True)
class Pace:
    """At most one post per `interval` per channel on average, `burst` back to back."""

    interval: timedelta = timedelta(0)
    burst: int = 1

    @classmethod
    def of_slack(cls, settings: Settings) -> Pace:
        return cls(interval=settings.slack.min_interval, burst=settings.slack.burst)


@dataclass(frozen=True, kw_only=True)
class DrainReport:
    """What one `drain()` did, by outcome (`counts`); the common ones as properties."""

    counts: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.counts.get(name, 0)


@dataclass(frozen=True, kw_only=True)
class _Sending:
    message_id: int
    kind: MessageKind
    next: Next
    capped: bool
    broke_through: bool


def retry_delay(attempts: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff for real errors: base, 2×base, 4×base … capped."""
    delay: timedelta = base * (2 ** max(0, attempts - 1))
    return min(cap, delay)


class Deliverer:
    """Drains the outbox through `sink`. Safe with several instances on one PostgreSQL."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        sink: Sink,
        clock: Clock,
        owner: str | None = None,
        lease: timedelta | None = None,
        batch: int = 50,
        pace: Pace | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sink = sink
        self.clock = clock
        self.owner = owner or instance_id()
        self.lease = lease if lease is not None else settings.alerts.lease
        self.batch = batch
        pace = pace or Pace()
        self.rules = Rules(
            hourly_cap=settings.alerts.channel_hourly_cap, interval=pace.interval, burst=pace.burst
        )
        self.metrics = metrics or process_metrics()

    # -- the loop ----------------------------------------------------------------------------
    def drain(self, *, max_rounds: int = 1000) -> DrainReport:
        """Work on every message that is due now; returns counts by outcome."""
        totals: Counter[str] = Counter()
        for _ in range(max_rounds):
            ids = self._claim()
            if not ids:
                break
            for message_id in ids:
                totals[self._deliver_safely(message_id)] += 1
        return DrainReport(counts=dict(totals))

    def _deliver_safely(self, message_id: int) -> str:
        """`deliver_one`, but a bug or a database error on one message never holds its channel:
        the message backs off (it is looked up before any new post) and, in the end, fails."""
        try:
            return self.deliver_one(message_id)
        except SQLAlchemyError:
            raise  # the database is away: the loop waits and tries again
        except Exception as exc:
            log.exception("event=message_crashed message=%s", message_id)
            return self._record_crash(message_id, exc)

    def next_due(self) -> datetime | None:
        """When the earliest channel head that nobody holds becomes due (None: none)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            return session.exec(
                select(func.min(OutboxMessage.next_attempt_at))
                .where(*_heads())
                .where(_free(now, self.owner))
            ).one()

    def _claim(self) -> list[int]:
        """Lease due channel heads. The UPDATE re-checks the lease, so that where SKIP LOCKED does
        not exist (SQLite) two instances still cannot both take a row."""
        now = self.clock()
        free = _free(now, self.owner)
        with session_scope(self.engine) as session:
            query = (
                select(OutboxMessage.id)
                .where(*_heads())
                .where(OutboxMessage.next_attempt_at <= now)
                .where(free)
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            ids = [i for i in session.exec(query).all() if i is not None]
            if not ids:
                return []
            taken = session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .where(free)
                .values(lease_owner=self.owner, lease_expires_at=now + self.lease)
                .returning(col(OutboxMessage.id))
            ).scalars()
            return sorted(set(taken), key=ids.index)

    # -- one message -------------------------------------------------------------------------
    def deliver_one(self, message_id: int) -> str:
        """Decide, record intent, send one part, record the answer; returns the outcome."""
        ext_shared = self._ext_shared(message_id)
        with session_scope(self.engine) as session:
            prepared = self._prepare(session, message_id, ext_shared=ext_shared)
        if isinstance(prepared, str):
            return prepared
        return self._send(prepared)

    def _ext_shared(self, message_id: int) -> bool | None:
        """Slack's answer, asked (outside any transaction) only for restricted situations."""
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, message_id)
            channel, slug = (row.channel, row.situation) if row else ("", "")
        situation = self.settings.situation(slug)
        if situation is None or not access.needs_lookup(situation):
            return None
        return self.sink.is_ext_shared(channel)

    def _prepare(
        self, session: Session, message_id: int, *, ext_shared: bool | None
    ) -> str | _Sending:
        now = self.clock()
        # the row lock orders us against another instance that took over an expired lease
        row = session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
        if row is None or row.lease_owner != self.owner or row.state not in PENDING:
            return "skipped_lost"
        channel = lock_channel(session, row.channel)
        story = self._story(session, row)
        situation = self.settings.situation(row.situation)
        verdict = decide(
            message=MessageFacts(
                kind=row.kind,
                severity=row.severity,
                superseded=row.kind == MessageKind.CARD_UPDATE and newer_card_update(session, row),
                reviewed="review" in row.payload,
            ),
            channel=channel_facts(channel, ext_shared),
            subscription=subscription_facts(
                session,
                row.subscription_id,
                channel=channel,
                default_timezone=self.settings.briefings.timezone,
                situation=situation,
            ),
            situation=situation,
            rules=self.rules,
            now=now,
        )
        if verdict.action == Action.SET:
            return self._settle(session, row, verdict, now=now)
        if verdict.action == Action.WAIT:
            assert verdict.until is not None
            row.next_attempt_at = verdict.until
            _release(row)
            return self._event(row, "deferred")
        return self._intend(session, row, channel, verdict, story=story, now=now)

    def _story(self, session: Session, row: OutboxMessage) -> Story | None:
        """On its first attempt an alert joins its story: a follow-up if the root is there."""
        fresh = row.attempts == 0 and row.parts_sent == 0 and row.parent_id is None
        if row.kind != MessageKind.ALERT or not fresh:
            return None
        story = find_story(session, row)
        if story is not None:
            row.kind, row.parent_id = MessageKind.FOLLOW_UP, story.root_id
        return story

    def _settle(
        self, session: Session, row: OutboxMessage, verdict: Verdict, *, now: datetime
    ) -> str:
        assert verdict.state is not None
        state = verdict.state
        if state == MessageState.HELD:  # rolled up when `until` has passed
            row.period_start, row.period_end = hour_of(now), verdict.until
        elif state == MessageState.REVIEW:  # a person decides (`bot.review`)
            assert verdict.review_channel is not None
            state = put_up(session, row, review_channel=verdict.review_channel, now=now)
        error = verdict.reason if state == verdict.state else None
        return self._finish(row, state, now=now, error=error or None)

    def _intend(
        self,
        session: Session,
        row: OutboxMessage,
        channel: ChannelState,
        verdict: Verdict,
        *,
        story: Story | None,
        now: datetime,
    ) -> str | _Sending:
        planned = next_part(session, row, settings=self.settings, story=story)
        if planned is None:
            state = MessageState.DELIVERED if row.parts_sent else MessageState.SKIPPED
            return self._finish(row, state, now=now, error="nothing to send")
        uncertain = row.state == MessageState.SENDING or row.attempts > 0
        if uncertain:
            found = self._reconcile(row, planned)
            if found is not None:
                return self._part_done(session, row, planned, found, now=now, reconciled=True)
        row.state = MessageState.SENDING
        row.attempts += 1
        row.lease_expires_at = now + self.lease
        if planned.item.thread_ts and row.parts_sent == 0:
            row.thread_ts = planned.item.thread_ts
        if row.kind != MessageKind.CARD_UPDATE:
            channel.slot_at = take_slot(channel.slot_at, self.rules, now=now)
        # committed when this transaction ends, before the sink is called
        return _Sending(
            message_id=row.id or 0,
            kind=row.kind,
            next=planned,
            capped=verdict.capped,
            broke_through=verdict.broke_through,
        )

    def _reconcile(self, row: OutboxMessage, planned: Next) -> Posted | None:
        """Did the last attempt of this part go through? Edits are simply made again; a chart of
        unknown fate is not uploaded twice (it is the one part that cannot be looked up)."""
        item = planned.item
        if isinstance(item, Upload):
            log.warning("event=chart_uncertain message=%s: not uploading it again", row.id)
            return Posted(ts=None)
        if item.update_ts:
            return None
        return self.sink.find_posted(item, since=row.created_at - RECONCILE_SLACK)

    def _send(self, sending: _Sending) -> str:
        item = sending.next.item
        try:
            posted = self.sink.post(item) if isinstance(item, Post) else self._upload(item)
        except RateLimitedError as exc:
            return self._record_throttle(sending, exc)
        except RetryableError as exc:
            return self._record_retry(sending, exc)
        except DeliveryError as exc:
            if isinstance(item, Upload):  # the message went out; its chart is a bonus
                log.warning("event=chart_failed message=%s error=%r", sending.message_id, exc)
                posted = Posted(ts=None)
            elif isinstance(exc, ChannelError):
                return self._record_channel_error(sending, exc)
            else:
                return self._record_rejected(sending, exc)
        now = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, sending.message_id)
            assert row is not None
            outcome = self._part_done(session, row, sending.next, posted, now=now)
            if outcome == "delivered" and sending.capped:
                count_towards_cap(session, row.channel, now=now)
                if sending.broke_through:
                    self.metrics.record_alert("broken_through")
            return outcome

    def _upload(self, upload: Upload) -> Posted:
        self.sink.upload(upload)
        return Posted(ts=None)

    def _part_done(
        self,
        session: Session,
        row: OutboxMessage,
        planned: Next,
        posted: Posted,
        *,
        now: datetime,
        reconciled: bool = False,
    ) -> str:
        edit = isinstance(planned.item, Post) and planned.item.update_ts
        if row.parts_sent == 0 and not edit:
            row.message_ts = posted.ts
        row.parts_sent += 1
        row.attempts = 0
        if row.parts_sent < total_parts(row):
            row.state = MessageState.QUEUED
            row.next_attempt_at = now
            _release(row)
            return self._event(row, "part")
        event = "reconciled" if reconciled else None
        outcome = self._finish(row, MessageState.DELIVERED, now=now, event=event)
        self._after_delivery(session, row, now=now)
        return outcome

    def _after_delivery(self, session: Session, row: OutboxMessage, *, now: datetime) -> None:
        if row.kind == MessageKind.FOLLOW_UP:
            assert row.parent_id is not None
            queue_card_update(
                session,
                channel=row.channel,
                situation=row.situation,
                root_id=row.parent_id,
                now=now,
            )
        elif row.kind == MessageKind.DIGEST:
            digest_delivered(session, row, now=now)

    def _finish(
        self,
        row: OutboxMessage,
        state: MessageState,
        *,
        now: datetime,
        error: str | None = None,
        event: str | None = None,
    ) -> str:
        row.state = state
        row.last_error = error
        _release(row)
        if state == MessageState.DELIVERED:
            row.delivered_at = now
        log.info(
            "event=message_%s message=%s kind=%s channel=%s%s",
            state,
            row.id,
            row.kind,
            row.channel,
            f" reason={error!r}" if error else "",
        )
        return self._event(row, event or str(state))

    def _event(self, row: OutboxMessage, event: str) -> str:
        self.metrics.record_message(event, kind=str(row.kind))
        return event

    # -- answers other than "posted" ---------------------------------------------------------
    def _record_throttle(self, sending: _Sending, exc: RateLimitedError) -> str:
        now = self.clock()
        until = now + timedelta(seconds=exc.retry_after)
        with session_scope(self.engine) as session:
            channel = lock_channel(session, exc.channel)
            channel.paused_until = max(until, channel.paused_until or until)
            if sending.kind != MessageKind.CARD_UPDATE:
                channel.slot_at = give_back_slot(channel.slot_at, self.rules)
            row = session.get(OutboxMessage, sending.message_id)
            assert row is not None
            row.attempts -= 1  # Slack refused it outright: it was never an attempt
            row.state = MessageState.QUEUED
            row.next_attempt_at = channel.paused_until
            _release(row)
            log.warning(
                "event=channel_paused channel=%s retry_after_s=%s message=%s",
                exc.channel,
                exc.retry_after,
                sending.message_id,
            )
            return self._event(row, "throttled")

    def _record_retry(self, sending: _Sending, exc: RetryableError) -> str:
        now = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, sending.message_id)
            assert row is not None
            if row.attempts >= self.settings.alerts.max_attempts:
                log.error(
                    "event=message_failed message=%s channel=%s error=%r",
                    row.id,
                    exc.channel,
                    str(exc),
                )
                return self._finish(row, MessageState.FAILED, now=now, error=str(exc))
            delay = self._backoff(row.attempts)
            row.state = MessageState.QUEUED  # attempts > 0: the next try looks before it posts
            row.next_attempt_at = now + delay
            row.last_error = str(exc)
            _release(row)
            log.warning(
                "event=message_retry message=%s channel=%s attempt=%s delay_s=%d error=%r",
                row.id,
                exc.channel,
                row.attempts,
                delay.total_seconds(),
                str(exc),
            )
            return self._event(row, "retried")

    def _record_channel_error(self, sending: _Sending, exc: ChannelError) -> str:
        now = self.clock()
        log.error(
            "event=channel_blocked channel=%s code=%s error=%r: fix the channel (invite the bot, "
            "unarchive it or renew the token); Tocsin keeps its messages until then",
            exc.channel,
            exc.code,
            str(exc),
        )
        with session_scope(self.engine) as session:
            channel = lock_channel(session, exc.channel)
            channel.error, channel.error_at = exc.code[:64], now
            row = session.get(OutboxMessage, sending.message_id)
            assert row is not None
            row.attempts = 0  # Slack said no: nothing was posted
            return self._finish(row, MessageState.BLOCKED, now=now, error=exc.code)

    def _backoff(self, attempts: int) -> timedelta:
        alerts = self.settings.alerts
        return retry_delay(attempts, base=alerts.retry_base, cap=alerts.retry_max)

    def _record_crash(self, message_id: int, exc: Exception) -> str:
        now = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, message_id)
            if row is None or row.state not in PENDING:
                return "crashed"
            if row.state != MessageState.SENDING:  # else the attempt was counted with its intent
                row.attempts += 1
            if row.attempts >= self.settings.alerts.max_attempts:
                return self._finish(row, MessageState.FAILED, now=now, error=f"crashed: {exc!r}")
            row.state = MessageState.QUEUED
            row.next_attempt_at = now + self._backoff(row.attempts)
            row.last_error = f"crashed: {exc!r}"[:2000]
            _release(row)
            return self._event(row, "retried")

    def _record_rejected(self, sending: _Sending, exc: DeliveryError) -> str:
        now = self.clock()
        log.error(
            "event=message_rejected message=%s channel=%s error=%r",
            sending.message_id,
            exc.channel,
            str(exc),
        )
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, sending.message_id)
            assert row is not None
            return self._finish(row, MessageState.FAILED, now=now, error=str(exc))


def _heads() -> tuple[ColumnElement[bool], ...]:
    """WHERE clauses: pending rows with no older pending row in their channel."""
    older = aliased(OutboxMessage)
    return (
        col(OutboxMessage.state).in_(PENDING),
        ~exists().where(
            col(older.channel) == col(OutboxMessage.channel),
            col(older.state).in_(PENDING),
            col(older.id) < col(OutboxMessage.id),
        ),
    )


def _free(now: datetime, owner: str) -> ColumnElement[bool]:
    """Rows no other instance is working on: never leased, the lease ran out, or ours (a
    deliverer works on one message at a time, so a lease of its own is left over from an error)."""
    return or_(
        col(OutboxMessage.lease_expires_at).is_(None),
        col(OutboxMessage.lease_expires_at) < now,
        col(OutboxMessage.lease_owner) == owner,
    )


def _release(row: OutboxMessage) -> None:
    row.lease_owner = None
    row.lease_expires_at = None
