"""Parse workers: a feed's body → its items, each new one prepared (language, story key, match).

Parsing and matching are CPU-bound, so they run beside the storing thread, on
`[polling] parse_workers` processes. The processes are forked once the matcher is built and
settled (`bot.matching.matcher.settle` froze it out of the garbage collector's reach), so each
inherits it instead of importing and building its own: its pages stay shared with the parent.
They are forked when the poller is made, before the instance starts its threads. With
`parse_workers = 0` the same work runs on one thread of the instance.

Items whose guid the poller saw in the feed's previous body (`known`) are only parsed: they are
stored already, and the writer prepares any it finds new after all (`bot.ingest.ItemWriter`).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Collection, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime

from bot.ingest import Prepared, prepare
from bot.matching.matcher import Matcher
from bot.memory import trim
from feeds.errors import FeedError
from feeds.model import FeedSpec, Item
from feeds.rss import parse_items

_matcher: Matcher | None = None  # a worker process's matcher, inherited from its parent


def _install(matcher: Matcher) -> None:
    """Worker initializer: keep the matcher the fork handed over (never pickled)."""
    global _matcher
    _matcher = matcher


def parse_and_prepare(
    spec: FeedSpec,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    known: Collection[str] = (),
    matcher: Matcher | None = None,
) -> list[Item | Prepared] | FeedError:
    """The feed's items, those not `known` prepared; or the feed's own error as a value.
    `matcher`: the one to use on a thread; a worker process uses the one it inherited."""
    parsed = parse_items(spec, body, headers, now)
    matcher = matcher or _matcher
    if isinstance(parsed, FeedError):
        return parsed
    if matcher is None:  # a process pool not started by `start_workers`
        return list(parsed)
    return [item if item.guid in known else prepare(item, matcher) for item in parsed]


def start_workers(matcher: Matcher, workers: int) -> Executor:
    """`workers` processes forked now (0: one thread), each holding `matcher`."""
    if workers == 0:
        trim()  # what building the matcher freed
        return ThreadPoolExecutor(1, thread_name_prefix="parse")
    gc.collect()  # (garbage frozen now would never be collected)
    gc.freeze()  # what the process made since `settle` stays out of the collector's way too
    trim()  # free pages kept now would be shared, then copied when either process reuses them
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_install, initargs=(matcher,)
    )
    pool.submit(int).result()  # a fork pool starts all its processes at the first task
    return pool
