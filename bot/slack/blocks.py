"""Block Kit for alerts and their stories, built with slack_sdk's classes (they check limits).

alert_message      the root card of a story: header, story, meta, risk factors, why, buttons;
                   with a `Story`, the card as chat.update shows it later ("N sources ·
                   latest …", the story's top severity in the header)
follow_up_message  a later source, in the root's thread: source, title, link, no buttons
                   (and, when the story rises to a higher severity, a line saying so: that
                   reply is also broadcast to the channel)
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    SectionBlock,
)

from bot.outbox.views import AlertView, Story
from bot.render import Message, header, mrkdwn, part

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


def alert_message(
    view: AlertView, *, actions: bool = True, note: str | None = None, story: Story | None = None
) -> Message:
    """The alert card; `note` is rendered mrkdwn shown under the header ("Escalated by …")."""
    severity = story.top_severity if story else view.severity
    blocks: list[Block] = [header(f"{emoji(severity)} {severity.upper()} · {view.situation_name}")]
    if note:
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    blocks.append(SectionBlock(text=mrkdwn(part("alert.j2", "story", view=view))))
    blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "meta", view=view))]))
    if story is not None and story.reports > 1:
        card = part("alert.j2", "card", story=story, first_severity=view.severity)
        blocks.append(ContextBlock(elements=[mrkdwn(card)]))
    if view.evidence:
        evidence = view.evidence[:MAX_EVIDENCE]
        blocks.append(SectionBlock(text=mrkdwn(part("alert.j2", "risks", evidence=evidence))))
    if view.why or view.filter_matched:
        blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "why", view=view))]))
    if actions:
        blocks.append(alert_actions(view.alert_id))
    text = part("alert.j2", "fallback", view=view, severity=severity)
    return Message(text=text, blocks=tuple(blocks))


def follow_up_message(view: AlertView, *, rose_from: str | None = None) -> Message:
    """A later source of a story, as a compact reply; `rose_from` announces a severity rise."""
    blocks: list[Block] = []
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
