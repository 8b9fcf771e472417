"""Ingestion benchmark: N feeds × M items served on loopback through fetch → parse → store → match.

    .venv/bin/python bench/ingest.py [--feeds 500] [--items 50] [--database URL]

Prints items/s for the first (everything new) poll, the wall time of a second poll where nothing
changed, and feedparser's parse-only time for the same bytes, with the ratio between them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import feedparser
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Secrets, parse_settings
from bot.console import ConsoleSink
from bot.runtime import build_runtime
from bot.store.db import make_engine

PLACES = [
    "Sudan",
    "Darfur",
    "Burkina Faso",
    "Mali",
    "Haiti",
    "Myanmar",
    "Goma",
    "Ethiopia",
    "Chile",
]
EVENTS = [
    "massacre reported in",
    "thousands displaced from",
    "journalists expelled from",
    "curfew imposed in",
    "trade talks open in",
    "hate speech rises in",
    "floods hit",
    "elections postponed in",
]


def make_feed(index: int, items: int, now: datetime) -> bytes:
    rng = random.Random(index)
    entries = []
    for j in range(items):
        title = f"{rng.choice(EVENTS).capitalize()} {rng.choice(PLACES)} (report {index}-{j})"
        when = format_datetime(now - timedelta(minutes=rng.randint(1, 3000)))
        entries.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://example.org/{index}/{j}?utm_source=rss</link>"
            f"<guid>bench-{index}-{j}</guid><pubDate>{when}</pubDate>"
            f"<description>&lt;p&gt;{escape(title)}. Witnesses described the situation to "
            f"reporters; aid agencies called for access.&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {index}</title><link>https://example.org/{index}</link>"
        f"<language>en</language>{''.join(entries)}</channel></rss>"
    ).encode()


class FeedServer(ThreadingHTTPServer):
    """Loopback server for `/<index>.xml` → `bodies[index]`, each answer after `latency` seconds,
    with an ETag (304 when unchanged). `hits` counts requests. bench/load.py uses it too."""

    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops SYNs under a burst of fetches

    def __init__(self, bodies: list[bytes], latency: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies = bodies
        self.latency = latency
        self.hits = 0
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FeedServer

    def do_GET(self) -> None:
        if self.server.latency:
            time.sleep(self.server.latency)
        with self.server._lock:
            self.server.hits += 1
        body = self.server.bodies[int(self.path.strip("/").split(".")[0])]
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def fresh_database(base_url: str) -> tuple[str, Any]:
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"tocsin_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False), admin


def drop_database(admin: Any, url: str) -> None:
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def config_text(base: str, feeds: int, database: str) -> str:
    lines = [
        f'[database]\nurl = "{database}"\n',
        "[polling]\nallow_private_targets = true\nconcurrency = 32\nparse_workers = 1\n",
        '[alerts]\nmax_age = "48h"\n',
    ]
    for i in range(feeds):
        lines.append(f'[[feeds]]\nname = "bench {i}"\nurl = "{base}/{i}.xml"\ninterval = "15m"\n')
    for slug, country in [("sudan", "SDN"), ("sahel", "BFA"), ("haiti", "HTI"), ("myanmar", "MMR")]:
        lines.append(
            f'[[situations]]\nslug = "{slug}"\nname = "{slug}"\ncountries = ["{country}"]\n'
        )
    lines.append('[[subscriptions]]\nchannel = "C0BENCH001"\nsituations = ["sudan", "sahel"]\n')
    return "\n".join(lines)


def main() -> None:
    import tomllib

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    now = datetime.now(UTC)
    bodies = [make_feed(i, args.items, now) for i in range(args.feeds)]
    httpd = FeedServer(bodies)
    httpd.start()
    base = httpd.base_url
    tmp = tempfile.mkdtemp(prefix="tocsin-bench-")
    admin = None
    if args.database and args.database.startswith("postgresql"):
        database, admin = fresh_database(args.database)  # dropped at the end
    else:
        database = args.database or f"sqlite:///{tmp}/bench.db"
    settings = parse_settings(tomllib.loads(config_text(base, args.feeds, database)))
    from rich.console import Console

    sink = ConsoleSink(Console(file=open("/dev/null", "w")))  # noqa: SIM115
    runtime = build_runtime(settings=settings, secrets=Secrets(), sink=sink)
    try:
        tw = time.perf_counter()
        runtime.poller.warm_up()
        print(f"parser pool start: {time.perf_counter() - tw:.2f} s (once per process)")
        t0 = time.perf_counter()
        first = runtime.poller.poll(force=True)
        t1 = time.perf_counter()
        second = runtime.poller.poll(force=True)
        t2 = time.perf_counter()
    finally:
        runtime.close()
        httpd.shutdown()
        if admin is not None:
            drop_database(admin, database)

    t_parse = time.perf_counter()
    parsed = sum(len(feedparser.parse(b).entries) for b in bodies)
    parse_only = time.perf_counter() - t_parse

    totals = first.totals()
    items = totals["new_items"]
    print(f"feeds={args.feeds} items/feed={args.items} database={database.split(':')[0]}")
    print(
        f"first poll:  {t1 - t0:7.2f} s  {items} new items  {items / (t1 - t0):8.0f} items/s  "
        f"matches={totals['matches']} alerts={totals['alerts_queued']} errors={totals['errors']}"
    )
    t2nd = second.totals()
    print(
        f"second poll: {t2 - t1:7.2f} s  "
        f"not_modified={t2nd['not_modified']} new={t2nd['new_items']}"
    )
    print(
        f"feedparser parse-only (1 core, same bytes): {parse_only:7.2f} s  "
        f"{parsed / parse_only:8.0f} items/s"
    )
    print(f"ratio full pipeline / parse-only time: {(t1 - t0) / parse_only:5.2f}")


if __name__ == "__main__":
    main()
