"""What the delivery policy needs to know, read from (and written back to) the store.

lock_channel        the channel's `ChannelState`, locked for this transaction: instances
                    take turns on a channel's pace, pause, error and flood count
channel_facts       that state as `policy.ChannelFacts`
subscription_facts  a subscription as `policy.SubscriptionFacts` (None for messages that
                    belong to no subscription: escalations, on-demand briefings, card updates),
                    with the quiet hours and time zone that apply (its own, else its channel's)
count_towards_cap   one more root alert in the channel's current hour (the flood guard)
unblock_channel     the channel works again: its blocked messages are queued, in order
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.briefing.schedule import resolve_timezone
from bot.config import SituationSettings
from bot.outbox.policy import ChannelFacts, SubscriptionFacts, hour_of
from bot.store.tables import ChannelState, MessageState, OutboxMessage, Subscription


def lock_channel(session: Session, channel: str) -> ChannelState:
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


def channel_facts(channel: ChannelState, ext_shared: bool | None) -> ChannelFacts:
    return ChannelFacts(
        channel=channel.channel,
        ext_shared=ext_shared,
        dm_user=channel.dm_user,
        error=channel.error,
        paused_until=channel.paused_until,
        slot_at=channel.slot_at,
        cap_hour=channel.cap_hour,
        cap_count=channel.cap_count,
    )


def subscription_facts(
    session: Session,
    subscription_id: int | None,
    *,
    channel: ChannelState,
    default_timezone: str,
    situation: SituationSettings | None = None,
) -> SubscriptionFacts | None:
    """The subscription's facts: its review channel is its own, else its `situation`'s; its
    quiet hours its own, else its `channel`'s."""
    sub = session.get(Subscription, subscription_id) if subscription_id is not None else None
    if sub is None:
        return None
    review = sub.review_channel or (situation.review_channel if situation else None)
    return SubscriptionFacts(
        active=sub.active,
        alerts=sub.alerts,
        muted_until=sub.muted_until,
        digest=sub.digest,
        critical_breakthrough=sub.critical_breakthrough,
        review_channel=review,
        quiet_hours=sub.quiet_hours or channel.quiet_hours,
        timezone=resolve_timezone(sub.timezone, channel.timezone, default_timezone),
    )


def count_towards_cap(session: Session, channel: str, *, now: datetime) -> None:
    state = lock_channel(session, channel)
    hour = hour_of(now)
    state.cap_count = state.cap_count + 1 if state.cap_hour == hour else 1
    state.cap_hour = hour


def unblock_channel(session: Session, channel: str, *, now: datetime) -> int:
    """Clear a channel's error and queue its blocked messages again; returns how many."""
    state = session.get(ChannelState, channel)
    if state is not None:
        state.error = None
        state.error_at = None
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.channel) == channel)
        .where(col(OutboxMessage.state) == MessageState.BLOCKED)
        .values(state=MessageState.QUEUED, next_attempt_at=now, last_error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
