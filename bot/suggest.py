"""Configuration changes suggested by the votes, each measured by a backtest on stored items.

    candidates = propose(report, votes, texts=…, settings=…, matcher=…)   # pure
    suggestions = keep(measure(engine, settings, candidates, votes=…, since=…), limit=…)

The rule (README, "Learning from feedback"): only a rule with at least `[feedback] min_votes`
votes and a precision under `[feedback] suggest_below` gets a candidate change:
- a matched term → an exclusion for its risk factor: the phrase (the term with the word
  before or after it) found in the most not-relevant reports, in at least two of them, and in
  none of the reports voted relevant (`[[indicators.extra]] code = … exclude = […]`);
- a risk factor → half its weight (`[indicators] weights`);
- a feed → one tier lower (`[[feeds]] tier`, at most 3).
Every candidate is replayed over the stored items since `since` beside the current
configuration, in one pass (`bot.backtest.replay` with variants: the very assessment ingestion
runs). An alert it changes is an item × situation that alerted and would no longer alert or
would get another severity. A candidate becomes a suggestion only when it changes at least one
alert and more of the changed alerts were voted not relevant than relevant; the suggestions
with the largest such margin come first, at most `limit`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.backtest import Variant, replay
from bot.config import Settings
from bot.matching.matcher import Matcher
from bot.matching.normalize import fold
from bot.matching.settings import IndicatorDef
from bot.matching.setup import matcher_from_settings
from bot.precision import PrecisionReport, RuleStat, Vote, term_key
from bot.store.db import session_scope
from bot.store.tables import Item

MIN_PHRASE_REPORTS = 2
CANDIDATES_PER_SUGGESTION = 3
LOWEST_TIER = 3
_WORD_BEFORE = re.compile(r"(\w[\w'’-]*)\W*$")
_WORD_AFTER = re.compile(r"^\W*(\w[\w'’-]*)")
AlertKey = tuple[int, str]  # item id, situation


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One change to try: what it is, why, the TOML to paste, and the changed settings."""

    kind: str  # "exclusion", "weight", "tier"
    rule: RuleStat
    toml: str
    variant: Variant


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    kind: str
    rule: RuleStat
    toml: str
    changed: int  # past alerts the change would have changed
    dropped: int  # … of which would no longer have alerted
    not_relevant: int  # changed alerts whose votes were mostly "not relevant"
    relevant: int  # … mostly "relevant"


def propose(
    report: PrecisionReport,
    votes: Sequence[Vote],
    *,
    texts: Mapping[int, Mapping[str, str]],
    settings: Settings,
    matcher: Matcher,
    limit: int | None = None,
) -> list[Candidate]:
    """A candidate change for every flagged rule that has one, worst rule first, each change
    once, at most `limit` (see the module docstring)."""
    out: list[Candidate] = []
    for rule in report.flagged(below=settings.feedback.suggest_below):
        if limit is not None and len(out) >= limit:
            break
        candidate = None
        if rule.dimension == "term":
            candidate = _exclusion(rule, votes, texts=texts, settings=settings, matcher=matcher)
        elif rule.dimension == "indicator" and rule.key in matcher.factors:
            candidate = _weight(rule, settings=settings, current=matcher.factors[rule.key].weight)
        elif rule.dimension == "feed":
            candidate = _tier(rule, settings=settings)
        if candidate is not None and all(c.toml != candidate.toml for c in out):
            out.append(candidate)
    return out


