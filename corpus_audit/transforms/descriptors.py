"""HolisticBias descriptors (Llama 2 Table 9b; SPEC §4).

For each document in scope (English by default, see `english_scope`) finds which
descriptors of the five axes (gender and sex, sexual orientation, nationality, race and
ethnicity, religion) it mentions: case-insensitive whole words, multi-word descriptors as
phrases, hyphenated forms as listed, leftmost-longest ("Native American" is not also
"American"). A term listed under several axes counts under one (sexual_orientation first:
Llama 2 Table 9b lists lgbt, lgbtq and queer there).

Ambiguous terms (straight, white, black) are matched and counted as the paper counts them, in
the axis ``percent``; ``percent_unambiguous`` is the same share without them, and they never
enter the top-k lists (their rows are flagged ``ambiguous`` and have no rank).

Tables: ``descriptor_axes`` (documents mentioning any descriptor of the axis, % of the
documents in scope, with and without the ambiguous terms) and ``descriptors`` (documents
mentioning the descriptor, % of the axis' documents, rank within the axis; the Markdown view
shows the top 5 per axis).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from corpus_audit.lexicons.cache import LexiconError
from corpus_audit.lexicons.holistic_bias import (
    OFFICIAL_NAME,
    DEFAULT_AMBIGUOUS_TERMS,
    DEFAULT_AXES,
    DEFAULT_AXIS_PRIORITY,
    DEFAULT_EXCLUDED_TERMS,
    DescriptorLexicon,
    load_descriptor_lexicon,
)
from corpus_audit.lexicons.matching import TermMatcher
from corpus_audit.documents import DocumentBatch
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample, percent
from corpus_audit.transforms import english_scope
from corpus_audit.errors import UsageError
from corpus_audit.lazy import lazy_module
from corpus_audit.options import Options, option
from corpus_audit.transforms.base import GROUP, Analysis, Proportion, ReportContext, StageCombineFn, Table, TableSpec, snake_case

#: pyarrow is imported on first use (building a table), not with the stage modules: `run --help` needs none.
pa = lazy_module("pyarrow")

DEFAULT_TOP_K = 5


def _split_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class DescriptorCountsCombineFn(StageCombineFn):
    """Documents per axis and per descriptor: exact integer counts.

    Input per batch: ``{"group", "language", "axes": [list | None], "descriptors": [list | None],
    "axes_unambiguous": [list | None]}`` (None = document out of scope). Accumulator::

        {"scope": {(group, language): [analysed, in_scope]},
         "axes": {(group, language, axis): documents},
         "axes_unambiguous": {(group, language, axis): documents},
         "descriptors": {(axis, descriptor): documents}}
    """

    PARTS = ("axes", "axes_unambiguous", "descriptors")

    def create_accumulator(self) -> dict[str, dict]:
        return {"scope": {}, "axes": {}, "axes_unambiguous": {}, "descriptors": {}}

    def add_input(self, accumulator, batch_input):
        scope, axes_counts, descriptor_counts = accumulator["scope"], accumulator["axes"], accumulator["descriptors"]
        groups, languages = batch_input["group"], batch_input["language"]
        for (group, language, in_scope), documents in Counter(
                zip(groups, languages, (axes is not None for axes in batch_input["axes"]))).items():
            counts = scope.get((group, language))
            if counts is None:
                counts = scope[(group, language)] = [0, 0]
            counts[0] += documents
            if in_scope:
                counts[1] += documents
        for group, language, axes, descriptors in zip(groups, languages, batch_input["axes"],
                                                      batch_input["descriptors"]):
            if not axes:
                continue
            for axis in axes:
                key = (group, language, axis)
                axes_counts[key] = axes_counts.get(key, 0) + 1
            for descriptor in descriptors:
                key = tuple(descriptor.split(":", 1))
                descriptor_counts[key] = descriptor_counts.get(key, 0) + 1
        unambiguous_counts = accumulator.setdefault("axes_unambiguous", {})
        for group, language, axes in zip(groups, languages, batch_input.get("axes_unambiguous") or ()):
            for axis in axes or ():
                key = (group, language, axis)
                unambiguous_counts[key] = unambiguous_counts.get(key, 0) + 1
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            for key, (analysed, in_scope) in accumulator["scope"].items():
                counts = merged["scope"].setdefault(key, [0, 0])
                counts[0] += analysed
                counts[1] += in_scope
            for part in self.PARTS:
                target = merged[part]
                for key, documents in accumulator.get(part, {}).items():
                    target[key] = target.get(key, 0) + documents
        return merged

    def extract_output(self, accumulator):
        return {part: dict(sorted(values.items(), key=lambda kv: tuple(str(k) for k in kv[0])))
                for part, values in accumulator.items()}


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else f"must be >= 1, got {value}"


@dataclass(frozen=True)
class DescriptorOptions(Options):
    """The options of the descriptors stage."""

    GROUP: ClassVar[str] = "HolisticBias descriptors (stage descriptors)"
    english_lexicons_on: str = english_scope.scope_option()
    holistic_bias_descriptors: str | None = option(
        None, metavar="PATH", path=True,
        help="official HolisticBias descriptors.json (v1.0, v1.1, ...) or a directory holding one; default: the "
             "download cache (corpus-audit lexicons download holistic-bias), else the project's own list")
    axes: tuple[str, ...] = option(tuple(DEFAULT_AXES), metavar="LIST", check=lambda v: None if v else "is empty",
                                   help=f"axes to count (default: {','.join(DEFAULT_AXES)})")
    ambiguous_terms: tuple[str, ...] = option(
        tuple(DEFAULT_AMBIGUOUS_TERMS), metavar="LIST",
        help="ambiguous descriptors: counted in the axis percent (as Llama 2), not in percent_unambiguous, never "
             "in the top-k lists (default: straight,white,black; '' for none)")
    exclude_terms: tuple[str, ...] = option(tuple(DEFAULT_EXCLUDED_TERMS), metavar="LIST",
                                            help="descriptors not matched at all (default: none)")
    descriptor_axis_priority: tuple[str, ...] = option(
        tuple(DEFAULT_AXIS_PRIORITY), metavar="LIST",
        help="a term listed under several axes counts under the first of these, then in --axes order (default: "
             "sexual_orientation, as Llama 2 Table 9b)")
    descriptors_top_k: int = option(DEFAULT_TOP_K, metavar="K", check=_at_least_one,
                                    help="descriptors per axis in the Markdown view (default 5; the table keeps all)")


class Descriptors(Analysis):
    """Documents mentioning HolisticBias descriptors, per axis and per descriptor."""

    name = "descriptors"
    requires = ("langid",)

    def __init__(self, lexicon: DescriptorLexicon, scope: str = english_scope.ENGLISH_ONLY,
                 top_k: int = DEFAULT_TOP_K) -> None:
        self.lexicon = lexicon
        self.scope = scope
        self.top_k = top_k
        self._matcher: TermMatcher | None = None

    Options = DescriptorOptions
    TABLES = (
        TableSpec("descriptor_axes", ("axis",), (Proportion("percent", "documents", "denominator"),
                                                 Proportion("percent_unambiguous", "documents_unambiguous", "denominator"))),
        TableSpec("descriptors", ("axis", "descriptor"),
                  (Proportion("percent", "documents", lookup=("descriptor_axes", "axis", "documents")),)),
        TableSpec("descriptor_axes_by_language", ("language", "axis"), (Proportion("percent", "documents", "denominator"),)),
        TableSpec(f"descriptor_axes_by_{GROUP}", (GROUP, "axis"), (Proportion("percent", "documents", "denominator"),)),
    )
    REPORT_SECTION = "corpus_audit.report.sections.descriptors"

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """``holistic_bias_<axis>``: 1.0 for each axis the document mentions."""
        return {f"holistic_bias_{axis}": 1.0 for axis in row.get("holistic_bias_axes") or ()}

    @classmethod
    def from_options(cls, options: DescriptorOptions) -> "Descriptors":
        try:
            lexicon = load_descriptor_lexicon(options.holistic_bias_descriptors, axes=list(options.axes),
                                              excluded_terms=list(options.exclude_terms),
                                              axis_priority=list(options.descriptor_axis_priority),
                                              ambiguous_terms=list(options.ambiguous_terms))
        except LexiconError as exc:
            raise UsageError(str(exc)) from exc
        return cls(lexicon, options.english_lexicons_on, options.descriptors_top_k)

    def setup(self) -> None:
        if self._matcher is None:
            self._matcher = TermMatcher(self.lexicon.terms)

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("holistic_bias_axes", pa.list_(pa.string())),
                pa.field("holistic_bias_descriptors", pa.list_(pa.string()))]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        self.setup()
        tokens_column, computed = english_scope.english_tokens(batch.texts, columns, self.scope)
        axis_order = {axis: i for i, axis in enumerate(self.lexicon.axes)}
        axes_column: list[list[str] | None] = []
        descriptors_column: list[list[str] | None] = []
        for entry in tokens_column:
            if entry is None:
                axes_column.append(None)
                descriptors_column.append(None)
                continue
            found = self._matcher.find(entry.words, entry.unique_words)
            if not found:  # most documents
                axes_column.append([])
                descriptors_column.append([])
                continue
            axes_column.append(sorted({axis for axis, _ in found}, key=axis_order.__getitem__))
            descriptors_column.append(sorted(f"{axis}:{descriptor}" for axis, descriptor in found))
        out: dict[str, list] = {"holistic_bias_axes": axes_column, "holistic_bias_descriptors": descriptors_column}
        if computed:
            out[english_scope.TOKENS_COLUMN] = tokens_column
        return out

    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        axis_order = {axis: i for i, axis in enumerate(self.lexicon.axes)}
        unambiguous: list[list[str] | None] = []
        for found in columns["holistic_bias_descriptors"]:
            if not found:
                unambiguous.append(found)
                continue
            pairs = [tuple(item.split(":", 1)) for item in found]
            unambiguous.append(sorted({axis for axis, descriptor in pairs
                                       if not self.lexicon.is_ambiguous((axis, descriptor))},
                                      key=lambda axis: axis_order.get(axis, len(axis_order))))
        return {"group": batch.groups, "language": columns["language"], "axes": columns["holistic_bias_axes"],
                "descriptors": columns["holistic_bias_descriptors"], "axes_unambiguous": unambiguous}

    def combine_fn(self) -> StageCombineFn:
        return DescriptorCountsCombineFn()

    # -- tables --------------------------------------------------------------------------
    def tables(self, aggregate: Mapping[str, dict], context: ReportContext) -> list[Table]:
        analysed = sum(counts[0] for counts in aggregate["scope"].values())
        in_scope = sum(counts[1] for counts in aggregate["scope"].values())
        axis_documents = {axis: 0 for axis in self.lexicon.axes}
        for (_, _, axis), documents in aggregate["axes"].items():
            axis_documents[axis] = axis_documents.get(axis, 0) + documents
        unambiguous_documents = {axis: 0 for axis in self.lexicon.axes}
        for (_, _, axis), documents in aggregate.get("axes_unambiguous", {}).items():
            unambiguous_documents[axis] = unambiguous_documents.get(axis, 0) + documents
        axes_table = self._axes_table(axis_documents, unambiguous_documents, in_scope)
        ambiguous_listed = sorted(self.lexicon.terms[t][1] for t in self.lexicon.ambiguous)
        provenance = (f"Descriptors: {self.lexicon.name} {self.lexicon.version} "
                      f"({sum(self.lexicon.descriptors_per_axis().values()):,} terms on {len(self.lexicon.axes)} "
                      f"axes); ambiguous (counted in percent, not in percent_unambiguous or the top "
                      f"{self.top_k}): {', '.join(ambiguous_listed) or 'none'}; not matched: "
                      f"{', '.join(self.lexicon.excluded_terms) or 'none'}.")
        tables = [Table("descriptor_axes", axes_table, "Demographic axes mentioned (Llama 2 Table 9b)", [
            f"Percent of the {in_scope:,} {english_scope.scope_description(self.scope)} "
            f"(of {analysed:,} analysed) that mention any descriptor of the axis: `percent` counts the ambiguous "
            "terms as the paper does, `percent_unambiguous` does not.", provenance],
            markdown_columns=("axis", "documents", "percent", "documents_unambiguous", "percent_unambiguous",
                              "denominator"))]

        descriptors_table, rows = self._descriptors_table(aggregate, axis_documents)
        shown = [i for i, row in enumerate(rows) if row[4] is not None and row[4] <= self.top_k and row[2] > 0]
        tables.append(Table("descriptors", descriptors_table, "Most frequent descriptors per axis (Llama 2 Table 9b)", [
            "Percent of the documents that mention the axis (a document counts once per descriptor); "
            f"the Markdown view shows the top {self.top_k} found per axis, the CSV/Parquet tables every "
            "descriptor of the list (0 when never found, with no rank); `small_sample`: the axis is mentioned in fewer than "
            f"{SMALL_SAMPLE_DOCUMENTS} documents.", provenance], shown,
            ("axis", "descriptor", "documents", "percent", "rank", "ambiguous")))

        tables.append(self._axes_breakdown("language", "descriptor_axes_by_language",
                                           aggregate, key_index=1, title="Demographic axes by language"))
        if context.group_by:
            column = snake_case(context.group_by)
            if column in {"axis", "documents", "denominator", "percent", "language", "language_name", "small_sample"}:
                column = "group_value"
            tables.append(self._axes_breakdown(column, f"descriptor_axes_by_{snake_case(context.group_by)}",
                                               aggregate, key_index=0, title=f"Demographic axes by {context.group_by}"))
        return tables

    @staticmethod
    def _axes_table(axis_documents: dict[str, int], unambiguous_documents: dict[str, int], in_scope: int) -> pa.Table:
        """``descriptor_axes``: per axis, documents mentioning it (ambiguous terms counted, and not)."""
        return pa.table({
            "axis": pa.array(list(axis_documents), pa.string()),
            "documents": pa.array(list(axis_documents.values()), pa.int64()),
            "percent": pa.array([percent(d, in_scope) for d in axis_documents.values()], pa.float64()),
            "documents_unambiguous": pa.array([unambiguous_documents[a] for a in axis_documents], pa.int64()),
            "percent_unambiguous": pa.array([percent(unambiguous_documents[a], in_scope) for a in axis_documents],
                                            pa.float64()),
            "denominator": pa.array([in_scope] * len(axis_documents), pa.int64()),
            "small_sample": pa.array([is_small_sample(in_scope)] * len(axis_documents), pa.bool_()),
        })

    def _descriptors_table(self, aggregate: Mapping[str, dict],
                           axis_documents: dict[str, int]) -> tuple[pa.Table, list[tuple[str, str, int, float, int | None, bool]]]:
        """``descriptors``: every descriptor of the lexicon with its documents and rank, and its rows."""
        # Every descriptor of the lexicon gets a row (0 when never found), so runs compare row by row.
        counts_by_axis: dict[str, dict[str, int]] = {axis: {} for axis in self.lexicon.axes}
        for axis, descriptor in self.lexicon.terms.values():
            counts_by_axis[axis][descriptor] = 0
        for (axis, descriptor), documents in aggregate["descriptors"].items():
            counts_by_axis.setdefault(axis, {})[descriptor] = documents
        rows: list[tuple[str, str, int, float, int | None, bool]] = []
        for axis in self.lexicon.axes:
            ranked = sorted(counts_by_axis[axis].items(),
                            key=lambda item: (self.lexicon.is_ambiguous((axis, item[0])), -item[1], item[0]))
            rank = 0
            for descriptor, documents in ranked:
                ambiguous = self.lexicon.is_ambiguous((axis, descriptor))
                ranked_here = not ambiguous and documents > 0  # a term found in no document has no rank
                rank += ranked_here
                rows.append((axis, descriptor, documents, percent(documents, axis_documents[axis]),
                             rank if ranked_here else None, ambiguous))
        table = pa.table({
            "axis": pa.array([r[0] for r in rows], pa.string()),
            "descriptor": pa.array([r[1] for r in rows], pa.string()),
            "documents": pa.array([r[2] for r in rows], pa.int64()),
            "percent": pa.array([r[3] for r in rows], pa.float64()),
            "rank": pa.array([r[4] for r in rows], pa.int64()),
            "ambiguous": pa.array([r[5] for r in rows], pa.bool_()),
            "small_sample": pa.array([is_small_sample(axis_documents[r[0]]) for r in rows], pa.bool_()),
        })
        return table, rows

    def _axes_breakdown(self, key_column: str, name: str, aggregate: Mapping[str, dict], key_index: int,
                        title: str) -> Table:
        in_scope: dict[str | None, int] = {}
        for key, (_, scoped) in aggregate["scope"].items():
            in_scope[key[key_index]] = in_scope.get(key[key_index], 0) + scoped
        documents: dict[tuple[str | None, str], int] = {}
        for key, count in aggregate["axes"].items():
            documents[(key[key_index], key[2])] = documents.get((key[key_index], key[2]), 0) + count
        keys, axes, counts, denominators, percents = [], [], [], [], []
        for key in sorted(in_scope, key=lambda k: (k is not None, k or "")):
            if not in_scope[key]:
                continue
            for axis in self.lexicon.axes:
                count = documents.get((key, axis), 0)
                keys.append(key)
                axes.append(axis)
                counts.append(count)
                denominators.append(in_scope[key])
                percents.append(percent(count, in_scope[key]))
        return english_scope.breakdown_table(
            name, title, f"Percent of the documents in scope ({self.scope}) with that value; `small_sample`: fewer "
                         f"than {SMALL_SAMPLE_DOCUMENTS} such documents.",
            key_column, keys, "axis", axes, counts, denominators, percents)

    @property
    def official(self) -> bool:
        """Whether the list is an official HolisticBias file (the one Llama 2's Table 9b counts)."""
        return self.lexicon.name == OFFICIAL_NAME

    def run_warning(self) -> str | None:
        if self.official:
            return None
        return (f"descriptors: the list is {self.lexicon.name} {self.lexicon.version}, not the official HolisticBias "
                "file: Table 9b figures are not comparable with Llama 2's (get it with `corpus-audit lexicons "
                "download holistic-bias`, or give it with --holistic-bias-descriptors FILE)")

    def settings(self) -> dict[str, Any]:
        return {
            "official": self.official,
            "lexicon": self.lexicon.name,
            "lexicon_version": self.lexicon.version,
            "lexicon_source": self.lexicon.source,
            "lexicon_sha256": self.lexicon.sha256,
            "axes": list(self.lexicon.axes),
            "descriptors_per_axis": self.lexicon.descriptors_per_axis(),
            "ambiguous_terms": sorted(self.lexicon.terms[t][1] for t in self.lexicon.ambiguous),
            "ambiguous_terms_counting": "in percent (as Llama 2), not in percent_unambiguous, not in the top-k lists",
            "excluded_terms": list(self.lexicon.excluded_terms),
            "terms_listed_under_several_axes": self.lexicon.reassigned,
            "english_lexicons_on": self.scope,
            "matching": "whole words and phrases, case-insensitive, hyphenated forms as listed, leftmost-longest",
        }
