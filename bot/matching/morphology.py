"""Words and their comparison keys, from maintained morphology.

A text is cut into word tokens (offsets into the original string); each token gets a *key* that
the inflected forms of one word share, so a lexicon written in base forms matches any form:

    en fr         simplemma lemma, then Snowball stem: "shot" → "shoot", "tuent" → "tuer" → "tu"
                  (Snowball alone misses irregular English verbs and French "-ent" plurals)
    es pt         Snowball stemmer (PyStemmer): "mataron", "matando" → "mat"
    ru            pymorphy3 lemma (every parse): "убиты", "убили" → "убить"; "детей" → "ребёнок"
    ar            clitics stripped (و ف ب ل ك + ال, the same rule as the automaton's), then a
                  lexicon stem matches as a prefix: "المدنيين" → "مدنيين" ⊇ "مدني"

Keys are folded (case, diacritics) so "tués" and "tues" (a feed that dropped its accents) agree.
Lookups are memoised per language: a stream repeats its vocabulary.
"""

from __future__ import annotations

import pickle
import re
import tomllib
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import Stemmer

from bot.matching.normalize import fold
from bot.matching.scan import ARABIC_PREFIXES

SNOWBALL = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese"}
LEMMATISED = frozenset({"en", "fr", "es", "pt"})  # simplemma's lemma first (`_irregular`)
LANGUAGES = ("en", "fr", "es", "pt", "ar", "ru")
# a letter or digit, then letters, digits and combining marks (runs of each: the regex engine
# reads a run of one class far faster than an alternation tried at every character)
_WORD = re.compile(r"[^\W_]+(?:[\u0300-\u036f\u064b-\u065f\u0670]+[^\W_]*)*")
_FRENCH_ELISION = re.compile(r"^(?:l|d|j|s|n|m|c|qu)(?=[aeiouyhâàéèêëîïôûœ])")
_MIN_ARABIC_STEM = 2
_CACHE_LIMIT = 200_000
_FORMS_TABLES = frozenset({"es", "pt"})  # lemmas from data/forms.toml, not the dictionary


class Token(NamedTuple):
    """One word of the original text: `text[start:end]`, and its keys (usually one).

    A named tuple rather than a frozen dataclass: one is made per word, on the hot path.
    """

    start: int
    end: int
    text: str
    keys: tuple[str, ...]


@lru_cache(maxsize=len(SNOWBALL))
def _stemmer(lang: str) -> Any:
    return Stemmer.Stemmer(SNOWBALL[lang])


@lru_cache(maxsize=1)
def russian_analyzer() -> Any:
    """pymorphy3's analyser, loaded on first use (~28 MB)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=1024)
def russian_parses(lower: str) -> tuple[Any, ...]:
    """pymorphy3's parses of a lower-case word, remembered a while (~2 MB): a Russian item's
    words are parsed for its place names and again for its lexicon keys (pymorphy3 reads its
    dictionary in pure Python, ~0.1 ms a word)."""
    return tuple(russian_analyzer().parse(lower))


def russian_lexeme(lemma: str) -> tuple[str, ...]:
    """Every form of a Russian lemma in pymorphy3's dictionary (folded), the lemma first."""
    parses = russian_analyzer().parse(lemma)
    forms = [fold(f.word) for p in parses[:2] for f in p.lexeme]
    return tuple(dict.fromkeys([fold(lemma), *forms]))


def strip_arabic_clitics(word: str) -> str:
    """ "والمدنيين" → "مدنيين": the longest known prefix that leaves a word of 3+ letters."""
    for size in (4, 3, 2, 1):
        head = word[:size]
        if len(word) - size >= 3 and head in ARABIC_PREFIXES:
            return word[size:]
    return word


def stem_key(word: str, lang: str) -> str:
    """The folded Snowball stem of a lower-case word, before any lemma."""
    return fold(_stemmer(lang).stemWord(word))


