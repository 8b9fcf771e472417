"""Events, not words: a harmful act against a victim or a protected target.

A headline reports an *event* when an act (kill, shell, abduct, expel, besiege, block aid …)
meets, in the same part of the headline, a victim recognisable as civilian or protected
(civilians, children, a named identity group, patients, aid workers, journalists …), a
protected or civilian target (hospital, school, place of worship, camp, aid convoy, homes,
market …), or a count of people killed. Word order does not matter, so active and passive
voice both count ("militia killed 12 civilians", "12 civilians killed", "civilians were
killed"). The lexicon and its classes are in data/events.toml.

    violation   the act reaches civilians or protected people or objects: an *event*; its
                severity follows `Event.severity` (README: "How events are detected")
    risk        armed violence without a civilian victim named (strikes on a city, soldiers or
                officials killed or wounded: RF1, RF8 for officials), or an act short of a
                violation (one aid worker or journalist detained: that class's factor) —
                evidence for a risk factor, never an event

Not events: an act negated or denied ("denies killing", "no casualties"), hedged or threatened
("could", "warns of", "to prevent"), in a commemoration, a film, a match or a court case, a
death from a natural disaster or an accident, and (for uncharacterised deaths) a markets story.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any, Literal

from bot.matching.context import is_title_case
from bot.matching.lexicon import Hit, Lexicon, event_lexicon
from bot.matching.morphology import Token, russian_parses, tokenize
from bot.matching.normalize import hyphen_joins
from bot.matching.numbers import Number, read_numbers

Grade = Literal["violation", "risk"]


@dataclass(frozen=True, slots=True)
class Place:
    """A place name found in the field (offsets into its original text); `town`: a town or
    region, not a whole country."""

    start: int
    end: int
    town: bool = False
    people: bool = False  # a demonym: "Palestinian killed" names a person


Severity = Literal["info", "watch", "warning", "critical"]

CIVILIAN_CLASSES = frozenset(
    {"civilian", "displaced", "child", "woman", "identity", "health", "aid", "press", "detainee"}
)
PROTECTED_PERSONS = frozenset({"health", "aid", "press", "detainee"})
POPULATION = frozenset({"civilian", "displaced", "child", "woman", "identity", "people"})
PROTECTED_TARGETS = frozenset({"health", "education", "worship", "shelter", "aid"})
COMBATANTS = frozenset({"military", "official"})
CLASS_CODES = {
    "health": ("RF13",),
    "detainee": ("RF13",),
    "education": ("RF13",),
    "aid": ("RF14",),
    "press": ("EE2",),
    "identity": ("RF9",),
    "shelter": ("EE4",),
    "heritage": ("RF13",),
}
_WINDOW = 8  # tokens either side of the act searched for its victims, targets and counts
MAX_CHARS = 2000  # of a field read for events: a headline, or the lead of a summary
_NEGATION_REACH = 2  # tokens before an act or a victim that a negation covers
_HEDGE_REACH = 4  # tokens before an act that a hedge covers
_HEDGE_AFTER = 2  # tokens after an act where "warning", "fears" … make it a risk
_AGENT_REACH = 3  # tokens after "by" that name the agent ("by Israeli troops")
_SHORT_FIELD = 30  # tokens: a field this short is one context (cues anywhere count)
_COUNT_GAP = 3  # tokens between a number and its victim noun ("50 of the villagers")
MASS_DETENTION = 50  # detained at once: mass detention, an event (fewer: a risk factor)
UNHARMED_KINDS = frozenset({"detention", "expulsion"})  # counts raise these to warning at most
COUNTED_ACTS = frozenset(
    {
        "lethal",
        "death",
        "injury",
        "atrocity",
        "abduction",
        "detention",
        "expulsion",
        "disappearance",
    }
)
_BOUNDARY = frozenset("|•;:!?")
_OUTLET_WORDS = 4  # words after a title's last spaced dash that may name its outlet
_DASHES = frozenset("-–—")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One act with what it reached, in one field; offsets are into the original field text."""

    act: str  # act id in the lexicon ("kill", "attack", …)
    kind: str
    grade: Grade
    codes: tuple[str, ...]
    field: str
    start: int
    end: int
    phrase: str  # the act as written, with its count when adjacent ("killed 12")
    victims: tuple[str, ...] = ()  # victim classes
    victim_words: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    target_words: tuple[str, ...] = ()
    perpetrator: str = ""
    count: int | None = None
    labels: tuple[str, ...] = ()
    grave: bool = False  # an atrocity by definition (massacre, genocide, ethnic cleansing)

    @property
    def protected(self) -> bool:
        return bool(set(self.targets) & PROTECTED_TARGETS or set(self.victims) & PROTECTED_PERSONS)

    def severity(self, *, mass_casualty: int = 10, critical_casualties: int = 100) -> Severity:
        """The severity of a violation before source tier and corroboration (a risk mention: info):

        critical  ≥ `critical_casualties` victims named as civilians or protected people, or
                  at a civilian or protected target (a bare toll, "700 dead", stays warning;
                  so do mass arrests and expulsions, whatever their number)
        warning   ≥ `mass_casualty` victims, a protected target or protected people (hospital,
                  school, place of worship, camp, aid, UN; health and aid workers, journalists,
                  detainees), or an atrocity by definition (massacre, genocide, ethnic cleansing)
        watch     any other act against civilians or civilian objects
        """
        if self.grade == "risk":
            return "info"
        count = self.count or 0
        characterised = bool(self.targets) or set(self.victims) != {"people"}
        if count >= critical_casualties and characterised and self.kind not in UNHARMED_KINDS:
            return "critical"
        if self.protected or self.grave or count >= mass_casualty:
            return "warning"
        return "watch"


@dataclass
class _Context:
    """One field, tokenised, with every lexicon hit and number in it."""

    text: str
    tokens: list[Token]
    hits: list[Hit]
    lang: str
    segments: list[int]
    places: Sequence[Place]
    short: bool = field(init=False)
    by_role: dict[str, list[Hit]] = field(init=False)

    def __post_init__(self) -> None:
        self.short = len(self.tokens) <= _SHORT_FIELD
        self.by_role: dict[str, list[Hit]] = {}
        for hit in self.hits:
            self.by_role.setdefault(hit.role, []).append(hit)

    @cached_property
    def collisions(self) -> frozenset[Hit]:
        """The acts a vehicle did in a crash (`_collision`), found once for every act that
        asks whether a collision explains it."""
        return frozenset(h for h in self.by_role.get("act", ()) if _collision(self, h))

    @cached_property
    def numbers(self) -> list[Number]:
        """Numbers and vague quantities, read when an act needs its count."""
        found = read_numbers(self.tokens, self.text, self.lang) + _quantity_numbers(self.hits)
        return sorted(found, key=lambda n: n.first)

    @cached_property
    def colon_pairs(self) -> list[tuple[int, int]]:
        """Neighbouring segments that only a colon separates ("Israel struck a beach: …")."""
        return [
            (self.segments[i - 1], self.segments[i])
            for i in range(1, len(self.tokens))
            if self.segments[i - 1] != self.segments[i]
            and self.text[self.tokens[i - 1].end : self.tokens[i].start].strip() == ":"
        ]

    @cached_property
    def document_head(self) -> bool:
        """The title opens with a document's name alone before a colon or a dash ("Map:
        Israeli strikes on Gaza schools", "Factbox - …"): all of it charts what happened."""
        heads = [h for h in self.by_role.get("cue", ()) if h.name in _DOCUMENTS and h.first == 0]
        return any(
            h.last + 1 < len(self.tokens) and self.segments[h.last + 1] != self.segments[h.last]
            for h in heads
        )

    def words(self, first: int, last: int) -> str:
        return self.text[self.tokens[first].start : self.tokens[last].end]

    def near(self, hit: Hit, role: str, *, before: int, after: int) -> list[Hit]:
        segments = self.segments
        seg = segments[hit.first]
        first, last = hit.first, hit.last
        low, high = first - before, last + after
        return [
            h
            for h in self.by_role.get(role, ())
            if low <= h.first <= high
            and segments[h.first] == seg
            and not (h.first <= last and first <= h.last)  # (no overlap)
        ]

    def in_context(self, hit: Hit, role: str, names: frozenset[str]) -> list[Hit]:
        """Hits of `role`/`names` in the act's segment (anywhere, for a short field)."""
        seg = self.segments[hit.first]
        return [
            h
            for h in self.by_role.get(role, ())
            if h.name in names
            and (self.segments[h.first] == seg or (self.short and self._same_headline(hit, h)))
            and not (hit.first <= h.first and h.last <= hit.last)  # (a cue may hold the act:
        ]  # "genocide case"; not be one of its words)

    def _same_headline(self, act: Hit, cue: Hit) -> bool:
        """Not across a " | " that appends a section or an outlet ("… | News, Sports, Jobs"),
        nor across the dash before an outlet's name that ends the title ("… – كتابات": a
        news site called "Writings", no book)."""
        low, high = sorted((act.last, cue.first))
        start, end = self.tokens[low].end, self.tokens[high].start
        if "|" in self.text[start:end]:
            return False
        tail = self.outlet_tail
        return tail is None or (act.first < tail) == (cue.first < tail)

    @cached_property
    def outlet_tail(self) -> int | None:
        """The first token of a title's last few words after a spaced dash (" – Kitabat",
        " - 710am KURV"): an outlet's name, by the shape of the title, unless an act is among
        them ("… amid US - Israel strikes on Iran")."""
        for i in range(len(self.tokens) - 1, max(0, len(self.tokens) - _OUTLET_WORDS) - 1, -1):
            gap = self.text[self.tokens[i - 1].end : self.tokens[i].start] if i else ""
            if gap.strip() in _DASHES and gap.startswith(" ") and gap.endswith(" "):
                acts = self.by_role.get("act", ())
                return None if any(h.last >= i for h in acts) else i
        return None


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.first <= b.last and b.first <= a.last


def _segments(text: str, tokens: Sequence[Token]) -> list[int]:
    """Segment number of each token: a new one after | ; : ! ? a spaced dash or a full stop
    (not the stop of an initial: "U.N. compound", "U.S. forces").

    A spaced hyphen is a word's own hyphen, spaced out by an aggregator, where a lowercase word
    or a number follows it ("mine - laying", "KC - 135") or a name particle precedes it
    ("al - Rai"); a dash before a capitalised word still ends the part ("… - World")."""
    out: list[int] = [0] if tokens else []
    segment = 0
    for previous, token in pairwise(tokens):
        between = text[previous.end : token.start]
        if between != " ":  # (most words are one space apart: no break)
            stripped = between.strip()
            if (
                any(ch in _BOUNDARY for ch in between)
                or (
                    stripped in _DASHES
                    and between != stripped
                    and not _hyphen(text, previous, token, stripped)
                )
                or (
                    stripped.endswith(".")
                    and between.endswith(" ")
                    and not (len(previous.text) == 1 and previous.text.isalpha())
                )
            ):
                segment += 1
        out.append(segment)
    return out


