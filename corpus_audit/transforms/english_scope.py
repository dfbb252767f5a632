"""Which documents the English word lists apply to, and their shared tokenisation.

The pronoun lists (SPEC §3) and HolisticBias descriptors (SPEC §4) are English. By default
they are applied to documents langid labelled ``en`` and every denominator counts only
those; ``--english-lexicons-on all`` applies them to every document.

Both analyses, and Gender-GAP on English documents, match on the same tokens: the first of
them to run on a batch tokenises the documents in scope once
(`corpus_audit.lexicons.matching.EnglishTokens`) and passes the tokens on in the
batch-scratch column ``_english_tokens`` (columns starting with ``_`` are not written to
``documents/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from corpus_audit.lexicons.matching import EnglishTokens
from corpus_audit.options import option

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from corpus_audit.transforms.base import Table

ENGLISH_ONLY = "english"
ALL_DOCUMENTS = "all"
SCOPES = (ENGLISH_ONLY, ALL_DOCUMENTS)
ENGLISH_LABEL = "en"
#: Batch-scratch column: per document its `EnglishTokens`, or None when out of scope.
TOKENS_COLUMN = "_english_tokens"


def scope_option() -> Any:
    """The ``english_lexicons_on`` option field, shared by the pronoun and descriptor stages."""
    return option(ENGLISH_ONLY, choices=SCOPES,
                  help="documents the English pronoun and descriptor lists apply to: 'english' "
                       "(identified as en by langid; default) or 'all'")


def in_scope(languages: Sequence[str], scope: str) -> list[bool]:
    if scope == ALL_DOCUMENTS:
        return [True] * len(languages)
    return [language == ENGLISH_LABEL for language in languages]


def scope_description(scope: str) -> str:
    if scope == ALL_DOCUMENTS:
        return "all analysed documents (--english-lexicons-on all)"
    return "documents identified as English (language `en`; --english-lexicons-on english)"


def english_tokens(texts: Sequence[str], columns: Mapping[str, list], scope: str
                   ) -> tuple[list[EnglishTokens | None], bool]:
    """Tokens of the in-scope documents; ``(column, computed_here)``.

    Reuses ``columns[TOKENS_COLUMN]`` when an earlier stage made it for this batch.
    """
    shared = columns.get(TOKENS_COLUMN)
    if shared is not None and len(shared) == len(texts):
        return shared, False
    applied = in_scope(columns["language"], scope)
    tokenise = EnglishTokens.of
    return [tokenise(text) if apply else None for text, apply in zip(texts, applied)], True


def breakdown_table(name: str, title: str, note: str, key_column: str, keys: list[str | None], label_column: str,
                    labels: list[str], documents: list[int], denominators: list[int],
                    percents: list[float]) -> "Table":
    """A ``<table>_by_<key>`` view of an English-scope stage (pronouns, descriptors): per key value
    and label, documents over that key's denominator; ``language_name`` beside a language key,
    ``small_sample`` for denominators under `SMALL_SAMPLE_DOCUMENTS`, a compact Markdown view."""
    import pyarrow as pa

    from corpus_audit.language_names import language_names
    from corpus_audit.stats import is_small_sample
    from corpus_audit.transforms.base import Table

    columns: dict[str, pa.Array] = {key_column: pa.array(keys, pa.string())}
    if key_column == "language":
        columns["language_name"] = pa.array(language_names(keys), pa.string())
    columns.update({
        label_column: pa.array(labels, pa.string()),
        "documents": pa.array(documents, pa.int64()),
        "denominator": pa.array(denominators, pa.int64()),
        "percent": pa.array(percents, pa.float64()),
        "small_sample": pa.array([is_small_sample(d) for d in denominators], pa.bool_()),
    })
    shown = tuple(c for c in (key_column, "language_name", label_column, "documents", "denominator", "percent")
                  if c in columns)
    return Table(name, pa.table(columns), title, [note], markdown_columns=shown)
