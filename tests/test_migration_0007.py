"""Migration 0007 on a database that has lived at its parent revision (0006, review before
sharing): subscriptions and channel states keep every value, gain an empty filter and quiet
hours, and work with the code at once; the downgrade drops only the new columns.

Runs on SQLite and (with TEST_DATABASE_URL) on a fresh PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.store.db import alembic_config, current_revision, session_scope, upgrade
from bot.store.tables import ChannelState, Subscription
from bot.store.types import UTCDateTime
from tests.migrations import database_at, head_revision

T = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
PARENT = "0006"  # 0007 follows review before sharing (0006)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend, brought to 0007's parent revision (0006)."""
    with database_at(PARENT, backend=request.param, tmp_path=tmp_path) as engine:
        yield engine


def _seed(engine: Engine) -> None:
    subscription = sa.table(
        "subscription",
        *(sa.column(c) for c in ("channel", "situation", "alerts", "briefings", "min_severity")),
        *(sa.column(c) for c in ("digest", "critical_breakthrough", "active", "origin")),
        sa.column("muted_until", UTCDateTime()),
        sa.column("created_at", UTCDateTime()),
    )
    channel_state = sa.table(
        "channel_state",
        sa.column("channel"),
        sa.column("timezone"),
        sa.column("cap_count"),
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(subscription),
            [
                {
                    "channel": "C1",
                    "situation": situation,
                    "alerts": True,
                    "briefings": False,
                    "min_severity": "warning",
                    "digest": False,
                    "critical_breakthrough": True,
                    "active": True,
                    "origin": "slack",
                    "muted_until": T + timedelta(days=2) if situation == "sudan" else None,
                    "created_at": T,
                }
                for situation in ("sudan", "myanmar")
            ],
        )
        conn.execute(
            sa.insert(channel_state), [{"channel": "C1", "timezone": "Asia/Yangon", "cap_count": 0}]
        )


def test_0007_adds_empty_filters_and_quiet_hours_and_keeps_everything(old_engine: Engine) -> None:
    _seed(old_engine)
    upgrade(old_engine)
    assert current_revision(old_engine) == head_revision()
    with session_scope(old_engine) as session:
        subs = {s.situation: s for s in session.exec(select(Subscription)).all()}
        state = session.get(ChannelState, "C1")
        assert state is not None and state.timezone == "Asia/Yangon" and state.quiet_hours is None
        assert {s.filter_query for s in subs.values()} == {None}
        assert {s.quiet_hours for s in subs.values()} == {None}
        assert subs["sudan"].muted_until == T + timedelta(days=2)  # a snooze survives
        assert subs["sudan"].min_severity == "warning"
        subs["sudan"].filter_query = '"El Fasher" OR Darfur -cholera'
        subs["myanmar"].quiet_hours = "22:00-07:00"
        state.quiet_hours = "23:00-06:00"
    with session_scope(old_engine) as session:
        sudan = session.exec(select(Subscription).where(Subscription.situation == "sudan")).one()
        assert sudan.filter_query == '"El Fasher" OR Darfur -cholera'


def test_0007_downgrades_and_upgrades_again(old_engine: Engine) -> None:
    _seed(old_engine)
    upgrade(old_engine)
    with session_scope(old_engine) as session:
        for sub in session.exec(select(Subscription)).all():
            sub.filter_query, sub.quiet_hours = "Darfur", "22:00-07:00"
    command.downgrade(alembic_config(old_engine), PARENT)
    assert current_revision(old_engine) == PARENT
    columns = {c["name"] for c in sa.inspect(old_engine).get_columns("subscription")}
    assert "filter_query" not in columns and "quiet_hours" not in columns
    with old_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM subscription")).scalar() == 2
    upgrade(old_engine)
    with session_scope(old_engine) as session:
        subs = session.exec(select(Subscription)).all()
        assert len(subs) == 2 and {s.filter_query for s in subs} == {None}
