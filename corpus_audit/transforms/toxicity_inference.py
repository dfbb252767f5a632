"""The RunInference ``ModelHandler`` of the toxicity stage (`corpus_audit.transforms.toxicity`).

Kept apart so that ``apache_beam.ml`` (about 1.2 s to import) is imported only by runs that
score toxicity. It loads and runs the classifier of `toxicity_model` and knows the element
format `Toxicity.inference_request` builds; it does not import the analysis.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from corpus_audit.transforms.toxicity_model import (
    LoadedClassifier,
    ModelSettings,
    load_classifier,
    set_cpu_threads,
    take_launcher_model,
)

__all__ = ["LINES_PER_CALL", "ToxicityModelHandler", "element_lines"]

#: Lines handed to one run_inference call at most (RunInference batches elements up to this weight).
LINES_PER_CALL = 4_096


def element_lines(element: dict) -> int:
    """The weight of an inference element for RunInference's batching: its lines (at least 1)."""
    return max(1, sum(len(lines) for _, lines in element["requests"]))


class ToxicityModelHandler(ModelHandler[dict, list, LoadedClassifier]):
    """Scores the sampled documents of inference elements (one element per document batch).

    An element is ``{"split_key", "batch_index", "rows", "requests": [(row, lines), ...]}``;
    the prediction for it is a list aligned with ``requests`` of ``(score, lines,
    truncated_lines)`` or ``None`` for a document whose scoring failed. An element that
    carries ``restored_predictions`` (scored by an earlier run, from ``--checkpoint-dir``) is
    returned with those, not scored again.

    Each element's lines are scored in forward passes of their own (sorted by length, cut by
    the token budget), never mixed with another element's: float32 scores depend slightly
    (~1e-6) on which lines share a pass, so this keeps a document batch's scores, and the
    tables, the same whichever elements RunInference happens to batch together (a resumed
    run's tables equal an uninterrupted run's byte for byte).
    """

    def __init__(self, settings: ModelSettings) -> None:
        # Batch "size" counts lines (element_size_fn), so one call holds up to LINES_PER_CALL lines.
        super().__init__(min_batch_size=1, max_batch_size=LINES_PER_CALL, element_size_fn=element_lines)
        self.settings = settings

    def load_model(self) -> LoadedClassifier:
        """One classifier per worker process (RunInference shares it between the process's
        threads). On CPU, torch gets ``settings.threads`` intra-op threads (cores / --workers)."""
        # In-process runners reuse the model the launcher loaded to check it (same settings).
        reused = take_launcher_model(self.settings)
        loaded = reused if reused is not None else load_classifier(self.settings)
        if not loaded.device.startswith("cuda"):
            set_cpu_threads(self.settings.threads)
        return loaded

    def run_inference(self, batch: Sequence[dict], model: LoadedClassifier,
                      inference_args: dict[str, Any] | None = None) -> Iterable[PredictionResult]:
        return [PredictionResult(element, self._score_element(element, model)) for element in batch]

    def _score_element(self, element: dict, model: LoadedClassifier) -> list:
        if "restored_predictions" in element:
            return list(element["restored_predictions"])
        lines: list[str] = []
        spans: list[tuple[int, int]] = []  # per request: [start, stop) in lines
        for _, request_lines in element["requests"]:
            spans.append((len(lines), len(lines) + len(request_lines)))
            lines.extend(request_lines)
        try:
            scores, truncated = model.score_lines(lines)
        except Exception:  # noqa: BLE001 - find the documents that fail, keep the others
            return self._score_one_by_one(element, model)
        return [(math.fsum(scores[a:b]) / (b - a), b - a, sum(truncated[a:b])) for a, b in spans]

    @staticmethod
    def _score_one_by_one(element: dict, model: LoadedClassifier) -> list:
        out: list = []
        for _, request_lines in element["requests"]:
            try:
                scores, truncated = model.score_lines(request_lines)
                out.append((math.fsum(scores) / len(scores), len(scores), sum(truncated)))
            except Exception:  # noqa: BLE001 - counted as scoring_errors in summary.json
                out.append(None)
        return out

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(line.encode("utf-8", "surrogatepass")) for element in batch
                   if "restored_predictions" not in element for _, lines in element["requests"] for line in lines)

    def get_metrics_namespace(self) -> str:
        return "corpus_audit_toxicity"
