"""When to poll a feed next: exponential, capped backoff after failures (pure functions)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

__all__ = ["backoff_delay", "next_poll"]

_JITTER = 0.1  # a seeded delay is shortened by up to 10 %, never lengthened past the cap
_MAX_DOUBLINGS = 62


def backoff_delay(
    failures: int,
    *,
    base: timedelta,
    cap: timedelta,
    seed: str | None = None,
) -> timedelta:
    """Delay after `failures` consecutive failures: 0, base, 2·base, 4·base, … at most `cap`.

    With a `seed` (e.g. the feed name) the delay is shortened by a deterministic fraction
    (up to 10 %), so feeds that failed together do not all retry in the same second.
    """
    if failures <= 0:
        return timedelta(0)
    if base <= timedelta(0) or cap <= timedelta(0):
        return timedelta(0)
    doublings = min(failures - 1, _MAX_DOUBLINGS)
    seconds = min(base.total_seconds() * (2**doublings), cap.total_seconds())
    if seed is not None:
        seconds *= 1 - _JITTER * _unit_fraction(f"{seed}\x1f{failures}")
    return timedelta(seconds=seconds)


def next_poll(
    *,
    now: datetime,
    interval: timedelta,
    failures: int,
    base: timedelta,
    cap: timedelta,
    seed: str | None = None,
) -> datetime:
    """When to poll next: `now + interval` when healthy; after failures, the longer of the
    interval and the backoff delay (a failing feed is never polled more often than a healthy one).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    delay = backoff_delay(failures, base=base, cap=cap, seed=seed)
    return now + max(interval, delay)


def _unit_fraction(text: str) -> float:
    """A stable number in [0, 1) derived from `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
