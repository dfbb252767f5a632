"""Pronouns (Llama 2 Table 9a; SPEC §3).

For each document in scope (English by default, see `english_scope`) records whether it
contains a She, He or Unspecified pronoun, any of them ("gendered"), any pronoun at all,
and a 1st / 2nd / 3rd person pronoun: case-insensitive whole-word matches of the lists in
``lexicons/pronouns_en.json``.

Table ``pronouns``: gendered, any, 1st/2nd/3rd person as % of the documents in scope;
she, he, unspecified as % of the gendered documents (as in the paper). Also broken down by
language (``pronouns_by_language``) and by ``--group-by`` (``pronouns_by_<field>``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from corpus_audit.lexicons.pronouns import PronounLexicon, load_pronoun_lexicon
from corpus_audit.lexicons.cache import LexiconError
from corpus_audit.documents import DocumentBatch
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample, percent
from corpus_audit.transforms import english_scope
from corpus_audit.errors import UsageError
from corpus_audit.lazy import lazy_module
from corpus_audit.options import Options, option
from corpus_audit.transforms.base import GROUP, Analysis, Proportion, ReportContext, StageCombineFn, Table, TableSpec, snake_case

#: pyarrow is imported on first use (building a table), not with the stage modules: `run --help` needs none.
pa = lazy_module("pyarrow")

#: Table rows in the paper's order, and the per-document flag column of each.
ROWS = ("gendered", "she", "he", "unspecified", "any", "first_person", "second_person", "third_person")
FLAG_COLUMNS = {row: f"doc_has_{row}_pronoun" for row in ROWS}
#: Rows whose denominator is the gendered documents (the rest: documents in scope).
OF_GENDERED = ("she", "he", "unspecified")
# Accumulator layout per (group, language): documents analysed, documents in scope, then one
# count per row.
_ANALYSED, _IN_SCOPE = 0, 1
_ROW_INDEX = {row: 2 + i for i, row in enumerate(ROWS)}
_WIDTH = 2 + len(ROWS)
#: Bit of each row in a document's pronoun mask.
_BIT = {row: 1 << i for i, row in enumerate(ROWS)}
#: Batch-scratch column holding each document's mask (None when out of scope).
_MASKS_COLUMN = "_pronoun_masks"


class PronounCountsCombineFn(StageCombineFn):
    """Documents per pronoun group, per (group-by value, language): exact integer counts.

    Input per batch: ``{"group": [...], "language": [...], "masks": [int | None]}`` where a
    mask has bit ``i`` set when the document contains a pronoun of ``ROWS[i]`` (None = out of
    scope). Accumulator: ``{(group, language): [analysed, in_scope, gendered, she, he, ...]}``.
    """

    def create_accumulator(self) -> dict[tuple[str | None, str], list[int]]:
        return {}

    def add_input(self, accumulator, batch_input):
        # Few distinct (group, language, mask) triples per batch: count them in C, then add.
        for (group, language, mask), documents in Counter(
                zip(batch_input["group"], batch_input["language"], batch_input["masks"])).items():
            counts = accumulator.get((group, language))
            if counts is None:
                counts = accumulator[(group, language)] = [0] * _WIDTH
            counts[_ANALYSED] += documents
            if mask is None:
                continue
            counts[_IN_SCOPE] += documents
            for i in range(len(ROWS)):
                if mask >> i & 1:
                    counts[2 + i] += documents
        return accumulator

    def merge_accumulators(self, accumulators):
        merged: dict[tuple[str | None, str], list[int]] = {}
        for accumulator in accumulators:
            for key, counts in accumulator.items():
                total = merged.setdefault(key, [0] * _WIDTH)
                for i, value in enumerate(counts):
                    total[i] += value
        return merged

    def extract_output(self, accumulator):
        return dict(sorted(accumulator.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])))


@dataclass(frozen=True)
class PronounOptions(Options):
    """The options of the pronouns stage."""

    GROUP: ClassVar[str] = "pronouns and HolisticBias descriptors (stages pronouns, descriptors)"
    english_lexicons_on: str = english_scope.scope_option()
    pronoun_lexicon: str | None = option(None, metavar="PATH", path=True,
                                         help="pronoun lists (JSON, groups she/he/unspecified/first_person/second_person/"
                                              "third_person); default: the Llama 2 lists shipped in lexicons/pronouns_en.json")


class Pronouns(Analysis):
    """Documents containing She / He / Unspecified / 1st / 2nd / 3rd person pronouns."""

    name = "pronouns"
    requires = ("langid",)

    def __init__(self, lexicon: PronounLexicon, scope: str = english_scope.ENGLISH_ONLY) -> None:
        self.lexicon = lexicon
        self.scope = scope
        # Each pronoun's bits: its groups, plus "gendered" for she/he/unspecified and "any" for all.
        self._word_mask: dict[str, int] = {}
        for group, words in lexicon.words.items():
            bits = _BIT[group] | _BIT["any"] | (_BIT["gendered"] if group in OF_GENDERED else 0)
            for word in words:
                self._word_mask[word] = self._word_mask.get(word, 0) | bits
        self._all_words = frozenset(self._word_mask)

    Options = PronounOptions
    TABLES = (
        TableSpec("pronouns", ("group",), (Proportion("percent", "documents", "denominator"),)),
        TableSpec("pronouns_by_language", ("language", "group"), (Proportion("percent", "documents", "denominator"),)),
        TableSpec(f"pronouns_by_{GROUP}", (GROUP, "group"), (Proportion("percent", "documents", "denominator"),)),
    )
    REPORT_SECTION = "corpus_audit.report.sections.pronouns"

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """``doc_has_<group>_pronoun``: 1.0 / 0.0 (documents the list applied to)."""
        return {name: 1.0 if value else 0.0 for name, value in row.items()
                if name.startswith("doc_has_") and value is not None}

    @classmethod
    def from_options(cls, options: PronounOptions) -> "Pronouns":
        try:
            lexicon = load_pronoun_lexicon(options.pronoun_lexicon)
        except LexiconError as exc:
            raise UsageError(str(exc)) from exc
        return cls(lexicon, options.english_lexicons_on)

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("english_lexicons_applied", pa.bool_())] + [
            pa.field(FLAG_COLUMNS[row], pa.bool_()) for row in ROWS]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        tokens_column, computed = english_scope.english_tokens(batch.texts, columns, self.scope)
        word_mask = self._word_mask
        all_words = self._all_words
        masks: list[int | None] = []
        for entry in tokens_column:
            if entry is None:
                masks.append(None)
                continue
            mask = 0
            for word in all_words.intersection(entry.unique_words):  # the few pronouns the document has
                mask |= word_mask[word]
            masks.append(mask)
        out: dict[str, list] = {"english_lexicons_applied": [mask is not None for mask in masks]}
        for row in ROWS:
            bit = _BIT[row]
            out[FLAG_COLUMNS[row]] = [None if mask is None else bool(mask & bit) for mask in masks]
        out[_MASKS_COLUMN] = masks
        if computed:
            out[english_scope.TOKENS_COLUMN] = tokens_column
        return out

    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        return {"group": batch.groups, "language": columns["language"], "masks": columns[_MASKS_COLUMN]}

    def combine_fn(self) -> StageCombineFn:
        return PronounCountsCombineFn()

    # -- tables --------------------------------------------------------------------------
    def tables(self, aggregate: Mapping[tuple[str | None, str], list[int]], context: ReportContext) -> list[Table]:
        overall = [0] * _WIDTH
        by_language: dict[str, list[int]] = {}
        by_group: dict[str | None, list[int]] = {}
        for (group, language), counts in aggregate.items():
            for target in (overall, by_language.setdefault(language, [0] * _WIDTH),
                           by_group.setdefault(group, [0] * _WIDTH)):
                for i, value in enumerate(counts):
                    target[i] += value
        rows = self._rows(overall)
        data = pa.table({
            "group": pa.array([r[0] for r in rows], pa.string()),
            "documents": pa.array([r[1] for r in rows], pa.int64()),
            "denominator": pa.array([r[2] for r in rows], pa.int64()),
            "percent": pa.array([r[3] for r in rows], pa.float64()),
            "small_sample": pa.array([is_small_sample(r[2]) for r in rows], pa.bool_()),
        })
        notes = [
            f"English pronoun lists of Llama 2 Appendix A.4.3 ({self.lexicon.name} {self.lexicon.version}), "
            f"whole words, case-insensitive.",
            f"Denominator: {overall[_IN_SCOPE]:,} {english_scope.scope_description(self.scope)} of "
            f"{overall[_ANALYSED]:,} analysed; she / he / unspecified are % of the "
            f"{overall[_ROW_INDEX['gendered']]:,} gendered documents (as in the paper).",
        ]
        tables = [Table("pronouns", data, "Pronoun usage (Llama 2 Table 9a)", notes,
                        markdown_columns=("group", "documents", "denominator", "percent"))]
        tables.append(self._breakdown("language", "pronouns_by_language", by_language,
                                      "Pronoun usage by language"))
        if context.group_by:
            column = snake_case(context.group_by)
            if column in {"group", "documents", "denominator", "percent", "language", "language_name", "small_sample"}:
                column = "group_value"
            tables.append(self._breakdown(column, f"pronouns_by_{snake_case(context.group_by)}", by_group,
                                          f"Pronoun usage by {context.group_by}"))
        return tables

    @staticmethod
    def _rows(counts: list[int]) -> list[tuple[str, int, int, float]]:
        rows = []
        for row in ROWS:
            documents = counts[_ROW_INDEX[row]]
            denominator = counts[_ROW_INDEX["gendered"]] if row in OF_GENDERED else counts[_IN_SCOPE]
            rows.append((row, documents, denominator, percent(documents, denominator)))
        return rows

    def _breakdown(self, key_column: str, name: str, counts_by_key: dict, title: str) -> Table:
        keys, groups, documents, denominators, percents = [], [], [], [], []
        for key in sorted(counts_by_key, key=lambda k: (k is not None, k or "")):
            counts = counts_by_key[key]
            if not counts[_IN_SCOPE]:
                continue  # no document in scope: nothing to report for this key
            for row, docs, denominator, pct in self._rows(counts):
                keys.append(key)
                groups.append(row)
                documents.append(docs)
                denominators.append(denominator)
                percents.append(pct)
        return english_scope.breakdown_table(
            name, title, f"Only values with documents in scope ({self.scope}) are listed; `small_sample`: a "
                         f"denominator of fewer than {SMALL_SAMPLE_DOCUMENTS} documents.",
            key_column, keys, "group", groups, documents, denominators, percents)

    def settings(self) -> dict[str, Any]:
        return {
            "lexicon": self.lexicon.name,
            "lexicon_version": self.lexicon.version,
            "lexicon_sha256": self.lexicon.sha256,
            "english_lexicons_on": self.scope,
            "matching": "whole words, case-insensitive (lexicons.matching.word_tokens)",
        }
