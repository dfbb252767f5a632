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
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from corpus_audit.lexicons.cache import (GENDER_GAP_V1_LANGUAGES, SOURCES, LexiconError, cached_lexicon_dir,
                                         read_lexicon_file, read_lexicon_json)

GENDERS = ("masculine", "feminine", "unspecified")
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

    ``forms`` maps each form as written (whitespace trimmed and collapsed) to the set of
    genders it is listed under; a form listed under two genders counts for both, as in the
    reference pipeline. ``ignored`` counts placeholder forms without a letter (``""``, ``"-"``).
    """

    code: str
    path: str
    sha256: str
    forms: dict[str, frozenset[str]]
    entries: dict[str, int]
    ignored: int


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
    """Validate the parsed JSON of one lexicon file; errors name ``where`` and the problem."""
    if not isinstance(data, dict):
        raise LexiconError(f"{where}: expected a JSON object with keys feminine/masculine/unspecified, "
                           f"got {type(data).__name__}")
    if not data:
        raise LexiconError(f"{where}: empty object, no gender lists")
    forms: dict[str, set[str]] = {}
    entries = {gender: 0 for gender in GENDERS}
    ignored = 0
    for key, items in data.items():
        gender = GENDER_ALIASES.get(key.strip().lower() if isinstance(key, str) else key)
        if gender is None:
            raise LexiconError(f"{where}: unknown gender key {key!r} (expected feminine, masculine or unspecified)")
        if not isinstance(items, list):
            raise LexiconError(f"{where}: {key!r} must be a list of {{\"singular\": ..., \"plural\": ...}} "
                               f"objects, got {type(items).__name__}")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise LexiconError(f"{where}: {key}[{index}] must be an object with singular/plural, "
                                   f"got {type(item).__name__}")
            unknown = [k for k in item if k not in FORM_KEYS]
            if unknown:
                raise LexiconError(f"{where}: {key}[{index}] has unknown key(s) {', '.join(map(repr, unknown))} "
                                   "(expected singular, plural)")
            if not any(item.get(k) is not None for k in FORM_KEYS):
                raise LexiconError(f"{where}: {key}[{index}] has neither a singular nor a plural form")
            for form_key in FORM_KEYS:
                value = item.get(form_key)
                if value is None:
                    continue
                if not isinstance(value, str):
                    raise LexiconError(f"{where}: {key}[{index}].{form_key} must be a string, "
                                       f"got {type(value).__name__}")
                form = " ".join(value.split())
                if not _LETTER_RE.search(form):
                    ignored += 1  # official files hold "" and "-" where a form does not exist
                    continue
                forms.setdefault(form, set()).add(gender)
            entries[gender] += 1
    return {form: frozenset(genders) for form, genders in forms.items()}, entries, ignored


def load_language_file(path: str) -> LanguageLexicon:
    """Load and validate one ``<code>_nouns.json`` file."""
    name = os.path.basename(path)
    if not name.endswith(FILE_SUFFIX):
        raise LexiconError(f"{path}: a Gender-GAP lexicon file is named <iso639-3>{FILE_SUFFIX}")
    code = name[: -len(FILE_SUFFIX)].lower()
    if not _CODE_RE.match(code):
        raise LexiconError(f"{path}: file name does not start with a language code (<iso639-3>{FILE_SUFFIX})")
    data, digest = read_lexicon_file(path)
    forms, entries, ignored = parse_lexicon(data, path, code)
    return LanguageLexicon(code, path, digest, forms, entries, ignored)


def load_directory(directory: str, source: str, name: str, version: str | None) -> LexiconSet:
    """Every ``*_nouns.json`` of ``directory``; at least one is required."""
    if not os.path.isdir(directory):
        raise LexiconError(f"{directory}: Gender-GAP lexicon directory not found")
    paths = sorted(glob.glob(os.path.join(glob.escape(directory), f"*{FILE_SUFFIX}")))
    if not paths:
        raise LexiconError(f"{directory}: no Gender-GAP lexicon files (*{FILE_SUFFIX}) in this directory")
    lexicons = LexiconSet(source, os.path.abspath(directory), name, version)
    for path in paths:
        lexicon = load_language_file(path)
        if lexicon.code in lexicons.languages:
            raise LexiconError(f"{path}: second file for language {lexicon.code}")
        lexicons.languages[lexicon.code] = lexicon
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


def load_lexicons(option_dir: str | None = None, cache_root: str | None = None) -> LexiconSet:
    """The lexicons to use: ``option_dir`` > the download cache > the shipped default."""
    if option_dir:
        name, version = _manifest_version(option_dir)
        lexicons = load_directory(option_dir, SOURCE_OPTION, name or "gender-gap (directory given)", version)
        if lexicons.digest() == OFFICIAL_V1_DIGEST:  # the official files, whatever the directory is called
            lexicons.name, lexicons.version = "gender-gap official", SOURCES["gender-gap"].version
        return lexicons
    cached = cached_lexicon_dir("gender-gap", cache_root)
    if cached:
        source = SOURCES["gender-gap"]
        return load_directory(cached, SOURCE_CACHE, "gender-gap official", source.version)
    return load_directory(default_directory(), SOURCE_DEFAULT, "corpus-audit default", default_version())


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
    forms, _, _ = parse_lexicon(parsed, url, code)
    if not forms:
        raise LexiconError(f"{url}: no nouns in this lexicon file")


__all__ = ["FASTTEXT_TO_LEXICON", "GENDERS", "GENDER_GAP_V1_LANGUAGES", "LanguageLexicon", "LexiconError",
           "LexiconSet", "lexicon_code", "load_directory", "load_language_file", "load_lexicons",
           "parse_lexicon", "validate_download"]
