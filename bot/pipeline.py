"""One poll cycle: due feeds → fetch → parse → store (new only) → match → outbox.

Feeds are claimed with a lease (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; `[polling]
lease`, renewed by the instance's heartbeat in `bot.leases`, so a dead instance's feeds are taken
over within one lease and a slow feed keeps its lease as long as its instance lives), fetched on a
thread pool, parsed and matched on worker processes (`bot.parsing`: CPU-bound), and stored from
this thread: the feeds that are ready at once in one transaction, with one statement per table
(`bot.ingest.ItemWriter`). Unchanged feeds are recorded many per statement. One broken feed never
stops the others: its error is recorded on its row.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    ThreadPoolExecutor,
)
from dataclasses import dataclass
from datetime import datetime
from queue import SimpleQueue
from typing import Any

from sqlalchemy import Table, Text, bindparam, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import FeedSettings, Secrets, Settings
from bot.ingest import FeedItems, ItemWriter, Prepared, WriteStats, guid_of
from bot.leases import instance_id
from bot.matching.matcher import Matcher
from bot.memory import trim
from bot.metrics import Metrics, process_metrics
from bot.parsing import parse_and_prepare, start_workers
from bot.store.db import session_scope
from bot.store.tables import Feed
from feeds import reliefweb
from feeds.backoff import next_poll
from feeds.errors import FeedError
from feeds.fetch import Fetcher, FetchOptions
from feeds.model import FeedSpec, Fetched, Item, NotModified, Validators

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
UNCHANGED_BATCH = 500  # unchanged feeds recorded per transaction (mostly once fetching is over)
_FEEDS: Table = Feed.__table__  # type: ignore[attr-defined]
# a feed found unchanged, recorded as `_record_success` records any success
_UNCHANGED = (
    update(_FEEDS)
    .where(_FEEDS.c.name == bindparam("b_name"))
    .values(
        last_status=bindparam("b_status"),
        consecutive_failures=0,
        next_poll_at=bindparam("b_next", type_=_FEEDS.c.next_poll_at.type),
        etag=func.coalesce(bindparam("b_etag", type_=Text), _FEEDS.c.etag),
        last_modified=func.coalesce(bindparam("b_modified", type_=Text), _FEEDS.c.last_modified),
        lease_owner=None,
        lease_expires_at=None,
    )
)
STORE_BATCH = 2_000  # parsed items stored per transaction (a feed's are never split)


@dataclass(frozen=True, kw_only=True)
class FeedOutcome:
    feed: str
    status: str  # ok | not_modified | error | budget
    new_items: int = 0
    matches: int = 0
    alerts: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class PollReport:
    outcomes: tuple[FeedOutcome, ...]
    seconds: float

    def totals(self) -> dict[str, Any]:
        def count(status: str) -> int:
            return sum(1 for o in self.outcomes if o.status == status)

        return {
            "feeds": len(self.outcomes),
            "ok": count("ok"),
            "not_modified": count("not_modified"),
            "errors": count("error") + count("budget"),
            "new_items": sum(o.new_items for o in self.outcomes),
            "matches": sum(o.matches for o in self.outcomes),
            "alerts_queued": sum(o.alerts for o in self.outcomes),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, kw_only=True)
class _Retrieved:
    """What the fetch stage hands to the store stage for one feed."""

    feed: FeedSettings
    outcome: Fetched | NotModified | FeedError | list[Item] | list[Item | Prepared]
    high_water: str | None = None
    calls: int = 0
    started: float = 0.0
    fetched: Fetched | None = None


def feed_url(feed: FeedSettings, settings: Settings) -> str:
    """The feed URL (rss) or the API base URL (reliefweb)."""
    return feed.url or settings.reliefweb.base_url


def feed_spec(feed: FeedSettings, settings: Settings) -> FeedSpec:
    return FeedSpec(
        name=feed.name,
        kind=feed.kind,
        url=feed_url(feed, settings),
        language=feed.language,
        region=feed.region,
        tier=feed.tier,
        tags=tuple(feed.tags),
    )


def fetch_options(settings: Settings) -> FetchOptions:
    p = settings.polling
    return FetchOptions(
        connect_timeout=p.connect_timeout.total_seconds(),
        read_timeout=p.read_timeout.total_seconds(),
        deadline=p.deadline.total_seconds(),
        max_bytes=p.max_bytes,
        max_redirects=p.max_redirects,
        allow_private=p.allow_private_targets,
    )


def sync_feeds(session: Session, settings: Settings) -> None:
    """Make the feed table match the config (new rows for new feeds; url/kind kept current)."""
    rows = {f.name: f for f in session.exec(select(Feed)).all()}
    for feed in settings.feeds:
        url = feed_url(feed, settings)
        row = rows.get(feed.name)
        if row is None:
            session.add(Feed(name=feed.name, kind=feed.kind, url=url))
        elif row.url != url or row.kind != feed.kind:
            row.url, row.kind = url, feed.kind
            row.etag = row.last_modified = row.body_hash = None


class Poller:
    """Runs poll cycles. Create once per process; call `close()` (or use `with`)."""

    def __init__(
        self,
        *,
        settings: Settings,
        secrets: Secrets,
        engine: Engine,
        matcher: Matcher,
        clock: Clock,
        fetcher: Fetcher | None = None,
        owner: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.metrics = metrics or process_metrics()
        self.engine = engine
        self.clock = clock
        self.owner = owner or instance_id()
        self.fetcher = fetcher or Fetcher(fetch_options(settings))
        self.writer = ItemWriter(settings=settings, matcher=matcher)
        workers = settings.polling.parse_workers
        # a thread shares the matcher as it is; a worker process has its own, inherited
        self._thread_matcher = matcher if workers == 0 else None
        self._parse_pool: Executor | None = start_workers(matcher, workers)
        self._known: dict[str, frozenset[str]] = {}  # feed → guids of its last stored body
        self._fetch_threads: ThreadPoolExecutor | None = None

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fetch_threads is not None:
            self._fetch_threads.shutdown(cancel_futures=True)
            self._fetch_threads = None
        self.fetcher.close()
        if self._parse_pool is not None:
            self._parse_pool.shutdown(cancel_futures=True)
            self._parse_pool = None

    def _threads(self) -> ThreadPoolExecutor:
        """The fetch threads, kept from one poll to the next (started as they are needed)."""
        if self._fetch_threads is None:
            self._fetch_threads = ThreadPoolExecutor(
                self.settings.polling.concurrency, thread_name_prefix="fetch"
            )
        return self._fetch_threads

    def poll(
        self, *, force: bool = False, on_feed_done: Callable[[FeedOutcome], None] | None = None
    ) -> PollReport:
        """One cycle over the due feeds (all enabled feeds with `force`)."""
        started = time.monotonic()
        self._sync_feeds()
        self.writer.start_cycle()
        outcomes: list[FeedOutcome] = []
        unchanged: list[_Retrieved] = []  # 304s are recorded many per transaction

        def done(stored: list[FeedOutcome]) -> None:
            outcomes.extend(stored)
            for outcome in stored:
                if on_feed_done is not None:
                    on_feed_done(outcome)

        for ready in self._retrieve(force=force):
            changed = [r for r in ready if not isinstance(r.outcome, NotModified)]
            unchanged += [r for r in ready if isinstance(r.outcome, NotModified)]
            for batch in _batches(changed):
                done(self._store(batch))
            if len(unchanged) >= UNCHANGED_BATCH:
                done(self._store_unchanged(unchanged))
                unchanged = []
        done(self._store_unchanged(unchanged))
        trim()  # the cycle's bodies, items and statements are freed: give their pages back
        return PollReport(outcomes=tuple(outcomes), seconds=time.monotonic() - started)

    def due_count(self, *, force: bool = False) -> int:
        """How many enabled feeds are due (all of them with `force`). A read only: `poll` syncs
        the feed table, and a feed not in it yet has never been polled, so it is due."""
        names = [f.name for f in self.settings.feeds if f.enabled]
        if force:
            return len(names)
        now = self.clock()
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(col(Feed.name), col(Feed.next_poll_at)).where(col(Feed.name).in_(names))
            ).all()
        next_poll_at = {name: at for name, at in rows}
        return sum(1 for name in names if (at := next_poll_at.get(name)) is None or at <= now)

    def _sync_feeds(self) -> None:
        for attempt in range(2):
            try:
                with session_scope(self.engine) as session:
                    sync_feeds(session, self.settings)
                return
            except IntegrityError:  # another instance inserted the same new feeds just now
                if attempt:
                    raise

    def _claim(
        self, *, force: bool, limit: int | None = None
    ) -> list[tuple[FeedSettings, Validators, str | None]]:
        now = self.clock()
        enabled = {f.name: f for f in self.settings.feeds if f.enabled}
        names = list(enabled)
        c = _FEEDS.c
        with session_scope(self.engine) as session:
            query = (
                core_select(c.name, c.etag, c.last_modified, c.body_hash, c.high_water)
                .where(c.name.in_(names))
                .where(or_(c.lease_expires_at.is_(None), c.lease_expires_at < now))
                .order_by(c.next_poll_at.asc().nulls_first(), c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if not force:
                query = query.where(or_(c.next_poll_at.is_(None), c.next_poll_at <= now))
            rows = session.execute(query).all()
            if rows:
                session.execute(
                    update(_FEEDS)
                    .where(c.name.in_([row.name for row in rows]))
                    .values(
                        lease_owner=self.owner, lease_expires_at=now + self.settings.polling.lease
                    )
                )
            claimed = []
            for row in rows:
                feed = enabled[row.name]
                validators = Validators(
                    etag=row.etag, last_modified=row.last_modified, body_hash=row.body_hash
                )
                claimed.append((feed, validators, row.high_water))
            return claimed

    def _retrieve(self, *, force: bool) -> Iterator[list[_Retrieved]]:
        """Claim, fetch on threads, parse on processes; yield the results of the feeds done
        since the last yield (stored together: the slower the storing, the larger the batch).

        Feeds are claimed a batch at a time, topped up as fetches finish (while the feeds
        fetched but not yet stored stay few), so several instances share one cycle and a lease
        starts when its feed is about to be fetched. `force` claims every feed at once (a
        due-or-not cycle could otherwise claim a feed it just stored).
        """
        concurrency = self.settings.polling.concurrency
        batch = None if force else 2 * concurrency
        threads, parsers = self._threads(), self._pool()
        # A queue of finished feeds rather than `wait()` over every pending future: that
        # re-armed a waiter on each of them at every wake, which on a poll of hundreds of
        # unchanged feeds cost the fetch threads a fifth of their interpreter time.
        finished: SimpleQueue[Future[_Retrieved]] = SimpleQueue()
        fetching: set[Future[_Retrieved]] = set()  # each removes itself when done
        pending = 0
        more = True
        while True:
            # feeds fetched but not yet stored stay few, so a claimed feed waits little for
            # its turn (a poll with no heartbeat to renew leases keeps them valid)
            if more and len(fetching) < concurrency and pending < 2 * concurrency:
                claimed = self._claim(force=force, limit=batch)
                more = batch is not None and len(claimed) == batch
                for feed, validators, high_water in claimed:
                    future = threads.submit(self._fetch_one, feed, validators, high_water)
                    fetching.add(future)
                    future.add_done_callback(fetching.discard)
                    self._then_parse(future, parsers).add_done_callback(finished.put)
                    pending += 1
            if not pending:
                return
            done = [finished.get()]
            while not finished.empty():
                done.append(finished.get())
            pending -= len(done)
            yield [future.result() for future in done]

    def _then_parse(self, fetching: Future[_Retrieved], parsers: Executor) -> Future[_Retrieved]:
        """The feed's result once fetched and, when there is a body, parsed: a fetch thread
        hands its body to the parsers itself, so they are kept busy while this thread
        stores."""
        result: Future[_Retrieved] = Future()

        def fetched(f: Future[_Retrieved]) -> None:
            try:
                retrieved = f.result()
                if isinstance(retrieved.outcome, Fetched):
                    self._parse(retrieved, parsers, result)
                else:
                    result.set_result(retrieved)
            except BaseException as exc:  # surfaces in the storing thread
                result.set_exception(exc)

        fetching.add_done_callback(fetched)
        return result

    def _fetch_one(
        self, feed: FeedSettings, validators: Validators, high_water: str | None
    ) -> _Retrieved:
        started = time.monotonic()
        spec = feed_spec(feed, self.settings)
        try:
            if feed.kind == "reliefweb":
                return self._fetch_reliefweb(feed, spec, high_water, started)
            result = self.fetcher.fetch(spec, validators)
        except FeedError as exc:
            return _Retrieved(feed=feed, outcome=exc, started=started)
        return _Retrieved(feed=feed, outcome=result, started=started)

    def _fetch_reliefweb(
        self, feed: FeedSettings, spec: FeedSpec, high_water: str | None, started: float
    ) -> _Retrieved:
        appname = self.secrets.reliefweb_appname
        if not appname:
            error = FeedError(
                "RELIEFWEB_APPNAME is not set: ReliefWeb requires an approved appname",
                url=spec.url,
            )
            return _Retrieved(feed=feed, outcome=error, started=started)
        budget = self._budget(feed.name)
        countries = sorted({c for s in self.settings.situations for c in s.countries})
        result = reliefweb.fetch_reports(
            self.fetcher,
            base_url=spec.url,
            appname=appname,
            countries=countries,
            since=high_water,
            budget=budget,
            page_size=self.settings.reliefweb.page_size,
            max_pages=self.settings.reliefweb.max_pages,
            extra_filter=feed.query or None,
            feed_name=feed.name,
            now=self.clock(),
        )
        return _Retrieved(
            feed=feed,
            outcome=list(result.items),
            high_water=result.high_water,
            calls=result.calls,
            started=started,
        )

    def _budget(self, feed_name: str) -> reliefweb.CallBudget:
        today = self.clock().date().isoformat()
        with session_scope(self.engine) as session:
            row = session.exec(select(Feed).where(Feed.name == feed_name)).one()
            used = row.budget_calls if row.budget_day == today else 0
        return reliefweb.CallBudget(limit=self.settings.reliefweb.daily_budget, used=used)

    def _parse(self, retrieved: _Retrieved, parsers: Executor, future: Future[_Retrieved]) -> None:
        """Parse the fetched body on `parsers`; `future` gets the parsed result."""
        fetched = retrieved.outcome
        assert isinstance(fetched, Fetched)
        spec = feed_spec(retrieved.feed, self.settings)
        inner = parsers.submit(
            parse_and_prepare,
            spec,
            fetched.body,
            dict(fetched.headers),
            self.clock(),
            self._known.get(spec.name, frozenset()),
            self._thread_matcher,
        )

        def done(f: Future[list[Item | Prepared] | FeedError]) -> None:
            try:
                parsed = f.result()
            except Exception as exc:
                parsed = FeedError(f"parser crashed: {exc!r}", url=spec.url)
            future.set_result(
                _Retrieved(
                    feed=retrieved.feed,
                    outcome=parsed,
                    started=retrieved.started,
                    fetched=fetched,
                )
            )

        inner.add_done_callback(done)

    def warm_up(self) -> None:
        """Have every parser ready now rather than on the first poll."""
        self._pool()

    def _pool(self) -> Executor:
        if self._parse_pool is None:  # closed: a poll after `close` starts them again
            self._parse_pool = start_workers(
                self.writer.matcher, self.settings.polling.parse_workers
            )
        return self._parse_pool

    def _store_unchanged(self, batch: list[_Retrieved]) -> list[FeedOutcome]:
        """Record unchanged feeds (304 or same body): two statements for the batch."""
        if not batch:
            return []
        now = self.clock()
        c = _FEEDS.c
        with session_scope(self.engine) as session:
            owners = dict(
                session.execute(
                    core_select(c.name, c.lease_owner)
                    .where(c.name.in_([r.feed.name for r in batch]))
                    .order_by(c.id)
                    .with_for_update()
                ).all()
            )
            results, mine = [], []
            for retrieved in batch:
                name, outcome = retrieved.feed.name, retrieved.outcome
                assert isinstance(outcome, NotModified)
                owner = owners.get(name)
                if owner not in (None, self.owner):
                    log.warning("event=lease_lost feed=%r owner=%s", name, owner)
                    results.append(FeedOutcome(feed=name, status="error", error="lease lost"))
                    continue
                results.append(FeedOutcome(feed=name, status="not_modified"))
                mine.append(
                    {
                        "b_name": name,
                        "b_status": f"not_modified:{outcome.reason}",
                        "b_next": now + retrieved.feed.interval,
                        "b_etag": outcome.etag,
                        "b_modified": outcome.last_modified,
                    }
                )
            if mine:
                session.execute(_UNCHANGED.values(last_success_at=now), mine)
        return [self._finish(r, result) for r, result in zip(batch, results, strict=True)]

    def _store(self, batch: list[_Retrieved]) -> list[FeedOutcome]:
        """Store feeds' items or errors, all in one transaction."""
        now = self.clock()
        results: dict[str, FeedOutcome] = {}
        with session_scope(self.engine) as session:
            rows = {
                row.name: row
                for row in session.exec(
                    select(Feed)
                    .where(col(Feed.name).in_([r.feed.name for r in batch]))
                    .order_by(col(Feed.id))
                    .with_for_update()
                ).all()
            }
            writes = []
            for retrieved in batch:
                feed, outcome, row = retrieved.feed, retrieved.outcome, rows[retrieved.feed.name]
                if row.lease_owner not in (None, self.owner):
                    # our lease ran out mid-poll and another instance took the feed: it stores
                    log.warning("event=lease_lost feed=%r owner=%s", feed.name, row.lease_owner)
                    results[feed.name] = FeedOutcome(
                        feed=feed.name, status="error", error="lease lost"
                    )
                    continue
                if isinstance(outcome, FeedError):
                    results[feed.name] = self._record_failure(row, feed, outcome, now)
                elif isinstance(outcome, list):
                    writes.append((retrieved, row, outcome))
                else:  # a Fetched body goes through the parser, a NotModified to _store_unchanged
                    raise TypeError(f"unexpected outcome for feed {feed.name!r}: {type(outcome)}")
                row.lease_owner = None
                row.lease_expires_at = None
            parts = [
                FeedItems(feed=r.feed, feed_id=row.id or 0, items=items) for r, row, items in writes
            ]
            for (retrieved, row, items), stats in zip(
                writes, self.writer.write(session, parts, now=now), strict=True
            ):
                results[row.name] = self._stored(retrieved, row, items, stats, now)
        return [self._finish(r, results[r.feed.name]) for r in batch]

    def _stored(
        self,
        retrieved: _Retrieved,
        row: Feed,
        items: list[Item] | list[Item | Prepared],
        stats: WriteStats,
        now: datetime,
    ) -> FeedOutcome:
        """Record a feed's successful poll on its row."""
        feed = retrieved.feed
        self._record_success(row, feed, now, status="ok")
        fetched = retrieved.fetched
        if fetched is not None:
            row.etag, row.last_modified = fetched.etag, fetched.last_modified
            row.body_hash = fetched.body_hash
            self._known[feed.name] = frozenset(guid_of(entry) for entry in items)
        if feed.kind == "reliefweb":
            self._record_reliefweb(row, retrieved, now)
        return FeedOutcome(
            feed=feed.name,
            status="ok",
            new_items=stats.new_items,
            matches=stats.matches,
            alerts=stats.alerts,
        )

    def _finish(self, retrieved: _Retrieved, result: FeedOutcome) -> FeedOutcome:
        feed = retrieved.feed
        seconds = time.monotonic() - retrieved.started
        result = dataclasses.replace(result, seconds=round(seconds, 3))
        self.metrics.record_poll(
            feed=feed.name,
            status=result.status,
            new_items=result.new_items,
            matches=result.matches,
            alerts=result.alerts,
        )
        log.info(
            "event=poll feed=%r status=%s new_items=%d matches=%d alerts=%d duration_ms=%d%s",
            feed.name,
            result.status,
            result.new_items,
            result.matches,
            result.alerts,
            seconds * 1000,
            f" error={result.error!r}" if result.error else "",
        )
        return result

    def _record_success(self, row: Feed, feed: FeedSettings, now: datetime, *, status: str) -> None:
        row.last_status = status
        row.last_success_at = now
        row.consecutive_failures = 0
        row.next_poll_at = now + feed.interval

    def _record_failure(
        self, row: Feed, feed: FeedSettings, error: FeedError, now: datetime
    ) -> FeedOutcome:
        row.consecutive_failures += 1
        row.last_status = "error"
        row.last_error = str(error)[:2000]
        row.last_error_at = now
        row.next_poll_at = next_poll(
            now=now,
            interval=feed.interval,
            failures=row.consecutive_failures,
            base=self.settings.polling.backoff_base,
            cap=self.settings.polling.backoff_max,
        )
        return FeedOutcome(feed=feed.name, status="error", error=str(error))

    def _record_reliefweb(self, row: Feed, retrieved: _Retrieved, now: datetime) -> None:
        today = now.date().isoformat()
        used = row.budget_calls if row.budget_day == today else 0
        row.budget_day, row.budget_calls = today, used + retrieved.calls
        if retrieved.high_water:
            row.high_water = retrieved.high_water


def _batches(ready: list[_Retrieved]) -> Iterator[list[_Retrieved]]:
    """`ready` in batches of about `STORE_BATCH` items."""
    batch: list[_Retrieved] = []
    items = 0
    for retrieved in ready:
        size = len(retrieved.outcome) if isinstance(retrieved.outcome, list) else 0
        if batch and items + size > STORE_BATCH:
            yield batch
            batch, items = [], 0
        batch.append(retrieved)
        items += size
    if batch:
        yield batch
