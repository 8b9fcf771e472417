"""Build the Bolt app and put it on the network: HTTP (`serve`) or Socket Mode.

Synchronous Bolt. In HTTP mode Slack posts events, slash commands and button clicks to
`POST /slack/events`, signed with the signing secret; `GET /healthz` answers 200 while the
database does (503 otherwise). SLACK_API_URL points every Web API call at another server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine

from bot.config import Secrets, Settings
from bot.metrics import Metrics
from bot.slack.channels import ChannelDirectory
from bot.slack.client import app_client
from bot.slack.context import Services
from bot.slack.listeners import register
from bot.slack.server import Health, Server, channel_errors_check, database_check, wsgi_app
from bot.store.types import utcnow

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger(__name__)


class TocsinApp(App):
    """A Bolt `App` that also carries Tocsin's health checks and extra HTTP routes."""

    health: Health
    routes: dict[str, WSGIApplication]
    services: Services
    http_events: bool


def build_app(
    *,
    settings: Settings,
    secrets: Secrets,
    engine: Engine,
    clock: Callable[[], datetime] = utcnow,
    verify_token: bool = True,
    metrics: Metrics | None = None,
    wake: Callable[[], None] | None = None,
) -> TocsinApp:
    """The Bolt app with every listener registered.

    HTTP mode needs SLACK_SIGNING_SECRET; without it (Socket Mode only) `/slack/events` is
    not served at all, so no unsigned request can ever reach a listener.
    `verify_token` calls auth.test once now, so a bad token fails at start-up; `wake` is called
    when a listener queues a message (the delivery loop sends it at once).
    """
    if not secrets.slack_signing_secret and not secrets.slack_app_token:
        raise ValueError("set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
    client = app_client(secrets, metrics=metrics)
    app = TocsinApp(
        client=client,
        signing_secret=secrets.slack_signing_secret or "",
        token_verification_enabled=verify_token,
        name="tocsin",
        logger=logging.getLogger("bot.slack.bolt"),
    )
    services = Services(
        settings=settings,
        engine=engine,
        channels=ChannelDirectory(client=client, engine=engine, clock=clock),
        clock=clock,
        wake=wake or (lambda: None),
    )
    register(app, services)
    app.services = services
    app.http_events = bool(secrets.slack_signing_secret)
    app.health = Health()
    app.health.add("database", database_check(engine))
    app.health.add("channels", channel_errors_check(engine))
    app.routes = {}
    return app


def serve(app: TocsinApp, *, host: str, port: int) -> Server:
    """Start the HTTP server in a thread (port 0 picks a free port); `.shutdown()` stops it."""
    events = SlackRequestHandler(app) if app.http_events else None
    return Server(
        wsgi_app(events=events, health=app.health, routes=app.routes), host=host, port=port
    )


class SocketMode:
    """A Socket Mode connection, with the same `.shutdown()` as the HTTP server."""

    def __init__(self, handler: SocketModeHandler) -> None:
        self.handler = handler

    def shutdown(self) -> None:
        self.handler.close()  # type: ignore[no-untyped-call]


def start_socket_mode(app: TocsinApp, *, secrets: Secrets) -> SocketMode:
    """Connect to Slack over a WebSocket (needs SLACK_APP_TOKEN, `xapp-…`); returns at once."""
    if not secrets.slack_app_token:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN (an app-level token, xapp-…)")
    handler = SocketModeHandler(app, app_token=secrets.slack_app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("event=socket_mode_connected")
    return SocketMode(handler)
