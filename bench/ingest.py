"""Ingestion benchmark on real headlines, side by side with lemon24/reader, in one run.

    .venv/bin/python bench/ingest.py --stream ../shared/corpus/headlines-stream/gdelt-2026-03.jsonl
        [--feeds 500] [--items 50] [--situations iran|many] [--database URL] [--no-reader]
        [--profile FILE] [--profile-warm FILE] [--warm-polls N]

The stream's headlines are dealt in order to N loopback feeds × M items (25,000 by default, so
the 9,753 real headlines recur in two or three feeds each, as wire stories do; each item names
its real outlet in <source>), with their skew kept: about a third mention Iran. `--situations
iran` watches one situation (Iran), `many` watches 40 countries. Without `--stream`, synthetic
titles are used (they hide the cost of hot situations: use them only when ../shared is absent).

Printed: Tocsin's cold poll (everything new: fetch, parse, store, match, assess, queue), the warm
poll of the unchanged feeds (500 × 304: the poll's own time), lemon24/reader 3.26 updating the
same feeds in the same run (its own virtualenv, bench/.reader-venv, made on first use from
bench/requirements-reader.txt) and the ratio of throughputs, and feedparser's parse-only rate
on the same bytes (the floor). The feeds are served from a child process. `--profile FILE`
writes a cProfile of Tocsin's cold poll, `--profile-warm FILE` of the warm one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
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


BENCH = Path(__file__).resolve().parent
READER_VENV = BENCH / ".reader-venv"
# Countries for `--situations many`: the places in the news of March 2026 and watched crises
MANY = [
    "IRN",
    "ISR",
    "LBN",
    "USA",
    "IRQ",
    "SYR",
    "YEM",
    "SAU",
    "ARE",
    "QAT",
    "KWT",
    "BHR",
    "OMN",
    "JOR",
    "EGY",
    "TUR",
    "PAK",
    "AFG",
    "IND",
    "CHN",
    "RUS",
    "UKR",
    "SDN",
    "SSD",
    "SOM",
    "ETH",
    "COD",
    "CAF",
    "MLI",
    "BFA",
    "NER",
    "NGA",
    "HTI",
    "MMR",
    "VEN",
    "COL",
    "CUB",
    "GBR",
    "FRA",
    "DEU",
]


def load_stream(path: Path) -> list[dict[str, str]]:
    """The stream's headlines, oldest first."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return sorted(rows, key=lambda r: r["timestamp"])


def stream_feeds(
    headlines: list[dict[str, str]], *, feeds: int, items: int, now: datetime
) -> list[bytes]:
    """Deal the headlines in order to `feeds` × `items`; dates keep their order within 47 h."""
    total = feeds * items
    bodies = []
    for i in range(feeds):
        entries = []
        for j in range(items):
            n = i * items + j
            h = headlines[n % len(headlines)]
            when = format_datetime(now - timedelta(hours=47) * (1 - n / total))
            entries.append(
                f"<item><title>{escape(h['title'])}</title><link>{escape(h['url'])}</link>"
                f"<guid>{escape(h['id'])}-{i}</guid><pubDate>{when}</pubDate>"
                f'<source url="https://{escape(h["source_name"])}/">'
                f"{escape(h['source_name'])}</source></item>"
            )
        bodies.append(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Stream feed {i}</title><link>https://example.org/{i}</link>"
            f"{''.join(entries)}</channel></rss>".encode()
        )
    return bodies


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


class ChildServer:
    """A `FeedServer` in its own process, as remote feeds would be: its threads do not compete
    with the poller's for the interpreter lock."""

    def __init__(self, bodies: list[bytes]) -> None:
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        self.process = context.Process(target=self._serve, args=(bodies, child), daemon=True)
        self.process.start()
        self.base_url: str = parent.recv()

    @staticmethod
    def _serve(bodies: list[bytes], pipe: Any) -> None:
        server = FeedServer(bodies)
        pipe.send(server.base_url)
        server.serve_forever()

    def shutdown(self) -> None:
        self.process.terminate()
        self.process.join()


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


def situations_for(kind: str) -> list[str]:
    return {"iran": ["IRN"], "many": MANY}[kind]


