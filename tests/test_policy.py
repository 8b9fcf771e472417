"""The delivery policy and the restricted-situation rule: pure functions, plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import access
from bot.config import parse_settings
from bot.outbox.policy import (
    Action,
    ChannelFacts,
    MessageFacts,
    Rules,
    SubscriptionFacts,
    Verdict,
    decide,
    give_back_slot,
    next_opening,
    take_slot,
)
from bot.store.tables import MessageKind, MessageState

NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
HOUR = NOW.replace(minute=0)
SETTINGS = parse_settings(
    {
        "situations": [
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"]},
            {
                "slug": "eth",
                "name": "Ethiopia",
                "countries": ["ETH"],
                "sensitivity": "restricted",
                "allowed_channels": ["CALLOWED"],
                "escalation_channel": "CESCALATE",
            },
        ]
    }
)
SUDAN, ETH = SETTINGS.situation("sudan"), SETTINGS.situation("eth")
RULES = Rules(hourly_cap=2, interval=timedelta(seconds=1), burst=2)
ALERT = MessageFacts(kind=MessageKind.ALERT, severity="warning")
CHANNEL = ChannelFacts(channel="CALLOWED", ext_shared=False)
SUB = SubscriptionFacts()


def verdict(
    message: MessageFacts = ALERT,
    channel: ChannelFacts = CHANNEL,
    subscription: SubscriptionFacts | None = SUB,
    situation: object = SUDAN,
    rules: Rules = RULES,
) -> Verdict:
    return decide(
        message=message,
        channel=channel,
        subscription=subscription,
        situation=situation,  # type: ignore[arg-type]
        rules=rules,
        now=NOW,
    )


def state(v: Verdict) -> str:
    return str(v.state) if v.action == Action.SET else str(v.action)


def test_an_ordinary_alert_is_sent_and_counts_towards_the_cap() -> None:
    v = verdict()
    assert (v.action, v.capped, v.broke_through) == (Action.SEND, True, False)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ({"situation": None}, "skipped"),
        (
            {"situation": ETH, "channel": ChannelFacts(channel="COTHER", ext_shared=False)},
            "withheld",
        ),
        (
            {"situation": ETH, "channel": ChannelFacts(channel="CALLOWED", ext_shared=True)},
            "withheld",
        ),
        (
            {"situation": ETH, "channel": ChannelFacts(channel="CALLOWED", ext_shared=None)},
            "withheld",
        ),
        ({"situation": ETH}, "send"),
        ({"channel": replace(CHANNEL, error="is_archived")}, "blocked"),
        ({"subscription": replace(SUB, active=False)}, "muted"),
        ({"subscription": replace(SUB, alerts=False)}, "muted"),
        ({"subscription": replace(SUB, muted_until=NOW + timedelta(hours=1))}, "muted"),
        ({"subscription": replace(SUB, muted_until=NOW - timedelta(seconds=1))}, "send"),
        ({"subscription": replace(SUB, digest=True)}, "digest"),
        ({"channel": replace(CHANNEL, cap_hour=HOUR, cap_count=2)}, "held"),
        ({"channel": replace(CHANNEL, cap_hour=HOUR - timedelta(hours=1), cap_count=9)}, "send"),
        ({"channel": replace(CHANNEL, paused_until=NOW + timedelta(seconds=3))}, "wait"),
        ({"channel": replace(CHANNEL, slot_at=NOW + timedelta(seconds=1))}, "send"),  # burst
        ({"channel": replace(CHANNEL, slot_at=NOW + timedelta(seconds=2))}, "wait"),
    ],
)
def test_each_rule(case: dict[str, object], expected: str) -> None:
    assert state(verdict(**case)) == expected  # type: ignore[arg-type]


def test_rules_apply_in_order() -> None:
    """Restricted beats blocked beats muted beats digest beats the flood guard beats the pace."""
    everything = {
        "channel": ChannelFacts(
            channel="CALLOWED",
            ext_shared=True,
            error="not_in_channel",
            paused_until=NOW + timedelta(seconds=9),
            cap_hour=HOUR,
            cap_count=5,
        ),
        "subscription": SubscriptionFacts(active=False, digest=True),
        "situation": ETH,
    }
    order = ["withheld", "blocked", "muted", "digest", "held", "wait"]
    for expected in order:
        assert state(verdict(**everything)) == expected  # type: ignore[arg-type]
        if expected == "withheld":
            everything["channel"] = replace(everything["channel"], ext_shared=False)  # type: ignore[type-var]
        elif expected == "blocked":
            everything["channel"] = replace(everything["channel"], error=None)  # type: ignore[type-var]
        elif expected == "muted":
            everything["subscription"] = SubscriptionFacts(digest=True)
        elif expected == "digest":
            everything["subscription"] = SUB
        elif expected == "held":
            everything["channel"] = replace(everything["channel"], cap_count=0)  # type: ignore[type-var]


def test_critical_alerts_break_through_the_flood_guard_and_digests() -> None:
    critical = replace(ALERT, severity="critical")
    full = replace(CHANNEL, cap_hour=HOUR, cap_count=2)
    v = verdict(critical, full)
    assert (v.action, v.broke_through) == (Action.SEND, True)
    assert state(verdict(critical, subscription=replace(SUB, digest=True))) == "send"
    no_breakthrough = replace(SUB, digest=True, critical_breakthrough=False)
    assert state(verdict(critical, subscription=no_breakthrough)) == "digest"


@pytest.mark.parametrize(
    "kind",
    [
        MessageKind.FOLLOW_UP,
        MessageKind.ROLLUP,
        MessageKind.DIGEST,
        MessageKind.BRIEFING,
        MessageKind.ESCALATION,
        MessageKind.CARD_UPDATE,
    ],
)
def test_only_root_alerts_are_held_by_the_flood_guard(kind: MessageKind) -> None:
    full = replace(CHANNEL, cap_hour=HOUR, cap_count=99)
    v = verdict(MessageFacts(kind=kind, severity="warning"), full)
    assert v.action == Action.SEND and not v.capped


def test_a_muted_channel_still_gets_its_briefing_but_not_its_digest() -> None:
    muted = replace(SUB, muted_until=NOW + timedelta(hours=3))
    assert state(verdict(MessageFacts(kind=MessageKind.BRIEFING), subscription=muted)) == "send"
    assert state(verdict(MessageFacts(kind=MessageKind.DIGEST), subscription=muted)) == "muted"
    ended = replace(SUB, active=False)
    assert state(verdict(MessageFacts(kind=MessageKind.BRIEFING), subscription=ended)) == "muted"


def test_escalations_may_go_to_the_configured_escalation_channel_only() -> None:
    escalation = MessageFacts(kind=MessageKind.ESCALATION, severity="critical")
    target = ChannelFacts(channel="CESCALATE", ext_shared=False)
    assert state(verdict(escalation, target, None, ETH)) == "send"
    assert state(verdict(escalation, replace(target, ext_shared=True), None, ETH)) == "withheld"
    assert state(verdict(ALERT, target, SUB, ETH)) == "withheld"  # an alert may not go there


def test_card_updates_take_no_pace_slot_and_yield_to_newer_ones() -> None:
    update = MessageFacts(kind=MessageKind.CARD_UPDATE)
    busy = replace(CHANNEL, slot_at=NOW + timedelta(seconds=30))
    assert state(verdict(update, busy)) == "send"
    assert state(verdict(update, replace(busy, paused_until=NOW + timedelta(seconds=1)))) == "wait"
    assert state(verdict(replace(update, superseded=True))) == "skipped"


def test_pace_is_one_per_interval_on_average_with_a_burst() -> None:
    rules, slot, sent = RULES, None, []
    now = NOW
    for _ in range(40):  # 40 tries, 0.25 s apart: 10 s
        if (
            next_opening(ChannelFacts(channel="C", slot_at=slot), rules, takes_slot=True, now=now)
            is None
        ):
            sent.append(now)
            slot = take_slot(slot, rules, now=now)
        now += timedelta(seconds=0.25)
    assert len(sent) == 11  # a burst of 2, then one a second: 2 + 9
    assert sent[1] - sent[0] < rules.interval  # the burst
    assert give_back_slot(slot, rules) == slot - rules.interval  # type: ignore[operator]
    no_pace = Rules(hourly_cap=1)
    assert (
        next_opening(ChannelFacts(channel="C", slot_at=NOW), no_pace, takes_slot=True, now=NOW)
        is None
    )


def test_access_rule_in_one_place() -> None:
    assert ETH is not None and SUDAN is not None
    assert access.visible_in(SUDAN, "CANY") and not access.visible_in(ETH, "CANY")
    assert access.denial(ETH, channel="CANY", ext_shared=False) == access.Denial.NOT_ALLOWED
    assert access.denial(ETH, channel="CALLOWED", ext_shared=None) == access.Denial.SHARED
    assert access.denial(ETH, channel="CALLOWED", ext_shared=False) is None
    assert access.denial(SUDAN, channel="CANY", ext_shared=True) is None
    assert "designated channels" in access.Denial.NOT_ALLOWED.reason
    assert access.needs_lookup(ETH) and not access.needs_lookup(SUDAN)


def test_held_alerts_are_rolled_up_when_their_hour_is_over() -> None:
    v = verdict(channel=replace(CHANNEL, cap_hour=HOUR, cap_count=2))
    assert (v.state, v.until) == (MessageState.HELD, HOUR + timedelta(hours=1))


REVIEWED_SUB = SubscriptionFacts(review_channel="CREVIEW1")


@pytest.mark.parametrize("kind", [MessageKind.ALERT, MessageKind.FOLLOW_UP])
def test_an_alert_of_a_reviewed_subscription_waits_for_review(kind: MessageKind) -> None:
    waiting = verdict(MessageFacts(kind=kind, severity="critical"), subscription=REVIEWED_SUB)
    assert (waiting.action, waiting.state, waiting.review_channel) == (
        Action.SET,
        MessageState.REVIEW,
        "CREVIEW1",
    )
    shared = MessageFacts(kind=kind, severity="critical", reviewed=True)
    assert verdict(shared, subscription=REVIEWED_SUB).action == Action.SEND


def test_review_comes_after_restriction_and_mute_and_before_digest_and_cap() -> None:
    muted = replace(REVIEWED_SUB, muted_until=NOW + timedelta(hours=1))
    assert verdict(subscription=muted).state == MessageState.MUTED
    assert verdict(situation=ETH, channel=ChannelFacts(channel="COTHER")).state == (
        MessageState.WITHHELD
    )
    digest = replace(REVIEWED_SUB, digest=True)
    assert verdict(subscription=digest).state == MessageState.REVIEW
    reviewed = replace(ALERT, reviewed=True)
    assert verdict(reviewed, subscription=digest).state == MessageState.DIGEST
    full = replace(CHANNEL, cap_hour=HOUR, cap_count=RULES.hourly_cap)
    assert verdict(channel=full, subscription=REVIEWED_SUB).state == MessageState.REVIEW
    assert verdict(reviewed, channel=full, subscription=REVIEWED_SUB).state == MessageState.HELD


@pytest.mark.parametrize(
    "kind", [MessageKind.BRIEFING, MessageKind.ROLLUP, MessageKind.DIGEST, MessageKind.CARD_UPDATE]
)
def test_only_alerts_are_reviewed(kind: MessageKind) -> None:
    assert verdict(MessageFacts(kind=kind), subscription=REVIEWED_SUB).state != (
        MessageState.REVIEW
    )


def test_a_restricted_situation_reaches_a_dm_only_of_an_allowed_user() -> None:
    eth = ETH.model_copy(update={"allowed_users": ["UALLOWED"]})
    for dm_user, expected in (
        ("UALLOWED", None),
        ("USOMEONE", access.Denial.USER_NOT_ALLOWED),
        (None, access.Denial.USER_NOT_ALLOWED),  # whose DM it is is unknown: fail closed
    ):
        found = access.denial(eth, channel="DANY0001", ext_shared=False, dm_user=dm_user)
        assert found == expected, dm_user
    shared = access.denial(eth, channel="DANY0001", ext_shared=None, dm_user="UALLOWED")
    assert shared == access.Denial.SHARED
    assert access.denial(SUDAN, channel="DANY0001", ext_shared=None) is None  # public: any DM
    # allowed users do not open the situation's channels to anyone else
    assert access.denial(eth, channel="CPUBLIC1", ext_shared=False) == access.Denial.NOT_ALLOWED
    dm = ChannelFacts(channel="DANY0001", ext_shared=False, dm_user="UALLOWED")
    assert verdict(channel=dm, situation=eth).action == Action.SEND
    stranger = replace(dm, dm_user="USOMEONE")
    assert verdict(channel=stranger, situation=eth).state == MessageState.WITHHELD


QUIET = replace(SUB, quiet_hours="12:00-13:00", timezone="UTC")  # NOW is 12:30 UTC


def test_quiet_hours_hold_ordinary_alerts_and_replies_until_they_end() -> None:
    for kind in (MessageKind.ALERT, MessageKind.FOLLOW_UP):
        v = verdict(MessageFacts(kind=kind, severity="warning"), subscription=QUIET)
        assert (v.state, v.until, v.reason) == ("held", HOUR + timedelta(hours=1), "quiet hours")
    nairobi = replace(QUIET, timezone="Africa/Nairobi")  # 12:00-13:00 there is 09:00-10:00 UTC
    assert state(verdict(subscription=nairobi)) == "send"
    assert state(verdict(subscription=replace(QUIET, quiet_hours="13:00-12:00"))) == "send"


def test_critical_alerts_break_through_quiet_hours_unless_told_not_to() -> None:
    critical = replace(ALERT, severity="critical")
    assert state(verdict(critical, subscription=QUIET)) == "send"
    strict = replace(QUIET, critical_breakthrough=False)
    assert state(verdict(critical, subscription=strict)) == "held"


@pytest.mark.parametrize(
    "kind",
    [MessageKind.ROLLUP, MessageKind.DIGEST, MessageKind.BRIEFING, MessageKind.CARD_UPDATE],
)
def test_quiet_hours_hold_only_alerts_and_replies(kind: MessageKind) -> None:
    assert state(verdict(MessageFacts(kind=kind, severity="warning"), subscription=QUIET)) == "send"


def test_muted_and_digest_come_before_quiet_hours_which_come_before_the_flood_guard() -> None:
    assert state(verdict(subscription=replace(QUIET, muted_until=NOW + HOUR_SPAN))) == "muted"
    assert state(verdict(subscription=replace(QUIET, digest=True))) == "digest"
    full = replace(CHANNEL, cap_hour=HOUR, cap_count=99)
    v = verdict(channel=full, subscription=QUIET)
    assert v.reason == "quiet hours" and v.until == HOUR + timedelta(hours=1)


HOUR_SPAN = timedelta(hours=1)


def test_review_comes_before_quiet_hours_and_review_cards_are_never_held() -> None:
    reviewed_at_night = replace(QUIET, review_channel="CREVIEW1")
    waiting = verdict(subscription=reviewed_at_night)  # not held for the destination's night
    assert (waiting.state, waiting.review_channel) == (MessageState.REVIEW, "CREVIEW1")
    card = MessageFacts(kind=MessageKind.REVIEW, severity="warning")
    assert state(verdict(card, subscription=None)) == "send"  # a card has no subscription
    assert state(verdict(card, subscription=QUIET)) == "send"  # nor would quiet hours hold it


def test_a_shared_alert_meets_its_destinations_quiet_hours_like_any_other() -> None:
    reviewed_at_night = replace(QUIET, review_channel="CREVIEW1")
    shared = replace(ALERT, reviewed=True)
    held = verdict(shared, subscription=reviewed_at_night)
    assert (held.state, held.reason, held.until) == ("held", "quiet hours", HOUR + HOUR_SPAN)
    critical = replace(shared, severity="critical")
    assert state(verdict(critical, subscription=reviewed_at_night)) == "send"
    strict = replace(reviewed_at_night, critical_breakthrough=False)
    assert state(verdict(critical, subscription=strict)) == "held"
