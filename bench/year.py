"""A year of data: summary, briefing and backtest over a situation with 1,000,000 stored items.

    .venv/bin/python bench/year.py [--items 1000000] [--database URL]
        [--stream ../shared/corpus/headlines-stream/gdelt-2026-03.jsonl]

Builds a database (bulk inserts: executemany on SQLite, COPY on PostgreSQL) with `--items`
reports of one situation spread evenly over 365 days (about 19,000 a week) from 200 feeds, with
risk factors, scores and severities as ingestion writes them (titles from the headlines stream
when given), then times, each the best of three: `/tocsin summary` over 7 and 30 days
(`situation_summary`), the weekly briefing (`load_briefing`: summary + 12-week chart + novelty),
and `tocsin backtest --since 7d` (`backtest`: re-matches and re-assesses the stored items of the
last 7 days after a warm-up of the novelty window). The rows go in at migration 0008, before the
per-day counts existed, and the last migration counts them (its time is printed), as it does for
a database that has lived before it. Prints the query plan (EXPLAIN) of the summary's query of
the partial days at a period's ends. Target: summary and briefing ≤ 300 ms each (the backtest
re-matches every report and has none).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.ingest import bench_database, drop_database, load_stream
from bot.backtest import backtest
from bot.briefing.data import load_briefing
from bot.briefing.schedule import Period
from bot.config import Settings, parse_settings
from bot.matching.setup import matcher_from_settings
from bot.store.db import make_engine, session_scope, upgrade
from bot.summary import situation_summary

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FEEDS = 200
CODES = ["RF1", "RF2", "RF3", "RF4", "RF5", "RF6", "RF7", "RF8", "RF9", "RF10", "RF14"]
SEVERITIES = [("info", 0.5), ("watch", 0.3), ("warning", 0.15), ("critical", 0.05)]
# a 30-day summary's queries: the whole days from the per-day counts, a partial day from `match`
DAYS_QUERY = """
SELECT severity, code, sum(n) FROM match_count
WHERE situation = 'iran' AND day >= :first AND day < :stop GROUP BY severity, code
"""
PARTIAL_QUERY = """
SELECT severity, count(*) FROM match
WHERE situation = 'iran' AND published_at >= :start AND published_at < :end GROUP BY severity
"""


def settings_for(database: str) -> Settings:
    return parse_settings(
        {
            "database": {"url": database},
            "feeds": [
                {"name": f"feed {i}", "url": f"http://127.0.0.1/{i}.xml"} for i in range(FEEDS)
            ],
            "situations": [{"slug": "iran", "name": "Iran", "countries": ["IRN"]}],
        }
    )


def rows(count: int, titles: list[str]) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(item, match) rows, oldest first, evenly over the year before NOW."""
    rng = random.Random(2026)
    step = timedelta(days=365) / count
    start = NOW - timedelta(days=365)
    for n in range(count):
        when = start + step * n
        codes = sorted(rng.sample(CODES, rng.choice([0, 1, 1, 2, 3])))
        severity = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
        evidence = [{"kind": "indicator", "key": c, "name": f"Risk factor {c}"} for c in codes]
        title = f"Iran: {titles[n % len(titles)]}"
        item = (
            1 + n % FEEDS,
            f"g{n}",
            title,
            "",
            f"https://example.org/{n}",
            f"outlet {n % 150}",
            "en",
            "[]",
            "[]",
            title.lower(),
            when,
            when,
        )
        match = (
            n + 1,
            "iran",
            json.dumps(codes),
            json.dumps(evidence),
            "[]",
            round(rng.uniform(0, 8), 3),
            severity,
            "",
            when,
            when,
        )
        yield item, match


ITEM_COLUMNS = (
    "feed_id, guid, title, summary, url, source, language, countries, tags, title_key, "
    "published_at, fetched_at"
)
MATCH_COLUMNS = (
    "item_id, situation, indicators, evidence, breakdown, score, severity, why, "
    "published_at, created_at"
)


def build(engine: Any, settings: Settings, count: int, titles: list[str]) -> tuple[float, float]:
    """Seconds to fill the database, and of those the last migration's (0009: counting the
    stored matches per day, as it does for a database that has lived before it)."""
    started = time.perf_counter()
    upgrade(engine, "0008")  # bulk rows go in before the per-day counts exist, as in a live one
    with engine.begin() as conn:
        for i, feed in enumerate(settings.feeds):
            conn.execute(
                text(
                    "INSERT INTO feed (id, name, kind, url, consecutive_failures, budget_calls) "
                    "VALUES (:id, :name, 'rss', :url, 0, 0)"
                ),
                {"id": i + 1, "name": feed.name, "url": feed.url},
            )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            _copy(cursor, count, titles)
        else:
            _executemany(cursor, count, titles)
        raw.commit()
    finally:
        raw.close()
    migrating = time.perf_counter()
    upgrade(engine)
    migrated = time.perf_counter() - migrating
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started, migrated


