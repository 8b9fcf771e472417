"""The compiled matcher: one automaton for all situations and indicators, built per config."""

from __future__ import annotations

import gc
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.matching.context import CompiledVeto, compile_veto
from bot.matching.events import Event, Place, detect_events
from bot.matching.gazetteer import (
    actor_terms,
    blocker_terms,
    country_terms,
    forget_sources,
    place_terms,
    read_sources,
    situation_terms,
)
from bot.matching.geodata import geo_data
from bot.matching.language import SUPPORTED, item_language
from bot.matching.lexicon import Lexicon, event_lexicon
from bot.matching.model import Evidence, Factor, Field, MatchResult
from bot.matching.normalize import Normalized, normalize
from bot.matching.resolve import (
    Words,
    case_ok,
    context_ok,
    excluded,
    longest_first,
    near_enough,
    outlet_start,
    touching,
)
from bot.matching.russian import has_cyrillic, lemma_view
from bot.matching.scan import Hit, arabic_article_before, build_automaton, scan
from bot.matching.settings import IndicatorsSettings, MatchingSettings, SituationSpec
from bot.matching.taxonomy import Indicator, indicator_terms, resolve_indicators
from bot.matching.terms import Term
from feeds.model import Item

MAX_TITLE = 1_000  # characters of a title that are matched
MAX_SUMMARY = 5_000  # characters of a summary that are matched
MAX_HITS = 256  # names and terms read in one field: a real summary has a few dozen
_RESOLVED_KINDS = frozenset({"country", "place", "actor"})
_PLACE_KINDS = frozenset({"country", "place", "situation"})
_SHARED_KINDS = frozenset({"country", "place"})
_TOWN_KINDS = frozenset({"place", "situation"})


