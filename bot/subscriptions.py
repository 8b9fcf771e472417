"""Which channel watches which situation: service functions shared by Slack commands and start-up.

`config.toml` subscriptions are the initial state; changes made in Slack live in the database
and win (an unsubscribed row stays, inactive, so the config cannot bring it back). Every change
writes an `AuditLog` row: who, what, where, when (actions: subscribe, unsubscribe, filter, mute,
unmute, quiet).

A subscription's filter (`bot.filters`) narrows the alerts it gets; a snooze (`mute`) silences it
until a moment (`muted_until`, the field the 24-hour Mute button sets too); quiet hours
(`bot.quiet`) are the channel's, set here and read by the delivery policy.

    SubscriptionError        carries the situation slug
    ├── UnknownSituationError     with "did you mean" suggestions
    └── NotAllowedError           restricted situation from a channel that may not have it
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import access
from bot.config import CLOCK_TIME, SEVERITIES, WEEKDAYS, Settings, SituationSettings
from bot.filters import parse
from bot.outbox.policy import QUIET_HOURS
from bot.quiet import QuietHours
from bot.store.tables import AuditLog, ChannelState, MessageState, OutboxMessage, Subscription

MUTE_FOR = timedelta(hours=24)
NO_REVIEW = "none"  # `review:none`: alerts of this subscription are no longer reviewed


class SubscriptionError(Exception):
    def __init__(self, message: str, *, situation: str) -> None:
        super().__init__(message)
        self.situation = situation


class UnknownSituationError(SubscriptionError):
    def __init__(self, situation: str, *, suggestions: list[str]) -> None:
        super().__init__(f"unknown situation {situation!r}", situation=situation)
        self.suggestions = suggestions


class NotAllowedError(SubscriptionError):
    pass


@dataclass(frozen=True, kw_only=True)
class SubscriptionOptions:
    """What `/tocsin subscribe` asked for. A briefing weekday or time left None keeps the
    subscription's own (a new subscription then follows `[briefings]`)."""

    alerts: bool = True
    briefings: bool = True
    min_severity: str = "watch"
    digest: bool = False
    briefing_weekday: str | None = None
    briefing_time: str | None = None
    dm: bool = False  # the person's direct messages, not the channel
    review_channel: str | None = None  # None: keep the subscription's; NO_REVIEW: remove it
    review_timeout: timedelta | None = None  # None: keep the subscription's

    def __post_init__(self) -> None:
        if self.min_severity not in SEVERITIES:
            raise ValueError(f"min_severity must be one of {SEVERITIES}")
        if self.briefing_weekday is not None and self.briefing_weekday not in WEEKDAYS:
            raise ValueError(f"briefing_weekday must be one of {WEEKDAYS}")
        if self.briefing_time is not None and not re.match(CLOCK_TIME, self.briefing_time):
            raise ValueError("briefing_time must be a 24-hour time such as '09:00'")


@dataclass(frozen=True, kw_only=True)
class Change:
    subscription: Subscription
    created: bool
    before: dict[str, Any] | None


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    channel: str | None = None,
    situation: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action=action,
            channel=channel,
            situation=situation,
            detail=detail or {},
        )
    )


def visible_situations(
    settings: Settings, channel: str, *, user: str | None = None
) -> list[SituationSettings]:
    """Public situations, and restricted ones only from their allowed channels (or, with `user`,
    to the people in their allowed users)."""
    return [s for s in settings.situations if access.visible_in(s, channel, user=user)]


def resolve_situation(
    settings: Settings, *, channel: str, name: str, user: str | None = None
) -> SituationSettings:
    """The situation a user means by slug or name; `UnknownSituationError` with suggestions if none.

    Restricted situations are invisible outside their allowed channels (no hint that they exist);
    with `user` (a subscription for that person's direct messages), also to its allowed users.
    """
    wanted = name.strip().lower()
    visible = visible_situations(settings, channel, user=user)
    for situation in visible:
        if wanted in (situation.slug, situation.name.lower()):
            return situation
    by_key = {s.slug: s.slug for s in visible} | {s.name.lower(): s.slug for s in visible}
    close = difflib.get_close_matches(wanted, list(by_key), n=3, cutoff=0.5)
    suggestions = list(dict.fromkeys(by_key[c] for c in close))
    raise UnknownSituationError(name, suggestions=suggestions)


def check_may_subscribe(
    situation: SituationSettings,
    *,
    channel: str,
    ext_shared: bool | None,
    dm_user: str | None = None,
) -> None:
    """Restricted: only from `allowed_channels` (a DM: to `allowed_users`), and never into a
    channel shared outside."""
    refused = access.denial(situation, channel=channel, ext_shared=ext_shared, dm_user=dm_user)
    if refused is not None:
        raise NotAllowedError(refused.reason, situation=situation.slug)


