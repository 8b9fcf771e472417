"""Briefing fixtures: the database `engine` (tests/conftest.py), the mock Slack server, and a
deliverer that drains the outbox into it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.outbox.deliverer import Deliverer
from bot.slack.sink import SlackSink
from tests.briefing import builders
from tests.slack.conftest import clock, running, settings  # noqa: F401 - shared fixtures
from tests.slack.helpers import FakeClock
from tests.slack.mock_slack import MockSlack


@pytest.fixture
def deliverer(engine: Engine, slack: MockSlack, clock: FakeClock) -> Deliverer:  # noqa: F811
    """Delivers with the briefing settings into the mock Slack (no pacing: the clock stands)."""
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    return Deliverer(
        settings=builders.settings(), engine=engine, sink=sink, clock=clock, owner="test"
    )
