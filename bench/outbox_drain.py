"""Outbox delivery at Slack's pace, with 1 and 2 instances, and fail-over after a SIGKILL.

    .venv/bin/python bench/outbox_drain.py [--channels 1,20] [--instances 1,2] [--per-channel 30]
        [--ratelimit-every 7] [--lease 15] [--no-failover]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Each instance is a process of its own (`tests.reliability.deliver_child --loop`: `tocsin run`'s
delivery loop and heartbeat, real clock, `[slack] min_interval` 1 s and `burst` 2) sharing one
fresh PostgreSQL database. The mock Slack Web API answers every 7th post to a channel with
429 + Retry-After: 1, and keeps what it accepted. Printed per run: sustained messages/s (accepted
posts per second from the first to the last), per channel, the most posts one channel got in any
1-second window, 429s, order violations within a channel, duplicates, missing.

Fail-over: 2 instances on one channel; the first is SIGKILLed while Slack holds one of its posts
unanswered (so it dies holding the channel's lease, the worst case). Printed: seconds from the
SIGKILL to the survivor's first post, and that every message was still posted exactly once.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import drop_database, fresh_database  # noqa: E402
from bot.runtime import utc_now  # noqa: E402
from bot.store.db import make_engine, upgrade  # noqa: E402
from tests.reliability.outbox import channel_names, seed_outbox  # noqa: E402
from tests.slack.mock_slack import Call, MockSlack  # noqa: E402

TIMEOUT = 300.0
LOGS = Path(tempfile.mkdtemp(prefix="tocsin-outbox-bench-"))


@dataclass
class Log:
    """Every accepted post: when, by which instance (token), which message, which channel."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: list[tuple[float, str, int, str]] = field(default_factory=list)

    def record(self, call: Call) -> None:
        message = int(call.body["metadata"]["event_payload"]["message_id"])
        who = call.headers.get("Authorization", "")
        with self.lock:
            self.posts.append((time.monotonic(), who, message, str(call.body["channel"])))


def start(url: str, slack: MockSlack, *, n: int, lease: float) -> subprocess.Popen[bytes]:
    """An instance; its log (warnings: 429 pauses, reconciliations) goes to LOGS."""
    log = (LOGS / f"instance-{n}-{time.monotonic_ns()}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.deliver_child",
            "--database-url",
            url,
            "--slack-url",
            slack.base_url,
            "--owner",
            f"instance-{n}",
            "--token",
            f"xoxb-instance-{n}",
            "--lease",
            str(lease),
            "--pace",
            "1",
            "--burst",
            "2",
            "--loop",
            "--deadline",
            str(TIMEOUT),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def rates(posts: list[tuple[float, str, int, str]]) -> dict[str, float]:
    times = sorted(t for t, *_ in posts)
    by_channel: dict[str, list[float]] = defaultdict(list)
    for t, _, _, channel in posts:
        by_channel[channel].append(t)
    per_channel = [(len(ts) - 1) / (max(ts) - min(ts)) for ts in by_channel.values() if len(ts) > 1]
    peak = max(
        (sum(1 for u in ts if t <= u < t + 1.0) for ts in by_channel.values() for t in ts),
        default=0,
    )
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {
        "rate": (len(times) - 1) / span,
        "per_channel": sum(per_channel) / len(per_channel) if per_channel else float("nan"),
        "peak": float(peak),
    }


def order_violations(posts: list[tuple[float, str, int, str]]) -> int:
    last: dict[str, int] = {}
    bad = 0
    for _, _, message, channel in sorted(posts):
        bad += message < last.get(channel, 0)
        last[channel] = max(message, last.get(channel, 0))
    return bad


@dataclass
class Scene:
    """A fresh database with a seeded outbox, a mock Slack, and the instances started on it."""

    url: str
    slack: MockSlack
    ids: list[int]
    log: Log = field(default_factory=Log)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int, *, lease: float) -> None:
        self.procs = [start(self.url, self.slack, n=n, lease=lease) for n in range(count)]

    def outcome(self) -> dict[str, Any]:
        posted = Counter(message for *_, message, _ in self.log.posts)
        return {
            "messages": len(self.ids),
            "duplicates": sum(n - 1 for n in posted.values()),
            "missing": len(set(self.ids) - set(posted)),
        }


