"""The English pronoun groups of Llama 2 Table 9a (SPEC §3), shipped as ``pronouns_en.json``."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from corpus_audit.lexicons.cache import LexiconError, read_lexicon_file
from corpus_audit.lexicons.matching import term_tokens

#: The groups a pronoun lexicon must define (SPEC §3), in table order after "gendered"/"any".
PRONOUN_GROUPS = ("she", "he", "unspecified", "first_person", "second_person", "third_person")


@dataclass(frozen=True)
class PronounLexicon:
    """Single-word pronoun lists per group; ``words[group]`` is a lowercase frozenset."""

    name: str
    version: str
    source: str
    sha256: str
    words: dict[str, frozenset[str]]


def default_pronoun_path() -> str:
    return str(resources.files("corpus_audit.lexicons") / "pronouns_en.json")


def load_pronoun_lexicon(path: str | None = None) -> PronounLexicon:
    """Load and check a pronoun lexicon (default: the shipped SPEC §3 lists)."""
    path = path or default_pronoun_path()
    data, sha256 = read_lexicon_file(path)
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: a pronoun lexicon is a JSON object of group -> list of words")
    about = data.get("_about", {})
    if not isinstance(about, dict):
        raise LexiconError(f"{path}: \"_about\" must be an object (name, version, ...)")
    words: dict[str, frozenset[str]] = {}
    for group in PRONOUN_GROUPS:
        listed = data.get(group)
        if not isinstance(listed, list) or not listed:
            raise LexiconError(f"{path}: group {group!r} is missing or not a non-empty list of words")
        for word in listed:
            if not isinstance(word, str) or len(term_tokens(word)) != 1:
                raise LexiconError(f"{path}: group {group!r}: {word!r} is not a single word")
        words[group] = frozenset(term_tokens(word)[0] for word in listed)
    return PronounLexicon(name=str(about.get("name", "pronouns")), version=str(about.get("version", "unknown")),
                          source=path, sha256=sha256, words=words)