def config_text(
    base: str, feeds: int, database: str, countries: list[str], *, parse_workers: int = 1
) -> str:
    lines = [
        f'[database]\nurl = "{database}"\n',
        "[polling]\nallow_private_targets = true\nconcurrency = 32\n"
        f"parse_workers = {parse_workers}\n",
        '[alerts]\nmax_age = "48h"\n',
    ]
    for i in range(feeds):
        lines.append(f'[[feeds]]\nname = "bench {i}"\nurl = "{base}/{i}.xml"\ninterval = "15m"\n')
    for country in countries:
        slug = country.lower()
        lines.append(
            f'[[situations]]\nslug = "{slug}"\nname = "{slug}"\ncountries = ["{country}"]\n'
        )
    slugs = ", ".join(f'"{c.lower()}"' for c in countries)
    lines.append(f'[[subscriptions]]\nchannel = "C0BENCH001"\nsituations = [{slugs}]\n')
    return "\n".join(lines)


def reader_python() -> Path | None:
    """bench/.reader-venv's python, made on first use; None (with a message) if pip fails."""
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        print("creating bench/.reader-venv (reader 3.26, once) …", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "-r", "requirements-reader.txt"],
                check=True,
                cwd=BENCH,
            )
        except subprocess.CalledProcessError as exc:
            print(f"(reader unavailable: {exc}; its figures are skipped)")
            return None
    return python