def _hyphen(text: str, before: Token, after: Token, dash: str) -> bool:
    """A spaced "-" that joins the words around it (see `_segments`)."""
    return dash == "-" and hyphen_joins(
        text[before.start : before.end], text[after.start : after.end]
    )


def _quantity_numbers(hits: Sequence[Hit]) -> list[Number]:
    return [Number(h.first, h.last, h.entry.value) for h in hits if h.role == "quantity"]


def detect_events(
    text: str,
    lang: str,
    *,
    field: str,
    places: Sequence[Place] = (),
    lexicon: Lexicon | None = None,
) -> list[Event]:
    """Events and risk mentions in one field of `lang` text (any supported language).

    Results are remembered for the last few thousand fields: a wire story's headline arrives
    from many feeds word for word.
    """
    if lexicon is None:
        return list(_detect_remembered(text, lang, field, tuple(places)))
    return _detect(text, lang, field=field, places=places, lexicon=lexicon)


@lru_cache(maxsize=4096)
def _detect_remembered(
    text: str, lang: str, field: str, places: tuple[Place, ...]
) -> tuple[Event, ...]:
    return tuple(_detect(text, lang, field=field, places=places, lexicon=event_lexicon()))


def _detect(
    text: str, lang: str, *, field: str, places: Sequence[Place], lexicon: Lexicon
) -> list[Event]:
    if lang not in lexicon.languages():
        return []
    tokens = tokenize(text[:MAX_CHARS], lang)
    hits = lexicon.find(tokens, lang)
    if not any(h.role == "act" for h in hits):
        return []
    if not text.isupper():  # "CAR" is the Central African Republic, not a car
        hits = [h for h in hits if not _acronym_target(tokens, h)]
    hits = [h for h in _owned_premises(tokens, hits) if not _hit_idiom(tokens, h)]
    ctx = _Context(text, tokens, hits, lang, _segments(text, tokens), places)
    found = []
    for act in (h for h in hits if h.role == "act"):
        event = _event(ctx, act, lexicon, field=field)
        if event is not None:
            found.append(event)
    return _strongest_per_span(found)


def _acronym_target(tokens: Sequence[Token], hit: Hit) -> bool:
    """A one-word target written in capitals in a title that is not: an acronym ("CAR")."""
    word = tokens[hit.first].text
    return hit.role == "target" and hit.first == hit.last and len(word) > 1 and word.isupper()


_DEGREES = frozenset({"hardest", "worst", "hard", "badly", "severely"})


def _hit_idiom(tokens: Sequence[Token], hit: Hit) -> bool:
    """ "Children hit hardest", "worst-hit areas", "hard hit": "hit" with a degree beside it
    says who suffers most, not who was attacked (an attack named beside it still counts:
    "town worst hit by shelling")."""
    if hit.role != "act" or hit.entry.text != "hit":
        return False
    beside = [tokens[i].text.lower() for i in (hit.first - 1, hit.last + 1) if 0 <= i < len(tokens)]
    return any(word in _DEGREES for word in beside)


_OWNERS = frozenset({"agency", "peacekeeping"})
_OWNER_BEFORE = 2  # tokens from an owner to its premises ("UN offices", "AU Force Headquarters")
_OWNER_AFTER = 3  # … from premises to the owner after "of" ("bureaux de l'ONU")
_OF = frozenset({"of", "de", "del", "des", "du", "da", "do", "das", "dos"})
_NAMES_A_BODY = frozenset({"for", "on", "pour", "para", "sur"})  # "UN Office for the Coordination…"


def _owned_premises(tokens: Sequence[Token], hits: list[Hit]) -> list[Hit]:
    """A base, an office, a vehicle … is a protected target (aid) when an aid organisation or
    a peacekeeping mission owns it: named right before it ("UN offices", "AMIS team site",
    "African Union Force Headquarters") or right after it ("офис ООН"), or after "of" ("base of
    UNAMID", "bureaux de l'ONU"). Anyone else's ("army base", "UN-backed government
    headquarters") is no target, nor a body named for its office ("UN Office for …")."""
    if not any(h.role == "target" and h.name == "premises" for h in hits):
        return hits
    owners = [h for h in hits if h.role == "qualifier" and h.name in _OWNERS]

    def owned(h: Hit) -> bool:
        after = h.last + 1
        if after < len(tokens) and tokens[after].text.lower() in _NAMES_A_BODY:
            return False
        linked = after < len(tokens) and tokens[after].text.lower() in _OF
        return any(
            0 < h.first - o.last <= _OWNER_BEFORE
            or o.first == after
            or (linked and after < o.first <= h.last + _OWNER_AFTER)
            for o in owners
        )

    return [
        Hit(h.first, h.last, replace(h.entry, name="aid")) if h.name == "premises" else h
        for h in hits
        if not (h.role == "target" and h.name == "premises") or owned(h)
    ]


_NOT_NOW = frozenset({"commemoration", "fiction", "sport", "legislation"})
_DOCUMENTS = frozenset({"document"})
_COURT = frozenset({"legal"})
# acts whose court case or complaint is evidence of a record of violations (RF2), not a report
_COURT_KINDS = frozenset(
    {"lethal", "death", "atrocity", "sexual", "torture", "abduction", "disappearance", "expulsion"}
)
_LABELS = frozenset({"label"})
_RANKS = frozenset({"ranks"})
_MANNER_CUES = frozenset({"disaster", "market", "war"})


def _cancelled(ctx: _Context, act: Hit) -> bool:
    """Negated, denied, or in a context that is not a report of violence now."""
    # one look at the cues around the act: a negation up to _NEGATION_REACH tokens before
    # it, a denial up to _HEDGE_REACH before
    for h in ctx.near(act, "cue", before=_HEDGE_REACH, after=0):
        if h.last < act.first:
            if h.name == "negation" and h.first >= act.first - _NEGATION_REACH:
                return True
            if h.name == "denial" and _reaches(ctx, h, act):
                return True
    cues = ctx.in_context(act, "cue", _NOT_NOW)
    if any(h.name != "sport" for h in cues):
        return True
    if cues and not _armed(ctx, act):
        return True  # "Iran beats Japan", not "grenade attack kills football fan"
    exceptions = ctx.near(act, "unless", before=_WINDOW, after=_WINDOW)
    # "workers strike" is no attack; "gunmen attack UNICEF workers" is
    return any(h.name == act.name and not _agency_staff(ctx, h) for h in exceptions)


def _armed(ctx: _Context, act: Hit) -> bool:
    """A weapon or an attacker no game has is named in the act's segment, the act's own word
    included ("football kids bombed")."""
    seg = ctx.segments[act.first]
    cues = ctx.by_role.get("cue", ())
    return any(h.name == "armed" and ctx.segments[h.first] == seg for h in cues)


_OBJECT_A = frozenset({"es", "pt"})
_POSSESSIVES = frozenset("his her their sa son ses su sus seu sua seus suas".split())


def _domestic(ctx: _Context, act: Hit) -> bool:
    """A person named right before the act does it to their own household, named right after
    ("Man kills wife", "Woman kills her three children", "Hombre mata a su pareja", "Мужчина
    убил жену"), and no weapon or force no household has is named: a crime at home, not an
    atrocity event."""
    if act.first == 0 or _armed(ctx, act):
        return False
    before = act.first - 1
    if not any(h.last == before and (h.role == "victim" or h.name == "kin") for h in ctx.hits):
        return False
    # the object right after the act (after the personal "a": "mata a su pareja", "mata a
    # esposa"); not after a preposition ("killed with his son" is passive)
    first = act.last + 1
    if first < len(ctx.tokens) and ctx.tokens[first].text.lower() == "a" and ctx.lang in _OBJECT_A:
        first += 1
    if first >= len(ctx.tokens) or ctx.segments[first] != ctx.segments[act.first]:
        return False
    if ctx.tokens[first].text.lower() in _POSSESSIVES:
        return True
    return any(h.name == "kin" and h.first == first for h in ctx.by_role.get("cue", ()))


def _agency_staff(ctx: _Context, hit: Hit) -> bool:
    """An exception word that names staff of an aid organisation ("UNICEF workers") or is part
    of a body's name ("union" in "African Union")."""
    if any(_overlaps(q, hit) for q in ctx.by_role.get("qualifier", ())):
        return True
    return any(v.first == hit.first for v in ctx.by_role.get("victim", ())) and _of_agency(ctx, hit)


def _hedged(ctx: _Context, act: Hit) -> bool:
    """Threatened, feared or possible, not done: a hedge up to _HEDGE_REACH tokens before the
    act ("could kill", "vows more attacks"), a hedge_after up to _HEDGE_AFTER after it ("strike
    threat"). (A call right before it, "calls for attacks", is `_called`.)"""
    for h in ctx.near(act, "cue", before=_HEDGE_REACH, after=_HEDGE_AFTER):
        if h.last < act.first:
            if h.name == "hedge" and _reaches(ctx, h, act) and not _perfect(ctx, h, act):
                return True
        elif h.name == "hedge_after" and h.first > act.last and not _feared_toll(ctx, h):
            return True
    return False


_TOLL_AFTER_FEAR = frozenset({"dead", "killed", "drowned", "trapped", "buried", "missing"})


def _feared_toll(ctx: _Context, fear: Hit) -> bool:
    """ "many feared dead": a toll feared already, not a threat ("strike, dozens feared
    dead")."""
    after = fear.last + 1
    return after < len(ctx.tokens) and ctx.tokens[after].text.lower() in _TOLL_AFTER_FEAR


def _named_for(ctx: _Context, act: Hit) -> bool:
    """A meeting, a museum or a memorial named right after the act ("genocide conference";
    "genocide in Darfur, conference told" reports one)."""
    return any(h.name == "about" for h in ctx.near(act, "cue", before=0, after=_ABOUT_REACH))


_ABOUT_REACH = 1  # "genocide conference", "Holocaust museum"


def _called(ctx: _Context, act: Hit) -> bool:
    """A call for the act is right before it (see `_called_for`)."""
    return any(
        h.name == "call" and h.last < act.first and _called_for(ctx, h, act)
        for h in ctx.near(act, "cue", before=_HEDGE_REACH, after=0)
    )


