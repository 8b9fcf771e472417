"""One poll cycle end to end over loopback HTTP: fetch → parse → store → match → outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Secrets, Settings, parse_settings
from bot.pipeline import Poller
from bot.runtime import build_runtime
from bot.store.db import session_scope
from bot.store.tables import Feed, Item, Match, OutboxMessage
from bot.subscriptions import sync_config_subscriptions
from tests.feedhost import FeedHost, rss
from tests.test_outbox import Clock, FakeSink

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ago(hours: float) -> str:
    return format_datetime(NOW - timedelta(hours=hours))


def settings_for(
    host: FeedHost, db_url: str, *, feeds: list[dict[str, Any]], **extra: Any
) -> Settings:
    raw: dict[str, Any] = {
        "database": {"url": db_url},
        "polling": {"allow_private_targets": True, "parse_workers": 0, "backoff_base": "1m"},
        "reliefweb": {"base_url": host.base_url},
        "feeds": feeds,
        "situations": [
            {"slug": "sudan", "name": "Sudan", "countries": ["SDN"], "places": ["El Fasher"]},
            {"slug": "drc", "name": "DR Congo", "countries": ["COD"]},
        ],
        "alerts": {"min_severity": "info", "max_age": "48h"},
        "subscriptions": [
            {"channel": "C0TEST0001", "situations": ["sudan", "drc"], "min_severity": "info"}
        ],
    }
    raw.update(extra)
    return parse_settings(raw)


def poller(
    settings: Settings, engine: Engine, clock: Clock, secrets: Secrets | None = None
) -> Poller:
    runtime = build_runtime(
        settings=settings, secrets=secrets or Secrets(), sink=FakeSink(), clock=clock, engine=engine
    )
    with session_scope(engine) as s:
        sync_config_subscriptions(s, settings, now=clock())
    return runtime.poller


SUDAN = {
    "title": "Sudan: massacre of civilians reported in El Fasher as thousands flee",
    "link": "https://example.org/sudan-1?utm_source=rss",
    "guid": "sudan-1",
    "description": "<p>Witnesses describe <b>ethnic killings</b> and mass displacement.</p>",
}


def test_first_poll_stores_matches_and_queues_then_second_poll_changes_nothing(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve(
        "/news.xml",
        rss(
            {**SUDAN, "pubDate": ago(2)},
            {"title": "Trade fair opens in Lisbon", "guid": "other", "pubDate": ago(1)},
            {"title": "Sudan: old massacre report", "guid": "old", "pubDate": ago(24 * 10)},
        ),
    )
    settings = settings_for(host, db_url, feeds=[{"name": "News", "url": host.url("/news.xml")}])
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        first = p.poll(force=True).totals()
        second = p.poll(force=True).totals()
    assert first["new_items"] == 3 and first["ok"] == 1 and first["errors"] == 0
    assert first["matches"] == 2  # the fresh and the old Sudan item
    assert first["alerts_queued"] == 1  # the old one is stored and matched, not alerted
    assert second["not_modified"] == 1 and second["new_items"] == 0 and second["alerts_queued"] == 0
    with session_scope(engine) as s:
        items = {i.guid: i for i in s.exec(select(Item)).all()}
        assert items["sudan-1"].url == "https://example.org/sudan-1"  # tracking removed
        assert "<" not in items["sudan-1"].summary and "ethnic killings" in items["sudan-1"].summary
        [alert] = s.exec(select(OutboxMessage)).all()
        match = s.get(Match, alert.match_id)
        assert match is not None and match.situation == "sudan" and match.why
        assert match.indicators, "a massacre report should carry risk factors"
        feed = s.exec(select(Feed)).one()
        assert (
            feed.etag
            and feed.consecutive_failures == 0
            and feed.next_poll_at == NOW + timedelta(minutes=15)
        )


def test_broken_feeds_are_recorded_and_never_stop_the_others(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve("/good.xml", rss({**SUDAN, "pubDate": ago(1)}))
    host.serve(
        "/html.xml", "<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
    )
    host.serve("/garbage.xml", b"\x00\x01\x02 not a feed at all", content_type="application/xml")
    host.serve("/error.xml", "oops", status=500)
    feeds = [
        {"name": "good", "url": host.url("/good.xml")},
        {"name": "html", "url": host.url("/html.xml")},
        {"name": "garbage", "url": host.url("/garbage.xml")},
        {"name": "error", "url": host.url("/error.xml")},
        {"name": "missing", "url": host.url("/missing.xml")},
    ]
    settings = settings_for(host, db_url, feeds=feeds)
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        report = p.poll(force=True)
    by_feed = {o.feed: o for o in report.outcomes}
    assert by_feed["good"].status == "ok" and by_feed["good"].new_items == 1
    for name in ("html", "garbage", "error", "missing"):
        assert by_feed[name].status == "error", name
        assert by_feed[name].error
    with session_scope(engine) as s:
        rows = {f.name: f for f in s.exec(select(Feed)).all()}
        assert rows["error"].last_error and "500" in rows["error"].last_error
        assert rows["missing"].consecutive_failures == 1
        assert rows["missing"].next_poll_at is not None and rows["missing"].next_poll_at > NOW
        assert rows["good"].last_error is None


def test_backoff_grows_with_consecutive_failures_and_resets(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve("/flaky.xml", "down", status=503)
    polling = {"allow_private_targets": True, "parse_workers": 0, "backoff_base": "10m"}
    settings = settings_for(
        host, db_url, feeds=[{"name": "flaky", "url": host.url("/flaky.xml")}], polling=polling
    )
    clock = Clock(NOW)
    delays = []
    with poller(settings, engine, clock) as p:
        for _ in range(3):
            p.poll()
            with session_scope(engine) as s:
                feed = s.exec(select(Feed)).one()
                assert feed.next_poll_at is not None
                delays.append(feed.next_poll_at - clock())
                clock.now = feed.next_poll_at
        assert p.poll().totals()["feeds"] == 1  # due again exactly at next_poll_at
        host.serve("/flaky.xml", rss({**SUDAN, "pubDate": ago(1)}))
        clock.advance(hours=7)
        assert p.poll().totals()["ok"] == 1
    assert delays[0] < delays[1] < delays[2]
    with session_scope(engine) as s:
        assert s.exec(select(Feed)).one().consecutive_failures == 0


def test_items_already_stored_survive_a_broken_feed(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve("/news.xml", rss({**SUDAN, "pubDate": ago(1)}))
    settings = settings_for(host, db_url, feeds=[{"name": "News", "url": host.url("/news.xml")}])
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        p.poll(force=True)
        host.serve("/news.xml", "<html><body>Maintenance</body></html>", content_type="text/html")
        clock.advance(minutes=20)
        assert p.poll(force=True).outcomes[0].status == "error"
    with session_scope(engine) as s:
        assert [i.guid for i in s.exec(select(Item)).all()] == ["sudan-1"]
        assert len(s.exec(select(OutboxMessage)).all()) == 1
        feed = s.exec(select(Feed)).one()
        assert feed.last_success_at == NOW and feed.last_error and feed.consecutive_failures == 1


def test_restart_never_duplicates_items_or_alerts(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve("/news.xml", rss({**SUDAN, "pubDate": ago(1)}), etag=False)
    settings = settings_for(host, db_url, feeds=[{"name": "News", "url": host.url("/news.xml")}])
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        p.poll(force=True)
    # a new process with no memory of the body hash (simulate by clearing it) re-reads the feed
    with session_scope(engine) as s:
        s.exec(select(Feed)).one().body_hash = None
    with poller(settings, engine, clock) as p:
        totals = p.poll(force=True).totals()
    assert totals["ok"] == 1 and totals["new_items"] == 0 and totals["alerts_queued"] == 0
    with session_scope(engine) as s:
        assert (
            len(s.exec(select(Item)).all()) == 1 and len(s.exec(select(OutboxMessage)).all()) == 1
        )


def test_same_story_from_two_sources_is_one_cluster(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    host.serve("/a.xml", rss({**SUDAN, "pubDate": ago(2)}, title="A"))
    host.serve(
        "/b.xml",
        rss(
            {
                "title": "Massacre of civilians reported in El Fasher, Sudan, as thousands flee",
                "guid": "b1",
                "pubDate": ago(1),
            }
        ),
    )
    feeds = [{"name": "A", "url": host.url("/a.xml")}, {"name": "B", "url": host.url("/b.xml")}]
    settings = settings_for(
        host,
        db_url,
        feeds=feeds,
        polling={"allow_private_targets": True, "parse_workers": 0, "concurrency": 1},
    )
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        p.poll(force=True)
    with session_scope(engine) as s:
        items = s.exec(select(Item)).all()
        assert len(items) == 2
        assert items[0].cluster_id == items[1].cluster_id is not None


def test_parsing_on_worker_processes(host: FeedHost, engine: Engine, db_url: str) -> None:
    for i in range(4):
        host.serve(f"/f{i}.xml", rss({**SUDAN, "guid": f"s{i}", "pubDate": ago(1)}))
    feeds = [{"name": f"f{i}", "url": host.url(f"/f{i}.xml")} for i in range(4)]
    settings = settings_for(
        host, db_url, feeds=feeds, polling={"allow_private_targets": True, "parse_workers": 2}
    )
    with poller(settings, engine, Clock(NOW)) as p:
        totals = p.poll(force=True).totals()
    assert totals["ok"] == 4 and totals["new_items"] == 4


def test_reliefweb_feed_uses_the_api_with_high_water_and_budget(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    report = {
        "id": "4242",
        "fields": {
            "title": "Sudan: Humanitarian update",
            "url": "https://reliefweb.int/node/4242",
            "body": "Mass displacement continues.",
            "date": {"created": (NOW - timedelta(hours=1)).isoformat()},
            "source": [{"name": "OCHA", "shortname": "OCHA"}],
            "country": [{"iso3": "sdn", "name": "Sudan"}],
            "primary_country": {"iso3": "sdn", "name": "Sudan"},
        },
    }
    host.serve_json("/v2/reports", {"totalCount": 1, "count": 1, "data": [report]})
    settings = settings_for(
        host, db_url, feeds=[{"name": "RW", "kind": "reliefweb", "interval": "15m"}]
    )
    clock = Clock(NOW)
    with poller(settings, engine, clock) as p:
        no_appname = p.poll(force=True)
    assert no_appname.outcomes[0].status == "error" and "RELIEFWEB_APPNAME" in (
        no_appname.outcomes[0].error or ""
    )
    with poller(settings, engine, clock, Secrets(reliefweb_appname="tocsin-test")) as p:
        totals = p.poll(force=True).totals()
    assert totals["new_items"] == 1
    method, path, body = host.requests[-1]
    assert method == "POST" and path.startswith("/v2/reports") and "appname=tocsin-test" in path
    assert b"SDN" in body.upper() and b"COD" in body.upper()
    with session_scope(engine) as s:
        item = s.exec(select(Item)).one()
        assert item.countries == ["SDN"]
        feed = s.exec(select(Feed)).one()
        assert feed.high_water and feed.budget_calls >= 1 and feed.budget_day == "2026-11-23"


def test_items_keep_their_language_and_matches_their_events(
    host: FeedHost, engine: Engine, db_url: str
) -> None:
    """A feed that declares no language: its item's language is detected once and stored (the
    briefings count it). A feed declared French whose item is in Arabic script: Arabic. The
    event evidence is kept with the match."""
    french = "Soudan : des miliciens ont tué 40 civils près d'El Fasher"
    arabic = "السودان: مقتل عشرات المدنيين في قصف على الفاشر"
    host.serve("/plain.xml", rss({"title": french, "guid": "fr-1", "pubDate": ago(1)}, language=""))
    host.serve("/fr.xml", rss({"title": arabic, "guid": "ar-1", "pubDate": ago(1)}, language="fr"))
    feeds = [
        {"name": "Undeclared", "url": host.url("/plain.xml")},
        {"name": "Declared French", "url": host.url("/fr.xml")},
    ]
    settings = settings_for(host, db_url, feeds=feeds)
    with poller(settings, engine, Clock(NOW)) as p:
        p.poll(force=True)
    with session_scope(engine) as s:
        languages = {i.guid: i.language for i in s.exec(select(Item)).all()}
        events = [
            e for m in s.exec(select(Match)).all() for e in m.evidence if e.get("kind") == "event"
        ]
    assert languages == {"fr-1": "fr", "ar-1": "ar"}
    assert any(e["count"] == 40 and e["victims"] == ["civilian"] for e in events), events


DRC = {
    "title": "DR Congo: massacre of villagers reported near Beni as thousands flee",
    "guid": "drc-1",
    "description": "<p>Witnesses describe killings of civilians.</p>",
}
OTHER = {"title": "Trade fair opens in Lisbon", "guid": "other"}


@pytest.mark.parametrize("workers", [0, 2])
def test_changed_feeds_store_only_their_new_items_each_counted_for_its_own_feed(
    host: FeedHost, engine: Engine, db_url: str, workers: int
) -> None:
    """Feeds ready together are stored in one transaction, each counted for itself; the parser
    prepares only the items the feed's last body did not hold, and an item it skipped that is
    new after all (here: deleted meanwhile) is prepared and stored by the writer."""
    host.serve("/a.xml", rss({**SUDAN, "pubDate": ago(2)}, {**OTHER, "pubDate": ago(2)}))
    host.serve("/b.xml", rss({**OTHER, "pubDate": ago(2)}))
    feeds = [{"name": "a", "url": host.url("/a.xml")}, {"name": "b", "url": host.url("/b.xml")}]
    polling = {"allow_private_targets": True, "parse_workers": workers}
    settings = settings_for(host, db_url, feeds=feeds, polling=polling)
    with poller(settings, engine, Clock(NOW)) as p:
        first = {o.feed: o for o in p.poll(force=True).outcomes}
        host.serve(
            "/a.xml",
            rss(
                {**SUDAN, "pubDate": ago(2)},
                {**OTHER, "pubDate": ago(2)},
                {**DRC, "pubDate": ago(1)},
            ),
        )
        second = {o.feed: o for o in p.poll(force=True).outcomes}
        with session_scope(engine) as s:
            sudan = s.exec(select(Item).where(Item.guid == "sudan-1")).one()
            for row in s.exec(select(OutboxMessage).where(OutboxMessage.item_id == sudan.id)):
                s.delete(row)
            s.flush()
            for match in s.exec(select(Match).where(Match.item_id == sudan.id)):
                s.delete(match)
            s.flush()
            s.delete(sudan)
        host.serve("/a.xml", rss({**SUDAN, "pubDate": ago(2)}, {**DRC, "pubDate": ago(1)}))
        third = {o.feed: o for o in p.poll(force=True).outcomes}
    assert (first["a"].new_items, first["a"].matches, first["a"].alerts) == (2, 1, 1)
    assert (first["b"].new_items, first["b"].matches, first["b"].alerts) == (1, 0, 0)
    assert (second["a"].new_items, second["a"].matches) == (1, 1)
    assert second["b"].status == "not_modified"
    assert (third["a"].new_items, third["a"].matches, third["a"].alerts) == (1, 1, 1)
    with session_scope(engine) as s:
        matched = {
            item.guid: match.situation
            for match, item in s.exec(select(Match, Item).where(Match.item_id == Item.id))
        }
    assert matched == {"sudan-1": "sudan", "drc-1": "drc"}
