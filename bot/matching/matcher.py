"""The compiled matcher: one automaton for all situations and indicators, built per config."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.matching.context import CompiledVeto, compile_veto
from bot.matching.gazetteer import blocker_terms, country_terms, place_terms, situation_terms
from bot.matching.geodata import geo_data
from bot.matching.model import Evidence, Factor, Field, MatchResult
from bot.matching.normalize import Normalized, normalize
from bot.matching.resolve import Words, case_ok, context_ok, excluded, longest_first, near_enough
from bot.matching.scan import Hit, build_automaton, scan
from bot.matching.settings import IndicatorsSettings, MatchingSettings, SituationSpec
from bot.matching.taxonomy import Indicator, indicator_terms, resolve_indicators
from feeds.model import Item

_RESOLVED_KINDS = frozenset({"country", "place"})


class _Field(NamedTuple):
    """One folded field and the hits kept in it (a named tuple: two are made per item)."""

    name: Field
    text: Normalized
    words: Words
    geo: Sequence[Hit]
    indicators: Sequence[Hit]
    excluded_slugs: AbstractSet[str]


@dataclass(frozen=True, kw_only=True)
class Matcher:
    """Situations × indicators, compiled. Build with `build_matcher`; reuse for every item."""

    automaton: Any
    situations: tuple[SituationSpec, ...]
    by_country: Mapping[str, tuple[str, ...]]
    factors: Mapping[str, Factor]
    vetoes: Mapping[str, CompiledVeto]  # folded term → its veto
    prefer: Mapping[str, str]
    pattern_count: int
    names: Mapping[str, str]

    def match(self, item: Item) -> MatchResult:
        """Match one feed item (title, summary and its structured country tags)."""
        countries = item.countries + ((item.primary_country,) if item.primary_country else ())
        return self.match_text(title=item.title, summary=item.summary, countries=countries)

    def match_text(
        self, *, title: str, summary: str = "", countries: Sequence[str] = ()
    ) -> MatchResult:
        """Match raw text; `countries` are ISO alpha-3 tags carried by the source."""
        fields = [self._field("title", title)]
        if summary:
            fields.append(self._field("summary", summary))
        tags = tuple(dict.fromkeys(c.upper() for c in countries)) if countries else ()
        located = self._tag_evidence(tags) if tags else []
        geo = indicators = False
        for f in fields:
            geo = geo or bool(f.geo)
            indicators = indicators or bool(f.indicators)
        if geo:
            located += self._geo_evidence(fields, tags)
        if not indicators:
            return self._result(located, [])
        title_located = bool(tags) or any(e.field == "title" for e in located)
        indicated = self._indicator_evidence(fields, located=title_located and bool(located))
        return self._result(located, indicated)

    def _field(self, name: Field, raw: str) -> _Field:
        text = normalize(raw)
        words = Words(text.text)
        hits = scan(self.automaton, text.text)
        if not hits:
            return _Field(name, text, words, (), (), _NOTHING)
        geo, indicators, excluded_slugs = _partition(hits, text)
        if geo:
            geo = longest_first(geo)
            vetoes = self.vetoes
            geo = [h for h in geo if context_ok(h, text=text, words=words, geo=geo, vetoes=vetoes)]
        if indicators:
            found = longest_first(indicators)
            indicators = [h for h in found if not excluded(h, text=text.text, words=words)]
        return _Field(name, text, words, geo, indicators, excluded_slugs)

    def _tag_evidence(self, tags: Sequence[str]) -> list[Evidence]:
        return [
            Evidence(
                kind="situation",
                key=slug,
                term=code,
                matched=code,
                field="tags",
                start=index,
                end=index + 1,
                language="",
            )
            for index, code in enumerate(tags)
            for slug in self.by_country.get(code, ())
        ]

    def _countries(self, keys: tuple[str, ...], certain: AbstractSet[str]) -> tuple[str, ...]:
        """The countries a shared name ("Congo") stands for, settled by other evidence."""
        if settled := tuple(k for k in keys if k in certain):
            return settled
        return tuple(k for k in keys if self.prefer.get(k) not in keys)

    def _slugs(self, hit: Hit, fields: Sequence[_Field], tags: Sequence[str]) -> Sequence[str]:
        """The situations a geographic hit stands for (none for blockers)."""
        term = hit.term
        if term.kind == "situation":
            return term.keys
        if term.kind not in _RESOLVED_KINDS:
            return ()
        keys = term.keys
        if len(keys) == 1:
            return self.by_country.get(keys[0], ())
        countries = self._countries(keys, _certain(fields, tags))
        return [s for c in countries for s in self.by_country.get(c, ())]

    def _geo_evidence(self, fields: Sequence[_Field], tags: Sequence[str]) -> list[Evidence]:
        banned = _banned(fields)
        return [
            _evidence("situation", slug, hit, field)
            for field in fields
            for hit in field.geo
            for slug in self._slugs(hit, fields, tags)
            if slug not in banned
        ]

    def _indicator_evidence(self, fields: Sequence[_Field], *, located: bool) -> list[Evidence]:
        out = []
        for field in fields:
            places = [h for h in field.geo if h.term.kind != "block"]
            for hit in field.indicators:
                if hit.term.near and not (
                    located or near_enough(hit, words=field.words, places=places)
                ):
                    continue
                out.append(_evidence("indicator", hit.term.keys[0], hit, field))
        return out

    def _result(self, located: list[Evidence], indicated: list[Evidence]) -> MatchResult:
        if not located and not indicated:
            return _NO_MATCH
        situations = _unique([e.key for e in located])
        indicators = _unique([e.key for e in indicated])
        return MatchResult(
            situations=situations,
            indicators=indicators,
            evidence=(*located, *indicated),
            factors=tuple(map(self.factors.__getitem__, indicators)),
            situation_names=tuple(map(self.names.__getitem__, situations)),
        )


_NOTHING: frozenset[str] = frozenset()
_NO_MATCH = MatchResult()


def _certain(fields: Sequence[_Field], tags: Sequence[str]) -> set[str]:
    """Countries named unambiguously anywhere in the item (made only for shared names)."""
    return set(tags) | {
        h.term.keys[0]
        for f in fields
        for h in f.geo
        if h.term.kind in _RESOLVED_KINDS and len(h.term.keys) == 1
    }


def _banned(fields: Sequence[_Field]) -> AbstractSet[str]:
    """Situations whose exclusion phrases matched somewhere in the item."""
    found = [f.excluded_slugs for f in fields if f.excluded_slugs]
    if len(found) < 2:
        return found[0] if found else _NOTHING
    return frozenset().union(*found)


def _partition(hits: Iterable[Hit], text: Normalized) -> tuple[list[Hit], list[Hit], set[str]]:
    """Geographic hits written in the right case, indicator hits, and the slugs whose
    exclusions matched."""
    geo: list[Hit] = []
    indicators: list[Hit] = []
    excluded_slugs: set[str] = set()
    for hit in hits:
        kind = hit.term.kind
        if kind == "indicator":
            indicators.append(hit)
        elif kind == "situation-exclude":
            excluded_slugs.update(hit.term.keys)
        elif case_ok(hit, text):
            geo.append(hit)
    return geo, indicators, excluded_slugs


def _unique(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def _evidence(kind: Any, key: str, hit: Hit, field: _Field) -> Evidence:
    text = field.text
    start, end = text.span(hit.start, hit.end)
    return Evidence(
        kind=kind,
        key=key,
        term=hit.term.text,
        matched=text.original[start:end],
        field=field.name,
        start=start,
        end=end,
        language=hit.term.lang,
    )


def _by_country(situations: Sequence[SituationSpec]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for spec in situations:
        for code in spec.countries:
            out[code.upper()].append(spec.slug)
    return {code: tuple(slugs) for code, slugs in out.items()}


def _factors(indicators: Sequence[Indicator]) -> dict[str, Factor]:
    return {i.code: Factor(code=i.code, short=i.short, weight=i.weight) for i in indicators}


def build_matcher(
    situations: Sequence[SituationSpec],
    indicators_settings: IndicatorsSettings | None = None,
    matching_settings: MatchingSettings | None = None,
) -> Matcher:
    """Compile situations and the configured indicator taxonomy into one `Matcher`."""
    indicators_settings = indicators_settings or IndicatorsSettings()
    matching_settings = matching_settings or MatchingSettings()
    indicators = resolve_indicators(indicators_settings)
    by_country = _by_country(situations)
    terms = itertools.chain(
        country_terms(),
        blocker_terms(),
        place_terms(by_country, min_population=matching_settings.gazetteer_min_population),
        itertools.chain.from_iterable(situation_terms(s) for s in situations),
        indicator_terms(
            indicators,
            proximity_words=indicators_settings.proximity_words,
            exclusion_window=matching_settings.exclusion_window,
        ),
    )
    automaton, pattern_count = build_automaton(terms)
    data = geo_data()
    return Matcher(
        automaton=automaton,
        situations=tuple(situations),
        by_country=by_country,
        factors=_factors(indicators),
        vetoes={v.term: compile_veto(v) for v in data.vetoes},
        prefer=data.prefer,
        pattern_count=pattern_count,
        names={s.slug: s.name for s in situations},
    )
