"""Human durations ("30s", "15m", "1h30m", "2d", "1w") to `timedelta` and back."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")


def parse_duration(text: str) -> timedelta:
    """Parse "30s", "15m", "1h", "1h30m", "2d", "1w"; raise ValueError with a fix."""
    text = text.strip().lower()
    if not _WHOLE.match(text):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit, e.g. '30s', '15m', '1h', '2d'"
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of `parse_duration`, using the largest exact units."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if unit == "w" and seconds % size:
            continue
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"
