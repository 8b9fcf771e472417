"""Migration 0005 on a database that has lived at 0003: every alert, its state and its feedback
survive; briefing claims become outbox rows the code recognises; the outbox works afterwards.

Runs on SQLite and (with TEST_DATABASE_URL) on a fresh PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.briefing.deliver import enqueue_briefing
from bot.briefing.schedule import Period
from bot.digest import enqueue_digest
from bot.outbox.rollup import make_rollups
from bot.store.db import alembic_config, current_revision, session_scope, upgrade
from bot.store.tables import ChannelState, Feedback, MessageKind, OutboxMessage
from bot.store.types import UTCDateTime
from tests.migrations import database_at, head_revision
from tests.test_outbox import SETTINGS, FakeSink, deliverer

T = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
WEEK = Period(start=T - timedelta(days=7), end=T)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend, brought to revision 0003."""
    with database_at("0003", backend=request.param, tmp_path=tmp_path) as engine:
        yield engine


def _insert(conn: sa.Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """Rows into a 0003 table: datetimes through UTCDateTime, lists and dicts as JSON."""
    sample = rows[0]
    columns = [
        sa.column(k, UTCDateTime())
        if isinstance(v, datetime) or k.endswith(("_at", "_start", "_end"))
        else sa.column(k, sa.JSON())
        if isinstance(v, list | dict)
        else sa.column(k)
        for k, v in sample.items()
    ]
    conn.execute(sa.insert(sa.table(name, *columns)), rows)


ALERTS = [  # id, channel, subscription, state, message_ts, thread_ts, attempts
    (1, "C1", 1, "delivered", "1.1", None, 0),
    (2, "C1", 1, "delivered", "1.2", "1.1", 0),  # posted as a reply in 1's thread
    (3, "C1", 1, "suppressed", None, None, 0),  # the old flood guard's silent drop
    (4, "C1", 1, "queued", None, None, 0),
    (5, "C2", 2, "digested", "9.9", None, 0),
    (6, "C1", 1, "sending", None, None, 1),  # in flight when the old version stopped
]
BRIEFINGS = [  # channel, kind, period start, state, message_ts
    ("C1", "weekly", WEEK.start, "sent", "5.5"),
    ("C2", "digest", T - timedelta(days=1), "sent", "9.9"),
    ("C1", "weekly", WEEK.start - timedelta(days=7), "failed", None),
    ("C2", "digest", T - timedelta(days=2), "empty", None),
    ("C1", "weekly", WEEK.start - timedelta(days=14), "claimed", None),
]


def _fill_0003(engine: Engine) -> None:
    common = {"situation": "sudan"}
    with engine.begin() as conn:
        _insert(
            conn,
            "feed",
            [
                {
                    "id": 1,
                    "name": "f",
                    "kind": "rss",
                    "url": "https://x.example/rss",
                    "consecutive_failures": 0,
                    "budget_calls": 0,
                }
            ],
        )
        ids = range(1, 7)
        _insert(
            conn,
            "item",
            [
                {
                    "id": i,
                    "feed_id": 1,
                    "guid": f"g{i}",
                    "title": f"Report {i}",
                    "summary": "",
                    "source": f"S{i}",
                    "title_key": "",
                    "countries": [],
                    "tags": [],
                    "published_at": T,
                    "fetched_at": T,
                }
                for i in ids
            ],
        )
        _insert(
            conn,
            "match",
            [
                {
                    "id": i,
                    "item_id": i,
                    **common,
                    "score": 5.0,
                    "severity": "warning",
                    "why": "",
                    "indicators": [],
                    "evidence": [],
                    "breakdown": [],
                    "created_at": T,
                }
                for i in ids
            ],
        )
        _insert(
            conn,
            "subscription",
            [
                {
                    "id": n,
                    "channel": f"C{n}",
                    **common,
                    "alerts": True,
                    "briefings": True,
                    "min_severity": "watch",
                    "digest": n == 2,
                    "critical_breakthrough": True,
                    "active": True,
                    "origin": "config",
                    "created_at": T - timedelta(days=30),
                }
                for n in (1, 2)
            ],
        )
        _insert(
            conn,
            "alert",
            [
                {
                    "id": a,
                    "subscription_id": sub,
                    "item_id": a,
                    "match_id": a,
                    "channel": channel,
                    **common,
                    "severity": "warning",
                    "state": state,
                    "attempts": attempts,
                    "message_ts": ts,
                    "thread_ts": thread,
                    "lease_owner": "old" if state == "sending" else None,
                    "next_attempt_at": T,
                    "created_at": T - timedelta(minutes=10),
                    "delivered_at": T if ts else None,
                    "lease_expires_at": T if state == "sending" else None,
                }
                for a, channel, sub, state, ts, thread, attempts in ALERTS
            ],
        )
        _insert(
            conn,
            "feedback",
            [
                {
                    "alert_id": 1,
                    "user": "U1",
                    "relevant": True,
                    **common,
                    "source": "S1",
                    "indicators": [],
                    "created_at": T,
                }
            ],
        )
        _insert(
            conn,
            "briefing",
            [
                {
                    "channel": channel,
                    **common,
                    "kind": kind,
                    "state": state,
                    "message_ts": ts,
                    "period_start": start,
                    "period_end": start + timedelta(days=7),
                    "created_at": start + timedelta(days=7),
                }
                for channel, kind, start, state, ts in BRIEFINGS
            ],
        )
        _insert(conn, "channel_state", [{"channel": "C1", "last_post_at": T}])


def _outbox(engine: Engine) -> dict[int, OutboxMessage]:
    with session_scope(engine) as session:
        return {r.id or 0: r for r in session.exec(select(OutboxMessage)).all()}


def test_0005_moves_alerts_and_briefings_into_the_outbox(old_engine: Engine) -> None:
    _fill_0003(old_engine)
    upgrade(old_engine)  # to the newest revision: the rows are read with today's tables
    assert current_revision(old_engine) == head_revision()
    rows = _outbox(old_engine)
    alerts = {i: rows[i] for i in range(1, 7)}
    assert {i: (r.kind, r.state) for i, r in alerts.items()} == {
        1: ("alert", "delivered"),
        2: ("follow_up", "delivered"),
        3: ("alert", "held"),  # rolled up by the next roll-up, no longer lost
        4: ("alert", "queued"),
        5: ("alert", "digested"),
        6: ("alert", "sending"),
    }
    assert alerts[2].parent_id == 1 and alerts[2].thread_ts == "1.1"
    assert alerts[3].period_start is not None and alerts[3].period_end is not None
    assert (alerts[6].attempts, alerts[6].lease_owner) == (1, "old")
    briefings = {(r.kind, r.period_start): r for i, r in rows.items() if i > 6}
    assert {(k, r.state) for (k, _), r in briefings.items()} == {
        ("briefing", "delivered"),
        ("digest", "delivered"),
        ("briefing", "failed"),
        ("digest", "skipped"),
        ("briefing", "skipped"),  # an interrupted claim: never re-sent (it was at most once)
    }
    digest = briefings[("digest", T - timedelta(days=1))]
    assert alerts[5].parent_id == digest.id  # the digested alert points at its digest
    with session_scope(old_engine) as session:
        (feedback,) = session.exec(select(Feedback)).all()
        assert feedback.alert_id == 1
        state = session.get(ChannelState, "C1")
        assert state is not None and state.cap_count == 0 and state.slot_at is None
        sudan = SETTINGS.situation("sudan")
        assert sudan is not None
        # the code computes the same keys: a migrated period is not briefed again …
        again = enqueue_briefing(session, channel="C1", situation=sudan, period=WEEK, now=T)
        day = Period(start=T - timedelta(days=1), end=T)
        assert not again.created
        assert not enqueue_digest(session, channel="C2", situation=sudan, period=day, now=T).created
        # … and new rows get new ids (the id sequence follows the copied rows)
        fresh = enqueue_digest(session, channel="C3", situation=sudan, period=day, now=T)
        assert fresh.created and fresh.id > max(rows)


def test_feedback_still_refers_to_existing_messages_only(old_engine: Engine) -> None:
    _fill_0003(old_engine)
    upgrade(old_engine)
    with pytest.raises(IntegrityError), session_scope(old_engine) as session:
        session.add(Feedback(alert_id=999, user="U2", relevant=False, situation="sudan"))


def test_the_migrated_outbox_is_delivered_and_rolled_up(old_engine: Engine) -> None:
    _fill_0003(old_engine)
    upgrade(old_engine)
    sink = FakeSink()
    clock_now = T + timedelta(hours=1)
    report = deliverer(old_engine, sink, lambda: clock_now).drain()  # type: ignore[arg-type]
    assert report.delivered == 2  # the queued one, and the one in flight (not found: posted)
    assert sorted(p.message_id for p in sink.posts) == [4, 6]
    assert make_rollups(old_engine, now=clock_now) == 1
    deliverer(old_engine, sink, lambda: clock_now).drain()  # type: ignore[arg-type]
    rows = _outbox(old_engine)
    (rollup,) = [r for r in rows.values() if r.kind == MessageKind.ROLLUP]
    assert rollup.state == "delivered" and rows[3].state == "rolled_up"
    assert rows[3].parent_id == rollup.id
    assert "1 more report for Sudan" in sink.posts[-1].text


def test_0005_downgrades_and_upgrades_again_without_losing_alerts(old_engine: Engine) -> None:
    _fill_0003(old_engine)
    upgrade(old_engine)
    command.downgrade(alembic_config(old_engine), "0003")
    with old_engine.connect() as conn:
        back: list[Any] = conn.execute(sa.text("SELECT id, state FROM alert ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(a[0], a[3]) for a in ALERTS]
        kinds = conn.execute(sa.text("SELECT kind, state FROM briefing")).all()
        assert len(kinds) == len(BRIEFINGS)
    upgrade(old_engine)
    assert {i: r.state for i, r in _outbox(old_engine).items() if i <= 6}[3] == "held"
