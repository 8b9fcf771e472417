"""Shared fixtures for feeds/ tests: paths, a fixed clock, a loopback HTTP server."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from feeds.fetch import Fetcher, FetchOptions
from feeds.model import FeedSpec

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LOCAL = FetchOptions(allow_private=True)  # tests serve on 127.0.0.1

Route = Callable[[BaseHTTPRequestHandler, threading.Event], None]
Handler = Callable[[httpx.Request], httpx.Response]


class NetworkStream(httpx.SyncByteStream):
    """Body delivered in 64 KiB pieces, as from a socket (httpx does not pre-read it)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 64 * 1024):
            yield self.body[start : start + 64 * 1024]


def respond(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    return httpx.Response(status, headers=headers, stream=NetworkStream(body))


def fetcher_for(handler: Handler, options: FetchOptions = LOCAL) -> Fetcher:
    return Fetcher(options, transport=httpx.MockTransport(handler))


def spec(
    url: str = "https://feeds.example.org/feed.xml",
    *,
    name: str = "test-feed",
    language: str | None = None,
) -> FeedSpec:
    return FeedSpec(name=name, kind="rss", url=url, language=language)


@pytest.fixture
def corpus() -> Path:
    root = SHARED / "corpus"
    if not root.is_dir():
        pytest.skip("../shared corpus not available")
    return root


class LoopbackServer:
    """A real HTTP server on 127.0.0.1, port 0; `routes` maps a path to a handler function."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(OSError):  # the client gave up (deadline tests)
                    route(self, server.stop)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.thread.start()
    yield server
    server.stop.set()
    server.httpd.shutdown()
    server.httpd.server_close()


def drip(handler: BaseHTTPRequestHandler, stop: threading.Event, data: bytes, every: float) -> None:
    """Write `data` one byte at a time, `every` seconds apart, until done or told to stop."""
    for byte in data:
        if stop.wait(every):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def elapsed(since: float) -> float:
    return time.monotonic() - since