def _called_for(ctx: _Context, call: Hit, act: Hit) -> bool:
    """ "Calls for (more) attacks", "appelle à de nouvelles attaques": the act is what is asked
    for, right after the call but for an article or "more", "new" ("calls for release of
    kidnapped staff", "call for disarmament after massacre", "calls for kidnapped staff to be
    released" report the act)."""
    if ctx.lang == "en" and ctx.tokens[act.last].text.lower().endswith("ed"):
        return False  # a participle: "calls for kidnapped staff to be released"
    between = [t.text.lower() for t in ctx.tokens[call.last + 1 : act.first]]
    return len(between) <= _CALL_REACH and all(w in _CALLED_WORDS for w in between)


_CALL_REACH = 2
_CALLED_WORDS = frozenset(
    {"more", "new", "further", "fresh", "renewed", "the", "a", "an"}
    | {"de", "d", "des", "la", "le", "les", "l", "nouvelles", "nouveaux", "nouvelle", "plus"}
    | {"más", "nuevos", "nuevas", "los", "las", "el", "mais", "novos", "novas", "os", "as", "o"}
    | {"المزيد", "من"}
)


def _foiled(ctx: _Context, act: Hit, *, whole_clause: bool) -> bool:
    """Stopped before it did harm: "intercepts drones", "attack on a hospital foiled", "police
    foil kidnapping" (an attack anywhere in its part of the headline, another act only right
    next to the word that stopped it)."""
    reach = len(ctx.tokens) if whole_clause else _NEGATION_REACH
    return any(
        h.name == "foiled" and (h.last < act.first or h.first > act.last)
        for h in ctx.near(act, "cue", before=reach, after=reach)
    ) or (whole_clause and _disposed(ctx, act))


def _disposed(ctx: _Context, act: Hit) -> bool:
    """A weapon disposed of or found, not used (see events.toml [cues.disposal]): a disposal
    word before it, across at most two articles, numbers, demonyms or perpetrators ("defuse a
    bomb", "dismantle a terrorist ambush point"), or a disposal or discovery word as a
    participle right after it ("bomb defused", "bomb was found") and before a preposition of
    place or the end ("… near school", "… in refugee camp"; not "bomb destroyed homes")."""
    for cue in ctx.near(act, "cue", before=_DISPOSAL_REACH + 1, after=_DISPOSAL_REACH):
        if cue.name == "disposal" and cue.last < act.first:
            if all(_modifier(ctx, i) for i in range(cue.last + 1, act.first)):
                return True
        elif cue.name in _DISPOSAL and cue.first > act.last and _ordnance(ctx, act):
            between = [t.text.lower() for t in ctx.tokens[act.last + 1 : cue.first]]
            if all(w in _AUXILIARIES for w in between) and _placed_after(ctx, cue):
                return True
    return False


def _modifier(ctx: _Context, index: int) -> bool:
    """Token `index` is an article or a number word ("a", "une", "two"), a demonym, or names a
    perpetrator ("a terrorist ambush point")."""
    if ctx.tokens[index].text.lower() in _ARTICLES.get(ctx.lang, ()) or _demonym_at(ctx, index):
        return True
    return any(h.role == "perpetrator" and h.first <= index <= h.last for h in ctx.hits)


_ARTICLES = {
    "en": frozenset({"a", "an", "the", "another", "two", "three", "several"}),
    "fr": frozenset({"un", "une", "des", "les", "la", "le", "l", "deux", "trois", "plusieurs"}),
    "es": frozenset({"un", "una", "unos", "unas", "el", "la", "los", "las", "dos", "tres"}),
    "pt": frozenset({"um", "uma", "uns", "umas", "o", "a", "os", "as", "dois", "duas", "três"}),
}


def _ordnance(ctx: _Context, act: Hit) -> bool:
    """The act's last word names a weapon ("bomb", "obus"), not an attack ("air raid")."""
    return any(
        h.name == "ordnance" and h.last == act.last and h.first >= act.first
        for h in ctx.by_role.get("cue", ())
    )


_DISPOSAL = frozenset({"disposal", "discovery"})
_DISPOSAL_REACH = 2
_AUXILIARIES = frozenset({"was", "were", "is", "are", "been", "being", "a", "été", "est", "fue"})
_PLACE_PREPOSITIONS = {
    "en": frozenset({"in", "near", "at", "on", "outside", "inside", "by", "from", "close"}),
    "fr": frozenset({"à", "près", "dans", "sur", "en", "devant", "au", "aux", "par"}),
    "es": frozenset({"en", "cerca", "junto", "frente", "a", "al", "ante", "por"}),
    "pt": frozenset({"em", "no", "na", "nos", "nas", "perto", "junto", "a", "ao", "por"}),
    "ru": frozenset({"у", "в", "во", "на", "возле", "около", "рядом", "под"}),
}


def _placed_after(ctx: _Context, cue: Hit) -> bool:
    """The word after `cue` is a preposition of place, or nothing follows in its part."""
    after = cue.last + 1
    if after >= len(ctx.tokens) or ctx.segments[after] != ctx.segments[cue.last]:
        return True
    return ctx.tokens[after].text.lower() in _PLACE_PREPOSITIONS.get(ctx.lang, frozenset())


_PERFECT = frozenset({"have", "avoir", "haber", "ter"})  # "may have struck", "pourraient avoir"


def _perfect(ctx: _Context, hedge: Hit, act: Hit) -> bool:
    """ "The US may have struck a girls' school", "pourraient avoir frappé": a past act whose
    author is uncertain, reported as news, not a threat or a fear."""
    return any(ctx.tokens[i].text.lower() in _PERFECT for i in range(hedge.last + 1, act.first))


def _reaches(ctx: _Context, cue: Hit, act: Hit) -> bool:
    """No clause break (a comma, "as", "while" …) between a hedge and the act it would cover."""
    if "," in ctx.text[ctx.tokens[cue.last].end : ctx.tokens[act.first].start]:
        return False
    return not any(
        h.name == "clause" and cue.last < h.first < act.first for h in ctx.by_role.get("cue", ())
    )


def _agent(ctx: _Context, act: Hit, hit: Hit) -> bool:
    """A noun after "by" that follows the act did it: "killed by troops" (troops, no victims)."""
    return any(
        h.name == "agent" and act.last < h.first < hit.first <= h.last + _AGENT_REACH
        for h in ctx.by_role.get("cue", ())
    )


def _same_clause(ctx: _Context, act: Hit, hit: Hit) -> bool:
    """No clause word ("as", "amid", "while" …) between the act and a victim or target:
    "strikes kill soldiers, as shelters overflow" did not strike the shelters; nor a comma
    closing the clause such a word opens before the act ("after the bombing, the UN withdrew
    its staff")."""
    low, high = (act.last, hit.first) if act.last < hit.first else (hit.last, act.first)
    clauses = [h for h in ctx.by_role.get("cue", ()) if h.name == "clause"]
    if any(low < h.first < high for h in clauses):
        return False
    # "After bomb, UN withdraws personnel": a clause the act opens with ends at its comma;
    # "As aid stalls in Haiti, can attack drones end gang violence?": so does a clause that
    # holds the victim or target before the act
    first, second = (act, hit) if act.last < hit.first else (hit, act)
    return not (
        "," in ctx.text[ctx.tokens[first.last].end : ctx.tokens[second.first].start]
        and any(
            h.last < first.first
            and ctx.segments[h.first] == ctx.segments[first.first]
            and "," not in ctx.text[ctx.tokens[h.last].end : ctx.tokens[first.first].start]
            for h in clauses
        )
    )


def _inside_cue(ctx: _Context, hit: Hit) -> bool:
    """A victim or target word that is part of a cue phrase ("market" in "market bets"); a
    vehicle is still a target ("strike hits a car"), and an attacker still who he is."""
    return any(_overlaps(h, hit) for h in ctx.by_role.get("cue", ()) if h.name not in _OWN_WORDS)


# cues whose words keep their other roles
_OWN_WORDS = frozenset({"vehicle", "armed", "the_dead", "kin", "civilians", "blast"})


def _negated(ctx: _Context, hit: Hit) -> bool:
    before = ctx.near(hit, "cue", before=_NEGATION_REACH, after=0)
    return any(h.name == "negation" and h.last < hit.first for h in before)


_CUTS = frozenset({"negation", "consequence"})


def _cut_link(ctx: _Context, act: Hit, hit: Hit) -> bool:
    """A negation, or a verb of what the act set off, between an act and the victim or target
    after it: "air raid did not touch the population", "the strike did not hit the hospital",
    "Iran strikes prompt reactions on OSU campus", "attacks spark anger among students"."""
    return any(
        h.name in _CUTS and act.last < h.first and h.last < hit.first
        for h in ctx.by_role.get("cue", ())
    )


def _counts(ctx: _Context, act: Hit, kind: str, victims: Sequence[Hit]) -> dict[str, int]:
    """Victim class → count: a number before its victim noun, or right next to an act that
    counts people ("kills 12", "12 abducted"; not "a dozen missiles")."""
    out: dict[str, int] = {}
    starts = {v.first: v for v in victims}
    for number in ctx.numbers:
        if ctx.segments[number.first] != ctx.segments[act.first]:
            continue
        victim = next(
            (
                starts[j]
                for j in range(number.last + 1, number.last + 2 + _COUNT_GAP)
                if j in starts
            ),
            None,
        )
        if (
            victim is not None
            and not _between_act(act, number, victim)
            and not _acted_between(ctx, number, victim)
        ):
            out[victim.name] = max(out.get(victim.name, 0), number.value)
        elif (
            kind in COUNTED_ACTS and _next_to(ctx, act, number) and not _article(ctx, number)
        ) or (kind in _TOLL_KINDS and _risen_to(ctx, act, number)):
            out["people"] = max(out.get("people", 0), number.value)
    return out


def _risen_to(ctx: _Context, act: Hit, number: Number) -> bool:
    """The number a toll rises to: right after "rises to", "asciende a", "ارتفعت إلى",
    "выросло до" (a word such as "إلى" may stand between) in the act's segment, with no other
    victim between them ("26 wounded and the displaced reach 780,000": not the wounded)."""
    if not any(
        h.name == "toll_rise" and h.last < number.first <= h.last + 2
        for h in ctx.by_role.get("cue", ())
    ):
        return False
    low, high = sorted((act.last, number.first))
    return not any(
        low < v.first < high and not _overlaps(v, act) for v in ctx.by_role.get("victim", ())
    )


_ARTICLE_LANGS = frozenset({"fr", "es", "pt"})


def _article(ctx: _Context, number: Number) -> bool:
    """ "un", "une", "uma" before a noun are articles: "mort dans une attaque" counts nobody."""
    if number.value != 1 or ctx.lang not in _ARTICLE_LANGS:
        return False
    return not ctx.words(number.first, number.last).isdigit()


