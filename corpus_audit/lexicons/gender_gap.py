"""Gender-GAP person-noun lexicons: loading, validation, language codes, precedence.

A lexicon is one JSON file per language, ``<iso639-3>_nouns.json``, in the format of the
official Gender-GAP v1.0 files (Muller et al. 2023)::

    {"feminine": [{"singular": "woman", "plural": "women"}, ...],
     "masculine": [...], "unspecified": [...]}

Which lexicon directory is used (first that applies):

1. ``--gender-gap-lexicon DIR`` (any directory of ``*_nouns.json`` files);
2. the official v1.0 files downloaded by ``corpus-audit lexicons download gender-gap``
   (``cached_lexicon_dir("gender-gap")``);
3. the project's own default lists shipped in ``gender_gap_default/`` (not the official
   lists; see its README.md).

Documents are labelled by fastText (ISO 639-1 codes such as ``fr``, ``zh``); `lexicon_code`
maps them to the lexicon's ISO 639-3 codes, macrolanguages included (``zh`` -> ``cmn``).

Bounded and cheap: a directory is refused, with one line naming the file that crosses the
bound, when it holds more than `LexiconLimits` allows in total (files, bytes, forms, characters
of the matchers' keys); the byte total is checked from the file sizes before anything is parsed.
Each language keeps its forms packed, zlib-compressed with one byte of gender bits per form
(`LanguageLexicon`), so a lexicon set costs less than its files in memory and Beam pickles it
to the workers in milliseconds; the form → genders dictionary is built only when asked for.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterator

from corpus_audit.lexicons.cache import (GENDER_GAP_V1_LANGUAGES, MAX_LEXICON_FILE_BYTES, SOURCES, LexiconError,
                                         cached_lexicon_dir, read_lexicon_file, read_lexicon_json)

GENDERS = ("masculine", "feminine", "unspecified")
#: Bit of each gender in a `LanguageLexicon` (masculine 1, feminine 2, unspecified 4).
GENDER_BITS = {gender: 1 << index for index, gender in enumerate(GENDERS)}
#: The gender set of each bit mask, one shared frozenset per combination.
GENDER_SETS = tuple(frozenset(g for g in GENDERS if mask & GENDER_BITS[g]) for mask in range(8))
#: Gender keys accepted as spellings of the three genders. The official v1.0 ``lvs_nouns.json``
#: (Latvian) uses ``female``/``male`` where every other file uses ``feminine``/``masculine``.
GENDER_ALIASES = {"masculine": "masculine", "feminine": "feminine", "unspecified": "unspecified",
                  "male": "masculine", "female": "feminine"}
FORM_KEYS = ("singular", "plural")
FILE_SUFFIX = "_nouns.json"
DEFAULT_PACKAGE_DIR = "gender_gap_default"
DEFAULT_VERSION_FILE = "VERSION"

SOURCE_OPTION = "option"
SOURCE_CACHE = "cache"
SOURCE_DEFAULT = "default"

#: fastText lid.176 label (ISO 639-1 where one exists) -> ISO 639-3 code of the lexicon file.
#: Macrolanguages map to the individual language the Gender-GAP lexicon was written for.
FASTTEXT_TO_LEXICON: dict[str, str] = {
    # macrolanguages
    "zh": "cmn", "ar": "arb", "fa": "pes", "lv": "lvs", "mn": "khk", "sw": "swh", "uz": "uzn",
    # plain ISO 639-1 -> 639-3
    "as": "asm", "be": "bel", "bn": "ben", "bg": "bul", "ca": "cat", "cs": "ces", "cy": "cym",
    "da": "dan", "de": "deu", "el": "ell", "en": "eng", "et": "est", "fi": "fin", "fr": "fra",
    "ga": "gle", "hi": "hin", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "kn": "kan",
    "ka": "kat", "ky": "kir", "ko": "kor", "lt": "lit", "lg": "lug", "mr": "mar", "mt": "mlt",
    "nl": "nld", "pa": "pan", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk",
    "sl": "slv", "es": "spa", "sv": "swe", "ta": "tam", "te": "tel", "tl": "tgl", "th": "tha",
    "tr": "tur", "ur": "urd", "vi": "vie", "zu": "zul",
    # lid.176 labels that are already ISO 639-3
    "ckb": "ckb", "yue": "yue",
    # ISO 639-3/639-2 macrolanguage codes some labellers emit
    "zho": "cmn", "chi": "cmn", "ara": "arb", "fas": "pes", "per": "pes", "lav": "lvs", "mon": "khk",
    "swa": "swh", "uzb": "uzn",
}

_CODE_RE = re.compile(r"^[a-z]{2,3}$")

# Bounds of one lexicon directory, in total. The official v1.0 set: 55 files, 367 KB, 11,841 forms
# (13,589 matcher keys), 124,929 key characters. Near the bounds, a 6 MB file of 234,000 forms
# loads in ~2 s, builds its matcher in ~2.5 s and peaks at ~350 MB in a whole run on the 2-core
# development machine (bench/gender_gap.py --large-lexicon 6). The per-file byte cap of
# `lexicons.cache` still applies.
MAX_LEXICON_FILES = 256
MAX_LEXICON_TOTAL_BYTES = 8 * 1024 * 1024
#: Matcher keys: each form once, Arabic forms `MATCHER_KEYS_PER_FORM` times.
MAX_LEXICON_FORMS = 250_000
#: Characters of the matchers' keys (each key plus its two padding spaces, Arabic keys
#: `MATCHER_KEYS_PER_FORM` times): the size bound of the Aho-Corasick automata (~40 bytes a character).
MAX_LEXICON_CHARACTERS = 4_000_000
#: Keys the Gender-GAP matcher builds per form: Arabic adds 23 spellings with attached proclitics
#: (``transforms.gender_gap._arabic_variants``); every other language one.
MATCHER_KEYS_PER_FORM = {"arb": 24}


@dataclass(frozen=True)
class LexiconLimits:
    """Totals one lexicon directory may not exceed (`load_directory` refuses it, naming the file)."""

    files: int = MAX_LEXICON_FILES
    total_bytes: int = MAX_LEXICON_TOTAL_BYTES
    forms: int = MAX_LEXICON_FORMS
    characters: int = MAX_LEXICON_CHARACTERS


DEFAULT_LIMITS = LexiconLimits()


class _Budget:
    """What is left of `LexiconLimits` while the files of one directory are loaded."""

    def __init__(self, limits: LexiconLimits) -> None:
        self.limits = limits
        self.forms = 0
        self.characters = 0

    def charge(self, path: str, code: str, forms: list[str]) -> None:
        weight = MATCHER_KEYS_PER_FORM.get(code, 1)
        self.forms += weight * len(forms)
        self.characters += weight * (sum(map(len, forms)) + 2 * len(forms))
        limits = self.limits
        if self.forms > limits.forms:
            raise LexiconError(f"{path}: the lexicon files up to this one hold {self.forms:,} forms (matcher keys), "
                               f"over the {limits.forms:,} allowed in one lexicon directory")
        if self.characters > limits.characters:
            raise LexiconError(f"{path}: the lexicon files up to this one hold {self.characters:,} characters of "
                               f"forms (matcher keys), over the {limits.characters:,} allowed in one lexicon directory")


#: sha256 of the lines "<code>:<sha256 of the file>\n" (codes sorted) of the 55 official v1.0
#: files: a directory with exactly these files is reported as the official v1.0 lexicons.
OFFICIAL_V1_DIGEST = "6c30badb3e1ba764383042c8b96b2fb39b86f5f22adb284f5001be8550ffc3b3"


def lexicon_code(language: str | None, available: "set[str] | dict | None" = None) -> str | None:
    """The ISO 639-3 lexicon code for a fastText language label, or None.

    A label that is already a lexicon code (``eng``) maps to itself. With ``available``,
    codes without a loaded lexicon give None.
    """
    if not language:
        return None
    key = language.strip().lower().replace("_", "-").split("-", 1)[0]
    code = FASTTEXT_TO_LEXICON.get(key)
    if code is None and len(key) == 3 and _CODE_RE.match(key):
        code = key
    if code is None:
        return None
    if available is not None and code not in available:
        return None
    return code


@dataclass(frozen=True)
class LanguageLexicon:
    """The nouns of one language: normalised-later surface forms with their gender(s).

    ``packed`` holds, zlib-compressed, one byte per form (its `GENDER_BITS`: a form listed
    under two genders counts for both, as in the reference pipeline) followed by the forms as
    written (whitespace trimmed and collapsed), in the order first listed, joined by newlines.
    A lexicon set is pickled to the workers several times per run (by Beam, bz2-compressed):
    this keeps it a few bytes a form. ``forms`` gives the same as a dictionary; ``ignored``
    counts placeholder forms without a letter (``""``, ``"-"``).
    """

    code: str
    path: str
    sha256: str
    entries: dict[str, int]
    ignored: int
    form_count: int
    packed: bytes

    @classmethod
    def from_masks(cls, code: str, path: str, sha256: str, masks: dict[str, int], entries: dict[str, int],
                   ignored: int) -> "LanguageLexicon":
        """From ``{form: gender bits}`` (forms hold no newline: their whitespace is collapsed)."""
        payload = bytes(masks.values()) + "\n".join(masks).encode("utf-8")
        return cls(code, path, sha256, entries, ignored, len(masks), zlib.compress(payload, 6))

    def unpack(self) -> tuple[list[str], bytes]:
        """(the forms in the order first listed, the gender bits of each)."""
        payload = zlib.decompress(self.packed)
        count = self.form_count
        forms = payload[count:].decode("utf-8").split("\n") if count else []
        return forms, payload[:count]

    def items(self) -> Iterator[tuple[str, frozenset[str]]]:
        """(form, genders) pairs in the order first listed."""
        forms, genders = self.unpack()
        return zip(forms, map(GENDER_SETS.__getitem__, genders))

    @property
    def forms(self) -> dict[str, frozenset[str]]:
        """``{form as written: the genders it is listed under}`` (built on each call)."""
        return dict(self.items())


@dataclass
class LexiconSet:
    """Every language lexicon of one directory, and where it came from."""

    source: str  # option | cache | default
    directory: str
    name: str
    version: str | None
    languages: dict[str, LanguageLexicon] = field(default_factory=dict)

    def digest(self) -> str:
        """One sha256 over every file's code and sha256 (see `OFFICIAL_V1_DIGEST`)."""
        lines = "".join(f"{code}:{self.languages[code].sha256}\n" for code in sorted(self.languages))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()

    def describe(self) -> dict[str, Any]:
        """For ``summary.json``: source, version and each file's sha256."""
        return {
            "source": self.source,
            "name": self.name,
            "version": self.version,
            "directory": self.directory,
            "digest": self.digest(),
            "languages": sorted(self.languages),
            "files": {lex.code: {"file": os.path.basename(lex.path), "sha256": lex.sha256,
                                 "entries": lex.entries, "ignored_placeholder_forms": lex.ignored}
                      for lex in sorted(self.languages.values(), key=lambda lex: lex.code)},
        }


