"""Gender-GAP: gendered person nouns per language (Muller et al. 2023; SPEC §5).

Each document whose language (stage ``langid``) has a lexicon is tokenised and matched,
case-insensitively, against that language's masculine, feminine and unspecified person
nouns (singular and plural forms, multi-word and hyphenated entries included). The table
``gender_gap`` gives per language: documents, word tokens, matches of each gender, their
rates per 100 tokens, each gender's share of the matches, % of documents with a match, and
the standard error of the feminine - masculine rate difference. Documents in languages
without a lexicon (and ``unknown``) are counted in ``no_lexicon`` rows. The table
``gender_gap_reference`` gives, per lexicon, the columns of the reference pipeline's report
(ResponsibleNLP ``gender_gap_pipeline``: % of word tokens per gender, total words, % of
documents with a match, ``ste_diff_fem_masc`` as it computes it), so that published
Gender-GAP numbers can be set beside a run.

Tokenisation (speed matters: the reference pipeline's Stanza models are far slower than
language ID): a regex word splitter for languages written with spaces (words may hold
inner apostrophes; French/Italian/Catalan elided articles such as ``l'`` are split off; a
hyphen inside a word is a token of its own, not counted as a word, so ``grand-mère`` is
matched as the sequence ``grand - mère`` and ``ex-wife`` still holds ``wife``). English uses
the tokenisation the pronoun and descriptor stages share (`corpus_audit.lexicons.matching`:
clitics such as ``'s`` and ``'re`` split off as in spaCy, hyphens as above), computed once per
document. Dictionary segmenters: jieba for Chinese (``cmn``, ``yue``), SudachiPy (mode C) for
Japanese and pythainlp (newmm) for Thai, each imported on the first document in its language.
The lexicon's words are added to the jieba and Thai dictionaries so that they are kept whole.
spaCy is not used: `SpacySplitter` wraps ``spacy.blank(lang).tokenizer`` as the oracle the
regex splitter is checked against (tests/test_gender_gap_spacy.py, bench/gender_gap_tokenisers.py; spaCy
is in the ``test`` extra). Each language's `NounMatcher` is built on its first document.

Matching: the document's word tokens are joined by a separator (a space; nothing for
Chinese, Japanese and Thai) and scanned once with an Aho-Corasick automaton of the
lexicon's forms (tokenised the same way); a match counts only when it starts and ends on
token boundaries, and overlapping matches keep the longest (leftmost first), so a
multi-word entry (``ancienne combattante``) counts once and not also as its parts.
"""

from __future__ import annotations

import gc
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Mapping

from corpus_audit.lexicons.cache import LexiconError
from corpus_audit.lexicons.gender_gap import (FASTTEXT_TO_LEXICON, GENDER_SETS, LanguageLexicon, LexiconSet, lexicon_code,
                                              load_lexicons)
from corpus_audit.lexicons.matching import (
    FULL_PATTERN,
    HYPHEN_TOKEN,
    WORD_CHAR,
    normalise_english,
    split_normalised,
)
from corpus_audit.documents import DocumentBatch
from corpus_audit.language_names import table_language_name
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample, percent
from corpus_audit.transforms import english_scope
from corpus_audit.errors import UsageError
from corpus_audit.lazy import LazyMapping, lazy_module
from corpus_audit.options import Options, option
from corpus_audit.transforms.base import Analysis, Proportion, ReportContext, StageCombineFn, Table, TableSpec

#: pyarrow is imported on first use (building a table), not with the stage modules: `run --help` needs none.
pa = lazy_module("pyarrow")

NO_LEXICON = "no_lexicon"
ENGLISH = "eng"
#: Languages segmented by a dictionary segmenter; matches are joined without a separator.
SEGMENTED = {"cmn": "jieba", "yue": "jieba", "jpn": "sudachipy", "tha": "pythainlp"}
#: Sudachi refuses long inputs (about 48 KB); documents are segmented in chunks of this many characters.
SUDACHI_CHUNK_CHARS = 8000


_W = WORD_CHAR
_WORD = f"{_W}+(?:'{_W}+)*"
#: A hyphen is a token of its own (not counted as a word): ``grand-mère`` -> ``grand - mère``,
#: so the listed compound matches as a sequence and an unlisted one (``ex-wife``,
#: ``arrière-grand-mère``) still shows its listed part. (A plain ``-`` alternative: a
#: look-behind for "between two letters" halves the splitter's speed.)
_HYPHEN = "-"
#: Elided articles/prepositions split off the word they precede (``l'actrice`` -> ``l'`` + ``actrice``).
ELISIONS = {
    "fra": "jusqu lorsqu puisqu quoiqu presqu quelqu qu l d j m n s t c",
    "ita": "dell all dall nell sull coll quell bell sant quest anch tutt nessun ciascun buon un l d c s m t v n",
    "cat": "l d s m t n",
}
_HAS_WORD = re.compile(_W)
_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]")
_ARABIC_SCRIPT = {"arb", "pes", "urd", "ckb"}
_ARABIC_ARTICLE = "ال"


def word_pattern(code: str) -> re.Pattern[str]:
    """The word-token regex for a space-delimited language (lexicon code)."""
    if code == ENGLISH:
        # English: the tokenisation the pronoun and descriptor lists share (lexicons.matching),
        # computed once per document: "mother's" -> "mother" + "'s", "ex-wife" -> "ex" "-" "wife".
        return FULL_PATTERN
    if code in ELISIONS:
        prefixes = sorted(ELISIONS[code].split(), key=len, reverse=True)
        return re.compile(f"(?:{'|'.join(prefixes)})'(?={_W})|{_WORD}|{_HYPHEN}")
    return re.compile(f"{_WORD}|{_HYPHEN}")