class _Field(NamedTuple):
    """One folded field and the hits kept in it (a named tuple: two are made per item)."""

    name: Field
    text: Normalized
    words: Words
    geo: Sequence[Hit]
    indicators: Sequence[Hit]
    excluded_slugs: AbstractSet[str]
    triggers: Sequence[Hit]  # words that may begin an event act (automaton prefilter)


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
    proximity: int = 0  # [indicators] proximity_words: events too must be near a place
    outlet_words: frozenset[str] = frozenset()  # geo.toml [outlets]: a headline's outlet name

    def match(self, item: Item) -> MatchResult:
        """Match one feed item (title, summary and its structured country tags)."""
        countries = item.countries + ((item.primary_country,) if item.primary_country else ())
        return self.match_text(
            title=item.title,
            summary=item.summary,
            countries=countries,
            language=item.language,
            located_only=True,
        )

    def match_text(
        self,
        *,
        title: str,
        summary: str = "",
        countries: Sequence[str] = (),
        language: str | None = None,
        located_only: bool = False,
    ) -> MatchResult:
        """Match raw text; `countries` are ISO alpha-3 tags carried by the source; `language`
        is the feed's (checked against the text's script, detected when absent). With
        `located_only`, an item that names no watched situation is not read further (nothing
        is stored or sent for it): most of a real stream, when a handful of situations are
        watched."""
        lang = item_language(language, title, summary)
        fields = [self._field("title", title)]
        if summary:
            fields.append(self._field("summary", summary))
        if lang in SUPPORTED:
            fields = [_without_act_words(f, lang) for f in fields]
        tags = tuple(dict.fromkeys(c.upper() for c in countries)) if countries else ()
        located = self._tag_evidence(tags) if tags else []
        lemmas = [self._lemma_field(f) for f in fields if has_cyrillic(f.text.original)]
        places = fields + lemmas
        if any(f.geo for f in places):
            located += self._geo_evidence(places, tags, read_twice=bool(lemmas))
        if located_only and not located:
            return self._result([], [], (), lang)
        events = self._events(fields, lang, {f.name: f for f in lemmas})
        title_located = bool(tags) or any(e.field == "title" for e in located)
        if self.proximity and events and not title_located:
            events = _near_places(events, fields, self.proximity)
        armed = _armed_actors(fields)
        if not events and not armed and not any(f.indicators for f in fields):
            return self._result(located, [], (), lang)
        indicated = armed + self._indicator_evidence(
            fields, located=title_located and bool(located), lang=lang
        )
        evidence = indicated + _event_evidence(events, indicated, fields)
        return self._result(located, evidence, events, lang)

    def _events(
        self, fields: Sequence[_Field], lang: str | None, lemmas: Mapping[str, _Field]
    ) -> tuple[Event, ...]:
        """Events in the item's language; when it is unknown, in each language whose act
        words the automaton found (the one that reads the strongest events wins). `lemmas`:
        each Cyrillic field read as lemmas, whose places ("по Белгороду") count too."""
        if lang in SUPPORTED:
            return self._events_in(fields, lang, lemmas)
        if lang is not None:
            return ()
        candidates = {k for f in fields for hit in f.triggers for k in hit.term.keys}
        readings = [self._events_in(fields, c, lemmas) for c in sorted(candidates)]
        return max(readings, key=_strength, default=())

    def _events_in(
        self, fields: Sequence[_Field], lang: str, lemmas: Mapping[str, _Field]
    ) -> tuple[Event, ...]:
        found: list[Event] = []
        lexicon = event_lexicon()
        for f in fields:
            if found and any(e.grade == "violation" for e in found):
                break  # the title reports the event; its summary tells the same story
            if not _act_may_start(f, lang, lexicon):
                continue  # no act starts in this field: nothing to look for
            read = [(f, h) for h in f.geo]
            if (lemma := lemmas.get(f.name)) is not None:
                read += [(lemma, h) for h in lemma.geo]
            places = list(
                dict.fromkeys(
                    Place(
                        *view.text.span(h.start, h.end),
                        town=h.term.kind in _TOWN_KINDS,
                        people=h.term.demonym,
                    )
                    for view, h in read
                    if h.term.kind != "block"
                )
            )
            found += detect_events(f.text.original, lang, field=f.name, places=places)
        return tuple(found)

    def _field(self, name: Field, raw: str) -> _Field:
        """A field, read up to its length limit: a headline's first MAX_TITLE characters, a
        summary's first MAX_SUMMARY (the rest of a 100 kB summary adds nothing but time)."""
        limit = MAX_TITLE if name == "title" else MAX_SUMMARY
        return self._read(name, normalize(raw[:limit]))

    def _lemma_field(self, field: _Field) -> _Field:
        """The field read as Russian lemmas, for place names in any case (geography only)."""
        view = self._read(field.name, lemma_view(field.text.original))
        return view._replace(indicators=())

    def _read(self, name: Field, text: Normalized) -> _Field:
        words = Words(text.text)
        hits = scan(self.automaton, text.text)[:MAX_HITS]
        if not hits:
            return _Field(name, text, words, (), (), _NOTHING, ())
        geo, indicators, excluded_slugs, triggers = _partition(hits, text)
        if geo:
            if name == "title":  # a headline's outlet places it only when nothing else does
                cut = outlet_start(text, self.outlet_words)
                geo = [h for h in geo if h.start < cut] or geo
            geo = longest_first(geo)
            vetoes = self.vetoes
            near = touching(geo)
            geo = [
                h for h in geo if context_ok(h, text=text, words=words, near=near, vetoes=vetoes)
            ]
        if indicators:
            found = longest_first(indicators)
            indicators = [h for h in found if not excluded(h, text=text.text, words=words)]
        return _new(_Field, (name, text, words, geo, indicators, excluded_slugs, triggers))

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

    def _slugs(
        self,
        hit: Hit,
        field: _Field,
        fields: Sequence[_Field],
        tags: Sequence[str],
        shared: Mapping[tuple[int, int, int], tuple[str, ...]],
    ) -> Sequence[str]:
        """The situations a geographic hit stands for (none for blockers)."""
        term = hit.term
        if term.kind == "situation":
            return term.keys
        if term.kind not in _RESOLVED_KINDS:
            return ()
        keys = shared.get((id(field), hit.start, hit.end), term.keys)
        if len(keys) == 1:
            return self.by_country.get(keys[0], ())
        countries = self._countries(keys, _certain(fields, tags, shared))
        if len(term.keys) == 1:  # one of several places of that name: this one, if it won
            countries = tuple(c for c in countries if c == term.keys[0])
        return [s for c in countries for s in self.by_country.get(c, ())]

    def _geo_evidence(
        self, fields: Sequence[_Field], tags: Sequence[str], *, read_twice: bool = False
    ) -> list[Evidence]:
        """Evidence for each named place, and for each actor whose acts happen at home (a
        non-state armed group, a legislature, a party: "Israel strikes Hezbollah" is also about
        Lebanon); any other actor (a leader, a government acting abroad) only when the item
        names neither (weaker evidence: "Trump threatens Iran" is about Iran)."""
        banned = _banned(fields)
        named = bool(tags) or any(
            h.term.kind in _PLACE_KINDS or h.term.at_home for f in fields for h in f.geo
        )
        shared = _shared(fields)
        by_country = self.by_country
        found = []
        for field in fields:
            for hit in field.geo:
                term = hit.term
                kind = term.kind
                if named and kind == "actor" and not term.at_home:
                    continue
                if not shared and kind in _RESOLVED_KINDS and len(term.keys) == 1:
                    slugs: Sequence[str] = by_country.get(term.keys[0], ())  # (`_slugs`, quick)
                else:
                    slugs = self._slugs(hit, field, fields, tags, shared)
                found += [_evidence("situation", s, hit, field) for s in slugs if s not in banned]
        # a name read twice (surface and lemmas) counts once
        return list(dict.fromkeys(found)) if read_twice else found

    def _indicator_evidence(
        self, fields: Sequence[_Field], *, located: bool, lang: str | None
    ) -> list[Evidence]:
        """Taxonomy terms of the item's language (of every language when it is unknown)."""
        out = []
        chosen = lang if lang in SUPPORTED else None
        for field in fields:
            if not field.indicators:
                continue
            places = [h for h in field.geo if h.term.kind != "block"]
            for hit in field.indicators:
                if chosen and hit.term.lang and hit.term.lang != chosen:
                    continue
                if hit.term.near and not (
                    located or near_enough(hit, words=field.words, places=places)
                ):
                    continue
                out.append(_evidence("indicator", hit.term.keys[0], hit, field))
        return out

    def _result(
        self,
        located: list[Evidence],
        indicated: list[Evidence],
        events: tuple[Event, ...],
        lang: str | None,
    ) -> MatchResult:
        if not located and not indicated:
            return _NO_MATCH if lang is None else MatchResult(language=lang)
        situations = _unique([e.key for e in located])
        indicators = _unique([e.key for e in indicated if e.key in self.factors])
        return MatchResult(
            situations=situations,
            indicators=indicators,
            evidence=(*located, *indicated),
            factors=tuple(map(self.factors.__getitem__, indicators)),
            situation_names=tuple(map(self.names.__getitem__, situations)),
            events=events,
            language=lang,
        )


