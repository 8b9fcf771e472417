"""Is a channel shared with another organisation (Slack Connect)? Cached in `ChannelState`.
And a person's direct-message channel (conversations.open), remembered with whose it is.

`is_ext_shared` comes from conversations.info and is refreshed after `refresh`; a failed lookup
is `None` ("unknown"), which `bot.access` treats as shared for restricted situations (fail closed).
`open_dm` records `ChannelState.dm_user`, which `bot.access` checks against a restricted
situation's `allowed_users`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.store.db import session_scope
from bot.store.tables import ChannelState
from bot.store.types import utcnow

log = logging.getLogger(__name__)
DEFAULT_REFRESH = timedelta(hours=1)


class ChannelDirectory:
    def __init__(
        self,
        *,
        client: WebClient,
        engine: Engine,
        clock: Callable[[], datetime] = utcnow,
        refresh: timedelta = DEFAULT_REFRESH,
    ) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock
        self.refresh = refresh

    def is_ext_shared(self, channel: str) -> bool | None:
        """True/False from the cache or Slack; None when Slack could not tell us."""
        now = self.clock()
        with session_scope(self.engine) as session:
            state = session.get(ChannelState, channel)
            if (
                state is not None
                and state.is_ext_shared is not None
                and state.checked_at is not None
                and now - state.checked_at < self.refresh
            ):
                return state.is_ext_shared
        info = _ask(
            lambda: self.client.conversations_info(channel=channel)["channel"],
            failed=f"event=channel_info_failed channel={channel}",
        )
        if info is None:
            return None
        shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
        self._update(channel, is_ext_shared=shared, checked_at=now)
        return shared

    def open_dm(self, user: str) -> str | None:
        """The bot's direct-message channel with `user` (opened if need be); None on failure."""
        with session_scope(self.engine) as session:
            known = session.exec(
                select(ChannelState.channel).where(ChannelState.dm_user == user)
            ).first()
        if known is not None:
            return known
        opened = _ask(
            lambda: self.client.conversations_open(users=user)["channel"]["id"],
            failed=f"event=dm_open_failed user={user}",
        )
        if opened is None:
            return None
        channel = str(opened)
        if not channel.startswith("D"):
            log.warning("event=dm_open_failed user=%s error='not a DM: %s'", user, channel)
            return None
        self._update(channel, dm_user=user)
        return channel

    def _update(self, channel: str, **values: object) -> None:
        for _ in range(2):  # a concurrent first insert for the same channel: retry as an update
            try:
                with session_scope(self.engine) as session:
                    state = session.get(ChannelState, channel) or ChannelState(channel=channel)
                    for key, value in values.items():
                        setattr(state, key, value)
                    session.add(state)
                return
            except IntegrityError:
                continue


def _ask(call: Callable[[], Any], *, failed: str) -> Any | None:
    """Slack's answer to `call`, or None (logged as `failed`) when Slack gave none we can use."""
    try:
        return call()
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else exc
        log.warning("%s error=%s", failed, code)
    except (URLError, OSError, KeyError, TypeError) as exc:
        log.warning("%s error=%r", failed, exc)
    return None
