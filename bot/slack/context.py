"""What listeners and service functions share: settings, database, channel cache, clock, and a
way to wake the delivery loop when they queue a message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.slack.channels import ChannelDirectory


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    channels: ChannelDirectory
    clock: Callable[[], datetime]
    wake: Callable[[], None] = lambda: None

    def is_admin(self, user: str) -> bool:
        return is_admin(self.settings, user)

    def situation_names(self) -> dict[str, str]:
        """Slug → display name of every configured situation (for templates)."""
        return {s.slug: s.name for s in self.settings.situations}


def is_admin(settings: Settings, user: str) -> bool:
    """Administrative commands are limited to `[slack] admin_users`."""
    return user in settings.slack.admin_users
