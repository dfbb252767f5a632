"""Toxicity (Llama 2 Figure 13; SPEC §6): HateBERT fine-tuned on ToxiGen, through Beam RunInference.

What is counted
    A deterministic sample of documents (``--toxicity-sample-rate``, default 10%) chosen by
    a stable hash of the document id (blake2b, so reruns and runners agree). Each non-blank
    line of a sampled document (stripped of surrounding whitespace) is scored separately:
    the probability of the toxic class, the line truncated to the model's maximum length.
    A document's score is the mean of its lines' scores. Tables: ``toxicity_histogram``
    (10 bins of width 0.1 by default) and ``toxicity_summary`` (overall, per language, per
    HolisticBias axis the document mentions), with the share of documents scoring >= 0.5
    and its Wilson 95% interval (the scored documents are a sample).

How it runs (the design)
    The ReadAndAnalyse DoFn runs ``annotate`` like every stage; here it only decides which
    documents are sampled and leaves ``toxicity`` null. For each batch the DoFn then emits
    one element (`inference_request`) carrying the batch's document rows (every column of
    ``documents/*.parquet``) and the lines of its sampled documents, instead of writing the
    rows itself. ``RunInference(ToxicityModelHandler)`` scores those elements: ``run_inference``
    receives a few elements, flattens their lines, sorts them by token length, cuts batches
    by a padded-token budget, runs the model, and regroups the scores per document (no
    global shuffle: elements stay on the worker that read them). A DoFn then fills
    ``toxicity``/``toxicity_lines`` into the rows, writes them as
    ``documents/<split>-b<batch>.parquet`` and emits this stage's partial accumulator.
    Carrying the rows (small: no text) through RunInference keeps one row per document with
    its score, without a join or a second pass over the document files. The model is
    loaded by RunInference once per worker process and shared by its threads.

    Three modules: this one (the `ScoredAnalysis`: options, sampling, the inference
    elements, the CombineFn, the tables), `toxicity_model` (settings, loading and scoring of
    the classifier) and `toxicity_inference` (the RunInference ``ModelHandler``, imported only
    by runs that score). Both of the others import `toxicity_model`; neither imports this one.

    The model is also loaded once on the launching machine (`prepare_run`): when it cannot be
    loaded (no hub, no cache, pickle weights that need the unrestricted unpickler, unknown
    toxic label) the run goes on without this stage's inference: ``summary.json`` has
    ``status: not_computed`` and the ``reason``, the tables are empty with that reason in their
    notes, the console says it, and ``--require-toxicity`` turns it into exit code 2 before
    anything runs.

Exactness
    The accumulator holds integers only: per scope, documents, lines, toxic documents, the
    sum of ``round(score * 1e6)`` (the mean, exact to 1e-6), the counts per fixed histogram
    bin, and a sparse histogram of scores rounded to 1e-4 (quantiles p50..p99.9 are
    nearest-rank over those rounded scores). Merge order cannot change a table.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from corpus_audit.documents import DocumentBatch
from corpus_audit.errors import UsageError
from corpus_audit.forking import cpu_threads_per_worker
from corpus_audit.lazy import lazy_module
from corpus_audit.options import Options, check_range, option
from corpus_audit.sampling import is_sampled, sample_threshold
from corpus_audit.language_names import table_language_name
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, is_small_sample, percent, wilson_interval
from corpus_audit.transforms.base import Proportion, ReportContext, RunResources, ScoredAnalysis, StageCombineFn, Table, TableSpec
from corpus_audit.transforms.toxicity_model import (
    DEFAULT_MODEL,
    ModelSettings,
    PICKLE_WEIGHTS_FORMAT,
    ModelUnavailable,
    is_local_model,
    keep_launcher_model,
    load_classifier,
)

if TYPE_CHECKING:
    from corpus_audit.transforms.toxicity_inference import ToxicityModelHandler

#: pyarrow is imported on first use (building a table), not with the stage modules: `run --help` needs none.
pa = lazy_module("pyarrow")

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_SAMPLE_RATE",
    "MEAN_SCALE",
    "QUANTILES",
    "QUANTILE_SCALE",
    "TOXIC_THRESHOLD",
    "Toxicity",
    "ToxicityCombineFn",
    "cpu_threads_per_worker",
    "document_lines",
    "is_sampled",
    "nearest_rank",
    "sample_threshold",
]

DEFAULT_SAMPLE_RATE = 0.10
DEFAULT_BINS = 10
TOXIC_THRESHOLD = 0.5
#: Mean exact to 1e-6: the accumulator sums round(score * MEAN_SCALE) as integers.
MEAN_SCALE = 1_000_000
#: Quantiles are nearest-rank over scores rounded to 1e-4 (a sparse histogram of 10,001 bins).
QUANTILE_SCALE = 10_000
QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99_9", 0.999))
#: The compact Markdown view of ``toxicity_summary`` (the CSV and Parquet files keep every column).
SUMMARY_MARKDOWN_COLUMNS = ("scope", "group", "language_name", "documents", "toxic_documents", "percent",
                            "percent_ci_low", "percent_ci_high")


class _BeamMemoryWarningFilter(logging.Filter):
    """Beam 2.77's RunInference logs this on every batch when its optional ModelManager import
    fails, although memory is not needed here: keep the console about the audit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Resource module is not available")