def check_may_review(
    situation: SituationSettings, *, review_channel: str, ext_shared: bool | None
) -> None:
    """A review channel sees everything it reviews: the same rule as a destination."""
    refused = access.denial(situation, channel=review_channel, ext_shared=ext_shared)
    if refused is not None:
        raise NotAllowedError(
            f"the review channel cannot have it: {refused.reason}", situation=situation.slug
        )


def find(session: Session, *, channel: str, situation: str) -> Subscription | None:
    return session.exec(
        select(Subscription)
        .where(Subscription.channel == channel)
        .where(Subscription.situation == situation)
    ).first()


def subscribe(
    session: Session,
    *,
    situation: SituationSettings,
    channel: str,
    options: SubscriptionOptions,
    actor: str,
    now: datetime,
    ext_shared: bool | None,
    dm_user: str | None = None,
) -> Change:
    """Create or update (and re-activate) the channel's subscription; audited. The review channel
    and timeout are kept unless `options` change them (`review:none` removes them)."""
    check_may_subscribe(situation, channel=channel, ext_shared=ext_shared, dm_user=dm_user)
    sub = find(session, channel=channel, situation=situation.slug)
    created = sub is None
    before = None if sub is None else _snapshot(sub)
    if sub is None:
        sub = Subscription(channel=channel, situation=situation.slug, created_at=now)
    sub.alerts, sub.briefings = options.alerts, options.briefings
    sub.min_severity, sub.digest = options.min_severity, options.digest
    sub.briefing_weekday = options.briefing_weekday or sub.briefing_weekday
    sub.briefing_time = options.briefing_time or sub.briefing_time
    if options.review_channel == NO_REVIEW:
        sub.review_channel, sub.review_timeout = None, None
    elif options.review_channel is not None:
        sub.review_channel = options.review_channel
    if options.review_timeout is not None:
        sub.review_timeout = seconds(options.review_timeout)
    sub.active, sub.origin, sub.created_by = True, "slack", actor
    session.add(sub)
    audit(
        session,
        actor=actor,
        action="subscribe",
        now=now,
        channel=channel,
        situation=situation.slug,
        detail={"options": _options(options), "before": before, "created": created},
    )
    session.flush()
    return Change(subscription=sub, created=created, before=before)


def unsubscribe(
    session: Session, *, situation: str, channel: str, actor: str, now: datetime
) -> bool:
    """Deactivate (not delete: the config must not resurrect it). False when not subscribed."""
    sub = find(session, channel=channel, situation=situation)
    if sub is None or not sub.active:
        return False
    sub.active, sub.origin = False, "slack"
    session.add(sub)
    audit(session, actor=actor, action="unsubscribe", now=now, channel=channel, situation=situation)
    return True


def mute(
    session: Session,
    *,
    subscription: Subscription,
    actor: str,
    now: datetime,
    until: datetime | None = None,
) -> datetime:
    """Snooze the subscription until `until` (default: 24 hours, the Mute button's); audited."""
    until = until or now + MUTE_FOR
    before = subscription.muted_until
    subscription.muted_until = until
    session.add(subscription)
    audit(
        session,
        actor=actor,
        action="mute",
        now=now,
        channel=subscription.channel,
        situation=subscription.situation,
        detail={"until": until.isoformat(), "before": _iso(before)},
    )
    return until


def unmute(
    session: Session, *, subscription: Subscription, actor: str, now: datetime
) -> datetime | None:
    """End a snooze; returns until when it would have lasted (None: it was not snoozed)."""
    before = subscription.muted_until
    if before is None or before <= now:
        return None
    subscription.muted_until = None
    session.add(subscription)
    audit(
        session,
        actor=actor,
        action="unmute",
        now=now,
        channel=subscription.channel,
        situation=subscription.situation,
        detail={"before": _iso(before)},
    )
    return before


def set_filter(
    session: Session, *, subscription: Subscription, query: str | None, actor: str, now: datetime
) -> None:
    """Set (or, with None, clear) the subscription's filter; `FilterError` if it cannot be
    used, with nothing changed; audited."""
    query = query.strip() if query else None
    if query:
        parse(query)
    before = subscription.filter_query
    subscription.filter_query = query or None
    session.add(subscription)
    audit(
        session,
        actor=actor,
        action="filter",
        now=now,
        channel=subscription.channel,
        situation=subscription.situation,
        detail={"before": before, "after": subscription.filter_query},
    )


@dataclass(frozen=True, kw_only=True)
class QuietChange:
    before: str | None
    after: str | None
    cleared: dict[str, str]  # situation → the subscription's own quiet hours, now cleared
    released: int = 0  # alerts held for the old quiet hours, now due for their roll-up


