"""Build the running parts from Settings: engine (upgraded), matcher, poller, sink, deliverer."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot.alerts import Deliverer
from bot.config import Secrets, Settings
from bot.matching.matcher import Matcher
from bot.matching.setup import matcher_from_settings
from bot.pipeline import Poller
from bot.sinks import Sink
from bot.store.db import make_engine, session_scope, upgrade
from bot.subscriptions import sync_config_subscriptions

Clock = Callable[[], datetime]
_NOISY = ("httpx", "httpcore", "slack_bolt", "slack_sdk", "apscheduler", "alembic", "urllib3")


def utc_now() -> datetime:
    return datetime.now(UTC)


class _SecretFilter(logging.Filter):
    """Last line of defence: never let a Slack token reach a log line."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "[redacted]")
                record.msg, record.args = message, None
        return True


def configure_logging(*, level: str = "INFO", secrets: Secrets | None = None) -> None:
    """One line per event, key=value, to stderr. Called once, by the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    if secrets is not None:
        handler.addFilter(
            _SecretFilter(
                [
                    secrets.slack_bot_token or "",
                    secrets.slack_signing_secret or "",
                    secrets.slack_app_token or "",
                ]
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def database_url(settings: Settings, secrets: Secrets) -> str:
    return secrets.database_url or settings.database.url


def open_database(settings: Settings, secrets: Secrets) -> Engine:
    """The engine, with the schema upgraded and config subscriptions synced."""
    engine = make_engine(database_url(settings, secrets), echo=settings.database.echo)
    upgrade(engine)
    with session_scope(engine) as session:
        sync_config_subscriptions(session, settings, now=utc_now())
    return engine


@dataclass
class Runtime:
    settings: Settings
    secrets: Secrets
    engine: Engine
    matcher: Matcher
    poller: Poller
    deliverer: Deliverer
    sink: Sink

    def close(self) -> None:
        self.poller.close()
        self.engine.dispose()


def build_runtime(
    *,
    settings: Settings,
    secrets: Secrets,
    sink: Sink,
    clock: Clock = utc_now,
    engine: Engine | None = None,
    allow_private: bool | None = None,
) -> Runtime:
    if allow_private is not None:
        polling = settings.polling.model_copy(update={"allow_private_targets": allow_private})
        settings = settings.model_copy(update={"polling": polling})
    engine = engine or open_database(settings, secrets)
    matcher = matcher_from_settings(settings)
    poller = Poller(settings=settings, secrets=secrets, engine=engine, matcher=matcher, clock=clock)
    min_interval = (
        settings.slack.min_interval if sink.name == "slack" else settings.slack.min_interval * 0
    )
    deliverer = Deliverer(
        settings=settings, engine=engine, sink=sink, clock=clock, min_interval=min_interval
    )
    return Runtime(
        settings=settings,
        secrets=secrets,
        engine=engine,
        matcher=matcher,
        poller=poller,
        deliverer=deliverer,
        sink=sink,
    )