_LETTER_RE = re.compile(r"[^\W_\d]", re.UNICODE)


def parse_lexicon(data: Any, where: str, code: str) -> tuple[dict[str, frozenset[str]], dict[str, int], int]:
    """Validate the parsed JSON of one lexicon file; errors name ``where`` and the problem.

    Returns ``({form: genders}, entries per gender, ignored placeholder forms)``."""
    masks, entries, ignored = parse_lexicon_masks(data, where)
    return {form: GENDER_SETS[mask] for form, mask in masks.items()}, entries, ignored


_FORM_KEYS = frozenset(FORM_KEYS)


def parse_lexicon_masks(data: Any, where: str) -> tuple[dict[str, int], dict[str, int], int]:
    """`parse_lexicon` with each form's genders as `GENDER_BITS` (one small int per form: the
    cheap form of a large file; a few Python operations per entry)."""
    if not isinstance(data, dict):
        raise LexiconError(f"{where}: expected a JSON object with keys feminine/masculine/unspecified, "
                           f"got {type(data).__name__}")
    if not data:
        raise LexiconError(f"{where}: empty object, no gender lists")
    masks: dict[str, int] = {}
    entries = {gender: 0 for gender in GENDERS}
    ignored = 0
    letter = _LETTER_RE.search
    for key, items in data.items():
        gender = GENDER_ALIASES.get(key.strip().lower() if isinstance(key, str) else key)
        if gender is None:
            raise LexiconError(f"{where}: unknown gender key {key!r} (expected feminine, masculine or unspecified)")
        if not isinstance(items, list):
            raise LexiconError(f"{where}: {key!r} must be a list of {{\"singular\": ..., \"plural\": ...}} "
                               f"objects, got {type(items).__name__}")
        bit = GENDER_BITS[gender]
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise LexiconError(f"{where}: {key}[{index}] must be an object with singular/plural, "
                                   f"got {type(item).__name__}")
            if not item.keys() <= _FORM_KEYS:
                unknown = [k for k in item if k not in _FORM_KEYS]
                raise LexiconError(f"{where}: {key}[{index}] has unknown key(s) {', '.join(map(repr, unknown))} "
                                   "(expected singular, plural)")
            listed = False
            for form_key in FORM_KEYS:
                value = item.get(form_key)
                if value is None:
                    continue
                listed = True
                if not isinstance(value, str):
                    raise LexiconError(f"{where}: {key}[{index}].{form_key} must be a string, "
                                       f"got {type(value).__name__}")
                form = " ".join(value.split())
                if not letter(form):
                    ignored += 1  # official files hold "" and "-" where a form does not exist
                    continue
                masks[form] = masks.get(form, 0) | bit
            if not listed:
                raise LexiconError(f"{where}: {key}[{index}] has neither a singular nor a plural form")
            entries[gender] += 1
    return masks, entries, ignored


