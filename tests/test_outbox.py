"""The deliverer with a fake sink: nothing lost, nothing sent twice, order kept, Slack's pace.

Runs on SQLite and PostgreSQL. `FakeSink` records what it is given and can fail on demand;
`Clock` moves time. Slack itself (over HTTP) is in tests/slack/test_delivery.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.alerts import decide_alerts
from bot.config import Settings, parse_settings
from bot.metrics import Metrics
from bot.outbox.deliverer import Deliverer, Pace, retry_delay
from bot.outbox.facts import unblock_channel
from bot.sinks import (
    ChannelError,
    DeliveryError,
    Post,
    Posted,
    RateLimitedError,
    RetryableError,
    Upload,
)
from bot.store.db import session_scope
from bot.store.tables import (
    ChannelState,
    Feed,
    Item,
    Match,
    MessageKind,
    MessageState,
    OutboxMessage,
    Subscription,
)

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
    """Records posts and uploads; `fail_with` queues exceptions for the next calls;
    `posted_before` holds (message id, part) that went through just before a crash."""

    name: str = "fake"
    posts: list[Post] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    posted_before: set[tuple[int, int]] = field(default_factory=set)
    ext_shared: set[str] = field(default_factory=set)
    lookups: list[str] = field(default_factory=list)

    def post(self, post: Post) -> Posted:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.posts.append(post)
        return Posted(ts=post.update_ts or f"{1000 + len(self.posts)}.000100")

    def upload(self, upload: Upload) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.uploads.append(upload)

    def find_posted(self, post: Post, *, since: datetime) -> Posted | None:
        if (post.message_id, post.part) in self.posted_before:
            return Posted(ts="999.000001")
        return None

    def is_ext_shared(self, channel: str) -> bool | None:
        self.lookups.append(channel)
        return channel in self.ext_shared

    def ids(self) -> list[int]:
        return [p.message_id for p in self.posts]


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
        "alerts": {
            "retry_base": "30s",
            "retry_max": "10m",
            "max_attempts": 3,
        },
    }
)
FLOOD = SETTINGS.model_copy(
    update={"alerts": SETTINGS.alerts.model_copy(update={"channel_hourly_cap": 3})}
)


def make_alerts(
    engine: Engine,
    n: int,
    *,
    channel: str = "C0TEST0001",
    situation: str = "sudan",
    severity: str = "warning",
    cluster: bool = False,
    source: str = "Source",
) -> list[int]:
    """`n` queued alerts (with `cluster`, all of one story); returns their ids in order."""
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
        story: int | None = None
        for _ in range(n):
            count = len(s.exec(select(Item)).all())
            item = Item(
                feed_id=feed.id or 0,
                guid=f"g{count}",
                title=f"Item {count}",
                url=f"https://example.org/{count}",
                source=f"{source} {count}" if cluster else source,
                published_at=T0,
            )
            s.add(item)
            s.flush()
            if cluster:
                story = story or item.id
                item.cluster_id = story
            match = Match(
                item_id=item.id or 0, situation=situation, severity=severity, why="because"
            )
            s.add(match)
            s.flush()
            alert = OutboxMessage(
                subscription_id=sub.id or 0,
                item_id=item.id or 0,
                match_id=match.id or 0,
                channel=channel,
                situation=situation,
                severity=severity,
                created_at=T0,
                next_attempt_at=T0,
            )
            s.add(alert)
            s.flush()
            ids.append(alert.id or 0)
    return ids


def states(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as s:
        return {a.id or 0: a.state for a in s.exec(select(OutboxMessage)).all()}


def row(engine: Engine, message_id: int) -> OutboxMessage:
    with session_scope(engine) as s:
        found = s.get(OutboxMessage, message_id)
        assert found is not None
        return found


def deliverer(
    engine: Engine, sink: FakeSink, clock: Clock, settings: Settings = SETTINGS, **kw: object
) -> Deliverer:
    kw.setdefault("owner", "test")
    return Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, **kw)  # type: ignore[arg-type]


PACED = Pace(interval=timedelta(seconds=1), burst=1)


def test_delivers_each_alert_once_across_restarts(engine: Engine) -> None:
    ids = make_alerts(engine, 5)
    sink, clock = FakeSink(), Clock()
    report = deliverer(engine, sink, clock).drain()
    assert report.delivered == 5
    assert sink.ids() == ids
    deliverer(engine, sink, clock).drain()  # a new process (restart) finds nothing to send
    assert len(sink.posts) == 5
    with session_scope(engine) as s:
        assert all(a.message_ts and a.delivered_at == T0 for a in s.exec(select(OutboxMessage)))


def test_crash_after_intent_is_reconciled_not_resent(engine: Engine) -> None:
    ids = make_alerts(engine, 2)
    with session_scope(engine) as s:  # a previous process recorded intent, then died
        for a in s.exec(select(OutboxMessage)).all():
            a.state, a.attempts = MessageState.SENDING, 1
            a.lease_owner, a.lease_expires_at = "dead", T0 + timedelta(seconds=15)
    sink, clock = FakeSink(posted_before={(ids[0], 0)}), Clock()
    assert deliverer(engine, sink, clock).drain().delivered == 0  # the lease still holds
    clock.advance(seconds=16)
    report = deliverer(engine, sink, clock).drain()
    assert report.reconciled == 1 and report.delivered == 1
    assert sink.ids() == [ids[1]]  # the one that had gone through is not posted again
    assert row(engine, ids[0]).message_ts == "999.000001"
    assert set(states(engine).values()) == {"delivered"}


def test_429_pauses_the_channel_not_the_message_and_keeps_the_order(engine: Engine) -> None:
    first, second, third = make_alerts(engine, 3)
    [elsewhere] = make_alerts(engine, 1, channel="C0OTHER001")
    limited = RateLimitedError("slow down", channel="C0TEST0001", retry_after=7)
    sink, clock = FakeSink(fail_with=[limited]), Clock()
    d = deliverer(engine, sink, clock)
    report = d.drain()
    assert report.throttled == 1 and report.delivered == 1
    assert sink.ids() == [elsewhere]  # another channel is not held up
    paused = row(engine, first)
    assert paused.state == "queued" and paused.attempts == 0  # a 429 is not an attempt
    assert paused.next_attempt_at == T0 + timedelta(seconds=7)  # no exponential backoff
    with session_scope(engine) as s:
        channel = s.get(ChannelState, "C0TEST0001")
        assert channel is not None and channel.paused_until == T0 + timedelta(seconds=7)
    clock.advance(seconds=6)
    assert d.drain().delivered == 0  # nothing goes into the paused channel, in any order
    clock.advance(seconds=1)
    assert d.drain().delivered == 3
    assert sink.ids() == [elsewhere, first, second, third]


def test_real_errors_back_off_exponentially_and_look_before_posting_again(engine: Engine) -> None:
    [alert_id] = make_alerts(engine, 1)
    sink = FakeSink(fail_with=[RetryableError("502", channel="C0TEST0001")] * 2)
    clock = Clock()
    d = deliverer(engine, sink, clock)
    assert d.drain().retried == 1
    assert row(engine, alert_id).next_attempt_at == T0 + timedelta(seconds=30)
    clock.advance(seconds=30)
    assert d.drain().retried == 1
    assert row(engine, alert_id).next_attempt_at == clock() + timedelta(seconds=60)
    sink.posted_before.add((alert_id, 0))  # the second 502 had in fact gone through
    clock.advance(seconds=60)
    assert d.drain().reconciled == 1
    assert sink.posts == []


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


def test_a_message_slack_rejects_fails_at_once_and_the_channel_goes_on(engine: Engine) -> None:
    bad, good = make_alerts(engine, 2)
    sink = FakeSink(fail_with=[DeliveryError("invalid_blocks", channel="C0TEST0001")])
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {bad: "failed", good: "delivered"}
    assert "invalid_blocks" in (row(engine, bad).last_error or "")


def test_channel_errors_stop_that_channel_until_it_is_unblocked(engine: Engine) -> None:
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
    assert sink.ids()[-3:] == ids  # in their original order


def test_restricted_situation_is_withheld_from_shared_channels(engine: Engine) -> None:
    shared = make_alerts(engine, 1, channel="C0SHARED01", situation="eth")
    private = make_alerts(engine, 1, channel="C0PRIVATE1", situation="eth")
    public = make_alerts(engine, 1, channel="C0SHARED01")
    not_allowed = make_alerts(engine, 1, channel="C0ELSEWHERE", situation="eth")
    sink = FakeSink(ext_shared={"C0SHARED01"})
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {
        shared[0]: "withheld",
        private[0]: "delivered",
        public[0]: "delivered",
        not_allowed[0]: "withheld",
    }
    assert "C0SHARED01" in sink.lookups and sink.lookups.count("C0SHARED01") == 1  # eth only


def test_muted_or_ended_subscription_gets_nothing(engine: Engine) -> None:
    [muted] = make_alerts(engine, 1)
    [ended] = make_alerts(engine, 1, channel="C0ENDED001")
    with session_scope(engine) as s:
        for sub in s.exec(select(Subscription)).all():
            if sub.channel == "C0ENDED001":
                sub.active = False
            else:
                sub.muted_until = T0 + timedelta(hours=24)
    sink = FakeSink()
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {muted: "muted", ended: "muted"} and sink.posts == []
    assert row(engine, ended).last_error == "unsubscribed"


def test_digest_subscriptions_hold_alerts_for_the_digest_except_critical(engine: Engine) -> None:
    [warning] = make_alerts(engine, 1)
    [critical] = make_alerts(engine, 1, severity="critical")
    with session_scope(engine) as s:
        s.exec(select(Subscription)).one().digest = True
    sink = FakeSink()
    deliverer(engine, sink, Clock()).drain()
    assert states(engine) == {warning: "digest", critical: "delivered"}


def test_paces_each_channel_at_one_message_per_interval(engine: Engine) -> None:
    make_alerts(engine, 3)
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock, pace=PACED)
    assert d.drain().deferred == 1  # one posted, the next waits for its slot
    assert len(sink.posts) == 1
    assert d.next_due() == T0 + timedelta(seconds=1)
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 2
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 3


def test_a_burst_after_a_pause_catches_up_without_exceeding_the_average(engine: Engine) -> None:
    make_alerts(engine, 6)
    limited = RateLimitedError("429", channel="C0TEST0001", retry_after=1)
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock, pace=Pace(interval=timedelta(seconds=1), burst=2))
    d.drain()
    assert len(sink.posts) == 2  # a quiet channel takes a burst of 2 …
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 3  # … then one a second
    sink.fail_with.append(limited)
    clock.advance(seconds=1)
    assert d.drain().throttled == 1  # refused: its slot is given back
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 5  # the pause is made up: 5 posts in 3 s, 2 + 1 a second
    clock.advance(seconds=1)
    d.drain()
    assert len(sink.posts) == 6


def test_instances_share_a_channels_pace(engine: Engine) -> None:
    """Two deliverers (two instances) never post to one channel faster than its pace."""
    make_alerts(engine, 4)
    sink, clock = FakeSink(), Clock()
    first = deliverer(engine, sink, clock, pace=PACED)
    second = deliverer(engine, sink, clock, pace=PACED, owner="other")
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
        assert state is not None and state.slot_at == clock() + timedelta(seconds=1)


def test_flood_guard_holds_over_the_cap_and_lets_critical_break_through(engine: Engine) -> None:
    ids = make_alerts(engine, 5)
    [urgent] = make_alerts(engine, 1, severity="critical")
    metrics = Metrics()
    sink, clock = FakeSink(), Clock()
    report = deliverer(engine, sink, clock, FLOOD, metrics=metrics).drain()
    assert (report.delivered, report.held) == (4, 2)
    result = states(engine)
    assert [result[i] for i in ids] == ["delivered"] * 3 + ["held"] * 2
    assert result[urgent] == "delivered"
    assert metrics.value("tocsin_alerts_total", event="held") == 2
    assert metrics.value("tocsin_alerts_total", event="broken_through") == 1
    assert metrics.value("tocsin_messages_total", kind="alert", event="delivered") == 4
    clock.advance(hours=1)  # a new hour, a new allowance
    more = make_alerts(engine, 1)
    deliverer(engine, sink, clock, FLOOD).drain()
    assert states(engine)[more[0]] == "delivered"


def test_story_follow_ups_are_thread_replies_and_update_the_root_card(engine: Engine) -> None:
    root, second, third = make_alerts(engine, 3, cluster=True)
    sink = FakeSink()
    report = deliverer(engine, sink, Clock()).drain()
    # 3 alerts, 1 card update: the first update was superseded by the second before it went out
    assert (report.delivered, report.skipped) == (4, 1)
    kinds = {i: row(engine, i).kind for i in (root, second, third)}
    assert kinds == {root: "alert", second: "follow_up", third: "follow_up"}
    root_ts = row(engine, root).message_ts
    posted = {p.message_id: p for p in sink.posts if not p.update_ts}
    assert posted[root].thread_ts is None and len(posted[root].blocks) >= 3
    for follow_up in (second, third):
        assert posted[follow_up].thread_ts == root_ts
        assert row(engine, follow_up).parent_id == root
        assert all(b["type"] != "actions" for b in posted[follow_up].blocks)  # no buttons
    updates = [p for p in sink.posts if p.update_ts]
    assert [u.update_ts for u in updates] == [root_ts]
    assert updates[-1].message_id == root  # the card keeps the root's identity
    card = str(updates[-1].blocks)
    assert "3 sources · 3 reports · latest" in card and "Item 2" in card
    assert updates[-1].blocks[-1]["type"] == "actions"  # the root keeps its buttons


def test_a_card_update_with_a_newer_one_behind_it_is_skipped(engine: Engine) -> None:
    make_alerts(engine, 3, cluster=True)
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock, pace=Pace(interval=timedelta(seconds=1), burst=3))
    d.drain()  # root + 2 follow-ups in one burst; the first card update is superseded at once
    with session_scope(engine) as s:
        updates = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.CARD_UPDATE)
        ).all()
    assert sorted(u.state for u in updates) == ["delivered", "skipped"]
    assert len([p for p in sink.posts if p.update_ts]) == 1


def test_a_rise_in_severity_is_broadcast_to_the_channel_once(engine: Engine) -> None:
    [root] = make_alerts(engine, 1, cluster=True)
    with session_scope(engine) as s:
        story = s.get(Item, s.get(OutboxMessage, root).item_id).cluster_id  # type: ignore[union-attr]
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock)
    d.drain()
    rising = make_alerts(engine, 2, severity="critical")
    same = make_alerts(engine, 1, severity="warning")
    with session_scope(engine) as s:
        for alert_id in [*rising, *same]:
            alert = s.get(OutboxMessage, alert_id)
            item = s.get(Item, alert.item_id)  # type: ignore[union-attr]
            item.cluster_id = story  # type: ignore[union-attr]
    d.drain()
    replies = {p.message_id: p for p in sink.posts if p.thread_ts and not p.update_ts}
    assert [replies[i].broadcast for i in [*rising, *same]] == [True, False, False]
    assert "rose from warning to *CRITICAL*" in str(replies[rising[0]].blocks)
    card = [p for p in sink.posts if p.update_ts][-1]
    assert card.blocks[0]["text"]["text"].startswith(":rotating_light: CRITICAL")


def test_multi_part_messages_send_one_part_per_turn_and_resume_after_a_crash(
    engine: Engine,
) -> None:
    """A briefing-like row: parts stored at the first attempt; a crash mid-way resumes."""
    with session_scope(engine) as s:
        message = OutboxMessage(
            kind=MessageKind.DIGEST,
            channel="C0TEST0001",
            situation="sudan",
            created_at=T0,
            next_attempt_at=T0,
            body=[{"text": f"page {n}", "blocks": []} for n in range(3)],
        )
        s.add(message)
        s.flush()
        message_id = message.id or 0
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock, pace=PACED)
    assert d.drain().part == 1
    first = row(engine, message_id)
    assert (first.state, first.parts_sent, first.message_ts) == ("queued", 1, "1001.000100")
    clock.advance(seconds=1)
    with session_scope(engine) as s:  # part 2 went out, then the process died
        crashed = s.get(OutboxMessage, message_id)
        assert crashed is not None
        crashed.state, crashed.attempts = MessageState.SENDING, 1
    sink.posted_before.add((message_id, 1))
    report = d.drain()
    assert (report.part, report.delivered) == (1, 1)  # part 2 found, not posted again; then 3
    assert [(p.part, p.thread_ts) for p in sink.posts] == [(0, None), (2, "1001.000100")]
    assert row(engine, message_id).state == "delivered"


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
        Subscription(id=6, channel="C0F0000001", situation="sudan", active=False),
    ]


def test_fan_out_filters_by_severity_age_and_subscription() -> None:
    def decide(severity: str, **kw: object) -> set[str]:
        args: dict[str, object] = {
            "situation": "sudan",
            "published": T0,
            "now": T0,
            "subscriptions": _subs(),
            "settings": SETTINGS,
            **kw,
        }
        return {d.channel for d in decide_alerts(severity=severity, **args)}  # type: ignore[arg-type]

    assert decide("warning") == {"C0A0000001", "C0C0000001"}
    assert decide("critical") == {"C0A0000001", "C0B0000001", "C0C0000001"}
    assert decide("critical", published=T0 - timedelta(hours=49)) == set()
    assert decide("info") == set()  # below [alerts] min_severity
    assert decide("warning", situation="eth") == {"C0D0000001"}  # the policy withholds it later


def test_a_bug_on_one_message_never_holds_its_channel(engine: Engine) -> None:
    first, second = make_alerts(engine, 2)
    sink, clock = FakeSink(fail_with=[RuntimeError("a bug in the sink")]), Clock()
    d = deliverer(engine, sink, clock)
    assert d.drain().retried == 1
    assert "a bug in the sink" in (row(engine, first).last_error or "")
    clock.advance(seconds=30)
    assert d.drain().delivered == 2
    assert sink.ids() == [first, second]


def test_leases_left_over_from_an_error_do_not_strand_messages(engine: Engine) -> None:
    ids = make_alerts(engine, 2, channel="C0A0000001") + make_alerts(engine, 1, channel="C0B01")
    sink, clock = FakeSink(), Clock()
    d = deliverer(engine, sink, clock)
    assert len(d._claim()) == 2  # claimed, then the drain died before working on them
    assert d.drain().delivered == 3  # its own leases do not keep it out (the heartbeat renews them)
    assert sorted(sink.ids()) == sorted(ids)
    other = deliverer(engine, FakeSink(), clock, owner="other")
    make_alerts(engine, 1, channel="C0C01")
    assert len(d._claim()) == 1
    assert other.drain().counts == {}  # but another instance's leases do
