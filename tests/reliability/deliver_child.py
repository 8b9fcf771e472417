"""A delivering process for the kill tests and the bench: drains the outbox into Slack, with a
heartbeat renewing its leases, until the outbox is empty.

    python -m tests.reliability.deliver_child --database-url URL --slack-url URL [--lease 2]
        [--owner NAME] [--token xoxb-…] [--pace 1.0 --burst 2] [--loop]

Real clock. Without `--loop` it drains one batch at a time and, after each batch that did
something, prints one JSON line of counts, flushed, so the parent can add them up even when this
process is killed. With `--loop` it runs `tocsin run`'s delivery loop instead. Exits 0 when
nothing is queued or sending any more.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.leases import Heartbeat, instance_id
from bot.outbox.deliverer import Deliverer, Pace
from bot.outbox.loop import DeliveryLoop
from bot.runtime import utc_now
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, session_scope
from bot.store.tables import PENDING, OutboxMessage
from tests.reliability.outbox import outbox_settings


def pending(engine: Engine) -> int:
    with session_scope(engine) as s:
        query = select(func.count()).where(col(OutboxMessage.state).in_(PENDING))
        return int(s.exec(query).one())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--owner", default=None)
    parser.add_argument("--token", default="xoxb-reliability")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between posts per channel")
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--loop", action="store_true", help="run the delivery loop")
    parser.add_argument("--deadline", type=float, default=120.0, help="give up after (seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    engine = make_engine(args.database_url)
    owner = args.owner or instance_id()
    lease = timedelta(seconds=args.lease)
    deliverer = Deliverer(
        settings=outbox_settings(),
        engine=engine,
        sink=SlackSink(token=args.token, base_url=args.slack_url, engine=engine),
        clock=utc_now,
        owner=owner,
        lease=lease,
        batch=args.batch,
        pace=Pace(interval=timedelta(seconds=args.pace), burst=args.burst),
    )
    heartbeat = Heartbeat(
        engine=engine, owner=owner, clock=utc_now, feed_lease=lease, message_lease=lease
    )
    give_up = time.monotonic() + args.deadline
    with heartbeat.running():
        return (
            _loop(deliverer, engine, give_up) if args.loop else _drain(deliverer, engine, give_up)
        )


def _drain(deliverer: Deliverer, engine: Engine, give_up: float) -> int:
    while time.monotonic() < give_up:
        report = deliverer.drain(max_rounds=1)  # one batch: counts survive a SIGKILL
        if report.counts:
            print(json.dumps(report.counts), flush=True)
        elif pending(engine) == 0:
            return 0
        else:
            time.sleep(0.05)  # leases of a killed predecessor, or retry backoff
    return 1


def _loop(deliverer: Deliverer, engine: Engine, give_up: float) -> int:
    loop = DeliveryLoop(deliverer).start()
    try:
        while time.monotonic() < give_up:
            time.sleep(0.2)
            if pending(engine) == 0:
                return 0
        return 1
    finally:
        loop.shutdown()


if __name__ == "__main__":
    sys.exit(main())
