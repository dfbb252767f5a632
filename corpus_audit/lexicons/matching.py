"""English word tokenisation shared by every English word list, and phrase matching.

One tokenisation per English document serves the pronoun lists, the HolisticBias
descriptors and the English Gender-GAP lexicon: `english_tokens` runs once per document and
each analysis looks its terms up in that token list. It follows spaCy's English conventions
for what SPEC §3-§5 match on:

- text is NFC-normalised and casefolded; curly apostrophes become ``'``, Unicode hyphens
  (U+2010, U+2011) ``-``, a soft hyphen is dropped, ``_`` separates words ("_she_" is "she");
- a word is a run of letters, digits and combining marks, with an optional trailing ``+``
  when no letter follows ("LGBTQ+"; "he+she" is two words);
- a clitic after a word is a token of its own, apostrophe included: "they're" is "they",
  "'re"; "mother's" is "mother", "'s";
- a hyphen between two word characters is a token of its own ("ex-wife" is "ex", "-",
  "wife"), not counted as a word; other hyphens and dashes ("she--he", "she- and") separate.

`lexicon_words` gives the view the pronoun and descriptor lists match on: hyphenated
compounds joined back ("african-american", "he-goats"), so hyphenated descriptors match only
as listed and "Asian-American" is not also "Asian"; "whitewash" is never "white".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Generic, Hashable, Mapping, NamedTuple, TypeVar


def _mark_class() -> str:
    """Combining marks (Unicode category M) of the Basic Multilingual Plane as a regex class
    body: Python's ``\\w`` leaves out the vowel signs and viramas of Indic scripts, which would
    split their words. (Marks beyond the BMP, of historic and rare scripts, are left out: a
    class with them is no longer a bitmap and makes the splitter several times slower.)"""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


#: A word character: ``\\w`` or a combining mark.
WORD_CHAR = f"[\\w{_mark_class()}]"
#: Apostrophe variants written as ``'``, Unicode hyphens as ``-``, the soft hyphen dropped.
_REPLACEMENTS = (("\u2019", "'"), ("\u02bc", "'"), ("\u2018", "'"), ("\u2010", "-"), ("\u2011", "-"),
                 ("\u00ad", ""))
HYPHEN_TOKEN = "-"


def _english_pattern(word_char: str, plus: bool, apostrophe: bool, hyphen: bool) -> re.Pattern[str]:
    word = f"{word_char}+" + (f"(?:\\+(?!{word_char}))?" if plus else "")
    alternatives = [word]
    # The literal first, then the look-behind: most positions fail on the literal at once
    # (about 8% faster than testing the look-behind first; the same matches).
    if apostrophe:
        alternatives.append(f"'(?<={word_char}')(?={word_char}){word_char}+")
    if hyphen:
        alternatives.append(f"-(?<={word_char}-)(?={word_char})")
    return re.compile("|".join(alternatives))


#: (ascii, has "+", has "'", has "-") -> the token regex. The alternatives a text cannot use are
#: left out and ASCII text uses ``\w`` instead of the large class: the same tokens, found
#: up to 1.3x faster (this split is the largest cost of the English word lists).
class _PatternsByKind(dict):
    """Compiled on first use (16 regexes with the large class cost ~0.1 s at import)."""

    def __missing__(self, key: tuple[bool, bool, bool, bool]) -> re.Pattern[str]:
        ascii_text, plus, apostrophe, hyphen = key
        pattern = self[key] = _english_pattern(r"\w" if ascii_text else WORD_CHAR, plus, apostrophe, hyphen)
        return pattern


_PATTERNS = _PatternsByKind()
FULL_PATTERN = _PATTERNS[(False, True, True, True)]


def normalise_english(text: str) -> str:
    """NFC, casefolded, one apostrophe and one hyphen, ``_`` as a space (see the module docstring)."""
    if not text.isascii():  # O(1) check; only non-ASCII text needs these passes
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        for variant, replacement in _REPLACEMENTS:
            if variant in text:  # (substring tests and replace run in C; str.translate is ~10x slower)
                text = text.replace(variant, replacement)
    text = text.casefold()
    if "_" in text:
        text = text.replace("_", " ")
    return text


def token_pattern(normalised: str) -> re.Pattern[str]:
    """The token regex for an already normalised text (same tokens as `FULL_PATTERN`)."""
    return _PATTERNS[(normalised.isascii(), "+" in normalised, "'" in normalised, "-" in normalised)]


def split_normalised(normalised: str) -> list[str]:
    """The tokens of a text already passed through `normalise_english`."""
    return token_pattern(normalised).findall(normalised)


def english_tokens(text: str) -> list[str]:
    """The English tokens of ``text`` in order: words, clitics ("'s") and inner hyphens ("-")."""
    return split_normalised(normalise_english(text))


def lexicon_words(tokens: list[str]) -> list[str]:
    """The words the English word lists match on: ``tokens`` with hyphenated compounds joined."""
    if HYPHEN_TOKEN not in tokens:
        return tokens
    # Tokens never hold a space and a hyphen token always sits between two words: joining
    # with spaces and closing " - " rebuilds the compounds in C, without a Python loop.
    return " ".join(tokens).replace(" - ", "-").split(" ")


def word_tokens(text: str) -> list[str]:
    """The lowercased words of ``text`` the pronoun and descriptor lists match on, in order."""
    return lexicon_words(english_tokens(text))


class EnglishTokens(NamedTuple):
    """One document's English tokenisation, shared by the stages that use English word lists."""

    tokens: list[str]  # `english_tokens`: what the English Gender-GAP lexicon matches on
    words: list[str]  # `lexicon_words(tokens)`: what the pronoun and descriptor lists match on
    unique_words: set[str]  # set(words)

    @classmethod
    def of(cls, text: str) -> "EnglishTokens":
        tokens = english_tokens(text)
        words = lexicon_words(tokens)
        return cls(tokens, words, set(words))

