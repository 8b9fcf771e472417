"""The delivery policy: one pure function decides what happens to an outbox message now.

    decide(message=…, channel=…, subscription=…, situation=…, rules=…, now=…) → Verdict

Rules, in order; the first that applies wins (the states are `MessageState`'s):

 1. the situation is no longer configured                                  → skipped
 2. restricted situation and the channel may not have it (`bot.access`)    → withheld
 3. the channel is broken (Slack refused it; fixed by a person)             → blocked
 4. the subscription has ended, or is muted (alerts, follow-ups, roll-ups
    and digests only: a muted channel still gets its weekly briefing)       → muted
 4a. an alert or follow-up of a subscription with a review channel (its own
    or its situation's) that no reviewer has shared yet (and whose review
    has not timed out)                                                     → review
 5. a digest subscription's alert, unless critical with breakthrough on     → digest
 6. quiet hours: an alert or follow-up inside the subscription's (else the
    channel's) quiet hours, unless critical with breakthrough on            → held
 7. the flood guard: a root alert when the channel has had `hourly_cap`
    root alerts this UTC hour, unless critical                              → held
 8. a card update with a newer update of the same card behind it           → skipped
 9. Slack asked us to wait (Retry-After), or the channel's pace has no
    slot free yet                                                           → wait until then
10. send (a root alert counts towards the cap; a critical one over it
    "broke through")

A `held` verdict says until when (`Verdict.until`): the end of the hour, for the flood guard; the
end of the quiet hours (`bot.quiet`), for quiet hours. The roll-up of a channel × situation is
made once that time has passed (`bot.outbox.rollup`), so a quiet night ends in one roll-up.

A `review` verdict names the review channel (`Verdict.review_channel`): the deliverer queues one
`review` message there per item (`bot.review`), which goes through this same function (rule 2
applies to the review channel itself). Review (4a) comes before quiet hours (6): an alert waiting
for a reviewer waits in `review` whatever the hour at its destination, and the review card itself
is never held (quiet hours, digests and the flood guard apply to alerts and follow-ups only), so
no card with buttons ends up inside a roll-up. Once shared, the alert comes back here marked
`reviewed`, and a destination in quiet hours holds it like any other non-critical alert.

Pacing is GCRA (a token bucket kept as one timestamp, `slot_at`): a channel receives at most one
post per `interval` on average, with up to `burst` back to back after a quiet spell or a pause.
A post Slack refused with 429 gives its slot back. Card updates (chat.update) take no slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.access import denial
from bot.config import SituationSettings
from bot.quiet import parse_window, quiet_until
from bot.store.tables import MessageKind, MessageState

HOUR = timedelta(hours=1)
MUTABLE = frozenset(
    {MessageKind.ALERT, MessageKind.FOLLOW_UP, MessageKind.ROLLUP, MessageKind.DIGEST}
)
DIGESTIBLE = frozenset({MessageKind.ALERT, MessageKind.FOLLOW_UP})
QUIET_HOURS = "quiet hours"  # the reason a quiet-hours hold records (roll-ups tell them apart)


@dataclass(frozen=True, kw_only=True)
class MessageFacts:
    kind: MessageKind
    severity: str | None = None
    superseded: bool = False  # a card update with a newer one behind it
    reviewed: bool = False  # a reviewer shared it, or its review timed out (`bot.review`)


@dataclass(frozen=True, kw_only=True)
class ChannelFacts:
    channel: str
    ext_shared: bool | None = None  # asked of Slack only for restricted situations
    dm_user: str | None = None  # a direct-message channel: whose it is
    error: str | None = None
    paused_until: datetime | None = None
    slot_at: datetime | None = None
    cap_hour: datetime | None = None
    cap_count: int = 0


@dataclass(frozen=True, kw_only=True)
class SubscriptionFacts:
    active: bool = True
    alerts: bool = True
    muted_until: datetime | None = None
    digest: bool = False
    critical_breakthrough: bool = True
    review_channel: str | None = None  # its own, else its situation's
    quiet_hours: str | None = None  # "22:00-07:00": the subscription's, else its channel's
    timezone: str = "UTC"  # the zone quiet hours are read in


@dataclass(frozen=True, kw_only=True)
class Rules:
    hourly_cap: int
    interval: timedelta = timedelta(0)  # 0: no pacing (the console)
    burst: int = 1


class Action(StrEnum):
    SEND = "send"
    WAIT = "wait"
    SET = "set"  # move to `Verdict.state` without sending


@dataclass(frozen=True, kw_only=True)
class Verdict:
    action: Action
    state: MessageState | None = None
    reason: str = ""
    until: datetime | None = None  # WAIT: until when; held: when its roll-up is due
    capped: bool = False  # a root alert: counts towards the channel's hourly cap
    broke_through: bool = False  # a critical root alert sent over the cap
    review_channel: str | None = None  # `review`: where reviewers decide


def decide(
    *,
    message: MessageFacts,
    channel: ChannelFacts,
    subscription: SubscriptionFacts | None,
    situation: SituationSettings | None,
    rules: Rules,
    now: datetime,
) -> Verdict:
    """What to do with `message` now (see the module docstring for the rules and their order)."""
    if situation is None:
        return _set(MessageState.SKIPPED, "the situation is no longer in the configuration")
    refused = denial(
        situation,
        channel=channel.channel,
        ext_shared=channel.ext_shared,
        escalation=message.kind == MessageKind.ESCALATION,
        dm_user=channel.dm_user,
    )
    if refused is not None:
        return _set(MessageState.WITHHELD, f"restricted situation: {refused.reason}")
    if channel.error is not None:
        return _set(MessageState.BLOCKED, channel.error)
    quiet = _subscription_rule(message, subscription, now=now)
    if quiet is not None:
        return quiet
    critical = message.severity == "critical"
    capped = message.kind == MessageKind.ALERT
    over = capped and cap_used(channel, now=now) >= rules.hourly_cap
    if over and not critical:
        return Verdict(
            action=Action.SET,
            state=MessageState.HELD,
            reason=f"over the channel's cap of {rules.hourly_cap} an hour",
            until=hour_of(now) + HOUR,
        )
    if message.superseded:
        return _set(MessageState.SKIPPED, "a newer update of the same card follows")
    wait = next_opening(channel, rules, takes_slot=message.kind != MessageKind.CARD_UPDATE, now=now)
    if wait is not None:
        return Verdict(action=Action.WAIT, until=wait)
    return Verdict(action=Action.SEND, capped=capped, broke_through=over)


def _subscription_rule(
    message: MessageFacts, subscription: SubscriptionFacts | None, *, now: datetime
) -> Verdict | None:
    if subscription is None:
        return None
    if not subscription.active or (message.kind in DIGESTIBLE and not subscription.alerts):
        return _set(MessageState.MUTED, "unsubscribed")
    muted = subscription.muted_until is not None and subscription.muted_until > now
    if muted and message.kind in MUTABLE:
        return _set(MessageState.MUTED, "subscription muted")
    if subscription.review_channel and message.kind in DIGESTIBLE and not message.reviewed:
        return Verdict(
            action=Action.SET,
            state=MessageState.REVIEW,
            reason=f"waits for review in {subscription.review_channel}",
            review_channel=subscription.review_channel,
        )
    breakthrough = message.severity == "critical" and subscription.critical_breakthrough
    if subscription.digest and message.kind in DIGESTIBLE and not breakthrough:
        return _set(MessageState.DIGEST, "")
    if subscription.quiet_hours and message.kind in DIGESTIBLE and not breakthrough:
        window = parse_window(subscription.quiet_hours)
        until = quiet_until(window, zone=subscription.timezone, now=now)
        if until is not None:
            return Verdict(
                action=Action.SET, state=MessageState.HELD, reason=QUIET_HOURS, until=until
            )
    return None


def _set(state: MessageState, reason: str) -> Verdict:
    return Verdict(action=Action.SET, state=state, reason=reason)


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def cap_used(channel: ChannelFacts, *, now: datetime) -> int:
    """Root alerts the channel has had in the current UTC hour."""
    return channel.cap_count if channel.cap_hour == hour_of(now) else 0


def next_opening(
    channel: ChannelFacts, rules: Rules, *, takes_slot: bool, now: datetime
) -> datetime | None:
    """When the channel may next receive this message, if not now (a pause, or its pace)."""
    if channel.paused_until is not None and channel.paused_until > now:
        return channel.paused_until
    if not takes_slot or not rules.interval or channel.slot_at is None:
        return None
    earliest = channel.slot_at - rules.interval * (rules.burst - 1)
    return earliest if earliest > now else None


def take_slot(slot_at: datetime | None, rules: Rules, *, now: datetime) -> datetime | None:
    """`slot_at` after one post now (GCRA: the theoretical time of the next post)."""
    if not rules.interval:
        return slot_at
    return max(slot_at or now, now) + rules.interval


def give_back_slot(slot_at: datetime | None, rules: Rules) -> datetime | None:
    """`slot_at` after a post that Slack refused (429): its slot was not used."""
    return None if slot_at is None or not rules.interval else slot_at - rules.interval
