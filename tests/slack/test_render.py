"""Escaping, truncation and the alert's Block Kit: no feed can ping or trick a channel."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bot import render
from bot.outbox.compose import as_post
from bot.outbox.rollup import rollup_message
from bot.outbox.views import AlertView, Evidence, Report, Story
from bot.render import esc, link, safe_url, unescape
from bot.slack.blocks import alert_message, follow_up_message
from bot.slack.sink import SlackSink
from bot.store.db import make_engine, upgrade
from tests.slack.helpers import T0, FakeClock, assert_inert, mrkdwn_texts
from tests.slack.mock_slack import MockSlack

NASTY = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0ADMIN>",
    "<#C0SECRET>",
    "<!subteam^S123|@team>",
    "<http://evil.example|https://un.org>",
    "&lt;!channel&gt;",
    "a & b < c > d",
    "&amp;",
]


@pytest.mark.parametrize("raw", NASTY)
def test_esc_escapes_exactly_once(raw: str) -> None:
    out = esc(raw)
    assert "<" not in out and ">" not in out
    assert unescape(out) == raw


def test_esc_examples() -> None:
    assert esc("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert esc(None) == ""
    assert esc("a\n\n b", oneline=True) == "a b"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_truncation_happens_before_escaping(raw: str, limit: int) -> None:
    out = esc(raw, limit)
    assert len(out) <= max(limit, 1)
    body = out.removesuffix(render.ELLIPSIS)
    assert not re.search(r"&(?!amp;|lt;|gt;)", body), out  # no entity cut in half
    clean = render.strip_controls(raw)
    assert clean.startswith(unescape(body).rstrip()) or unescape(body) == clean


@given(st.text())
def test_controls_and_bidi_overrides_never_survive(raw: str) -> None:
    out = esc(raw)
    assert not any(c in out for c in "\x00\x1b\u202e\u2066\x7f")
    assert esc(raw) == esc(render.strip_controls(raw))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://un.org/a?b=1&c=2", "https://un.org/a?b=1&c=2"),
        ("http://x.example/<!channel>|y", "http://x.example/%3C!channel%3E%7Cy"),
        ("javascript:alert(1)", None),
        ("ftp://x.example/", None),
        ("https://", None),
        ("https://x.example/a b", None),
        ("https://x.example/\n<!here>", None),
        ("", None),
        (None, None),
        ("https://[::1", None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_link_escapes_url_and_label() -> None:
    assert link("https://a.example/?x=1&y=2", "<b>") == "<https://a.example/?x=1&amp;y=2|&lt;b&gt;>"
    assert link("javascript:alert(1)", "<!here>") == "&lt;!here&gt;"
    assert link("https://a.example/" + "&" * 3000, "t", 500) == "t"


def view(**overrides: object) -> AlertView:
    base: dict[str, object] = {
        "alert_id": 1,
        "channel": "C1",
        "situation": "sudan",
        "situation_name": "Sudan",
        "severity": "warning",
        "score": 5.5,
        "why": "why",
        "title": "title",
        "url": "https://news.example.org/1",
        "source": "source",
        "published": T0,
        "summary": "summary",
        "language": None,
        "evidence": (Evidence(code="X", name="X", phrases=("p",)),),
    }
    base.update(overrides)
    return AlertView(**base)  # type: ignore[arg-type]


def test_lengths_are_capped_even_for_worst_case_input() -> None:
    huge = "&<>" * 5000
    message = alert_message(
        view(
            title=huge,
            summary=huge,
            source=huge,
            why=huge,
            situation_name="S" * 400,
            url="https://x.example/?" + "&" * 1900,
            evidence=tuple(
                Evidence(code=f"C{i}", name=huge, phrases=(huge,) * 6) for i in range(30)
            ),
        )
    )
    blocks = message.block_dicts()  # slack_sdk validates Slack's limits here
    assert len(blocks[0]["text"]["text"]) <= 150
    for text in mrkdwn_texts(blocks):
        assert len(text) <= 3000
        assert_inert(text)
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)
    assert len(message.text) <= 3000
    assert_inert(message.text)


untrusted = st.one_of(
    st.text(), st.sampled_from(NASTY), st.lists(st.sampled_from([*NASTY, "x", " "])).map("".join)
)
urls = st.one_of(st.none(), untrusted, untrusted.map(lambda s: "https://x.example/" + s))


def expected_href(url: str | None) -> str | None:
    safe = safe_url(url)
    return None if safe is None else esc(safe)


@given(
    title=untrusted,
    summary=untrusted,
    source=untrusted,
    why=untrusted,
    phrase=untrusted,
    name=untrusted,
    url=urls,
)
def test_no_unescaped_angle_bracket_from_untrusted_input(
    title: str, summary: str, source: str, why: str, phrase: str, name: str, url: str | None
) -> None:
    message = alert_message(
        view(
            title=title,
            summary=summary,
            source=source,
            why=why,
            url=url,
            evidence=(Evidence(code="X", name=name, phrases=(phrase,)),),
        )
    )
    links = []
    for text in [message.text, *mrkdwn_texts(message.block_dicts())]:
        links += assert_inert(text)
    href = expected_href(url)
    assert all(found == href for found in links)


@given(title=untrusted, source=untrusted, url=urls, latest=untrusted, latest_url=urls)
def test_story_cards_follow_ups_and_roll_ups_are_inert(
    title: str, source: str, url: str | None, latest: str, latest_url: str | None
) -> None:
    report = Report(title=latest, url=latest_url, source=source, published=T0, severity="watch")
    story = Story(
        root_id=1, root_ts="1.1", sources=2, reports=2, top_severity="critical", latest=report
    )
    alert = view(title=title, source=source, url=url)
    messages = [
        alert_message(alert, story=story),
        follow_up_message(alert, rose_from="watch"),
        rollup_message(
            name=source, slug="sudan", reports=[report] * 7, period=(T0, T0), hourly_cap=20
        ),
        rollup_message(
            name=source, slug="sudan", reports=[report] * 7, period=(T0, T0), hourly_cap=20, quiet=4
        ),
    ]
    allowed = {expected_href(url), expected_href(latest_url)}
    for message in messages:
        for text in [message.text, *mrkdwn_texts(message.block_dicts())]:
            assert set(assert_inert(text)) <= allowed


@pytest.fixture(scope="module")
def module_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('render') / 'db.sqlite'}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def module_slack() -> MockSlack:
    server = MockSlack()
    yield server  # type: ignore[misc]
    server.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=untrusted, summary=untrusted, source=untrusted, phrase=untrusted, url=urls)
def test_payload_received_by_slack_is_inert(
    module_engine: Engine,
    module_slack: MockSlack,
    title: str,
    summary: str,
    source: str,
    phrase: str,
    url: str | None,
) -> None:
    module_slack.clear()
    sink = SlackSink(
        token="xoxb-t", base_url=module_slack.base_url, engine=module_engine, clock=FakeClock()
    )
    message = alert_message(
        view(
            title=title,
            summary=summary,
            source=source,
            url=url,
            evidence=(Evidence(code="X", name="n", phrases=(phrase,)),),
        )
    )
    sink.post(as_post(message, message_id=1, part=0, channel="C1"))
    (call,) = module_slack.calls("chat.postMessage")
    for text in [call.body["text"], *mrkdwn_texts(call.body["blocks"])]:
        assert all(found == expected_href(url) for found in assert_inert(text))


TEMPLATE_DIR = Path(render.TEMPLATES)
EXPRESSION = re.compile(r"{{(.*?)}}", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATE_DIR.glob("*.j2")))
def test_every_template_output_goes_through_a_safe_filter(template: str) -> None:
    source = (TEMPLATE_DIR / template).read_text(encoding="utf-8")
    for expression in EXPRESSION.findall(source):
        last = expression.rsplit("|", 1)[-1].strip()
        name = re.match(r"[a-z_]+", last)
        assert "|" in expression and name and name.group(0) in render.SAFE_FILTERS, (
            f"{template}: {{{{{expression}}}}} must end with one of {sorted(render.SAFE_FILTERS)}"
        )
    assert "autoescape" not in source


def test_environment_is_single_and_not_html() -> None:
    assert render.ENV.autoescape is False
    assert render.ENV.filters["esc"] is esc


def test_slack_date_has_a_fallback() -> None:
    when = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    assert render.slack_date(when) == (
        "<!date^1704164640^{date_short_pretty} {time}|2024-01-02 03:04 UTC>"
    )
