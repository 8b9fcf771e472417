"""Storage on SQLite and PostgreSQL: migrations, aware UTC datetimes, unique keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from bot.store.db import current_revision, make_engine, safe_url, session_scope, upgrade
from bot.store.tables import Feed, Item, Match, OutboxMessage, Subscription
from tests.migrations import head_revision


def _feed(engine: Engine) -> int:
    with session_scope(engine) as s:
        feed = Feed(name="f", kind="rss", url="https://example.org/rss")
        s.add(feed)
        s.flush()
        assert feed.id is not None
        return feed.id


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    upgrade(engine)  # second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {
        "feed",
        "item",
        "match",
        "subscription",
        "outbox",
        "audit_log",
        "feedback",
        "channel_state",
        "alembic_version",
    } <= tables
    assert current_revision(engine) is not None


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_datetimes_round_trip_as_aware_utc(engine: Engine) -> None:
    feed_id = _feed(engine)
    plus3 = timezone(timedelta(hours=3))
    when = datetime(2026, 3, 29, 4, 30, tzinfo=plus3)
    with session_scope(engine) as s:
        s.add(Item(feed_id=feed_id, guid="g", title="t", published_at=when))
    with session_scope(engine) as s:
        item = s.exec(select(Item)).one()
        assert item.published_at.tzinfo is not None
        assert item.published_at.utcoffset() == timedelta(0)
        assert item.published_at == when
        assert item.published_at.astimezone(UTC).hour == 1


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    feed_id = _feed(engine)
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as s:
        s.add(Item(feed_id=feed_id, guid="g", title="t", published_at=datetime(2026, 1, 1)))


def test_item_is_unique_per_feed_and_guid(engine: Engine) -> None:
    feed_id = _feed(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(Item(feed_id=feed_id, guid="same", title="a", published_at=now))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Item(feed_id=feed_id, guid="same", title="b", published_at=now))
    with session_scope(engine) as s:
        assert [i.title for i in s.exec(select(Item)).all()] == ["a"]


def test_outbox_is_unique_per_subscription_and_item(engine: Engine) -> None:
    feed_id = _feed(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        item = Item(feed_id=feed_id, guid="g", title="t", published_at=now)
        sub = Subscription(channel="C0TEST0001", situation="sudan")
        s.add(item)
        s.add(sub)
        s.flush()
        match = Match(item_id=item.id or 0, situation="sudan", severity="watch")
        s.add(match)
        s.flush()
        ids = {"subscription_id": sub.id or 0, "item_id": item.id or 0, "match_id": match.id or 0}
        s.add(OutboxMessage(**ids, channel="C0TEST0001", situation="sudan", severity="watch"))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(OutboxMessage(**ids, channel="C0TEST0001", situation="sudan", severity="watch"))


def test_safe_url_hides_passwords() -> None:
    assert "secret" not in safe_url("postgresql://user:secret@db:5432/tocsin")


def test_migration_0003_adds_and_removes_the_briefing_schedule_columns(engine: Engine) -> None:
    from alembic import command

    from bot.store.db import alembic_config

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("subscription")}

    with session_scope(engine) as s:
        s.add(Subscription(channel="C1", situation="sudan", briefing_weekday="fri"))
    assert {"briefing_weekday", "briefing_time"} <= columns()
    # the downgrade to 0002 passes through every later revision
    assert current_revision(engine) == head_revision()
    command.downgrade(alembic_config(engine), "0002")
    assert not {"briefing_weekday", "briefing_time"} & columns()
    assert "timezone" in columns()
    upgrade(engine)
    assert {"briefing_weekday", "briefing_time"} <= columns()
    with session_scope(engine) as s:
        (row,) = s.exec(select(Subscription)).all()
    assert (row.situation, row.briefing_weekday, row.briefing_time) == ("sudan", None, None)


def test_migration_0004_fills_match_published_from_the_item(engine: Engine) -> None:
    from alembic import command

    from bot.store.db import alembic_config

    feed_id = _feed(engine)
    when = datetime(2026, 3, 10, 6, 15, tzinfo=UTC)
    command.downgrade(alembic_config(engine), "0003")
    assert "published_at" not in {c["name"] for c in inspect(engine).get_columns("match")}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO item (feed_id, guid, title, summary, source, countries, tags, "
                "title_key, published_at, fetched_at) VALUES (:f, 'g', 't', '', '', '[]', '[]', "
                "'t', :p, :p)"
            ),
            {"f": feed_id, "p": when.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO match (item_id, situation, indicators, evidence, breakdown, score, "
                "severity, why, created_at) SELECT id, 'sudan', '[]', '[]', '[]', 0, 'info', '', "
                ":p FROM item"
            ),
            {"p": when.replace(tzinfo=None)},
        )
    upgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    tables = set(inspect(engine).get_table_names())
    assert {"story_band", "story_source", "indicator_seen"} <= tables
    upgrade(engine)
    with session_scope(engine) as s:
        (match,) = s.exec(select(Match)).all()
    assert match.published_at == when


def test_a_match_written_without_published_at_takes_its_items(engine: Engine) -> None:
    feed_id = _feed(engine)
    when = datetime(2026, 3, 10, 6, 15, tzinfo=UTC)
    with session_scope(engine) as s:
        item = Item(feed_id=feed_id, guid="g", title="t", published_at=when)
        s.add(item)
        s.flush()
        s.add(Match(item_id=item.id or 0, situation="sudan", severity="watch"))
    with session_scope(engine) as s:
        (match,) = s.exec(select(Match)).all()
    assert match.published_at == when


def test_work_in_a_savepoint_is_rolled_back_with_its_transaction(engine: Engine) -> None:
    """On SQLite a SAVEPOINT opened before any write used to be a transaction of its own, and its
    release committed the work in it whatever happened to the surrounding transaction."""
    from bot.outbox.enqueue import enqueue
    from bot.store.tables import MessageKind

    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.exec(select(OutboxMessage)).all()  # a read first, as `make_rollups` does
        queued = enqueue(
            s, kind=MessageKind.ROLLUP, channel="C1", situation="x", now=now, dedupe_key="k"
        )
        assert queued.created
        raise RuntimeError("the process dies before its transaction ends")
    with session_scope(engine) as s:
        assert s.exec(select(OutboxMessage)).all() == []
