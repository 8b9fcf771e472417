"""A channel's time zone: IANA names checked against zoneinfo, set from Slack, audited.

The channel's zone (`ChannelState.timezone`) decides when its briefings and digests go out.
Set from Slack it is the channel's one zone: a per-subscription `timezone` from `config.toml`
would override it, so setting the channel's zone clears those (and records what it cleared).

    UnknownTimeZoneError     carries the name typed and "did you mean" suggestions
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.store.tables import ChannelState, Subscription
from bot.subscriptions import audit

_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


class UnknownTimeZoneError(ValueError):
    def __init__(self, name: str, *, suggestions: list[str]) -> None:
        super().__init__(f"unknown time zone {name!r}")
        self.name = name
        self.suggestions = suggestions


@dataclass(frozen=True, kw_only=True)
class ZoneChange:
    channel: str
    before: str | None
    after: str
    cleared: dict[str, str]  # situation → the subscription's own zone, now cleared


@functools.cache
def _zones() -> dict[str, str]:
    """Lower-case name → canonical IANA name."""
    return {z.lower(): z for z in zoneinfo.available_timezones() - _NOT_ZONES}


def canonical_timezone(name: str) -> str:
    """The IANA name `name` spells (any case), or `UnknownTimeZoneError` with suggestions."""
    wanted = name.strip().lower()
    zones = _zones()
    if wanted in zones:
        return zones[wanted]
    raise UnknownTimeZoneError(name, suggestions=suggest_timezones(wanted))


def suggest_timezones(wanted: str, *, limit: int = 3) -> list[str]:
    """Close IANA names: by the whole name ("africa/nairob"), or by the city ("nairobi")."""
    zones = _zones()
    wanted = wanted.strip().lower().replace(" ", "_")
    cities: dict[str, list[str]] = {}
    for lower, canonical in sorted(zones.items()):
        cities.setdefault(lower.rsplit("/", 1)[-1], []).append(canonical)
    found = [zones[z] for z in difflib.get_close_matches(wanted, list(zones), n=limit, cutoff=0.85)]
    for city in difflib.get_close_matches(wanted, list(cities), n=limit, cutoff=0.75):
        found += cities[city]
    return list(dict.fromkeys(found))[:limit]


def channel_timezone(session: Session, channel: str) -> str | None:
    state = session.get(ChannelState, channel)
    return None if state is None else state.timezone


def set_channel_timezone(
    session: Session, *, channel: str, timezone: str, actor: str, now: datetime
) -> ZoneChange:
    """Store the channel's zone (a canonical IANA name), clear per-subscription zones; audited."""
    state = session.get(ChannelState, channel) or ChannelState(channel=channel)
    before = state.timezone
    state.timezone = timezone
    session.add(state)
    cleared: dict[str, str] = {}
    rows = session.exec(select(Subscription).where(Subscription.channel == channel)).all()
    for sub in rows:
        if sub.timezone is not None:
            cleared[sub.situation] = sub.timezone
            sub.timezone = None
            session.add(sub)
    audit(
        session,
        actor=actor,
        action="timezone",
        now=now,
        channel=channel,
        detail={"before": before, "after": timezone, "cleared": cleared},
    )
    session.flush()
    return ZoneChange(channel=channel, before=before, after=timezone, cleared=cleared)