def normalise(text: str, code: str) -> str:
    """NFC, casefold, one apostrophe and one hyphen; Arabic-script diacritics and tatweel removed,
    Russian ё as е. (English: `normalise_english`, which also drops soft hyphens and reads ``_``
    as a space.)"""
    if code == ENGLISH:
        return normalise_english(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.casefold()
    for variant in ("\u2019", "\u02bc", "\u2018"):
        if variant in text:
            text = text.replace(variant, "'")
    for variant in ("\u2010", "\u2011"):
        if variant in text:
            text = text.replace(variant, "-")
    if code in _ARABIC_SCRIPT:
        text = _ARABIC_DIACRITICS.sub("", text)
    elif code == "rus" and "ё" in text:
        text = text.replace("ё", "е")  # ё is mostly written е; both sides are normalised alike
    return text


# ----------------------------------------------------------------------------- tokenisers


class Splitter:
    """How the normalised text of one language becomes tokens for matching.

    ``tokens`` gives the word tokens (and hyphen tokens, for languages written with spaces) in
    order; ``spans`` their offsets in the same text (only asked for languages written with
    spaces, on the rare documents with a multi-word hit); ``keys`` the lexicon's forms as
    matcher keys. `NounMatcher` takes any splitter: the stage uses `default_splitter`, the
    tests and ``bench/gender_gap_tokenisers.py`` an oracle (spaCy) to check it against.
    """

    #: Recorded in ``summary.json`` (``stages.gender_gap.lexicons.tokenisers``).
    name: str = "regex"
    #: What tokens are joined by for matching: a space, or nothing for dictionary segmenters.
    separator: str = " "

    def tokens(self, normalised: str) -> list[str]:
        raise NotImplementedError

    def spans(self, normalised: str) -> list[tuple[int, int]]:
        raise NotImplementedError(f"{self.name}: no token offsets")

    def keys(self, forms: list[str]) -> list[str]:
        """Each normalised form's tokens joined by `separator` ("" for a form without a word)."""
        separator, tokens = self.separator, self.tokens
        return [separator.join(tokens(form)) for form in forms]


class RegexSplitter(Splitter):
    """The regex word splitter of a language written with spaces (`word_pattern`)."""

    def __init__(self, code: str) -> None:
        self.pattern = word_pattern(code)
        # English: the pattern that fits each text (`split_normalised`: the same tokens as
        # FULL_PATTERN, which finds the token offsets).
        self.tokens = split_normalised if code == ENGLISH else self.pattern.findall

    def spans(self, normalised: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.pattern.finditer(normalised)]

    def keys(self, forms: list[str]) -> list[str]:
        findall = self.pattern.findall  # English too: FULL_PATTERN gives the tokens split_normalised gives
        return [" ".join(findall(form)) for form in forms]


class SegmenterSplitter(Splitter):
    """A dictionary segmenter (jieba, SudachiPy, pythainlp); tokens are joined without a separator."""

    separator = ""

    def __init__(self, name: str, tokenise: Callable[[str], list[str]]) -> None:
        self.name = name
        self.tokens = tokenise


class SpacySplitter(Splitter):
    """``spacy.blank(lang).tokenizer`` as a splitter: ``--gender-gap-tokenizer spacy``, and the
    oracle the regex splitter is checked against (tests/test_gender_gap_spacy.py,
    bench/gender_gap_tokenisers.py).

    spaCy is an optional dependency (the ``spacy`` extra): it is imported here, when a splitter
    is made. Kept tokens: those with a word character, and ``-`` (a hyphen
    is a token of its own, not a word, as in the regex splitter). Languages spaCy has no
    tokenizer for use its multi-language ``xx`` rules (`language` says which ran).
    """

    def __init__(self, code: str) -> None:
        import spacy

        self.language = spacy_language(code)
        try:
            nlp = spacy.blank(self.language)
        except ImportError:  # a tokenizer that needs a package of its own (ko: mecab, vi: pyvi)
            self.language = "xx"
            nlp = spacy.blank("xx")
        self.name = f"spacy:{self.language}"
        self.tokenizer = nlp.tokenizer

    @staticmethod
    def _keep(text: str) -> bool:
        return text == HYPHEN_TOKEN or _HAS_WORD.search(text) is not None

    def tokens(self, normalised: str) -> list[str]:
        keep = self._keep
        return [t.text for t in self.tokenizer(normalised) if keep(t.text)]

    def tokens_many(self, texts: list[str], batch_size: int = 1000) -> list[list[str]]:
        """`tokens` of many texts, batched with the tokenizer's ``pipe``."""
        keep = self._keep
        return [[t.text for t in doc if keep(t.text)] for doc in self.tokenizer.pipe(texts, batch_size=batch_size)]

    def spans(self, normalised: str) -> list[tuple[int, int]]:
        keep = self._keep
        return [(t.idx, t.idx + len(t.text)) for t in self.tokenizer(normalised) if keep(t.text)]


def spacy_language(code: str) -> str:
    """The spaCy language code of lexicon ``code`` (its ISO 639-1 code where it has one;
    ``xx``, spaCy's multi-language rules, where spaCy has no such language)."""
    from spacy.util import get_lang_class

    two = _ISO639_1.get(code, code)
    try:
        get_lang_class(two)
    except ImportError:
        return "xx"
    return two


def _iso639_1() -> dict[str, str]:
    """Lexicon code -> its ISO 639-1 code (the first two-letter fastText label mapping to it)."""
    codes: dict[str, str] = {}
    for label, code in FASTTEXT_TO_LEXICON.items():
        if len(label) == 2:
            codes.setdefault(code, label)
    return codes


_ISO639_1 = _iso639_1()


def default_splitter(code: str, forms: list[str]) -> Splitter:
    """The stage's splitter for lexicon ``code``; ``forms``: its normalised forms (their words
    are added to the jieba and Thai dictionaries). A segmenter's package is imported here, on
    the first document in its language."""
    segmenter = SEGMENTED.get(code)
    if segmenter is None:
        return RegexSplitter(code)
    if segmenter == "sudachipy":
        return SegmenterSplitter(segmenter, _sudachi_tokeniser())
    words = [word for form in dict.fromkeys(forms) for word in form.split()]
    if segmenter == "jieba":
        return SegmenterSplitter(segmenter, _jieba_tokeniser(words))
    return SegmenterSplitter(segmenter, _thai_tokeniser(words))


def _jieba_tokeniser(words: list[str]) -> Callable[[str], list[str]]:
    import logging

    import jieba

    from corpus_audit.lexicons import jieba_dictionary

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    jieba_dictionary.initialise(tokenizer)  # a JSON cache: ~5x faster than jieba's own
    for word in words:
        tokenizer.add_word(word)
    cut = tokenizer.lcut
    has_word = _HAS_WORD.search

    def tokenise(text: str) -> list[str]:
        return [token for token in cut(text) if has_word(token)]

    return tokenise


def _sudachi_tokeniser() -> Callable[[str], list[str]]:
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary().tokenizer(mode=SplitMode.C)
    has_word = _HAS_WORD.search

    def tokenise(text: str) -> list[str]:
        tokens: list[str] = []
        for chunk in _chunks(text, SUDACHI_CHUNK_CHARS):
            tokens.extend(surface for m in tokenizer.tokenize(chunk) if has_word(surface := m.surface()))
        return tokens

    return tokenise


def _thai_tokeniser(words: list[str]) -> Callable[[str], list[str]]:
    from pythainlp.corpus.common import thai_words
    from pythainlp.tokenize import word_tokenize
    from pythainlp.util import dict_trie

    trie = dict_trie(set(thai_words()) | set(words))
    has_word = _HAS_WORD.search

    def tokenise(text: str) -> list[str]:
        return [t for t in word_tokenize(text, custom_dict=trie, engine="newmm", keep_whitespace=False)
                if has_word(t)]

    return tokenise


def _chunks(text: str, size: int):
    """Pieces of at most ``size`` characters, cut after a newline or 。 where there is one."""
    start = 0
    while len(text) - start > size:
        window = text[start:start + size]
        cut = max(window.rfind("\n"), window.rfind("。"))
        end = start + (cut + 1 if cut > 0 else size)
        yield text[start:end]
        start = end
    if start < len(text):
        yield text[start:]


# ----------------------------------------------------------------------------- matching

#: Automaton values are ints (no Python object per key): key length << 4 | multi-word 8 | gender bits.
_LENGTH_SHIFT = 4
_MULTI_WORD = 8
_GENDER_MASK = 7


class NounMatcher:
    """Tokenises the text of one language and counts its lexicon's nouns per gender.

    Built once per language, on the first document in it (`GenderGap.matcher`): the forms are
    normalised in one pass, turned into keys by the splitter and put in an Aho-Corasick
    automaton that stores one int per key, so building costs a few operations per form and
    about 40 bytes a key character.
    """

    def __init__(self, lexicon: LanguageLexicon, splitter: Splitter | None = None) -> None:
        import ahocorasick

        self.code = code = lexicon.code
        forms, genders = lexicon.unpack()
        # normalise() works character by character and keeps newlines: one call for every form.
        normalised = normalise("\n".join(forms), code).split("\n") if forms else []
        if len(normalised) != len(forms):  # pragma: no cover - guarded by the tests
            raise AssertionError(f"{code}: normalising the forms changed their number")
        self.splitter = splitter if splitter is not None else default_splitter(code, normalised)
        self.segmenter = self.splitter.name
        self.separator = separator = self.splitter.separator
        self.tokenise = self.splitter.tokens
        keys: dict[str, int] = {}
        get = keys.get
        for key, mask in zip(self.splitter.keys(normalised), genders):
            if key:
                keys[key] = get(key, 0) | mask  # forms equal once normalised count for all their genders
        if code == "arb":
            for key, mask in list(keys.items()):
                for variant in _arabic_variants(key):
                    keys.setdefault(variant, mask)  # a listed form keeps its own genders
        self.key_count = len(keys)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        add = self.automaton.add_word
        if separator:
            # Space-separated tokens: the key padded with a space on each side only matches
            # whole tokens of " <tokens joined by spaces> ", so the automaton (in C) drops the
            # hits inside longer words ("man" in "many") instead of a Python loop.
            for key, mask in keys.items():
                add(f" {key} ", len(key) << _LENGTH_SHIFT | (_MULTI_WORD if " " in key else 0) | mask)
        else:
            for key, mask in keys.items():
                add(key, len(key) << _LENGTH_SHIFT | mask)
        del keys
        if self.key_count:
            self.automaton.make_automaton()

    def key_genders(self) -> Iterator[tuple[str, frozenset[str]]]:
        """(key, genders) of every key: a key's tokens joined by `separator`."""
        strip = " " if self.separator else None
        for key, value in self.automaton.items():
            yield (key.strip(strip) if strip else key), GENDER_SETS[value & _GENDER_MASK]

    def _spans(self, text: str, normalised: str | None) -> tuple[list[tuple[int, int]], str]:
        """Offsets of the tokens in the normalised text (the same tokens as `tokenise`)."""
        if normalised is None:
            normalised = normalise(text, self.code)
        return self.splitter.spans(normalised), normalised

    def count(self, text: str, tokens: list[str] | None = None) -> tuple[int, int, int, int]:
        """(word tokens, masculine, feminine, unspecified) matches in ``text``; ``tokens``: its
        tokens when already known (English: `EnglishTokens.tokens`, shared with the pronoun and
        descriptor stages)."""
        return self.count_all(text, tokens)[:4]

    def count_all(self, text: str, tokens: list[str] | None = None) -> tuple[int, int, int, int, int]:
        """`count` and, last, the matches counted both as masculine and as feminine (a form the
        lexicon lists under both genders; the reference's ``ste_diff_fem_masc`` gives them a
        difference of 0)."""
        normalised = None
        if tokens is None:
            normalised = normalise(text, self.code)
            tokens = self.tokenise(normalised)
        words = len(tokens) - tokens.count(HYPHEN_TOKEN) if self.separator else len(tokens)
        if not tokens or not self.key_count:
            return words, 0, 0, 0, 0
        separator = self.separator
        joined = separator.join(tokens)
        candidates: list[tuple[int, int, int]] = []
        if separator:
            spans = None
            # Offsets in `joined`: the padded text's end offset minus 2 (leading space, trailing space).
            for padded_end, value in self.automaton.iter(f" {joined} "):
                end = padded_end - 2
                start = end - (value >> _LENGTH_SHIFT) + 1
                if value & _MULTI_WORD:
                    # A multi-word entry: its words must follow one another with nothing but spaces
                    # between them in the text ("mother, or father" is no "mother or father").
                    if spans is None:  # token offsets, computed only for documents with such a hit
                        spans, normalised = self._spans(text, normalised)
                    first = joined.count(" ", 0, start)
                    entry_tokens = joined.count(" ", start, end) + 1
                    if any(normalised[spans[i][1]:spans[i + 1][0]].strip()
                           for i in range(first, first + entry_tokens - 1)):
                        continue
                candidates.append((start, -end, value))
        else:
            boundaries = None
            for end, value in self.automaton.iter(joined):
                if boundaries is None:  # token edges, computed only for documents with a hit
                    boundaries = {0}
                    offset = 0
                    for token in tokens:
                        offset += len(token)
                        boundaries.add(offset)
                start = end - (value >> _LENGTH_SHIFT) + 1
                if start in boundaries and end + 1 in boundaries:
                    candidates.append((start, -end, value))
        masculine = feminine = unspecified = both = 0
        covered = -1
        for start, negative_end, value in sorted(candidates):
            if start <= covered:
                continue  # inside a longer match that starts earlier (or at the same place)
            covered = -negative_end
            masculine += value & 1
            feminine += (value >> 1) & 1
            unspecified += (value >> 2) & 1
            both += (value & 3) == 3
        return words, masculine, feminine, unspecified, both


def _arabic_variants(key: str) -> list[str]:
    """Forms of an Arabic noun with the proclitics written attached to it: a conjunction
    (wa-, fa-), a preposition (bi-, ka-, li-) and the article al- (li- + al- is written lil-)."""
    if " " in key:
        first, rest = key.split(" ", 1)
        return [f"{variant} {rest}" for variant in _arabic_variants(first)]
    bare = key[len(_ARABIC_ARTICLE):] if key.startswith(_ARABIC_ARTICLE) and len(key) > 3 else key
    variants = []
    for conjunction in ("", "و", "ف"):
        for preposition in ("", "ب", "ك", "ل"):
            for article in ("", _ARABIC_ARTICLE):
                if preposition == "ل" and article:
                    variants.append(conjunction + "لل" + bare)
                else:
                    variants.append(conjunction + preposition + article + bare)
    return [v for v in variants if v != key]


# ----------------------------------------------------------------------------- aggregation

# Accumulator slots per (language, lexicon code or None).
DOCUMENTS, TOKENS, MASCULINE, FEMININE, UNSPECIFIED, WITH_MATCH, WITH_MASCULINE, WITH_FEMININE, \
    WITH_UNSPECIFIED, SUM_DIFF_SQUARED, SUM_DIFF_TOKENS, SUM_TOKENS_SQUARED, MASCULINE_AND_FEMININE = range(13)
SLOTS = 13
#: Batch-scratch column (not written to ``documents/``): per document, the matches counted both
#: as masculine and as feminine (`NounMatcher.count_all`), for the reference view's standard error.
BOTH_COLUMN = "_gender_gap_masculine_and_feminine"


class GenderGapCombineFn(StageCombineFn):
    """Exact integer sums per (language, lexicon): documents, tokens, matches per gender,
    documents with a match (any / per gender), and the per-document sums the standard error
    needs (sum of D², D·t and t² with D = feminine - masculine and t = tokens of a document),
    and the matches counted both as masculine and as feminine (for the reference view's
    token-level standard error, `reference_standard_error`).

    Input per batch: ``{"language", "lexicon", "tokens", "masculine", "feminine", "unspecified"}``
    lists (``lexicon`` None and counts None for documents without a lexicon), optionally
    ``"both"`` (absent: 0 for every document).
    """

    def create_accumulator(self) -> dict[tuple[str, str | None], list[int]]:
        return {}

    def add_input(self, accumulator, batch_input):
        codes = batch_input["lexicon"]
        both_column = batch_input.get("both") or [0] * len(codes)
        for language, code, tokens, masculine, feminine, unspecified, both in zip(
                batch_input["language"], codes, batch_input["tokens"],
                batch_input["masculine"], batch_input["feminine"], batch_input["unspecified"], both_column):
            sums = accumulator.get((language, code))
            if sums is None:
                sums = accumulator[(language, code)] = [0] * SLOTS
            sums[DOCUMENTS] += 1
            if code is None:
                continue
            diff = feminine - masculine
            sums[TOKENS] += tokens
            sums[MASCULINE] += masculine
            sums[FEMININE] += feminine
            sums[UNSPECIFIED] += unspecified
            sums[WITH_MATCH] += bool(masculine or feminine or unspecified)
            sums[WITH_MASCULINE] += bool(masculine)
            sums[WITH_FEMININE] += bool(feminine)
            sums[WITH_UNSPECIFIED] += bool(unspecified)
            sums[SUM_DIFF_SQUARED] += diff * diff
            sums[SUM_DIFF_TOKENS] += diff * tokens
            sums[SUM_TOKENS_SQUARED] += tokens * tokens
            sums[MASCULINE_AND_FEMININE] += both or 0
        return accumulator

    def merge_accumulators(self, accumulators):
        merged: dict[tuple[str, str | None], list[int]] = {}
        for accumulator in accumulators:
            for key, sums in accumulator.items():
                target = merged.get(key)
                if target is None:
                    merged[key] = list(sums) + [0] * (SLOTS - len(sums))  # an older, shorter accumulator
                else:
                    for i, value in enumerate(sums):
                        target[i] += value
        return merged

    def extract_output(self, accumulator):
        return {key: tuple(value) for key, value in
                sorted(accumulator.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))}


