"""Per-day counts (`match_count`, `outlet_count`, kept by triggers on `match`, migration 0009)
and the summaries read from them: after inserts (ORM and bulk), deletes and updates the counts
equal a count of `match` row by row, and `/tocsin summary`, the briefing's factor history and
its outlets give, over periods that start and end anywhere in a day, what counting every report
gives. A database that lived before 0009 has its matches counted by the migration. SQLite and
(with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.briefing.data import weekly_counts
from bot.store.db import alembic_config, session_scope, upgrade
from bot.store.tables import Feed, Item, Match, MatchCount, OutletCount
from bot.summary import factor_history, situation_summary
from tests.migrations import database_at
from tests.test_migration_0005 import _insert

T = datetime(2026, 11, 30, 9, 17, 23, tzinfo=UTC)
CODES = ("RF1", "RF9", "EE7", "RF11")
SOURCES = ("Radio Dabanga", "", "Sudan Tribune")
LANGUAGES = ("en", None, "ar")


def _reports(count: int, seed: int) -> list[dict[str, object]]:
    """Reports over the 40 days before T, at any time of day, with repeated factors."""
    rng = random.Random(seed)
    return [
        {
            "published": T - timedelta(seconds=rng.randrange(40 * 86400)),
            "situation": rng.choice(("sudan", "sudan", "myanmar")),
            "severity": rng.choice(("info", "watch", "warning", "critical")),
            "codes": [rng.choice(CODES) for _ in range(rng.choice((0, 1, 2, 3)))],
            "source": rng.choice(SOURCES),
            "language": rng.choice(LANGUAGES),
            "feed": rng.choice(("wire", "local")),
        }
        for _ in range(count)
    ]


def _store(engine: Engine, reports: list[dict[str, object]]) -> None:
    with session_scope(engine) as session:
        feeds = {}
        for name in ("wire", "local"):
            feed = session.exec(select(Feed).where(Feed.name == name)).first()
            if feed is None:
                feed = Feed(name=name, kind="rss", url=f"https://{name}.example.org/rss")
                session.add(feed)
                session.flush()
            feeds[name] = feed.id
        for n, r in enumerate(reports):
            item = Item(
                feed_id=feeds[str(r["feed"])],
                guid=f"g{n}-{r['published']}",
                title=f"report {n}",
                source=str(r["source"]),
                language=r["language"],  # type: ignore[arg-type]
                published_at=r["published"],  # type: ignore[arg-type]
            )
            session.add(item)
            session.flush()
            session.add(
                Match(
                    item_id=item.id or 0,
                    situation=str(r["situation"]),
                    severity=str(r["severity"]),
                    indicators=list(r["codes"]),  # type: ignore[call-overload]
                    published_at=r["published"],  # type: ignore[arg-type]
                )
            )


def _counted(session: Session) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    matches = Counter(
        {
            (r.situation, r.day, r.severity, r.code): r.n
            for r in session.exec(select(MatchCount)).all()
        }
    )
    outlets = Counter(
        {
            (r.situation, r.day, r.source, r.feed_id, r.language): r.n
            for r in session.exec(select(OutletCount)).all()
        }
    )
    return matches, outlets


def _recounted(session: Session) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    """What the counts should be: every match counted in Python."""
    matches: Counter[tuple[object, ...]] = Counter()
    outlets: Counter[tuple[object, ...]] = Counter()
    for m, i in session.exec(select(Match, Item).where(Match.item_id == Item.id)).all():
        day = m.published_at.astimezone(UTC).date()  # type: ignore[union-attr]
        for code in {"", *m.indicators}:
            matches[(m.situation, day, m.severity, code)] += 1
        outlets[(m.situation, day, i.source or "", i.feed_id, i.language or "")] += 1
    return matches, outlets


def test_counts_follow_inserts_deletes_and_updates(engine: Engine) -> None:
    _store(engine, _reports(300, seed=1))
    with session_scope(engine) as session:
        counted, recounted = _counted(session), _recounted(session)
        assert counted == recounted
        assert sum(n for (_, _, _, code), n in counted[0].items() if code == "") == 300
    with engine.begin() as conn:  # bulk statements, as ingestion writes, and a cleanup by hand
        conn.execute(sa.text("DELETE FROM match WHERE id % 7 = 0"))
        conn.execute(
            sa.text("UPDATE match SET severity = 'critical', situation = 'chad' WHERE id % 5 = 0")
        )
        conn.execute(
            sa.update(Match.__table__)  # type: ignore[attr-defined]
            .where(sa.text("id % 3 = 0"))
            .values(indicators=["RF2"], published_at=T - timedelta(days=50))
        )
    _store(engine, _reports(50, seed=2))
    with session_scope(engine) as session:
        counted, recounted = _counted(session), _recounted(session)
        assert counted == recounted
        assert ("chad", "critical") in {(k[0], k[2]) for k in counted[0]}
        assert all(n > 0 for n in counted[0].values()) and all(n > 0 for n in counted[1].values())


def _reference(
    reports: list[dict[str, object]], start: datetime, end: datetime
) -> dict[str, object]:
    inside = [
        r
        for r in reports
        if r["situation"] == "sudan" and start <= r["published"] < end  # type: ignore[operator]
    ]
    factors: Counter[str] = Counter()
    for r in inside:
        factors.update(set(r["codes"]))  # type: ignore[call-overload]
    outlets = Counter(
        (str(r["source"]) or "(unknown)", str(r["feed"]), r["language"]) for r in inside
    )
    return {
        "severities": Counter(str(r["severity"]) for r in inside),
        "factors": factors,
        "outlets": outlets,
    }


def _periods(rng: random.Random) -> Iterator[tuple[datetime, datetime]]:
    midnight = T.replace(hour=0, minute=0, second=0)
    yield midnight - timedelta(days=7), midnight  # whole days only
    yield T - timedelta(hours=5), T  # inside one day
    yield midnight - timedelta(hours=3), midnight + timedelta(hours=3)  # across one midnight
    yield T - timedelta(days=7), T  # the weekly briefing's
    yield T - timedelta(days=30), T
    for _ in range(6):
        start = T - timedelta(seconds=rng.randrange(20 * 86400))
        yield start, start + timedelta(seconds=rng.randrange(1, 20 * 86400))


def test_summaries_count_what_counting_every_report_gives(engine: Engine) -> None:
    reports = _reports(400, seed=3)
    _store(engine, reports)
    rng = random.Random(4)
    with session_scope(engine) as session:
        for start, end in _periods(rng):
            summary = situation_summary(session, situation="sudan", start=start, end=end)
            now, before = (
                _reference(reports, start, end),
                _reference(reports, start - (end - start), start),
            )
            assert Counter(summary.severities) == now["severities"], (start, end)
            assert Counter(summary.previous_severities) == before["severities"], (start, end)
            assert summary.matches == sum(now["severities"].values())  # type: ignore[attr-defined]
            assert {f.code: f.count for f in summary.factors if f.count} == now["factors"]
            assert {f.code: f.previous for f in summary.factors if f.previous} == before["factors"]
            outlets = Counter({(o.source, o.feed, o.language): o.count for o in summary.outlets})
            assert outlets == now["outlets"], (start, end)
            weeks = [end - timedelta(weeks=k) for k in range(4, 0, -1)]
            hits = factor_history(
                session, situation="sudan", start=weeks[0], end=end, boundaries=weeks
            )
            assert all(weeks[0] <= h.published < end for h in hits)
            for week in weekly_counts(hits, end=end, weeks=4):
                expected = _reference(reports, week.start, week.start + timedelta(weeks=1))
                assert week.counts == dict(expected["factors"]), (start, end, week.start)  # type: ignore[call-overload]


def test_factor_names_come_from_a_counted_report(engine: Engine) -> None:
    with session_scope(engine) as session:
        feed = Feed(name="wire", kind="rss", url="https://wire.example.org/rss")
        session.add(feed)
        session.flush()
        for n, day in enumerate((3, 2)):
            item = Item(
                feed_id=feed.id or 0, guid=f"g{n}", title="t", published_at=T - timedelta(days=day)
            )
            session.add(item)
            session.flush()
            session.add(
                Match(
                    item_id=item.id or 0,
                    situation="sudan",
                    severity="watch",
                    indicators=["RF9"],
                    evidence=[{"kind": "indicator", "key": "RF9", "name": "Identity-based"}],
                    published_at=T - timedelta(days=day),
                )
            )
    with session_scope(engine) as session:
        summary = situation_summary(session, situation="sudan", start=T - timedelta(days=7), end=T)
    assert [(f.code, f.name, f.count) for f in summary.factors] == [("RF9", "Identity-based", 2)]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_0008(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_at("0008", backend=request.param, tmp_path=tmp_path) as engine:
        yield engine


def test_0009_counts_the_matches_stored_before_it(engine_0008: Engine) -> None:
    reports = _reports(200, seed=5)
    with engine_0008.begin() as conn:
        _insert(conn, "feed", [
            {"id": n, "name": name, "kind": "rss", "url": f"https://{name}.example/rss",
             "consecutive_failures": 0, "budget_calls": 0}
            for n, name in ((1, "wire"), (2, "local"))
        ])  # fmt: skip
    _store_raw(engine_0008, reports)
    upgrade(engine_0008)
    with session_scope(engine_0008) as session:
        counted, recounted = _counted(session), _recounted(session)
    assert counted == recounted and sum(counted[1].values()) == 200
    command.downgrade(alembic_config(engine_0008), "0008")
    assert "match_count" not in sa.inspect(engine_0008).get_table_names()
    _store_raw(engine_0008, _reports(10, seed=6), offset=1000)  # no trigger at 0008
    upgrade(engine_0008)
    with session_scope(engine_0008) as session:
        counted, recounted = _counted(session), _recounted(session)
    assert counted == recounted and sum(counted[1].values()) == 210


def _store_raw(engine: Engine, reports: list[dict[str, object]], offset: int = 0) -> None:
    """Items and matches as a 0008 database holds them, written as plain rows."""
    numbered = list(enumerate(reports, start=offset + 1))
    with engine.begin() as conn:
        _insert(conn, "item", [
            {"id": n, "feed_id": 1 if r["feed"] == "wire" else 2, "guid": f"g{n}", "title": "t",
             "summary": "", "source": r["source"], "language": r["language"], "countries": [],
             "tags": [], "title_key": "k", "published_at": r["published"],
             "fetched_at": r["published"]}
            for n, r in numbered
        ])  # fmt: skip
        _insert(conn, "match", [
            {"id": n, "item_id": n, "situation": r["situation"], "severity": r["severity"],
             "score": 1.0, "why": "", "indicators": r["codes"], "evidence": [], "breakdown": [],
             "published_at": r["published"], "created_at": r["published"]}
            for n, r in numbered
        ])  # fmt: skip


def test_day_of_a_report_is_its_utc_day(engine: Engine) -> None:
    """A report published at 23:30 UTC counts on that day, whatever the offset it came with."""
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=3)))
    _store(
        engine,
        [
            {"published": late, "situation": "sudan", "severity": "watch", "codes": ["RF1"],
             "source": "S", "language": "en", "feed": "wire"}
        ],
    )  # fmt: skip
    with session_scope(engine) as session:
        days = {r.day for r in session.exec(select(MatchCount)).all()}
    assert days == {date(2026, 11, 29)}
