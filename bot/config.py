"""Settings: `config.toml` (behaviour) + environment (secrets), validated at start-up.

Every error in the file is reported at once, each with its TOML path and a plain-English fix.
Only the CLI turns a `ConfigError` into an exit code.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.durations import parse_duration
from bot.filters import FilterError, parse
from bot.matching.errors import TaxonomyError
from bot.matching.settings import AlertThresholds, IndicatorsSettings, MatchingSettings
from bot.matching.taxonomy import resolve_indicators
from bot.quiet import QuietHoursError, parse_window

DEFAULT_CONFIG = Path("config.toml")
SEVERITIES = ("info", "watch", "warning", "critical")
Severity = Literal["info", "watch", "warning", "critical"]


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("write a duration as a string such as '30s', '15m', '1h' or '2d'")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
ChannelId = Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{2,}$")]
UserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
ClockTime = Annotated[str, Field(pattern=CLOCK_TIME)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as 'Africa/Nairobi'"
        ) from exc
    return value


TimeZone = Annotated[str, BeforeValidator(_timezone)]


def _quiet_hours(value: Any) -> str:
    try:
        return str(parse_window(str(value)))
    except QuietHoursError as exc:
        raise ValueError(str(exc)) from exc


QuietWindow = Annotated[str, BeforeValidator(_quiet_hours)]


class DatabaseSettings(Section):
    url: str = "sqlite:///tocsin.db"
    echo: bool = False


class PollingSettings(Section):
    concurrency: int = Field(16, ge=1, le=256)
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=20)
    deadline: Duration = timedelta(seconds=60)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    backoff_base: Duration = timedelta(minutes=1)
    backoff_max: Duration = timedelta(hours=6)
    allow_private_targets: bool = False
    parse_workers: int = Field(1, ge=0, le=64)
    lease: Duration = timedelta(seconds=15)
    tick: Duration = timedelta(seconds=15)


class ReliefWebSettings(Section):
    base_url: str = "https://api.reliefweb.int"
    daily_budget: int = Field(1000, ge=1)
    page_size: int = Field(100, ge=1, le=1000)
    max_pages: int = Field(5, ge=1, le=100)


class FeedSettings(Section):
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["rss", "reliefweb"] = "rss"
    url: str | None = None
    query: dict[str, Any] = Field(default_factory=dict)
    interval: Duration = timedelta(minutes=15)
    language: str | None = None
    region: str | None = None
    tier: int = Field(2, ge=1, le=3)
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _url_for_rss(self) -> FeedSettings:
        if self.kind == "rss" and not self.url:
            raise ValueError("an rss feed needs a url")
        if self.interval < timedelta(seconds=30):
            raise ValueError("interval must be at least '30s' to be polite to the source")
        return self


def _country(code: str) -> str:
    code = code.strip().upper()
    if pycountry.countries.get(alpha_3=code) is None and code != "XKX":
        raise ValueError(
            f"{code!r} is not an ISO 3166-1 alpha-3 country code (e.g. 'SDN' for Sudan)"
        )
    return code


CountryCode = Annotated[str, BeforeValidator(_country)]


class SituationSettings(Section):
    slug: Slug
    name: str = Field(min_length=1)
    countries: list[CountryCode] = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    actors: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list)
    sensitivity: Literal["public", "restricted"] = "public"
    allowed_channels: list[ChannelId] = Field(default_factory=list)
    allowed_users: list[UserId] = Field(default_factory=list)
    escalation_channel: ChannelId | None = None
    review_channel: ChannelId | None = None
    review_timeout: Duration | None = None


class AlertSettings(Section):
    max_age: Duration = timedelta(hours=48)
    min_severity: Severity = "watch"
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds)
    max_attempts: int = Field(8, ge=1)
    retry_base: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)
    channel_hourly_cap: int = Field(20, ge=1)
    lease: Duration = timedelta(seconds=15)
    cluster_window: Duration = timedelta(hours=72)
    novelty_window: Duration = timedelta(days=28)


class SubscriptionSettings(Section):
    channel: ChannelId
    situations: list[Slug] = Field(min_length=1)
    alerts: bool = True
    briefings: bool = True
    min_severity: Severity = "watch"
    digest: bool = False
    critical_breakthrough: bool = True
    timezone: TimeZone | None = None
    briefing_weekday: Weekday | None = None
    briefing_time: ClockTime | None = None
    review_channel: ChannelId | None = None
    review_timeout: Duration | None = None
    filter: str | None = None
    quiet_hours: QuietWindow | None = None


class BriefingSettings(Section):
    weekday: Weekday = "mon"
    time: ClockTime = "09:00"
    digest_time: ClockTime = "08:00"
    timezone: TimeZone = "UTC"
    chart_weeks: int = Field(12, ge=2, le=104)
    novelty_weeks: int = Field(4, ge=1, le=52)
    top_items: int = Field(5, ge=1, le=20)


class FeedbackSettings(Section):
    """How votes become precision figures and suggestions (`tocsin feedback report`)."""

    min_votes: int = Field(5, ge=1, le=1000)
    suggest_below: float = Field(0.5, gt=0, le=1)
    max_suggestions: int = Field(5, ge=0, le=20)


class SlackSettings(Section):
    admin_users: list[UserId] = Field(default_factory=list)
    min_interval: Duration = timedelta(seconds=1)
    burst: int = Field(2, ge=1, le=10)
    unfurl_links: bool = False


class ServerSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(3000, ge=1, le=65535)


class Settings(Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    reliefweb: ReliefWebSettings = Field(default_factory=ReliefWebSettings)
    feeds: list[FeedSettings] = Field(default_factory=list)
    situations: list[SituationSettings] = Field(default_factory=list)
    indicators: IndicatorsSettings = Field(default_factory=IndicatorsSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    subscriptions: list[SubscriptionSettings] = Field(default_factory=list)
    briefings: BriefingSettings = Field(default_factory=BriefingSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        from bot.access import visible_in  # bot.access builds on this module

        problems: list[str] = []
        problems += _duplicates("feeds", [f.name for f in self.feeds], "name")
        problems += _duplicates("situations", [s.slug for s in self.situations], "slug")
        by_slug = {s.slug: s for s in self.situations}
        for i, sub in enumerate(self.subscriptions):
            for slug in sub.situations:
                situation = by_slug.get(slug)
                if situation is None:
                    problems.append(
                        f"subscriptions[{i}].situations: unknown situation {slug!r}; "
                        f"define it under [[situations]] or use one of {sorted(by_slug)}"
                    )
                elif not visible_in(situation, sub.channel):
                    problems.append(
                        f"subscriptions[{i}]: channel {sub.channel} may not receive restricted "
                        f"situation {slug!r}; add it to that situation's allowed_channels"
                    )
                else:
                    problems += _review_problems(f"subscriptions[{i}]", sub, situation)
        for i, situation in enumerate(self.situations):
            problems += _review_problems(f"situations[{i}]", situation, situation)
        problems += _filter_problems(self.subscriptions)
        problems += _taxonomy_problems(self.indicators)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def situation(self, slug: str) -> SituationSettings | None:
        return next((s for s in self.situations if s.slug == slug), None)

    def feed(self, name: str) -> FeedSettings | None:
        return next((f for f in self.feeds if f.name == name), None)


def _review_problems(
    where: str,
    entry: SituationSettings | SubscriptionSettings,
    situation: SituationSettings,
) -> list[str]:
    """A review channel must be allowed to see the situation; a timeout needs a review channel."""
    from bot.access import visible_in

    channel = entry.review_channel or situation.review_channel
    if entry.review_timeout is not None and channel is None:
        return [f"{where}.review_timeout: set review_channel too (nothing is reviewed without it)"]
    if entry.review_channel is not None and not visible_in(situation, entry.review_channel):
        return [
            f"{where}.review_channel: {entry.review_channel} may not see restricted situation "
            f"{situation.slug!r}; add it to that situation's allowed_channels"
        ]
    return []


def _filter_problems(subscriptions: list[SubscriptionSettings]) -> list[str]:
    """Each unusable `filter`, naming the subscription and pointing at the position."""
    problems = []
    for i, sub in enumerate(subscriptions):
        if sub.filter is None:
            continue
        try:
            parse(sub.filter)
        except FilterError as exc:
            shown, _ = exc.pointer()
            problems.append(
                f"subscriptions[{i}].filter (channel {sub.channel}, "
                f"{', '.join(sub.situations)}): {exc}, at character {exc.position + 1} of "
                f"{shown!r}; see 'Subscription filters' in the README"
            )
    return problems


def _taxonomy_problems(indicators: IndicatorsSettings) -> list[str]:
    """Unknown indicator codes or an unreadable taxonomy file, as config problems."""
    try:
        resolve_indicators(indicators)
    except TaxonomyError as exc:
        return [f"indicators: {exc}"]
    return []


def _duplicates(section: str, values: list[str], key: str) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append(f"{section}[{i}].{key}: {value!r} is used twice; each {key} must be unique")
        seen.add(value)
    return out


@dataclass(frozen=True)
class Secrets:
    """Secrets come only from the environment and never appear in a repr or a log."""

    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    reliefweb_appname: str | None = None
    database_url: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        return cls(
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            reliefweb_appname=env.get("RELIEFWEB_APPNAME") or None,
            database_url=env.get("DATABASE_URL") or None,
            slack_api_url=env.get("SLACK_API_URL") or None,
        )


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every error, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the configuration:\n{lines}")


def config_path(explicit: str | Path | None = None) -> Path:
    """`--config` wins, then `TOCSIN_CONFIG`, then ./config.toml."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("TOCSIN_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate a config file; raise `ConfigError` listing every problem."""
    source = config_path(path)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            str(source), ["file not found; pass --config FILE or set TOCSIN_CONFIG"]
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), [f"not valid TOML: {exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(source), ["not UTF-8 text; save the file as UTF-8"]) from exc
    return parse_settings(raw, source=str(source))


def parse_settings(raw: dict[str, Any], *, source: str = "config") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(err, raw) for err in exc.errors()]) from exc


_FIXES = {
    "extra_forbidden": "remove it or check its spelling in the README's configuration reference",
    "missing": "add it",
    "string_type": "write it as a quoted string",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": 'write a list such as ["a", "b"]',
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "see the README for the expected form",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
    "dict_type": "write a table",
    "model_type": "write a table",
}


_PATTERN_HELP = {
    r"^[a-z0-9][a-z0-9-]{0,62}$": "use lower-case letters, digits and hyphens, e.g. 'south-sudan'",
    r"^[CGD][A-Z0-9]{2,}$": "use a Slack channel id such as 'C0123456789', not a channel name",
    r"^[UW][A-Z0-9]{2,}$": "use a Slack user id such as 'U0123456789', not a user name",
    r"^([01]\d|2[0-3]):[0-5]\d$": "write a 24-hour time such as '09:00'",
}


def _describe(err: Any, raw: dict[str, Any]) -> str:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
    path = _toml_path(loc, raw) or "(top level)"
    message = str(err["msg"]).removeprefix("Value error, ")
    fix = _FIXES.get(err["type"])
    if err["type"] == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        message = _PATTERN_HELP.get(pattern, message)
        fix = None
    if err["type"] == "value_error" and "\n" in message:
        return message.replace("\n", "\n  - ")
    if err["type"] == "value_error" and message.startswith(
        ("subscriptions[", "feeds[", "situations[", "indicators:")
    ):
        return message
    return f"{path}: {message}" + (f"; {fix}" if fix and fix not in message else "")


def _toml_path(loc: list[Any], raw: dict[str, Any]) -> str:
    out = ""
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            label = None
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                label = (
                    node[part].get("name") or node[part].get("slug") or node[part].get("channel")
                )
            out += f" ({label})" if isinstance(label, str) else ""
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out