def _exclusion(
    rule: RuleStat,
    votes: Sequence[Vote],
    *,
    texts: Mapping[int, Mapping[str, str]],
    settings: Settings,
    matcher: Matcher,
) -> Candidate | None:
    """None when no phrase qualifies, or the term's risk factor is no longer configured."""
    with_term = [v for v in votes if rule.key in v.keys.get("term", ())]
    code = next(
        str(t["key"])
        for v in with_term
        for t in v.evidence.get("terms") or []
        if term_key(t) == rule.key
    )
    phrase = exclusion_phrase(rule.key, with_term, texts=texts)
    if phrase is None or code not in matcher.factors:
        return None
    extra = IndicatorDef(code=code, exclude=[phrase])
    indicators = settings.indicators.model_copy(
        update={"extra": [*settings.indicators.extra, extra]}
    )
    changed = settings.model_copy(update={"indicators": indicators})
    toml = f'[[indicators.extra]]\ncode = "{code}"\nexclude = [{_quote(phrase)}]'
    return Candidate(
        kind="exclusion",
        rule=rule,
        toml=toml,
        variant=Variant(
            settings=changed, matcher=matcher_from_settings(changed), codes=frozenset({code})
        ),
    )


def exclusion_phrase(
    key: str, votes: Iterable[Vote], *, texts: Mapping[int, Mapping[str, str]]
) -> str | None:
    """The term of `key` with its neighbouring word, as written in the most not-relevant reports
    (at least MIN_PHRASE_REPORTS) and in no report voted relevant; None if there is none."""
    found: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    relevant_texts: list[str] = []
    for vote in votes:
        fields = texts.get(vote.item_id or 0, {})
        if vote.relevant:
            relevant_texts.append(fold(" ".join(fields.values())))
            continue
        phrases: dict[str, str] = {}
        for t in vote.evidence.get("terms") or []:
            if term_key(t) == key:
                for phrase in _neighbours(fields.get(str(t.get("field")), ""), t):
                    phrases.setdefault(fold(phrase), phrase)
        found.update(phrases.keys())
        for folded, phrase in phrases.items():
            spelled.setdefault(folded, phrase)
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    for folded, n in ranked:
        if n < MIN_PHRASE_REPORTS:
            break
        if not any(folded in text for text in relevant_texts):
            return spelled[folded]
    return None


def _neighbours(text: str, term: Mapping[str, object]) -> list[str]:
    """The matched words with the word before, and with the word after (as written)."""
    start, end = term.get("start"), term.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
        return []
    matched = text[start:end]
    out = []
    before = _WORD_BEFORE.search(text[:start])
    if before:
        out.append(f"{before.group(1)}{text[before.end(1) : start]}{matched}")
    after = _WORD_AFTER.search(text[end:])
    if after:
        out.append(f"{matched}{text[end : end + after.end(1)]}")
    return [" ".join(p.split()) for p in out]


def _weight(rule: RuleStat, *, settings: Settings, current: float) -> Candidate | None:
    lower = round(current / 2, 2)
    if lower <= 0 or lower == current:
        return None
    weights = {**settings.indicators.weights, rule.key: lower}
    indicators = settings.indicators.model_copy(update={"weights": weights})
    changed = settings.model_copy(update={"indicators": indicators})
    inline = ", ".join(f"{code} = {w}" for code, w in sorted(weights.items()))
    return Candidate(
        kind="weight",
        rule=rule,
        toml=f"[indicators]\nweights = {{ {inline} }}  # {rule.key} was {current}",
        variant=Variant(settings=changed, weights={rule.key: lower}),
    )


def _tier(rule: RuleStat, *, settings: Settings) -> Candidate | None:
    feed = settings.feed(rule.key)
    if feed is None or feed.tier >= LOWEST_TIER:
        return None
    tier = feed.tier + 1
    feeds = [
        f.model_copy(update={"tier": tier}) if f.name == feed.name else f for f in settings.feeds
    ]
    changed = settings.model_copy(update={"feeds": feeds})
    return Candidate(
        kind="tier",
        rule=rule,
        toml=f"[[feeds]]  # the table with name = {_quote(feed.name)}\n"
        f"tier = {tier}  # was {feed.tier}",
        variant=Variant(settings=changed),
    )


