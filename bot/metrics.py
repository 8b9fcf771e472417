"""Prometheus metrics: counters fed by the poller, the deliverer and Slack calls; outbox gauges
read from the database at scrape time. Served as `GET /metrics` (see `metrics_app`).

    tocsin_alerts_total{event}          what happened to alerts (roots and follow-ups), including
                                        the flood guard's held, rolled_up and broken_through
    tocsin_messages_total{kind,event}   the same for every kind of outbox message

Each `Metrics` owns a dedicated `CollectorRegistry` (never prometheus_client's global one), so
tests build their own and see only their own counts. The process-wide instance
(`process_metrics()`) is the default for components built without one, which is how `tocsin run`
shares one set of counters between the poller, the deliverer and both Slack clients.

Label values are bounded: poll statuses and alert events are fixed sets, feed names come from
the config, Slack methods from our own code, Slack error codes are checked against a pattern.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.health import outbox_status

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger(__name__)
METRICS_PATH = "/metrics"
POLL_STATUSES = ("ok", "not_modified", "error", "budget")
DELIVERY_EVENTS = (
    "delivered",
    "reconciled",  # found already posted after a crash: delivered, not re-sent
    "part",  # one part of a multi-part message (briefing, digest) sent; more follow
    "retried",  # a real error (5xx, timeout, unreadable answer): this message backs off
    "throttled",  # Slack answered 429: the channel pauses for Retry-After
    "failed",
    "blocked",
    "withheld",
    "muted",
    "skipped",
    "deferred",  # waiting for the channel's pace or a pause
    "digest",  # waiting for the daily digest
    "held",  # the flood guard held it (over the channel's hourly cap)
    "review",  # it waits for a reviewer (review before sharing)
)
ALERT_EVENTS = (
    "queued",  # outbox rows written by a poll (the `alerts_queued` of `tocsin poll --json`)
    *DELIVERY_EVENTS,
    "rolled_up",  # a held alert went into its hour's roll-up
    "broken_through",  # a critical alert posted although its channel was over the cap
)
ALERT_KINDS = ("alert", "follow_up")
MESSAGE_KINDS = (
    "alert",
    "follow_up",
    "card_update",
    "rollup",
    "digest",
    "briefing",
    "briefing_on_demand",
    "escalation",
    "review",
)
SLACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CODE = re.compile(r"[a-z0-9_]{1,64}")


class Metrics:
    """Every counter and histogram Tocsin keeps, registered in `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("tocsin_polls", "Feed polls by outcome.", ["status"], registry=r)
        self.items_stored = Counter("tocsin_items_stored", "New items stored.", registry=r)
        self.matches = Counter("tocsin_matches", "Matches (item x situation) stored.", registry=r)
        self.alerts = Counter(
            "tocsin_alerts",
            "Alert events: queued by a poll; delivered, reconciled, retried, throttled, failed, "
            "blocked, withheld, muted, skipped, deferred, digest, held, review by the deliverer; "
            "rolled_up into a roll-up; broken_through the flood guard (critical).",
            ["event"],
            registry=r,
        )
        self.messages = Counter(
            "tocsin_messages",
            "Outbox events by message kind (alert, follow_up, card_update, rollup, digest, "
            "briefing, briefing_on_demand, escalation, review).",
            ["kind", "event"],
            registry=r,
        )
        self.feed_failures = Counter(
            "tocsin_feed_failures",
            "Failed polls by feed (name from the config).",
            ["feed"],
            registry=r,
        )
        self.slack_seconds = Histogram(
            "tocsin_slack_request_duration_seconds",
            "Slack Web API call latency by method (errors included).",
            ["method"],
            buckets=SLACK_BUCKETS,
            registry=r,
        )
        self.slack_errors = Counter(
            "tocsin_slack_errors",
            "Slack Web API errors by method and Slack error code (http_NNN or network when "
            "Slack gave no code).",
            ["method", "code"],
            registry=r,
        )
        for status in POLL_STATUSES:
            self.polls.labels(status=status)
        for event in ALERT_EVENTS:
            self.alerts.labels(event=event)

    def record_poll(
        self, *, feed: str, status: str, new_items: int, matches: int, alerts: int
    ) -> None:
        """One feed's outcome in one poll cycle."""
        self.polls.labels(status=status if status in POLL_STATUSES else "error").inc()
        self.items_stored.inc(new_items)
        self.matches.inc(matches)
        self.alerts.labels(event="queued").inc(alerts)
        if status in ("error", "budget"):
            self.feed_failures.labels(feed=feed).inc()

    def record_message(self, event: str, *, kind: str) -> None:
        """One outcome of the deliverer for a message of `kind`."""
        if event not in DELIVERY_EVENTS or kind not in MESSAGE_KINDS:
            return
        self.messages.labels(kind=kind, event=event).inc()
        if kind in ALERT_KINDS:
            self.alerts.labels(event=event).inc()

    def record_alert(self, event: str, *, count: int = 1) -> None:
        """An alert event outside one delivery (`rolled_up`, `broken_through`)."""
        if event in ALERT_EVENTS:
            self.alerts.labels(event=event).inc(count)

    def record_slack_call(self, method: str, *, seconds: float, error: str | None) -> None:
        self.slack_seconds.labels(method=method).observe(seconds)
        if error is not None:
            code = error if _CODE.fullmatch(error) else "other"
            self.slack_errors.labels(method=method, code=code).inc()

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0.0 when absent): for tests and `tocsin` diagnostics."""
        found = self.registry.get_sample_value(name, labels)
        return found if found is not None else 0.0


_process: Metrics | None = None


def process_metrics() -> Metrics:
    """The process-wide `Metrics` (created on first use)."""
    global _process
    if _process is None:
        _process = Metrics()
    return _process


class DatabaseGauges(Collector):
    """Gauges computed from the database at scrape time (two cheap aggregate queries)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("tocsin_database_up", "1 when the database answered this scrape.")
        try:
            status = outbox_status(self.engine, now=self.clock())
        except SQLAlchemyError as exc:
            log.warning("event=metrics_database_error error=%r", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "tocsin_outbox_depth",
            "Messages waiting in the outbox (queued + sending), every kind.",
            value=status.depth,
        )
        yield GaugeMetricFamily(
            "tocsin_outbox_held",
            "Alerts the flood guard holds now, to be posted in their hour's roll-up.",
            value=status.held,
        )
        yield GaugeMetricFamily(
            "tocsin_outbox_review",
            "Alerts waiting for a reviewer now (review before sharing).",
            value=status.review,
        )
        yield GaugeMetricFamily(
            "tocsin_outbox_oldest_due_seconds",
            "How long the oldest due message has been waiting (0 when none is due).",
            value=status.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "tocsin_channels_blocked",
            "Channels Tocsin cannot post to (see /healthz or `tocsin feeds` for which).",
            value=len(status.blocked_channels),
        )


class _Scrape(Collector):
    def __init__(self, parts: Iterable[Collector | CollectorRegistry]) -> None:
        self.parts = tuple(parts)

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def metrics_app(
    metrics: Metrics, *, engine: Engine, clock: Callable[[], datetime]
) -> WSGIApplication:
    """`GET /metrics` in the Prometheus text format: the counters plus the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape([metrics.registry, DatabaseGauges(engine, clock=clock)]))
    app: WSGIApplication = make_wsgi_app(registry)
    return app
