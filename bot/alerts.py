"""Alert policy (which subscriptions get an alert for a match) and the outbox drain.

Outbox states:  queued ─► sending ─► delivered
                  │  ▲        └────► queued (retryable error, backoff) ─► failed (attempts spent)
                  │  └─ uncertain "sending" after a crash: reconciled with the sink first
                  ├─► blocked   (the channel cannot receive messages: ChannelError)
                  ├─► withheld  (restricted situation, channel shared outside the organisation)
                  ├─► muted     (subscription muted at delivery time)
                  ├─► digest    (waits for the subscription's daily digest)
                  └─► suppressed (over the channel's hourly cap when created)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import SEVERITIES, Settings
from bot.metrics import Metrics, process_metrics
from bot.sinks import AlertView, ChannelError, DeliveryError, Evidence, Sink
from bot.store.db import session_scope
from bot.store.tables import Alert, ChannelState, Item, Match, Subscription

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass(frozen=True, kw_only=True)
class AlertDecision:
    subscription_id: int
    channel: str
    state: str  # queued | digest | suppressed
    reason: str = ""


def decide_alerts(
    *,
    situation: str,
    severity: str,
    published: datetime,
    now: datetime,
    subscriptions: Sequence[Subscription],
    settings: Settings,
    channel_counts: dict[str, int],
) -> list[AlertDecision]:
    """Pure: which subscriptions get an outbox row for this (item, situation) match, and how.

    `channel_counts` is the number of alerts already created per channel in the last hour; it is
    updated in place so one poll cannot flood a channel either.
    """
    if published < now - settings.alerts.max_age:
        return []
    if severity_rank(severity) < severity_rank(settings.alerts.min_severity):
        return []
    situation_cfg = settings.situation(situation)
    decisions = []
    for sub in subscriptions:
        if sub.situation != situation or not sub.active or not sub.alerts:
            continue
        if severity_rank(severity) < severity_rank(sub.min_severity):
            continue
        if (
            situation_cfg is not None
            and situation_cfg.sensitivity == "restricted"
            and sub.channel not in situation_cfg.allowed_channels
        ):
            log.warning(
                "event=alert_refused channel=%s situation=%s reason=restricted",
                sub.channel,
                situation,
            )
            continue
        assert sub.id is not None
        critical = severity == "critical"
        if sub.digest and not (critical and sub.critical_breakthrough):
            decisions.append(
                AlertDecision(subscription_id=sub.id, channel=sub.channel, state="digest")
            )
            continue
        count = channel_counts.get(sub.channel, 0)
        if count >= settings.alerts.channel_hourly_cap and not critical:
            decisions.append(
                AlertDecision(
                    subscription_id=sub.id,
                    channel=sub.channel,
                    state="suppressed",
                    reason=f"over the channel cap of {settings.alerts.channel_hourly_cap}/hour",
                )
            )
            continue
        channel_counts[sub.channel] = count + 1
        decisions.append(AlertDecision(subscription_id=sub.id, channel=sub.channel, state="queued"))
    return decisions


def hourly_counts(session: Session, *, now: datetime) -> dict[str, int]:
    rows = session.exec(
        select(col(Alert.channel), func.count())
        .where(col(Alert.created_at) >= now - timedelta(hours=1))
        .where(col(Alert.state).in_(["queued", "sending", "delivered"]))
        .group_by(col(Alert.channel))
    ).all()
    return {channel: int(n) for channel, n in rows}


def retry_delay(attempts: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff for the outbox: base, 2×base, 4×base … capped."""
    delay: timedelta = base * (2 ** max(0, attempts - 1))
    return min(cap, delay)


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, kw_only=True)
class DrainReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    withheld: int = 0
    muted: int = 0
    reconciled: int = 0
    deferred: int = 0