@lru_cache(maxsize=len(LANGUAGES))
def _irregular(lang: str) -> dict[str, str]:
    """The entries of simplemma's dictionary for `lang` whose Snowball stem differs from
    their lemma's ("children" → "child", "fled" → "flee", "pris" → "prendre"). For every
    other word the stem of the lemma is the stem of the word, so this small table (9,000
    English and 25,000 French words, a few MB) gives the same keys as the whole dictionary
    (~40 MB for the two), which is read once (`_dictionary`) and let go. Spanish and
    Portuguese have ten times as many such words: data/forms.toml keeps those of the event
    lexicon's words ("dispara", "niega", "incendeia", "explosões"; written by tools/forms.py)."""
    if lang in _FORMS_TABLES:
        return _forms_table().get(lang, {})
    return _dictionary(lang).irregular


@lru_cache(maxsize=1)
def _forms_table() -> dict[str, dict[str, str]]:
    data = resources.files("bot.matching").joinpath("data").joinpath("forms.toml")
    return tomllib.loads(data.read_text(encoding="utf-8"))


class _Dictionary(NamedTuple):
    """What matching keeps of simplemma's dictionary of a language (`_dictionary`)."""

    irregular: dict[str, str]  # word → lemma where their stems differ (`_irregular`)
    lower: Any  # DAWG of the forms written in lower case
    capitalised: Any  # DAWG of the others (names, places, acronyms)


@lru_cache(maxsize=2)
def _dictionary(lang: str) -> _Dictionary:
    """simplemma's dictionary of `lang` (English or French), read once: its irregular forms
    and its word forms as two compact DAWGs (~3 MB for English, built in ~0.3 s)."""
    import dawg
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    def read() -> tuple[bytes, Any, Any]:
        words = DefaultDictionaryFactory(cache_max_size=0).get_dictionary(lang)
        stem = _stemmer(lang).stemWord
        irregular = {w: lemma for w, lemma in words.items() if stem(w) != stem(lemma)}
        lower = dawg.DAWG(w for w in words if w[:1].islower())
        capitalised = dawg.DAWG(w for w in words if not w[:1].islower())
        return pickle.dumps(irregular), lower, capitalised

    irregular, lower, capitalised = read()
    # made afresh from one buffer, the small table does not pin the memory the whole
    # dictionary was read into
    return _Dictionary(dict(pickle.loads(irregular)), lower, capitalised)


def english_vocabulary() -> tuple[Any, Any]:
    """simplemma's English word forms, as two DAWGs: those English writes in lower case, and
    those it writes with a capital (names, places, acronyms: "Michael", "Smith", "Lebanon")."""
    english = _dictionary("en")
    return english.lower, english.capitalised


def french_words() -> Any:
    """simplemma's French word forms written in lower case, as a DAWG."""
    return _dictionary("fr").lower


def common_word(word: str) -> bool:
    """A capitalised word that English writes only in lower case ("Health", "Save", "Steps"):
    in a headline it is no part of a personal name. A name, or a word that is also one
    ("Michael", "Smith"), or a word English does not know ("Peterson"), is not common."""
    lower, capitalised = english_vocabulary()
    return word not in capitalised and word.lower() in lower


def irregular_forms(lang: str, keys: AbstractSet[str]) -> set[str]:
    """The words of a lemmatised language whose stem is not their lemma's and whose key is
    one of `keys` ("meurent" → "mourir"; none in the other languages). Keys are computed
    afresh, not memoised: the memo is for the words of texts."""
    if lang not in LEMMATISED:
        return set()
    key = _key_function(lang)
    return {w for w in _irregular(lang) if w.islower() and not keys.isdisjoint(key(w))}


def capitalised_word(word: str) -> bool:
    """A word English writes with a capital: a name ("Joe", "Donald") or a place."""
    return word in english_vocabulary()[1]