def difference_standard_error(documents: int, tokens: int, sum_diff: int, sum_diff_squared: int,
                              sum_diff_tokens: int, sum_tokens_squared: int) -> float | None:
    """Standard error of R = sum(D) / sum(t), in matches per 100 tokens, with documents as
    clusters (ratio estimator, linearised): Var(R) = n/(n-1) * sum((D - R t)^2) / T^2.

    Computed from exact integers: sum((D - R t)^2) * T^2 = sum(D^2) T^2 - 2 S T sum(D t) + S^2 sum(t^2)
    with S = sum(D) and T = sum(t). None with fewer than 2 documents or no tokens.
    """
    if documents < 2 or tokens <= 0:
        return None
    numerator = (sum_diff_squared * tokens * tokens - 2 * sum_diff * tokens * sum_diff_tokens
                 + sum_diff * sum_diff * sum_tokens_squared)
    variance = documents * max(numerator, 0) / ((documents - 1) * tokens ** 4)
    return round(100.0 * math.sqrt(variance), 6)


def reference_standard_error(tokens: int, masculine: int, feminine: int, masculine_and_feminine: int = 0) -> float | None:
    """The reference pipeline's ``ste_diff_fem_masc``, from exact counts.

    The reference (ResponsibleNLP ``gender_gap_pipeline``) gives every token d = 1 when it is a
    masculine noun, minus 1 when feminine (0 when both or neither), and reports the standard
    error of the mean of d over all n tokens of the language: ``std(d, ddof=1) / sqrt(n)``, a
    fraction. With S = sum(d) = masculine - feminine and Q = sum(d²) = the matches of exactly one
    of the two genders, std² = (Q - S²/n) / (n - 1), so the result is
    sqrt((n Q - S²) / (n² (n - 1))). Here each match is one unit (a multi-word entry counts
    once, as one token would). None with fewer than 2 tokens (the reference's NaN).
    """
    if tokens < 2:
        return None
    total = masculine - feminine
    squares = masculine + feminine - 2 * masculine_and_feminine
    numerator = tokens * squares - total * total
    return math.sqrt(max(numerator, 0) / (tokens * tokens * (tokens - 1)))


