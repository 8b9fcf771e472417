"""Migration 0008 on a database that has lived at 0005: votes cast before it get the evidence
of their alert (terms, events, mentions), its item, feed and severity, and count in the
precision report; a downgrade and an upgrade lose no vote. SQLite and (with
TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.precision import load_votes, precision_report
from bot.store.db import alembic_config, current_revision, session_scope, upgrade
from bot.store.tables import Feedback
from tests.migrations import database_at, head_revision
from tests.test_migration_0005 import _insert

T = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
EVIDENCE = [
    {"kind": "situation", "key": "sudan", "term": "El Fasher", "matched": "El Fasher",
     "field": "title", "start": 20, "end": 29, "language": ""},
    {"kind": "indicator", "key": "RF1", "name": "armed conflict", "term": "clashes",
     "matched": "clashes", "field": "title", "start": 0, "end": 7, "language": "en"},
    {"kind": "event", "act": "kill", "act_kind": "lethal", "codes": ["RF11"],
     "victims": ["civilian"], "targets": [], "phrase": "killed 12", "field": "title",
     "grade": 2, "severity": "warning", "count": 12},
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_at("0005", backend=request.param, tmp_path=tmp_path) as engine:
        yield engine


def _fill(engine: Engine) -> None:
    """A feed, an item, its match, two alerts (one with no match) and three votes, at 0005."""
    with engine.begin() as conn:
        _insert(conn, "feed", [{"id": 1, "name": "Wire <b>", "kind": "rss",
                                "url": "https://x.example/rss", "consecutive_failures": 0,
                                "budget_calls": 0}])  # fmt: skip
        _insert(conn, "item", [{"id": 1, "feed_id": 1, "guid": "g1", "source": "Outlet",
                                "title": "Clashes near El Fasher, 12 killed", "summary": "",
                                "countries": [], "tags": [], "title_key": "k",
                                "published_at": T, "fetched_at": T}])  # fmt: skip
        _insert(conn, "match", [{"id": 1, "item_id": 1, "situation": "sudan",
                                 "indicators": ["RF1", "RF11"], "evidence": EVIDENCE,
                                 "breakdown": [], "score": 6.0, "severity": "warning",
                                 "why": "", "published_at": T, "created_at": T}])  # fmt: skip
        _insert(conn, "subscription", [{"id": 1, "channel": "C1", "situation": "sudan",
                                        "alerts": True, "briefings": True,
                                        "min_severity": "watch", "digest": False,
                                        "critical_breakthrough": True, "active": True,
                                        "origin": "config", "created_at": T}])  # fmt: skip
        alert = {"kind": "alert", "state": "delivered", "channel": "C1", "situation": "sudan",
                 "severity": "warning", "subscription_id": 1, "payload": {}, "parts_sent": 0,
                 "attempts": 0, "next_attempt_at": T, "created_at": T}  # fmt: skip
        _insert(conn, "outbox", [{**alert, "id": 1, "item_id": 1, "match_id": 1}])
        _insert(conn, "outbox", [{**alert, "id": 2, "kind": "escalation", "dedupe_key": "e"}])
        _insert(conn, "feedback", [
            {"id": n, "alert_id": alert_id, "user": user, "relevant": relevant,
             "situation": "sudan", "source": "Outlet", "indicators": ["RF1"], "created_at": T}
            for n, (alert_id, user, relevant) in enumerate(
                [(1, "U1", False), (1, "U2", True), (2, "U1", False)], start=1)
        ])  # fmt: skip


def test_0008_gives_old_votes_the_evidence_of_their_alert(engine_0005: Engine) -> None:
    _fill(engine_0005)
    upgrade(engine_0005)
    assert current_revision(engine_0005) == head_revision()
    with session_scope(engine_0005) as session:
        rows = {row.id: row for row in session.exec(select(Feedback)).all()}
        first, other = rows[1], rows[3]
        assert (first.item_id, first.feed, first.severity, first.origin) == (
            1,
            "Wire <b>",
            "warning",
            "button",
        )
        assert [t["term"] for t in first.evidence["terms"]] == ["clashes"]
        assert [(e["act"], e["victims"]) for e in first.evidence["events"]] == [
            ("kill", ["civilian"])
        ]
        assert [m["matched"] for m in first.evidence["mentions"]] == ["El Fasher"]
        empty = {"terms": [], "events": [], "mentions": []}  # an escalation: no match behind it
        assert (other.item_id, other.feed, other.evidence) == (None, "", empty)
        votes = load_votes(session, since=T - timedelta(days=1))
    report = precision_report(votes, min_votes=1, since=T, until=T)
    assert (report.relevant, report.not_relevant) == (1, 2)
    terms = {r.key: (r.relevant, r.not_relevant) for r in report.by("term")}
    assert terms == {'RF1 "clashes"': (1, 1)}
    assert {r.key for r in report.by("event")} == {"RF11 kill on civilian"}


def test_0008_downgrades_and_upgrades_again_without_losing_votes(engine_0005: Engine) -> None:
    _fill(engine_0005)
    upgrade(engine_0005)
    command.downgrade(alembic_config(engine_0005), "0005")
    with engine_0005.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar_one() == 3
    upgrade(engine_0005)
    with session_scope(engine_0005) as session:
        assert len(session.exec(select(Feedback)).all()) == 3
