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

    The model is also loaded once on the launching machine (`prepare_run`): when it cannot be
    loaded (no hub, no cache, pickle-only weights, unknown toxic label) the run goes on
    without this stage's inference: ``summary.json`` has ``status: not_computed`` and the
    ``reason``, the tables are empty with that reason in their notes, the console says it,
    and ``--require-toxicity`` turns it into exit code 2 before anything runs.

Exactness
    The accumulator holds integers only: per scope, documents, lines, toxic documents, the
    sum of ``round(score * 1e6)`` (the mean, exact to 1e-6), the counts per fixed histogram
    bin, and a sparse histogram of scores rounded to 1e-4 (quantiles p50..p99.9 are
    nearest-rank over those rounded scores). Merge order cannot change a table.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import urlparse

import apache_beam as beam
import pyarrow as pa

from corpus_audit.documents import DocumentBatch
from corpus_audit.stats import percent, wilson_interval
from corpus_audit.storage import file_sha256
from corpus_audit.errors import UsageError
from corpus_audit.transforms.base import Analysis, ReportContext, Table

if TYPE_CHECKING:
    from corpus_audit.transforms.toxicity_inference import ToxicityModelHandler

DEFAULT_MODEL = "tomh/toxigen_hatebert"
DEFAULT_SAMPLE_RATE = 0.10
DEFAULT_BINS = 10
TOXIC_THRESHOLD = 0.5
#: Mean exact to 1e-6: the accumulator sums round(score * MEAN_SCALE) as integers.
MEAN_SCALE = 1_000_000
#: Quantiles are nearest-rank over scores rounded to 1e-4 (a sparse histogram of 10,001 bins).
QUANTILE_SCALE = 10_000
QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99_9", 0.999))
#: Padded tokens per forward pass (lines x longest line of the batch).
DEFAULT_TOKEN_BUDGET_CPU = 1_024  # small batches stay in cache: 2x faster than 8,192 on CPU (bench)
DEFAULT_TOKEN_BUDGET_CUDA = 65_536
#: Lines handed to one run_inference call at most (RunInference batches elements up to this weight).
LINES_PER_CALL = 4_096
#: Labels naming the toxic class (lower-cased, '-', '_' and spaces removed), see `toxic_label_index`.
_TOXIC_WORDS = ("toxic", "hate", "hateful", "offensive", "abusive")
_NEGATIONS = ("non", "not", "no")
_SAMPLE_SPACE = 1 << 64


