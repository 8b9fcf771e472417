"""Block Kit for alerts, built with slack_sdk's classes so Slack's limits are checked."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    SectionBlock,
)

from bot.render import Message, header, mrkdwn, part
from bot.sinks import AlertView

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


def alert_message(view: AlertView, *, actions: bool = True, note: str | None = None) -> Message:
    """The alert: header, linked title and summary, source/time, risk factors, why, buttons.

    `note` is already-rendered mrkdwn shown under the header (e.g. "Escalated by …").
    """
    emoji = SEVERITY_EMOJI.get(view.severity, ":grey_question:")
    blocks: list[Block] = [header(f"{emoji} {view.severity.upper()} · {view.situation_name}")]
    if note:
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    blocks.append(SectionBlock(text=mrkdwn(part("alert.j2", "story", view=view))))
    blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "meta", view=view))]))
    if view.evidence:
        evidence = view.evidence[:MAX_EVIDENCE]
        blocks.append(SectionBlock(text=mrkdwn(part("alert.j2", "risks", evidence=evidence))))
    if view.why:
        blocks.append(ContextBlock(elements=[mrkdwn(part("alert.j2", "why", view=view))]))
    if actions:
        blocks.append(alert_actions(view.alert_id))
    return Message(text=part("alert.j2", "fallback", view=view), blocks=tuple(blocks))


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