def _file_code(path: str) -> str:
    name = os.path.basename(path)
    if not name.endswith(FILE_SUFFIX):
        raise LexiconError(f"{path}: a Gender-GAP lexicon file is named <iso639-3>{FILE_SUFFIX}")
    code = name[: -len(FILE_SUFFIX)].lower()
    if not _CODE_RE.match(code):
        raise LexiconError(f"{path}: file name does not start with a language code (<iso639-3>{FILE_SUFFIX})")
    return code


def load_language_file(path: str, max_bytes: int = MAX_LEXICON_FILE_BYTES,
                       budget: _Budget | None = None) -> LanguageLexicon:
    """Load and validate one ``<code>_nouns.json`` file (at most ``max_bytes``)."""
    code = _file_code(path)
    data, digest = read_lexicon_file(path, max_bytes)
    masks, entries, ignored = parse_lexicon_masks(data, path)
    del data  # the parsed JSON is many times the file's size; only the packed forms are kept
    lexicon = LanguageLexicon.from_masks(code, path, digest, masks, entries, ignored)
    if budget is not None:
        budget.charge(path, code, list(masks))
    return lexicon


def _check_sizes(paths: list[str], limits: LexiconLimits) -> None:
    """Refuse a directory over the file or byte bound from its listing and sizes, before parsing."""
    if len(paths) > limits.files:
        raise LexiconError(f"{paths[limits.files]}: more than {limits.files:,} lexicon files in one directory "
                           f"({len(paths):,} *{FILE_SUFFIX} files)")
    total = 0
    for path in paths:
        try:
            size = os.stat(path).st_size
        except OSError:
            continue  # reported by read_lexicon_file, with the reason
        total += size
        if total > limits.total_bytes:
            raise LexiconError(f"{path}: the lexicon files up to this one hold {total:,} bytes, over the "
                               f"{limits.total_bytes:,} bytes allowed in one lexicon directory")


