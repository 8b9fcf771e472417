"""The outbox drain: nothing lost, nothing sent twice, retries back off, broken channels stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.alerts import AlertDecision, Deliverer, decide_alerts, retry_delay, unblock_channel
from bot.config import Settings, parse_settings
from bot.sinks import AlertView, ChannelError, Delivered, RetryableError
from bot.store.db import session_scope
from bot.store.tables import Alert, ChannelState, Feed, Item, Match, Subscription

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class FakeSink:
    """Records posts; `fail_with` queues exceptions for the next calls; `posted_before` simulates
    a post that went through just before a crash."""

    name: str = "fake"
    posts: list[AlertView] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    posted_before: set[int] = field(default_factory=set)
    ext_shared: set[str] = field(default_factory=set)

    def deliver(self, alert: AlertView) -> Delivered:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.posts.append(alert)
        return Delivered(message_ts=f"{1000 + len(self.posts)}.000100")

    def find_delivered(self, alert: AlertView, *, since: datetime) -> Delivered | None:
        if alert.alert_id in self.posted_before:
            return Delivered(message_ts="999.000001")
        return None

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        return not (restricted and channel in self.ext_shared)


SETTINGS = parse_settings(
    {
        "situations": [
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"]},
            {
                "slug": "eth",
                "name": "Ethiopia",
                "countries": ["ETH"],
                "sensitivity": "restricted",
                "allowed_channels": ["C0SHARED01", "C0PRIVATE1"],
            },
        ],
        "alerts": {"retry_base": "30s", "retry_max": "10m", "max_attempts": 3},
    }
)


def make_alerts(
    engine: Engine, n: int, *, channel: str = "C0TEST0001", situation: str = "sudan"
) -> list[int]:
    ids = []
    with session_scope(engine) as s:
        feed = s.exec(select(Feed)).first()
        if feed is None:
            feed = Feed(name="f", kind="rss", url="https://example.org/rss")
            s.add(feed)
            s.flush()
        sub = s.exec(
            select(Subscription).where(
                Subscription.channel == channel, Subscription.situation == situation
            )
        ).first()
        if sub is None:
            sub = Subscription(channel=channel, situation=situation)
            s.add(sub)
            s.flush()
        for _ in range(n):
            count = len(s.exec(select(Item)).all())
            item = Item(
                feed_id=feed.id or 0, guid=f"g{count}", title=f"Item {count}", published_at=T0
            )
            s.add(item)
            s.flush()
            match = Match(
                item_id=item.id or 0, situation=situation, severity="warning", why="because"
            )
            s.add(match)
            s.flush()
            alert = Alert(
                subscription_id=sub.id or 0,
                item_id=item.id or 0,
                match_id=match.id or 0,
                channel=channel,
                situation=situation,
                severity="warning",
                created_at=T0,
                next_attempt_at=T0,
            )
            s.add(alert)
            s.flush()
            ids.append(alert.id or 0)
    return ids


def states(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as s:
        return {a.id or 0: a.state for a in s.exec(select(Alert)).all()}


def deliverer(
    engine: Engine, sink: FakeSink, clock: Clock, settings: Settings = SETTINGS, **kw: object
) -> Deliverer:
    return Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, owner="test", **kw)  # type: ignore[arg-type]


def test_delivers_each_alert_once_across_restarts(engine: Engine) -> None:
    ids = make_alerts(engine, 5)
    sink, clock = FakeSink(), Clock()
    report = deliverer(engine, sink, clock).drain()
    assert report.delivered == 5
    assert [p.alert_id for p in sink.posts] == ids
    # a new process (restart) finds nothing to send
    deliverer(engine, sink, clock).drain()
    assert len(sink.posts) == 5
    with session_scope(engine) as s:
        assert all(a.message_ts and a.delivered_at == T0 for a in s.exec(select(Alert)).all())


def test_crash_after_intent_is_reconciled_not_resent(engine: Engine) -> None:
    ids = make_alerts(engine, 2)
    with session_scope(engine) as s:  # a previous process recorded intent, then died
        for a in s.exec(select(Alert)).all():
            a.state, a.attempts = "sending", 1
            a.lease_owner, a.lease_expires_at = "dead", T0 + timedelta(minutes=2)
    sink, clock = FakeSink(posted_before={ids[0]}), Clock()
    assert deliverer(engine, sink, clock).drain().delivered == 0  # leases not expired yet
    clock.advance(minutes=3)
    report = deliverer(engine, sink, clock).drain()
    assert report.reconciled == 1 and report.delivered == 1
    assert [p.alert_id for p in sink.posts] == [
        ids[1]
    ]  # the one that had gone through is not re-sent
    assert set(states(engine).values()) == {"delivered"}


def test_retryable_errors_back_off_and_honour_retry_after(engine: Engine) -> None:
    [alert_id] = make_alerts(engine, 1)
    sink = FakeSink(
        fail_with=[RetryableError("rate limited", channel="C0TEST0001", retry_after=120)]
    )
    clock = Clock()
    d = deliverer(engine, sink, clock)
    assert d.drain().retried == 1
    with session_scope(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None and alert.state == "queued"
        assert alert.next_attempt_at == T0 + timedelta(seconds=120)
    clock.advance(seconds=60)
    assert d.drain().delivered == 0
    clock.advance(seconds=61)
    assert d.drain().delivered == 1
    assert len(sink.posts) == 1


def test_gives_up_after_max_attempts(engine: Engine) -> None:
    [alert_id] = make_alerts(engine, 1)
    sink = FakeSink(fail_with=[RetryableError("5xx", channel="C0TEST0001") for _ in range(5)])
    clock = Clock()
    d = deliverer(engine, sink, clock)
    for _ in range(5):
        d.drain()
        clock.advance(hours=1)
    assert states(engine) == {alert_id: "failed"}
    assert sink.posts == []


def test_channel_errors_stop_retrying_that_channel_until_unblocked(engine: Engine) -> None:
    ids = make_alerts(engine, 3)
    other = make_alerts(engine, 1, channel="C0OTHER001")
    sink = FakeSink(
        fail_with=[ChannelError("not_in_channel", channel="C0TEST0001", code="not_in_channel")]
    )
    clock = Clock()
    deliverer(engine, sink, clock).drain()
    result = states(engine)
    assert [result[i] for i in ids] == ["blocked", "blocked", "blocked"]
    assert result[other[0]] == "delivered"
    with session_scope(engine) as s:
        state = s.get(ChannelState, "C0TEST0001")
        assert state is not None and state.error == "not_in_channel"
        assert unblock_channel(s, "C0TEST0001", now=clock()) == 3
    deliverer(engine, sink, clock).drain()
    assert {states(engine)[i] for i in ids} == {"delivered"}


def test_restricted_situation_is_withheld_from_shared_channels(engine: Engine) -> None:
    shared = make_alerts(engine, 1, channel="C0SHARED01", situation="eth")
    private = make_alerts(engine, 1, channel="C0PRIVATE1", situation="eth")
    sink = FakeSink(ext_shared={"C0SHARED01"})
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {shared[0]: "withheld", private[0]: "delivered"}
    assert [p.channel for p in sink.posts] == ["C0PRIVATE1"]


def test_muted_subscription_gets_nothing(engine: Engine) -> None:
    [alert_id] = make_alerts(engine, 1)
    with session_scope(engine) as s:
        sub = s.exec(select(Subscription)).one()
        sub.muted_until = T0 + timedelta(hours=24)
    sink = FakeSink()
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {alert_id: "muted"} and sink.posts == []


def test_paces_messages_per_channel(engine: Engine) -> None:
    make_alerts(engine, 3)
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock, min_interval=timedelta(seconds=1))
    d.drain()
    assert len(sink.posts) == 1
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 2
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 3


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (10, 600)])
def test_retry_delay_doubles_and_caps(attempts: int, seconds: int) -> None:
    assert retry_delay(
        attempts, base=timedelta(seconds=30), cap=timedelta(minutes=10)
    ) == timedelta(seconds=seconds)


def _subs() -> list[Subscription]:
    return [
        Subscription(id=1, channel="C0A0000001", situation="sudan"),
        Subscription(id=2, channel="C0B0000001", situation="sudan", min_severity="critical"),
        Subscription(id=3, channel="C0C0000001", situation="sudan", digest=True),
        Subscription(id=4, channel="C0D0000001", situation="eth"),
        Subscription(id=5, channel="C0E0000001", situation="sudan", alerts=False),
    ]


def _decide(
    severity: str,
    *,
    situation: str = "sudan",
    published: datetime = T0,
    subscriptions: list[Subscription] | None = None,
    channel_counts: dict[str, int] | None = None,
) -> list[AlertDecision]:
    return decide_alerts(
        situation=situation,
        severity=severity,
        published=published,
        now=T0,
        subscriptions=_subs() if subscriptions is None else subscriptions,
        settings=SETTINGS,
        channel_counts={} if channel_counts is None else channel_counts,
    )


def test_policy_filters_by_severity_age_access_and_digest() -> None:
    decisions = _decide("warning")
    assert {(d.channel, d.state) for d in decisions} == {
        ("C0A0000001", "queued"),
        ("C0C0000001", "digest"),
    }
    old = _decide("critical", published=T0 - timedelta(hours=49))
    assert old == []
    restricted = _decide("critical", situation="eth")
    assert restricted == []  # C0D0000001 is not in allowed_channels
    critical = _decide("critical")
    assert {(d.channel, d.state) for d in critical} == {
        ("C0A0000001", "queued"),
        ("C0B0000001", "queued"),
        ("C0C0000001", "queued"),
    }


def test_policy_caps_a_channel_per_hour_except_critical() -> None:
    counts = {"C0A0000001": SETTINGS.alerts.channel_hourly_cap}
    held = _decide("warning", subscriptions=_subs()[:1], channel_counts=counts)
    assert [d.state for d in held] == ["suppressed"]
    urgent = _decide("critical", subscriptions=_subs()[:1], channel_counts=counts)
    assert [d.state for d in urgent] == ["queued"]


def test_instances_share_a_channels_pace(engine: Engine) -> None:
    """Two deliverers (two instances) never post to one channel faster than `min_interval`."""
    make_alerts(engine, 4)
    sink, clock = FakeSink(), Clock()
    pace = timedelta(seconds=1)
    first = deliverer(engine, sink, clock, min_interval=pace)
    second = Deliverer(
        settings=SETTINGS, engine=engine, sink=sink, clock=clock, owner="other", min_interval=pace
    )
    first.drain()
    second.drain()
    assert len(sink.posts) == 1
    clock.advance(seconds=0.5)
    second.drain()
    assert len(sink.posts) == 1
    clock.advance(seconds=0.5)
    second.drain()
    first.drain()
    assert len(sink.posts) == 2
    with session_scope(engine) as s:
        state = s.get(ChannelState, "C0TEST0001")
        assert state is not None and state.last_post_at == clock()
