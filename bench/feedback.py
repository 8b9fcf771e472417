"""`tocsin feedback report` on a database with 100,000 items and 10,000 votes.

    .venv/bin/python bench/feedback.py [--items 100000] [--votes 10000] [--database URL]
        [--stream ../shared/corpus/headlines-stream/gdelt-2026-03.jsonl]

Builds the items of one situation over 365 days with `bench/year.py` (titles from the headlines
stream when given, otherwise a small synthetic set), then puts an alert on every n-th item and
one vote on each, with the evidence the matcher finds in its title (as `bot.feedback.record`
stores it). Votes are mostly relevant, except for ten "bad" feeds and headlines about protests,
so some rules fall under `[feedback] suggest_below` and get candidate changes. Times, with
`--since 365d` (every stored item replayed): the report alone (load the votes, count per rule),
the report with suggestions (one replay of every item with every candidate beside the current
configuration), and a plain `tocsin backtest` of the same items for comparison. Not in
`make bench`: the suggestions take longer than a minute at this size.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from bench.ingest import bench_database, drop_database, load_stream
from bench.year import FEEDS, NOW, build, settings_for
from bot.backtest import backtest
from bot.config import Settings
from bot.feedback import snapshot
from bot.ingest import stored_evidence
from bot.matching import AlertThresholds
from bot.matching.matcher import Matcher
from bot.matching.setup import matcher_from_settings
from bot.precision import load_votes, precision_report
from bot.store.db import make_engine, session_scope
from bot.store.tables import Feed, Feedback, Item, OutboxMessage, Subscription
from bot.suggest import suggest
from feeds.model import Item as FeedItem

SYNTHETIC = [
    "protesters killed as security forces open fire in {place}",
    "football fans clashes after derby in {place}",
    "drone strike kills 12 civilians near {place}",
    "trade talks resume in {place} amid sanctions",
    "mass arrests of journalists reported in {place}",
    "heavy clashes between army and militia near {place}",
    "protest over fuel prices turns violent in {place}",
    "hospital shelled in {place}, doctors among dead",
]
PLACES = ["Tehran", "Isfahan", "Tabriz", "Mashhad", "Shiraz", "Ahvaz", "Zahedan", "Karaj"]
BAD_FEEDS = 10  # feeds 1..10: votes mostly "not relevant"
USERS = 7


def synthetic_titles() -> list[str]:
    return [t.format(place=p) for t in SYNTHETIC for p in PLACES]


def _evidence(matcher: Matcher, item: Any, feed_name: str) -> dict[str, Any]:
    result = matcher.match(
        FeedItem(
            feed=feed_name,
            guid=item.guid,
            title=item.title,
            summary=item.summary,
            url=item.url,
            published=item.published_at,
            language=item.language,
            source=item.source,
        )
    )
    stored = stored_evidence(result, matcher, situation=None, thresholds=AlertThresholds())
    return {"evidence": snapshot(stored), "indicators": list(result.indicators)}


def add_votes(engine: Any, settings: Settings, *, votes: int, items: int) -> float:
    """An alert on every (items // votes)-th item and one vote on it; returns the seconds."""
    started = time.perf_counter()
    rng = random.Random(12)
    matcher = matcher_from_settings(settings)
    every = max(1, items // votes)
    with session_scope(engine) as session:
        sub = Subscription(channel="CBENCH001", situation="iran")
        session.add(sub)
        session.flush()
        feeds = {f.id: f.name for f in session.exec(select(Feed)).scalars()}  # type: ignore[call-overload]
        rows = session.execute(
            select(Item).where(Item.id % every == 0).order_by(Item.id).limit(votes)  # type: ignore[operator]
        ).scalars()
        alerts, marks = [], []
        for item in rows:
            alerts.append(
                {
                    "id": item.id,
                    "kind": "alert",
                    "state": "delivered",
                    "channel": "CBENCH001",
                    "situation": "iran",
                    "severity": "watch",
                    "subscription_id": sub.id,
                    "item_id": item.id,
                    "match_id": item.id,
                    "payload": {},
                    "next_attempt_at": item.fetched_at,
                    "created_at": item.fetched_at,
                }
            )
            bad = item.feed_id <= BAD_FEEDS or "protest" in item.title.lower()
            relevant = rng.random() < (0.15 if bad else 0.75)
            marks.append(
                {
                    "alert_id": item.id,
                    "user": f"U{item.id % USERS}",
                    "relevant": relevant,
                    "situation": "iran",
                    "source": item.source,
                    "origin": "button",
                    "item_id": item.id,
                    "feed": feeds[item.feed_id],
                    "severity": "watch",
                    "created_at": item.fetched_at + timedelta(hours=2),
                    **_evidence(matcher, item, feeds[item.feed_id]),
                }
            )
        session.execute(insert(OutboxMessage), alerts)
        session.execute(insert(Feedback), marks)
    return time.perf_counter() - started


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=10_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--stream", type=Path)
    args = parser.parse_args()
    titles = [h["title"] for h in load_stream(args.stream)] if args.stream else synthetic_titles()
    database, admin = bench_database(args.database, prefix="tocsin-feedback-")
    settings = settings_for(database)
    engine = make_engine(database)
    since = NOW - timedelta(days=365)
    try:
        built, _ = build(engine, settings, args.items, titles)
        voted = add_votes(engine, settings, votes=args.votes, items=args.items)
        print(
            f"{args.items:,} items ({FEEDS} feeds, {engine.dialect.name}), {args.votes:,} votes: "
            f"built in {built:.0f} s + {voted:.0f} s"
        )
        matcher = matcher_from_settings(settings)

        def report() -> Any:
            with session_scope(engine) as session:
                votes = load_votes(session, since=since)
            cfg = settings.feedback
            return votes, precision_report(votes, min_votes=cfg.min_votes, since=since, until=NOW)

        seconds, (votes, result) = timed(report)
        flagged = result.flagged(below=settings.feedback.suggest_below)
        print(
            f"report without suggestions: {seconds:.2f} s ({len(result.rules):,} rules, "
            f"{len(flagged)} flagged)"
        )
        seconds, found = timed(
            lambda: suggest(engine, settings, result, votes, since=since, matcher=matcher)
        )
        print(f"suggestions (replay of every item with the candidates): {seconds:.1f} s")
        for s in found:
            print(f"  {s.kind} {s.rule.key}: changed {s.changed} ({s.not_relevant} nay, "
                  f"{s.relevant} yea)")  # fmt: skip
        seconds, _ = timed(lambda: backtest(engine, settings, since=since, matcher=matcher))
        print(f"plain backtest of the same items, for comparison: {seconds:.1f} s")
    finally:
        engine.dispose()
        if admin is not None:
            drop_database(admin, database)


if __name__ == "__main__":
    main()