logging.getLogger().addFilter(_BeamMemoryWarningFilter())


# ----------------------------------------------------------------------------- lines


# cpu_threads_per_worker lives with the engine's core accounting (corpus_audit.forking).


def document_lines(text: str) -> list[str]:
    """The non-blank lines of a document (SPEC §1), stripped of surrounding whitespace."""
    return [line.strip() for line in text.split("\n") if line.strip()]


# ----------------------------------------------------------------------------- aggregation


#: Run-wide counts of the accumulator (``restored_batches``: scored batches taken from --checkpoint-dir).
_COUNTS = ("sampled", "errors", "no_lines", "restored_batches")


def _new_scope() -> dict[str, Any]:
    return {"documents": 0, "lines": 0, "truncated_lines": 0, "toxic": 0, "score_sum": 0,
            "bins": Counter(), "fine": Counter()}


class ToxicityCombineFn(StageCombineFn):
    """Exact integer counts over scored documents, per scope (``all``, each language, each axis).

    Input (one per document batch): ``{"sampled": n, "errors": n, "no_lines": n,
    "scored": [(language, axes, score, lines, truncated_lines), ...]}``.
    Accumulator: ``{"sampled", "errors", "no_lines", "scopes": {(scope, group): counts}}``
    where counts hold documents, lines, truncated lines, toxic documents (score >= 0.5),
    the sum of round(score * 1e6), documents per fixed bin and per 1e-4 score.
    """

    def __init__(self, bins: int = DEFAULT_BINS) -> None:
        self.bins = bins

    def create_accumulator(self) -> dict[str, Any]:
        return {"sampled": 0, "errors": 0, "no_lines": 0, "restored_batches": 0, "scopes": {}}

    def add_input(self, accumulator, batch_input):
        for key in _COUNTS:
            accumulator[key] = accumulator.get(key, 0) + batch_input.get(key, 0)
        scopes = accumulator["scopes"]
        for language, axes, score, lines, truncated in batch_input.get("scored", ()):
            keys = [("all", None), ("language", language or "unknown")]
            keys += [("axis", axis) for axis in sorted(set(axes or ()))]
            bin_index = min(int(score * self.bins), self.bins - 1)
            for key in keys:
                scope = scopes.get(key)
                if scope is None:
                    scope = scopes[key] = _new_scope()
                scope["documents"] += 1
                scope["lines"] += lines
                scope["truncated_lines"] += truncated
                scope["toxic"] += score >= TOXIC_THRESHOLD
                scope["score_sum"] += round(score * MEAN_SCALE)
                scope["bins"][bin_index] += 1
                scope["fine"][round(score * QUANTILE_SCALE)] += 1
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            for key in _COUNTS:
                merged[key] += accumulator.get(key, 0)
            for scope_key, scope in accumulator["scopes"].items():
                target = merged["scopes"].get(scope_key)
                if target is None:
                    target = merged["scopes"][scope_key] = _new_scope()
                for name in ("documents", "lines", "truncated_lines", "toxic", "score_sum"):
                    target[name] += scope[name]
                target["bins"].update(scope["bins"])
                target["fine"].update(scope["fine"])
        return merged

    def extract_output(self, accumulator):
        return accumulator