def _rate(count: int, tokens: int) -> float | None:
    return round(100.0 * count / tokens, 4) if tokens else None


# ----------------------------------------------------------------------------- the analysis


#: ``--gender-gap-tokenizer`` values.
REGEX_TOKENIZER, SPACY_TOKENIZER = "regex", "spacy"
TOKENIZERS = (REGEX_TOKENIZER, SPACY_TOKENIZER)


@dataclass(frozen=True)
class GenderGapOptions(Options):
    """The options of the gender_gap stage."""

    GROUP: ClassVar[str] = "Gender-GAP person nouns (stage gender_gap)"
    gender_gap_lexicon: str | None = option(
        None, metavar="DIR", path=True,
        help="directory of <iso639-3>_nouns.json lexicons (e.g. the official v1.0 files); default: the downloaded "
             "official lexicons when cached (corpus-audit lexicons download gender-gap), else the project's own lists")
    gender_gap_tokenizer: str = option(
        REGEX_TOKENIZER, choices=TOKENIZERS,
        help="how space-delimited languages are split into words: 'regex' (default; no dependency) or 'spacy' "
             "(spaCy's rule-based tokenizer for the language: pip install 'corpus-audit[spacy]'); Chinese, Japanese "
             "and Thai always use their dictionary segmenters")