def dictionary_words(languages: Iterable[str]) -> set[str]:
    """Every word simplemma's dictionaries hold in `languages`, in lower case (some 200 MB:
    for the tools that write the data files, not for matching)."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    factory = DefaultDictionaryFactory(cache_max_size=0)
    out: set[str] = set()
    for lang in languages:
        out |= {w.lower() for w in factory.get_dictionary(lang)}
    return out


def word_or_name(name: str, vocabulary: AbstractSet[str]) -> bool:
    """`name` is a word of `vocabulary` (`dictionary_words`), in any case, or a name English
    writes with a capital, also without its accents ("Léo" is "Leo")."""
    folded = fold(name)
    return (
        bool({name.lower(), folded} & vocabulary)
        or capitalised_word(name)
        or capitalised_word(" ".join(w.capitalize() for w in folded.split()))
    )


def _lemmatizer(lang: str) -> Callable[[str], str]:
    """simplemma's dictionary lemma of a lower-case word where it matters to the stem (its
    dictionary lookup, as simplemma does it: the word, then the word capitalised), and that
    lemma's own where it has one: "abattus" → "abattu" (the adjective) → "abattre"."""
    irregular = _irregular(lang)

    def lemma(word: str) -> str:
        first = irregular.get(word) or irregular.get(word.capitalize()) or word
        return irregular.get(first, first)

    return lemma


def _latin_keys(lang: str) -> Callable[[str], tuple[str, ...]]:
    stem = _stemmer(lang).stemWord
    lemma = _lemmatizer(lang) if lang in LEMMATISED else None

    def keys(word: str) -> tuple[str, ...]:
        lower = word.lower()
        first = fold(stem(lemma(lower) if lemma else lower))
        if (
            lang == "fr"
            and (bare := _FRENCH_ELISION.sub("", lower)) != lower
            and len(bare) > 2
            and lower not in french_words()
        ):
            # "lhôpital": a feed that lost the apostrophe; "couvre" (covers) is a word of
            # its own, not "c'ouvre" (opens), nor "dégorge" "d'égorge" (slits a throat)
            return (first, fold(stem(lemma(bare) if lemma else bare)))
        return (first,)

    return keys


def _russian_keys(word: str) -> tuple[str, ...]:
    forms = dict.fromkeys(fold(p.normal_form) for p in russian_parses(word.lower()))
    return tuple(forms) or (fold(word),)


def _arabic_keys(word: str) -> tuple[str, ...]:
    folded = fold(word)
    bare = strip_arabic_clitics(folded)
    return (bare, folded) if bare != folded else (folded,)


def _plain_keys(word: str) -> tuple[str, ...]:
    return (fold(word),)


@lru_cache(maxsize=len(LANGUAGES) + 1)
def _key_function(lang: str) -> Callable[[str], tuple[str, ...]]:
    if lang in SNOWBALL:
        return _latin_keys(lang)
    if lang == "ru":
        return _russian_keys
    if lang == "ar":
        return _arabic_keys
    return _plain_keys


class _Memo(dict[str, tuple[str, ...]]):
    """word → keys for one language, cleared when it grows past `_CACHE_LIMIT` entries."""

    def __init__(self, compute: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, word: str) -> tuple[str, ...]:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[word] = self.compute(word)
        return value


@lru_cache(maxsize=len(LANGUAGES) + 1)
def _memo(lang: str) -> _Memo:
    return _Memo(_key_function(lang))


def word_keys(word: str, lang: str) -> tuple[str, ...]:
    """The keys of one word in `lang` (any other language: the folded word)."""
    return _memo(lang if lang in LANGUAGES else "")[word]


_token = tuple.__new__  # Token(...) without the named tuple's Python-level __new__


def tokenize(text: str, lang: str) -> list[Token]:
    """Every word of `text` with its keys in `lang`."""
    memo = _memo(lang if lang in LANGUAGES else "")
    out: list[Token] = []
    append = out.append
    find = text.find
    end = 0
    for word in _WORD.findall(text):
        # a word begins with a letter or digit, and none stands between the last word and
        # this one: its first occurrence from there is where the regex found it
        start = find(word, end)
        end = start + len(word)
        append(_token(Token, (start, end, word, memo[word])))
    return out


def lexicon_key(word: str, lang: str) -> str:
    """The key a lexicon entry (a base form) is stored under: its first key. An Arabic entry
    loses only its article ("المدنيين" → "مدنيين"): its first letter may be a root letter that
    looks like a clitic ("كمين", an ambush, is not "ك" + "مين")."""
    if lang == "ar":
        folded = fold(word)
        for article in ("لل", "ال"):
            if folded.startswith(article) and len(folded) - len(article) >= 3:
                return folded[len(article) :]
        return folded
    return word_keys(word, lang)[0]
