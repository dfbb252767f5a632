"""Loading the toxicity classifier (`corpus_audit.transforms.toxicity`): settings, weights, scoring.

A Hugging Face sequence classifier is loaded with ``from_pretrained`` (never
``trust_remote_code``), local files first and the hub only when it answers a quick probe.
Safetensors weights are preferred; pickle ``.bin`` weights (older hub models ship only those)
are loaded through torch's restricted unpickler, ``torch.load(..., weights_only=True)``, which
since torch 2.6 rebuilds tensors and containers and refuses every other global, so a crafted
file cannot run code: a local ``.bin`` is first opened that way here (`check_pickle_weights`),
and ``from_pretrained`` gets ``weights_only=True`` too. A file that needs the unrestricted
unpickler is refused (`ModelUnavailable`). `toxic_label_index` finds the toxic
class from ``id2label``. `LoadedClassifier.score_lines` scores lines in token-budgeted
batches sorted by length.

Kept apart from the analysis (`toxicity`) and from the RunInference handler
(`toxicity_inference`), which both import it: neither imports the other's internals.
The model the launcher loads to check it (`Toxicity.prepare_run`) is kept here for the first
``load_model`` of the same process (`keep_launcher_model` / `take_launcher_model`).
"""

from __future__ import annotations

import json
import os
import socket
import zipfile
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import urlparse

from corpus_audit.storage import file_sha256

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TOKEN_BUDGET_CPU",
    "DEFAULT_TOKEN_BUDGET_CUDA",
    "LoadedClassifier",
    "ModelSettings",
    "MIN_TORCH_FOR_PICKLE",
    "ModelUnavailable",
    "PICKLE_WEIGHTS_FORMAT",
    "check_pickle_weights",
    "hub_cache_may_hold",
    "hub_reachable",
    "is_local_model",
    "keep_launcher_model",
    "load_classifier",
    "set_cpu_threads",
    "settings_key",
    "take_launcher_model",
    "toxic_label_index",
    "weights_file",
]

DEFAULT_MODEL = "tomh/toxigen_hatebert"
#: Padded tokens per forward pass (lines x longest line of the batch).
DEFAULT_TOKEN_BUDGET_CPU = 1_024  # small batches stay in cache: 2x faster than 8,192 on CPU (bench)
DEFAULT_TOKEN_BUDGET_CUDA = 65_536
#: ``torch.load(weights_only=True)`` is safe against code execution from this version on (CVE-2025-32434).
MIN_TORCH_FOR_PICKLE = (2, 6)
#: ``weights_format`` in ``summary.json`` for ``.bin`` weights loaded by the restricted unpickler.
PICKLE_WEIGHTS_FORMAT = "pickle (weights_only)"
#: Labels naming the toxic class (lower-cased, '-', '_' and spaces removed), see `toxic_label_index`.
_TOXIC_WORDS = ("toxic", "hate", "hateful", "offensive", "abusive")
_NEGATIONS = ("non", "not", "no")


class ModelUnavailable(Exception):
    """The toxicity model cannot be used; the message says why (shown to the user)."""


# ----------------------------------------------------------------------------- labels, sources


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


def is_local_model(model: str) -> bool:
    """Whether ``model`` names a local directory (a path) rather than a hub id."""
    return os.path.isdir(model) or model.startswith((".", "/", "~")) or os.sep in model and os.path.exists(model)