def nearest_rank(fine: Mapping[int, int], total: int, q: float) -> float:
    """The nearest-rank q-quantile (smallest value with at least ceil(q*n) values <= it)."""
    rank = max(1, math.ceil(q * total - 1e-9))
    seen = 0
    for value in sorted(fine):
        seen += fine[value]
        if seen >= rank:
            return value / QUANTILE_SCALE
    return max(fine) / QUANTILE_SCALE if fine else float("nan")


# ----------------------------------------------------------------------------- the analysis


def _positive_or_none(value: int | None) -> str | None:
    return None if value is None or value >= 1 else f"must be >= 1, got {value}"


@dataclass(frozen=True)
class ToxicityOptions(Options):
    """The options of the toxicity stage."""

    GROUP: ClassVar[str] = "toxicity (stage toxicity)"
    toxicity_model: str = option(DEFAULT_MODEL, metavar="ID_OR_DIR", path=True,
                                 help=f"Hugging Face sequence classifier, hub id or local directory (default {DEFAULT_MODEL})")
    toxicity_sample_rate: float = option(DEFAULT_SAMPLE_RATE, metavar="R", check=check_range(0.0, 1.0),
                                         help="share of documents scored, chosen by a hash of the id (default 0.1; 1.0 = all)")
    toxicity_label_index: int | None = option(None, metavar="I",
                                              help="index of the toxic class (default: read from the model's id2label)")
    toxicity_bins: int = option(DEFAULT_BINS, metavar="N", check=check_range(1, 1000),
                                help="histogram bins over [0, 1] (default 10)")
    toxicity_token_budget: int | None = option(None, metavar="TOKENS", check=_positive_or_none,
                                               help="padded tokens per forward pass (default 1024 on CPU, 65536 on CUDA)")
    toxicity_int8: bool = option(False, help="dynamic int8 quantisation of the model's linear layers (CPU only)")
    # Kept so that existing command lines still parse: .bin weights load by default now,
    # through torch's restricted unpickler (weights_only=True), and nothing else is allowed.
    allow_pickle_weights: bool = option(False, hidden=True, help="no effect (kept for old command lines)")
    require_toxicity: bool = option(False, help="fail (exit 2) when the toxicity model cannot be loaded, instead of "
                                                "running the other analyses and reporting toxicity as not computed")


