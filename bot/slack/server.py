"""A small threaded WSGI server: POST /slack/events (Bolt), GET /healthz, and extra routes.

Health is a list of named checks (the database by default); add more with `health.add(...)`,
and more GET routes (e.g. `/metrics`) with `routes["/metrics"] = wsgi_app`.
"""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024
Check = Callable[[], tuple[bool, str]]


@dataclass
class Health:
    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, name: str, check: Check) -> None:
        """`check()` returns (ok, detail); an exception counts as not ok."""
        self.checks[name] = check

    def run(self) -> tuple[bool, dict[str, Any]]:
        results: dict[str, Any] = {}
        for name, check in self.checks.items():
            try:
                ok, detail = check()
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results[name] = {"ok": ok, "detail": detail}
        healthy = all(r["ok"] for r in results.values())
        return healthy, {"status": "ok" if healthy else "unhealthy", "checks": results}


def database_check(engine: Engine) -> Check:
    def check() -> tuple[bool, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, "answers"

    return check


def channel_errors_check(engine: Engine) -> Check:
    """Informational (always ok): channels Tocsin cannot post to, with Slack's error code."""

    def check() -> tuple[bool, str]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT channel, error FROM channel_state WHERE error IS NOT NULL")
            ).all()
        return True, ", ".join(f"{c} ({e})" for c, e in rows) or "none blocked"

    return check


def wsgi_app(
    *,
    events: WSGIApplication | None,
    health: Health,
    routes: dict[str, WSGIApplication],
) -> WSGIApplication:
    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok, body = health.run()
            return _json(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        if path in routes and method in ("GET", "HEAD"):
            return routes[path](environ, start_response)
        if path == EVENTS_PATH and method == "POST" and events is not None:
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY:
                return _json(start_response, "413 Payload Too Large", {"error": "too large"})
            return events(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


class Server:
    """A running server: `.port`, `.url`, `.shutdown()`."""

    def __init__(self, application: WSGIApplication, *, host: str, port: int) -> None:
        self._server = make_server(
            host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tocsin-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("event=http_listening host=%s port=%s", host, self.port)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