def load_directory(directory: str, source: str, name: str, version: str | None,
                   limits: LexiconLimits = DEFAULT_LIMITS) -> LexiconSet:
    """Every ``*_nouns.json`` of ``directory`` (at least one), within ``limits`` in total."""
    if not os.path.isdir(directory):
        raise LexiconError(f"{directory}: Gender-GAP lexicon directory not found")
    paths = sorted(glob.glob(os.path.join(glob.escape(directory), f"*{FILE_SUFFIX}")))
    if not paths:
        raise LexiconError(f"{directory}: no Gender-GAP lexicon files (*{FILE_SUFFIX}) in this directory")
    _check_sizes(paths, limits)
    lexicons = LexiconSet(source, os.path.abspath(directory), name, version)
    budget = _Budget(limits)
    remaining = limits.total_bytes
    for path in paths:
        code = _file_code(path)
        if code in lexicons.languages:
            raise LexiconError(f"{path}: second file for language {code}")
        # Read at most what is left of the byte total: a file that grew since it was listed
        # (or lies about its size) is refused as over the limit, not read whole.
        lexicon = load_language_file(path, min(MAX_LEXICON_FILE_BYTES, remaining), budget)
        remaining -= os.path.getsize(path) if os.path.isfile(path) else 0
        lexicons.languages[code] = lexicon
    return lexicons