_NOTHING: frozenset[str] = frozenset()
_new = tuple.__new__  # _Field(...) without the named tuple's Python-level __new__
_NO_MATCH = MatchResult()


def _certain(
    fields: Sequence[_Field],
    tags: Sequence[str],
    shared: Mapping[tuple[int, int, int], tuple[str, ...]],
) -> set[str]:
    """Countries named unambiguously anywhere in the item (made only for shared names)."""
    return set(tags) | {
        h.term.keys[0]
        for f in fields
        for h in f.geo
        if h.term.kind in _RESOLVED_KINDS
        and len(h.term.keys) == 1
        and (id(f), h.start, h.end) not in shared
    }


def _act_may_start(field: _Field, lang: str, lexicon: Lexicon) -> bool:
    """A word the automaton found as an act trigger of `lang` can begin an act entry."""
    text = field.text
    for hit in field.triggers:
        if lang in hit.term.keys:
            start, end = text.span(hit.start, hit.end)
            if lexicon.starts_act(text.original[start:end], lang):
                return True
    return False


def _without_act_words(field: _Field, lang: str) -> _Field:
    """A town named like a word of violence in the item's language is that word: "Mataram
    mais de 165 estudantes" (Portuguese: they killed) is not about Mataram, Indonesia."""
    if not any(h.term.kind == "place" for h in field.geo):
        return field
    lexicon = event_lexicon()
    text = field.text
    kept = [
        h
        for h in field.geo
        if h.term.kind != "place"
        or not lexicon.starts_act(text.original[slice(*text.span(h.start, h.end))], lang)
    ]
    return field._replace(geo=kept) if len(kept) < len(field.geo) else field