def _next_to(ctx: _Context, act: Hit, number: Number) -> bool:
    """ "kills 12", "killing at least 12", "12 killed": nothing that has a role in between, nor
    a comma or an "and" after the act ("7 killed, 21 wounded", "one killed and six wounded":
    the 21 and the six are the wounded)."""
    if act.last < number.first <= act.last + 3:
        if "," in ctx.text[ctx.tokens[act.last].end : ctx.tokens[number.first].start]:
            return False
        if _joined_between(ctx, act.last, number.first):
            return False
        low, high = act.last + 1, number.first - 1
    elif number.last < act.first <= number.last + 2:
        low, high = number.last + 1, act.first - 1
    else:
        return False
    return not any(low <= h.first <= high or low <= h.last <= high for h in ctx.hits)


def _named(classes: set[str]) -> set[str]:
    """The victim classes worth naming: civilians over "people", either over combatants
    (a perpetrator word such as "soldiers" is also a combatant noun)."""
    civilian = classes & CIVILIAN_CLASSES
    if civilian:
        return civilian
    if "people" in classes:
        return {"people"}
    return classes


def _court_case(ctx: _Context, act: Hit, act_id: str, kind: str, *, field: str) -> Event | None:
    """A killing, an atrocity, a rape … in a court case or complaint ("ICC prosecutor opens
    probe into Darfur killings", "trial opens over the massacre"): not a report of violence
    now, but evidence of a record of serious violations (RF2)."""
    if kind not in _COURT_KINDS:
        return None
    return Event(
        act=act_id,
        kind=kind,
        grade="risk",
        codes=("RF2",),
        field=field,
        start=ctx.tokens[act.first].start,
        end=ctx.tokens[act.last].end,
        phrase=ctx.words(act.first, act.last),
    )


def _between_act(act: Hit, number: Number, victim: Hit) -> bool:
    return number.last < act.first <= victim.first


def _acted_between(ctx: _Context, number: Number, victim: Hit) -> bool:
    """An act or a "by" between a number and the victim noun after it: the number counts what
    was done to others ("thousands displaced by attacks on foreigners", "five killed in attack
    on villagers": not a thousand foreigners, five villagers)."""
    return any(
        (h.role == "act" or (h.role == "cue" and h.name == "agent"))
        and number.last < h.first
        and h.last < victim.first
        for h in ctx.hits
    )


def _event(ctx: _Context, act: Hit, lexicon: Lexicon, *, field: str) -> Event | None:
    if _cancelled(ctx, act):
        return None
    spec = lexicon.acts[act.name]
    if act in ctx.collisions or (spec.kind in _HARM_KINDS and _collided(ctx, act)):
        return None  # "truck hits school bus, killing 3 children": a road accident
    if spec.kind == "arson" and _a_fire(ctx, act):
        return None  # "Incendie dans un immeuble : 5 morts": a fire, not arson
    if _accidental_blast(ctx, act):
        return None  # "Explosion at fireworks factory": an accident, no attack
    if _labour_strike(ctx, act):
        return None  # "Teachers' strike cripples school system"
    if _blasts_over(ctx, act):
        return None  # "US blasts Sudan over peacekeeper harassment": criticism
    if _starving_people(ctx, act):
        return None  # "Starving children flee to camps": hunger, not a siege
    if spec.kind == "atrocity" and _named_for(ctx, act):
        return None  # "genocide conference", "massacre memorial": about one, not a report
    called = _called(ctx, act)
    hedged = called or _hedged(ctx, act)
    if hedged and spec.kind != "attack":
        return None  # "could kill thousands", "warns of genocide": a risk, not an event
    if ctx.in_context(act, "cue", _COURT):
        return _court_case(ctx, act, spec.id, spec.kind, field=field)
    foiled = _foiled(ctx, act, whole_clause=spec.kind == "attack")
    if foiled and spec.kind != "attack":
        return None  # "police foil a kidnapping": nothing happened
    nearby = [
        q
        for v in ctx.near(act, "victim", before=_WINDOW, after=_WINDOW)
        if (q := _qualified(ctx, v, spec.kind)) is not None
    ]
    subjects = [v for v in nearby if _subject(ctx, act, spec.kind, v)]
    victims = [
        v
        for v in nearby
        if not _negated(ctx, v)
        and not _cut_link(ctx, act, v)
        and not _inside_cue(ctx, v)
        and not _agent(ctx, act, v)
        and _same_clause(ctx, act, v)
        and not _qualifies_perpetrator(ctx, v)
        and not _speaker(ctx, v)
        and not _planned_subject(ctx, act, v)
        and v not in subjects
    ]
    targets = [
        t
        for t in ctx.near(act, "target", before=_WINDOW, after=_WINDOW)
        if not _inside_cue(ctx, t)
        and not _cut_link(ctx, act, t)
        and not _speaker(ctx, t)
        and _same_clause(ctx, act, t)
        and not (t.name in _CARE and (spec.kind in _TOLL_KINDS or _taken_to(ctx, t)))
        and not any(_overlaps(t, v) for v in subjects)  # "villagers attack": no village hit
        and not (t.name == "shelter" and _armed_camp(ctx, t))
    ]
    perps = [
        p
        for p in ctx.near(act, "perpetrator", before=_WINDOW, after=_WINDOW)
        if not _inside_cue(ctx, p)  # "market forces", "join forces": nobody armed
    ]
    if (
        spec.kind in _DOMESTIC_KINDS
        and not perps
        and not any(t.name in PROTECTED_TARGETS for t in targets)
        and _domestic(ctx, act)
    ):
        return None  # "Man kills wife": a crime at home; not "Teen shoots his classmates at school"
    labels = ctx.in_context(act, "label", _LABELS)
    victims = [_fleeing(ctx, act, v) for v in victims]
    if _combatant_toll(ctx, victims):
        # "a French soldier dead in an attack": the dead are the soldier, not other people
        victims = [v for v in victims if v.name != "people"]
    counts = _counts(ctx, act, spec.kind, victims)
    classes = {v.name for v in victims} | set(counts)
    enlisted = [p for p in perps if _enlisted(ctx, act, p)]
    if enlisted and not classes & CIVILIAN_CLASSES:
        # "two dead in the Malian army": the dead are its members (an army at war: armed
        # conflict, RF1), and it is not named as who killed them
        victims = [v for v in victims if v.name != "people"]
        counts = {("military" if c == "people" else c): n for c, n in counts.items()}
        classes = (classes - {"people"}) | {"military"}
    named = _people_named(ctx, act) if spec.kind in COUNTED_ACTS else None
    if named is not None and not classes - COMBATANTS:
        classes.add("people")
    else:
        named = None
    if spec.kind == "death" and not classes and not enlisted and _names_the_dead(ctx, act):
        classes.add("people")  # "attacks leave dead near Beirut": the dead are its victims
    target_classes = {t.name for t in targets}
    civilian = classes & CIVILIAN_CLASSES
    grade = _grade(
        ctx,
        act,
        kind=spec.kind,
        civilian=bool(civilian),
        civilians_named=any(
            h.name == "civilians" and _overlaps(h, v)
            for h in ctx.by_role.get("cue", ())
            for v in victims
        ),
        people="people" in classes,
        displaced_people=bool(classes & POPULATION),
        combatants=bool(classes & COMBATANTS),
        targets=target_classes,
        armed=bool(perps),
        labelled=bool(labels),
        counted=max(counts.values(), default=0),
    )
    if grade is None or (hedged and "market" in _cue_names(ctx, act)):
        return None  # (hedged: "Iran warns oil could hit $200")
    if (
        foiled
        or hedged
        or ctx.document_head
        or ctx.in_context(act, "cue", _DOCUMENTS)
        or _debris(ctx, act, spec.kind)
    ):
        # "drones intercepted over Kyiv", "Iran vows more attacks on Gulf states": armed
        # conflict (RF1), not a violation; nor is a map or a fact sheet of attacks a report
        grade = "risk"
    count = max(
        (n for c, n in counts.items() if c not in COMBATANTS and not _consequence(c, spec.kind)),
        default=None,
    )
    # a threat names no victim yet ("leader vows to keep up attacks": no official attacked);
    # a call to attack an identity group is identity-based hate (EE3): "calls for attacks on
    # Hindus"
    if hedged:
        codes: tuple[str, ...] = ("EE3",) if "identity" in classes and called else ("RF1",)
    else:
        codes = _codes(spec.codes, grade, classes, target_classes, spec.kind)
    named_classes = _named(classes)
    first = min([act.first] + [h.first for h in (*victims, *targets)])
    last = max([act.last] + [h.last for h in (*victims, *targets)])
    return Event(
        act=spec.id,
        kind=spec.kind,
        grade=grade,
        codes=codes,
        field=field,
        start=ctx.tokens[first].start,
        end=ctx.tokens[last].end,
        phrase=_phrase(ctx, act),
        victims=tuple(sorted(named_classes)),
        victim_words=tuple(
            dict.fromkeys(
                [ctx.words(v.first, v.last) for v in victims if v.name in named_classes]
                + ([ctx.text[named.start : named.end]] if named is not None else [])
            )
        ),
        targets=tuple(sorted(target_classes)),
        target_words=tuple(dict.fromkeys(ctx.words(t.first, t.last) for t in targets)),
        perpetrator=_perpetrator(ctx, act, [p for p in perps if p not in enlisted], victims),
        count=count,
        labels=tuple(ctx.words(h.first, h.last) for h in labels),
        grave=spec.grave,
    )


_CARE = frozenset({"health"})
# a toll of the dead or wounded names a hospital as where they were taken or died ("12 wounded
# taken to hospital", "доставили в больницы 179 пострадавших"), not as what was attacked: an
# attack on it is an act of its own ("strike on hospital")
_TOLL_KINDS = frozenset({"injury", "death"})
_HARM_KINDS = _TOLL_KINDS | {"lethal"}  # a harm another act in the clause may have done
_DOMESTIC_KINDS = frozenset({"lethal", "attack", "injury", "torture", "arson"})


def _taken_to(ctx: _Context, target: Hit) -> bool:
    """ "Taken to hospital", "rushed to a clinic": where the wounded went (English "to" names
    no attack's target; French "à", Spanish "al", Portuguese "ao" may: "ataque al hospital")."""
    if ctx.lang != "en":
        return False
    words = [t.text.lower() for t in ctx.tokens[max(0, target.first - 2) : target.first]]
    return "to" in words


def _fleeing(ctx: _Context, act: Hit, victim: Hit) -> Hit:
    """People right before a verb of flight right before the act flee it, or are made to
    ("attacks force civilians to flee"): displaced, what the attack left, counted as such
    (`_consequence`), not its toll ("2,500 civilians flee aerial attacks"; but "helicopter
    fired on fleeing civilians", "people fleeing the war detained": they are its victims)."""
    if victim.name in COMBATANTS or not any(
        h.name == "flight"
        and (0 < act.first - h.last <= _FLED_REACH or _made_to(ctx, h))
        and _flees(ctx, victim, h)
        for h in ctx.by_role.get("cue", ())
    ):
        return victim
    return Hit(victim.first, victim.last, replace(victim.entry, name="displaced"))


