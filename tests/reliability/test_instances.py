"""Several instances, one PostgreSQL: feeds polled once per interval, alerts posted once.

Each instance is a Poller or Deliverer with its own engine and owner, run on threads; the feed host
and the mock Slack API count what actually reached them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import Secrets, Settings, parse_settings
from bot.leases import Heartbeat
from bot.matching.setup import matcher_from_settings
from bot.outbox.deliverer import Deliverer
from bot.pipeline import Poller, PollReport, fetch_options
from bot.runtime import utc_now
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, session_scope
from bot.store.tables import PENDING, Feed, Item, MessageState, OutboxMessage
from bot.subscriptions import sync_config_subscriptions
from feeds.fetch import Fetcher
from feeds.model import FeedSpec, Fetched, NotModified, Validators
from tests.feedhost import FeedHost, rss
from tests.reliability.outbox import channel_names, outbox_settings, seed_outbox
from tests.slack.mock_slack import MockSlack
from tests.test_outbox import Clock
from tests.test_period_counts import _counted, _recounted

pytestmark = pytest.mark.postgres

T = TypeVar("T")
FEEDS = 24
INSTANCES = 3


@pytest.fixture
def host() -> Iterator[FeedHost]:
    h = FeedHost()
    yield h
    h.close()


def serve_feeds(host: FeedHost, clock: Clock, *, round: int = 0) -> None:
    """FEEDS feeds of three items each; `round` adds one new item per feed."""
    for n in range(FEEDS):
        items = [
            {
                "title": f"Sudan: militia kills 12 civilians near El Fasher, dispatch {n}-{i}",
                "guid": f"feed{n}-item{i}",
                "pubDate": format_datetime(clock() - timedelta(hours=1)),
            }
            for i in range(3 + round)
        ]
        host.serve(f"/feed{n}.xml", rss(*items))


def settings_for(host: FeedHost, url: str) -> Settings:
    return parse_settings(
        {
            "database": {"url": url},
            "polling": {"allow_private_targets": True, "parse_workers": 0, "lease": "2m"},
            "feeds": [
                {"name": f"feed{n}", "url": host.url(f"/feed{n}.xml"), "interval": "15m"}
                for n in range(FEEDS)
            ],
            "situations": [{"slug": "sudan", "name": "Sudan", "countries": ["SDN"]}],
            "alerts": {"min_severity": "info"},
            "subscriptions": [{"channel": "C0TEST0001", "situations": ["sudan"]}],
        }
    )


class InstanceDied(BaseException):
    """Stands for the process dying (SIGKILL, OOM) in the middle of a poll."""


class DyingFetcher(Fetcher):
    def fetch(self, spec: FeedSpec, validators: Validators) -> Fetched | NotModified:
        raise InstanceDied(spec.url)


def make_poller(
    settings: Settings, url: str, clock: Clock, *, owner: str, fetcher: Fetcher | None = None
) -> Poller:
    return Poller(
        settings=settings,
        secrets=Secrets(),
        engine=make_engine(url),  # an instance of its own: its own connection pool
        matcher=matcher_from_settings(settings),
        clock=clock,
        fetcher=fetcher,
        owner=owner,
    )


def all_at_once(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run the jobs on threads, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], T]) -> T:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def poll_together(pollers: Sequence[Poller]) -> list[PollReport]:
    return all_at_once([p.poll for p in pollers])


def requests_per_feed(host: FeedHost) -> Counter[str]:
    return Counter(path for _method, path, _body in host.requests)


@pytest.fixture
def pollers(host: FeedHost, pg_url: str, pg_engine: Engine) -> Iterator[tuple[list[Poller], Clock]]:
    clock = Clock(utc_now())
    serve_feeds(host, clock)
    settings = settings_for(host, pg_url)
    with session_scope(pg_engine) as s:
        sync_config_subscriptions(s, settings, now=clock())
    instances = [make_poller(settings, pg_url, clock, owner=f"i{n}") for n in range(INSTANCES)]
    yield instances, clock
    for p in instances:
        p.close()
        p.engine.dispose()


def test_concurrent_instances_poll_each_feed_once_per_interval(
    pollers: tuple[list[Poller], Clock], host: FeedHost, pg_engine: Engine
) -> None:
    instances, clock = pollers
    everyone = {f"/feed{n}.xml" for n in range(FEEDS)}
    # the very first start: the feed table is empty and every instance syncs it at once
    reports = poll_together(instances)
    polled = Counter(o.feed for r in reports for o in r.outcomes)
    assert polled == Counter({f"feed{n}": 1 for n in range(FEEDS)})
    assert requests_per_feed(host) == Counter({path: 1 for path in everyone})
    assert sum(r.totals()["new_items"] for r in reports) == FEEDS * 3
    # within the interval nobody polls again
    assert all(not r.outcomes for r in poll_together(instances))
    assert sum(requests_per_feed(host).values()) == FEEDS
    # next interval, one new item per feed: fetched once more each, stored once
    serve_feeds(host, clock, round=1)
    clock.advance(minutes=15)
    reports = poll_together(instances)
    assert sorted(o.feed for r in reports for o in r.outcomes) == sorted(
        f"feed{n}" for n in range(FEEDS)
    )
    assert requests_per_feed(host) == Counter({path: 2 for path in everyone})
    assert sum(r.totals()["new_items"] for r in reports) == FEEDS
    with session_scope(pg_engine) as s:
        assert s.exec(select(func.count()).select_from(Item)).one() == FEEDS * 4
        guids = s.exec(select(Item.feed_id, Item.guid)).all()
        assert len(set(guids)) == len(guids) == FEEDS * 4
        alerts = s.exec(select(OutboxMessage.item_id, OutboxMessage.subscription_id)).all()
        assert len(alerts) == len(set(alerts)) > 0
        assert all(f.lease_owner is None for f in s.exec(select(Feed)).all())
        # the per-day counts the summaries read agree with the matches the instances wrote
        counted, recounted = _counted(s), _recounted(s)
        assert counted == recounted and sum(counted[1].values()) > 0


def test_an_instance_that_dies_mid_poll_loses_its_feeds_when_the_lease_expires(
    host: FeedHost, pg_url: str, pg_engine: Engine
) -> None:
    clock = Clock(utc_now())
    serve_feeds(host, clock)
    settings = settings_for(host, pg_url)
    dying = make_poller(
        settings, pg_url, clock, owner="dies", fetcher=DyingFetcher(fetch_options(settings))
    )
    survivor = make_poller(settings, pg_url, clock, owner="lives")
    try:
        with pytest.raises(InstanceDied):
            dying.poll()
        with session_scope(pg_engine) as s:
            held = [f for f in s.exec(select(Feed)).all() if f.lease_owner == "dies"]
        assert held, "the dead instance should hold leases"
        held_names = {f.name for f in held}
        assert not {o.feed for o in survivor.poll().outcomes} & held_names
        clock.advance(seconds=119)  # lease is 2m: still held
        assert not {o.feed for o in survivor.poll().outcomes} & held_names
        clock.advance(seconds=2)
        taken_over = {o.feed for o in survivor.poll().outcomes}
        assert held_names <= taken_over
    finally:
        for p in (dying, survivor):
            p.close()
            p.engine.dispose()
    assert requests_per_feed(host) == Counter({f"/feed{n}.xml": 1 for n in range(FEEDS)})
    with session_scope(pg_engine) as s:
        assert s.exec(select(func.count()).select_from(Item)).one() == FEEDS * 3
        assert all(
            f.lease_owner is None and f.last_status == "ok" for f in s.exec(select(Feed)).all()
        )


def deliverers(
    url: str, slack: MockSlack, *, count: int, lease: timedelta, batch: int
) -> list[Deliverer]:
    made = []
    for n in range(count):
        engine = make_engine(url)
        made.append(
            Deliverer(
                settings=outbox_settings(),
                engine=engine,
                sink=SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine),
                clock=utc_now,
                owner=f"d{n}",
                lease=lease,
                batch=batch,
            )
        )
    return made


def assert_posted_once(slack: MockSlack, engine: Engine, ids: list[int]) -> None:
    posted = Counter(m["metadata"]["event_payload"]["message_id"] for m in slack.accepted())
    assert {i: n for i, n in posted.items() if n > 1} == {}
    assert sorted(posted) == sorted(ids)
    with session_scope(engine) as s:
        assert {a.state for a in s.exec(select(OutboxMessage)).all()} == {"delivered"}


@pytest.mark.parametrize(
    ("lease", "batch"),
    [
        pytest.param(timedelta(minutes=2), 4, id="long-lease"),
        # a batch takes longer than the lease: others take over alerts still waiting in it
        pytest.param(timedelta(milliseconds=150), 20, id="lease-shorter-than-a-batch"),
    ],
)
def test_concurrent_deliverers_post_each_alert_once(
    pg_url: str, pg_engine: Engine, lease: timedelta, batch: int
) -> None:
    slack = MockSlack(post_delay=(0.002, 0.01), realtime_ts=True)
    ids = seed_outbox(pg_engine, channels=channel_names(12), per_channel=30, now=utc_now())
    team = deliverers(pg_url, slack, count=INSTANCES, lease=lease, batch=batch)

    def drain_until_empty(d: Deliverer) -> dict[str, Any]:
        """Drain; when the channel heads are all leased by the others, wait a little."""
        totals: Counter[str] = Counter()
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            report = d.drain()
            totals.update(report.counts)
            with session_scope(d.engine) as s:
                left = s.exec(
                    select(func.count()).where(col(OutboxMessage.state).in_(PENDING))
                ).one()
            if not left:
                break
            if not report.counts:
                time.sleep(0.01)
        return dict(totals)

    try:
        totals = all_at_once([functools.partial(drain_until_empty, d) for d in team])
    finally:
        slack.close()
        for d in team:
            d.engine.dispose()
    assert_posted_once(slack, pg_engine, ids)
    assert sum(t.get("delivered", 0) + t.get("reconciled", 0) for t in totals) == len(ids)
    assert sum(1 for t in totals if t.get("delivered")) >= 2, f"one instance did it all: {totals}"


def test_a_live_instance_keeps_its_feeds_by_heartbeat_and_a_dead_one_loses_them(
    host: FeedHost, pg_url: str, pg_engine: Engine
) -> None:
    """Leases are short; the heartbeat of a live instance renews them however long its work
    takes. When the heartbeat stops (the instance died), the others take over after one lease."""
    clock = Clock(utc_now())
    serve_feeds(host, clock)
    settings = settings_for(host, pg_url)
    lease = settings.polling.lease
    dying = make_poller(
        settings, pg_url, clock, owner="dies", fetcher=DyingFetcher(fetch_options(settings))
    )
    survivor = make_poller(settings, pg_url, clock, owner="lives")
    heartbeat = Heartbeat(
        engine=pg_engine, owner="dies", clock=clock, feed_lease=lease, message_lease=lease
    )
    try:
        with pytest.raises(InstanceDied):
            dying.poll()
        held = {f.name for f in feeds_of(pg_engine, "dies")}
        assert held
        for _ in range(4):  # alive for four leases: nobody takes its feeds
            clock.advance(seconds=lease.total_seconds() * 0.9)
            assert heartbeat.beat()[0] == len(held)
            assert not {o.feed for o in survivor.poll().outcomes} & held
        clock.advance(seconds=lease.total_seconds() + 0.1)  # no heartbeat: it is dead
        assert held <= {o.feed for o in survivor.poll().outcomes}
        assert heartbeat.beat() == (0, 0)  # and it cannot take them back
    finally:
        for p in (dying, survivor):
            p.close()
            p.engine.dispose()
    assert requests_per_feed(host) == Counter({f"/feed{n}.xml": 1 for n in range(FEEDS)})


def feeds_of(engine: Engine, owner: str) -> list[Feed]:
    with session_scope(engine) as s:
        return [f for f in s.exec(select(Feed)).all() if f.lease_owner == owner]


def test_a_dead_instances_messages_are_taken_over_after_one_lease(
    pg_url: str, pg_engine: Engine, slack: MockSlack
) -> None:
    clock = Clock(utc_now())
    ids = seed_outbox(pg_engine, channels=channel_names(2), per_channel=2, now=clock())
    settings = outbox_settings()
    lease = settings.alerts.lease
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=pg_engine, clock=clock)
    dead = Deliverer(settings=settings, engine=pg_engine, sink=sink, clock=clock, owner="dead")
    survivor = Deliverer(settings=settings, engine=pg_engine, sink=sink, clock=clock, owner="ok")
    heartbeat = Heartbeat(
        engine=pg_engine, owner="dead", clock=clock, feed_lease=lease, message_lease=lease
    )
    taken = dead._claim()  # it leased the heads of both channels, then died
    assert len(taken) == 2
    with session_scope(pg_engine) as s:  # … mid-send of the first one
        row = s.get(OutboxMessage, taken[0])
        assert row is not None
        row.state, row.attempts = MessageState.SENDING, 1
    clock.advance(seconds=lease.total_seconds() * 0.9)
    assert heartbeat.beat()[1] == 2  # while it lived, its leases were renewed
    clock.advance(seconds=lease.total_seconds() * 0.9)
    assert survivor.drain().counts == {}  # still within the renewed lease
    clock.advance(seconds=lease.total_seconds() * 0.2)
    assert survivor.drain().delivered == len(ids)
    assert_posted_once(slack, pg_engine, ids)