def _shared(fields: Sequence[_Field]) -> dict[tuple[int, int, int], tuple[str, ...]]:
    """Places of one name in several countries ("Kurdistan", "Córdoba"), found as one hit
    per country on the same span: span → all their countries, to settle like "Congo"."""
    keys: dict[tuple[int, int, int], tuple[str, ...]] = {}
    if sum(len(f.geo) for f in fields) < 2:
        return keys
    spans = [
        (id(f), h.start, h.end)
        for f in fields
        for h in f.geo
        if h.term.kind in _SHARED_KINDS and len(h.term.keys) == 1
    ]
    if len(set(spans)) == len(spans):
        return keys  # (the usual case: no span holds two names)
    for f in fields:
        for h in f.geo:
            if h.term.kind in _SHARED_KINDS and len(h.term.keys) == 1:
                span = (id(f), h.start, h.end)
                keys[span] = (*keys.get(span, ()), h.term.keys[0])
    return {span: _unique(k) for span, k in keys.items() if len(set(k)) > 1}


def _banned(fields: Sequence[_Field]) -> AbstractSet[str]:
    """Situations whose exclusion phrases matched somewhere in the item."""
    found = [f.excluded_slugs for f in fields if f.excluded_slugs]
    if len(found) < 2:
        return found[0] if found else _NOTHING
    return frozenset().union(*found)


def _partition(
    hits: Iterable[Hit], text: Normalized
) -> tuple[list[Hit], list[Hit], set[str], list[Hit]]:
    """Geographic hits written in the right case, indicator hits, the slugs whose exclusions
    matched, and event triggers. A place name inside an exclusion phrase names nothing
    ("Darfur United football" is not Darfur for any situation)."""
    geo: list[Hit] = []
    indicators: list[Hit] = []
    excluded_slugs: set[str] = set()
    exclusions: list[Hit] = []
    triggers: list[Hit] = []
    folded = text.text
    for hit in hits:
        term = hit.term
        kind = term.kind
        if kind == "indicator":
            indicators.append(hit)
        elif kind == "trigger":
            triggers.append(hit)
        elif kind == "situation-exclude":
            excluded_slugs.update(term.keys)
            exclusions.append(hit)
        elif (not (term.acronym or term.capital or term.named) or case_ok(hit, text)) and not (
            kind == "country" and _article_on_name(hit, folded)
        ):
            geo.append(hit)
    if exclusions:
        geo = [h for h in geo if not any(x.start <= h.start and h.end <= x.end for x in exclusions)]
    return geo, indicators, excluded_slugs, triggers


def _near_places(
    events: Sequence[Event], fields: Sequence[_Field], words: int
) -> tuple[Event, ...]:
    """With `[indicators] proximity_words`, an event counts within that many words of a place
    in its field, as an indicator term does (unless the title names the situation)."""
    kept = []
    for event in events:
        field = next(f for f in fields if f.name == event.field)
        places = [field.text.span(h.start, h.end) for h in field.geo if h.term.kind != "block"]
        text = field.text.original
        if any(_words_between(text, event, start, end) <= words for start, end in places):
            kept.append(event)
    return tuple(kept)


def _words_between(text: str, event: Event, start: int, end: int) -> int:
    low, high = (end, event.start) if end <= event.start else (event.end, start)
    return len(text[low:high].split()) if high > low else 0


_GRADES = {"violation": 2, "risk": 1}


def _strength(events: Sequence[Event]) -> tuple[int, int, int]:
    """How much a reading found: its best grade, its largest count, its number of events."""
    if not events:
        return (0, 0, 0)
    return (
        max(_GRADES[e.grade] for e in events),
        max((e.count or 0) for e in events),
        len(events),
    )