def _made_to(ctx: _Context, flight: Hit) -> bool:
    """ "Attacks force civilians to flee", "lead thousands to flee": made to flee by the act,
    wherever it stands."""
    return flight.first > 0 and ctx.tokens[flight.first - 1].text.lower() == "to"


def _flees(ctx: _Context, victim: Hit, flight: Hit) -> bool:
    """`flight` follows the victim, across an auxiliary or other people joined by "and"
    ("civilians have fled", "children and women flee")."""
    if not 0 < flight.first - victim.last <= _FLIGHT_REACH:
        return False
    people = {i for v in ctx.by_role.get("victim", ()) for i in range(v.first, v.last + 1)}
    joins = _JOINS.get(ctx.lang, frozenset())
    return all(
        i in people or ctx.tokens[i].text.lower() in joins | _FLIGHT_AUXILIARIES
        for i in range(victim.last + 1, flight.first)
    )


_FLIGHT_REACH = 4  # tokens from the people to the verb ("children and women have fled")
_FLED_REACH = (
    3  # tokens from the verb to the act fled ("flee brutal attacks", "fuient les frappes")
)
_FLIGHT_AUXILIARIES = frozenset({"have", "had", "ont", "han", "têm", "were", "are", "to"})


def _consequence(victim_class: str, kind: str) -> bool:
    """ "Insurgents attack a village, thousands displaced": the displaced are what the attack
    left, not its toll (killed, abducted or expelled refugees are counted)."""
    return victim_class == "displaced" and kind == "attack"


# Acts whose English subject does them to someone else (not "civilians die", "children starve")
_TRANSITIVE = frozenset(
    {"attack", "lethal", "arson", "looting", "destruction", "abduction", "injury", "torture"}
)
_PARTICIPLES = frozenset(
    {"hit", "shot", "struck", "slain", "burnt", "cut", "beaten", "held", "taken"}
)


_IRREGULAR_PLURALS = frozenset({"men", "women", "children", "people"})
# past forms headlines never write as a passive after the people it would harm: people are not
# "stormed", so "Protesters stormed parliament" did it
_ACTIVE_ONLY = frozenset({"stormed", "storming"})


def _subject(ctx: _Context, act: Hit, kind: str, victim: Hit) -> bool:
    """A plural English noun (or the armed noun it qualifies) right before an act in the plain
    present does it: "protesters burn photos", "villagers attack a patrol", "rebel forces
    attack a town"; not "villagers attacked", "civilians killed" (the
    passive, as headlines write it), nor a noun compound ("journalist abductions")."""
    if ctx.lang in _PLURAL_ENDINGS and kind in _TRANSITIVE:
        return _romance_subject(ctx, act, victim)
    if ctx.lang == "ru" and kind in _TRANSITIVE:
        return _russian_subject(ctx, act, victim)
    if ctx.lang != "en" or kind not in _TRANSITIVE:
        return False
    end = _phrase_end(ctx, victim)
    if end != act.first - 1:
        return False
    noun = ctx.tokens[end].text.lower()
    word = ctx.tokens[act.first].text.lower()
    plural = noun.endswith("s") or noun in _IRREGULAR_PLURALS
    bare = not word.endswith(("s", "ed", "en", "ing")) and word not in _PARTICIPLES
    return (plural and (bare or word in _ACTIVE_ONLY)) or _counted_object(ctx, act)


# third-person plural endings of the finite verb (present and simple past): "tuent",
# "secuestran", "secuestraron", "sequestram", "mataram"; never a participle ("tués",
# "secuestrados"), which the passive headline uses, nor a noun in "-ment"
_PLURAL_ENDINGS = {
    "fr": ("ent",),
    "es": ("an", "en", "aron", "ieron"),
    "pt": ("am", "em"),
}
_AUXILIARIES = frozenset({"ont", "avaient", "han", "habían", "têm", "tinham"})


def _romance_subject(ctx: _Context, act: Hit, victim: Hit) -> bool:
    """A plural noun (or the armed phrase it heads) right before a French, Spanish or
    Portuguese verb in the third person plural does the act: "des hommes armés enlèvent deux
    soldats", "hombres armados secuestraron", "des jihadistes ont attaqué" (the soldiers are
    the victims, not the men); "soldats tués" is the passive, the soldiers the victims."""
    verb = ctx.tokens[act.first].text.lower()
    before = act.first - 1
    if before >= 0 and ctx.tokens[before].text.lower() in _AUXILIARIES:
        finite = True
        before -= 1
    else:
        finite = verb.endswith(_PLURAL_ENDINGS[ctx.lang]) and not verb.endswith("ment")
    if not finite or before < 0 or not ctx.tokens[victim.last].text.lower().endswith("s"):
        return False
    return _phrase_end(ctx, victim) == before


def _phrase_end(ctx: _Context, victim: Hit) -> int:
    """The last token of the noun phrase `victim` stands in: the armed phrase it heads
    ("hombres armados") or the armed noun right after it that it qualifies ("rebel forces")."""
    return max(
        [victim.last]
        + [
            h.last
            for h in ctx.by_role.get("perpetrator", ())
            if h.first <= victim.first <= h.last or h.first == victim.last + 1
        ]
    )


def _russian_subject(ctx: _Context, act: Hit, victim: Hit) -> bool:
    """A Russian noun in the nominative right before a finite verb does the act: "Мирные
    жители убили солдата" (the soldier is the victim); "Мирные жители убиты" (a participle) and
    "мирных жителей убили" (the object first) name the victims."""
    if victim.last != act.first - 1:
        return False
    verb = russian_parses(ctx.tokens[act.first].text.lower())
    noun = russian_parses(ctx.tokens[victim.last].text.lower())
    return bool(
        verb
        and noun
        and verb[0].tag.POS == "VERB"
        and "indc" in verb[0].tag
        and "nomn" in noun[0].tag
    )


_OBJECT_REACH = 2  # tokens from a count after the act to the noun it counts


def _counted_object(ctx: _Context, act: Hit) -> bool:
    """The act, in any tense, takes a counted object right after it: "AMISOM soldiers killed
    12 militants" (the soldiers did it; "soldiers killed in an ambush" is the passive)."""
    counts = [
        n for n in ctx.numbers if n.first == act.last + 1 and _adjacent(ctx, act.last, n.first)
    ]
    return any(
        h.first - n.last in range(1, _OBJECT_REACH + 1)
        for n in counts
        for h in ctx.by_role.get("victim", ())
    )


_STAFF_REACH = 3  # tokens between staff and the aid organisation that qualifies them


def _of_agency(ctx: _Context, hit: Hit) -> bool:
    """An aid organisation or a peacekeeping body within a few words: "WFP-contracted driver",
    "driver for NGO", "AU personnel", "OSCE staff"."""
    near = ctx.near(hit, "qualifier", before=_STAFF_REACH, after=_STAFF_REACH)
    return any(h.name in ("agency", "peacekeeping") for h in near)


def _qualified(ctx: _Context, victim: Hit, kind: str) -> Hit | None:
    """The victim as its qualifier makes it: staff of an aid organisation or a peacekeeping
    body are protected ("WFP-contracted driver", "driver for local NGO", "UN personnel"), staff
    of an armed force combatants ("security personnel"), other staff people; troops of a
    peacekeeping body right before them are peacekeepers ("AU troops", "AMISOM soldiers"), the
    crew or guards of an aid organisation aid workers ("Red Cross pilot", "WFP guard"); a team
    is aid workers when an aid organisation or a mission qualifies it, and no victim otherwise
    nor of a toll (`kind` injury or death: "MSF teams treating wounded")."""
    if victim.name == "team":
        if kind in _TOLL_KINDS or not _of_agency(ctx, victim):
            return None
        return Hit(victim.first, victim.last, replace(victim.entry, name="aid"))
    if victim.name in ("staff", "military") and _beside(ctx, victim, _OWNERS, through="armed"):
        name = "aid"  # "AU soldiers", "Red Cross pilot", "UN security officer"
    elif victim.name == "staff" and _beside(ctx, victim, {"armed"}, after=True):
        name = "military"  # "security personnel", "personnel militaire"
    elif victim.name == "staff":
        name = "aid" if _of_agency(ctx, victim) else "people"
    else:
        return victim
    return Hit(victim.first, victim.last, replace(victim.entry, name=name))


def _beside(
    ctx: _Context, victim: Hit, names: Set[str], *, after: bool = False, through: str = ""
) -> bool:
    """A qualifier of one of `names` right before the victim (or right after it), or before
    qualifiers of the kind `through` that are ("UN security officer": a UN officer)."""
    qualifiers = ctx.by_role.get("qualifier", ())
    edge = victim.first
    while True:
        if any(h.name in names and h.last == edge - 1 for h in qualifiers):
            return True
        step = [h.first for h in qualifiers if h.name == through and h.last == edge - 1]
        if not step:
            break
        edge = min(step)
    return after and any(h.name in names and h.first == victim.last + 1 for h in qualifiers)


_POPULATION_NAMED = POPULATION - {"people"}


def _expels_witnesses(ctx: _Context, act: Hit) -> bool:
    """An expulsion of those who watch: an aid organisation or the UN named within a few words
    of the act ("Sudan expels aid agencies", "expelled NGOs", "UN official expelled"; not "…,
    UN warns"), or aid workers or journalists among its victims."""
    victims = ctx.near(act, "victim", before=_WINDOW, after=_WINDOW)
    if any(h.name in _POPULATION_NAMED for h in victims):
        return False  # "expels aid workers and 500 families": people are expelled
    near = ctx.near(act, "qualifier", before=_STAFF_REACH, after=_STAFF_OF_REACH)
    return any(
        h.name == "agency" and (h.first - act.last <= _STAFF_REACH or _of_before(ctx, h))
        for h in near
    ) or any(h.name in ("aid", "press") for h in victims)


_STAFF_OF_REACH = 6  # … or after "of" ("expulse le coordinateur humanitaire de l'ONU")


def _of_before(ctx: _Context, hit: Hit) -> bool:
    """`hit` follows "of", "de", "du", "del", "da" … (and an article): it owns what precedes."""
    at = hit.first - 1
    if at > 0 and ctx.tokens[at].text.lower() in _ARTICLES.get(ctx.lang, ()):
        at -= 1
    return at >= 0 and ctx.tokens[at].text.lower() in _OF