def hub_cache_may_hold(model_id: str) -> bool:
    """False only when the Hugging Face cache certainly lacks ``model_id``: no snapshot of it
    has a ``config.json`` (a local-files load then fails). Checked by path, without
    importing transformers; True when unsure (the real load decides)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return True
    folder = os.path.join(constants.HF_HUB_CACHE, "models--" + model_id.replace("/", "--"), "snapshots")
    try:
        return any(os.path.exists(os.path.join(folder, snapshot, "config.json")) for snapshot in os.listdir(folder))
    except OSError:  # no snapshots folder: never downloaded
        return False


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub, so an offline machine fails in seconds, not after retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------------------- settings, loading


@dataclass
class ModelSettings:
    """How to load and run the classifier (picklable: travels to the workers)."""

    model: str = DEFAULT_MODEL
    label_index: int | None = None
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
                # float64 softmax: the score keeps what the logits hold (a float32 softmax would round it).
                probabilities = logits.double().softmax(dim=-1)[:, self.label_index].cpu().tolist()
                for i, probability in zip(chunk, probabilities):
                    scores[i] = float(probability)
                start += count
        return scores, truncated


def set_cpu_threads(threads: int | None) -> int:
    """Give torch ``threads`` intra-op threads (None: every core this process may use); returns the count."""
    import torch

    count = threads or len(os.sched_getaffinity(0))
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def weights_file(directory: str) -> tuple[str | None, str]:
    """The weights file of a model directory and its format (``safetensors``, ``pickle``, or
    ``unknown`` with no file), safetensors first."""
    for name, kind in (("model.safetensors", "safetensors"), ("model.safetensors.index.json", "safetensors"),
                       ("pytorch_model.bin", "pickle"), ("pytorch_model.bin.index.json", "pickle")):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name), kind
    return None, "unknown"


def _torch_version(version: str) -> tuple[int, int]:
    parts = version.split("+")[0].split(".")
    return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)


def _pickle_shards(path: str) -> list[str]:
    """The ``.bin`` files of a weights file (itself, or the shards a ``.bin.index.json`` names)."""
    if not path.endswith(".index.json"):
        return [path]
    with open(path, "rb") as handle:
        index = json.loads(handle.read(10_000_000))
    names = sorted(set((index.get("weight_map") or {}).values()))
    directory = os.path.dirname(path)
    shards = []
    for name in names:
        if not isinstance(name, str) or os.path.basename(name) != name or not name.endswith(".bin"):
            raise ModelUnavailable(f"{path} names an unexpected weights file {name!r}")
        shards.append(os.path.join(directory, name))
    return shards


def check_pickle_weights(path: str) -> None:
    """Open pickle weights (a ``.bin`` or a ``.bin.index.json`` with its shards) with
    ``torch.load(weights_only=True)`` only; raise `ModelUnavailable` when torch is older than
    2.6 or the file needs the unrestricted unpickler (it would import something other than
    tensors and containers). Nothing in the file is executed either way."""
    import torch

    if _torch_version(torch.__version__) < MIN_TORCH_FOR_PICKLE:
        raise ModelUnavailable(f"pickle (.bin) weights need torch >= 2.6 for a safe weights_only load "
                               f"(this is torch {torch.__version__}); convert the model to safetensors")
    for shard in _pickle_shards(path):
        try:
            # mmap: a zip-format file is checked without reading its tensors into memory.
            torch.load(shard, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(shard))
        except Exception as exc:  # noqa: BLE001 - UnpicklingError, RuntimeError, EOFError, ...
            message = " ".join(str(exc).split())[:300]
            raise ModelUnavailable(f"refused pickle weights {shard}: they do not load with torch's restricted "
                                   f"unpickler (weights_only=True), and the unrestricted one could run code "
                                   f"({type(exc).__name__}: {message})") from exc


def _supports_weights_only() -> bool:
    import inspect

    from transformers import PreTrainedModel

    return "weights_only" in inspect.signature(PreTrainedModel.from_pretrained).parameters


def _resolved_weights(source: str, local: bool) -> tuple[str | None, str]:
    """The weights file the model was loaded from (a local directory or the hub cache) and its format."""
    if local:
        return weights_file(source)
    from transformers.utils import cached_file

    for name, kind in (("model.safetensors", "safetensors"), ("model.safetensors.index.json", "safetensors"),
                       ("pytorch_model.bin", "pickle"), ("pytorch_model.bin.index.json", "pickle")):
        try:
            path = cached_file(source, name, local_files_only=True, _raise_exceptions_for_missing_entries=False,
                               _raise_exceptions_for_connection_errors=False)
        except Exception:  # noqa: BLE001 - not in the cache
            path = None
        if path and os.path.isfile(path):
            return path, kind
    return None, "unknown"


def load_classifier(settings: ModelSettings) -> LoadedClassifier:
    """Load tokenizer and model with ``from_pretrained`` (never ``trust_remote_code``; pickle
    weights only through the restricted unpickler). Raises `ModelUnavailable`."""
    source = os.path.expanduser(settings.model)
    local = is_local_model(source)
    if local and not os.path.isdir(source):
        raise ModelUnavailable(f"model directory not found: {source}")
    if not local and not hub_cache_may_hold(source) and not hub_reachable():
        # Decided without torch/transformers (~3.5 s to import): a default run on a machine
        # without the model says "not computed" at once. Same message as a failed load below.
        raise ModelUnavailable(f"cannot load toxicity model {settings.model}: not in the local cache; "
                               f"the Hugging Face hub is unreachable (offline or HF_HUB_OFFLINE set)")
    import torch

    model, tokenizer = _from_pretrained(settings, source, local)
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
        set_cpu_threads(settings.threads)
        if settings.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    budget = settings.token_budget or (DEFAULT_TOKEN_BUDGET_CUDA if device.startswith("cuda")
                                       else DEFAULT_TOKEN_BUDGET_CPU)
    return LoadedClassifier(model, tokenizer, device, label_index, str(model.config.id2label[label_index]),
                            max_length, budget, autocast_dtype, _model_info(model, source, local))


def _from_pretrained(settings: ModelSettings, source: str, local: bool) -> tuple[Any, Any]:
    """(model, tokenizer): from the local files first, then the hub when reachable; `ModelUnavailable`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if local:
        weights, kind = weights_file(source)
        if kind == "pickle":
            check_pickle_weights(weights)
    kwargs: dict[str, Any] = {"trust_remote_code": False, "use_safetensors": None}
    if _supports_weights_only():
        kwargs["weights_only"] = True
    elif not local:  # an old transformers could unpickle a hub .bin without the restriction: safetensors only
        kwargs["use_safetensors"] = True
    attempts = [{"local_files_only": True}] if local else [{"local_files_only": True}, {}]
    errors: list[str] = []
    for attempt in attempts:
        if not attempt.get("local_files_only") and not hub_reachable():
            errors.append("the Hugging Face hub is unreachable (offline or HF_HUB_OFFLINE set)")
            break
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **attempt)
            model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs, **attempt)
            return model, tokenizer
        except Exception as exc:  # noqa: BLE001 - OSError/ValueError/EnvironmentError from the hub or files
            message = " ".join(str(exc).split())
            if "weights only load failed" in message.lower() or "weights_only" in message:
                raise ModelUnavailable(f"refused pickle weights of {settings.model}: they need the unrestricted "
                                       f"unpickler, which could run code ({message[:200]})") from exc
            errors.append(("not in the local cache" if attempt.get("local_files_only") and not local
                           else message[:300]))
    raise ModelUnavailable(f"cannot load toxicity model {settings.model}: " + "; ".join(errors))