class _BeamMemoryWarningFilter(logging.Filter):
    """Beam 2.77's RunInference logs this on every batch when its optional ModelManager import
    fails, although memory is not needed here: keep the console about the audit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Resource module is not available")


logging.getLogger().addFilter(_BeamMemoryWarningFilter())


class ModelUnavailable(Exception):
    """The toxicity model cannot be used; the message says why (shown to the user)."""


# ----------------------------------------------------------------------------- sampling, lines


def sample_threshold(rate: float) -> int:
    """Documents whose 64-bit id hash is below this are sampled."""
    return min(_SAMPLE_SPACE, max(0, int(round(rate * _SAMPLE_SPACE))))


def is_sampled(doc_id: str, threshold: int) -> bool:
    """Deterministic choice by a hash of the id: the same on every run, runner and worker."""
    if threshold >= _SAMPLE_SPACE:
        return True
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < threshold


def document_lines(text: str) -> list[str]:
    """The non-blank lines of a document (SPEC §1), stripped of surrounding whitespace."""
    return [line.strip() for line in text.split("\n") if line.strip()]


# ----------------------------------------------------------------------------- model


def toxic_label_index(id2label: Mapping[int, str]) -> int:
    """The index of the toxic class from ``config.id2label``.

    Rule: the one label whose name (lower-cased, without ``-``, ``_`` and spaces) contains
    toxic/hate/hateful/offensive/abusive and does not start with non/not/no (so ``non-toxic``
    and ``NOT_HATE`` are the other class); failing that, a two-class model with the default
    names ``LABEL_0``/``LABEL_1`` uses 1 (ToxiGen's HateBERT: ``LABEL_1`` = toxic). Anything
    else is ambiguous: pass ``--toxicity-label-index``.
    """
    labels = {int(index): str(label) for index, label in id2label.items()}
    candidates = []
    for index, label in labels.items():
        name = label.lower().replace("-", "").replace("_", "").replace(" ", "")
        if any(word in name for word in _TOXIC_WORDS) and not name.startswith(_NEGATIONS):
            candidates.append(index)
    if len(candidates) == 1:
        return candidates[0]
    if sorted(labels.values()) == ["LABEL_0", "LABEL_1"]:
        return 1
    raise ModelUnavailable(f"cannot tell which label is toxic from id2label {labels}; "
                           "pass --toxicity-label-index")


def _is_local(model: str) -> bool:
    return os.path.isdir(model) or model.startswith((".", "/", "~")) or os.sep in model and os.path.exists(model)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub, so an offline machine fails in seconds, not after retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout):
            return True
    except OSError:
        return False


@dataclass
class ModelSettings:
    """How to load and run the classifier (picklable: travels to the workers)."""

    model: str = DEFAULT_MODEL
    label_index: int | None = None
    allow_pickle_weights: bool = False
    int8: bool = False
    token_budget: int | None = None
    device: str | None = None  # None: CUDA when available, else CPU
    threads: int | None = None  # CPU threads; None: the cores this process may use


@dataclass
class LoadedClassifier:
    """A loaded model with its tokenizer and what scoring needs to know."""

    model: Any
    tokenizer: Any
    device: str
    label_index: int
    label_name: str
    max_length: int
    token_budget: int
    autocast_dtype: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def score_lines(self, lines: Sequence[str]) -> tuple[list[float], list[bool]]:
        """Toxic-class probability of each line (truncated to ``max_length`` tokens) and
        whether it was truncated. Lines are sorted by length and batched by token budget."""
        import torch

        if not lines:
            return [], []
        encoded = self.tokenizer(list(lines), truncation=True, max_length=self.max_length,
                                 return_overflowing_tokens=True, stride=0)
        # With overflow, a long line yields several rows; keep its first (the truncation)
        # and count it as truncated.
        first_row: dict[int, int] = {}
        truncated = [False] * len(lines)
        if "overflow_to_sample_mapping" not in encoded:  # a slow tokenizer: measure separately
            encoded = self.tokenizer(list(lines), truncation=True, max_length=self.max_length)
            full = self.tokenizer(list(lines))["input_ids"]
            encoded["overflow_to_sample_mapping"] = list(range(len(lines)))
            truncated = [len(ids) > self.max_length for ids in full]
        for row, line_index in enumerate(encoded["overflow_to_sample_mapping"]):
            if line_index in first_row:
                truncated[line_index] = True
            else:
                first_row[line_index] = row
        ids = [encoded["input_ids"][first_row[i]] for i in range(len(lines))]
        has_types = "token_type_ids" in encoded
        types = [encoded["token_type_ids"][first_row[i]] for i in range(len(lines))] if has_types else None
        order = sorted(range(len(lines)), key=lambda i: (-len(ids[i]), i))
        scores = [0.0] * len(lines)
        pad_id = self.tokenizer.pad_token_id or 0
        start = 0
        with torch.inference_mode():
            while start < len(order):
                longest = len(ids[order[start]])
                count = max(1, min(len(order) - start, self.token_budget // max(longest, 1)))
                chunk = order[start:start + count]
                input_ids = torch.full((count, longest), pad_id, dtype=torch.long)
                attention = torch.zeros((count, longest), dtype=torch.long)
                token_types = torch.zeros((count, longest), dtype=torch.long) if has_types else None
                for row, i in enumerate(chunk):
                    n = len(ids[i])
                    input_ids[row, :n] = torch.tensor(ids[i], dtype=torch.long)
                    attention[row, :n] = 1
                    if token_types is not None:
                        token_types[row, :n] = torch.tensor(types[i], dtype=torch.long)
                inputs = {"input_ids": input_ids, "attention_mask": attention}
                if token_types is not None:
                    inputs["token_type_ids"] = token_types
                inputs = {name: tensor.to(self.device, non_blocking=True) for name, tensor in inputs.items()}
                if self.autocast_dtype is not None:
                    with torch.autocast(device_type="cuda", dtype=self.autocast_dtype):
                        logits = self.model(**inputs).logits
                else:
                    logits = self.model(**inputs).logits
                probabilities = logits.float().softmax(dim=-1)[:, self.label_index].cpu().tolist()
                for i, probability in zip(chunk, probabilities):
                    scores[i] = float(probability)
                start += count
        return scores, truncated


def _weights_file(directory: str) -> tuple[str | None, str]:
    for name, kind in (("model.safetensors", "safetensors"), ("model.safetensors.index.json", "safetensors"),
                       ("pytorch_model.bin", "pickle"), ("pytorch_model.bin.index.json", "pickle")):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name), kind
    return None, "unknown"


def load_classifier(settings: ModelSettings) -> LoadedClassifier:
    """Load tokenizer and model with ``from_pretrained`` (never ``trust_remote_code``;
    safetensors only unless pickle weights are allowed). Raises `ModelUnavailable`."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    source = os.path.expanduser(settings.model)
    local = _is_local(source)
    if local and not os.path.isdir(source):
        raise ModelUnavailable(f"model directory not found: {source}")
    if local and not settings.allow_pickle_weights and _weights_file(source)[1] == "pickle":
        raise ModelUnavailable(f"{settings.model} has only pickle (.bin) weights, no safetensors; "
                               "pass --allow-pickle-weights to load them")
    kwargs: dict[str, Any] = {"trust_remote_code": False,
                              "use_safetensors": None if settings.allow_pickle_weights else True}
    attempts = [{"local_files_only": True}] if local else [{"local_files_only": True}, {}]
    errors: list[str] = []
    model = tokenizer = None
    for attempt in attempts:
        if not attempt.get("local_files_only") and not _hub_reachable():
            errors.append("the Hugging Face hub is unreachable (offline or HF_HUB_OFFLINE set)")
            break
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **attempt)
            model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs, **attempt)
            break
        except Exception as exc:  # noqa: BLE001 - OSError/ValueError/EnvironmentError from the hub or files
            message = " ".join(str(exc).split())
            if "safetensors" in message.lower() and not settings.allow_pickle_weights:
                raise ModelUnavailable(f"{settings.model} has no safetensors weights (only pickle .bin files?); "
                                       f"pass --allow-pickle-weights to load them ({message[:200]})") from exc
            errors.append(("not in the local cache" if attempt.get("local_files_only") and not local
                           else message[:300]))
    if model is None:
        raise ModelUnavailable(f"cannot load toxicity model {settings.model}: " + "; ".join(errors))
    if settings.label_index is not None:
        if not 0 <= settings.label_index < model.config.num_labels:
            raise ModelUnavailable(f"--toxicity-label-index {settings.label_index} out of range for a model "
                                   f"with {model.config.num_labels} labels")
        label_index = settings.label_index
    else:
        label_index = toxic_label_index(model.config.id2label)
    max_length = min(int(getattr(model.config, "max_position_embeddings", 512) or 512),
                     int(tokenizer.model_max_length) if tokenizer.model_max_length < 1e9 else 10**9)
    device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    autocast_dtype = None
    model.eval()
    if device.startswith("cuda"):
        model.to(device)
        autocast_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        torch.set_num_threads(settings.threads or len(os.sched_getaffinity(0)))
        if settings.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    budget = settings.token_budget or (DEFAULT_TOKEN_BUDGET_CUDA if device.startswith("cuda")
                                       else DEFAULT_TOKEN_BUDGET_CPU)
    directory = source if local else getattr(model.config, "_name_or_path", source)
    weights, weights_format = _weights_file(directory) if os.path.isdir(directory) else (None, "unknown")
    info = {
        "model_directory": directory if os.path.isdir(directory) else None,
        "weights_format": weights_format,
        "weights_sha256": file_sha256(weights) if weights and weights.endswith((".safetensors", ".bin")) else None,
        "model_type": model.config.model_type,
        "num_labels": model.config.num_labels,
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
    }
    return LoadedClassifier(model, tokenizer, device, label_index, str(model.config.id2label[label_index]),
                            max_length, budget, autocast_dtype, info)