def _qualifies_perpetrator(ctx: _Context, victim: Hit) -> bool:
    """An identity word right before an armed actor names the actor, not a victim: "Shiite
    militia claims strikes", "Hindu mob lynches Muslim man" (the man is the victim)."""
    return victim.name == "identity" and any(
        h.role == "perpetrator" and h.first == victim.last + 1 for h in ctx.hits
    )


def _speaker(ctx: _Context, victim: Hit) -> bool:
    """A noun right before a verb of saying says what happened, it is not a victim: "UN
    official says three civilians killed", "… killed, UN staff say"; so do the words after an
    English title's last comma when "report(s)" ends it ("… bomb Darfur villages, UN monitors
    report"; not "IDPs report continuing killings", where they report what they suffer)."""
    if ctx.lang == "en" and ctx.tokens[-1].text.lower() in _REPORT:
        comma = ctx.text.rfind(",", 0, ctx.tokens[-1].start)
        if 0 <= comma < ctx.tokens[victim.first].start and victim.last < len(ctx.tokens) - 1:
            # the few words between the title's last comma and "report", if none is an act
            part = [i for i, t in enumerate(ctx.tokens) if t.start > comma]
            return len(part) <= _SPEAKER_WORDS and not any(
                h.role == "act" and h.first >= part[0] for h in ctx.hits
            )
    return any(
        h.name == "speech"
        and h.first == victim.last + 1
        and _adjacent(ctx, victim.last, h.first)  # (", says UN": UN speaks)
        for h in ctx.by_role.get("cue", ())
    )


_REPORT = frozenset({"report", "reports"})
_SPEAKER_WORDS = 5  # "…, UN human rights monitors report"


def _planned_subject(ctx: _Context, act: Hit, victim: Hit) -> bool:
    """An English noun before the act and right before "to" and a verb is the subject of what
    it will do, in the grammar of headlines, not a victim: "UN team to assess Darfur attack
    aftermath", "aid workers to leave after attacks" (not "to be …": "UN staff to be
    evacuated"; nor after the act: "kills 12 civilians to terrorise villagers")."""
    after = victim.last + 1
    if ctx.lang != "en" or victim.last > act.first or after + 1 >= len(ctx.tokens):
        return False
    word, then = (ctx.tokens[i].text.lower() for i in (after, after + 1))
    return word == "to" and then != "be" and then.isalpha()


def _enlisted(ctx: _Context, act: Hit, force: Hit) -> bool:
    """A force after the act, right after "in the", "dans l'", "في صفوف" (a demonym may come
    between: "in the Malian army"), with no act or possessive right after it: the unit whose
    members the act's toll counts ("two dead in the Malian army"), not the agent ("killed in
    the army raid", "in the army's offensive")."""
    if force.first <= act.last:
        return False
    ranks = [h for h in ctx.by_role.get("cue", ()) if h.name in _RANKS and h.last < force.first]
    if not any(
        all(_demonym_at(ctx, i) for i in range(r.last + 1, force.first))
        and force.first - r.last <= 1 + _QUALIFIED_REACH
        for r in ranks
    ):
        return False
    after = force.last + 1
    while after < len(ctx.tokens) and _demonym_at(ctx, after):
        after += 1
    if after < len(ctx.tokens):
        if ctx.text[ctx.tokens[force.last].end : ctx.tokens[after].start] in _POSSESSIVE:
            return False
        if any(h.role == "act" and h.first == after for h in ctx.hits):
            return False
    return True


_POSSESSIVE = frozenset({"'", "’"})


def _demonym_at(ctx: _Context, index: int) -> bool:
    token = ctx.tokens[index]
    return any(p.people and p.start <= token.start and token.end <= p.end for p in ctx.places)


def _combatant_toll(ctx: _Context, victims: list[Hit]) -> bool:
    """ "A French soldier dead in an attack": combatants, no civilians, and "people" only in
    words that report the dead ("dead", "mort") right beside a combatant noun. Those dead are
    the combatants (not so in "gunmen attack leaves 5 dead")."""
    names = {v.name for v in victims}
    if not names & COMBATANTS or names & CIVILIAN_CLASSES:
        return False
    people = [v for v in victims if v.name == "people"]
    fighters = [v for v in victims if v.name in COMBATANTS]
    return bool(people) and all(
        _is_act_word(ctx, v)
        and any(
            -_TOLL_REACH <= v.first - f.last <= _TOLL_REACH or _joined_toll(ctx, f, v)
            for f in fighters
        )
        for v in people
    )


def _joined_toll(ctx: _Context, fighter: Hit, toll: Hit) -> bool:
    """A toll joined by "and" to a combatant's: "two soldiers killed and three wounded", "um
    soldado morreu e seis ficaram feridos" (the wounded are soldiers too), with no other victim
    or target between them but the combatants' own toll."""
    if not 0 < toll.first - fighter.last <= _JOINED_REACH:
        return False
    return _joined_between(ctx, fighter.last, toll.first) and not any(
        h.role in ("victim", "target")
        and fighter.last < h.first < toll.first
        and not _is_act_word(ctx, h)  # "un soldado muerto y cinco heridos"
        for h in ctx.hits
    )


def _joined_between(ctx: _Context, low: int, high: int) -> bool:
    """An "and" among the tokens strictly between `low` and `high`."""
    joins = _JOINS.get(ctx.lang, frozenset())
    return any(ctx.tokens[i].text.lower() in joins for i in range(low + 1, high))


def _is_act_word(ctx: _Context, hit: Hit) -> bool:
    return any(h.role == "act" and _overlaps(h, hit) for h in ctx.by_role.get("act", ()))


def _perpetrator(ctx: _Context, act: Hit, perps: list[Hit], victims: list[Hit]) -> str:
    """Who did it: the noun after "by" first ("soldiers killed by rebels": rebels), never a
    word that is also the victim."""
    candidates = [p for p in perps if not any(_overlaps(p, v) for v in victims)]
    candidates.sort(key=lambda p: not _agent(ctx, act, p))
    return ctx.words(candidates[0].first, candidates[0].last) if candidates else ""


def _grade(
    ctx: _Context,
    act: Hit,
    *,
    kind: str,
    civilian: bool,
    civilians_named: bool,
    people: bool,
    displaced_people: bool,
    combatants: bool,
    targets: set[str],
    armed: bool,
    labelled: bool,
    counted: int,
) -> Grade | None:
    """Whether the act is a violation (an event), a risk-factor mention, or neither."""
    cue = _cue_names(ctx, act)
    natural = (
        "disaster" in cue
        and (not armed or _died_in_disaster(ctx, act))
        and (kind not in _HARM_KINDS or not _violent(ctx, act))
    )  # "fires rage after strikes kill 12": the strikes killed
    if kind == "atrocity" and _accused(ctx, act, legal=act.name == "genocide"):
        # "accused Israel of genocide": a legal claim, not a report of one; "alleged
        # massacres" may not have happened; but "army accused of massacring villagers",
        # "accusée d'exécutions sommaires" report acts, as "accused of killing" does
        return "risk"
    if kind == "atrocity" and "market" in cue and not (civilian or people or targets):
        return None  # "les valeurs bancaires massacrées": a market rout
    if kind == "atrocity" or kind in {"sexual", "torture"}:
        return "violation"
    if kind == "lethal":
        if natural:
            return None
        if civilian or targets:
            return "violation"
        if people:
            return None if "market" in cue else "violation"
        # "Killings reported in South Darfur": killings in a place, their victims unnamed
        killings = _killing_noun(ctx, act) and _placed(ctx, act)
        return "risk" if combatants or killings else None
    if kind == "death":  # deaths are an event where the text shows they were inflicted
        # "civilian deaths rise in the war"; the word "civilians" itself says a war killed them
        # ("civilian death toll passes 70,000", "погибших мирных жителей"), unlike "residents"
        at_war = civilian and ("war" in cue or civilians_named)
        if natural or not (armed or labelled or at_war or _violent(ctx, act)):
            return None
        if civilian or targets or people:
            return "violation"
        return "risk" if combatants else None
    if kind == "injury":
        if civilian or targets:
            return None if natural else "violation"
        return "risk" if (combatants or people) and not natural else None
    if kind == "attack":
        if "disaster" in cue and not armed and _struck_by_disaster(ctx, act):
            return None  # the disaster struck: "floods hit villages", "hit by floods"
        if _hit_by_hardship(ctx, act):
            return None  # "schools hit by teacher shortage", "familles frappées par la crise"
        if civilian or targets or labelled or (armed and people):
            return "violation"
        return "risk" if (armed or combatants or _placed(ctx, act)) else None
    if kind in {"abduction", "disappearance"}:
        return "violation" if civilian or people else None
    if kind == "expulsion":  # of a population; expelling diplomats is not
        # expelling aid agencies, their staff, UN officials or journalists: a country sealed
        # off and its NGOs and press restricted (EE1/EE2), not an expulsion of people
        if _expels_witnesses(ctx, act):
            return "risk"
        if natural:
            return None  # "evacuation ordered ahead of the cyclone"
        # the people of the villages or homes emptied ("orders the evacuation of 20 villages")
        return "violation" if displaced_people or labelled or "civilian" in targets else None
    if kind == "detention":
        if counted >= MASS_DETENTION:  # the people detained, not any number nearby
            return "violation"
        return "risk" if civilian else None
    if kind == "siege":
        if civilian or targets:
            return "violation"
        return "violation" if _placed(ctx, act, towns_only=True) and "market" not in cue else None
    if kind == "obstruction":
        return "violation" if "aid" in targets and "market" not in cue else None
    if kind == "destruction":  # of homes: by an armed force, or an identity group's
        if natural:
            return None  # "floods destroy homes of 200 families"
        if armed and targets & (PROTECTED_TARGETS | {"civilian"}):
            return "violation"  # "Israeli army destroys hospital", "forces demolish homes"
        # without a force named: an identity group's homes demolished ("bulldozers raze Muslim
        # homes"); villages "destroyed", with no one named who did it, are a map's word
        return "violation" if "civilian" in targets and civilian and act.name != "destroy" else None
    if kind in {"looting", "arson", "violence"}:
        return "violation" if civilian or targets else None
    return None


_VIOLENT_KINDS = frozenset({"attack", "lethal", "atrocity"})


def _violent(ctx: _Context, act: Hit) -> bool:
    """Another act in the segment says the harm was done by someone ("strike … 12 dead"), or
    in the part a colon joins it to ("Israel struck a beach: at least 7 people killed"); not
    an act a disaster did ("floods kill nine")."""
    segs = {ctx.segments[act.first]} | _colon_joined(ctx, ctx.segments[act.first])
    lexicon_acts = event_lexicon().acts
    return any(
        h.role == "act"
        and not _overlaps(h, act)  # (another act: not the same word read twice)
        and ctx.segments[h.first] in segs
        and lexicon_acts[h.name].kind in _VIOLENT_KINDS
        and not _disaster_before(ctx, h, reach=1)  # "floods kill nine, death toll climbs to 89"
        and h not in ctx.collisions  # "truck hits bus, killing 3": a crash killed
        and not _accidental_blast(ctx, h)  # "explosion at fireworks factory kills 8"
        for h in ctx.hits
    )


