"""The event lexicon (data/events.toml), compiled into per-language lookups of word keys.

    lexicon = event_lexicon()
    hits = lexicon.find(tokens, "fr")    # Role hits: act, victim, target, perpetrator, …

Each entry is stored under the keys of its words (morphology.lexicon_key), so one lookup per
token finds every form of every entry. Multi-word entries match consecutive keys, save where
an entry marks a gap ("beat … to death": up to three words between); the longest entry starting
at a token wins over shorter ones with the same role.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from bot.matching.morphology import (
    LANGUAGES,
    Token,
    irregular_forms,
    lexicon_key,
    russian_lexeme,
    word_keys,
)
from bot.matching.normalize import fold
from bot.matching.numbers import number_words

ROLES = (
    "act",
    "label",
    "victim",
    "qualifier",
    "target",
    "perpetrator",
    "quantity",
    "cue",
    "unless",
)
# "beat … to death": up to GAP_WORDS words may stand at the gap ("beat a man to death")
GAP = "…"
GAP_WORDS = 3
_MIN_ARABIC_PREFIX = 2
_MIN_TRIGGER = 3
# What may follow an Arabic stem inside one word: feminine, dual, plural, nisba and pronoun
# endings, and past-tense verb endings (folded: ة → ه, ى → ي). "اسر" (families) is a prefix of
# "اسرائيل", but "ائيل" is no ending.
ARABIC_SUFFIXES = frozenset(
    ["", "ه", "ي", "ين", "ون", "ان", "ات", "يه", "يات", "يين", "يون", "ها", "هم", "هما", "هن",
     "كم", "نا", "وا", "ت", "تا", "تم", "ا", "اء", "يا",
     "ته", "تها", "تهم", "وه", "وها", "وهم"]  # a verb's subject, then its object: "قصفته"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry in one language: `role`/`name` (e.g. victim/child), its word keys."""

    role: str
    name: str  # act id, victim/target/perpetrator class, cue kind, "label" or "quantity"
    keys: tuple[str, ...]
    text: str  # as written in the lexicon
    starts: str = ""  # "=word" entries: the token must begin with this (folded)
    exact: bool = False  # "==word" entries: the token must be this word
    value: int = 0  # quantities


@dataclass(frozen=True, slots=True)
class Hit:
    """`entry` matched tokens first..last (inclusive)."""

    first: int
    last: int
    entry: Entry
    tail: tuple[int, int] | None = None  # the entry's words after a gap ("… to death")

    @property
    def role(self) -> str:
        return self.entry.role

    @property
    def name(self) -> str:
        return self.entry.name


@dataclass(frozen=True, kw_only=True)
class Act:
    """An act's kind and the risk-factor codes it maps onto (data/events.toml [acts.*])."""

    id: str
    kind: str
    codes: tuple[str, ...]
    grave: bool = False


