"""`/tocsin …`: parse the arguments, call a service function, render the reply.

Arguments arrive with Slack's own `&`/`<`/`>` escaping, which is undone once here; whatever is
echoed back goes through the templates' `esc` filter again, once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import access, review
from bot.briefing import on_demand
from bot.briefing.jobs import digest_schedule, weekly_schedule
from bot.briefing.schedule import Schedule, next_run, resolve_timezone
from bot.config import SEVERITIES, WEEKDAYS, SituationSettings
from bot.durations import format_duration, parse_duration
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
    NO_REVIEW,
    NotAllowedError,
    SubscriptionOptions,
    UnknownSituationError,
    channel_subscriptions,
    check_may_review,
    check_may_subscribe,
    find,
    mute,
    resolve_situation,
    review_timeout,
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
REVIEW = re.compile(  # <#C0123|name> as Slack escapes a channel picked from its list, or an id
    r"^(?:<#(?P<linked>[CG][A-Z0-9]{2,})(?:\|[^<>]*)?>|(?P<bare>[CG][A-Z0-9]{2,}))$"
)
REVIEW_HELP = (
    "write review:#channel (pick the channel from Slack's list so that it becomes a link), "
    "review:C0123456789 (the channel's id), or review:none"
)
FILTER_OPTION = re.compile(r"(?:^|(?<=\s))filter:", re.IGNORECASE)
MAX_HELD = 60  # reports the flood guard held back, listed by /tocsin summary
MAX_WAITING = 20  # reviews listed by /tocsin review


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
        situation, channel=inv.channel, ext_shared=_ext_shared(services, situation, inv.channel)
    )
    return situation


def _ext_shared(services: Services, situation: SituationSettings, channel: str) -> bool | None:
    """Slack's answer for `channel`, asked only when the rule needs it."""
    if not access.needs_lookup(situation):
        return None
    return services.channels.is_ext_shared(channel)


def _help(services: Services, inv: Invocation) -> Reply:
    return _reply("help.j2", severities=SEVERITIES, admin=services.is_admin(inv.user))


