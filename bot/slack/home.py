"""App Home tab: the user's channels that follow situations, the latest alerts for them, what
waits for review in the user's channels, and what analysts' votes say about the rules
(`feedback_section`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.blocks import DividerBlock
from slack_sdk.models.views import View
from sqlmodel import col, select

from bot import review
from bot.precision import load_votes, percent, precision_report
from bot.render import header, render, sections
from bot.slack.client import SLACK_FAILURES
from bot.slack.commands import review_list
from bot.slack.context import Services
from bot.store.db import session_scope
from bot.store.tables import (
    ChannelState,
    Item,
    MessageKind,
    MessageState,
    OutboxMessage,
    Subscription,
)

log = logging.getLogger(__name__)
MAX_PAGES = 5
LATEST = 10
REVIEWS = 10
FEEDBACK_DAYS = 90
FEEDBACK_LINES = 3


@dataclass(frozen=True, kw_only=True)
class HomeAlert:
    situation: str
    severity: str
    title: str
    url: str | None
    source: str
    delivered_at: datetime | None


def user_channels(client: WebClient, user: str) -> set[str] | None:
    """Channels the user is in (public, and private ones the bot shares); None on failure."""
    channels: set[str] = set()
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            page = client.users_conversations(
                user=user,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            channels.update(c["id"] for c in page.get("channels") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except SLACK_FAILURES as exc:
        log.warning("event=home_channels_failed user=%s error=%r", user, exc)
        return None
    return channels


def own_dms(services: Services, user: str) -> set[str]:
    """The user's direct-message channel with Tocsin, when one was opened (`… dm`)."""
    with session_scope(services.engine) as session:
        found = session.exec(select(ChannelState.channel).where(ChannelState.dm_user == user))
        return set(found.all())


def home_view(services: Services, *, channels: set[str] | None) -> View:
    with session_scope(services.engine) as session:
        subs = list(
            session.exec(
                select(Subscription)
                .where(col(Subscription.channel).in_(sorted(channels or ())))
                .where(col(Subscription.active).is_(True))
                .order_by(col(Subscription.channel), col(Subscription.situation))
            ).all()
        )
        situations = sorted({s.situation for s in subs})
        rows = session.exec(
            select(OutboxMessage, Item)
            .join(Item, col(Item.id) == col(OutboxMessage.item_id))
            .where(col(OutboxMessage.situation).in_(situations))
            .where(col(OutboxMessage.kind).in_([MessageKind.ALERT, MessageKind.FOLLOW_UP]))
            .where(OutboxMessage.state == MessageState.DELIVERED)
            .order_by(col(OutboxMessage.delivered_at).desc())
            .limit(LATEST * 4)
        ).all()
    latest = _dedupe(rows)[:LATEST]
    by_channel: dict[str, list[Subscription]] = {}
    for sub in subs:
        by_channel.setdefault(sub.channel, []).append(sub)
    body = render(
        "home.j2",
        lookup_failed=channels is None,
        by_channel=by_channel,
        names=services.situation_names(),
        latest=latest,
        now=services.clock(),
    )
    blocks: list[Any] = [header("Tocsin"), DividerBlock(), *sections(body)]
    blocks += review_section(services, channels=channels)
    blocks += feedback_section(services, situations=situations)
    return View(type="home", blocks=blocks[:100])


def review_section(services: Services, *, channels: set[str] | None) -> list[Any]:
    """Alerts waiting for review in the user's channels (none: no section)."""
    if not channels:
        return []
    slugs = [s.slug for s in services.settings.situations]
    with session_scope(services.engine) as session:
        queue = review.waiting(session, situations=slugs, channels=channels, limit=REVIEWS)
    if not queue.total:
        return []
    body = render("review_list.j2", **review_list(services, queue))
    return [DividerBlock(), *sections(body)]


def feedback_section(services: Services, *, situations: list[str]) -> list[Any]:
    """Votes on the user's situations over FEEDBACK_DAYS and the worst rules (`bot.precision`:
    the same figures as `tocsin feedback report`); nothing when there are no votes."""
    now = services.clock()
    since = now - timedelta(days=FEEDBACK_DAYS)
    with session_scope(services.engine) as session:
        votes = load_votes(session, since=since, situations=situations)
    cfg = services.settings.feedback
    report = precision_report(votes, min_votes=cfg.min_votes, since=since, until=now)
    body = render(
        "home_feedback.j2",
        report=report,
        flagged=report.flagged(below=cfg.suggest_below, limit=FEEDBACK_LINES),
        below=cfg.suggest_below,
        days=FEEDBACK_DAYS,
        percent=percent,
    )
    return [DividerBlock(), *sections(body)] if body else []


def _dedupe(rows: Any) -> list[HomeAlert]:
    seen: set[int] = set()
    out: list[HomeAlert] = []
    for alert, item in rows:
        if item.id in seen:
            continue
        seen.add(item.id)
        out.append(
            HomeAlert(
                situation=alert.situation,
                severity=alert.severity or "",
                title=item.title,
                url=item.url,
                source=item.source,
                delivered_at=alert.delivered_at,
            )
        )
    return out