class Lexicon:
    """Entries by language and first key, ready for `find`."""

    def __init__(self, entries: Iterable[tuple[str, Entry]], *, acts: Mapping[str, Act]) -> None:
        self.acts = dict(acts)
        self._index: dict[str, dict[str, list[Entry]]] = defaultdict(lambda: defaultdict(list))
        self._ignore: dict[str, frozenset[str]] = {}
        self._act_keys: dict[str, set[str]] = defaultdict(set)  # first keys of act entries
        self._act_written: dict[str, dict[str, str]] = defaultdict(dict)  # key → its prefix
        self._triggers: dict[str, frozenset[str]] = {}  # `act_triggers`, made once a language
        for lang, entry in entries:
            self._index[lang][entry.keys[0]].append(entry)
            if entry.role == "act":
                key = entry.keys[0]
                self._act_keys[lang].add(key)
                written = fold(entry.text.lstrip("=").split()[0].lower())
                shared = _shared_start(key, written) or key
                known = self._act_written[lang].get(key, key)
                self._act_written[lang][key] = min(known, shared, key=len)
        for by_key in self._index.values():
            for key, found in by_key.items():
                by_key[key] = sorted(found, key=lambda e: -len(e.keys))

    def set_ignored(self, lang: str, words: Iterable[str]) -> None:
        self._ignore[lang] = frozenset(w.lower() for w in words) | {fold(w) for w in words}

    def words(self, lang: str) -> set[str]:
        """The keys of every word of every entry of `lang` (tools/forms.py)."""
        by_key = self._index.get(lang, {})
        return {k for entries in by_key.values() for e in entries for k in e.keys if k != GAP}

    def languages(self) -> tuple[str, ...]:
        return tuple(self._index)

    def act_triggers(self, lang: str) -> frozenset[str]:
        """Prefixes that every written form of an act's first word begins with: a prefilter
        for the automaton (a field without one has no act, so events are not looked for).

        en fr es pt: the stem, or what it shares with the entry as written when the stemmer
        rewrote its end ("happy" → "happi": "happ"; in en, "rape" → "rap" for "raping"), and
        the irregular forms that lemmatise to an act ("meurent" → "mourir", "slew" → "slay",
        "dispara" → "disparar"); ar: the stem (it already matches as a prefix); ru: the first
        three letters of every form of the lemma in pymorphy3's dictionary ("бить" → "бил",
        "бье" …).
        """
        if (known := self._triggers.get(lang)) is None:
            known = self._triggers[lang] = self._make_triggers(lang)
        return known

    def _make_triggers(self, lang: str) -> frozenset[str]:
        keys = self._act_keys.get(lang, set())
        if lang == "ar":
            return frozenset(keys)
        if lang == "ru":
            return frozenset(f[:_MIN_TRIGGER] for key in keys for f in russian_lexeme(key))
        stems = frozenset(self._act_written.get(lang, {}).get(k, k) for k in keys)
        if lang == "en":
            stems |= {_without_silent_e(s) for s in stems}
        irregular = {fold(w) for w in irregular_forms(lang, keys)}
        return stems | {w for w in irregular if not w.startswith(tuple(stems))}

    def starts_act(self, word: str, lang: str) -> bool:
        """Whether `word` (as written) can be the first word of an act entry."""
        acts = self._act_keys.get(lang)
        if not acts or word.lower() in self._ignore.get(lang, ()):
            return False
        keys = word_keys(word, lang)
        if lang == "ar":
            return any(p in acts for k in keys for p in _arabic_prefixes(k))
        return not acts.isdisjoint(keys)

    def find(self, tokens: Sequence[Token], lang: str) -> list[Hit]:
        """Every entry that matches at some token, longest first at each start."""
        index = self._index.get(lang)
        if not index:
            return []
        ignored = self._ignore.get(lang, frozenset())
        keyed = [() if t.text.lower() in ignored else t.keys for t in tokens]
        hits: list[Hit] = []
        arabic = lang == "ar"
        count = len(keyed)
        for i, keys in enumerate(keyed):
            if arabic:
                candidates: Iterable[Entry] = self._candidates(index, keys, lang)
            elif len(keys) == 1:
                candidates = index.get(keys[0], ())
            else:
                candidates = self._candidates(index, keys, lang)
            for entry in candidates:
                words = entry.keys
                if len(words) == 1:
                    if not entry.starts:
                        hits.append(Hit(i, i, entry))
                        continue
                elif (
                    not arabic
                    and words[1] != GAP
                    and (i + 1 == count or words[1] not in keyed[i + 1])
                ):
                    continue  # (the usual miss of a phrase, told without `_match`)
                span = self._match(entry, tokens, keyed, i, lang)
                if span is not None:
                    hits.append(Hit(i, span[0], entry, span[1]))
        tails = [h.tail for h in hits if h.tail]
        if tails:  # "beat a man to death": "death" is the act's, no victim of its own
            hits = [h for h in hits if not any(a <= h.first and h.last <= b for a, b in tails)]
        return _longest(hits)

    def _candidates(
        self, index: Mapping[str, list[Entry]], keys: Sequence[str], lang: str
    ) -> Iterator[Entry]:
        seen: set[int] = set()
        for key in keys:
            for probe in _arabic_prefixes(key) if lang == "ar" else (key,):
                for entry in index.get(probe, ()):
                    if id(entry) not in seen:
                        seen.add(id(entry))
                        yield entry

    @staticmethod
    def _match(
        entry: Entry,
        tokens: Sequence[Token],
        keyed: Sequence[Sequence[str]],
        i: int,
        lang: str,
    ) -> tuple[int, tuple[int, int] | None] | None:
        """(the last token of the hit, the tokens after a gap the entry spanned) or None."""
        arabic = lang == "ar"

        def found(at: int, want: str) -> bool:
            here = keyed[at]
            return any(_same(k, want) for k in here) if arabic else want in here

        last, gap, head, tail = i, 0, i, None
        for want in entry.keys[1:]:
            if want == GAP:
                gap, head = GAP_WORDS, last
                continue
            at = next(
                (at for at in range(last + 1, min(last + 2 + gap, len(keyed))) if found(at, want)),
                None,
            )
            if at is None:
                return None
            if at > last + 1:
                tail = at
            last, gap = at, 0
        if entry.starts:
            word = fold(tokens[i].text.lower())
            if not word.startswith(entry.starts) or (entry.exact and word != entry.starts):
                return None
        # words stood at the gap ("beat a man to death"): the hit is the words before it, and
        # what stood there is read as any words after an act are (its victim)
        return (head, (tail, last)) if tail is not None else (last, None)


def _without_silent_e(stem: str) -> str:
    """What an English stem's forms all begin with: the stemmer gives short stems back the
    "e" that "-ing" and "-ed" drop ("raping" → "rape", "razed" → "raze") and "ie" that "-ing"
    writes "y" ("dying" → "die")."""
    if stem.endswith("ie"):
        return stem[:-2] + "y"
    return stem[:-1] if stem.endswith("e") else stem