def _subscribe(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin subscribe <situation>`")
    if inv.args[1].lower() == "list":
        return _list(services, _for_dm(services, inv, inv.args[2:]))
    head, query = split_filter(inv.text)
    words = tuple(head.split())
    if len(words) < 2:
        raise UsageError("name a situation before the filter: `/tocsin subscribe sudan filter:…`")
    dm_user = inv.user if "dm" in {word.lower() for word in words[2:]} else None
    situation = resolve_situation(
        services.settings, channel=inv.channel, name=words[1], user=dm_user
    )
    options = parse_options(words[2:], default_severity=services.settings.alerts.min_severity)
    if query:
        parse_filter(query)  # before anything changes: a bad filter changes nothing
    _check_review(services, situation, options)
    channel = _dm_channel(services, inv.user) if options.dm else inv.channel
    ext_shared = _ext_shared(services, situation, channel)
    with session_scope(services.engine) as session:
        change = subscribe(
            session,
            situation=situation,
            channel=channel,
            options=options,
            actor=inv.user,
            now=services.clock(),
            ext_shared=ext_shared,
            dm_user=dm_user,
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
        schedules = _schedules(services, session, channel, [change.subscription])
        review = change.subscription.review_channel or situation.review_channel
        timeout = review_timeout(change.subscription, situation)
    return _reply(
        "subscribed.j2",
        in_channel=not options.dm,
        user=inv.user,
        situation=situation,
        options=options,
        created=created,
        schedule=schedules[situation.slug],
        review=review,
        timeout=format_duration(timeout) if timeout else None,
        filter_query=filter_query,
        understood=describe(parse_filter(filter_query)) if filter_query else None,
    )


def _dm_channel(services: Services, user: str) -> str:
    channel = services.channels.open_dm(user)
    if channel is None:
        raise UsageError("Slack would not open a direct message with you just now; try again soon")
    return channel


def _for_dm(services: Services, inv: Invocation, rest: tuple[str, ...]) -> Invocation:
    """The invocation aimed at the user's direct messages when it ends in `dm`."""
    if not rest:
        return inv
    if [word.lower() for word in rest] != ["dm"]:
        raise UsageError(f"I don't understand {' '.join(rest)!r}: add only `dm`, or nothing")
    return replace(inv, channel=_dm_channel(services, inv.user))


def _check_review(
    services: Services, situation: SituationSettings, options: SubscriptionOptions
) -> None:
    """A review channel must be allowed to see the situation; a timeout needs a review channel."""
    channel = options.review_channel
    if options.review_timeout is not None and channel is None and not situation.review_channel:
        raise UsageError("timeout: sets how long a review may take; add review:<channel> too")
    if channel is not None and channel != NO_REVIEW:
        ext_shared = _ext_shared(services, situation, channel)
        check_may_review(situation, review_channel=channel, ext_shared=ext_shared)


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
    alerts = briefings = digest = dm = False
    severity = default_severity
    weekday: str | None = None
    at: str | None = None
    review: str | None = None
    timeout: timedelta | None = None
    for token in tokens:
        word = token.lower()
        if word == "dm":
            dm = True
        elif word.startswith("review:"):
            review = parse_review(token)
        elif word.startswith("timeout:"):
            timeout = parse_timeout(token)
        elif word == "alerts":
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
                f"min:<{'|'.join(SEVERITIES)}>, at:<weekday>-<HH:MM>, dm, "
                "review:<#channel>, timeout:<duration>, or filter:<query> last"
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
        dm=dm,
        review_channel=review,
        review_timeout=timeout,
    )


def parse_review(token: str) -> str:
    """`review:C0123ABCD`, `review:<#C0123ABCD|name>` → the channel id; `review:none` → none."""
    value = token.split(":", 1)[1]
    if value.lower() == NO_REVIEW:
        return NO_REVIEW
    found = REVIEW.match(value)
    if found is None:
        raise UsageError(f"I don't understand {token!r}: {REVIEW_HELP}")
    return str(found["linked"] or found["bare"])


def parse_timeout(token: str) -> timedelta:
    """`timeout:2h` → 2 hours (the same durations as the configuration)."""
    try:
        return parse_duration(token.split(":", 1)[1])
    except ValueError as exc:
        raise UsageError(f"{token!r}: {exc}") from exc


def parse_at(token: str) -> tuple[str | None, str]:
    """`at:mon-09:00` → ("mon", "09:00"); `at:9:30` → (None, "09:30"): keep the weekday."""
    found = AT.match(token.lower())
    if found is None or (found["weekday"] is not None and found["weekday"] not in WEEKDAYS):
        raise UsageError(f"I don't understand {token!r}: {AT_HELP}")
    return found["weekday"], f"{int(found['hour']):02d}:{found['minute']}"


def _unsubscribe(services: Services, inv: Invocation) -> Reply:
    if len(inv.args) < 2:
        raise UsageError("name a situation: `/tocsin unsubscribe <situation>`")
    dm = bool(inv.args[2:])
    situation = resolve_situation(
        services.settings, channel=inv.channel, name=inv.args[1], user=inv.user if dm else None
    )
    target = _for_dm(services, inv, inv.args[2:])
    with session_scope(services.engine) as session:
        changed = unsubscribe(
            session,
            situation=situation.slug,
            channel=target.channel,
            actor=inv.user,
            now=services.clock(),
        )
    return _reply(
        "unsubscribed.j2",
        in_channel=changed and not dm,
        user=inv.user,
        situation=situation,
        changed=changed,
        dm=dm,
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
        reviews={s.slug: s.review_channel for s in services.settings.situations},
        schedules=schedules,
        now=services.clock(),
        dm=access.is_direct(inv.channel),
        quiet=state.quiet_hours if state else None,
    )


def _timezone(services: Services, inv: Invocation) -> Reply:
    """`/tocsin timezone` shows the channel's zone; `/tocsin timezone <IANA name>` sets it
    (`… dm`: the zone of the user's direct messages)."""
    inv, dm_user = _dm_tail(services, inv)
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
        in_channel=change is not None and dm_user is None,
        user=inv.user,
        dm=dm_user is not None,
        change=change,
        current=current,
        default=services.settings.briefings.timezone,
        subscriptions=subs,
        schedules=schedules,
        names=services.situation_names(),
    )


def _dm_tail(services: Services, inv: Invocation) -> tuple[Invocation, str | None]:
    """`quiet`, `mute`, `unmute` and `timezone` ending in `dm`: the command aimed at the user's
    direct messages (`dm` dropped) and whose they are; otherwise the invocation as it is, None."""
    if len(inv.args) < 2 or inv.args[-1].lower() != "dm":
        return inv, None
    return replace(_for_dm(services, inv, ("dm",)), args=inv.args[:-1]), inv.user


