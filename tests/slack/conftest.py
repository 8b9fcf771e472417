"""Fixtures: the mock Slack server, a fake clock, settings, and the app served on port 0, with a
deliverer that drains the outbox into the same mock Slack (what `tocsin run`'s loop does)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from bot.config import Secrets, Settings
from bot.outbox.deliverer import Deliverer, DrainReport
from bot.slack.app import TocsinApp, build_app, serve
from bot.slack.server import Server
from bot.slack.sink import SlackSink
from tests.slack import helpers
from tests.slack.mock_slack import MockSlack


@pytest.fixture
def clock() -> helpers.FakeClock:
    return helpers.FakeClock()


@pytest.fixture
def settings() -> Settings:
    return helpers.settings()


@dataclass
class Running:
    app: TocsinApp
    server: Server
    slack: MockSlack
    engine: Engine
    deliverer: Deliverer
    replies_seen: int = 0

    @property
    def events_url(self) -> str:
        return f"{self.server.url}/slack/events"

    def command(self, text: str, **kwargs: str) -> helpers.Response:
        body = helpers.command_body(text, response_url=self.slack.response_url(), **kwargs)
        return helpers.post(self.events_url, body)

    def deliver(self) -> DrainReport:
        """Drain the outbox into the mock Slack (the delivery loop's work, done now)."""
        return self.deliverer.drain()

    def reply(self) -> dict:
        """The next deferred reply posted to response_url (waits for it)."""
        self.replies_seen += 1
        return self.slack.wait_for("response", count=self.replies_seen)[self.replies_seen - 1].body


@pytest.fixture
def running(
    engine: Engine, slack: MockSlack, clock: helpers.FakeClock, settings: Settings
) -> Iterator[Running]:
    secrets = Secrets(
        slack_bot_token="xoxb-test",
        slack_signing_secret=helpers.SECRET,
        slack_api_url=slack.base_url,
    )
    app = build_app(settings=settings, secrets=secrets, engine=engine, clock=clock)
    server = serve(app, host="127.0.0.1", port=0)
    sink = SlackSink(token="xoxb-test", base_url=slack.base_url, engine=engine, clock=clock)
    deliverer = Deliverer(settings=settings, engine=engine, sink=sink, clock=clock, owner="test")
    try:
        yield Running(app=app, server=server, slack=slack, engine=engine, deliverer=deliverer)
    finally:
        server.shutdown()
