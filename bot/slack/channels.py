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
        try:
            info = self.client.conversations_info(channel=channel)["channel"]
        except SlackApiError as exc:
            log.warning(
                "event=channel_info_failed channel=%s error=%s",
                channel,
                exc.response.get("error") if exc.response is not None else exc,
            )
            return None
        except (URLError, OSError) as exc:
            log.warning("event=channel_info_failed channel=%s error=%r", channel, exc)
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
        try:
            channel = str(self.client.conversations_open(users=user)["channel"]["id"])
        except SlackApiError as exc:
            log.warning(
                "event=dm_open_failed user=%s error=%s",
                user,
                exc.response.get("error") if exc.response is not None else exc,
            )
            return None
        except (URLError, OSError, KeyError, TypeError) as exc:
            log.warning("event=dm_open_failed user=%s error=%r", user, exc)
            return None
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