Value = TypeVar("Value", bound=Hashable)


def term_tokens(term: str) -> tuple[str, ...]:
    """A lexicon term as the token tuple it matches ("Native American" → ("native", "american"))."""
    return tuple(word_tokens(term))


class TermMatcher(Generic[Value]):
    """Which terms of a word list occur in a document's tokens.

    Terms are token tuples (one word or a phrase) mapped to a value (e.g. the descriptor).
    Matches are leftmost-longest and do not overlap, so "Native American" counts as that
    phrase and not also as "American". Documents whose token set cannot contain any phrase
    (the common case) are answered by a set intersection, without a Python loop over tokens.
    """

    def __init__(self, terms: Mapping[tuple[str, ...], Value]) -> None:
        self._single: dict[str, Value] = {}
        self._phrases_by_first: dict[str, list[tuple[tuple[str, ...], Value]]] = {}
        #: first word → the word sets of the phrases starting with it (a cheap "could it occur" test).
        self._phrase_words_by_first: dict[str, list[frozenset[str]]] = {}
        for tokens, value in terms.items():
            if not tokens:
                raise ValueError("empty term")
            if len(tokens) == 1:
                self._single[tokens[0]] = value
            else:
                self._phrases_by_first.setdefault(tokens[0], []).append((tokens, value))
                self._phrase_words_by_first.setdefault(tokens[0], []).append(frozenset(tokens))
        for phrases in self._phrases_by_first.values():
            phrases.sort(key=lambda item: -len(item[0]))  # longest first
        self._single_words = frozenset(self._single)
        self._phrase_first_words = frozenset(self._phrases_by_first)
        #: Every word that can start a match: one set intersection per document finds them all.
        self._start_words = self._single_words | self._phrase_first_words

    def __len__(self) -> int:
        return len(self._single) + sum(len(p) for p in self._phrases_by_first.values())

    def find(self, tokens: list[str], unique: frozenset[str] | set[str] | None = None) -> set[Value]:
        """The values of the terms that occur in ``tokens`` (``unique`` = ``set(tokens)`` if known)."""
        if unique is None:
            unique = set(tokens)
        starts = self._start_words.intersection(unique)
        if not starts:  # most documents
            return set()
        phrase_words = self._phrase_words_by_first
        if any(words <= unique for first in starts if first in phrase_words for words in phrase_words[first]):
            return self._scan(tokens)
        single = self._single
        return {single[word] for word in starts if word in single}

    def _scan(self, tokens: list[str]) -> set[Value]:
        found: set[Value] = set()
        i, n = 0, len(tokens)
        while i < n:
            matched_length = 0
            for phrase, value in self._phrases_by_first.get(tokens[i], ()):
                if tuple(tokens[i:i + len(phrase)]) == phrase:
                    found.add(value)
                    matched_length = len(phrase)
                    break
            if matched_length:
                i += matched_length
                continue
            value = self._single.get(tokens[i])
            if value is not None:
                found.add(value)
            i += 1
        return found
