"""Briefing data: pure aggregations, and the loader on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.briefing.data import load_briefing, novel_factors, source_diversity, weekly_counts
from bot.briefing.schedule import Period
from bot.config import FeedSettings
from bot.store.db import session_scope
from bot.store.tables import Feedback, OutboxMessage
from bot.summary import FactorCount, FactorHit, Outlet
from tests.briefing import builders

END = builders.MONDAY
WEEK = timedelta(days=7)


def hit(days_before: float, *codes: str) -> FactorHit:
    return FactorHit(published=END - timedelta(days=days_before), codes=codes)


def test_weekly_counts_bucket_by_week_ending_at_the_period_end() -> None:
    hits = [
        hit(0.5, "RF9"),
        hit(6.9, "RF9", "RF10"),
        hit(7.1, "RF1"),
        hit(30, "RF1"),
        hit(-1, "RF9"),
    ]
    weeks = weekly_counts(hits, end=END, weeks=3)
    assert [w.start for w in weeks] == [END - 3 * WEEK, END - 2 * WEEK, END - WEEK]
    assert [w.counts for w in weeks] == [{}, {"RF1": 1}, {"RF10": 1, "RF9": 2}]


def test_novel_factors_are_unseen_in_the_weeks_before() -> None:
    factors = [
        FactorCount(code="RF9", name="Mass killing", count=2, previous=0),
        FactorCount(code="RF10", name="Hate speech", count=1, previous=0),
        FactorCount(code="RF1", name="Armed conflict", count=0, previous=1),
    ]
    hits = [hit(10, "RF9"), hit(40, "RF10")]  # RF10 last seen 5+ weeks ago
    novel = novel_factors(factors, hits, start=END - WEEK, weeks=4)
    assert [f.code for f in novel] == ["RF10"]


def test_source_diversity_uses_feed_regions_and_languages() -> None:
    feeds = [
        FeedSettings(name="un", url="https://un.example/rss", region="global", language="en"),
        FeedSettings(name="rfi", url="https://rfi.example/rss", region="europe", language="fr"),
    ]
    outlets = [
        Outlet(source="UN News", feed="un", language=None, count=6),
        Outlet(source="RFI", feed="rfi", language="fr", count=2),
        Outlet(source="Sudan Tribune", feed="gone", language="ar", count=2),
    ]
    d = source_diversity(outlets, feeds)
    assert (d.outlets, d.feeds, d.top_source, d.top_share) == (3, 3, "UN News", 0.6)
    assert d.regions == (("global", 6), ("europe", 2), ("unknown", 2))
    assert d.languages == (("en", 6), ("ar", 2), ("fr", 2))


def test_load_briefing(engine: Engine) -> None:
    builders.week_of_reports(engine)
    builders.add_report(engine, published=END - 20 * timedelta(days=1), indicators=("RF14",))
    sub = builders.subscription(engine)
    alert = builders.digest_alert(engine, subscription_id=sub, created=END - timedelta(days=2))
    with session_scope(engine) as session:
        match_alert = session.get(OutboxMessage, alert)
        assert match_alert is not None
        for user, relevant in (("U1", True), ("U2", True), ("U3", False)):
            session.add(
                Feedback(
                    alert_id=alert,
                    user=user,
                    relevant=relevant,
                    situation="sudan",
                    created_at=END - timedelta(days=1),
                )
            )
    settings = builders.settings()
    cfg = settings.situation("sudan")
    assert cfg is not None
    with session_scope(engine) as session:
        data = load_briefing(
            session, settings=settings, situation=cfg, period=Period(start=END - WEEK, end=END)
        )
    assert data.summary.matches == 4 and data.summary.previous_matches == 2
    assert data.trend.direction == "deteriorated"
    assert [f.code for f in data.novel] == ["RF10"]  # RF14 was seen 20 days ago: not novel
    assert (data.summary.relevant, data.summary.not_relevant) == (2, 1)
    assert (data.feedback.relevant, data.feedback.not_relevant) == (2, 1)  # the same votes
    assert len(data.weeks) == 12 and data.weeks[-1].counts == {"RF10": 1, "RF14": 1, "RF9": 3}
    assert data.diversity.outlets == 3 and dict(data.diversity.languages)["fr"] == 1