class Toxicity(ScoredAnalysis):
    """HateBERT (ToxiGen) toxicity of a hash-sampled share of documents; tables
    ``toxicity_histogram`` and ``toxicity_summary``."""

    name = "toxicity"
    requires = ("langid",)

    def __init__(self, settings: ModelSettings | None = None, sample_rate: float = DEFAULT_SAMPLE_RATE,
                 bins: int = DEFAULT_BINS) -> None:
        self.model_settings = settings or ModelSettings()
        self.sample_rate = sample_rate
        self.bins = bins
        self.threshold = sample_threshold(sample_rate)
        self.require = False
        self.unavailable_reason: str | None = "model not checked (prepare_run was not called)"
        self.model_info: dict[str, Any] = {}
        self.workers = 1

    # -- options -----------------------------------------------------------------------
    Options = ToxicityOptions
    TABLES = (
        TableSpec("toxicity_summary", ("scope", "group"), (Proportion("percent", "toxic_documents", "documents"),)),
        TableSpec("toxicity_histogram", ("bin_lower", "bin_upper"),
                  (Proportion("fraction", "documents", total_of="documents", scale=1.0),)),
    )
    REPORT_SECTION = "corpus_audit.report.sections.toxicity"

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """``toxicity``: the document's score, when it was computed."""
        return {} if row.get("toxicity") is None else {"toxicity": round(float(row["toxicity"]), 6)}

    @classmethod
    def from_options(cls, options: ToxicityOptions) -> "Toxicity":
        settings = ModelSettings(model=options.toxicity_model, label_index=options.toxicity_label_index,
                                 int8=options.toxicity_int8, token_budget=options.toxicity_token_budget)
        analysis = cls(settings, options.toxicity_sample_rate, options.toxicity_bins)
        analysis.require = options.require_toxicity
        return analysis

    def use_resources(self, resources: RunResources) -> None:
        """Each worker's torch threads: the engine's share of the cores (`RunResources`)."""
        self.workers = resources.workers
        self.model_settings = dataclasses.replace(self.model_settings, threads=resources.cpu_threads_per_worker)

    def prepare_run(self) -> None:
        """Called by the CLI once the cheap checks passed, before the output directory is
        touched: load the model here; unusable + ``--require-toxicity`` is a usage error."""
        self.check_model()
        if self.unavailable_reason is not None and self.require:
            raise UsageError(f"toxicity model unavailable and --require-toxicity given: {self.unavailable_reason}")

    def run_warning(self) -> str | None:
        """What the console must say before the run (None when the stage runs normally)."""
        if self.unavailable_reason is None:
            return None
        return f"toxicity will NOT be computed: {self.unavailable_reason}"

    def check_model(self) -> None:
        """Load the model once here, so a run knows before it starts whether it can score."""
        try:
            loaded = load_classifier(self.model_settings)
        except ModelUnavailable as exc:
            self.unavailable_reason = str(exc)
            return
        self.unavailable_reason = None
        self.model_info = {**loaded.info, "label_index": loaded.label_index, "label": loaded.label_name,
                           "max_length": loaded.max_length, "device_at_launch": loaded.device,
                           "autocast_dtype": str(loaded.autocast_dtype).replace("torch.", "") if loaded.autocast_dtype
                           else None, "token_budget_used": loaded.token_budget}
        # Workers use the index found here (the same files), whatever the config says later.
        self.model_settings.label_index = loaded.label_index
        keep_launcher_model(self.model_settings, loaded)

    @property
    def model_sha256(self) -> str | None:
        """SHA-256 of the loaded weights file (part of a scored batch's checkpoint key)."""
        return self.model_info.get("weights_sha256")

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def inference_handler(self) -> "ToxicityModelHandler | None":
        """The RunInference handler, or None when the model is unavailable (nothing to score)."""
        if not self.available:
            return None
        # Imported here: apache_beam.ml takes ~1.2 s to import, which runs without toxicity skip.
        from corpus_audit.transforms.toxicity_inference import ToxicityModelHandler

        return ToxicityModelHandler(self.model_settings)

    # -- per document --------------------------------------------------------------------
    def document_fields(self) -> list[pa.Field]:
        return [pa.field("toxicity", pa.float64()), pa.field("toxicity_lines", pa.int64())]

    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        # Filled in after RunInference (`apply_predictions`); null for documents not scored.
        return {"toxicity": [None] * len(batch), "toxicity_lines": [None] * len(batch)}

    def inference_request(self, split_key: str, batch_index: int, batch: DocumentBatch,
                          rows: dict[str, list]) -> dict[str, Any]:
        """The RunInference element of one batch: its document rows and sampled documents' lines."""
        requests = []
        no_lines = 0
        sampled = 0
        for row, (doc_id, text) in enumerate(zip(batch.ids, batch.texts)):
            if not is_sampled(doc_id, self.threshold):
                continue
            sampled += 1
            lines = document_lines(text)
            if lines:
                requests.append((row, lines))
            else:
                no_lines += 1
        return {"split_key": split_key, "batch_index": batch_index, "rows": rows, "requests": requests,
                "sampled": sampled, "no_lines": no_lines}

    def apply_predictions(self, element: dict[str, Any], predictions: list) -> tuple[dict[str, list], Any]:
        """Fill the scores into the element's rows; returns (rows, this stage's combine input)."""
        rows = dict(element["rows"])  # Beam inputs are not to be mutated
        scores, line_counts = list(rows["toxicity"]), list(rows["toxicity_lines"])
        rows["toxicity"], rows["toxicity_lines"] = scores, line_counts
        languages = rows.get("language") or [None] * len(scores)
        axes = rows.get("holistic_bias_axes") or [None] * len(scores)
        scored = []
        errors = 0
        for (row, _), prediction in zip(element["requests"], predictions):
            if prediction is None:
                errors += 1
                continue
            score, lines, truncated = prediction
            scores[row] = score
            line_counts[row] = lines
            scored.append((languages[row], tuple(axes[row] or ()), score, lines, truncated))
        return rows, {"sampled": element["sampled"], "no_lines": element["no_lines"], "errors": errors,
                      "restored_batches": int("restored_predictions" in element), "scored": scored}

    # -- aggregation ---------------------------------------------------------------------
    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        # Scores arrive after RunInference (`apply_predictions`); without a model, nothing.
        return {}

    def combine_fn(self) -> StageCombineFn:
        return ToxicityCombineFn(self.bins)

    def tables(self, aggregate: Mapping[str, Any], context: ReportContext) -> list[Table]:
        scopes = aggregate["scopes"]
        if not self.available:
            notes = [f"Toxicity was NOT computed: {self.unavailable_reason}"]
            histogram = pa.table({"bin_lower": pa.array([], pa.float64()), "bin_upper": pa.array([], pa.float64()),
                                  "documents": pa.array([], pa.int64()), "fraction": pa.array([], pa.float64())})
            return [Table("toxicity_histogram", histogram, "Toxicity histogram (not computed)", notes),
                    Table("toxicity_summary", self._summary_table([], {}), "Toxicity summary (not computed)", notes)]
        overall = scopes.get(("all", None)) or _new_scope()
        total = overall["documents"]
        histogram = pa.table({
            "bin_lower": pa.array([round(i / self.bins, 6) for i in range(self.bins)], pa.float64()),
            "bin_upper": pa.array([round((i + 1) / self.bins, 6) for i in range(self.bins)], pa.float64()),
            "documents": pa.array([overall["bins"].get(i, 0) for i in range(self.bins)], pa.int64()),
            "fraction": pa.array([round(overall["bins"].get(i, 0) / total, 8) if total else 0.0
                                  for i in range(self.bins)], pa.float64()),
        })
        keys = [("all", None)] if ("all", None) in scopes else []
        keys += sorted((k for k in scopes if k[0] == "language"), key=lambda k: (-scopes[k]["documents"], k[1]))
        keys += sorted(k for k in scopes if k[0] == "axis")
        rate = f"{self.sample_rate:g}"
        notes = [f"Model {self._model_label()} (label {self.model_info.get('label')!r}, index "
                 f"{self.model_settings.label_index}); each non-blank line scored, truncated to "
                 f"{self.model_info.get('max_length')} tokens; a document's score is the mean of its lines.",
                 f"{total:,} documents scored: a sample of rate {rate} chosen by a blake2b hash of the id "
                 f"({aggregate['sampled']:,} sampled, {aggregate['no_lines']:,} without a non-blank line, "
                 f"{aggregate['errors']:,} scoring errors).",
                 "percent = documents scoring >= 0.5, in % of the scored documents of the row, with its Wilson "
                 "95% interval; mean exact to 1e-6, quantiles nearest-rank over scores rounded to 1e-4; "
                 "axis rows: documents mentioning a HolisticBias descriptor of that axis.",
                 f"language_name: English name of a language row's code; small_sample: fewer than "
                 f"{SMALL_SAMPLE_DOCUMENTS} scored documents in the row."]
        return [Table("toxicity_histogram", histogram, "Toxicity of documents (Llama 2 Figure 13; plot the "
                      "documents on a log-scale y axis)", notes[:2]),
                Table("toxicity_summary", self._summary_table(keys, scopes), "Toxicity summary", notes,
                      markdown_columns=SUMMARY_MARKDOWN_COLUMNS)]

    @staticmethod
    def _summary_table(keys: list[tuple[str, str | None]], scopes: Mapping) -> pa.Table:
        columns: dict[str, list] = {name: [] for name in (
            "scope", "group", "documents", "lines", "toxic_documents", "percent", "mean", "p50", "p90", "p99",
            "p99_9", "percent_ci_low", "percent_ci_high", "truncated_lines", "language_name", "small_sample")}
        for key in keys:
            scope = scopes[key]
            n = scope["documents"]
            low, high = wilson_interval(scope["toxic"], n) or (0.0, 0.0)
            columns["scope"].append(key[0])
            columns["group"].append(key[1])
            columns["documents"].append(n)
            columns["lines"].append(scope["lines"])
            columns["toxic_documents"].append(scope["toxic"])
            columns["percent"].append(percent(scope["toxic"], n))
            columns["mean"].append(round(scope["score_sum"] / n / MEAN_SCALE, 6))
            for name, q in QUANTILES:
                columns[name].append(nearest_rank(scope["fine"], n, q))
            columns["percent_ci_low"].append(round(100 * low, 4))
            columns["percent_ci_high"].append(round(100 * high, 4))
            columns["truncated_lines"].append(scope["truncated_lines"])
            columns["language_name"].append(table_language_name(key[1]) if key[0] == "language" else None)
            columns["small_sample"].append(is_small_sample(n))
        types = {"scope": pa.string(), "group": pa.string(), "documents": pa.int64(), "lines": pa.int64(),
                 "toxic_documents": pa.int64(), "truncated_lines": pa.int64(), "language_name": pa.string(),
                 "small_sample": pa.bool_()}
        return pa.table({name: pa.array(values, types.get(name, pa.float64())) for name, values in columns.items()})

    def _model_label(self) -> str:
        """The model as published: a hub id as given; a local directory by its name and its weights'
        sha256, never the machine's path (summary.json keeps the path for the operator)."""
        model = self.model_settings.model
        if not is_local_model(os.path.expanduser(model)):
            return model
        name = os.path.basename(os.path.normpath(os.path.expanduser(model))) or model
        digest = self.model_info.get("weights_sha256")
        return f"{name} (weights sha256 {digest})" if digest else name

    def run_statistics(self, aggregate: Mapping[str, Any]) -> dict[str, Any]:
        """Counts of the run for ``summary.json`` (next to `settings`)."""
        overall = aggregate["scopes"].get(("all", None)) or _new_scope()
        return {"documents_sampled": aggregate["sampled"], "documents_scored": overall["documents"],
                "documents_without_lines": aggregate["no_lines"], "scoring_errors": aggregate["errors"],
                "lines_scored": overall["lines"], "truncated_lines": overall["truncated_lines"],
                "toxic_documents": overall["toxic"],
                "batches_restored_from_checkpoint": aggregate.get("restored_batches", 0)}

    def settings(self) -> dict[str, Any]:
        settings = self.model_settings
        out: dict[str, Any] = {
            "status": "computed" if self.available else "not_computed",
            "reason": self.unavailable_reason,
            "model": settings.model,
            "sample_rate": self.sample_rate,
            "sampling": "blake2b-64 of the UTF-8 document id < rate * 2^64",
            "toxic_threshold": TOXIC_THRESHOLD,
            "bins": self.bins,
            "document_score": "mean of the toxic-class probability of its non-blank lines",
            "pickle_loader": "torch.load(weights_only=True); files needing the full unpickler are refused",
            "int8_dynamic_quantisation": settings.int8,
            "token_budget": settings.token_budget,
            "workers": self.workers,
            # None: each worker machine uses all its cores (not a local DirectRunner run).
            "cpu_threads_per_worker": settings.threads,
            "cpu_threads_rule": "usable cores // --workers (at least 1), torch.set_num_threads in each worker "
                                "process's load_model; CPU only",
            "trust_remote_code": False,
        }
        if self.available:
            out.update(self.model_info)
            out["pickle_weights_loaded"] = self.model_info.get("weights_format") == PICKLE_WEIGHTS_FORMAT
        return out
