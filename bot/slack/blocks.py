"""Block Kit for alerts and their stories, built with slack_sdk's classes (they check limits).

alert_message      the root card of a story: header, story, meta, risk factors, why, buttons;
                   with a `Story`, the card as chat.update shows it later ("N sources ·
                   latest …", the story's top severity in the header)
follow_up_message  a later source, in the root's thread: source, title, link, no buttons
                   (and, when the story rises to a higher severity, a line saying so: that
                   reply is also broadcast to the channel)
review_message     the card reviewers see: the alert, where it would go, and Share /
                   Share with note… / Discard — or, once decided, who decided what
note_modal         the "Share with note…" modal
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.durations import format_duration
from bot.outbox.views import AlertView, Story
from bot.render import Message, header, mrkdwn, part
from bot.review import MAX_NOTE, Destination
from bot.store.tables import ReviewDecision

SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "watch": ":eyes:",
    "info": ":information_source:",
}
MAX_EVIDENCE = 8
ACTION_RELEVANT = "tocsin_feedback_relevant"
ACTION_NOT_RELEVANT = "tocsin_feedback_not_relevant"
ACTION_MUTE = "tocsin_mute"
ACTION_ESCALATE = "tocsin_escalate"
ACTION_REVIEW_SHARE = "tocsin_review_share"
ACTION_REVIEW_NOTE = "tocsin_review_note"
ACTION_REVIEW_DISCARD = "tocsin_review_discard"
VIEW_REVIEW_NOTE = "tocsin_review_note_modal"
NOTE_BLOCK = "note"
NOTE_INPUT = "note_input"


def alert_message(
    view: AlertView, *, actions: bool = True, note: str | None = None, story: Story | None = None
) -> Message:
    """The alert card; `note` is rendered mrkdwn shown under the header ("Escalated by …")."""
    severity = story.top_severity if story else view.severity
    blocks: list[Block] = [header(f"{emoji(severity)} {severity.upper()} · {view.situation_name}")]
    if note:
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    blocks += _alert_body(view, story)
    if actions:
        blocks.append(alert_actions(view.alert_id))
    text = part("alert.j2", "fallback", view=view, severity=severity)
    return Message(text=text, blocks=tuple(blocks))


def _alert_body(view: AlertView, story: Story | None) -> list[Block]:
    """Story, meta, the story card line, risk factors and why: what every alert card shows."""
    blocks: list[Block] = [SectionBlock(text=mrkdwn(part("alert.j2", "story", view=view)))]
    blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "meta", view=view))]))
    if story is not None and story.reports > 1:
        card = part("alert.j2", "card", story=story, first_severity=view.severity)
        blocks.append(ContextBlock(elements=[mrkdwn(card)]))
    if view.evidence:
        evidence = view.evidence[:MAX_EVIDENCE]
        blocks.append(SectionBlock(text=mrkdwn(part("alert.j2", "risks", evidence=evidence))))
    if view.why or view.filter_matched:
        blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "why", view=view))]))
    return blocks


def review_message(
    view: AlertView,
    *,
    destinations: Sequence[Destination],
    decision: ReviewDecision | None,
) -> Message:
    """The card in the review channel: buttons while it waits, the decision once made."""
    severity = view.severity
    title = f":mag: REVIEW · {emoji(severity)} {severity.upper()} · {view.situation_name}"
    waiting = part("review.j2", "waiting", destinations=destinations)
    blocks: list[Block] = [header(title), ContextBlock(elements=[mrkdwn(waiting)])]
    blocks += _alert_body(view, None)
    if decision is None:
        blocks.append(review_actions(view.alert_id))
    else:
        blocks.append(SectionBlock(text=mrkdwn(part("review.j2", "decided", decision=decision))))
    return Message(text=part("review.j2", "fallback", view=view), blocks=tuple(blocks))


def review_actions(review_id: int) -> ActionsBlock:
    value = str(review_id)
    return ActionsBlock(
        block_id=f"tocsin_review_{review_id}",
        elements=[
            ButtonElement(
                text="Share", action_id=ACTION_REVIEW_SHARE, value=value, style="primary"
            ),
            ButtonElement(text="Share with note…", action_id=ACTION_REVIEW_NOTE, value=value),
            ButtonElement(
                text="Discard",
                action_id=ACTION_REVIEW_DISCARD,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Discard this alert?",
                    text="It is not shared, and counts as not relevant.",
                    confirm="Discard",
                    deny="Cancel",
                ),
            ),
        ],
    )


def note_modal(*, review_id: int, channel: str) -> View:
    """The "Share with note…" modal; its metadata names the review and the channel clicked in."""
    return View(
        type="modal",
        callback_id=VIEW_REVIEW_NOTE,
        title="Share with a note",
        submit="Share",
        close="Cancel",
        private_metadata=json.dumps({"review": review_id, "channel": channel}),
        blocks=[
            InputBlock(
                block_id=NOTE_BLOCK,
                label="Note for the channel",
                element=PlainTextInputElement(
                    action_id=NOTE_INPUT, multiline=True, max_length=MAX_NOTE
                ),
            )
        ],
    )


def review_mark(review: dict[str, object] | None) -> str | None:
    """The line a reviewed alert carries: "Reviewed by @x: note", or "Not yet reviewed"."""
    if not review:
        return None
    after = format_duration(timedelta(seconds=int(str(review.get("after") or 0))))
    return part("review.j2", "marked", review={**review, "after_text": after})


def follow_up_message(
    view: AlertView, *, rose_from: str | None = None, note: str | None = None
) -> Message:
    """A later source of a story, as a compact reply; `rose_from` announces a severity rise,
    `note` is rendered mrkdwn shown first ("Reviewed by …")."""
    blocks: list[Block] = [ContextBlock(elements=[mrkdwn(note)])] if note else []
    if rose_from is not None:
        rise = part("alert.j2", "rise", view=view, was=rose_from)
        blocks.append(SectionBlock(text=mrkdwn(rise)))
    blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "follow_up", view=view))]))
    return Message(text=part("alert.j2", "follow_up_fallback", view=view), blocks=tuple(blocks))


def emoji(severity: str) -> str:
    return SEVERITY_EMOJI.get(severity, ":grey_question:")


def alert_actions(alert_id: int) -> ActionsBlock:
    value = str(alert_id)
    return ActionsBlock(
        block_id=f"tocsin_alert_{alert_id}",
        elements=[
            ButtonElement(text="Relevant", action_id=ACTION_RELEVANT, value=value, style="primary"),
            ButtonElement(text="Not relevant", action_id=ACTION_NOT_RELEVANT, value=value),
            ButtonElement(
                text="Mute situation 24 h",
                action_id=ACTION_MUTE,
                value=value,
                confirm=ConfirmObject(
                    title="Mute for 24 hours?",
                    text="No alerts for this situation in this channel for 24 hours.",
                    confirm="Mute",
                    deny="Cancel",
                ),
            ),
            ButtonElement(
                text="Escalate",
                action_id=ACTION_ESCALATE,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Escalate this alert?",
                    text="Re-post it to the situation's escalation channel.",
                    confirm="Escalate",
                    deny="Cancel",
                ),
            ),
        ],
    )
