"""One assessment for live ingestion and replay: story, corroboration, novelty, score, decision.

    book = StoryBook.for_alerts(settings.alerts)      # what the assessment remembers
    assessed = assess(book, subjects, settings=settings)

`assess` is the only place that decides which story a matched item belongs to, how many distinct
sources that story has, which risk factors are new for the situation, the item's score and
severity, and whether it reaches `[alerts] min_severity`. It only reads and updates the book.

- Live (`bot.ingest`): a book is loaded from the database for each feed's batch
  (`bot.store.stories.load_book`, under a lock, so several instances see the same stories),
  assessed, and its changes are written back in the same transaction (`save_book`).
- Replay (`bot.backtest`): one book lives in memory over all replayed items, in ingestion order,
  seeded with what ingestion knew when the replay starts (`bot.store.stories.seed_book`).

Both run the same function over the same state, so a replay of stored items reproduces the live
decisions (tests/test_assessment.py proves it on SQLite and PostgreSQL).

The story index: each story keeps, per LSH band of its members' title keys (`story_bands`), the
key of a recent member that had that band and when it came (rewritten at most once per
1/`REFRESH_SHARE` of the cluster window: most members are wire copies). A new title is compared
(`same_story_keys`) only with the `CANDIDATES_PER_BAND` most recently active stories of each of
its bands, newest first, so the cost per item does not grow with the items in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from bot.alerts import severity_rank
from bot.config import AlertSettings, Settings
from bot.matching.cluster import same_story_keys, story_bands
from bot.matching.model import MatchResult
from bot.matching.scoring import Scored, score

CANDIDATES_PER_BAND = 3
REFRESH_SHARE = 24  # a band entry is rewritten at most once per 1/24 of the cluster window
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SourcesOf = Callable[[Collection[int]], Mapping[int, Collection[str]]]


@dataclass(frozen=True, kw_only=True)
class Subject:
    """One matched item, as the assessment needs it. `now` is when it was ingested."""

    item_id: int
    key: str  # `title_key` of the title
    source: str
    tier: int
    result: MatchResult
    now: datetime

    @cached_property
    def bands(self) -> tuple[int, ...]:
        return story_bands(self.key)


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """The decision for one item × situation."""

    item_id: int
    situation: str
    indicators: tuple[str, ...]  # the item's risk factors
    story: int  # the item id that started the story
    sources: int  # distinct sources of the story so far, this item included
    novel: frozenset[str]  # risk factors not seen for the situation within the novelty window
    scored: Scored
    alerting: bool  # the severity reaches [alerts] min_severity

    @property
    def severity(self) -> str:
        return self.scored.severity


@dataclass
class BandEntry:
    """A story's presence in one band: the latest member key with that band, and when."""

    story: int
    key: str
    seen_at: datetime


