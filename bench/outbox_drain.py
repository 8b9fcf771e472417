"""Outbox drain rate against the mock Slack API, which allows 1 message per second per channel.

    .venv/bin/python bench/outbox_drain.py [--channels 1,20] [--per-channel 15] [--modes loop,tick]
                                           [--database-url postgresql://postgres@127.0.0.1:5432/test]

The mock answers 429 + Retry-After when a channel gets two posts within 1 s. One Deliverer with
`[slack] min_interval` (1 s) drains `per-channel` alerts in each channel, with the real clock:
`loop` calls drain() back to back (0.05 s pause when nothing is due); `tick` calls it every 2 s,
as `tocsin run`'s scheduler does. Printed: alerts/s until the outbox is empty, 429s, duplicates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bench.ingest import drop_database, fresh_database  # noqa: E402
from bot.alerts import Deliverer  # noqa: E402
from bot.runtime import utc_now  # noqa: E402
from bot.scheduler import DELIVER_TICK  # noqa: E402
from bot.slack.sink import SlackSink  # noqa: E402
from bot.store.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.store.tables import Alert  # noqa: E402
from tests.reliability.outbox import channel_names, outbox_settings, seed_outbox  # noqa: E402
from tests.slack.mock_slack import MockSlack  # noqa: E402

TIMEOUT = 300.0


def left(engine: Any) -> int:
    with session_scope(engine) as s:
        query = select(func.count()).where(col(Alert.state).in_(["queued", "sending"]))
        return int(s.exec(query).one())


def run(database_url: str, *, channels: int, per_channel: int, mode: str) -> dict[str, Any]:
    url, admin = fresh_database(database_url)
    slack = MockSlack(channel_rate=1.0, realtime_ts=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
        ids = seed_outbox(
            engine, channels=channel_names(channels), per_channel=per_channel, now=utc_now()
        )
        settings = outbox_settings()
        deliverer = Deliverer(
            settings=settings,
            engine=engine,
            sink=SlackSink(token="xoxb-bench", base_url=slack.base_url, engine=engine),
            clock=utc_now,
            min_interval=settings.slack.min_interval,
        )
        pause = DELIVER_TICK.total_seconds() if mode == "tick" else 0.05
        started = time.monotonic()
        while left(engine) and time.monotonic() - started < TIMEOUT:
            deliverer.drain()
            if mode == "tick" or left(engine):
                time.sleep(pause)
        wall = time.monotonic() - started
        posted = Counter(m["metadata"]["event_payload"]["alert_id"] for m in slack.accepted())
        return {
            "channels": channels,
            "mode": mode,
            "alerts": len(ids),
            "wall": wall,
            "rate": len(ids) / wall,
            "ratelimited": len(slack.calls("chat.postMessage")) - len(slack.accepted()),
            "duplicates": sum(n - 1 for n in posted.values()),
            "missing": len(set(ids) - set(posted)),
        }
    finally:
        engine.dispose()
        slack.close()
        drop_database(admin, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", default="1,20")
    parser.add_argument("--per-channel", type=int, default=15)
    parser.add_argument("--modes", default="loop,tick")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    rows = [
        run(args.database_url, channels=int(c), per_channel=args.per_channel, mode=mode)
        for mode in args.modes.split(",")
        for c in args.channels.split(",")
    ]
    print(
        f"\nOutbox drain, mock Slack at 1 msg/s/channel, min_interval 1s, "
        f"{args.per_channel} alerts per channel, PostgreSQL\n"
    )
    header = (
        f"{'channels':>8}  {'drain':>5}  {'alerts':>6}  {'seconds':>7}  {'alerts/s':>8}  "
        f"{'429s':>4}  {'duplicates':>10}  {'missing':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['channels']:>8}  {r['mode']:>5}  {r['alerts']:>6}  {r['wall']:>7.1f}  "
            f"{r['rate']:>8.2f}  {r['ratelimited']:>4}  {r['duplicates']:>10}  {r['missing']:>7}"
        )


if __name__ == "__main__":
    main()
