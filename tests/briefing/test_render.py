"""Rendered briefings: golden files (Slack blocks JSON, Markdown, HTML), escaping, Slack limits."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy.engine import Engine

from bot import render
from bot.briefing.data import BriefingData, load_briefing
from bot.briefing.export import md, md_link, to_html, to_markdown
from bot.briefing.schedule import Period
from bot.briefing.slack_view import (
    MAX_TEXT,
    TEMPLATES,
    briefing_messages,
    messages,
    paginate,
    text_length,
)
from bot.digest import DigestLine, digest_messages
from bot.store.db import session_scope
from tests.briefing import builders, golden
from tests.slack.helpers import assert_inert, mrkdwn_texts

HOSTILE_TITLE = "<!channel> *Massacre* & <https://evil.example|click> in El Geneina"
HOSTILE_URL = 'https://news.example.org/a?b="c"&d=<e>|f'
PERIOD = Period(start=builders.MONDAY - timedelta(days=7), end=builders.MONDAY)


def briefing(engine: Engine, *, situation: str = "sudan") -> BriefingData:
    builders.week_of_reports(engine)
    hostile = builders.add_report(
        engine,
        published=builders.MONDAY - timedelta(hours=5),
        title=HOSTILE_TITLE,
        url=HOSTILE_URL,
        source="Evil <b>Outlet</b> & Co",
        severity="warning",
        score=7.5,
        indicators=("RF10",),
    )
    at = builders.MONDAY - timedelta(hours=1)
    item_id, match_id = hostile
    nays = tuple(f"UVOTER{i}" for i in range(5))
    builders.vote(engine, item_id=item_id, match_id=match_id, users=nays, relevant=False, at=at)
    builders.vote(
        engine, item_id=item_id, match_id=match_id, users=("UYEA1", "UYEA2"), relevant=True, at=at
    )
    settings = builders.settings()
    cfg = settings.situation(situation)
    assert cfg is not None
    with session_scope(engine) as session:
        return load_briefing(session, settings=settings, situation=cfg, period=PERIOD)


def slack_json(data: BriefingData) -> str:
    messages = briefing_messages(data, title="weekly briefing", chart=True)
    payload = [{"text": m.text, "blocks": m.block_dicts()} for m in messages]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def test_slack_briefing_golden(engine: Engine) -> None:
    golden.check("briefing.slack.json", slack_json(briefing(engine)))


def test_markdown_briefing_golden(engine: Engine) -> None:
    text = to_markdown(briefing(engine), title="weekly briefing", generated=builders.MONDAY)
    golden.check("briefing.md", text)


def test_html_briefing_golden(engine: Engine) -> None:
    html = to_html(
        briefing(engine), title="weekly briefing", generated=builders.MONDAY, chart_png=b"PNG"
    )
    golden.check("briefing.html", html)


def test_digest_golden() -> None:
    lines = [
        DigestLine(
            alert_id=i,
            severity=severity,
            title=title,
            url=HOSTILE_URL if i == 1 else "https://news.example.org/2",
            source="Radio Dabanga",
            published=builders.MONDAY - timedelta(hours=i),
            factors=("Mass killing", "Hate <speech>"),
        )
        for i, (severity, title) in enumerate(
            [("critical", HOSTILE_TITLE), ("warning", "Shelling of a market"), ("watch", "Curfew")],
            start=1,
        )
    ]
    cfg = builders.settings().situation("sudan")
    assert cfg is not None
    messages = digest_messages(situation=cfg, period=PERIOD, lines=lines)
    payload = [{"text": m.text, "blocks": m.block_dicts()} for m in messages]
    for text in mrkdwn_texts(payload):
        assert_inert(text)
    golden.check("digest.slack.json", json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def test_slack_briefing_is_inert_and_escaped_once(engine: Engine) -> None:
    messages = briefing_messages(briefing(engine), title="weekly briefing", chart=True)
    texts = mrkdwn_texts([m.block_dicts() for m in messages])
    for text in texts:
        assert_inert(text)
    joined = "\n".join(texts)
    assert "&lt;!channel&gt; *Massacre* &amp; &lt;https://evil.example" in joined
    assert "&amp;amp;" not in joined  # escaped once, not twice
    assert "Evil &lt;b&gt;Outlet&lt;/b&gt; &amp; Co" in joined


def test_restricted_briefing_says_so_at_the_top(engine: Engine) -> None:
    data = briefing(engine, situation="drc-east")
    first = briefing_messages(data, title="weekly briefing", chart=False)[0].block_dicts()
    assert "RESTRICTED — do not share outside <#CALLOWED>" in first[1]["text"]["text"]
    md_text = to_markdown(data, title="briefing", generated=builders.MONDAY)
    assert md_text.startswith("> **RESTRICTED — do not share outside CALLOWED**")
    html = to_html(data, title="briefing", generated=builders.MONDAY, chart_png=None)
    assert "RESTRICTED — do not share outside CALLOWED" in html.split("<h1", 1)[0]


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key == "src" or (tag == "link" and key == "href"):
                self.loaded.append(value or "")


def test_html_is_self_contained_and_escaped(engine: Engine) -> None:
    html = to_html(
        briefing(engine), title="weekly briefing", generated=builders.MONDAY, chart_png=b"\x89PNG"
    )
    parser = _Resources()
    parser.feed(html)
    assert parser.loaded == ["data:image/png;base64,iVBORw=="]
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "&lt;!channel&gt; *Massacre* &amp; &lt;https://evil.example|click&gt;" in html
    assert "Evil &lt;b&gt;Outlet&lt;/b&gt; &amp; Co" in html
    assert 'href="https://news.example.org/a?b=&#34;c&#34;&amp;d=%3Ce%3E%7Cf"' in html


def test_markdown_escapes_untrusted_text() -> None:
    assert md("<b>*x*</b> [y](z) | #1") == r"&lt;b&gt;\*x\*&lt;/b&gt; \[y\]\(z\) \| \#1"
    assert md_link("javascript:alert(1)", "x") == "x"
    assert md_link("https://a.example/p (1)", "t") == "t"  # whitespace: not a safe URL
    assert md_link("https://a.example/p(1)", "[t]") == r"[\[t\]](<https://a.example/p%281%29>)"


def test_long_briefings_are_split_under_slack_limits(engine: Engine) -> None:
    for i in range(20):
        builders.add_report(
            engine,
            published=builders.MONDAY - timedelta(hours=10 + i),
            title=f"Report {i} " + "very long title " * 40,
            url=f"https://news.example.org/{i}?" + "x" * 400,
            indicators=tuple(f"RF{n}" for n in range(1, 15)),
        )
    settings = builders.settings(briefings={"top_items": 20})
    cfg = settings.situation("sudan")
    assert cfg is not None
    with session_scope(engine) as session:
        data = load_briefing(session, settings=settings, situation=cfg, period=PERIOD)
    messages = briefing_messages(data, title="weekly briefing", chart=True)
    assert text_length([m.block_dicts() for m in messages]) > 9000
    for m in messages:
        blocks = m.block_dicts()
        assert len(blocks) <= render.MAX_BLOCKS
        assert text_length(blocks) <= MAX_TEXT
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= render.SECTION_MAX


def test_paginate_respects_block_count_and_text_budget() -> None:
    blocks = [render.SectionBlock(text=render.mrkdwn("x" * 100)) for _ in range(120)]
    assert [len(p) for p in paginate(blocks)] == [50, 50, 20]
    assert all(len(p) == 10 for p in paginate(blocks, max_text=1000))
    big = [render.SectionBlock(text=render.mrkdwn("y" * 2900)) for _ in range(9)]
    out = messages("Sudan briefing", big)
    assert [len(m.blocks) for m in out] == [4, 4, 1]
    assert [m.text for m in out][1:] == [
        "Sudan briefing (continued 2/3)",
        "Sudan briefing (continued 3/3)",
    ]


EXPRESSION = re.compile(r"{{(.*?)}}", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.slack.j2")))
def test_every_slack_template_value_goes_through_a_safe_filter(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    for expression in EXPRESSION.findall(source):
        last = expression.rsplit("|", 1)[-1].strip()
        name = re.match(r"[a-z_]+", last)
        assert "|" in expression and name and name.group(0) in render.SAFE_FILTERS, expression


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.md.j2")))
def test_every_markdown_template_value_goes_through_md(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    for expression in EXPRESSION.findall(source):
        last = expression.rsplit("|", 1)[-1].strip()
        assert re.match(r"(md|mdlink|utc)\b", last), expression