class GenderGap(Analysis):
    """Masculine, feminine and unspecified person nouns per language; table ``gender_gap``."""

    name = "gender_gap"
    requires = ("langid",)

    def __init__(self, lexicon_dir: str | None = None, tokenizer: str = REGEX_TOKENIZER) -> None:
        self.lexicon_option = lexicon_dir
        self.lexicons: LexiconSet = load_lexicons(lexicon_dir)
        self.tokenizer = tokenizer
        self._matchers: dict[str, NounMatcher] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_matchers"] = {}  # segmenters and automata are rebuilt where they are used
        return state

    # -- options -----------------------------------------------------------------------
    Options = GenderGapOptions
    TABLES = (
        TableSpec("gender_gap", ("language",), (
            Proportion("percent", "documents_with_match", "documents"),
            *(Proportion(f"percent_with_{gender}", f"documents_with_{gender}", "documents")
              for gender in ("masculine", "feminine", "unspecified")))),
        TableSpec("gender_gap_reference", ("lang",)),
    )
    REPORT_SECTION = "corpus_audit.report.sections.gender_gap"

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """``gender_gap_<tokens|masculine|feminine|unspecified>``: the document's counts."""
        return {name: float(row[name]) for name in ("gender_gap_tokens", "gender_gap_masculine",
                                                     "gender_gap_feminine", "gender_gap_unspecified")
                if row.get(name) is not None}

    @classmethod
    def from_options(cls, options: GenderGapOptions) -> "GenderGap":
        if options.gender_gap_tokenizer == SPACY_TOKENIZER:
            import importlib.util

            if importlib.util.find_spec("spacy") is None:
                raise UsageError("--gender-gap-tokenizer spacy needs spaCy, which is not installed: "
                                 "pip install 'corpus-audit[spacy]'")
        try:
            return cls(options.gender_gap_lexicon, options.gender_gap_tokenizer)
        except LexiconError as exc:
            raise UsageError(str(exc)) from exc

    def _splitter(self, code: str) -> Splitter | None:
        """spaCy's tokenizer for a space-delimited language when asked for; None: the default."""
        if self.tokenizer == SPACY_TOKENIZER and code not in SEGMENTED:
            return SpacySplitter(code)
        return None

    # -- per document --------------------------------------------------------------------
    @property
    def built_languages(self) -> tuple[str, ...]:
        """The languages whose matcher this process has built (each on its first document)."""
        return tuple(sorted(self._matchers))

    def matcher(self, code: str) -> NounMatcher:
        """The matcher of lexicon ``code``, built on first use (with its segmenter, if any)."""
        matcher = self._matchers.get(code)
        if matcher is None:
            matcher = self._matchers[code] = NounMatcher(self.lexicons.languages[code], self._splitter(code))
            gc.freeze()  # its dictionaries live as long as the worker (see AuditWorkUnit.setup)
        return matcher

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("gender_gap_lexicon", pa.string()), pa.field("gender_gap_tokens", pa.int64()),
                pa.field("gender_gap_masculine", pa.int64()), pa.field("gender_gap_feminine", pa.int64()),
                pa.field("gender_gap_unspecified", pa.int64())]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        available = self.lexicons.languages
        codes: list[str | None] = []
        tokens: list[int | None] = []
        masculine: list[int | None] = []
        feminine: list[int | None] = []
        unspecified: list[int | None] = []
        both: list[int] = []
        # English tokens made by the pronoun/descriptor stages for this batch (one tokenisation).
        english = columns.get(english_scope.TOKENS_COLUMN)
        if english is None or len(english) != len(batch):
            english = [None] * len(batch)
        for text, language, shared in zip(batch.texts, columns["language"], english):
            code = lexicon_code(language, available)
            codes.append(code)
            if code is None:
                counts: tuple = (None, None, None, None, 0)
            elif code == ENGLISH and shared is not None:
                counts = self.matcher(code).count_all(text, shared.tokens)
            else:
                counts = self.matcher(code).count_all(text)
            tokens.append(counts[0])
            masculine.append(counts[1])
            feminine.append(counts[2])
            unspecified.append(counts[3])
            both.append(counts[4])
        return {"gender_gap_lexicon": codes, "gender_gap_tokens": tokens, "gender_gap_masculine": masculine,
                "gender_gap_feminine": feminine, "gender_gap_unspecified": unspecified, BOTH_COLUMN: both}

    # -- aggregation ---------------------------------------------------------------------
    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        return {"language": columns["language"], "lexicon": columns["gender_gap_lexicon"],
                "tokens": columns["gender_gap_tokens"], "masculine": columns["gender_gap_masculine"],
                "feminine": columns["gender_gap_feminine"], "unspecified": columns["gender_gap_unspecified"],
                "both": columns.get(BOTH_COLUMN)}

    def combine_fn(self) -> StageCombineFn:
        return GenderGapCombineFn()

    def tables(self, aggregate: Mapping[tuple[str, str | None], tuple[int, ...]],
               context: ReportContext) -> list[Table]:
        rows = sorted(aggregate.items(), key=lambda kv: (-kv[1][DOCUMENTS], kv[0][0], kv[0][1] or ""))
        columns: dict[str, list] = {name: [] for name in TABLE_COLUMNS}
        for (language, code), sums in rows:
            documents = sums[DOCUMENTS]
            row: dict[str, Any] = {"language": language, "language_name": table_language_name(language),
                                   "lexicon": code or NO_LEXICON, "documents": documents,
                                   "small_sample": is_small_sample(documents)}
            if code is not None:
                tokens = sums[TOKENS]
                matches = sums[MASCULINE] + sums[FEMININE] + sums[UNSPECIFIED]
                row.update(tokens=tokens, documents_with_match=sums[WITH_MATCH],
                           percent=percent(sums[WITH_MATCH], documents),
                           feminine_minus_masculine_per_100_tokens=_rate(sums[FEMININE] - sums[MASCULINE], tokens),
                           feminine_minus_masculine_se=difference_standard_error(
                               documents, tokens, sums[FEMININE] - sums[MASCULINE], sums[SUM_DIFF_SQUARED],
                               sums[SUM_DIFF_TOKENS], sums[SUM_TOKENS_SQUARED]))
                for gender, slot, with_slot in (("masculine", MASCULINE, WITH_MASCULINE),
                                                ("feminine", FEMININE, WITH_FEMININE),
                                                ("unspecified", UNSPECIFIED, WITH_UNSPECIFIED)):
                    row[gender] = sums[slot]
                    row[f"{gender}_per_100_tokens"] = _rate(sums[slot], tokens)
                    row[f"{gender}_share"] = percent(sums[slot], matches) if matches else None
                    row[f"documents_with_{gender}"] = sums[with_slot]
                    row[f"percent_with_{gender}"] = percent(sums[with_slot], documents)
            for name in TABLE_COLUMNS:
                columns[name].append(row.get(name))
        data = pa.table({name: pa.array(values, TABLE_COLUMNS[name]) for name, values in columns.items()})
        lexicons = self.lexicons
        provenance = (f"Lexicons: {lexicons.name}" + (f" {lexicons.version}" if lexicons.version else "")
                      + f" ({lexicons.source}; digest {lexicons.digest()[:12]}); {len(lexicons.languages)} "
                      "language(s).")
        notes = [
            provenance,
            "tokens = word tokens (punctuation not counted, hyphenated words count each part; the reference pipeline's Stanza tokens include "
            "punctuation, so its rates per 100 tokens are lower: about a sixth on English text). Regex word splitting for languages "
            "written with spaces; jieba (Chinese), SudachiPy mode C (Japanese), pythainlp newmm (Thai).",
            "Matches are case-insensitive on token sequences, singular and plural forms, multi-word and "
            "hyphenated entries included; a form listed under two genders counts for both.",
            "*_share = percent of all matches of the language; percent = % of the language's documents with "
            "at least one match (percent_with_<gender>: with one of that gender).",
            "feminine_minus_masculine_se: standard error of (feminine - masculine) per 100 tokens, documents "
            "as clusters (ratio estimator). The reference pipeline's ste_diff_fem_masc treats tokens as "
            "independent and is a fraction (divide per-100 values by 100).",
            f"Documents whose language has no lexicon are counted in `{NO_LEXICON}` rows (no tokens counted).",
            f"language_name: English name of the fastText code (langcodes); small_sample: fewer than "
            f"{SMALL_SAMPLE_DOCUMENTS} documents in the row (its percentages are over them).",
            "Beside it, `gender_gap_reference` gives the reference pipeline's own columns per lexicon.",
        ]
        with_lexicon = [i for i, ((_, code), _) in enumerate(rows) if code is not None]
        if len(with_lexicon) < len(rows):
            without = [sums[DOCUMENTS] for (_, code), sums in rows if code is None]
            count = sum(without)
            notes.append(f"This view lists the languages with a lexicon; the {len(without)} without one "
                         f"({count:,} document{'' if count == 1 else 's'}) are in the `{NO_LEXICON}` rows of "
                         "gender_gap.csv.")
        return [Table("gender_gap", data, "Gender-GAP: gendered person nouns per language", notes,
                      markdown_rows=with_lexicon, markdown_columns=MARKDOWN_COLUMNS),
                self._reference_table(aggregate, provenance)]

    def _reference_table(self, aggregate: Mapping[tuple[str, str | None], tuple[int, ...]],
                         provenance: str) -> Table:
        """``gender_gap_reference``: per lexicon, the columns of the reference pipeline's report
        (facebookresearch/ResponsibleNLP ``gender_gap_pipeline``, ``reports/report.csv``)."""
        by_lexicon: dict[str, list[int]] = {}
        languages: dict[str, list[str]] = {}
        for (language, code), sums in aggregate.items():
            if code is None:
                continue
            target = by_lexicon.setdefault(code, [0] * SLOTS)
            for i, value in enumerate(sums):
                target[i] += value
            languages.setdefault(code, []).append(language)
        order = sorted(by_lexicon, key=lambda code: (-by_lexicon[code][DOCUMENTS], code))
        columns: dict[str, list] = {name: [] for name in REFERENCE_COLUMNS}
        for code in order:
            sums = by_lexicon[code]
            tokens, documents = sums[TOKENS], sums[DOCUMENTS]
            row = {
                "lang": code, "language_name": table_language_name(code),
                "language": ", ".join(sorted(languages[code])), "documents": documents,
                "masculine": 100.0 * sums[MASCULINE] / tokens if tokens else None,
                "feminine": 100.0 * sums[FEMININE] / tokens if tokens else None,
                "unspecified": 100.0 * sums[UNSPECIFIED] / tokens if tokens else None,
                "total": tokens,
                "n_doc_w_match": 100.0 * sums[WITH_MATCH] / documents if documents else None,
                "ste_diff_fem_masc": reference_standard_error(tokens, sums[MASCULINE], sums[FEMININE],
                                                              sums[MASCULINE_AND_FEMININE]),
                "small_sample": is_small_sample(documents),
            }
            for name in REFERENCE_COLUMNS:
                columns[name].append(row[name])
        data = pa.table({name: pa.array(values, REFERENCE_COLUMNS[name]) for name, values in columns.items()})
        notes = [
            "The columns of the Gender-GAP reference pipeline's report (Muller et al. 2023; "
            "facebookresearch/ResponsibleNLP gender_gap_pipeline, reports/report.csv), one row per lexicon "
            "(`lang`, ISO 639-3; `language`: the fastText codes counted in it): masculine / feminine / "
            "unspecified = matches in % of the word tokens, total = word tokens, n_doc_w_match = % of "
            "documents with at least one match, ste_diff_fem_masc = std(d, ddof=1) / sqrt(total) with d = 1 "
            "for a masculine token, -1 for a feminine one, 0 otherwise (a fraction, tokens independent). "
            "Unrounded here as there; the reference's `dataset` column is the run itself.",
            "Unit: the reference counts samples, a line of a text file or a record of a dataset (its "
            "newlines replaced by spaces); here a sample is a document, so on a JSONL or Parquet corpus "
            "n_doc_w_match is what the reference reports for the same records.",
            "Tokens differ from the reference's Stanza tokens: total here counts words only (Stanza's tokens "
            "include punctuation, so its total is larger and its percentages smaller: about a sixth on English "
            "text); a hyphen is a token "
            "of its own here, not counted (Stanza follows its UD treebank, several of which keep a hyphenated "
            "word whole); English clitics ('s, 're) are split off here as in spaCy; Chinese, Japanese and "
            "Thai use jieba, SudachiPy and pythainlp here (Stanza's segmenters for Chinese and Japanese, "
            "pythainlp for Thai, there). The reference matches single tokens only, after str.lower(); here "
            "multi-word entries match too (one unit each), after casefolding. See the README (Gender-GAP).",
            provenance,
        ]
        return Table("gender_gap_reference", data, "Gender-GAP: the reference pipeline's columns", notes,
                     markdown_columns=("lang", "language_name", "masculine", "feminine", "unspecified", "total",
                                       "n_doc_w_match", "ste_diff_fem_masc"),
                     percent_columns=("n_doc_w_match",))

    def run_warning(self) -> str | None:
        if self.lexicons.describe().get("source") != "default":
            return None
        return ("gender_gap: the lexicons are corpus-audit's own short lists, not the official Gender-GAP files: "
                "figures are not comparable with the paper's (get them with `corpus-audit lexicons download "
                "gender-gap`, or give them with --gender-gap-lexicon DIR)")

    def settings(self) -> dict[str, Any]:
        described = self.lexicons.describe()
        described["tokenisers"] = {code: SEGMENTED.get(code, self.tokenizer) for code in sorted(self.lexicons.languages)}
        if self.tokenizer == SPACY_TOKENIZER:
            from importlib import metadata

            described["spacy_version"] = metadata.version("spacy")
        described["segmenter_versions"] = _segmenter_versions()
        described["matching"] = ("casefolded token sequences, longest non-overlapping match, "
                                 "singular+plural, multi-word and hyphenated entries; Arabic proclitics "
                                 "(wa-, fa-, bi-, ka-, li-, al-) attached to listed nouns")
        return {"lexicons": described}