# ----------------------------------------------------------------------------- RunInference


#: The model `Toxicity.prepare_run` loaded, kept for this process' first `load_model` (one entry).
_LAUNCHER_MODEL: dict[tuple, LoadedClassifier] = {}


def _settings_key(settings: ModelSettings) -> tuple:
    return tuple(sorted(vars(settings).items()))


def _element_lines(element: dict) -> int:
    return max(1, sum(len(lines) for _, lines in element["requests"]))


# ----------------------------------------------------------------------------- aggregation


def _new_scope() -> dict[str, Any]:
    return {"documents": 0, "lines": 0, "truncated_lines": 0, "toxic": 0, "score_sum": 0,
            "bins": Counter(), "fine": Counter()}


class ToxicityCombineFn(beam.CombineFn):
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
        return {"sampled": 0, "errors": 0, "no_lines": 0, "scopes": {}}

    def add_input(self, accumulator, batch_input):
        for key in ("sampled", "errors", "no_lines"):
            accumulator[key] += batch_input.get(key, 0)
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
            for key in ("sampled", "errors", "no_lines"):
                merged[key] += accumulator[key]
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


class Toxicity(Analysis):
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

    # -- options -----------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("toxicity (stage toxicity)")
        group.add_argument("--toxicity-model", default=DEFAULT_MODEL, metavar="ID_OR_DIR",
                           help=f"Hugging Face sequence classifier, hub id or local directory (default {DEFAULT_MODEL})")
        group.add_argument("--toxicity-sample-rate", type=float, default=DEFAULT_SAMPLE_RATE, metavar="R",
                           help="share of documents scored, chosen by a hash of the id (default 0.1; 1.0 = all)")
        group.add_argument("--toxicity-label-index", type=int, metavar="I",
                           help="index of the toxic class (default: read from the model's id2label)")
        group.add_argument("--toxicity-bins", type=int, default=DEFAULT_BINS, metavar="N",
                           help="histogram bins over [0, 1] (default 10)")
        group.add_argument("--toxicity-token-budget", type=int, metavar="TOKENS",
                           help="padded tokens per forward pass (default 1024 on CPU, 65536 on CUDA)")
        group.add_argument("--toxicity-int8", action="store_true",
                           help="dynamic int8 quantisation of the model's linear layers (CPU only)")
        group.add_argument("--allow-pickle-weights", action="store_true",
                           help="allow loading pickle (.bin) weights when a model has no safetensors")
        group.add_argument("--require-toxicity", action="store_true",
                           help="fail (exit 2) when the toxicity model cannot be loaded, instead of "
                                "running the other analyses and reporting toxicity as not computed")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Toxicity":
        if not 0.0 <= args.toxicity_sample_rate <= 1.0:
            raise UsageError(f"--toxicity-sample-rate must be in [0, 1], got {args.toxicity_sample_rate}")
        if not 1 <= args.toxicity_bins <= 1000:
            raise UsageError(f"--toxicity-bins must be in [1, 1000], got {args.toxicity_bins}")
        if args.toxicity_token_budget is not None and args.toxicity_token_budget < 1:
            raise UsageError(f"--toxicity-token-budget must be >= 1, got {args.toxicity_token_budget}")
        settings = ModelSettings(model=args.toxicity_model, label_index=args.toxicity_label_index,
                                 allow_pickle_weights=args.allow_pickle_weights, int8=args.toxicity_int8,
                                 token_budget=args.toxicity_token_budget)
        analysis = cls(settings, args.toxicity_sample_rate, args.toxicity_bins)
        analysis.require = args.require_toxicity
        return analysis

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
        _LAUNCHER_MODEL.clear()
        _LAUNCHER_MODEL[_settings_key(self.model_settings)] = loaded

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
                      "scored": scored}

    # -- aggregation ---------------------------------------------------------------------
    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        # Scores arrive after RunInference (`apply_predictions`); without a model, nothing.
        return {}

    def combine_fn(self) -> beam.CombineFn:
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
        notes = [f"Model {self.model_settings.model} (label {self.model_info.get('label')!r}, index "
                 f"{self.model_settings.label_index}); each non-blank line scored, truncated to "
                 f"{self.model_info.get('max_length')} tokens; a document's score is the mean of its lines.",
                 f"{total:,} documents scored: a sample of rate {rate} chosen by a blake2b hash of the id "
                 f"({aggregate['sampled']:,} sampled, {aggregate['no_lines']:,} without a non-blank line, "
                 f"{aggregate['errors']:,} scoring errors).",
                 "percent = documents scoring >= 0.5, in % of the scored documents of the row, with its Wilson "
                 "95% interval; mean exact to 1e-6, quantiles nearest-rank over scores rounded to 1e-4; "
                 "axis rows: documents mentioning a HolisticBias descriptor of that axis."]
        return [Table("toxicity_histogram", histogram, "Toxicity of documents (Llama 2 Figure 13; plot the "
                      "documents on a log-scale y axis)", notes[:2]),
                Table("toxicity_summary", self._summary_table(keys, scopes), "Toxicity summary", notes)]

    @staticmethod
    def _summary_table(keys: list[tuple[str, str | None]], scopes: Mapping) -> pa.Table:
        columns: dict[str, list] = {name: [] for name in (
            "scope", "group", "documents", "lines", "toxic_documents", "percent", "mean", "p50", "p90", "p99",
            "p99_9", "percent_ci_low", "percent_ci_high", "truncated_lines")}
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
        types = {"scope": pa.string(), "group": pa.string(), "documents": pa.int64(), "lines": pa.int64(),
                 "toxic_documents": pa.int64(), "truncated_lines": pa.int64()}
        return pa.table({name: pa.array(values, types.get(name, pa.float64())) for name, values in columns.items()})

    def run_statistics(self, aggregate: Mapping[str, Any]) -> dict[str, Any]:
        """Counts of the run for ``summary.json`` (next to `settings`)."""
        overall = aggregate["scopes"].get(("all", None)) or _new_scope()
        return {"documents_sampled": aggregate["sampled"], "documents_scored": overall["documents"],
                "documents_without_lines": aggregate["no_lines"], "scoring_errors": aggregate["errors"],
                "lines_scored": overall["lines"], "truncated_lines": overall["truncated_lines"],
                "toxic_documents": overall["toxic"]}

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
            "allow_pickle_weights": settings.allow_pickle_weights,
            "int8_dynamic_quantisation": settings.int8,
            "token_budget": settings.token_budget,
            "trust_remote_code": False,
        }
        if self.available:
            out.update(self.model_info)
            out["pickle_weights_loaded"] = self.model_info.get("weights_format") == "pickle"
        return out