def set_quiet_hours(
    session: Session, *, channel: str, window: QuietHours | None, actor: str, now: datetime
) -> QuietChange:
    """The channel's quiet hours (None: none). Like the channel's time zone, set from Slack they
    are the channel's one setting: per-subscription ones from `config.toml` are cleared. What
    the old quiet hours held is rolled up at the next tick rather than when they would have
    ended (the new setting decides about everything that comes in from now on)."""
    state = session.get(ChannelState, channel) or ChannelState(channel=channel)
    before = state.quiet_hours
    state.quiet_hours = None if window is None else str(window)
    session.add(state)
    cleared: dict[str, str] = {}
    for sub in session.exec(select(Subscription).where(Subscription.channel == channel)).all():
        if sub.quiet_hours is not None:
            cleared[sub.situation] = sub.quiet_hours
            sub.quiet_hours = None
            session.add(sub)
    released = _release_quiet_holds(session, channel=channel, now=now)
    audit(
        session,
        actor=actor,
        action="quiet",
        now=now,
        channel=channel,
        detail={
            "before": before,
            "after": state.quiet_hours,
            "cleared": cleared,
            "released": released,
        },
    )
    session.flush()
    return QuietChange(before=before, after=state.quiet_hours, cleared=cleared, released=released)


def _release_quiet_holds(session: Session, *, channel: str, now: datetime) -> int:
    """Alerts held for the old quiet hours are due for their roll-up now, not at the old end."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.channel) == channel)
        .where(col(OutboxMessage.state) == MessageState.HELD)
        .where(col(OutboxMessage.last_error) == QUIET_HOURS)
        .where(col(OutboxMessage.period_end) > now)
        .values(period_end=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def channel_subscriptions(session: Session, channel: str) -> list[Subscription]:
    return list(
        session.exec(
            select(Subscription)
            .where(Subscription.channel == channel)
            .where(col(Subscription.active).is_(True))
            .order_by(col(Subscription.situation))
        ).all()
    )


def sync_config_subscriptions(session: Session, settings: Settings, *, now: datetime) -> int:
    """Insert config subscriptions that are not in the database yet; never override a row.

    Returns how many were inserted (each with an audit row, actor "config").
    """
    inserted = 0
    for entry in settings.subscriptions:
        for slug in entry.situations:
            if find(session, channel=entry.channel, situation=slug) is not None:
                continue
            sub = Subscription(
                channel=entry.channel,
                situation=slug,
                alerts=entry.alerts,
                briefings=entry.briefings,
                min_severity=entry.min_severity,
                digest=entry.digest,
                critical_breakthrough=entry.critical_breakthrough,
                timezone=entry.timezone,
                briefing_weekday=entry.briefing_weekday,
                briefing_time=entry.briefing_time,
                review_channel=entry.review_channel,
                review_timeout=seconds(entry.review_timeout),
                filter_query=entry.filter,
                quiet_hours=entry.quiet_hours,
                origin="config",
                created_at=now,
            )
            session.add(sub)
            session.flush()
            audit(
                session,
                actor="config",
                action="subscribe",
                now=now,
                channel=entry.channel,
                situation=slug,
                detail={"origin": "config", "subscription": _snapshot(sub)},
            )
            inserted += 1
    return inserted


def review_timeout(sub: Subscription, situation: SituationSettings | None) -> timedelta | None:
    """How long a critical alert of `sub` waits for a reviewer (None: for ever)."""
    if sub.review_timeout is not None:
        return timedelta(seconds=sub.review_timeout)
    return situation.review_timeout if situation else None


def seconds(duration: timedelta | None) -> int | None:
    """A duration as whole seconds, as the database keeps it (None stays None)."""
    return None if duration is None else int(duration.total_seconds())


def _snapshot(sub: Subscription) -> dict[str, Any]:
    return {
        "alerts": sub.alerts,
        "briefings": sub.briefings,
        "min_severity": sub.min_severity,
        "digest": sub.digest,
        "briefing_weekday": sub.briefing_weekday,
        "briefing_time": sub.briefing_time,
        "timezone": sub.timezone,
        "filter": sub.filter_query,
        "quiet_hours": sub.quiet_hours,
        "muted_until": _iso(sub.muted_until),
        "active": sub.active,
        "origin": sub.origin,
        "review_channel": sub.review_channel,
        "review_timeout": sub.review_timeout,
    }


def _options(options: SubscriptionOptions) -> dict[str, Any]:
    """The options as JSON for the audit log."""
    return asdict(options) | {"review_timeout": seconds(options.review_timeout)}