_BLAST_SITE_REACH = 3  # tokens from a blast to the accident's site ("explosion at a coal mine")


def _accidental_blast(ctx: _Context, act: Hit) -> bool:
    """An explosion or a blast where an accident happens, named right after it ("explosion at
    fireworks factory", "blast in coal mine", "explosión en polvorín de pirotecnia")."""
    cues = ctx.by_role.get("cue", ())
    return any(h.name == "blast" and _overlaps(h, act) for h in cues) and any(
        cue.name == "disaster" for cue in ctx.near(act, "cue", before=0, after=_BLAST_SITE_REACH)
    )


# nouns of killing, which name people killed without naming them ("killings reported in
# Darfur"), unlike a verb that may kill anything ("automation kills 10,000 jobs")
_KILLING_NOUNS = frozenset(
    {
        "killing",
        "killings",
        "murder",
        "murders",
        "assassination",
        "assassinations",
        "meurtre",
        "meurtres",
        "assassinat",
        "assassinats",
        "tuerie",
        "tueries",
        "asesinato",
        "asesinatos",
        "matanza",
        "matanzas",
        "assassinato",
        "assassinatos",
    }
)


def _killing_noun(ctx: _Context, act: Hit) -> bool:
    word = ctx.tokens[act.first].text.lower()
    return word in _KILLING_NOUNS or (ctx.lang == "ru" and word.startswith("убийств"))


_BLASTS = frozenset({"blast", "blasts", "blasted"})
_REASONS = frozenset({"over", "for"})


def _blasts_over(ctx: _Context, act: Hit) -> bool:
    """ "US blasts Sudan over peacekeeper harassment", "UN chief blasts Israel for strikes":
    a verb of criticism with a place as its object and a reason after it."""
    if ctx.tokens[act.first].text.lower() not in _BLASTS or act.last + 1 >= len(ctx.tokens):
        return False
    after = ctx.tokens[act.last + 1].start
    seg = ctx.segments[act.first]
    return any(p.start == after for p in ctx.places) and any(
        t.text.lower() in _REASONS and ctx.segments[i] == seg
        for i, t in enumerate(ctx.tokens[act.last + 2 :], start=act.last + 2)
    )


_DEBRIS_REACH = 2  # tokens between a weapon and its debris ("debris of a missile")


def _debris(ctx: _Context, act: Hit, kind: str) -> bool:
    """An attack word with debris beside it names what fell, not an attack on what it fell
    near: "Missile debris falls near the Church of the Holy Sepulchre", "unexploded shells
    threaten a hospital" (or inside it: "explosé" of "obus non explosé")."""
    if kind != "attack":
        return False
    seg = ctx.segments[act.first]
    return any(
        h.name == "debris"
        and act.first - _DEBRIS_REACH <= h.first <= act.last + _DEBRIS_REACH
        and ctx.segments[h.first] == seg
        for h in ctx.by_role.get("cue", ())
    )


# words before "starving" that make it an adjective: "food for starving families", "millions
# of starving people", "help the starving"
_BEFORE_ADJECTIVE = frozenset(
    {"to", "for", "of", "the", "and", "or", "feed", "feeding", "help", "helping", "save", "saving"}
    | {"with", "among", "many", "more", "most", "million", "millions", "thousands", "hundreds"}
)


def _starving_people(ctx: _Context, act: Hit) -> bool:
    """ "Starving children flee to camps", "food for starving Somalis", "thousands of children
    starving": people who starve, not someone starving them ("militias starving civilians",
    "government starving its own people")."""
    if ctx.tokens[act.first].text.lower() != "starving":
        return False
    if act.first == 0:
        return True
    before = ctx.tokens[act.first - 1].text.lower()
    if any(v.last == act.first - 1 for v in ctx.by_role.get("victim", ())):
        return True  # the people right before it are the ones who starve
    return before in _BEFORE_ADJECTIVE or before[:1].isdigit()


_WORKING = frozenset({"civilian", "health", "press"})  # victims who may go on strike


def _labour_strike(ctx: _Context, act: Hit) -> bool:
    """ "Strike" right after the people who strike: "teachers' strike", "doctors strike over
    pay", "grève des enseignants" reads the other way round and its word is no act."""
    if ctx.tokens[act.first].text.lower() not in {"strike", "strikes"}:
        return False
    return any(
        v.last == act.first - 1 and v.name in _WORKING for v in ctx.by_role.get("victim", ())
    )


def _a_fire(ctx: _Context, act: Hit) -> bool:
    """The noun "incendie", "incendio", "incêndio" (a disaster cue as well as the arson act its
    verb shares a stem with) is a fire, whatever started it, unless an armed actor is named."""
    return any(
        h.name == "disaster" and _overlaps(h, act) for h in ctx.by_role.get("cue", ())
    ) and not ctx.near(act, "perpetrator", before=_WINDOW, after=_WINDOW)


# entries of acts whose subject a vehicle can be: what a vehicle does when it crashes
_COLLIDING = frozenset(
    {
        "hit",
        "struck",
        "ram",
        "kill",
        "injure",
        "frapper",
        "percuter",
        "foncer",
        "tuer",
        "blesser",
        "embestir",
        "embiste",
        "embisten",
        "matar",
        "herir",
        "atingir",
        "ferir",
    }
)


# a past participle after a vehicle ("trucks killed", "camions frappés") is passive: what the
# vehicle suffered, or its people did
_PARTICIPLE_ENDINGS = (
    "ed",
    "é",
    "és",
    "ée",
    "ées",
    "ado",
    "ados",
    "ada",
    "adas",
    "ido",
    "idos",
    "ida",
    "idas",
)


def _collision(ctx: _Context, act: Hit) -> bool:
    """A road or rail vehicle right before a verb of impact, killing or wounding is its
    subject: a collision, not an attack ("truck hits school bus", "train kills five at level
    crossing", "un camion percute un car scolaire"). Not when armed men are named near it, when
    the vehicle was hit ("car hit by a drone"), nor when what it hit is no vehicle ("a truck
    rammed a synagogue"): then it may be the weapon."""
    if act.entry.text not in _COLLIDING:
        return False
    if ctx.tokens[act.first].text.lower().endswith(_PARTICIPLE_ENDINGS):
        return False  # "drivers of WFP trucks killed": the passive names the victims
    cues = ctx.by_role.get("cue", ())
    vehicles = [h for h in cues if h.name == "vehicle"]
    if not any(h.last == act.first - 1 for h in vehicles):
        return False
    if any(h.name == "agent" and h.first == act.last + 1 for h in cues):
        return False
    if ctx.near(act, "perpetrator", before=_WINDOW, after=_WINDOW):
        return False
    return all(
        any(_overlaps(t, v) for v in vehicles)
        for t in ctx.near(act, "target", before=_WINDOW, after=_WINDOW)
    )


def _collided(ctx: _Context, act: Hit) -> bool:
    """A death or wound that a collision before it in its part of the headline explains, no
    other act of violence there: "truck hits school bus, killing 3 children"."""
    seg = ctx.segments[act.first]
    return not _violent(ctx, act) and any(
        h.last < act.first and ctx.segments[h.first] == seg for h in ctx.collisions
    )


def _colon_joined(ctx: _Context, seg: int) -> set[int]:
    """The segments next to `seg` that only a colon separates from it."""
    return {b if a == seg else a for a, b in ctx.colon_pairs if seg in (a, b)}


_QUALIFIED_REACH = 2  # tokens from a demonym to the noun it qualifies ("Iranian security chief")
_TOLL_REACH = 3  # tokens between a combatant noun and the word reporting its death
_JOINED_REACH = 6  # tokens from a combatant noun to a toll joined to its own by "and"
# "and" joining two clauses; numbers.py's `_CONNECTORS` join number words ("treinta y dos"),
# which Russian writes without one and Spanish never with "e" (its "and" before "i-")
_JOINS = {
    "en": frozenset({"and"}),
    "fr": frozenset({"et"}),
    "es": frozenset({"y", "e"}),
    "pt": frozenset({"e"}),
    "ru": frozenset({"и"}),
}
_MANNER_REACH = 6  # tokens from a death to the disaster that caused it ("killed in a crash")


def _died_in_disaster(ctx: _Context, act: Hit) -> bool:
    """A disaster right after a death, no other act between: "six killed in plane crash",
    "dead after tanker crash"; or a disaster just before a death that no other act in its part
    of the headline could explain: "military plane crashes, killing 6" (even where soldiers or
    the military are named)."""
    seg = ctx.segments[act.first]
    for cue in ctx.by_role.get("cue", ()):
        if cue.name != "disaster" or ctx.segments[cue.first] != seg:
            continue
        if act.last < cue.first <= act.last + _MANNER_REACH and not any(
            h.role == "act" and act.last < h.first < cue.first for h in ctx.hits
        ):
            return True
        if cue.last < act.first <= cue.last + _MANNER_REACH and not any(
            h.role == "act" and not _overlaps(h, act) and ctx.segments[h.first] == seg
            for h in ctx.hits
        ):
            return True
    return False


def _struck_by_disaster(ctx: _Context, act: Hit) -> bool:
    """The disaster did it: just before the act ("floods hit villages") or its agent ("region
    hit by floods")."""
    return _disaster_before(ctx, act) or any(
        cue.name == "disaster" and _agent(ctx, act, cue) for cue in ctx.by_role.get("cue", ())
    )


_HIT_WORDS = frozenset({"hit", "strike", "struck", "frappe", "frapper", "atingir"})  # (entries)
_WHERE = frozenset(
    {
        "in",
        "at",
        "near",
        "across",
        "à",
        "au",
        "aux",
        "dans",
        "près",
        "en",
        "em",
        "no",
        "na",
        "cerca",
    }
)


