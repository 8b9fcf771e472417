"""Story clustering on real headlines: quality against the exhaustive rule, and window scaling.

    .venv/bin/python bench/stories.py --stream ../shared/corpus/headlines-stream/gdelt-2026-03.jsonl
        [--window-items 1000,10000,100000] [--measure 2000] [--database URL]

Quality: the stream's 9,753 headlines in time order go through `bot.assessment.StoryBook.join`
(the LSH index) and through the rule it replaces (each title compared with every earlier title
of the cluster window, newest first). Printed: the share of same-story pairs the index keeps
(recall), of its pairs the exhaustive rule also makes (precision), and of join/new decisions
that agree.

Scaling: the writer's process first matches the same 100,000 titles in every run (`WARM`);
then a database is filled, through the live write path (`ItemWriter.write`), with N items of
one situation (Iran) inside the cluster window — real Iran headlines, a third of their words
swapped for words of other headlines so that they form many distinct stories — then `--measure`
new real headlines are written in feeds of 50 and the cost per item is timed (wall and the
writing thread's CPU). The database is ANALYZEd after the fill, as autovacuum would have done.
Target: the cost with 100,000 in the window ≤ 2× the cost with 1,000.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.ingest import bench_database, drop_database, load_stream
from bot.assessment import StoryBook, Subject
from bot.config import Settings, parse_settings
from bot.ingest import FeedItems, ItemWriter, prepare
from bot.matching.cluster import same_story_keys, title_key
from bot.matching.model import MatchResult
from bot.matching.setup import matcher_from_settings
from bot.pipeline import sync_feeds
from bot.store.db import make_engine, session_scope, upgrade
from bot.store.tables import Feed
from feeds.model import Item

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
BATCH = 50
# Titles every run matches first, whatever its window: a long-running process has matched a
# stream's whole vocabulary, so its morphology memo and caches are full (and the garbage
# collector walks them) whether its window holds 1,000 items or 100,000. Without this the
# small window's run, having matched only 1,000 titles, is flattered (0.40–0.45 ms/item
# against 0.51 warmed, 1 December).
WARM = 100_000


def quality(headlines: list[dict[str, str]], settings: Settings) -> dict[str, float]:
    stamps = [
        datetime.strptime(h["timestamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) for h in headlines
    ]
    keys = [title_key(h["title"]) for h in headlines]
    window = settings.alerts.cluster_window
    exhaustive: list[int] = []
    postings: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(
        keys
    ):  # compare with every earlier title (sharing a word) in the window
        earlier = sorted({j for w in set(key.split()) for j in postings[w]}, reverse=True)
        exhaustive.append(
            next(
                (
                    exhaustive[j]
                    for j in earlier
                    if stamps[i] - stamps[j] <= window and same_story_keys(keys[j], key)
                ),
                i,
            )
        )
        for w in set(key.split()):
            postings[w].append(i)
    book = StoryBook.for_alerts(settings.alerts)
    indexed = [
        book.join(Subject(item_id=i, key=k, source="", tier=2, result=MatchResult(), now=stamps[i]))
        for i, k in enumerate(keys)
    ]
    a, b = _pairs(exhaustive), _pairs(indexed)
    agree = sum(
        (x == i) == (y == i) for i, (x, y) in enumerate(zip(exhaustive, indexed, strict=True))
    )
    return {
        "titles": len(keys),
        "pairs": len(a),
        "recall": len(a & b) / len(a),
        "precision": len(a & b) / len(b),
        "decisions": agree / len(keys),
    }


def _pairs(stories: list[int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for i, story in enumerate(stories):
        members[story].append(i)
    return {pair for m in members.values() for pair in itertools.combinations(m, 2)}


def settings_for(database: str) -> Settings:
    return parse_settings(
        {
            "database": {"url": database},
            "feeds": [{"name": "bench", "url": "http://127.0.0.1/bench.xml"}],
            "situations": [{"slug": "iran", "name": "Iran", "countries": ["IRN"]}],
            "subscriptions": [{"channel": "C0BENCH001", "situations": ["iran"]}],
        }
    )


def variants(headlines: list[dict[str, str]], count: int, rng: random.Random) -> list[str]:
    """`count` Iran titles: real ones with a third of their words swapped for others'."""
    iran = [h["title"] for h in headlines if "iran" in title_key(h["title"]).split()]
    vocabulary = sorted({w for h in headlines for w in h["title"].split()})
    titles = []
    for _ in range(count):
        words = rng.choice(iran).split()
        words = [rng.choice(vocabulary) if rng.random() < 1 / 3 else w for w in words]
        titles.append("Iran: " + " ".join(words))
    return titles


