"""The delivery loop: a thread that keeps the outbox drained, at Slack's pace and no slower.

It drains, then sleeps until the next message is due (a channel's next pace slot, the end of a
Retry-After pause, a retry's backoff), at most `idle` (to see what other instances queued), and
wakes at once when this instance queues something (`wake()`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from bot.outbox.deliverer import Deliverer

log = logging.getLogger(__name__)
IDLE = timedelta(seconds=1)
SHORTEST = timedelta(milliseconds=5)


class DeliveryLoop:
    def __init__(self, deliverer: Deliverer, *, idle: timedelta = IDLE) -> None:
        self.deliverer = deliverer
        self.idle = idle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deliver", daemon=True)

    def start(self) -> DeliveryLoop:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def shutdown(self) -> None:
        """Stop after the message in hand (its intent is recorded; nothing is lost)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliverer.drain()
                pause = self._pause()
            except Exception:  # a database outage must not end delivery for good
                log.exception("event=deliver_failed")
                pause = self.idle
            self._wake.wait(pause.total_seconds())
            self._wake.clear()

    def _pause(self) -> timedelta:
        due = self.deliverer.next_due()
        if due is None:
            return self.idle
        return max(SHORTEST, min(self.idle, due - self.deliverer.clock()))
