"""Write bot/matching/data/forms.toml: Spanish and Portuguese word forms the stemmer cannot
join to the event lexicon's words.

A Snowball stem joins most forms of a word ("matan", "mataron" → "mat"), but not those whose
stem changes: Spanish "dispara", "niega", "degüella", "incendió"; Portuguese "dispara",
"incendeia", "explosões", "abrem" (fogo). English and French are read through simplemma's
dictionary lemma wherever the stem alone fails (bot/matching/morphology.py builds that table
when a matcher starts, 9,000 and 25,000 words); simplemma's Spanish and Portuguese tables are
ten times bigger (130,000 and 172,000 such words, over 100 MB to read), so this tool keeps,
once, only the forms whose lemma is a word of an entry of data/events.toml, with that lemma.

Run it again after adding words to data/events.toml.

Run: .venv/bin/python tools/forms.py
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simplemma.strategies.dictionaries import DefaultDictionaryFactory

from bot.matching.lexicon import event_lexicon
from bot.matching.morphology import stem_key

LANGUAGES = ("es", "pt")
OUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data" / "forms.toml"


def forms(lang: str, keys: set[str]) -> dict[str, str]:
    """word → lemma for the words whose lemma's stem is one of `keys` but whose own is not."""
    words = DefaultDictionaryFactory(cache_max_size=0).get_dictionary(lang)
    out = {}
    for word, lemma in words.items():
        if not (word.isalpha() and word.islower()):
            continue
        key = stem_key(lemma.lower(), lang)
        if key in keys and stem_key(word, lang) != key:
            out[word] = lemma.lower()
    return dict(sorted(out.items()))


def main() -> int:
    lexicon = event_lexicon()
    lines = [
        "# Spanish and Portuguese word forms whose Snowball stem is not their lemma's, for the",
        "# words of data/events.toml: word = lemma. Written by tools/forms.py from simplemma "
        f"{version('simplemma')}'s",
        "# dictionaries (MIT licence); run it again after adding words to data/events.toml.",
    ]
    for lang in LANGUAGES:
        table = forms(lang, lexicon.words(lang))
        lines += ["", f"[{lang}]"] + [f'"{w}" = "{lemma}"' for w, lemma in table.items()]
        print(f"{lang}: {len(table)} forms")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"→ {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