def _model_info(model: Any, source: str, local: bool) -> dict[str, Any]:
    """What the run records of the loaded model: weights file, format, sha256, labels."""
    weights, weights_format = _resolved_weights(source, local)
    if weights_format == "pickle":
        check_pickle_weights(weights)  # a hub .bin: the same check (transformers loaded it weights_only too)
        weights_format = PICKLE_WEIGHTS_FORMAT
    return {
        "model_directory": os.path.dirname(weights) if weights else None,
        "weights_format": weights_format,
        "weights_sha256": file_sha256(weights) if weights and weights.endswith((".safetensors", ".bin")) else None,
        "model_type": model.config.model_type,
        "num_labels": model.config.num_labels,
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
    }


# ----------------------------------------------------------------------------- the launcher's model


#: The model `Toxicity.prepare_run` loaded, kept for this process' first `load_model` (one entry).
_LAUNCHER_MODEL: dict[tuple, LoadedClassifier] = {}


def settings_key(settings: ModelSettings) -> tuple:
    """A hashable key of every setting: equal keys load the same classifier."""
    return tuple(sorted(vars(settings).items()))


def keep_launcher_model(settings: ModelSettings, loaded: LoadedClassifier) -> None:
    """Keep ``loaded`` (the only one kept) for the next `take_launcher_model` with these settings."""
    _LAUNCHER_MODEL.clear()
    _LAUNCHER_MODEL[settings_key(settings)] = loaded


def take_launcher_model(settings: ModelSettings) -> LoadedClassifier | None:
    """The kept model for these settings, removed from the keep (so it is handed out once); else None."""
    return _LAUNCHER_MODEL.pop(settings_key(settings), None)