def _executemany(cursor: Any, count: int, titles: list[str]) -> None:
    def text_time(when: datetime) -> str:
        return when.replace(tzinfo=None).isoformat(sep=" ")

    chunk: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for pair in rows(count, titles):
        chunk.append(pair)
        if len(chunk) == 50_000:
            _sqlite_chunk(cursor, chunk, text_time)
            chunk = []
    if chunk:
        _sqlite_chunk(cursor, chunk, text_time)


def _sqlite_chunk(cursor: Any, chunk: list[Any], text_time: Callable[[datetime], str]) -> None:
    cursor.executemany(
        f"INSERT INTO item ({ITEM_COLUMNS}) VALUES ({', '.join('?' * 12)})",
        [(*i[:10], text_time(i[10]), text_time(i[11])) for i, _ in chunk],
    )
    cursor.executemany(
        f"INSERT INTO match ({MATCH_COLUMNS}) VALUES ({', '.join('?' * 10)})",
        [(*m[:8], text_time(m[8]), text_time(m[9])) for _, m in chunk],
    )


def _copy(cursor: Any, count: int, titles: list[str]) -> None:
    with cursor.copy(f"COPY item ({ITEM_COLUMNS}) FROM STDIN") as copy:
        for item, _ in rows(count, titles):
            copy.write_row(item)
    with cursor.copy(f"COPY match ({MATCH_COLUMNS}) FROM STDIN") as copy:
        for _, match in rows(count, titles):
            copy.write_row(match)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def explain(engine: Any) -> str:
    midnight = NOW.replace(hour=0)
    days = {"first": (midnight - timedelta(days=29)).date(), "stop": midnight.date()}
    partial = {"start": midnight, "end": NOW}
    if engine.dialect.name == "sqlite":
        days = {k: v.isoformat() for k, v in days.items()}
        partial = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in partial.items()}
        prefix = "EXPLAIN QUERY PLAN "
    else:
        prefix = "EXPLAIN "
    lines = []
    with engine.connect() as conn:
        for name, query, params in (
            ("whole days (match_count)", DAYS_QUERY, days),
            ("partial day (match)", PARTIAL_QUERY, partial),
        ):
            lines.append(f"  {name}:")
            plan = conn.execute(text(prefix + query), params).all()
            lines += ["    " + " ".join(str(c) for c in row) for row in plan]
    return "\n".join(lines)


def measure(engine: Any, settings: Settings) -> dict[str, float]:
    def summary(days: int) -> Callable[[], object]:
        def run() -> object:
            with session_scope(engine) as s:
                return situation_summary(
                    s, situation="iran", start=NOW - timedelta(days=days), end=NOW
                )

        return run

    def briefing() -> object:
        situation = settings.situations[0]
        period = Period(start=NOW - timedelta(days=7), end=NOW)
        with session_scope(engine) as s:
            return load_briefing(s, settings=settings, situation=situation, period=period)

    started = time.perf_counter()
    matcher = matcher_from_settings(settings)
    print(f"(matcher built once, as `tocsin run` does: {time.perf_counter() - started:.2f} s)")
    return {
        "summary 7d": best_of(3, summary(7)),
        "summary 30d": best_of(3, summary(30)),
        "weekly briefing": best_of(3, briefing),
        "backtest --since 7d": best_of(
            1, lambda: backtest(engine, settings, since=NOW - timedelta(days=7), matcher=matcher)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--stream", type=Path)
    args = parser.parse_args()
    titles = (
        [h["title"] for h in load_stream(args.stream)] if args.stream else ["report on the war"]
    )
    database, admin = bench_database(args.database, prefix="tocsin-year-")
    settings = settings_for(database)
    engine = make_engine(database)
    try:
        built, migrated = build(engine, settings, args.items, titles)
        backend = engine.dialect.name
        print(
            f"{args.items:,} items of one situation over 365 days on {backend}: "
            f"built in {built:.0f} s (of which {migrated:.1f} s migration 0009 counting them "
            "per day)"
        )
        print("plans of a 30-day summary's queries:\n" + explain(engine))
        for name, seconds in measure(engine, settings).items():
            target = "" if name.startswith("backtest") else "   (target ≤ 300 ms)"
            print(f"{name:<22} {seconds * 1000:8.0f} ms{target}")
    finally:
        engine.dispose()
        if admin is not None:
            drop_database(admin, database)


if __name__ == "__main__":
    main()
