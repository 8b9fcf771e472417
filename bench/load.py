"""Load figures: one full poll cycle of N feeds (100 ms latency each) with 1 and 3 instances.

    .venv/bin/python bench/load.py [--feeds 2000] [--items 10] [--latency 0.1] [--instances 1,3]
                                   [--concurrency 64] [--parse-workers 1]
                                   [--database-url postgresql://postgres@127.0.0.1:5432/test]
                                   [--stream ../shared/corpus/headlines-stream/gdelt-2026-03.jsonl]

Each scenario gets a fresh PostgreSQL database (dropped afterwards) with every feed due. Every
instance is a separate process running `Poller.poll()` once; they start together. A loopback
server (threads, backlog 1024) answers each feed after sleeping `--latency`. Printed per scenario:
wall time until every feed is polled, feeds/s, items stored, and the peak RSS of each instance (its
own process, and with its parse workers). Targets on 2 cores: ≤ 30 s per cycle, ≤ 300 MB/instance.
With `--stream`, the feeds carry real headlines (`bench.ingest.stream_feeds`; situations Iran,
Israel and Lebanon), and the table shows the stories and alerts each scenario made: several
instances must agree with one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.ingest import (  # noqa: E402
    FeedServer,
    drop_database,
    fresh_database,
    load_stream,
    make_feed,
    stream_feeds,
)
from bot.config import Settings, parse_settings  # noqa: E402
from bot.store.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.store.tables import Item, Match, OutboxMessage  # noqa: E402

SYNTHETIC = [("sudan", "SDN"), ("sahel", "BFA"), ("haiti", "HTI")]
REAL = [("iran", "IRN"), ("israel", "ISR"), ("lebanon", "LBN")]


def raw_settings(
    *,
    base: str,
    feeds: int,
    database: str,
    concurrency: int,
    parse_workers: int,
    situations: list[tuple[str, str]],
) -> dict[str, Any]:
    return {
        "database": {"url": database},
        "polling": {
            "allow_private_targets": True,
            "concurrency": concurrency,
            "parse_workers": parse_workers,
        },
        "alerts": {"max_age": "48h", "min_severity": "info"},
        "feeds": [
            {"name": f"load {i}", "url": f"{base}/{i}.xml", "interval": "15m"} for i in range(feeds)
        ],
        "situations": [
            {"slug": slug, "name": slug, "countries": [country]} for slug, country in situations
        ],
        "subscriptions": [
            {"channel": "C0LOAD0001", "situations": [slug for slug, _ in situations]}
        ],
    }


# -- one instance (a child process) ---------------------------------------------------------------
def run_instance(config: Path, owner: str) -> None:
    from bot.config import Secrets
    from bot.matching.matcher import settle
    from bot.matching.setup import matcher_from_settings
    from bot.pipeline import Poller
    from bot.runtime import utc_now

    settings = parse_settings(json.loads(config.read_text()))
    engine = make_engine(settings.database.url)
    matcher = matcher_from_settings(settings)
    settle(matcher)  # as `tocsin run` does (bot.runtime.build_runtime)
    poller = Poller(
        settings=settings,
        secrets=Secrets(),
        engine=engine,
        matcher=matcher,
        clock=utc_now,
        owner=owner,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    if os.environ.get("LOAD_PROFILE"):  # cProfile of the storing (main) thread, for tuning
        import cProfile

        with cProfile.Profile() as profile:
            report = poller.poll()
        profile.dump_stats(f"{os.environ['LOAD_PROFILE']}.{owner}")
    else:
        report = poller.poll()
    finished = time.time()
    poller.close()
    engine.dispose()
    totals = report.totals()
    totals.update(
        finished=finished,
        polled=[o.feed for o in report.outcomes],
        maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    print(json.dumps(totals), flush=True)


# -- the scenario driver ---------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mb(pid: int) -> float:
    return _proc_kb(f"/proc/{pid}/status", "VmRSS:") / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages split between the processes that share them."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:") / 1024


def _proc_kb(path: str, key: str) -> float:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0.0


class TreeSampler(threading.Thread):
    """Peak total RSS of each instance's process tree (the instance, forkserver, parse workers)."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0.0)
        self.peak_pss = dict.fromkeys(pids, 0.0)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for pid in self.pids:
                tree = descendants(pid)
                self.peak[pid] = max(self.peak[pid], sum(rss_mb(p) for p in tree))
                self.peak_pss[pid] = max(self.peak_pss[pid], sum(pss_mb(p) for p in tree))


def prepare(settings: Settings) -> None:
    from bot.pipeline import sync_feeds
    from bot.subscriptions import sync_config_subscriptions

    engine = make_engine(settings.database.url)
    upgrade(engine)
    with session_scope(engine) as s:
        sync_feeds(s, settings)
        sync_config_subscriptions(s, settings, now=datetime.now(UTC))
    engine.dispose()


