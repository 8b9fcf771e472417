"""A delivering process for the kill test: drains the outbox into Slack until it is empty.

    python -m tests.reliability.deliver_child --database-url URL --slack-url URL [--lease 2]

Real clock, short leases, no pacing. After each drain that did something it prints one JSON line
(the drain's counts), flushed, so the parent can add them up even when this process is killed.
Exits 0 when no alert is queued or sending any more.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.alerts import Deliverer
from bot.runtime import utc_now
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, session_scope
from bot.store.tables import Alert
from tests.reliability.outbox import outbox_settings


def pending(engine: object) -> int:
    with session_scope(engine) as s:  # type: ignore[arg-type]
        query = select(func.count()).where(col(Alert.state).in_(["queued", "sending"]))
        return int(s.exec(query).one())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--owner", default=None)
    parser.add_argument("--deadline", type=float, default=120.0, help="give up after (seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    engine = make_engine(args.database_url)
    sink = SlackSink(token="xoxb-reliability", base_url=args.slack_url, engine=engine)
    deliverer = Deliverer(
        settings=outbox_settings(),
        engine=engine,
        sink=sink,
        clock=utc_now,
        owner=args.owner,
        lease=timedelta(seconds=args.lease),
        batch=args.batch,
    )
    give_up = time.monotonic() + args.deadline
    while time.monotonic() < give_up:
        report = deliverer.drain(max_rounds=1)  # one batch: counts survive a SIGKILL
        counts = {k: v for k, v in asdict(report).items() if v}
        if counts:
            print(json.dumps(counts), flush=True)
        elif pending(engine) == 0:
            return 0
        else:
            time.sleep(0.05)  # leases of a killed predecessor, or retry backoff
    return 1


if __name__ == "__main__":
    sys.exit(main())
