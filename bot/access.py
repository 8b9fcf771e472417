"""Who may receive a situation: the restricted-situation rule, in one place.

A situation is public or `restricted`. A restricted situation is
- visible (listed, subscribable, summarised) only in its `allowed_channels`;
- posted only into an allowed channel (or its own `escalation_channel`) that Slack confirms is
  NOT shared with another organisation (Slack Connect). A failed or pending lookup counts as
  shared: the rule fails closed.

Configuration checks, `/tocsin` commands, the Escalate button and the delivery policy (for alerts,
briefings, digests, roll-ups and escalations alike) all ask `visible_in` or `denial`; nothing else
looks at `sensitivity` or `allowed_channels`. A person's direct messages (a `D…` channel) are one
more case here: a restricted situation goes there only when that person is one of the situation's
`allowed_users` (and never when Tocsin does not know whose the DM is).
"""

from __future__ import annotations

from enum import StrEnum

from bot.config import SituationSettings


class Denial(StrEnum):
    """Why a channel may not receive a restricted situation."""

    NOT_ALLOWED = "not_allowed"  # the channel is not one of the situation's allowed channels
    SHARED = "shared"  # the channel is shared outside the organisation (or Slack cannot say)
    USER_NOT_ALLOWED = "user_not_allowed"  # a direct message to someone not in allowed_users

    @property
    def reason(self) -> str:
        return REASONS[self]


REASONS = {
    Denial.NOT_ALLOWED: "this situation is restricted to designated channels",
    Denial.SHARED: (
        "this channel is shared with other organisations (or Slack could not confirm it is not); "
        "restricted situations are never posted here"
    ),
    Denial.USER_NOT_ALLOWED: (
        "this situation is restricted: direct messages go only to the people listed in its "
        "allowed_users"
    ),
}


def is_restricted(situation: SituationSettings) -> bool:
    return situation.sensitivity == "restricted"


def visible_in(situation: SituationSettings, channel: str, *, user: str | None = None) -> bool:
    """Public situations everywhere; restricted ones only in their allowed channels (and, with
    `user`, to the people in their allowed users, wherever they ask)."""
    if not is_restricted(situation) or channel in situation.allowed_channels:
        return True
    return user is not None and user in situation.allowed_users


def is_direct(channel: str) -> bool:
    """Whether `channel` is a direct-message conversation (Slack ids starting with D)."""
    return channel.startswith("D")


def needs_lookup(situation: SituationSettings) -> bool:
    """Whether `denial` needs to know if the channel is shared outside (a Slack lookup)."""
    return is_restricted(situation)


def denial(
    situation: SituationSettings,
    *,
    channel: str,
    ext_shared: bool | None,
    escalation: bool = False,
    dm_user: str | None = None,
) -> Denial | None:
    """None when `channel` may receive `situation`; else why not.

    `ext_shared` is Slack's answer for the channel (None: unknown, treated as shared);
    `escalation` admits the situation's configured `escalation_channel` as a destination;
    `dm_user` is whose direct-message channel `channel` is (None: unknown, or not a DM).
    """
    if not is_restricted(situation):
        return None
    if is_direct(channel):
        if dm_user is None or dm_user not in situation.allowed_users:
            return Denial.USER_NOT_ALLOWED
    elif not (escalation and channel == situation.escalation_channel) and not visible_in(
        situation, channel
    ):
        return Denial.NOT_ALLOWED
    if ext_shared is not False:
        return Denial.SHARED
    return None
