"""Whole-word, case-insensitive matching of English word lists (pronouns, descriptors).

One tokenisation per document serves every English lexicon: `word_tokens` lowercases the
text and splits it into words, and each lexicon then looks its terms up in that token list
(single words by set intersection, phrases by a scan of the token sequence).

A word is a run of letters and digits (text NFC-normalised, lowercased), with hyphens
inside it and an optional trailing ``+``, so hyphenated forms match only as listed
("African-American", "non-binary", "LGBTQ+"; U+2010/U+2011 hyphens count as "-").
Everything else separates words: "his/her" is "his", "her"; "they're" is "they", "re";
"_she_" is "she"; "whitewash" is one word and never "white".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Generic, Hashable, Mapping, TypeVar

#: A word starts with a word character and goes on with word characters, combining marks
#: (a decomposed accent, the dot of Turkish "İ" lowercased) and hyphens; a ``+`` ends it when
#: no word character follows ("LGBTQ+", but "he+she" is two words).
_WORD = re.compile(r"\w[\w\u0300-\u036f-]*(?:\+(?!\w))?")
#: The same for ASCII text without "+" (most documents), about 1.6x faster.
_PLAIN_WORD = re.compile(r"\w[\w-]*")
#: A hyphen that ends a word ("she- and he-goats"): not part of the word.
_DANGLING_HYPHEN = re.compile(r"-(?![\w\u0300-\u036f+-])")
#: Unicode hyphens written as ASCII "-", the soft hyphen dropped ("trans\xadgender").
_HYPHEN_REPLACEMENTS = (("\u2010", "-"), ("\u2011", "-"), ("\u00ad", ""))

Value = TypeVar("Value", bound=Hashable)


def word_tokens(text: str) -> list[str]:
    """The lowercased words of ``text`` in order (see the module docstring for what a word is)."""
    lowered = text.lower()
    word = _PLAIN_WORD
    if not lowered.isascii():  # O(1) check; only non-ASCII text needs these passes
        word = _WORD
        lowered = unicodedata.normalize("NFC", lowered)
        # (substring tests and replace run in C; str.translate with a table is ~10x slower)
        for hyphen, replacement in _HYPHEN_REPLACEMENTS:
            if hyphen in lowered:
                lowered = lowered.replace(hyphen, replacement)
    if "_" in lowered:  # "_she_" (Markdown emphasis) is the word "she"
        lowered = lowered.replace("_", " ")
    if "--" in lowered:  # a dash written as two hyphens separates words ("she--he")
        lowered = re.sub(r"-{2,}", " ", lowered)
    if "+" in lowered:
        word = _WORD
    if _DANGLING_HYPHEN.search(lowered):
        lowered = _DANGLING_HYPHEN.sub(" ", lowered)
    return word.findall(lowered)


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