def default_directory() -> str:
    return str(resources.files("corpus_audit.lexicons") / DEFAULT_PACKAGE_DIR)


def default_version() -> str:
    with open(os.path.join(default_directory(), DEFAULT_VERSION_FILE), encoding="utf-8") as f:
        return f.read().strip()


def _manifest_version(directory: str) -> tuple[str | None, str | None]:
    """(name, version) from a download's ``manifest.json`` when the directory has one."""
    path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(path):
        return None, None
    try:
        manifest = read_lexicon_json(path)
    except LexiconError:
        return None, None
    if not isinstance(manifest, dict):
        return None, None
    return manifest.get("name"), manifest.get("version")


def load_lexicons(option_dir: str | None = None, cache_root: str | None = None,
                  limits: LexiconLimits = DEFAULT_LIMITS) -> LexiconSet:
    """The lexicons to use: ``option_dir`` > the download cache > the shipped default."""
    if option_dir:
        name, version = _manifest_version(option_dir)
        lexicons = load_directory(option_dir, SOURCE_OPTION, name or "gender-gap (directory given)", version, limits)
        if lexicons.digest() == OFFICIAL_V1_DIGEST:  # the official files, whatever the directory is called
            lexicons.name, lexicons.version = "gender-gap official", SOURCES["gender-gap"].version
        return lexicons
    cached = cached_lexicon_dir("gender-gap", cache_root)
    if cached:
        source = SOURCES["gender-gap"]
        return load_directory(cached, SOURCE_CACHE, "gender-gap official", source.version, limits)
    return load_directory(default_directory(), SOURCE_DEFAULT, "corpus-audit default", default_version(), limits)


def validate_download(url: str, data: bytes) -> None:
    """Check one downloaded file (called by ``corpus-audit lexicons download gender-gap``)."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    code = name[: -len(FILE_SUFFIX)] if name.endswith(FILE_SUFFIX) else ""
    if not _CODE_RE.match(code):
        raise LexiconError(f"{url}: not a Gender-GAP lexicon file name (<iso639-3>{FILE_SUFFIX})")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LexiconError(f"{url}: not a UTF-8 JSON file ({exc})") from exc
    masks, _, _ = parse_lexicon_masks(parsed, url)
    if not masks:
        raise LexiconError(f"{url}: no nouns in this lexicon file")


__all__ = ["DEFAULT_LIMITS", "FASTTEXT_TO_LEXICON", "GENDERS", "GENDER_BITS", "GENDER_GAP_V1_LANGUAGES",
           "GENDER_SETS", "LanguageLexicon", "LexiconError", "LexiconLimits", "LexiconSet", "MATCHER_KEYS_PER_FORM",
           "MAX_LEXICON_CHARACTERS", "MAX_LEXICON_FILES", "MAX_LEXICON_FORMS", "MAX_LEXICON_TOTAL_BYTES",
           "lexicon_code", "load_directory", "load_language_file", "load_lexicons", "parse_lexicon",
           "parse_lexicon_masks", "validate_download"]
