"""The console sink: prints readable alerts with rich; used when no Slack token is set."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.sinks import AlertView, Delivered

_COLOURS = {"info": "blue", "watch": "yellow", "warning": "dark_orange", "critical": "red"}


class ConsoleSink:
    """Prints each alert as a panel. Feed text is shown as plain text, never as markup."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.count = 0

    def deliver(self, alert: AlertView) -> Delivered:
        self.count += 1
        colour = _COLOURS.get(alert.severity, "white")
        body = Text()
        body.append(alert.title, style="bold")
        body.append(f"\n{alert.source} · {alert.published:%Y-%m-%d %H:%M} UTC")
        if alert.url:
            body.append(f"\n{alert.url}", style="underline")
        for ev in alert.evidence:
            body.append(f"\n• {ev.code} {ev.name}: “{ev.phrase}” ({ev.field})")
        body.append(f"\nWhy: {alert.why}", style="italic")
        if alert.thread_ts:
            body.append(f"\n(same story as an earlier alert; {alert.cluster_size} reports)")
        title = Text(f"{alert.severity.upper()} · {alert.situation_name} → {alert.channel}")
        self.console.print(Panel(body, title=title, border_style=colour, expand=False))
        return Delivered(message_ts=f"console-{alert.alert_id}", thread_ts=alert.thread_ts)

    def find_delivered(self, alert: AlertView, *, since: datetime) -> Delivered | None:
        return None

    def may_post(self, channel: str, *, restricted: bool) -> bool:
        return True