class Deliverer:
    """Drains the outbox through a sink: records intent before each call, reconciles after crashes.

    Safe with several instances on PostgreSQL: alerts are claimed with a lease
    (`SELECT … FOR UPDATE SKIP LOCKED`); an instance that dies loses its leases when they expire.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        sink: Sink,
        clock: Clock,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 50,
        min_interval: timedelta = timedelta(0),
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or process_metrics()
        self.engine = engine
        self.sink = sink
        self.clock = clock
        self.owner = owner or instance_id()
        self.lease = lease
        self.batch = batch
        self.min_interval = min_interval

    def drain(self, *, max_rounds: int = 1000) -> DrainReport:
        """Deliver every due alert now; returns counts. Stops when nothing due is left."""
        totals: dict[str, int] = {}
        for _ in range(max_rounds):
            ids = self._claim()
            if not ids:
                break
            for alert_id in ids:
                outcome = self._deliver_one(alert_id)
                totals[outcome] = totals.get(outcome, 0) + 1
                self.metrics.record_alert(outcome)
        return DrainReport(**{k: v for k, v in totals.items() if k in DrainReport.__annotations__})

    def _claim(self) -> list[int]:
        now = self.clock()
        with session_scope(self.engine) as session:
            query = (
                select(Alert.id)
                .where(col(Alert.state).in_(["queued", "sending"]))
                .where(Alert.next_attempt_at <= now)
                .where(
                    or_(col(Alert.lease_expires_at).is_(None), col(Alert.lease_expires_at) < now)
                )
                .order_by(col(Alert.next_attempt_at), col(Alert.id))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            ids = [i for i in session.exec(query).all() if i is not None]
            if ids:
                session.execute(
                    update(Alert)
                    .where(col(Alert.id).in_(ids))
                    .values(lease_owner=self.owner, lease_expires_at=now + self.lease)
                )
            return ids

    def _deliver_one(self, alert_id: int) -> str:
        now = self.clock()
        with session_scope(self.engine) as session:
            # the row lock orders us against another instance's claim once our lease has expired
            alert = session.get(Alert, alert_id, with_for_update=True)
            if alert is None or alert.lease_owner != self.owner:
                return "skipped"
            blocked = _channel_error(session, alert.channel)
            if blocked:
                return self._finish(session, alert, "blocked", error=blocked)
            sub = session.get(Subscription, alert.subscription_id)
            if sub is not None and sub.muted_until is not None and sub.muted_until > now:
                return self._finish(session, alert, "muted", error="subscription muted")
            if sub is not None and not sub.active:
                return self._finish(session, alert, "muted", error="unsubscribed")
            if not self._may_post(alert):
                return self._finish(
                    session, alert, "withheld", error="restricted situation; channel shared outside"
                )
            channel = self._lock_channel(session, alert.channel)
            wait = self._next_slot(channel, now)
            if wait is not None:
                alert.next_attempt_at = wait
                alert.lease_expires_at = None
                return "deferred"
            view = build_view(session, alert, settings=self.settings)
            if alert.state == "sending" or alert.attempts > 0:
                # the last attempt may have gone through (crash, timeout, 5xx): look where that
                # attempt posted (its thread, recorded with the intent), not where we would now
                tried = dataclasses.replace(view, thread_ts=alert.thread_ts)
                found = self.sink.find_delivered(
                    tried, since=alert.created_at - timedelta(minutes=1)
                )
                if found is not None:
                    alert.message_ts, alert.thread_ts = found.message_ts, found.thread_ts
                    self._finish(session, alert, "delivered")
                    return "reconciled"
            alert.state = "sending"
            alert.attempts += 1
            alert.thread_ts = view.thread_ts
            alert.lease_expires_at = now + self.lease  # the post gets a whole lease
            channel.last_post_at = now  # the channel's slot, shared by every instance
        # intent is committed before the call: a crash from here on is reconciled next time
        try:
            delivered = self.sink.deliver(view)
        except ChannelError as exc:
            return self._record_channel_error(alert_id, exc)
        except DeliveryError as exc:
            return self._record_retry(alert_id, exc)
        with session_scope(self.engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            alert.message_ts = delivered.message_ts
            alert.thread_ts = delivered.thread_ts or view.thread_ts
            return self._finish(session, alert, "delivered")

    def _may_post(self, alert: Alert) -> bool:
        situation = self.settings.situation(alert.situation)
        restricted = situation is not None and situation.sensitivity == "restricted"
        return self.sink.may_post(alert.channel, restricted=restricted)

    def _lock_channel(self, session: Session, channel: str) -> ChannelState:
        """The channel's row, locked until this transaction ends, so that instances take turns."""
        if session.get(ChannelState, channel) is None:
            try:
                with session.begin_nested():
                    session.add(ChannelState(channel=channel))
            except IntegrityError:
                pass  # another instance created it first
        state = session.get(ChannelState, channel, with_for_update=True, populate_existing=True)
        assert state is not None
        return state

    def _next_slot(self, channel: ChannelState, now: datetime) -> datetime | None:
        """When this channel may next receive a message, if not now (≤ 1 per `min_interval`)."""
        last = channel.last_post_at
        if last is not None and now - last < self.min_interval:
            return last + self.min_interval
        return None

    def _finish(
        self, session: Session, alert: Alert, state: str, *, error: str | None = None
    ) -> str:
        now = self.clock()
        alert.state = state
        alert.lease_owner = None
        alert.lease_expires_at = None
        alert.last_error = error
        if state == "delivered":
            alert.delivered_at = now
        log.info("event=alert_%s alert=%s channel=%s", state, alert.id, alert.channel)
        return state

    def _record_retry(self, alert_id: int, exc: DeliveryError) -> str:
        now = self.clock()
        with session_scope(self.engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            throttled = exc.retry_after is not None  # Slack said "later", not "failed"
            if alert.attempts >= self.settings.alerts.max_attempts and not throttled:
                log.error(
                    "event=alert_failed alert=%s channel=%s error=%r",
                    alert_id,
                    exc.channel,
                    str(exc),
                )
                return self._finish(session, alert, "failed", error=str(exc))
            delay = retry_delay(
                alert.attempts,
                base=self.settings.alerts.retry_base,
                cap=self.settings.alerts.retry_max,
            )
            if exc.retry_after is not None:
                delay = max(delay, timedelta(seconds=exc.retry_after))
            alert.state = "queued"
            alert.next_attempt_at = now + delay
            alert.last_error = str(exc)
            alert.lease_owner = None
            alert.lease_expires_at = None
            log.warning(
                "event=alert_retry alert=%s channel=%s attempt=%s delay_s=%d error=%r",
                alert_id,
                exc.channel,
                alert.attempts,
                delay.total_seconds(),
                str(exc),
            )
            return "retried"

    def _record_channel_error(self, alert_id: int, exc: ChannelError) -> str:
        now = self.clock()
        log.error(
            "event=channel_blocked channel=%s code=%s error=%r: fix the channel (invite the bot, "
            "unarchive it or renew the token); Tocsin stops sending there until then",
            exc.channel,
            exc.code,
            str(exc),
        )
        with session_scope(self.engine) as session:
            state = session.get(ChannelState, exc.channel) or ChannelState(channel=exc.channel)
            state.error, state.error_at = exc.code, now
            session.add(state)
            alert = session.get(Alert, alert_id)
            assert alert is not None
            return self._finish(session, alert, "blocked", error=exc.code)


def _channel_error(session: Session, channel: str) -> str | None:
    state = session.get(ChannelState, channel)
    return state.error if state is not None else None


def unblock_channel(session: Session, channel: str, *, now: datetime) -> int:
    """Clear a channel's error and re-queue its blocked alerts; returns how many."""
    state = session.get(ChannelState, channel)
    if state is not None:
        state.error = None
        state.error_at = None
    result = session.execute(
        update(Alert)
        .where(Alert.channel == channel)  # type: ignore[arg-type]
        .where(Alert.state == "blocked")  # type: ignore[arg-type]
        .values(state="queued", next_attempt_at=now, last_error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def build_view(session: Session, alert: Alert, *, settings: Settings) -> AlertView:
    """Everything a sink needs, read from the item, its match and earlier alerts of its story."""
    item = session.get(Item, alert.item_id)
    match = session.get(Match, alert.match_id)
    assert item is not None and match is not None
    situation = settings.situation(alert.situation)
    evidence = tuple(
        Evidence(
            code=str(e.get("key", "")),
            name=str(e.get("name", e.get("key", ""))),
            phrase=str(e.get("matched", e.get("term", ""))),
            field=str(e.get("field", "")),
        )
        for e in match.evidence
        if e.get("kind") == "indicator"
    )
    thread_ts, cluster_size = _story_thread(session, alert=alert, item=item)
    return AlertView(
        alert_id=alert.id or 0,
        channel=alert.channel,
        situation=alert.situation,
        situation_name=situation.name if situation else alert.situation,
        severity=match.severity,
        score=match.score,
        why=match.why,
        title=item.title,
        url=item.url,
        source=item.source,
        published=item.published_at,
        summary=item.summary,
        language=item.language,
        evidence=evidence,
        thread_ts=thread_ts,
        cluster_size=cluster_size,
    )


def _story_thread(session: Session, *, alert: Alert, item: Item) -> tuple[str | None, int]:
    """The first delivered alert of the same story in the same channel: its ts is our thread."""
    if item.cluster_id is None:
        return None, 1
    cluster_items = select(Item.id).where(Item.cluster_id == item.cluster_id)
    first = session.exec(
        select(Alert)
        .where(Alert.channel == alert.channel)
        .where(Alert.situation == alert.situation)
        .where(col(Alert.item_id).in_(cluster_items))
        .where(Alert.id != alert.id)
        .where(Alert.state == "delivered")
        .order_by(col(Alert.delivered_at))
        .limit(1)
    ).first()
    size = session.exec(
        select(func.count()).select_from(Item).where(Item.cluster_id == item.cluster_id)
    ).one()
    if first is None:
        return None, int(size)
    return first.thread_ts or first.message_ts, int(size)