def _article_on_name(hit: Hit, folded: str) -> bool:
    """An Arabic country name read after the article is another word ("المالي" is "the
    financial", not Mali). Names that take the article spell it ("السودان"); towns do take it
    ("الخرطوم" for "خرطوم"), and so do demonyms ("الإيراني")."""
    return (
        hit.start > 0
        and hit.term.kind == "country"
        and not (hit.term.prefix or hit.term.demonym)
        and "\u0620" <= folded[hit.start] <= "\u064a"
        and arabic_article_before(folded, hit.start)
    )


def _event_evidence(
    events: Sequence[Event], indicated: Sequence[Evidence], fields: Sequence[_Field]
) -> list[Evidence]:
    """`indicator` evidence for the risk factors events map onto (codes not already found)."""
    known = {e.key for e in indicated}
    texts: dict[str, str] = {f.name: f.text.original for f in fields}
    out = []
    for event in events:
        for code in event.codes:
            if code not in known:
                known.add(code)
                out.append(
                    Evidence(
                        kind="indicator",
                        key=code,
                        term=f"event:{event.act}",
                        matched=texts[event.field][event.start : event.end],
                        field=event.field,  # type: ignore[arg-type]
                        start=event.start,
                        end=event.end,
                        language="",
                    )
                )
    return out


def _unique(keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def _armed_actors(fields: Sequence[_Field]) -> list[Evidence]:
    """Risk-factor evidence of the actors named that are one (a non-state armed group named,
    "Al-Shabaab takeover of Baidoa", is EE7, non-state armed actors)."""
    return [
        _evidence("indicator", h.term.indicator, h, f)
        for f in fields
        for h in f.geo
        if h.term.indicator
    ]


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


def trigger_terms() -> Iterator[Term]:
    """The prefixes that event acts begin with, per language (bot/matching/lexicon.py)."""
    lexicon = event_lexicon()
    for lang in lexicon.languages():
        for prefix in lexicon.act_triggers(lang):
            yield Term(kind="trigger", keys=(lang,), text=prefix + "*", lang=lang, prefix=True)


def _by_country(situations: Sequence[SituationSpec]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for spec in situations:
        for code in spec.countries:
            out[code.upper()].append(spec.slug)
    return {code: tuple(slugs) for code, slugs in out.items()}


def _factors(indicators: Sequence[Indicator]) -> dict[str, Factor]:
    return {i.code: Factor(code=i.code, short=i.short, weight=i.weight) for i in indicators}


# One sentence a language: reading them loads each language's morphology (simplemma, pymorphy3,
# the number readers) before the first feed item needs it.
WARM_UP = {
    "en": "Militia killed 12 civilians in a village near the town, witnesses said",
    "fr": "Des hommes armés ont tué douze civils dans un village du centre du pays",
    "es": "Hombres armados mataron a doce civiles en una aldea del norte del país",
    "pt": "Homens armados mataram doze civis numa aldeia do norte do país",
    "ar": "مقتل اثني عشر مدنيا في هجوم على قرية في شمال البلاد",
    "ru": "Боевики убили двенадцать мирных жителей в деревне на севере страны",
}


def settle(matcher: Matcher) -> None:
    """Ready a freshly built matcher for a long run: read a sentence in every language (and
    once with the language unknown), drop the sources only the build read
    (`gazetteer.forget_sources`), then move everything the process holds so far out of
    the cyclic garbage collector's reach (`gc.freeze`). The automaton's terms and the
    morphology dictionaries are hundreds of thousands of long-lived objects; without this
    every full collection walks them all again, which halves matching speed. Objects freed
    later by reference counting are still freed."""
    for lang, text in WARM_UP.items():
        matcher.match_text(title=text, language=lang)
        matcher.match_text(title=text)
    forget_sources()
    gc.collect()
    gc.freeze()


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
    read_sources(min_population=matching_settings.gazetteer_min_population)
    terms = itertools.chain(
        country_terms(),
        blocker_terms(),
        place_terms(by_country, min_population=matching_settings.gazetteer_min_population),
        actor_terms(by_country),
        trigger_terms(),
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
        proximity=indicators_settings.proximity_words,
        outlet_words=data.outlet_words,
    )
