"""Briefings as standalone documents for partners without Slack: Markdown and self-contained HTML.

A document environment separate from Slack's (whose escaping is for mrkdwn, not HTML):
`*.html.j2` templates AUTOESCAPE (Jinja's HTML escaping, once, at render time); `*.md.j2`
templates do not, and every untrusted value goes through the `md` or `mdlink` filter instead.
The HTML inlines its CSS and the chart (a data: URI PNG) and loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine

from bot import charts
from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.deliver import make_chart
from bot.briefing.schedule import Period
from bot.briefing.slack_view import TEMPLATES
from bot.briefing.trend import RULE
from bot.config import Settings, SituationSettings
from bot.render import safe_url
from bot.store.db import session_scope

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#|!~])")
_WHITESPACE = re.compile(r"\s+")


def md(value: object) -> str:
    """Inert Markdown text on one line: punctuation backslash-escaped, raw HTML as entities."""
    text = _WHITESPACE.sub(" ", "" if value is None else str(value)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(url: str | None, label: object) -> str:
    """`[label](url)` for a safe http(s) URL, else the escaped label alone."""
    target = safe_url(url)
    text = md(label) or md(target)
    if target is None:
        return text
    target = target.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    return f"[{text}](<{target}>)"


def utc(when: datetime, fmt: str = "%d %b %Y %H:%M UTC") -> str:
    return when.astimezone(UTC).strftime(fmt)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md=md, mdlink=md_link, utc=utc, safe_url=safe_url)
    return env


DOC_ENV = _environment()


@dataclass(frozen=True, kw_only=True)
class Row:
    week: datetime
    counts: list[int]


def chart_table(data: BriefingData) -> tuple[list[str], list[Row]]:
    """The chart's numbers as a table (series labels, one row per week) for text readers."""
    series = charts.series(data.weeks, data.summary.factor_names)
    rows = [
        Row(week=week.start, counts=[counts[i] for counts in series.values()])
        for i, week in enumerate(data.weeks)
    ]
    return list(series), rows


def _context(data: BriefingData, *, title: str, generated: datetime) -> dict[str, Any]:
    labels, rows = chart_table(data)
    return {
        "b": data,
        "title": title,
        "rule": RULE,
        "generated": generated,
        "series": labels,
        "rows": rows,
        "alt": charts.alt_text(data.weeks, data.summary.factor_names),
    }


def to_markdown(
    data: BriefingData, *, title: str, generated: datetime, chart_file: str | None = None
) -> str:
    """The briefing as Markdown; `chart_file` (a relative path) is shown as an image if given."""
    template = DOC_ENV.get_template("briefing.md.j2")
    context = _context(data, title=title, generated=generated)
    return template.render(chart_file=chart_file, **context).strip() + "\n"


def to_html(data: BriefingData, *, title: str, generated: datetime, chart_png: bytes | None) -> str:
    """The briefing as one self-contained HTML file (chart inlined as a data: URI)."""
    uri = None
    if chart_png:
        uri = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii")
    template = DOC_ENV.get_template("briefing.html.j2")
    context = _context(data, title=title, generated=generated)
    return template.render(chart_uri=uri, **context).strip() + "\n"


FORMATS = ("markdown", "html")


@dataclass(frozen=True, kw_only=True)
class Document:
    text: str
    chart_png: bytes


def build_document(
    engine: Engine,
    *,
    settings: Settings,
    situation: SituationSettings,
    period: Period,
    fmt: str,
    generated: datetime,
    chart_file: str | None = None,
) -> Document:
    """The briefing of `situation` over `period` as a `fmt` document, and its chart PNG."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    with session_scope(engine) as session:
        data = load_briefing(session, settings=settings, situation=situation, period=period)
    days = round((period.end - period.start) / timedelta(days=1))
    title = f"briefing, last {days} days"
    png = make_chart(data).png
    if fmt == "html":
        text = to_html(data, title=title, generated=generated, chart_png=png)
    else:
        text = to_markdown(data, title=title, generated=generated, chart_file=chart_file)
    return Document(text=text, chart_png=png)
