"""`tocsin why <alert-id>`: the score breakdown, evidence and thresholds behind one alert."""

from __future__ import annotations

from typing import Any

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
    events = _events_table(match.evidence)
    evidence = Table("kind", "key", "phrase", "field", "offsets", "lang", title="Evidence")
    for e in match.evidence:
        if e.get("kind") == "event":
            continue
        evidence.add_row(
            str(e.get("kind", "")),
            str(e.get("key", "")) + (f" {e['name']}" if e.get("name") else ""),
            str(e.get("matched", e.get("term", ""))),
            str(e.get("field", "")),
            f"{e.get('start', '')}–{e.get('end', '')}",
            str(e.get("language") or ""),
        )
    t = settings.alerts.thresholds
    rule = Text(
        f"Severity rule: an event is watch; warning with ≥ {t.mass_casualty} victims, a "
        f"protected target or protected people, or an atrocity by definition; critical with "
        f"≥ {t.critical_casualties} victims; one step up from {t.corroboration_raise} sources, "
        f"one down (not below watch) from a tier-3 source. Without an event: at most "
        f"{t.without_event}.",
        style="dim",
    )
    if events.row_count:
        return Group(head, breakdown, events, evidence, rule)
    return Group(head, breakdown, evidence, rule)


def _events_table(evidence: list[dict[str, Any]]) -> Table:
    """The events behind the alert: act, victims, targets, count, perpetrator, codes."""
    table = Table(
        "event", "grade", "severity", "victims", "targets", "count", "by", "codes", title="Events"
    )
    for e in evidence:
        if e.get("kind") != "event":
            continue
        victims = ", ".join(e.get("victim_words") or e.get("victims") or []) or "—"
        targets = ", ".join(e.get("target_words") or e.get("targets") or []) or "—"
        table.add_row(
            f"{e.get('act', '')}: '{e.get('phrase', '')}' ({e.get('field', '')})",
            str(e.get("grade", "")),
            str(e.get("severity", "")),
            victims,
            targets,
            str(e["count"]) if e.get("count") is not None else "—",
            str(e.get("perpetrator") or "—"),
            " ".join(e.get("codes", [])),
        )
    return table
