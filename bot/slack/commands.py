"""`/tocsin …`: parse the arguments, call a service function, render the reply.

Arguments arrive with Slack's own `&`/`<`/`>` escaping, which is undone once here; whatever is
echoed back goes through the templates' `esc` filter again, once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import access
from bot.briefing import on_demand
from bot.briefing.jobs import digest_schedule, weekly_schedule
from bot.briefing.schedule import Schedule, next_run, resolve_timezone
from bot.config import SEVERITIES, WEEKDAYS, SituationSettings
from bot.filters import FilterError, describe
from bot.filters import parse as parse_filter
from bot.outbox.rollup import held_reports
from bot.quiet import QuietHoursError, parse_snooze, parse_window, quiet_until
from bot.render import Message, text_message, unescape
from bot.slack.context import Services
from bot.store.db import session_scope
from bot.store.queries import feed_health
from bot.store.tables import ChannelState, Subscription
from bot.subscriptions import (
    NotAllowedError,
    SubscriptionOptions,
    UnknownSituationError,
    channel_subscriptions,
    check_may_subscribe,
    find,
    mute,
    resolve_situation,
    set_filter,
    set_quiet_hours,
    subscribe,
    unmute,
    unsubscribe,
    visible_situations,
)
from bot.summary import situation_summary
from bot.timezones import (
    UnknownTimeZoneError,
    canonical_timezone,
    channel_timezone,
    set_channel_timezone,
)

log = logging.getLogger(__name__)
MAX_ARGS = 12
PERIODS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
AT = re.compile(r"^at:(?:(?P<weekday>[a-z]{3})-)?(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)$")
AT_HELP = "write at:mon-09:00 (a weekday mon…sun and a 24-hour time) or at:09:00"
FILTER_OPTION = re.compile(r"(?:^|(?<=\s))filter:", re.IGNORECASE)
MAX_HELD = 60  # reports the flood guard held back, listed by /tocsin summary


@dataclass(frozen=True, kw_only=True)
class Invocation:
    user: str
    channel: str
    args: tuple[str, ...]
    text: str = ""  # the whole line, unescaped (for `filter:`, which takes the rest of it)


@dataclass(frozen=True, kw_only=True)
class Reply:
    message: Message
    in_channel: bool = False


class UsageError(Exception):
    """The arguments do not make sense; the message is shown (escaped) to the user."""


def parse(text: str, *, user: str, channel: str) -> Invocation:
    line = unescape(text or "")
    return Invocation(user=user, channel=channel, args=tuple(line.split()[:MAX_ARGS]), text=line)


def handle(services: Services, *, user: str, channel: str, text: str) -> Reply:
    """The reply to one `/tocsin` invocation (never raises for bad input)."""
    inv = parse(text, user=user, channel=channel)
    name = inv.args[0].lower() if inv.args else "help"
    route = ROUTES.get(name)
    if route is None:
        return _reply("unknown_command.j2", command=inv.args[0])
    try:
        return route(services, inv)
    except UnknownSituationError as exc:
        return _reply("unknown_situation.j2", name=exc.situation, suggestions=exc.suggestions)
    except NotAllowedError as exc:
        return _reply("not_allowed.j2", situation=exc.situation, reason=str(exc))
    except UsageError as exc:
        return _reply("usage.j2", problem=str(exc), command=name)
    except QuietHoursError as exc:
        return _reply("usage.j2", problem=str(exc), command=name)
    except FilterError as exc:
        shown, caret = exc.pointer()
        return _reply("bad_filter.j2", problem=str(exc), shown=shown, caret=caret)


def _reply(template: str, *, in_channel: bool = False, **context: object) -> Reply:
    return Reply(message=text_message(template, **context), in_channel=in_channel)


def _resolve(services: Services, inv: Invocation, name: str) -> SituationSettings:
    """The situation, if this channel may see it: restricted ones need an allowed channel that
    Slack confirms is not shared with other organisations (users from outside never see them)."""
    situation = resolve_situation(services.settings, channel=inv.channel, name=name)
    check_may_subscribe(
        situation, channel=inv.channel, ext_shared=_ext_shared(services, situation, inv)
    )
    return situation


def _ext_shared(services: Services, situation: SituationSettings, inv: Invocation) -> bool | None:
    """Slack's answer for this channel, asked only when the rule needs it."""
    if not access.needs_lookup(situation):
        return None
    return services.channels.is_ext_shared(inv.channel)