def scenario(args: argparse.Namespace, server: FeedServer, instances: int) -> dict[str, Any]:
    url, admin = fresh_database(args.database_url)
    try:
        raw = raw_settings(
            base=server.base_url,
            feeds=args.feeds,
            database=url,
            concurrency=args.concurrency,
            parse_workers=args.parse_workers,
            situations=REAL if args.stream else SYNTHETIC,
        )
        prepare(parse_settings(raw))
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "settings.json"
            config.write_text(json.dumps(raw))
            return run_children(args, server, instances, config, url)
    finally:
        drop_database(admin, url)


def run_children(
    args: argparse.Namespace, server: FeedServer, instances: int, config: Path, url: str
) -> dict[str, Any]:
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--instance", str(config), "--owner", f"load-{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(instances)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    sampler = TreeSampler([p.pid for p in procs])
    sampler.start()
    hits_before = server.hits
    started = time.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    sampler.stop.set()
    sampler.join()
    polled = [name for r in results for name in r["polled"]]
    if len(polled) != args.feeds or len(set(polled)) != args.feeds:
        raise SystemExit(f"expected each of {args.feeds} feeds polled once, got {len(polled)}")
    engine = make_engine(url)
    with session_scope(engine) as s:
        items = s.exec(select(func.count()).select_from(Item)).one()
        alerts = s.exec(select(func.count()).select_from(OutboxMessage)).one()
        stories = s.exec(select(func.count(func.distinct(Item.cluster_id)))).one()
        severities = dict(
            s.exec(select(Match.severity, func.count()).group_by(Match.severity)).all()
        )
    engine.dispose()
    wall = max(r["finished"] for r in results) - started
    return {
        "instances": instances,
        "wall": wall,
        "feeds_per_s": args.feeds / wall,
        "requests": server.hits - hits_before,
        "items": items,
        "alerts": alerts,
        "stories": stories,
        "severities": severities,
        "errors": sum(r["errors"] for r in results),
        "share": [len(r["polled"]) for r in results],
        "rss_main": [r["maxrss_mb"] for r in results],
        "rss_tree": [sampler.peak[p.pid] for p in procs],
        "pss_tree": [sampler.peak_pss[p.pid] for p in procs],
    }


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.feeds} feeds × {args.items} items, {args.latency * 1000:.0f} ms latency, "
        f"concurrency {args.concurrency}, parse_workers {args.parse_workers}, PostgreSQL\n"
    )
    header = (
        f"{'instances':>9}  {'cycle s':>8}  {'feeds/s':>8}  {'requests':>8}  {'items':>7}  "
        f"{'alerts':>6}  {'errors':>6}  {'feeds per instance':<20}  "
        f"{'peak RSS MB (process)':<22}  {'peak RSS MB (+ workers)':<24}  peak PSS MB (+ workers)"
    )
    print(header)
    print("-" * len(header))
    rows_by_severity = []
    for r in rows:
        share = "/".join(str(n) for n in r["share"])
        main = "/".join(f"{m:.0f}" for m in r["rss_main"])
        tree = "/".join(f"{m:.0f}" for m in r["rss_tree"])
        pss = "/".join(f"{m:.0f}" for m in r["pss_tree"])
        print(
            f"{r['instances']:>9}  {r['wall']:>8.1f}  {r['feeds_per_s']:>8.0f}  "
            f"{r['requests']:>8}  {r['items']:>7}  {r['alerts']:>6}  {r['errors']:>6}  "
            f"{share:<20}  {main:<22}  {tree:<24}  {pss}"
        )
        rows_by_severity.append(
            f"{r['instances']:>9}  stories {r['stories']}  matches by severity "
            + ", ".join(f"{k} {v}" for k, v in sorted(r["severities"].items()))
        )
    print("\n".join(rows_by_severity))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--instances", default="1,3")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--parse-workers", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--stream", type=Path, help="a headlines-stream JSONL file")
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--owner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instance:
        run_instance(args.instance, args.owner)
        return
    now = datetime.now(UTC)
    if args.stream:
        bodies = stream_feeds(load_stream(args.stream), feeds=args.feeds, items=args.items, now=now)
    else:
        bodies = [make_feed(i, args.items, now) for i in range(args.feeds)]
    server = FeedServer(bodies, args.latency)
    server.start()
    rows = []
    try:
        for count in (int(n) for n in args.instances.split(",")):
            rows.append(scenario(args, server, count))
    finally:
        server.shutdown()
    print_table(rows, args)


if __name__ == "__main__":
    main()
