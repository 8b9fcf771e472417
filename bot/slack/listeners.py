"""Every Slack listener, registered in one place. Each acks, calls a service, responds."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.render import Message, text_message
from bot.review import Decision, Outcome
from bot.slack import actions, commands, events, home
from bot.slack.blocks import (
    ACTION_ESCALATE,
    ACTION_MUTE,
    ACTION_NOT_RELEVANT,
    ACTION_RELEVANT,
    ACTION_REVIEW_DISCARD,
    ACTION_REVIEW_NOTE,
    ACTION_REVIEW_SHARE,
    NOTE_BLOCK,
    NOTE_INPUT,
    VIEW_REVIEW_NOTE,
    note_modal,
)
from bot.slack.context import Services

log = logging.getLogger(__name__)
COMMAND = "/tocsin"


def register(app: App, services: Services) -> None:
    app.command(COMMAND)(_on_command(services))
    app.action(ACTION_RELEVANT)(_on_feedback(services, relevant=True))
    app.action(ACTION_NOT_RELEVANT)(_on_feedback(services, relevant=False))
    app.action(ACTION_MUTE)(_on_mute(services))
    app.action(ACTION_ESCALATE)(_on_escalate(services))
    app.action(ACTION_REVIEW_SHARE)(_on_review(services, Decision.SHARED))
    app.action(ACTION_REVIEW_DISCARD)(_on_review(services, Decision.DISCARDED))
    app.action(ACTION_REVIEW_NOTE)(_on_review_note(services))
    app.view(VIEW_REVIEW_NOTE)(_on_note_submitted(services))
    app.event("app_home_opened")(_on_home_opened(services))
    app.event("member_joined_channel")(_on_member_joined(services))
    app.event("channel_unarchive")(_on_unarchive(services))
    app.event("group_unarchive")(_on_unarchive(services))


def _send(respond: Respond, message: Message, *, in_channel: bool = False) -> None:
    respond(
        text=message.text,
        blocks=message.block_dicts(),
        response_type="in_channel" if in_channel else "ephemeral",
        replace_original=False,
        unfurl_links=False,
        unfurl_media=False,
    )


def _failed(respond: Respond, what: str) -> None:
    log.exception("event=listener_failed what=%s", what)
    _send(respond, text_message("failed.j2"))


def _on_command(services: Services) -> Any:
    def on_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's 3 seconds; the work and the reply follow via response_url
        try:
            reply = commands.handle(
                services,
                user=command["user_id"],
                channel=command["channel_id"],
                text=command.get("text", ""),
            )
        except Exception:
            _failed(respond, "command")
            return
        _send(respond, reply.message, in_channel=reply.in_channel)

    return on_command


def _alert_id(body: dict[str, Any]) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _on_feedback(services: Services, *, relevant: bool) -> Any:
    def on_feedback(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        alert_id = _alert_id(body)
        if alert_id is None:
            return
        try:
            message = actions.record_feedback(
                services, alert_id=alert_id, user=body["user"]["id"], relevant=relevant
            )
        except Exception:
            _failed(respond, "feedback")
            return
        _send(respond, message)

    return on_feedback


def _on_mute(services: Services) -> Any:
    def on_mute(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        alert_id = _alert_id(body)
        if alert_id is None:
            return
        try:
            message = actions.mute_situation(services, alert_id=alert_id, user=body["user"]["id"])
        except Exception:
            _failed(respond, "mute")
            return
        _send(respond, message, in_channel=True)

    return on_mute


def _on_escalate(services: Services) -> Any:
    def on_escalate(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        alert_id = _alert_id(body)
        if alert_id is None:
            return
        container = body.get("container") or {}
        try:
            message = actions.escalate(
                services,
                client=client,
                alert_id=alert_id,
                user=body["user"]["id"],
                channel=container.get("channel_id") or (body.get("channel") or {}).get("id", ""),
                message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
            )
        except Exception:
            _failed(respond, "escalate")
            return
        _send(respond, message)

    return on_escalate


def _clicked_in(body: dict[str, Any]) -> str:
    container = body.get("container") or {}
    return str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))


def _on_review(services: Services, decision: Decision) -> Any:
    def on_review(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        review_id = _alert_id(body)
        if review_id is None:
            return
        try:
            decided = actions.decide_review(
                services,
                review_id=review_id,
                channel=_clicked_in(body),
                user=body["user"]["id"],
                decision=decision,
            )
        except Exception:
            _failed(respond, f"review_{decision}")
            return
        _send(respond, actions.review_reply(decided))

    return on_review


def _on_review_note(services: Services) -> Any:
    def on_review_note(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        review_id = _alert_id(body)
        if review_id is None:
            return
        channel = _clicked_in(body)
        try:
            closed = actions.review_is_open(services, review_id=review_id, channel=channel)
            if closed is None:
                view = note_modal(review_id=review_id, channel=channel)
                client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:
            _failed(respond, "review_note")
            return
        if closed is not None:
            _send(respond, actions.review_reply(closed))

    return on_review_note


def _note_submission(body: dict[str, Any]) -> tuple[int, str, str] | None:
    """(review id, channel, note) from a submitted note modal; None when it is malformed."""
    view = body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "")
        values = (view.get("state") or {}).get("values") or {}
        note = (values.get(NOTE_BLOCK) or {}).get(NOTE_INPUT, {}).get("value") or ""
        return int(meta["review"]), str(meta["channel"]), str(note)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _on_note_submitted(services: Services) -> Any:
    def on_note_submitted(ack: Ack, body: dict[str, Any]) -> None:
        submitted = _note_submission(body)
        if submitted is None:
            ack(response_action="errors", errors={NOTE_BLOCK: "This form is not one of Tocsin's."})
            return
        review_id, channel, note = submitted
        try:
            decided = actions.decide_review(
                services,
                review_id=review_id,
                channel=channel,
                user=body["user"]["id"],
                decision=Decision.SHARED,
                note=note,
            )
        except Exception:
            log.exception("event=listener_failed what=review_note_submitted")
            ack(response_action="errors", errors={NOTE_BLOCK: "Something went wrong; try again."})
            return
        if decided.outcome == Outcome.DONE:
            ack()
            return
        ack(response_action="errors", errors={NOTE_BLOCK: actions.review_error(decided)})

    return on_note_submitted


def _on_home_opened(services: Services) -> Any:
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        channels = home.user_channels(client, user)
        if channels is not None:
            channels |= home.own_dms(services, user)
        view = home.home_view(services, channels=channels)
        client.views_publish(user_id=user, view=view)

    return on_home_opened


def _on_member_joined(services: Services) -> Any:
    def on_member_joined(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("user") and event.get("user") == context.bot_user_id:
            events.channel_fixed(services, channel=str(event.get("channel")), why="bot invited")

    return on_member_joined


def _on_unarchive(services: Services) -> Any:
    def on_unarchive(event: dict[str, Any]) -> None:
        events.channel_fixed(services, channel=str(event.get("channel")), why="unarchived")

    return on_unarchive