def _help(services: Services, inv: Invocation) -> Reply:
    return _reply("help.j2", severities=SEVERITIES, admin=services.is_admin(inv.user))


def _subscribe(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin subscribe <situation>`")
    if inv.args[1].lower() == "list":
        return _list(services, inv)
    head, query = split_filter(inv.text)
    words = tuple(head.split())
    if len(words) < 2:
        raise UsageError("name a situation before the filter: `/tocsin subscribe sudan filter:…`")
    situation = resolve_situation(services.settings, channel=inv.channel, name=words[1])
    options = parse_options(words[2:], default_severity=services.settings.alerts.min_severity)
    if query:
        parse_filter(query)  # before anything changes: a bad filter changes nothing
    ext_shared = _ext_shared(services, situation, inv)
    with session_scope(services.engine) as session:
        change = subscribe(
            session,
            situation=situation,
            channel=inv.channel,
            options=options,
            actor=inv.user,
            now=services.clock(),
            ext_shared=ext_shared,
        )
        created = change.created
        if query is not None:
            set_filter(
                session,
                subscription=change.subscription,
                query=query,
                actor=inv.user,
                now=services.clock(),
            )
        filter_query = change.subscription.filter_query
        schedules = _schedules(services, session, inv.channel, [change.subscription])
    return _reply(
        "subscribed.j2",
        in_channel=True,
        user=inv.user,
        situation=situation,
        options=options,
        created=created,
        schedule=schedules[situation.slug],
        filter_query=filter_query,
        understood=describe(parse_filter(filter_query)) if filter_query else None,
    )


def split_filter(text: str) -> tuple[str, str | None]:
    """`sudan alerts filter:"El Fasher" OR Darfur` → ("sudan alerts", '"El Fasher" OR Darfur'):
    everything after `filter:` is the query ("" clears the filter; None: no `filter:`)."""
    found = FILTER_OPTION.search(text)
    if found is None:
        return text, None
    return text[: found.start()], text[found.end() :].strip()


@dataclass(frozen=True, kw_only=True)
class Schedules:
    """When a subscription's weekly briefing and daily digest go out, and the next briefing in
    the schedule's own time zone."""

    weekly: Schedule
    digest: Schedule
    next_weekly: datetime


def _schedules(
    services: Services, session: Session, channel: str, subs: Sequence[Subscription]
) -> dict[str, Schedules]:
    zone = channel_timezone(session, channel)
    defaults = services.settings.briefings
    out = {}
    for sub in subs:
        weekly = weekly_schedule(sub, channel_timezone=zone, defaults=defaults)
        out[sub.situation] = Schedules(
            weekly=weekly,
            digest=digest_schedule(sub, channel_timezone=zone, defaults=defaults),
            next_weekly=next_run(weekly, services.clock()).astimezone(ZoneInfo(weekly.timezone)),
        )
    return out


def parse_options(tokens: tuple[str, ...], *, default_severity: str) -> SubscriptionOptions:
    alerts = briefings = digest = False
    severity = default_severity
    weekday: str | None = None
    at: str | None = None
    for token in tokens:
        word = token.lower()
        if word == "alerts":
            alerts = True
        elif word == "briefings":
            briefings = True
        elif word == "digest":
            digest = True
        elif word.startswith("min:") and word[4:] in SEVERITIES:
            severity = word[4:]
        elif word.startswith("at:"):
            weekday, at = parse_at(token)
        else:
            raise UsageError(
                f"I don't understand {token!r}: use alerts, briefings, digest, "
                f"min:<{'|'.join(SEVERITIES)}> or at:<weekday>-<HH:MM>"
            )
    if alerts and not briefings and at is not None:
        raise UsageError(
            "at: sets when the weekly briefing goes out, but you asked for alerts only; "
            "add `briefings`"
        )
    if not alerts and not briefings:
        alerts = briefings = True
    return SubscriptionOptions(
        alerts=alerts,
        briefings=briefings,
        min_severity=severity,
        digest=digest,
        briefing_weekday=weekday,
        briefing_time=at,
    )


def parse_at(token: str) -> tuple[str | None, str]:
    """`at:mon-09:00` → ("mon", "09:00"); `at:9:30` → (None, "09:30"): keep the weekday."""
    found = AT.match(token.lower())
    if found is None or (found["weekday"] is not None and found["weekday"] not in WEEKDAYS):
        raise UsageError(f"I don't understand {token!r}: {AT_HELP}")
    return found["weekday"], f"{int(found['hour']):02d}:{found['minute']}"


def _unsubscribe(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin unsubscribe <situation>`")
    situation = resolve_situation(services.settings, channel=inv.channel, name=inv.args[1])
    with session_scope(services.engine) as session:
        changed = unsubscribe(
            session,
            situation=situation.slug,
            channel=inv.channel,
            actor=inv.user,
            now=services.clock(),
        )
    return _reply(
        "unsubscribed.j2", in_channel=changed, user=inv.user, situation=situation, changed=changed
    )


def _list(services: Services, inv: Invocation) -> Reply:
    with session_scope(services.engine) as session:
        subs = channel_subscriptions(session, inv.channel)
        schedules = _schedules(services, session, inv.channel, subs)
        state = session.get(ChannelState, inv.channel)
    return _reply(
        "subscriptions.j2",
        subscriptions=subs,
        names=services.situation_names(),
        schedules=schedules,
        now=services.clock(),
        quiet=state.quiet_hours if state else None,
    )


def _timezone(services: Services, inv: Invocation) -> Reply:
    """`/tocsin timezone` shows the channel's zone; `/tocsin timezone <IANA name>` sets it."""
    if len(inv.args) > 2:
        raise UsageError("name one time zone: `/tocsin timezone Africa/Nairobi`")
    zone: str | None = None
    if len(inv.args) == 2:
        try:
            zone = canonical_timezone(inv.args[1])
        except UnknownTimeZoneError as exc:
            return _reply("unknown_timezone.j2", name=exc.name, suggestions=exc.suggestions)
    with session_scope(services.engine) as session:
        change = None
        if zone is not None:
            change = set_channel_timezone(
                session, channel=inv.channel, timezone=zone, actor=inv.user, now=services.clock()
            )
        current = channel_timezone(session, inv.channel)
        subs = channel_subscriptions(session, inv.channel)
        schedules = _schedules(services, session, inv.channel, subs)
    return _reply(
        "timezone.j2",
        in_channel=change is not None,
        user=inv.user,
        change=change,
        current=current,
        default=services.settings.briefings.timezone,
        subscriptions=subs,
        schedules=schedules,
        names=services.situation_names(),
    )


def _quiet(services: Services, inv: Invocation) -> Reply:
    """`/tocsin quiet` shows the channel's quiet hours; `22:00-07:00` sets them; `off` ends them."""
    if len(inv.args) > 2:
        raise UsageError(
            "write `/tocsin quiet 22:00-07:00`, `/tocsin quiet off` or `/tocsin quiet`"
        )
    wanted = inv.args[1] if len(inv.args) == 2 else None
    window = None if wanted is None or wanted.lower() == "off" else parse_window(wanted)
    now = services.clock()
    with session_scope(services.engine) as session:
        change = None
        if wanted is not None:
            change = set_quiet_hours(
                session, channel=inv.channel, window=window, actor=inv.user, now=now
            )
        state = session.get(ChannelState, inv.channel)
        current = state.quiet_hours if state else None
        zone = resolve_timezone(
            state.timezone if state else None, services.settings.briefings.timezone
        )
        own = {s.situation: s.quiet_hours for s in channel_subscriptions(session, inv.channel)}
    until = quiet_until(parse_window(current), zone=zone, now=now) if current else None
    return _reply(
        "quiet.j2",
        in_channel=change is not None,
        user=inv.user,
        change=change,
        current=current,
        zone=zone,
        until=until,
        own={k: v for k, v in own.items() if v},
        names=services.situation_names(),
    )


def _mute(services: Services, inv: Invocation) -> Reply:
    """`/tocsin mute <situation> [3d|12h|1w|until:YYYY-MM-DD]` (24 hours if no length)."""
    if len(inv.args) not in (2, 3):
        raise UsageError("write `/tocsin mute <situation> 3d` (or 12h, 1w, until:2026-12-24)")
    situation = resolve_situation(services.settings, channel=inv.channel, name=inv.args[1])
    now = services.clock()
    with session_scope(services.engine) as session:
        sub = _followed(session, inv.channel, situation)
        zone = resolve_timezone(
            sub.timezone,
            channel_timezone(session, inv.channel),
            services.settings.briefings.timezone,
        )
        until = parse_snooze(inv.args[2], zone=zone, now=now) if len(inv.args) == 3 else None
        until = mute(session, subscription=sub, actor=inv.user, now=now, until=until)
    return _reply("muted.j2", in_channel=True, user=inv.user, name=situation.name, until=until)


def _unmute(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) != 2:
        raise UsageError("name a situation: `/tocsin unmute <situation>`")
    situation = resolve_situation(services.settings, channel=inv.channel, name=inv.args[1])
    now = services.clock()
    with session_scope(services.engine) as session:
        sub = _followed(session, inv.channel, situation)
        was = unmute(session, subscription=sub, actor=inv.user, now=now)
    return _reply(
        "unmuted.j2", in_channel=was is not None, user=inv.user, name=situation.name, was=was
    )


def _followed(session: Session, channel: str, situation: SituationSettings) -> Subscription:
    sub = find(session, channel=channel, situation=situation.slug)
    if sub is None or not sub.active:
        raise UsageError(
            f"this channel does not follow {situation.name}: "
            f"`/tocsin subscribe {situation.slug}` first"
        )
    return sub


def _situations(services: Services, inv: Invocation) -> Reply:
    visible = visible_situations(services.settings, inv.channel)
    shared = None
    if any(access.needs_lookup(s) for s in visible):
        shared = services.channels.is_ext_shared(inv.channel)
    followable = [
        s for s in visible if access.denial(s, channel=inv.channel, ext_shared=shared) is None
    ]
    restricted = {s.slug for s in followable if access.is_restricted(s)}
    return _reply("situations.j2", situations=followable, restricted=restricted)


def _summary(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin summary <situation> [1h|24h|7d|30d]`")
    situation = _resolve(services, inv, inv.args[1])
    period = inv.args[2].lower() if len(inv.args) > 2 else "7d"
    if period not in PERIODS:
        raise UsageError(f"the period must be 1h, 24h, 7d or 30d, not {inv.args[2]!r}")
    end = services.clock()
    start = end - PERIODS[period]
    with session_scope(services.engine) as session:
        summary = situation_summary(session, situation=situation.slug, start=start, end=end)
        held = held_reports(
            session, channel=inv.channel, situation=situation.slug, start=start, end=end
        )
    return _reply(
        "summary.j2",
        situation=situation,
        summary=summary,
        period=period,
        held=held[:MAX_HELD],
        more_held=max(0, len(held) - MAX_HELD),
    )


def _brief(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin brief <situation>`")
    situation = _resolve(services, inv, inv.args[1])
    on_demand(
        engine=services.engine,
        settings=services.settings,
        situation=situation.slug,
        channel=inv.channel,
        user=inv.user,
        now=services.clock(),
    )
    services.wake()
    return _reply("brief.j2", situation=situation)


def _feeds(services: Services, inv: Invocation) -> Reply:
    admin = services.is_admin(inv.user)
    with session_scope(services.engine) as session:
        feeds = feed_health(session)
        channels = _channel_problems(session, None if admin else inv.channel)
    return _reply("feeds.j2", feeds=feeds, channels=channels, admin=admin, now=services.clock())


def _channel_problems(session: Session, channel: str | None) -> list[ChannelState]:
    query = select(ChannelState).where(col(ChannelState.error).is_not(None))
    if channel is not None:
        query = query.where(ChannelState.channel == channel)
    return list(session.exec(query.order_by(col(ChannelState.channel))).all())


ROUTES: dict[str, Callable[[Services, Invocation], Reply]] = {
    "help": _help,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "situations": _situations,
    "summary": _summary,
    "brief": _brief,
    "feeds": _feeds,
    "timezone": _timezone,
    "quiet": _quiet,
    "mute": _mute,
    "unmute": _unmute,
}