def _quote(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def measure(
    engine: Engine,
    settings: Settings,
    candidates: Sequence[Candidate],
    *,
    votes: Sequence[Vote],
    since: datetime,
    matcher: Matcher | None = None,
) -> list[Suggestion]:
    """Replay every candidate beside the current configuration, in one pass: what each would
    have changed, and how those alerts were voted (one entry per candidate, in order)."""
    if not candidates:
        return []
    changes: list[dict[AlertKey, bool]] = [{} for _ in candidates]  # alert → dropped?
    variants = [c.variant for c in candidates]
    for replayed in replay(engine, settings, since=since, matcher=matcher, variants=variants):
        before = {a.situation: a for a in replayed.assessments if a.alerting}
        for i, assessed in enumerate(replayed.variants):
            after = {a.situation: a for a in assessed}
            for slug, was in before.items():
                now = after.get(slug)
                if now is None or not now.alerting:
                    changes[i][replayed.item_id, slug] = True
                elif now.severity != was.severity:
                    changes[i][replayed.item_id, slug] = False
    verdicts = alert_verdicts(votes)
    return [
        _suggestion(c, changed, verdicts) for c, changed in zip(candidates, changes, strict=True)
    ]


def keep(measured: Iterable[Suggestion], *, limit: int) -> list[Suggestion]:
    """The measured changes worth suggesting: they change alerts, more of them voted not
    relevant than relevant; the largest margin first, at most `limit`."""
    kept = [s for s in measured if s.changed and s.not_relevant > s.relevant]
    kept.sort(key=lambda s: (s.relevant - s.not_relevant, s.changed, s.kind, s.rule.key))
    return kept[:limit]


def _suggestion(
    candidate: Candidate, changed: Mapping[AlertKey, bool], verdicts: Mapping[AlertKey, int]
) -> Suggestion:
    marks = [verdicts.get(key, 0) for key in changed]
    return Suggestion(
        kind=candidate.kind,
        rule=candidate.rule,
        toml=candidate.toml,
        changed=len(changed),
        dropped=sum(changed.values()),
        not_relevant=sum(1 for m in marks if m < 0),
        relevant=sum(1 for m in marks if m > 0),
    )


def alert_verdicts(votes: Iterable[Vote]) -> dict[AlertKey, int]:
    """Per item × situation: relevant votes minus not-relevant votes (> 0: mostly relevant)."""
    net: dict[AlertKey, int] = defaultdict(int)
    for vote in votes:
        if vote.item_id is not None:
            net[vote.item_id, vote.situation] += 1 if vote.relevant else -1
    return dict(net)


def load_texts(session: Session, item_ids: Iterable[int | None]) -> dict[int, dict[str, str]]:
    """Title and summary of the voted items (for exclusion phrases)."""
    ids = sorted({i for i in item_ids if i is not None})
    texts: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.exec(
            select(Item.id, Item.title, Item.summary).where(
                col(Item.id).in_(ids[start : start + 1000])
            )
        )
        for item_id, title, summary in rows:
            texts[item_id or 0] = {"title": title, "summary": summary}
    return texts


def suggest(
    engine: Engine,
    settings: Settings,
    report: PrecisionReport,
    votes: Sequence[Vote],
    *,
    since: datetime,
    matcher: Matcher | None = None,
) -> list[Suggestion]:
    """Candidates for the worst flagged rules (at most CANDIDATES_PER_SUGGESTION × the limit),
    replayed over the items stored since `since`; the suggestions that hold up."""
    limit = settings.feedback.max_suggestions
    if limit <= 0:
        return []
    matcher = matcher or matcher_from_settings(settings)
    flagged = report.flagged(below=settings.feedback.suggest_below)
    terms = {r.key for r in flagged if r.dimension == "term"}
    with session_scope(engine) as session:
        texts = load_texts(session, (v.item_id for v in votes if terms & set(v.keys["term"])))
    candidates = propose(
        report,
        votes,
        texts=texts,
        settings=settings,
        matcher=matcher,
        limit=CANDIDATES_PER_SUGGESTION * limit,
    )
    measured = measure(engine, settings, candidates, votes=votes, since=since, matcher=matcher)
    return keep(measured, limit=limit)
