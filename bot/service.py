"""`tocsin run`: heartbeat + delivery loop + scheduler + Slack front door (HTTP or Socket Mode),
stopped cleanly on SIGTERM.

An HTTP server on [server].port always answers `/healthz` and `/metrics`, with or without Slack.
SIGHUP re-reads the configuration: when it is valid, everything built from it (the matcher, the
jobs, the Slack app) is rebuilt; when it is not, the errors are logged and the old one stays.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.outbox.loop import DeliveryLoop
from bot.runtime import Runtime
from bot.scheduler import build_scheduler

log = logging.getLogger(__name__)


def run_forever(
    runtime: Runtime, *, port: int | None = None, reload: Callable[[], Runtime] | None = None
) -> None:
    """Run until SIGTERM/SIGINT; on SIGHUP, swap in `reload()`'s runtime if it builds."""
    wake, reloading = threading.Event(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: wake.set())
    if reload is not None:

        def on_hangup(*_: object) -> None:
            reloading.set()
            wake.set()

        signal.signal(signal.SIGHUP, on_hangup)
    while True:
        with runtime.heartbeat.running():
            _run_until_woken(runtime, port=port, wake=wake, reloading=reloading)
        if not reloading.is_set() or reload is None:
            runtime.close()
            return
        wake.clear()
        reloading.clear()
        runtime = _reloaded(runtime, reload)


def _run_until_woken(
    runtime: Runtime, *, port: int | None, wake: threading.Event, reloading: threading.Event
) -> None:
    """Delivery loop, scheduler and Slack front door, until a signal sets `wake`."""
    delivery = DeliveryLoop(runtime.deliverer).start()
    scheduler = build_scheduler(runtime, wake=delivery.wake)
    scheduler.start()
    scheduler.modify_job("poll", next_run_time=datetime.now(UTC))
    front = start_front_door(runtime, port=port, wake=delivery.wake)
    log.info(
        "event=started sink=%s feeds=%d situations=%d",
        runtime.sink.name,
        len(runtime.settings.feeds),
        len(runtime.settings.situations),
    )
    try:
        wake.wait()
    finally:
        log.info("event=stopping reload=%s", reloading.is_set())
        for part in front:
            part.shutdown()
        scheduler.shutdown(wait=True)
        delivery.shutdown()


def _reloaded(current: Runtime, reload: Callable[[], Runtime]) -> Runtime:
    try:
        fresh = reload()
    except Exception as exc:  # a bad config must not stop a running bot
        log.error("event=reload_failed keeping=current_config error=%r", str(exc))
        return current
    current.close()
    log.info("event=reloaded")
    return fresh


def start_front_door(
    runtime: Runtime, *, port: int | None, wake: Callable[[], None] | None = None
) -> list[Any]:
    """What must be `.shutdown()` at the end: the Slack app (Socket Mode and/or HTTP) with
    `/healthz` and `/metrics`, or, without Slack credentials, a health-and-metrics-only server."""
    from bot.health import STUCK_AFTER, outbox_check, serve_health
    from bot.metrics import METRICS_PATH, metrics_app
    from bot.slack.app import build_app, serve, start_socket_mode

    secrets, settings = runtime.secrets, runtime.settings
    host, port = settings.server.host, port if port is not None else settings.server.port
    clock = runtime.poller.clock
    routes = {METRICS_PATH: metrics_app(runtime.metrics, engine=runtime.engine, clock=clock)}
    if secrets.slack_bot_token and (secrets.slack_app_token or secrets.slack_signing_secret):
        app = build_app(
            settings=settings,
            secrets=secrets,
            engine=runtime.engine,
            metrics=runtime.metrics,
            wake=wake,
        )
        app.health.add("outbox", outbox_check(runtime.engine, clock=clock, stuck_after=STUCK_AFTER))
        app.routes.update(routes)
        parts: list[Any] = []
        if secrets.slack_app_token:
            parts.append(start_socket_mode(app, secrets=secrets))
        parts.append(serve(app, host=host, port=port))  # /slack/events only with a signing secret
        return parts
    log.warning(
        "event=no_slack reason='set SLACK_BOT_TOKEN and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET' "
        "sink=%s serving='/healthz /metrics' port=%s",
        runtime.sink.name,
        port,
    )
    return [serve_health(engine=runtime.engine, clock=clock, routes=routes, host=host, port=port)]
