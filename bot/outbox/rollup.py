"""Roll-ups: held alerts become one message per channel × situation × period.

The delivery policy holds a root alert when its channel has had `[alerts] channel_hourly_cap` of
them this UTC hour (critical ones break through), until the end of that hour (`period_end`); and
it holds non-critical alerts during a channel's quiet hours, until they end (reason
`policy.QUIET_HOURS`; the roll-up says so). Once that time has passed, `make_rollups` gathers a
channel × situation's held alerts into one `rollup` message ("14 more reports for Sudan in the
last hour", the most severe with links) and marks them `rolled_up` (parent = the roll-up), in
one transaction; the roll-up's dedupe key makes a second instance's attempt a no-op. Nothing is
lost: `held_reports` lists every one of them for `/tocsin summary`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.alerts import severity_rank
from bot.config import Settings
from bot.metrics import Metrics
from bot.outbox.enqueue import enqueue, period_key
from bot.outbox.policy import QUIET_HOURS
from bot.outbox.views import Report, report
from bot.render import Message, fallback, part, sections
from bot.slack.blocks import SEVERITY_EMOJI
from bot.store.db import session_scope
from bot.store.tables import Item, Match, MessageKind, MessageState, OutboxMessage

log = logging.getLogger(__name__)
TOP = 5
HOUR = timedelta(hours=1)
TEMPLATE = "rollup.j2"


def make_rollups(engine: Engine, *, now: datetime, metrics: Metrics | None = None) -> int:
    """Roll up every channel × situation's held alerts whose time has come; returns how many
    roll-ups were queued."""
    with session_scope(engine) as session:
        groups = session.exec(
            select(col(OutboxMessage.channel), col(OutboxMessage.situation))
            .where(OutboxMessage.state == MessageState.HELD)
            .where(col(OutboxMessage.period_end) <= now)
            .group_by(col(OutboxMessage.channel), col(OutboxMessage.situation))
        ).all()
    made = 0
    for channel, situation in groups:
        with session_scope(engine) as session:
            rolled = _roll_up(session, channel=channel, situation=situation, now=now)
        if rolled:
            made += 1
            if metrics is not None:
                metrics.record_alert("rolled_up", count=rolled)
    return made


def _roll_up(session: Session, *, channel: str, situation: str, now: datetime) -> int:
    held = list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel)
            .where(OutboxMessage.situation == situation)
            .where(OutboxMessage.state == MessageState.HELD)
            .where(col(OutboxMessage.period_end) <= now)
            .order_by(col(OutboxMessage.id))
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not held:
        return 0
    end = max(h.period_end or now for h in held)
    start = min(h.period_start or end for h in held)
    queued = enqueue(
        session,
        kind=MessageKind.ROLLUP,
        channel=channel,
        situation=situation,
        now=now,
        dedupe_key=period_key("rollup", channel=channel, situation=situation, start=end),
        subscription_id=held[0].subscription_id,
        period=(start, end),
        payload={"quiet": sum(1 for h in held if h.last_error == QUIET_HOURS)},
    )
    if not queued.created:  # another instance rolled these up just now
        return 0
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_([h.id for h in held]))
        .values(state=MessageState.ROLLED_UP, parent_id=queued.id)
    )
    log.info(
        "event=rollup channel=%s situation=%s held=%d rollup=%s",
        channel,
        situation,
        len(held),
        queued.id,
    )
    return len(held)


def rolled_up(session: Session, rollup: OutboxMessage) -> list[Report]:
    """The reports a roll-up stands for, most severe (then highest score, newest) first."""
    rows = session.exec(
        select(Item, Match)
        .join(OutboxMessage, col(OutboxMessage.item_id) == col(Item.id))
        .join(Match, col(Match.id) == col(OutboxMessage.match_id))
        .where(OutboxMessage.parent_id == rollup.id)
        .where(OutboxMessage.state == MessageState.ROLLED_UP)
    ).all()
    return ranked([report(item, match) for item, match in rows])


def held_reports(
    session: Session, *, channel: str, situation: str, start: datetime, end: datetime
) -> list[Report]:
    """Alerts the flood guard held back in `channel` for `situation` in [start, end)."""
    rows = session.exec(
        select(Item, Match)
        .join(OutboxMessage, col(OutboxMessage.item_id) == col(Item.id))
        .join(Match, col(Match.id) == col(OutboxMessage.match_id))
        .where(OutboxMessage.channel == channel)
        .where(OutboxMessage.situation == situation)
        .where(col(OutboxMessage.state).in_([MessageState.HELD, MessageState.ROLLED_UP]))
        .where(col(OutboxMessage.created_at) >= start)
        .where(col(OutboxMessage.created_at) < end)
    ).all()
    return ranked([report(item, match) for item, match in rows])


def ranked(reports: Sequence[Report]) -> list[Report]:
    return sorted(
        reports,
        key=lambda r: (-severity_rank(r.severity), -r.score, -r.published.timestamp(), r.title),
    )


def rollup_message(
    *,
    name: str,
    slug: str,
    reports: Sequence[Report],
    period: tuple[datetime, datetime],
    hourly_cap: int,
    quiet: int = 0,
) -> Message:
    """Pure: the roll-up: how many, since when, why (the flood guard, or `quiet` of them quiet
    hours), the most severe with links, where the rest are."""
    start, end = period
    body = part(
        TEMPLATE,
        "body",
        name=name,
        slug=slug,
        count=len(reports),
        since=start,
        hour=end - start <= HOUR,
        cap=hourly_cap,
        quiet=quiet,
        top=reports[:TOP],
        rest=max(0, len(reports) - TOP),
        emojis=SEVERITY_EMOJI,
    )
    text = fallback(part(TEMPLATE, "fallback", name=name, count=len(reports), quiet=quiet))
    return Message(text=text, blocks=tuple(sections(body)))


def rollup_for(session: Session, rollup: OutboxMessage, *, settings: Settings) -> Message:
    situation = settings.situation(rollup.situation)
    assert rollup.period_start is not None and rollup.period_end is not None
    return rollup_message(
        name=situation.name if situation else rollup.situation,
        slug=rollup.situation,
        reports=rolled_up(session, rollup),
        period=(rollup.period_start, rollup.period_end),
        hourly_cap=settings.alerts.channel_hourly_cap,
        quiet=int(rollup.payload.get("quiet", 0)),
    )