#: Column -> Arrow type of the gender_gap table (built on first use: the types need pyarrow).
TABLE_COLUMNS: Mapping[str, pa.DataType] = LazyMapping(lambda: {
    "language": pa.string(), "language_name": pa.string(), "lexicon": pa.string(), "documents": pa.int64(),
    "tokens": pa.int64(),
    "masculine": pa.int64(), "feminine": pa.int64(), "unspecified": pa.int64(),
    "masculine_per_100_tokens": pa.float64(), "feminine_per_100_tokens": pa.float64(),
    "unspecified_per_100_tokens": pa.float64(),
    "masculine_share": pa.float64(), "feminine_share": pa.float64(), "unspecified_share": pa.float64(),
    "documents_with_match": pa.int64(), "percent": pa.float64(), "feminine_minus_masculine_se": pa.float64(),
    "feminine_minus_masculine_per_100_tokens": pa.float64(),
    "documents_with_masculine": pa.int64(), "documents_with_feminine": pa.int64(),
    "documents_with_unspecified": pa.int64(), "percent_with_masculine": pa.float64(),
    "percent_with_feminine": pa.float64(), "percent_with_unspecified": pa.float64(),
    "small_sample": pa.bool_(),
})
#: The compact Markdown view of ``gender_gap`` (the CSV and Parquet files keep every column).
MARKDOWN_COLUMNS = ("language", "language_name", "documents", "tokens", "masculine_per_100_tokens",
                    "feminine_per_100_tokens", "unspecified_per_100_tokens", "percent")
#: ``gender_gap_reference``: the reference pipeline's report columns, with our keys around them
#: (built on first use, as `TABLE_COLUMNS`).
REFERENCE_COLUMNS: Mapping[str, pa.DataType] = LazyMapping(lambda: {
    "lang": pa.string(), "language_name": pa.string(), "language": pa.string(), "documents": pa.int64(),
    "masculine": pa.float64(), "feminine": pa.float64(), "unspecified": pa.float64(), "total": pa.int64(),
    "n_doc_w_match": pa.float64(), "ste_diff_fem_masc": pa.float64(), "small_sample": pa.bool_(),
})


def _segmenter_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("jieba", "sudachipy", "sudachidict-core", "pythainlp", "pyahocorasick"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


__all__ = ["GenderGap", "GenderGapCombineFn", "NO_LEXICON", "NounMatcher", "RegexSplitter", "SEGMENTED",
           "SegmenterSplitter", "SpacySplitter", "Splitter", "default_splitter", "difference_standard_error", "normalise",
           "reference_standard_error", "spacy_language", "word_pattern"]