@dataclass
class StoryBook:
    """What the assessment remembers: the story index, story sources, risk factors seen.

    `changed_*` record what `assess` changed, for `bot.store.stories.save_book`.
    """

    cluster_window: timedelta
    novelty_window: timedelta
    bands: dict[int, dict[int, BandEntry]] = field(default_factory=dict)
    sources: dict[int, set[str]] = field(default_factory=dict)
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    stories: dict[int, int] = field(default_factory=dict)  # item id → story, items assessed here
    changed_bands: set[tuple[int, int]] = field(default_factory=set)
    changed_sources: set[tuple[int, str]] = field(default_factory=set)
    changed_seen: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def for_alerts(cls, alerts: AlertSettings) -> StoryBook:
        return cls(cluster_window=alerts.cluster_window, novelty_window=alerts.novelty_window)

    def refresh_period(self, when: datetime) -> int:
        """Band entries are rewritten at most once per period (1/`REFRESH_SHARE` of the cluster
        window, counted from the epoch, so the state never depends on where a replay starts)."""
        return int((when - EPOCH) / (self.cluster_window / REFRESH_SHARE))

    def period_start(self, when: datetime) -> datetime:
        return EPOCH + self.refresh_period(when) * (self.cluster_window / REFRESH_SHARE)

    def candidates(self, band: int, *, now: datetime) -> list[BandEntry]:
        """The band's most recently active stories within the cluster window, newest first."""
        since = now - self.cluster_window
        return [e for e in _newest(self.bands.get(band, {})) if e.seen_at >= since]

    def join(self, subject: Subject) -> int:
        """The story of `subject`: the newest candidate story with the same story, or a new one."""
        found = {
            (e.seen_at, e.story, e.key)
            for band in subject.bands
            for e in self.candidates(band, now=subject.now)
        }
        story = next(
            (s for _, s, key in sorted(found, reverse=True) if same_story_keys(key, subject.key)),
            subject.item_id,
        )
        self.remember(subject, story)
        return story

    def remember(self, subject: Subject, story: int) -> None:
        """Enter `subject` into the index as a member of `story`.

        Each band keeps only its `CANDIDATES_PER_BAND` newest entries, which is all the
        database returns for it (`bot.store.stories.load_book`), so a replayed book and a
        loaded one decide alike."""
        period = self.refresh_period(subject.now)
        for band in subject.bands:
            entries = self.bands.setdefault(band, {})
            entry = entries.get(story)
            if entry is not None and self.refresh_period(entry.seen_at) == period:
                continue  # written this refresh period: most members of a story are wire copies
            entries[story] = BandEntry(story=story, key=subject.key, seen_at=subject.now)
            self.changed_bands.add((band, story))
            if len(entries) > CANDIDATES_PER_BAND:
                self.bands[band] = {e.story: e for e in _newest(entries)}
        self.stories[subject.item_id] = story

    def corroborate(self, story: int, source: str) -> int:
        """Add `source` to the story; the number of distinct sources it now has."""
        sources = self.sources.setdefault(story, set())
        if source not in sources:
            sources.add(source)
            self.changed_sources.add((story, source))
        return len(sources)

    def novel(self, situation: str, codes: Sequence[str], *, now: datetime) -> frozenset[str]:
        """Risk factors not seen for `situation` within the novelty window; then remember them."""
        since = now - self.novelty_window
        novel = frozenset(
            c for c in codes if (last := self.seen.get((situation, c))) is None or last < since
        )
        for code in codes:
            last = self.seen.get((situation, code))
            if last is None or last < now:
                self.seen[(situation, code)] = now
                self.changed_seen.add((situation, code))
        return novel


def _newest(entries: dict[int, BandEntry]) -> list[BandEntry]:
    ranked = sorted(entries.values(), key=lambda e: (e.seen_at, e.story), reverse=True)
    return ranked[:CANDIDATES_PER_BAND]


def assess(
    book: StoryBook,
    subjects: Sequence[Subject],
    *,
    settings: Settings,
    sources_of: SourcesOf | None = None,
) -> list[Assessment]:
    """Assess `subjects` in order, updating `book`; one `Assessment` per item × situation.

    Stories are found first for the whole batch; then `sources_of` supplies the sources of
    earlier stories the book does not hold yet (live: from the database), and each item is
    corroborated, checked for novelty and scored in turn.
    """
    stories = [book.join(s) for s in subjects]
    started_here = {s.item_id for s in subjects}  # new stories: no sources stored yet
    missing = {s for s in stories if s not in book.sources and s not in started_here}
    if missing and sources_of is not None:
        for story, known in sources_of(missing).items():
            book.sources[story] = set(known)
    assessed = []
    for subject, story in zip(subjects, stories, strict=True):
        sources = book.corroborate(story, subject.source)
        for situation in subject.result.situations:
            assessed.append(
                decide(
                    subject,
                    situation=situation,
                    story=story,
                    sources=sources,
                    novel=book.novel(situation, subject.result.indicators, now=subject.now),
                    settings=settings,
                )
            )
    return assessed


def decide(
    subject: Subject,
    *,
    situation: str,
    story: int,
    sources: int,
    novel: frozenset[str],
    settings: Settings,
) -> Assessment:
    """Pure: score one item × situation and decide whether it reaches alerting severity."""
    scored = score(
        subject.result,
        tier=subject.tier,
        corroborating_sources=sources,
        novel_indicators=novel,
        thresholds=settings.alerts.thresholds,
    )
    return Assessment(
        item_id=subject.item_id,
        situation=situation,
        indicators=subject.result.indicators,
        story=story,
        sources=sources,
        novel=novel,
        scored=scored,
        alerting=severity_rank(scored.severity) >= severity_rank(settings.alerts.min_severity),
    )
