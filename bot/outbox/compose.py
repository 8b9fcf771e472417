"""What one outbox row sends: its parts (rendered Slack messages), in order, and where they go.

    alert               the root card (buttons)                       one post, top level
    follow_up           a compact reply (no buttons); broadcast to    one post, in the root's
                        the channel when the story's severity rises   thread
    card_update         the root card as the story stands now (a      chat.update of the root
                        review card: with the decision)
    escalation          the alert with "Escalated by …", no buttons   one post, top level
    review              the alert for reviewers: where it would go,   one post, top level (its
                        Share / Share with note… / Discard            card_update: the decision)
    rollup              "14 more reports for Sudan in the last hour"  one post, top level
    digest              header, one line per alert                    posts: the first top level,
    briefing(_on_demand) the briefing, then its chart                 the rest in its thread

Multi-part rows (digests, briefings) are rendered once, at their first attempt, and kept in
`OutboxMessage.body`, so a retry after a crash sends the very same parts; `parts_sent` says
which come next. A chart is the last part. Single-part rows are rendered at each attempt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.alerts import severity_rank
from bot.briefing.deliver import Chart, briefing_chart, compose_briefing
from bot.config import Settings
from bot.digest import compose_digest
from bot.outbox.rollup import rollup_for
from bot.outbox.views import Story, build_view, story_of
from bot.render import Message, part
from bot.review import destinations
from bot.sinks import Post, Upload
from bot.slack.blocks import alert_message, follow_up_message, review_mark, review_message
from bot.store.tables import MessageKind, OutboxMessage, ReviewDecision

MULTI_PART = frozenset({MessageKind.DIGEST, MessageKind.BRIEFING, MessageKind.BRIEFING_ON_DEMAND})


@dataclass(frozen=True, kw_only=True)
class Next:
    """The next thing to send for a row: a post (new or an edit) or a file."""

    item: Post | Upload
    last: bool  # the row is delivered once this is


def next_part(
    session: Session, row: OutboxMessage, *, settings: Settings, story: Story | None = None
) -> Next | None:
    """Part `row.parts_sent` of the row; None when the row has nothing to send."""
    assert row.id is not None
    if row.kind in MULTI_PART:
        return _next_of_many(session, row, settings=settings)
    post = _single(session, row, settings=settings, story=story)
    return None if post is None else Next(item=post, last=True)


def _single(
    session: Session, row: OutboxMessage, *, settings: Settings, story: Story | None
) -> Post | None:
    unfurl = settings.slack.unfurl_links
    base: dict[str, Any] = {"message_id": row.id or 0, "part": 0, "channel": row.channel}
    if row.kind in (MessageKind.ALERT, MessageKind.FOLLOW_UP):
        view = build_view(session, row, settings=settings)
        note = review_mark(row.payload.get("review"))
        if row.kind == MessageKind.ALERT:
            message = alert_message(view, note=note)
            return as_post(message, **base, severity=view.severity, unfurl_links=unfurl)
        root = session.get(OutboxMessage, row.parent_id)
        assert root is not None, f"follow-up {row.id} has no root"
        story = story or story_of(session, root)
        rose = severity_rank(view.severity) > severity_rank(story.top_severity)
        message = follow_up_message(view, rose_from=story.top_severity if rose else None, note=note)
        return as_post(
            message, **base, thread_ts=story.root_ts, broadcast=rose, severity=view.severity
        )
    if row.kind == MessageKind.CARD_UPDATE:
        return _card_update(session, row, settings=settings)
    if row.kind == MessageKind.ESCALATION:
        return _escalation(session, row, settings=settings, base=base)
    if row.kind == MessageKind.ROLLUP:
        return as_post(rollup_for(session, row, settings=settings), **base)
    if row.kind == MessageKind.REVIEW:
        message = _review_card(session, row, settings=settings)
        return as_post(message, **base, severity=row.severity, unfurl_links=unfurl)
    raise ValueError(f"outbox row {row.id}: unknown kind {row.kind!r}")


def _card_update(session: Session, row: OutboxMessage, *, settings: Settings) -> Post | None:
    root = session.get(OutboxMessage, row.parent_id)
    if root is None or root.message_ts is None:
        return None
    # the edit keeps the root's own identity (its metadata), at the root's ts
    base = {"message_id": root.id or 0, "part": 0, "channel": root.channel}
    if root.kind == MessageKind.REVIEW:
        card = _review_card(session, root, settings=settings)
        return as_post(card, **base, update_ts=root.message_ts, severity=root.severity)
    story = story_of(session, root)
    view = build_view(session, root, settings=settings)
    message = alert_message(view, story=story, note=review_mark(root.payload.get("review")))
    return as_post(message, **base, update_ts=root.message_ts, severity=story.top_severity)


def _review_card(session: Session, row: OutboxMessage, *, settings: Settings) -> Message:
    """A review card as it stands: its destinations, and the decision once there is one."""
    assert row.id is not None
    return review_message(
        build_view(session, row, settings=settings),
        destinations=destinations(session, row.id),
        decision=session.get(ReviewDecision, row.id),
    )


def _escalation(
    session: Session, row: OutboxMessage, *, settings: Settings, base: dict[str, Any]
) -> Post | None:
    source = session.get(OutboxMessage, row.parent_id)
    if source is None or source.item_id is None:
        return None
    view = dataclasses.replace(build_view(session, source, settings=settings), channel=row.channel)
    note = part(
        "alert.j2",
        "escalated",
        user_id=row.payload.get("user"),
        channel_id=row.payload.get("from_channel"),
        permalink=row.payload.get("permalink"),
    )
    message = alert_message(view, actions=False, note=note)
    return as_post(
        message, **base, severity=view.severity, unfurl_links=settings.slack.unfurl_links
    )


def as_post(message: Message, **fields: Any) -> Post:
    """A rendered message as a `Post`; `fields` are the rest of `Post` (message_id, part, …)."""
    return Post(text=message.text, blocks=tuple(message.block_dicts()), **fields)


def _next_of_many(session: Session, row: OutboxMessage, *, settings: Settings) -> Next | None:
    if row.body is None:  # the first attempt: render once, keep it with the row
        messages = _compose_many(session, row, settings=settings)
        row.body = [{"text": m.text, "blocks": m.block_dicts()} for m in messages]
    chart = bool(row.payload.get("chart")) and bool(row.body)
    total = len(row.body) + (1 if chart else 0)
    index = row.parts_sent
    if index >= total:
        return None
    thread = row.message_ts if index > 0 else None
    last = index == total - 1
    if index < len(row.body):
        page = row.body[index]
        post = Post(
            message_id=row.id or 0,
            part=index,
            channel=row.channel,
            text=str(page["text"]),
            blocks=tuple(page["blocks"]),
            thread_ts=thread,
            unfurl_links=settings.slack.unfurl_links,
        )
        return Next(item=post, last=last)
    drawn = briefing_chart(session, row, settings=settings)
    return None if drawn is None else Next(item=_upload(row, drawn, thread), last=True)


def _compose_many(session: Session, row: OutboxMessage, *, settings: Settings) -> list[Message]:
    if row.kind == MessageKind.DIGEST:
        return compose_digest(session, row, settings=settings)
    return compose_briefing(session, row, settings=settings)


def _upload(row: OutboxMessage, chart: Chart, thread_ts: str | None) -> Upload:
    return Upload(
        message_id=row.id or 0,
        channel=row.channel,
        thread_ts=thread_ts,
        content=chart.png,
        filename=chart.filename,
        title=chart.title,
        alt=chart.alt,
    )


def total_parts(row: OutboxMessage) -> int:
    """How many parts the row has (known once its first part was rendered)."""
    if row.kind not in MULTI_PART or row.body is None:
        return 1
    return len(row.body) + (1 if row.payload.get("chart") and row.body else 0)
