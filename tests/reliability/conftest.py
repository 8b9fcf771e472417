"""Fixtures for the reliability tests: PostgreSQL only (several instances need SKIP LOCKED)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.store.db import make_engine
from tests.conftest import _truncate
from tests.slack.mock_slack import MockSlack


@pytest.fixture
def pg_url(_postgres_engine: Engine) -> str:
    """The session's PostgreSQL database, emptied; skipped when TEST_DATABASE_URL is unset."""
    _truncate(_postgres_engine)
    return _postgres_engine.url.render_as_string(hide_password=False)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def slack() -> Iterator[MockSlack]:
    server = MockSlack(realtime_ts=True)
    yield server
    server.close()
