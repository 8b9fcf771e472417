"""`tocsin run`: scheduler + Slack front door (HTTP or Socket Mode), stopped cleanly on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

from bot.runtime import Runtime
from bot.scheduler import build_scheduler

log = logging.getLogger(__name__)


def run_forever(runtime: Runtime, *, port: int | None = None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = build_scheduler(runtime)
    scheduler.start()
    scheduler.modify_job("poll", next_run_time=datetime.now(UTC))
    front = _start_front_door(runtime, port=port)
    log.info("event=started sink=%s feeds=%d", runtime.sink.name, len(runtime.settings.feeds))
    try:
        stop.wait()
    finally:
        log.info("event=stopping")
        if front is not None:
            front.shutdown()
        scheduler.shutdown(wait=True)
        runtime.close()


def _start_front_door(runtime: Runtime, *, port: int | None) -> Any:
    """The Slack app when credentials are set, else a health endpoint only."""
    from bot.slack.app import build_app, serve, start_socket_mode

    secrets, settings = runtime.secrets, runtime.settings
    host, port = settings.server.host, port if port is not None else settings.server.port
    if secrets.slack_bot_token and secrets.slack_app_token:
        app = build_app(settings=settings, secrets=secrets, engine=runtime.engine)
        return start_socket_mode(app, secrets=secrets)
    if secrets.slack_bot_token and secrets.slack_signing_secret:
        app = build_app(settings=settings, secrets=secrets, engine=runtime.engine)
        return serve(app, host=host, port=port)
    log.warning("event=no_slack reason='SLACK_BOT_TOKEN/SLACK_SIGNING_SECRET not set' sink=console")
    return None
