"""The assessment's memory in the database: load a `StoryBook` for a batch, save what changed.

Every instance reads and writes the same rows (story_band, story_source, indicator_seen), inside
the feed's transaction and under one lock (`lock_stories`), so instances take turns at
assessing and each sees the stories the others committed: several instances agree on stories,
corroboration and novelty exactly as one would.

Candidates are read in one statement per batch, with a per-band limit (`CANDIDATES_PER_BAND`,
newest first, each band one index range): PostgreSQL through a LATERAL join over the batch's
bands, SQLite through a correlated subquery over `json_each` of them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, bindparam, cast, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.assessment import CANDIDATES_PER_BAND, BandEntry, StoryBook, Subject
from bot.matching.model import MatchResult
from bot.store.tables import IndicatorSeen, Item, Match, StoryBand, StorySource
from bot.store.types import UTCDateTime

_BANDS: Table = StoryBand.__table__  # type: ignore[attr-defined]
_SOURCES: Table = StorySource.__table__  # type: ignore[attr-defined]
_SEEN: Table = IndicatorSeen.__table__  # type: ignore[attr-defined]
_ITEMS: Table = Item.__table__  # type: ignore[attr-defined]
_MATCHES: Table = Match.__table__  # type: ignore[attr-defined]
_LOCK_KEY = 7_405_281_113  # pg_advisory_xact_lock key of the assessment (any constant bigint)

_PG_CANDIDATES = (
    text(
        """
        SELECT v.band, s.story_id, s.title_key, s.seen_at
        FROM unnest(CAST(:bands AS BIGINT[])) AS v(band)
        CROSS JOIN LATERAL (
            SELECT story_id, title_key, seen_at FROM story_band
            WHERE band = v.band AND seen_at >= :since
            ORDER BY seen_at DESC, story_id DESC LIMIT :limit
        ) AS s
        """
    )
    .bindparams(bindparam("since", type_=UTCDateTime))
    .columns(seen_at=UTCDateTime)
)
_SQLITE_CANDIDATES = (
    text(
        """
        SELECT s.band, s.story_id, s.title_key, s.seen_at
        FROM json_each(:bands) AS v
        JOIN story_band AS s ON s.rowid IN (
            SELECT t.rowid FROM story_band AS t
            WHERE t.band = v.value AND t.seen_at >= :since
            ORDER BY t.seen_at DESC, t.story_id DESC LIMIT :limit
        )
        """
    )
    .bindparams(bindparam("since", type_=UTCDateTime))
    .columns(seen_at=UTCDateTime)
)


def lock_stories(session: Session) -> None:
    """Take the assessment lock until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def load_book(session: Session, book: StoryBook, subjects: Sequence[Subject]) -> StoryBook:
    """Fill `book` with what assessing `subjects` needs: candidate stories of their bands and
    the risk factors seen for their situations. (Story sources come through `sources_of`.)"""
    if not subjects:
        return book
    since = min(s.now for s in subjects) - book.cluster_window
    bands = sorted({band for s in subjects for band in s.bands})
    for band, story, key, seen_at in _candidates(session, bands, since=since):
        book.bands.setdefault(band, {})[story] = BandEntry(story=story, key=key, seen_at=seen_at)
    situations = sorted({sit for s in subjects for sit in s.result.situations})
    rows = session.execute(
        select(_SEEN.c.situation, _SEEN.c.code, _SEEN.c.last_at).where(
            _SEEN.c.situation.in_(situations)
        )
    ).all()
    book.seen.update({(situation, code): last for situation, code, last in rows})
    return book


def _candidates(session: Session, bands: list[int], *, since: datetime) -> Iterable[Any]:
    """Per band, the `CANDIDATES_PER_BAND` most recent entries since `since`: one statement."""
    params = {"since": since, "limit": CANDIDATES_PER_BAND}
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_PG_CANDIDATES, {**params, "bands": bands}).all()
    return session.execute(_SQLITE_CANDIDATES, {**params, "bands": json.dumps(bands)}).all()


def sources_of(session: Session, stories: Collection[int]) -> dict[int, set[str]]:
    """The known sources of each story (a story without rows has none yet)."""
    found: dict[int, set[str]] = {story: set() for story in stories}
    rows = session.execute(
        select(_SOURCES.c.story_id, _SOURCES.c.source).where(_SOURCES.c.story_id.in_(found))
    ).all()
    for story, source in rows:
        found[story].add(source)
    return found


