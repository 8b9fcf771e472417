"""The compiled matcher: one automaton for all situations and indicators, built per config."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class _Field:
    name: Field
    text: Normalized
    words: Words
    geo: tuple[Hit, ...]
    indicators: tuple[Hit, ...]
    excluded_slugs: frozenset[str]


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
        tags = tuple(dict.fromkeys(c.upper() for c in countries))
        evidence = self._tag_evidence(tags) + self._geo_evidence(fields, tags)
        located = {e.key for e in evidence}
        title_located = bool(tags) or any(e.field == "title" for e in evidence)
        evidence += self._indicator_evidence(fields, located=located, title=title_located)
        return self._result(evidence)

    def _field(self, name: Field, raw: str) -> _Field:
        text = normalize(raw)
        words = Words(text.text)
        geo_hits, indicator_hits, excluded_slugs = _partition(scan(self.automaton, text.text))
        geo = longest_first([h for h in geo_hits if case_ok(h, text)])
        geo = [h for h in geo if context_ok(h, text=text, words=words, geo=geo, vetoes=self.vetoes)]
        found = longest_first(indicator_hits)
        indicators = [h for h in found if not excluded(h, text=text.text, words=words)]
        return _Field(
            name=name,
            text=text,
            words=words,
            geo=tuple(geo),
            indicators=tuple(indicators),
            excluded_slugs=frozenset(excluded_slugs),
        )

    def _tag_evidence(self, tags: Sequence[str]) -> tuple[Evidence, ...]:
        return tuple(
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
        )

    def _countries(self, hit: Hit, certain: set[str]) -> tuple[str, ...]:
        """The countries a hit names; a shared name ("Congo") is settled by other evidence."""
        keys = hit.term.keys
        if len(keys) < 2:
            return keys
        if settled := tuple(k for k in keys if k in certain):
            return settled
        return tuple(k for k in keys if self.prefer.get(k) not in keys)

    def _slugs(self, hit: Hit, certain: set[str]) -> tuple[str, ...]:
        if hit.term.kind == "situation":
            return hit.term.keys
        if hit.term.kind not in _RESOLVED_KINDS:
            return ()
        countries = self._countries(hit, certain)
        return tuple(s for c in countries for s in self.by_country.get(c, ()))

    def _geo_evidence(self, fields: Sequence[_Field], tags: Sequence[str]) -> tuple[Evidence, ...]:
        certain = set(tags) | {
            h.term.keys[0]
            for f in fields
            for h in f.geo
            if h.term.kind in _RESOLVED_KINDS and len(h.term.keys) == 1
        }
        banned = frozenset().union(*(f.excluded_slugs for f in fields))
        return tuple(
            _evidence("situation", slug, hit, field)
            for field in fields
            for hit in field.geo
            for slug in self._slugs(hit, certain)
            if slug not in banned
        )

    def _indicator_evidence(
        self, fields: Sequence[_Field], *, located: set[str], title: bool
    ) -> tuple[Evidence, ...]:
        out = []
        for field in fields:
            places = [h for h in field.geo if h.term.kind != "block"]
            for hit in field.indicators:
                if hit.term.near and not (
                    (title and located) or near_enough(hit, words=field.words, places=places)
                ):
                    continue
                out.append(_evidence("indicator", hit.term.keys[0], hit, field))
        return tuple(out)

    def _result(self, evidence: tuple[Evidence, ...]) -> MatchResult:
        situations = _unique(e.key for e in evidence if e.kind == "situation")
        indicators = _unique(e.key for e in evidence if e.kind == "indicator")
        names = self.names
        return MatchResult(
            situations=situations,
            indicators=indicators,
            evidence=evidence,
            factors=tuple(self.factors[c] for c in indicators),
            situation_names=tuple(names[s] for s in situations),
        )


def _partition(hits: Iterable[Hit]) -> tuple[list[Hit], list[Hit], set[str]]:
    """Geographic hits, indicator hits, and the slugs whose exclusions matched."""
    geo: list[Hit] = []
    indicators: list[Hit] = []
    excluded_slugs: set[str] = set()
    for hit in hits:
        kind = hit.term.kind
        if kind == "indicator":
            indicators.append(hit)
        elif kind == "situation-exclude":
            excluded_slugs.update(hit.term.keys)
        else:
            geo.append(hit)
    return geo, indicators, excluded_slugs


def _unique(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def _evidence(kind: Any, key: str, hit: Hit, field: _Field) -> Evidence:
    start, end = field.text.span(hit.start, hit.end)
    return Evidence(
        kind=kind,
        key=key,
        term=hit.term.text,
        matched=field.text.original[start:end],
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