def _quiet(services: Services, inv: Invocation) -> Reply:
    """`/tocsin quiet` shows the channel's quiet hours; `22:00-07:00` sets them; `off` ends them
    (`… dm`: those of the user's direct messages)."""
    inv, dm_user = _dm_tail(services, inv)
    if len(inv.args) > 2:
        raise UsageError(
            "write `/tocsin quiet 22:00-07:00`, `/tocsin quiet off` or `/tocsin quiet` "
            "(add `dm` for your direct messages)"
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
        in_channel=change is not None and dm_user is None,
        user=inv.user,
        dm=dm_user is not None,
        change=change,
        current=current,
        zone=zone,
        until=until,
        own={k: v for k, v in own.items() if v},
        names=services.situation_names(),
    )


def _mute(services: Services, inv: Invocation) -> Reply:
    """`/tocsin mute <situation> [3d|12h|1w|until:YYYY-MM-DD] [dm]` (24 hours if no length)."""
    inv, dm_user = _dm_tail(services, inv)
    if len(inv.args) not in (2, 3):
        raise UsageError(
            "write `/tocsin mute <situation> 3d` (or 12h, 1w, until:2026-12-24; "
            "add `dm` for your direct messages)"
        )
    situation = resolve_situation(
        services.settings, channel=inv.channel, name=inv.args[1], user=dm_user
    )
    now = services.clock()
    with session_scope(services.engine) as session:
        sub = _followed(session, inv.channel, situation, dm=dm_user is not None)
        zone = resolve_timezone(
            sub.timezone,
            channel_timezone(session, inv.channel),
            services.settings.briefings.timezone,
        )
        until = parse_snooze(inv.args[2], zone=zone, now=now) if len(inv.args) == 3 else None
        until = mute(session, subscription=sub, actor=inv.user, now=now, until=until)
    dm = dm_user is not None
    return _reply(
        "muted.j2", in_channel=not dm, user=inv.user, name=situation.name, until=until, dm=dm
    )


def _unmute(services: Services, inv: Invocation) -> Reply:
    inv, dm_user = _dm_tail(services, inv)
    if len(inv.args) != 2:
        raise UsageError("name a situation: `/tocsin unmute <situation> [dm]`")
    situation = resolve_situation(
        services.settings, channel=inv.channel, name=inv.args[1], user=dm_user
    )
    dm = dm_user is not None
    now = services.clock()
    with session_scope(services.engine) as session:
        sub = _followed(session, inv.channel, situation, dm=dm)
        was = unmute(session, subscription=sub, actor=inv.user, now=now)
    return _reply(
        "unmuted.j2",
        in_channel=was is not None and not dm,
        user=inv.user,
        name=situation.name,
        was=was,
        dm=dm,
    )


def _followed(
    session: Session, channel: str, situation: SituationSettings, *, dm: bool
) -> Subscription:
    sub = find(session, channel=channel, situation=situation.slug)
    if sub is None or not sub.active:
        where, how = ("your direct messages do", " dm") if dm else ("this channel does", "")
        raise UsageError(
            f"{where} not follow {situation.name}: `/tocsin subscribe {situation.slug}{how}` first"
        )
    return sub


def _followable(services: Services, channel: str) -> list[SituationSettings]:
    """The situations `channel` may see and receive (restricted ones asked of Slack)."""
    visible = visible_situations(services.settings, channel)
    shared = None
    if any(access.needs_lookup(s) for s in visible):
        shared = services.channels.is_ext_shared(channel)
    return [s for s in visible if access.denial(s, channel=channel, ext_shared=shared) is None]


def _situations(services: Services, inv: Invocation) -> Reply:
    followable = _followable(services, inv.channel)
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


def _review(services: Services, inv: Invocation) -> Reply:
    """What waits for review, of the situations this channel may see (ephemeral)."""
    if len(inv.args) > 1:
        raise UsageError("`/tocsin review` takes no arguments")
    visible = _followable(services, inv.channel)
    slugs = [s.slug for s in visible]
    with session_scope(services.engine) as session:
        queue = review.waiting(session, situations=slugs, limit=MAX_WAITING)
    return Reply(message=text_message("review_list.j2", **review_list(services, queue)))


def review_list(services: Services, queue: review.Queue) -> dict[str, Any]:
    """What `review_list.j2` shows (for `/tocsin review` and App Home)."""
    now = services.clock()
    return {
        "waiting": queue.oldest,
        "more": queue.total > len(queue.oldest),
        "total": queue.total,
        "ages": {w.review_id: review.age(now - w.since) for w in queue.oldest},
        "names": services.situation_names(),
    }


ROUTES: dict[str, Callable[[Services, Invocation], Reply]] = {
    "help": _help,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "situations": _situations,
    "summary": _summary,
    "brief": _brief,
    "feeds": _feeds,
    "timezone": _timezone,
    "review": _review,
    "quiet": _quiet,
    "mute": _mute,
    "unmute": _unmute,
}
