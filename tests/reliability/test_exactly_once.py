"""Exactly-once delivery, proven by killing the delivering process (SIGKILL) again and again.

The test process runs the mock Slack Web API and seeds a PostgreSQL outbox; a child process
(`tests.reliability.deliver_child`) drains it with SlackSink and the real clock. Half of the kills
land while Slack holds an accepted post it has not answered yet (the "did it go through?" case the
deliverer must reconcile through conversations.history/replies), the others at random moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen
from typing import IO

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.runtime import utc_now
from bot.store.db import session_scope
from bot.store.tables import MessageKind, OutboxMessage
from tests.reliability.outbox import channel_names, seed_outbox
from tests.slack.mock_slack import Call, MockSlack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = 8
PER_CHANNEL = 150  # 1,200 alerts
KILLS = 6
TEST_BUDGET = 100.0  # seconds: a hung child fails the test instead of hanging CI


class Child:
    """One run of the delivering process, its output in files."""

    def __init__(self, *, run: int, pg_url: str, slack: MockSlack, logs: Path) -> None:
        self.out = logs / f"child-{run}.out"
        self.err = logs / f"child-{run}.err"
        with self.out.open("w") as stdout, self.err.open("w") as stderr:
            self.proc = self._start(pg_url, slack, stdout, stderr)

    @staticmethod
    def _start(pg_url: str, slack: MockSlack, stdout: IO[str], stderr: IO[str]) -> Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.deliver_child",
                "--database-url",
                pg_url,
                "--slack-url",
                slack.base_url,
                "--lease",
                "2",
                "--deadline",
                str(TEST_BUDGET),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=stdout,
            stderr=stderr,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for line in self.out.read_text().splitlines():
            try:
                total.update(json.loads(line))
            except ValueError:  # the last line, cut short by SIGKILL
                continue
        return total


def wait_until(predicate: Callable[[], bool], *, deadline: float, what: str) -> None:
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def kill_mid_request(child: Child, slack: MockSlack, *, after: int, deadline: float) -> bool:
    """SIGKILL the child once Slack has accepted `after` posts, before it answers the last one."""
    fired = threading.Event()

    def on_accept(_call: Call) -> None:
        if not fired.is_set() and len(slack.accepted()) >= after:
            fired.set()
            child.kill()

    slack.on_accept = on_accept
    try:
        wait_until(
            lambda: fired.is_set() or child.proc.poll() is not None,
            deadline=deadline,
            what="the mid-request kill",
        )
    finally:
        slack.on_accept = None
    return fired.is_set()


def kill_later(
    child: Child, slack: MockSlack, *, after: int, delay: float, deadline: float
) -> None:
    """SIGKILL the child `delay` seconds after Slack accepted `after` posts: anywhere at all."""
    wait_until(
        lambda: len(slack.accepted()) >= after or child.proc.poll() is not None,
        deadline=deadline,
        what="the random kill",
    )
    time.sleep(delay)
    child.kill()


def test_every_alert_posted_exactly_once_across_sigkills(
    pg_url: str, pg_engine: Engine, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    slack = MockSlack(post_delay=(0.005, 0.015), realtime_ts=True, seed=7)
    ids = seed_outbox(
        pg_engine,
        channels=channel_names(CHANNELS),
        per_channel=PER_CHANNEL,
        now=utc_now(),
        story_size=5,  # most alerts are thread replies: reconciliation reads both APIs
    )
    assert len(ids) >= 1000
    thresholds = sorted(rng.sample(range(50, len(ids) - 50), KILLS))
    deadline = time.monotonic() + TEST_BUDGET
    children: list[Child] = []
    mid_request_kills = 0
    try:
        for run, threshold in enumerate(thresholds):
            child = Child(run=run, pg_url=pg_url, slack=slack, logs=tmp_path)
            children.append(child)
            if run % 2 == 0:  # Slack has accepted the post but the child never hears back
                mid_request_kills += kill_mid_request(
                    child, slack, after=threshold, deadline=deadline
                )
            else:  # inside a transaction, between posts, mid-request …
                delay = rng.uniform(0, 0.05)
                kill_later(child, slack, after=threshold, delay=delay, deadline=deadline)
            child.proc.wait(timeout=10)
        last = Child(run=KILLS, pg_url=pg_url, slack=slack, logs=tmp_path)
        children.append(last)  # drains what is left and exits by itself
        last.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for child in children:
            child.kill()
            child.proc.wait(timeout=10)
        slack.close()

    last = children[-1]
    assert last.proc.returncode == 0, last.err.read_text()[-3000:]
    assert [c.proc.returncode for c in children[:-1]] == [-signal.SIGKILL] * KILLS
    accepted = slack.accepted()
    posted = Counter(m["metadata"]["event_payload"]["message_id"] for m in accepted)
    duplicated = {alert_id: n for alert_id, n in posted.items() if n > 1}
    lost = set(ids) - set(posted)
    twice = [
        {k: m.get(k) for k in ("channel", "ts", "thread_ts", "metadata")}
        for m in accepted
        if m["metadata"]["event_payload"]["message_id"] in duplicated
    ]
    assert not duplicated, f"posted more than once: {duplicated}: {twice}"
    assert not lost, f"never posted: {sorted(lost)[:20]} … ({len(lost)})"
    assert set(posted) == set(ids)
    by_alert = {m["metadata"]["event_payload"]["message_id"]: m for m in accepted}
    with session_scope(pg_engine) as s:
        rows = s.exec(select(OutboxMessage)).all()
    alerts = [r for r in rows if r.kind in (MessageKind.ALERT, MessageKind.FOLLOW_UP)]
    assert {a.state for a in alerts} == {"delivered"}
    assert len(alerts) == len(ids)
    updates = [r for r in rows if r.kind == MessageKind.CARD_UPDATE]  # story cards: edits only
    assert {u.state for u in updates} <= {"delivered", "skipped"} and updates
    for alert in alerts:  # what we recorded is what Slack shows, reconciled ones included
        message = by_alert[alert.id]
        assert alert.message_ts == message["ts"], alert.id
        assert alert.thread_ts == message.get("thread_ts"), alert.id
    threaded = sum(1 for m in accepted if m.get("thread_ts"))
    assert threaded > len(ids) // 2
    reconciled = sum(c.counts()["reconciled"] for c in children)
    assert mid_request_kills >= KILLS // 2
    assert reconciled >= mid_request_kills, (reconciled, mid_request_kills)
