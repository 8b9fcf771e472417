"""Build the running parts from Settings: engine (upgraded), matcher, poller, sink, deliverer,
heartbeat."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine, make_url

from bot.config import Secrets, Settings
from bot.leases import Heartbeat, instance_id
from bot.matching.matcher import Matcher
from bot.matching.setup import matcher_from_settings
from bot.metrics import Metrics, process_metrics
from bot.outbox.deliverer import Deliverer, Pace
from bot.pipeline import Poller
from bot.sinks import Sink
from bot.store.db import make_engine, session_scope, upgrade
from bot.store.types import utcnow
from bot.subscriptions import sync_config_subscriptions

Clock = Callable[[], datetime]
utc_now = utcnow  # the wall clock, under the name the CLI, scheduler and tests import
_NOISY = ("httpx", "httpcore", "slack_bolt", "slack_sdk", "apscheduler", "alembic", "urllib3")


class _SecretFilter(logging.Filter):
    """Last line of defence: never let a Slack token reach a log line."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a bad format string: the handler reports it
                return True
            if any(s in message for s in self.secrets):
                record.msg, record.args = self._redact(message), None
            if record.exc_info and not record.exc_text:  # a traceback repeats exception messages
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self._redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self._redact(record.stack_info)
        return True

    def _redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "[redacted]")
        return text


class _LineFormatter(logging.Formatter):
    """One line per event: UTC ISO timestamps with no space in them, and a traceback folded into
    one quoted `exc=` field instead of spilling over many lines."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        record.asctime = f"{stamp}.{int(record.msecs):03d}Z"
        line = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += " exc=" + json.dumps(record.exc_text, ensure_ascii=False)
        if record.stack_info:
            line += " stack=" + json.dumps(self.formatStack(record.stack_info), ensure_ascii=False)
        return line.replace("\r", "\\r").replace("\n", "\\n")


def configure_logging(*, level: str = "INFO", secrets: Secrets | None = None) -> None:
    """One line per event, key=value, to stderr. Called once, by the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _LineFormatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    if secrets is not None:
        handler.addFilter(
            _SecretFilter(
                [
                    secrets.slack_bot_token or "",
                    secrets.slack_signing_secret or "",
                    secrets.slack_app_token or "",
                    _password(secrets.database_url),
                ]
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def _password(url: str | None) -> str:
    try:
        return (make_url(url).password or "") if url else ""
    except Exception:  # an unparseable URL is reported by make_engine, not here
        return ""


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
    heartbeat: Heartbeat
    metrics: Metrics = field(default_factory=process_metrics)

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
    metrics: Metrics | None = None,
) -> Runtime:
    if allow_private is not None:
        polling = settings.polling.model_copy(update={"allow_private_targets": allow_private})
        settings = settings.model_copy(update={"polling": polling})
    engine = engine or open_database(settings, secrets)
    matcher = matcher_from_settings(settings)
    metrics = metrics or process_metrics()
    owner = instance_id()
    poller = Poller(
        settings=settings,
        secrets=secrets,
        engine=engine,
        matcher=matcher,
        clock=clock,
        owner=owner,
        metrics=metrics,
    )
    deliverer = Deliverer(
        settings=settings,
        engine=engine,
        sink=sink,
        clock=clock,
        owner=owner,
        # only Slack limits how fast a channel may receive messages
        pace=Pace.of_slack(settings) if sink.name == "slack" else None,
        metrics=metrics,
    )
    heartbeat = Heartbeat(
        engine=engine,
        owner=owner,
        clock=clock,
        feed_lease=settings.polling.lease,
        message_lease=settings.alerts.lease,
    )
    return Runtime(
        settings=settings,
        secrets=secrets,
        engine=engine,
        matcher=matcher,
        poller=poller,
        deliverer=deliverer,
        sink=sink,
        heartbeat=heartbeat,
        metrics=metrics,
    )
