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

import argparse
from typing import Any, Mapping

import apache_beam as beam
import pyarrow as pa

from corpus_audit.lexicons.pronouns import PronounLexicon, load_pronoun_lexicon
from corpus_audit.lexicons.cache import LexiconError
from corpus_audit.pipeline.documents import DocumentBatch
from corpus_audit.pipeline.tables import percent
from corpus_audit.transforms import english_scope
from corpus_audit.transforms.base import Analysis, ReportContext, Table, UsageError
from corpus_audit.transforms.langid import _snake_case

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


class PronounCountsCombineFn(beam.CombineFn):
    """Documents per pronoun group, per (group-by value, language): exact integer counts.

    Input per batch: ``{"group": [...], "language": [...], "applied": [...], "flags": [[bool x 8] | None]}``.
    Accumulator: ``{(group, language): [analysed, in_scope, gendered, she, he, ...]}``.
    """

    def create_accumulator(self) -> dict[tuple[str | None, str], list[int]]:
        return {}

    def add_input(self, accumulator, batch_input):
        for group, language, flags in zip(batch_input["group"], batch_input["language"], batch_input["flags"]):
            counts = accumulator.get((group, language))
            if counts is None:
                counts = accumulator[(group, language)] = [0] * _WIDTH
            counts[_ANALYSED] += 1
            if flags is None:
                continue
            counts[_IN_SCOPE] += 1
            for i, flag in enumerate(flags):
                if flag:
                    counts[2 + i] += 1
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


class Pronouns(Analysis):
    """Documents containing She / He / Unspecified / 1st / 2nd / 3rd person pronouns."""

    name = "pronouns"
    requires = ("langid",)

    def __init__(self, lexicon: PronounLexicon, scope: str = english_scope.ENGLISH_ONLY) -> None:
        self.lexicon = lexicon
        self.scope = scope
        words = lexicon.words
        self._row_words = {
            "she": words["she"], "he": words["he"], "unspecified": words["unspecified"],
            "first_person": words["first_person"], "second_person": words["second_person"],
            "third_person": words["third_person"],
        }
        self._any_words = frozenset().union(*words.values())

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("pronouns and HolisticBias descriptors (stages pronouns, descriptors)")
        english_scope.add_scope_argument(group)
        group.add_argument("--pronoun-lexicon", metavar="PATH",
                           help="pronoun lists (JSON, groups she/he/unspecified/first_person/second_person/"
                                "third_person); default: the Llama 2 lists shipped in lexicons/pronouns_en.json")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Pronouns":
        try:
            lexicon = load_pronoun_lexicon(getattr(args, "pronoun_lexicon", None))
        except LexiconError as exc:
            raise UsageError(str(exc)) from exc
        return cls(lexicon, english_scope.scope_from_args(args))

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("english_lexicons_applied", pa.bool_())] + [
            pa.field(FLAG_COLUMNS[row], pa.bool_()) for row in ROWS]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        tokens_column, computed = english_scope.english_tokens(batch.texts, columns, self.scope)
        out: dict[str, list] = {"english_lexicons_applied": [entry is not None for entry in tokens_column]}
        flags_by_row: dict[str, list] = {row: [] for row in ROWS}
        row_words = self._row_words
        any_words = self._any_words
        for entry in tokens_column:
            if entry is None:
                for row in ROWS:
                    flags_by_row[row].append(None)
                continue
            unique = entry[1]
            she = not row_words["she"].isdisjoint(unique)
            he = not row_words["he"].isdisjoint(unique)
            unspecified = not row_words["unspecified"].isdisjoint(unique)
            flags_by_row["gendered"].append(she or he or unspecified)
            flags_by_row["she"].append(she)
            flags_by_row["he"].append(he)
            flags_by_row["unspecified"].append(unspecified)
            flags_by_row["any"].append(not any_words.isdisjoint(unique))
            for row in ("first_person", "second_person", "third_person"):
                flags_by_row[row].append(not row_words[row].isdisjoint(unique))
        for row in ROWS:
            out[FLAG_COLUMNS[row]] = flags_by_row[row]
        if computed:
            out[english_scope.TOKENS_COLUMN] = tokens_column
        return out

    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        flags = [None if not applied else [columns[FLAG_COLUMNS[row]][i] for row in ROWS]
                 for i, applied in enumerate(columns["english_lexicons_applied"])]
        return {"group": batch.groups, "language": columns["language"], "flags": flags}

    def combine_fn(self) -> beam.CombineFn:
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
        })
        notes = [
            f"English pronoun lists of Llama 2 Appendix A.4.3 ({self.lexicon.name} {self.lexicon.version}), "
            f"whole words, case-insensitive.",
            f"Denominator: {overall[_IN_SCOPE]:,} {english_scope.scope_description(self.scope)} of "
            f"{overall[_ANALYSED]:,} analysed; she / he / unspecified are % of the "
            f"{overall[_ROW_INDEX['gendered']]:,} gendered documents (as in the paper).",
        ]
        tables = [Table("pronouns", data, "Pronoun usage (Llama 2 Table 9a)", notes)]
        tables.append(self._breakdown("language", "pronouns_by_language", by_language,
                                      "Pronoun usage by language"))
        if context.group_by:
            column = _snake_case(context.group_by)
            if column in {"group", "documents", "denominator", "percent", "language"}:
                column = "group_value"
            tables.append(self._breakdown(column, f"pronouns_by_{_snake_case(context.group_by)}", by_group,
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
        data = pa.table({
            key_column: pa.array(keys, pa.string()),
            "group": pa.array(groups, pa.string()),
            "documents": pa.array(documents, pa.int64()),
            "denominator": pa.array(denominators, pa.int64()),
            "percent": pa.array(percents, pa.float64()),
        })
        return Table(name, data, title, [f"Only values with documents in scope ({self.scope}) are listed."])

    def settings(self) -> dict[str, Any]:
        return {
            "lexicon": self.lexicon.name,
            "lexicon_version": self.lexicon.version,
            "lexicon_sha256": self.lexicon.sha256,
            "english_lexicons_on": self.scope,
            "matching": "whole words, case-insensitive (lexicons.matching.word_tokens)",
        }
