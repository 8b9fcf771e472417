"""`tocsin why <alert-id>`: the score breakdown, evidence and thresholds behind one alert."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from bot.config import Settings
from bot.store.tables import Item, Match, OutboxMessage


def explain_alert(session: Session, alert_id: int, *, settings: Settings) -> Group | None:
    alert = session.get(OutboxMessage, alert_id)
    if alert is None or alert.match_id is None or alert.item_id is None:
        return None
    match = session.get(Match, alert.match_id)
    item = session.get(Item, alert.item_id)
    if match is None or item is None:
        return None
    head = Text()
    head.append(f"Alert {alert_id}", style="bold")
    head.append(
        f" · {match.severity.upper()} · {alert.situation} → {alert.channel} · {alert.state}\n"
    )
    head.append(item.title + "\n", style="bold")
    head.append(f"{item.source} · {item.published_at:%Y-%m-%d %H:%M} UTC · {item.url or ''}\n")
    head.append(f"Why: {match.why}", style="italic")
    breakdown = Table("component", "value", title="Score breakdown")
    for label, value in match.breakdown:
        breakdown.add_row(
            str(label), f"{value:+.2f}" if isinstance(value, int | float) else str(value)
        )
    breakdown.add_row("[bold]score[/]", f"[bold]{match.score:.2f}[/]")
    t = settings.alerts.thresholds
    breakdown.caption = (
        f"thresholds: watch ≥ {t.watch}, warning ≥ {t.warning}, critical ≥ {t.critical}"
    )
    evidence = Table("kind", "key", "phrase", "field", "offsets", "lang", title="Evidence")
    for e in match.evidence:
        evidence.add_row(
            str(e.get("kind", "")),
            str(e.get("key", "")) + (f" {e['name']}" if e.get("name") else ""),
            str(e.get("matched", e.get("term", ""))),
            str(e.get("field", "")),
            f"{e.get('start', '')}–{e.get('end', '')}",
            str(e.get("language") or ""),
        )
    return Group(head, breakdown, evidence)
