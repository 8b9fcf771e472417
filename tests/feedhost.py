"""A fake feed host for pipeline tests: a real HTTP server on 127.0.0.1:0 with builder methods."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: bool = True


@dataclass
class FeedHost:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                host.requests.append((method, self.path, body))
                route = host.routes.get(path)
                if route is None:
                    self.send_error(404, "not found")
                    return
                tag = '"' + hashlib.sha1(route.body).hexdigest() + '"'
                if route.etag and self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                if route.etag:
                    self.send_header("ETag", tag)
                self.end_headers()
                self.wfile.write(route.body)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes | str, **kwargs: Any) -> FeedHost:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)
        return self

    def serve_json(self, path: str, payload: Any) -> FeedHost:
        return self.serve(path, json.dumps(payload), content_type="application/json", etag=False)

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(*items: dict[str, str], title: str = "Test feed", language: str = "en") -> str:
    """A small RSS 2.0 document; each item dict may have title, link, guid, pubDate, description."""
    from xml.sax.saxutils import escape

    parts = []
    for it in items:
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in it.items())
        parts.append(f"<item>{fields}</item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}'
        f"</title><link>https://example.org/</link><language>{language}</language>"
        f"{''.join(parts)}</channel></rss>"
    )