def write(
    writer: ItemWriter,
    engine: Any,
    titles: list[str],
    *,
    prefix: str,
    start: datetime,
    span: timedelta,
) -> tuple[float, float]:
    """Write `titles` in feeds of `BATCH`, their clock spread over `span`; (wall, thread CPU)."""
    with session_scope(engine) as s:
        feed = s.exec(Feed.__table__.select()).first()  # type: ignore[attr-defined]
    feed_id = feed.id
    cfg = writer.settings.feeds[0]
    wall = cpu = 0.0
    batches = range(0, len(titles), BATCH)
    for n, at in enumerate(batches):
        now = start + span * (n / max(1, len(batches)))
        items = [
            Item(
                feed="bench",
                guid=f"{prefix}-{at + j}",
                title=t,
                published=now,
                source=f"outlet {(at + j) % 97}",
            )
            for j, t in enumerate(titles[at : at + BATCH])
        ]
        t0, c0 = time.perf_counter(), time.thread_time()
        with session_scope(engine) as s:
            writer.write(s, [FeedItems(feed=cfg, feed_id=feed_id, items=items)], now=now)
        wall += time.perf_counter() - t0
        cpu += time.thread_time() - c0
    return wall, cpu


def analyze(engine: Any) -> None:
    """Table statistics, as autovacuum keeps them (it is off on the development server)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def scaling(
    headlines: list[dict[str, str]], window_items: int, args: argparse.Namespace
) -> dict[str, Any]:
    database, admin = bench_database(args.database, prefix="tocsin-stories-")
    settings = settings_for(database)
    engine = make_engine(database)
    try:
        upgrade(engine)
        with session_scope(engine) as s:
            sync_feeds(s, settings)
        writer = ItemWriter(settings=settings, matcher=matcher_from_settings(settings))
        for title in variants(headlines, WARM, random.Random(WARM)):  # (see WARM)
            prepare(Item(feed="bench", guid="warm", title=title, published=NOW), writer.matcher)
        rng = random.Random(window_items)
        window = settings.alerts.cluster_window
        fill = variants(headlines, window_items, rng)
        write(writer, engine, fill, prefix="fill", start=NOW - window * 0.95, span=window * 0.9)
        analyze(engine)
        real = [h["title"] for h in headlines if "iran" in title_key(h["title"]).split()]
        measured = [rng.choice(real) for _ in range(args.measure)]
        writer.start_cycle()
        wall, cpu = write(
            writer, engine, measured, prefix="new", start=NOW, span=timedelta(minutes=10)
        )
    finally:
        engine.dispose()
        if admin is not None:
            drop_database(admin, database)
    return {
        "window": window_items,
        "ms_wall": 1000 * wall / args.measure,
        "ms_cpu": 1000 * cpu / args.measure,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stream", type=Path, required=True)
    parser.add_argument("--window-items", default="1000,10000,100000")
    parser.add_argument("--measure", type=int, default=2000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    headlines = load_stream(args.stream)
    if not args.no_quality:
        q = quality(headlines, settings_for("sqlite://"))
        print(
            f"story index vs exhaustive comparison, {q['titles']} real headlines "
            f"({q['pairs']} same-story pairs): recall {q['recall']:.4f}, "
            f"precision {q['precision']:.4f}, join/new decisions agree {q['decisions']:.4f}"
        )
    rows = [scaling(headlines, int(n), args) for n in args.window_items.split(",")]
    backend = "PostgreSQL" if args.database else "SQLite"
    for r in rows:
        print(
            f"{r['window']:>7} Iran items in the cluster window ({backend}): "
            f"{r['ms_wall']:.3f} ms/item wall, {r['ms_cpu']:.3f} ms/item writer CPU"
        )
    pairs = sorted({(0, len(rows) - 1), (len(rows) - 2, len(rows) - 1)}) if len(rows) > 1 else []
    for low, high in ((rows[a], rows[b]) for a, b in pairs):
        print(
            f"cost ratio {high['window']} ÷ {low['window']}: "
            f"{high['ms_wall'] / low['ms_wall']:.2f}× wall, "
            f"{high['ms_cpu'] / low['ms_cpu']:.2f}× CPU (target for 100000 ÷ 1000: ≤ 2×)"
        )


if __name__ == "__main__":
    main()
