"""Briefing fixtures: the database `engine` (tests/conftest.py) and the mock Slack server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.briefing.deliver import SlackPoster
from bot.slack.sink import make_client
from tests.slack.conftest import clock, running, settings  # noqa: F401 - shared fixtures
from tests.slack.mock_slack import MockSlack


@pytest.fixture
def poster(engine: Engine, slack: MockSlack) -> Iterator[SlackPoster]:
    yield SlackPoster(make_client(token="xoxb-test", base_url=slack.base_url), engine=engine)
