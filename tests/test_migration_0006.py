"""Migration 0006 on a database at 0005: subscriptions, alerts and channel state survive untouched
(no review channel, nothing waits for review, no DM owner); afterwards an alert of a reviewed
subscription waits for its review and Share sends it; 0006 also goes back down cleanly.

Runs on SQLite and (with TEST_DATABASE_URL) on a fresh PostgreSQL database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.review import Decision, Outcome, decide
from bot.store.db import alembic_config, current_revision, session_scope, upgrade
from bot.store.tables import ChannelState, MessageKind, MessageState, OutboxMessage, Subscription
from tests.migrations import head_revision
from tests.test_migration_0005 import _insert, old_engine  # noqa: F401 (a fixture)
from tests.test_outbox import Clock, FakeSink, deliverer

T = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def _fill_0005(engine: Engine) -> None:
    item: dict[str, Any] = {
        "feed_id": 1,
        "summary": "",
        "source": "S",
        "title_key": "",
        "countries": [],
        "tags": [],
        "published_at": T,
        "fetched_at": T,
    }
    outbox = {
        "kind": "alert",
        "channel": "C1",
        "situation": "sudan",
        "severity": "warning",
        "subscription_id": 1,
        "payload": {},
        "parts_sent": 0,
        "attempts": 0,
        "next_attempt_at": T,
        "created_at": T,
    }
    with engine.begin() as conn:
        _insert(
            conn,
            "feed",
            [
                {
                    "id": 1,
                    "name": "f",
                    "kind": "rss",
                    "url": "https://x.example/",
                    "consecutive_failures": 0,
                    "budget_calls": 0,
                }
            ],
        )
        _insert(
            conn,
            "item",
            [{"id": i, "guid": f"g{i}", "title": f"Report {i}", **item} for i in (1, 2)],
        )
        _insert(
            conn,
            "match",
            [
                {
                    "id": i,
                    "item_id": i,
                    "situation": "sudan",
                    "indicators": [],
                    "evidence": [],
                    "breakdown": [],
                    "score": 5.0,
                    "severity": "warning",
                    "why": "",
                    "published_at": T,
                    "created_at": T,
                }
                for i in (1, 2)
            ],
        )
        _insert(
            conn,
            "subscription",
            [
                {
                    "id": 1,
                    "channel": "C1",
                    "situation": "sudan",
                    "alerts": True,
                    "briefings": False,
                    "min_severity": "watch",
                    "digest": False,
                    "critical_breakthrough": True,
                    "active": True,
                    "origin": "config",
                    "created_at": T,
                }
            ],
        )
        _insert(
            conn,
            "outbox",
            [
                {
                    "item_id": 1,
                    "match_id": 1,
                    "state": "delivered",
                    "message_ts": "1.1",
                    **outbox,
                }
            ],
        )
        _insert(conn, "channel_state", [{"channel": "C1", "cap_count": 0}])
        feedback = {"user": "U1", "relevant": True, "situation": "sudan", "source": "S"}
        _insert(conn, "feedback", [{"alert_id": 1, **feedback, "indicators": [], "created_at": T}])


def test_0006_keeps_every_row_and_reviews_work_afterwards(old_engine: Engine) -> None:  # noqa: F811
    upgrade(old_engine, "0005")
    _fill_0005(old_engine)
    upgrade(old_engine)
    assert current_revision(old_engine) == head_revision()
    with session_scope(old_engine) as session:
        assert session.get(OutboxMessage, 1) is not None and session.get(Subscription, 1)
    with session_scope(old_engine) as session:
        sub = session.get(Subscription, 1)
        assert sub is not None and (sub.review_channel, sub.review_timeout) == (None, None)
        alert = session.get(OutboxMessage, 1)
        assert alert is not None and (alert.state, alert.review_id) == (
            MessageState.DELIVERED,
            None,
        )
        state = session.get(ChannelState, "C1")
        assert state is not None and state.dm_user is None
        sub.review_channel = "CREVIEW1"
        session.add(
            OutboxMessage(
                subscription_id=1,
                item_id=2,
                match_id=2,
                channel="C1",
                situation="sudan",
                severity="warning",
                created_at=T,
                next_attempt_at=T,
            )
        )
    sink, clock = FakeSink(), Clock(T)
    deliverer(old_engine, sink, clock).drain()
    assert [p.channel for p in sink.posts] == ["CREVIEW1"]
    with session_scope(old_engine) as session:
        review = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.REVIEW)
        ).one()
        assert review.id is not None
        decided = decide(
            session,
            review_id=review.id,
            channel="CREVIEW1",
            user="U1",
            decision=Decision.SHARED,
            now=T,
        )
        assert decided.outcome == Outcome.DONE and len(decided.released) == 1
    deliverer(old_engine, sink, clock).drain()
    assert sorted(p.channel for p in sink.posts) == ["C1", "CREVIEW1", "CREVIEW1"]  # + the update


def test_0006_goes_back_down_and_up_with_rows_that_point_at_the_outbox(
    old_engine: Engine,  # noqa: F811
) -> None:
    upgrade(old_engine, "0005")
    _fill_0005(old_engine)  # feedback → outbox → subscription: no table may be copied away
    upgrade(old_engine)  # to the head: the way down passes through every later revision
    command.downgrade(alembic_config(old_engine), "0005")
    assert current_revision(old_engine) == "0005"
    columns = {c["name"] for c in sa.inspect(old_engine).get_columns("outbox")}
    assert "review_id" not in columns
    assert "review_decision" not in sa.inspect(old_engine).get_table_names()
    upgrade(old_engine)
    assert current_revision(old_engine) == head_revision()
    with session_scope(old_engine) as session:
        assert session.get(OutboxMessage, 1) is not None and session.get(Subscription, 1)