def save_book(session: Session, book: StoryBook) -> None:
    """Write what the assessment changed: band entries, story sources, risk factors seen, and
    each assessed item's story. Rows go in key order, so concurrent writers lock them in the
    same order."""
    insert = _insert(session)
    bands = [
        {"band": b, "story_id": s, "title_key": e.key, "seen_at": e.seen_at}
        for b, s in sorted(book.changed_bands)
        if (e := book.bands[b].get(s)) is not None  # else trimmed: no longer a candidate
    ]
    if bands:  # (all trimmed when a batch brought more new stories to a band than it keeps)
        stmt = insert(_BANDS)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["band", "story_id"],
                set_={"title_key": stmt.excluded.title_key, "seen_at": stmt.excluded.seen_at},
            ),
            bands,
        )
    if book.changed_sources:
        rows = [{"story_id": s, "source": src} for s, src in sorted(book.changed_sources)]
        session.execute(insert(_SOURCES).on_conflict_do_nothing(), rows)
    if book.changed_seen:
        rows = [
            {"situation": sit, "code": code, "last_at": book.seen[(sit, code)]}
            for sit, code in sorted(book.changed_seen)
        ]
        stmt = insert(_SEEN)
        latest = _greatest(session)(_SEEN.c.last_at, stmt.excluded.last_at)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["situation", "code"], set_={"last_at": latest}
            ),
            rows,
        )
    if book.stories:
        session.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("item"))
            .values(cluster_id=bindparam("story")),
            [{"item": i, "story": s} for i, s in book.stories.items()],
        )
    book.changed_bands.clear()
    book.changed_sources.clear()
    book.changed_seen.clear()


def seed_book(session: Session, book: StoryBook, *, since: datetime) -> StoryBook:
    """Fill `book` with what ingestion knew at `since`, rebuilt from what it stored: the risk
    factors its matches carried within the novelty window, the stories of the items it
    assessed within the cluster window (from the start of its refresh period, entered in
    ingestion order as it entered them), and
    every source those stories had. A replay from here reproduces the live decisions while the
    config is unchanged; after a config change, the history is the one ingestion saw."""
    seen = session.execute(
        select(
            _MATCHES.c.situation, cast(_MATCHES.c.indicators, Text), func.max(_MATCHES.c.created_at)
        )
        .where(_MATCHES.c.created_at >= since - book.novelty_window)
        .where(_MATCHES.c.created_at < since)
        .group_by(_MATCHES.c.situation, cast(_MATCHES.c.indicators, Text))
    ).all()
    for situation, codes, last in seen:
        for code in json.loads(codes or "[]"):
            known = book.seen.get((situation, code))
            book.seen[(situation, code)] = last if known is None else max(known, last)
    members = session.execute(
        select(_ITEMS.c.id, _ITEMS.c.title_key, _ITEMS.c.cluster_id, _ITEMS.c.fetched_at)
        .where(_ITEMS.c.fetched_at >= book.period_start(since - book.cluster_window))
        .where(_ITEMS.c.fetched_at < since)
        .where(_ITEMS.c.cluster_id.is_not(None))
        .order_by(_ITEMS.c.id)
    ).all()
    for item_id, key, story, fetched_at in members:
        member = Subject(
            item_id=item_id, key=key, source="", tier=0, result=MatchResult(), now=fetched_at
        )
        book.remember(member, story)
    stories = {story for _, _, story, _ in members}
    sources = session.execute(
        select(_ITEMS.c.cluster_id, _ITEMS.c.source)
        .where(_ITEMS.c.cluster_id.in_(stories))
        .where(_ITEMS.c.fetched_at < since)
        .distinct()
    ).all()
    for story, source in sources:
        book.sources.setdefault(story, set()).add(source)
    for story in stories:
        book.sources.setdefault(story, set())
    book.stories.clear()
    book.changed_bands.clear()
    return book


def prune(session: Session, book: StoryBook, *, now: datetime) -> None:
    """Forget band entries older than the cluster window (no new item can join them through
    those bands) and risk factors older than the novelty window. Story sources are kept: one
    small row per story and source, at most one per matched item."""
    session.execute(delete(_BANDS).where(_BANDS.c.seen_at < now - book.cluster_window))
    session.execute(delete(_SEEN).where(_SEEN.c.last_at < now - book.novelty_window))


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _greatest(session: Session) -> Any:
    return func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