@contextmanager
def scene(
    database_url: str, slack: MockSlack, *, channels: int, per_channel: int
) -> Iterator[Scene]:
    url, admin = fresh_database(database_url)
    engine = make_engine(url)
    built: Scene | None = None
    try:
        upgrade(engine)
        ids = seed_outbox(
            engine, channels=channel_names(channels), per_channel=per_channel, now=utc_now()
        )
        built = Scene(url=url, slack=slack, ids=ids)
        slack.on_accept = built.log.record
        yield built
    finally:
        for proc in built.procs if built else []:
            if proc.poll() is None:
                proc.kill()
        engine.dispose()
        slack.close()
        drop_database(admin, url)


def run(
    database_url: str, *, instances: int, channels: int, per_channel: int, every: int, lease: float
) -> dict[str, Any]:
    slack = MockSlack(ratelimit_every=every, realtime_ts=True)
    with scene(database_url, slack, channels=channels, per_channel=per_channel) as s:
        s.start(instances, lease=lease)
        for proc in s.procs:
            proc.wait(timeout=TIMEOUT)
        return {
            "instances": instances,
            "channels": channels,
            **s.outcome(),
            **rates(s.log.posts),
            "ratelimited": len(slack.calls("chat.postMessage")) - len(slack.accepted()),
            "order": order_violations(s.log.posts),
            "by_instance": dict(Counter(who for _, who, _, _ in s.log.posts)),
        }


def failover(database_url: str, *, per_channel: int, lease: float) -> dict[str, Any]:
    """Kill instance 0 while Slack holds one of its posts; time the survivor's first post."""
    slack = MockSlack(realtime_ts=True)
    killed: dict[str, float] = {}
    with scene(database_url, slack, channels=1, per_channel=per_channel) as s:

        def on_accept(call: Call) -> None:
            s.log.record(call)
            mine = call.headers.get("Authorization") == "Bearer xoxb-instance-0"
            if not killed and mine and len(s.log.posts) >= 5:
                s.procs[0].send_signal(signal.SIGKILL)  # its post is accepted, never answered
                killed["at"] = time.monotonic()

        slack.on_accept = on_accept
        s.start(2, lease=lease)
        s.procs[1].wait(timeout=TIMEOUT)
        s.procs[0].wait(timeout=10)
        after = [t for t, *_ in s.log.posts if killed and t > killed["at"]]
        return {
            "killed": bool(killed),
            "exit": s.procs[0].returncode,
            "takeover": (min(after) - killed["at"]) if after else float("nan"),
            **s.outcome(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", default="1,20")
    parser.add_argument("--instances", default="1,2")
    parser.add_argument("--per-channel", type=int, default=30)
    parser.add_argument("--ratelimit-every", type=int, default=7)
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    rows = [
        run(
            args.database_url,
            instances=int(i),
            channels=int(c),
            per_channel=args.per_channel,
            every=args.ratelimit_every,
            lease=args.lease,
        )
        for i in args.instances.split(",")
        for c in args.channels.split(",")
    ]
    print(
        f"\nOutbox delivery: mock Slack answers every {args.ratelimit_every}th post to a channel "
        f"with 429 + Retry-After: 1; min_interval 1 s, burst 2; {args.per_channel} messages per "
        "channel; PostgreSQL\n"
    )
    header = (
        f"{'instances':>9}  {'channels':>8}  {'msgs':>5}  {'msg/s':>6}  {'per channel':>11}  "
        f"{'peak 1s':>7}  {'429s':>4}  {'order':>5}  {'dup':>3}  {'missing':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['instances']:>9}  {r['channels']:>8}  {r['messages']:>5}  {r['rate']:>6.2f}  "
            f"{r['per_channel']:>11.2f}  {r['peak']:>7.0f}  {r['ratelimited']:>4}  "
            f"{r['order']:>5}  {r['duplicates']:>3}  {r['missing']:>7}"
        )
    for r in rows:
        if r["instances"] > 1:
            print(f"  {r['channels']} channel(s), posts by instance: {r['by_instance']}")
    print(f"  (instance logs: {LOGS})")
    if args.no_failover:
        return
    f = failover(args.database_url, per_channel=args.per_channel, lease=args.lease)
    print(
        f"\nFail-over ({args.lease:g} s leases, heartbeat every {args.lease / 3:g} s): instance 0 "
        f"SIGKILLed mid-post (killed={f['killed']}, exit {f['exit']}); the survivor's first "
        f"post came {f['takeover']:.1f} s later; {f['messages']} messages, "
        f"{f['duplicates']} duplicates, {f['missing']} missing"
    )


if __name__ == "__main__":
    main()