def _shared_start(a: str, b: str) -> str:
    """The longest common beginning of two words."""
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return a[:size]


def _same(key: str, want: str) -> bool:
    """An Arabic key is `want` with one of its suffixes."""
    return key.startswith(want) and key[len(want) :] in ARABIC_SUFFIXES


def _arabic_prefixes(key: str) -> Iterator[str]:
    """The stems `key` may be written from: itself less one of ARABIC_SUFFIXES."""
    for size in range(len(key), _MIN_ARABIC_PREFIX - 1, -1):
        if key[size:] in ARABIC_SUFFIXES:
            yield key[:size]


_RIVALS = {
    "act": frozenset({"act", "label", "unless"}),
    "target": frozenset({"target", "unless"}),  # "bomb shelter" is no shelter under attack
    "unless": frozenset({"unless", "victim"}),  # "attack aid workers": no labour strike
}


def _longest(hits: list[Hit]) -> list[Hit]:
    """Drop a hit inside a longer hit of the same role ("air strike" over "strike"); an act
    inside a longer label or exception is no act ("violan la ley internacional"), nor a target
    inside a longer exception ("bomb shelter"), nor an exception inside a longer victim ("aid
    workers")."""
    longer = [h for h in hits if h.last > h.first]  # only a multi-word hit can hold another
    if not longer:
        return hits
    kept = []
    for hit in hits:
        rivals = _RIVALS.get(hit.role, frozenset({hit.role}))
        inside = any(
            other is not hit
            and other.role in rivals
            and other.first <= hit.first
            and hit.last <= other.last
            and (other.last - other.first) > (hit.last - hit.first)
            for other in longer
        )
        if not inside:
            kept.append(hit)
    return kept


def _entries(role: str, name: str, table: Mapping[str, Any]) -> Iterator[tuple[str, Entry]]:
    for lang in LANGUAGES:
        for text in table.get(lang, ()):
            strict, exact = text.startswith("="), text.startswith("==")
            words = text.lstrip("=").replace("-", " ").replace("'", " ").split()
            keys = tuple(GAP if w == GAP else lexicon_key(w, lang) for w in words)
            if all(keys):
                starts = fold(words[0].lower()) if strict else ""
                yield (
                    lang,
                    Entry(role=role, name=name, keys=keys, text=text, starts=starts, exact=exact),
                )


_INFLECTED_QUANTITIES = frozenset({"ru", "ar"})


def _quantities(table: Mapping[str, Mapping[str, int]]) -> Iterator[tuple[str, Entry]]:
    """One entry per word, written as it is ("several" is no "severe", nor "dozen" 12
    "dozens" 24), except where the language inflects them (Russian, Arabic), and there too
    when its key is a number word's ("for ten years" is no "tens", twenty)."""
    for lang, words in table.items():
        inflected = lang in _INFLECTED_QUANTITIES  # ("десятки", "десятков" share a lemma)
        numerals = {lexicon_key(w, lang) for w in number_words(lang)} if inflected else set()
        by_key: dict[str, list[tuple[str, int]]] = {}
        for word, value in words.items():
            by_key.setdefault(lexicon_key(word, lang), []).append((word, value))
        for key, group in by_key.items():
            shared = not inflected or len(group) > 1 or key in numerals
            for word, value in group:
                yield (
                    lang,
                    Entry(
                        role="quantity",
                        name="quantity",
                        keys=(key,),
                        text=word,
                        value=value,
                        starts=fold(word.lower()) if shared else "",
                        exact=shared,
                    ),
                )


def _read() -> dict[str, Any]:
    data = resources.files("bot.matching").joinpath("data").joinpath("events.toml")
    return tomllib.loads(data.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def event_lexicon() -> Lexicon:
    """The shipped lexicon, compiled once per process."""
    data = _read()
    acts: dict[str, Act] = {}
    entries: list[tuple[str, Entry]] = []
    for act_id, table in data["acts"].items():
        acts[act_id] = Act(
            id=act_id,
            kind=table["kind"],
            codes=tuple(table["codes"]),
            grave=bool(table.get("grave", False)),
        )
        entries += _entries("act", act_id, table)
        entries += _entries("unless", act_id, table.get("unless", {}))
    entries += _entries("label", "label", data["labels"])
    for role, section in (
        ("victim", "victims"),
        ("qualifier", "qualifiers"),
        ("target", "targets"),
        ("perpetrator", "perpetrators"),
    ):
        for name, table in data[section].items():
            entries += _entries(role, name, table)
    for name, table in data["cues"].items():
        entries += _entries("cue", name, table)
    entries += _quantities(data["quantities"])
    lexicon = Lexicon(entries, acts=acts)
    for lang, words in data.get("ignore", {}).items():
        lexicon.set_ignored(lang, words)
    return lexicon
