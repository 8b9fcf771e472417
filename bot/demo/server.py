"""A loopback HTTP server for the demo feeds, with item dates made relative to now."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FEEDS = Path(__file__).parent / "feeds"
_PLACEHOLDER = re.compile(r"\{(ago|iso):(\d+)h\}")


def render(text: str, *, now: datetime, base: str) -> str:
    """Replace {ago:3h} with an RFC 822 date and {iso:3h} with ISO 8601, 3 hours before now."""

    def sub(m: re.Match[str]) -> str:
        when = now - timedelta(hours=int(m.group(2)))
        return format_datetime(when) if m.group(1) == "ago" else when.isoformat()

    return _PLACEHOLDER.sub(sub, text).replace("{base}", base)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        self._serve(self.path.lstrip("/").split("?")[0], "application/rss+xml; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if self.path.startswith("/v2/reports"):
            self._serve("reliefweb-reports.json", "application/json")
        else:
            self.send_error(404)

    def _serve(self, name: str, content_type: str) -> None:
        path = FEEDS / name
        if "/" in name or not path.is_file():
            self.send_error(404, "no such demo feed")
            return
        body = render(
            path.read_text(encoding="utf-8"), now=self.server.now, base=self.server.base_url
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"' + hashlib.sha1(body).hexdigest() + '"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class DemoServer:
    """`with DemoServer() as s: s.base_url` — serves until the block ends."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.now = datetime.now(UTC).replace(microsecond=0)  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.httpd.base_url = self.base_url  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DemoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