def run_reader(base: str, feeds: int, workers: int) -> dict[str, Any] | None:
    python = reader_python()
    if python is None:
        return None
    out = subprocess.run(
        [str(python), str(BENCH / "reader_run.py"), base, str(feeds), str(workers)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stream", type=Path, help="a headlines-stream JSONL file")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--situations", choices=["iran", "many"], default="iran")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--no-reader", action="store_true", help="skip lemon24/reader")
    parser.add_argument("--reader-workers", type=int, default=16)
    parser.add_argument("--parse-workers", type=int, default=2, help="[polling] parse_workers")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the cold poll here")
    parser.add_argument("--profile-warm", type=Path, help="write a cProfile of the warm poll here")
    parser.add_argument(
        "--warm-polls", type=int, default=5, help="warm polls timed (the median is printed)"
    )
    args = parser.parse_args()

    now = datetime.now(UTC)
    if args.stream:
        headlines = load_stream(args.stream)
        bodies = stream_feeds(headlines, feeds=args.feeds, items=args.items, now=now)
        titles = f"real headlines from {args.stream.name}"
    else:
        bodies = [make_feed(i, args.items, now) for i in range(args.feeds)]
        titles = "SYNTHETIC titles (no --stream): figures hide hot situations"
    httpd = ChildServer(bodies)
    try:
        tocsin = run_tocsin(args, httpd.base_url, server_pid=httpd.process.pid or 0)
        reader = (
            None if args.no_reader else run_reader(httpd.base_url, args.feeds, args.reader_workers)
        )
    finally:
        httpd.shutdown()
    t_parse = time.perf_counter()
    parsed = sum(len(feedparser.parse(b).entries) for b in bodies)
    parse_only = time.perf_counter() - t_parse
    report(args, titles, tocsin, reader, parsed=parsed, parse_only=parse_only)


def tree_cpu(*, exclude: int) -> tuple[float, float]:
    """CPU seconds used by this process and its live descendants but `exclude` (the feed
    server): Tocsin's poller and its parse workers (and their forkserver, if any). A figure the
    other users of the machine do not inflate the way they inflate wall time. (This
    process's, its descendants'.)"""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        # ppid; utime and stime in clock ticks
        stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, parents = 0.0, {os.getpid()}
    while True:
        children = {p for p, (ppid, _) in stats.items() if ppid in parents and p != exclude}
        if not children:
            return time.process_time(), total
        total += sum(stats.pop(p)[1] for p in children)
        parents = children


def run_tocsin(args: argparse.Namespace, base: str, *, server_pid: int) -> dict[str, Any]:
    import tomllib

    database, admin = bench_database(args.database, prefix="tocsin-bench-")
    countries = situations_for(args.situations)
    settings = parse_settings(
        tomllib.loads(
            config_text(base, args.feeds, database, countries, parse_workers=args.parse_workers)
        )
    )
    from rich.console import Console

    sink = ConsoleSink(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    runtime = build_runtime(settings=settings, secrets=Secrets(), sink=sink)
    try:
        runtime.poller.warm_up()
        t0, (own, workers) = time.perf_counter(), tree_cpu(exclude=server_pid)
        first = poll(runtime.poller, profile=args.profile)
        cold = time.perf_counter() - t0
        own_after, workers_after = tree_cpu(exclude=server_pid)
        own, workers = own_after - own, workers_after - workers
        # one warm poll is at the mercy of a noisy neighbour: time several, keep the median
        warm = [poll(runtime.poller, profile=args.profile_warm)]
        warm += [poll(runtime.poller, profile=None) for _ in range(args.warm_polls - 1)]
    finally:
        runtime.close()
        if admin is not None:
            drop_database(admin, database)
    return {
        "database": database.split(":")[0],
        "cold": cold,
        "cpu": own + workers,
        "cpu_workers": workers,
        "totals": first.totals(),
        "warm": statistics.median(w.seconds for w in warm),
        "warm_range": (min(w.seconds for w in warm), max(w.seconds for w in warm)),
        "warm_totals": warm[-1].totals(),
        "situations": len(countries),
    }


def poll(poller: Any, *, profile: Path | None) -> Any:
    """One forced poll; with `profile`, under cProfile, its stats written there."""
    if profile is None:
        return poller.poll(force=True)
    import cProfile

    with cProfile.Profile() as profiler:
        report = poller.poll(force=True)
    profiler.dump_stats(str(profile))
    return report


def bench_database(url: str | None, *, prefix: str) -> tuple[str, Any]:
    """A fresh PostgreSQL database on `url`'s server (with the admin engine that drops it), or
    a temporary SQLite file."""
    if url and url.startswith("postgresql"):
        return fresh_database(url)
    return url or f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.db", None


def report(
    args: argparse.Namespace,
    titles: str,
    tocsin: dict[str, Any],
    reader: dict[str, Any] | None,
    *,
    parsed: int,
    parse_only: float,
) -> None:
    totals, warm = tocsin["totals"], tocsin["warm_totals"]
    low, high = tocsin["warm_range"]
    items = totals["new_items"]
    rate = items / tocsin["cold"]
    print(
        f"{args.feeds} feeds × {args.items} items, {titles}; {tocsin['situations']} situation(s) "
        f"({args.situations}); database {tocsin['database']}"
    )
    print(
        f"tocsin cold poll:  {tocsin['cold']:7.2f} s  {items} new items  {rate:7.0f} items/s  "
        f"matches={totals['matches']} alerts={totals['alerts_queued']} errors={totals['errors']}"
    )
    workers = tocsin["cpu_workers"]
    print(
        f"tocsin cold poll CPU:  {tocsin['cpu']:7.2f} s  (poller process "
        f"{tocsin['cpu'] - workers:.2f} s, parse workers {workers:.2f} s)"
    )
    print(
        f"tocsin warm poll:  {tocsin['warm']:7.2f} s  (the poll's own time, median of "
        f"{args.warm_polls}: {low:.2f}–{high:.2f} s; "
        f"not_modified={warm['not_modified']} new={warm['new_items']})"
    )
    if reader is not None:
        reader_rate = reader["entries"] / reader["cold"]
        print(
            f"reader 3.26 cold:  {reader['cold']:7.2f} s  {reader['entries']} entries  "
            f"{reader_rate:7.0f} items/s  (update_feeds(workers={reader['workers']}); "
            f"warm {reader['warm']:.2f} s)"
        )
        print(f"reader 3.26 cold CPU: {reader['cpu']:7.2f} s")
        cpu_ratio = (reader["cpu"] / reader["entries"]) / (tocsin["cpu"] / items)
        print(
            f"tocsin ÷ reader throughput: {rate / reader_rate:5.2f}×  "
            f"(CPU per item, reader ÷ tocsin: {cpu_ratio:5.2f}×)"
        )
    print(
        f"feedparser parse-only (1 core, same bytes): {parse_only:7.2f} s  "
        f"{parsed / parse_only:7.0f} items/s (the floor)"
    )


if __name__ == "__main__":
    main()
