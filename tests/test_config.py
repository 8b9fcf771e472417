"""Config: the shipped file is valid; every error is reported at once with its path and a fix."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Secrets, config_path, load_settings, parse_settings
from bot.durations import format_duration, parse_duration

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid_and_realistic() -> None:
    settings = load_settings(ROOT / "config.toml")
    kinds = {f.kind for f in settings.feeds}
    assert kinds == {"rss", "reliefweb"}
    languages = {f.language for f in settings.feeds if f.language}
    assert {"en", "fr", "ar", "es"} <= languages
    assert len(settings.situations) >= 5
    assert any(s.sensitivity == "restricted" for s in settings.situations)


def test_demo_config_is_valid() -> None:
    text = (ROOT / "bot/demo/config.toml").read_text().replace("{base}", "http://127.0.0.1:1")
    settings = parse_settings(tomllib.loads(text))
    assert settings.polling.allow_private_targets


def test_every_error_is_reported_at_once_with_path_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[polling]
concurrency = "lots"
colour = "blue"

[[feeds]]
name = "A"
url = "ftp://example.org/feed"
interval = "every hour"

[[feeds]]
name = "A"
kind = "rss"

[[situations]]
slug = "Sudan!"
name = "Sudan"
countries = ["SUD"]

[[subscriptions]]
channel = "general"
situations = ["nowhere"]
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    text = "\n".join(info.value.problems)
    assert "polling.concurrency" in text and "whole number" in text
    assert "polling.colour" in text and "spelling" in text
    assert "feeds[0] (A).url" in text and "http" in text
    assert "feeds[0] (A).interval" in text and "'15m'" in text
    assert "feeds[1] (A)" in text and "needs a url" in text
    assert "situations[0] (Sudan).slug: use lower-case letters" in text
    assert "'SUD' is not an ISO 3166-1 alpha-3" in text
    assert "subscriptions[0] (general).channel: use a Slack channel id" in text
    assert len(info.value.problems) >= 8


def test_cross_checks_unknown_situation_and_restricted_channel() -> None:
    raw = {
        "situations": [
            {
                "slug": "eth",
                "name": "Ethiopia",
                "countries": ["ETH"],
                "sensitivity": "restricted",
                "allowed_channels": ["C0ALLOWED1"],
            },
        ],
        "subscriptions": [
            {"channel": "C0OTHER001", "situations": ["eth", "nowhere"]},
        ],
        "feeds": [
            {"name": "x", "url": "https://example.org/a"},
            {"name": "x", "url": "https://example.org/b"},
        ],
    }
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    text = "\n".join(info.value.problems)
    assert "unknown situation 'nowhere'" in text
    assert "may not receive restricted situation 'eth'" in text
    assert "'x' is used twice" in text


def test_missing_file_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[feeds\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_CONFIG", "/etc/tocsin.toml")
    assert config_path("x.toml") == Path("x.toml")
    assert config_path(None) == Path("/etc/tocsin.toml")
    monkeypatch.delenv("TOCSIN_CONFIG")
    assert config_path(None) == Path("config.toml")


def test_secrets_come_from_environment_and_never_show_in_repr() -> None:
    secrets = Secrets.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-token",
            "SLACK_SIGNING_SECRET": "sign-secret",
            "DATABASE_URL": "postgresql://u:pw@h/db",
        }
    )
    assert secrets.slack_bot_token == "xoxb-secret-token"
    text = repr(secrets)
    assert "xoxb-secret-token" not in text and "sign-secret" not in text and "pw@" not in text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("1w", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "1 hour", "0s", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_unknown_indicator_codes_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"indicators": {"disabled": ["RF99"], "weights": {"XX1": 2.0}}})
    text = "\n".join(info.value.problems)
    assert text.startswith("indicators:") and "RF99" in text


def test_subscription_briefing_day_and_time_are_validated_like_briefings() -> None:
    raw = {
        "situations": [{"slug": "sudan", "name": "Sudan", "countries": ["SDN"]}],
        "subscriptions": [
            {
                "channel": "C0123456789",
                "situations": ["sudan"],
                "briefing_weekday": "monday",
                "briefing_time": "9am",
            },
            {"channel": "C0123456780", "situations": ["sudan"], "briefing_time": "24:00"},
        ],
    }
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    text = "\n".join(info.value.problems)
    assert "subscriptions[0] (C0123456789).briefing_weekday" in text and "'mon'" in text
    assert "subscriptions[0] (C0123456789).briefing_time: write a 24-hour time" in text
    assert "subscriptions[1] (C0123456780).briefing_time: write a 24-hour time" in text
    good = parse_settings(
        raw
        | {
            "subscriptions": [
                {
                    "channel": "C0123456789",
                    "situations": ["sudan"],
                    "briefing_weekday": "sun",
                    "briefing_time": "23:59",
                }
            ]
        }
    )
    (sub,) = good.subscriptions
    assert (sub.briefing_weekday, sub.briefing_time) == ("sun", "23:59")
    assert parse_settings({}).briefings.weekday == "mon"


def test_config_refuses_a_review_channel_that_may_not_see_a_restricted_situation() -> None:
    raw = {
        "situations": [
            {
                "slug": "drc-east",
                "name": "Eastern DRC",
                "countries": ["COD"],
                "sensitivity": "restricted",
                "allowed_channels": ["CALLOWED"],
                "review_channel": "CREVIEW1",
            }
        ],
        "subscriptions": [
            {"channel": "CALLOWED", "situations": ["drc-east"], "review_channel": "CPUBLIC1"},
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    problems = "\n".join(caught.value.problems)
    assert "situations[0].review_channel: CREVIEW1 may not see restricted situation" in problems
    assert "subscriptions[0].review_channel: CPUBLIC1 may not see restricted" in problems
    raw["subscriptions"] = [
        {"channel": "CALLOWED", "situations": ["drc-east"], "review_timeout": "x"}
    ]
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    (problem,) = caught.value.problems
    assert problem.startswith("subscriptions[0] (CALLOWED).review_timeout: 'x' is not a duration")


def test_config_refuses_a_timeout_without_a_review_channel() -> None:
    raw = {
        "situations": [{"slug": "sudan", "name": "Sudan", "countries": ["SDN"]}],
        "subscriptions": [{"channel": "CPUBLIC1", "situations": ["sudan"], "review_timeout": "2h"}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert any("review_timeout: set review_channel too" in p for p in caught.value.problems)


def test_subscription_filters_and_quiet_hours_are_validated_naming_the_subscription() -> None:
    situations = [{"slug": "sudan", "name": "Sudan", "countries": ["SDN"]}]
    good = parse_settings(
        {
            "situations": situations,
            "subscriptions": [
                {
                    "channel": "C0NAIROBI",
                    "situations": ["sudan"],
                    "filter": '"El Fasher" OR Darfur -cholera',
                    "quiet_hours": "22:00 - 7:00",
                }
            ],
        }
    )
    assert good.subscriptions[0].quiet_hours == "22:00-07:00"
    for field, value, expected in [
        ("filter", "Darfur OR (El Fasher", "this '(' is never closed, at character 11"),
        ("filter", "(" * 20 + "a" + ")" * 20, "nests deeper than 8 levels, at character 9"),
        ("filter", "x" * 501, "the limit is 500"),
        ("quiet_hours", "22:00-22:00", "starts and ends at the same time"),
        ("quiet_hours", "late", "write quiet hours as two 24-hour times"),
    ]:
        entry = {"channel": "C0GENEVA1", "situations": ["sudan"], field: value}
        with pytest.raises(ConfigError) as caught:
            parse_settings({"situations": situations, "subscriptions": [entry]})
        [problem] = caught.value.problems
        assert problem.startswith("subscriptions[0]") and "C0GENEVA1" in problem, problem
        assert expected in problem, problem