def _hit_by_hardship(ctx: _Context, act: Hit) -> bool:
    """ "Schools hit by teacher shortage", "families hit by the economic crisis", "familles
    frappées par la crise": a verb of hitting whose agent after "by" is no act, weapon, armed
    actor, name or number reports hardship, not an attack ("hit by shelling", "hit by a
    missile", "hit by stray bullets", "hit by Israeli fire", "hit by Hezbollah" stand). In a
    title-case headline, where a name cannot be told from a word, the attack stands."""
    if act.entry.text not in _HIT_WORDS:
        return False
    cues = ctx.by_role.get("cue", ())
    by = next((h for h in cues if h.name == "agent" and h.first == act.last + 1), None)
    if by is None or is_title_case(ctx.text):
        return False
    seg = ctx.segments[by.first]
    span: list[int] = []
    for i in range(by.last + 1, min(by.last + _AGENT_REACH, len(ctx.tokens) - 1) + 1):
        if ctx.segments[i] != seg or ctx.tokens[i].text.lower() in _WHERE:
            break  # the agent ends where its place begins ("hit by conflict in Ituri")
        span.append(i)
    if not span:
        return False
    if any(
        h.first in span
        and (
            h.role in ("act", "perpetrator")
            or (h.role == "victim" and h.name in COMBATANTS)
            or (h.role == "cue" and h.name in {"weapon", "disaster"})
        )
        for h in ctx.hits
    ):
        return False
    return not any(
        ctx.tokens[i].text[:1].isupper() or ctx.tokens[i].text[:1].isdigit() for i in span
    )


def _disaster_before(ctx: _Context, act: Hit, *, reach: int = _MANNER_REACH) -> bool:
    """A disaster just before the act (within `reach` tokens), no other act between, is what
    struck: "floods hit", "earthquake strikes" (a fire after it is its effect: "drone attack
    sparks fire"); with a reach of one, the act's subject: "floods kill", "meningitis kills"
    (not "fires rage after strikes kill 12")."""
    seg = ctx.segments[act.first]
    return any(
        cue.name == "disaster"
        and ctx.segments[cue.first] == seg
        and cue.last < act.first <= cue.last + reach
        and not any(h.role == "act" and cue.last < h.first < act.first for h in ctx.hits)
        and not _armed_qualifier(ctx, cue)
        for cue in ctx.by_role.get("cue", ())
    )


_ACCUSATION_REACH = 6  # tokens from "accused" to the atrocity it names ("accused X of genocide")


def _accused(ctx: _Context, act: Hit, *, legal: bool) -> bool:
    """An atrocity named as an allegation just before it ("alleged massacres"), or, `legal`
    (genocide, crimes against humanity), as an accusation: "a candidate who accused Israel of
    genocide", "accuse la Russie de génocide" (a complaint, a risk factor: not a report)."""
    names = {"allegation", "accusation"} if legal else {"allegation"}
    before = ctx.near(act, "cue", before=_ACCUSATION_REACH, after=0)
    return any(h.name in names for h in before)


def _cue_names(ctx: _Context, act: Hit) -> set[str]:
    return {
        h.name
        for h in ctx.in_context(act, "cue", _MANNER_CUES)
        if not (h.name == "disaster" and _armed_qualifier(ctx, h))
    }


_FIRING = frozenset({"fire", "fires", "fired", "firing"})
# disaster words that a people before them makes their gunfire ("Israeli fire"; French "le feu
# israélien" reads the other way round)
_FIRE_WORDS = _FIRING | frozenset({"blaze", "feu", "feux", "fuego", "fogo"})
_WEAPON_REACH = 3  # tokens from "fires" to what it fires ("fires ballistic missiles")


def _armed_qualifier(ctx: _Context, cue: Hit) -> bool:
    """A disaster word qualified by a people, an armed force or a weapon is their fire, not a
    blaze: "killed by Israeli fire", "army fire", "tank fire", "tués par des tirs de l'armée";
    so is a country's or an armed group's "fire" followed by a weapon: "Iran fires ballistic
    missiles at Israel", "Houthis fire missiles"."""
    if not cue.first:
        return False
    before = ctx.tokens[cue.first - 1]
    word = ctx.tokens[cue.first].text.lower()
    firing = word in _FIRING
    if (
        firing
        and any(p.start < before.end + 1 and before.start < p.end for p in ctx.places)
        and any(
            h.role == "act"
            and event_lexicon().acts[h.name].kind == "attack"
            and cue.last < h.first <= cue.last + _WEAPON_REACH
            for h in ctx.hits
        )
    ):
        return True  # a country or an armed group that fires a weapon
    return (
        (  # a people's fire is their gunfire; their flood or famine a natural one ("Somali
            # flood-hit families")
            word in _FIRE_WORDS
            and any(p.people and before.start <= p.start < before.end + 1 for p in ctx.places)
        )
        or any(h.role == "perpetrator" and h.last == cue.first - 1 for h in ctx.hits)
        or (
            firing  # "tank fire", not "helicopter crash"
            and any(h.name == "weapon" and h.last == cue.first - 1 for h in ctx.by_role["cue"])
        )
    )


def _placed(ctx: _Context, act: Hit, *, towns_only: bool = False) -> bool:
    """A known place in the act's segment ("strikes on Tehran"); with `towns_only`, a town or
    region rather than a country ("the siege of El Fasher", not "Iran's oil blockade")."""
    seg = ctx.segments[act.first]
    starts = [t.start for t in ctx.tokens]
    for place in ctx.places:
        if towns_only and not place.town:
            continue
        before = [i for i, s in enumerate(starts) if s <= place.start]
        if ctx.segments[before[-1] if before else 0] == seg:
            return True
    return False


def _people_named(ctx: _Context, act: Hit) -> Place | None:
    """A demonym used as a noun right next to the act: "Palestinian killed", "kills Syrians"
    (not "Iranian officials killed": there the officials are the victims)."""
    before = ctx.tokens[act.first - 1] if act.first else None
    after = ctx.tokens[act.last + 1] if act.last + 1 < len(ctx.tokens) else None
    for place in ctx.places:
        if not place.people:
            continue
        if before is not None and before.start <= place.start < before.end + 1:
            # "soldat malien mort": an adjective after its noun, the soldier died; "الجيش
            # الإسرائيلي يصيب فلسطينيين": the army's, and the people wounded come after
            if not _modifies(ctx, act.first - 1, after=False):
                return place
            continue
        if after is not None and after.start <= place.start < after.end:
            return None if _modifies(ctx, act.last + 1) else place
    return None


def _armed_camp(ctx: _Context, camp: Hit) -> bool:
    """A camp that an armed force or fighters hold: an armed qualifier, a perpetrator or a
    combatant that qualifies it: right before it ("military camp", "rebel camp", "военный
    лагерь"), right after it where adjectives follow their noun ("camp militaire", "campamento
    militar"), or after one linking word ("camp of militants", "camp de rebelles"). A military
    target, not a shelter of the displaced; "camp leaders" are the camp's own people."""
    tokens = ctx.tokens
    for h in ctx.hits:
        armed = (
            (h.role == "qualifier" and h.name == "armed")
            or h.role == "perpetrator"
            or (h.role == "victim" and h.name in COMBATANTS)
        )
        if not armed:
            continue
        if h.last == camp.first - 1 and _adjacent(ctx, h.last, camp.first):
            return True
        after = h.first == camp.last + 1 and _adjacent(ctx, camp.last, h.first)
        if after and ctx.lang not in _MODIFIER_FIRST and h.role == "qualifier":
            return True
        linked = h.first == camp.last + 2 and tokens[camp.last + 1].text.lower() in _OF
        if linked and _adjacent(ctx, camp.last, h.first - 1):
            return True
    return False


def _adjacent(ctx: _Context, left: int, right: int) -> bool:
    """Tokens `left` and `right` stand next to each other with only a space between."""
    return not ctx.text[ctx.tokens[left].end : ctx.tokens[right].start].strip()


_MODIFIER_FIRST = frozenset({"en", "ru"})  # adjectives before their noun


def _names_the_dead(ctx: _Context, act: Hit) -> bool:
    """The death word is itself a noun for the dead ("leave dead", "fait des morts", "يوقع
    قتلى", "есть погибшие"): people died, uncounted, as "several dead" counts them."""
    return any(h.name == "the_dead" and _overlaps(h, act) for h in ctx.by_role.get("cue", ()))


def _modifies(ctx: _Context, index: int, *, after: bool = True) -> bool:
    """The demonym at token `index` qualifies a noun with a role in the lexicon: the next
    word ("Israeli military") or, `after=False`, the word before ("soldat malien")."""
    if after:  # "Iranian officers", "Iranian security chief"
        return any(index < h.first <= index + _QUALIFIED_REACH for h in ctx.hits)
    return any(h.last == index - 1 for h in ctx.hits)


def _codes(
    act_codes: Sequence[str], grade: Grade, classes: set[str], targets: set[str], kind: str
) -> tuple[str, ...]:
    class_codes = [c for name in sorted(classes | targets) for c in CLASS_CODES.get(name, ())]
    if grade == "risk" and kind == "expulsion":
        return ("EE1", "EE2") if "official" in classes else ("EE2",)
    if grade == "risk" and kind == "detention":
        return tuple(dict.fromkeys(class_codes or act_codes))
    if grade == "risk":
        return ("RF1", "RF8") if "official" in classes else ("RF1",)
    return tuple(dict.fromkeys([*act_codes, *class_codes]))


def _phrase(ctx: _Context, act: Hit) -> str:
    """The act as written, with an adjacent count ("killed 12", "12 killed") and the words
    it ends with after a gap ("beat … to death")."""
    first, last = act.first, act.last
    seg = ctx.segments[act.first]
    for n in ctx.numbers:
        if ctx.segments[n.first] == seg and _next_to(ctx, act, n):
            first, last = min(first, n.first), max(last, n.last)
    tail = f" … {ctx.words(*act.tail)}" if act.tail else ""
    return ctx.words(first, last) + tail


_RANK = {"info": 0, "watch": 1, "warning": 2, "critical": 3}


def _strongest_per_span(events: list[Event]) -> list[Event]:
    """Violations before risk mentions; the strongest first; overlapping duplicates once."""
    ordered = sorted(
        events,
        key=lambda e: (e.grade != "violation", -_RANK[e.severity()], -(e.count or 0), e.start),
    )
    kept: list[Event] = []
    for event in ordered:
        if any(k.grade == event.grade and k.start <= event.start < k.end for k in kept):
            continue
        kept.append(event)
    return kept


def event_record(event: Event, *, mass_casualty: int, critical_casualties: int) -> dict[str, Any]:
    """The event as stored with its match (`kind: "event"` evidence) and shown by `tocsin why`
    and `tocsin match`."""
    return {
        "kind": "event",
        "act": event.act,
        "act_kind": event.kind,
        "grade": event.grade,
        "severity": event.severity(
            mass_casualty=mass_casualty, critical_casualties=critical_casualties
        ),
        "codes": list(event.codes),
        "field": event.field,
        "start": event.start,
        "end": event.end,
        "phrase": event.phrase,
        "victims": list(event.victims),
        "victim_words": list(event.victim_words),
        "targets": list(event.targets),
        "target_words": list(event.target_words),
        "perpetrator": event.perpetrator,
        "count": event.count,
        "labels": list(event.labels),
    }
