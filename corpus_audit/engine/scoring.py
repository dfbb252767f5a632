"""Model inference, written once for both engines: a scored batch's rows and partial accumulator.

With the toxicity model available, `WorkUnitAnalyser` emits each batch's document rows as an
``inference`` element instead of writing them. `ScoredBatchWriter` takes the element and the
model's predictions for it: the stage's ``apply_predictions`` fills the scores in, the rows go to
``documents/<split>-b<batch>.parquet`` and the stage's partial accumulator comes back. With
``--checkpoint-dir`` it also keeps each newly scored batch's predictions there
(`SplitCheckpoints.store_scored`); a batch restored from there arrives already scored.

The Beam engine calls it after ``RunInference`` (`corpus_audit.engine.assembly`); the local
engine scores each element in process with the same model handler (`InProcessScorer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus_audit.engine.work import inference_analysis
from corpus_audit.rundir.document_writer import DocumentTableWriter

if TYPE_CHECKING:
    import pyarrow as pa

    from corpus_audit.engine.audit_config import AuditConfig

__all__ = ["InProcessScorer", "ScoredBatchWriter", "inference_analysis"]


class ScoredBatchWriter:
    """Fills a scored batch's rows in, writes them and returns the stage's partial accumulator."""

    def __init__(self, config: "AuditConfig", schema: "pa.Schema") -> None:
        self.output_dir = config.output_dir
        self.analysis = inference_analysis(config.analyses)
        self.schema = schema
        self.checkpoints = config.checkpoints
        self._combine_fn: Any = None

    def setup(self) -> None:
        self._combine_fn = self.analysis.combine_fn()

    def write(self, element: dict[str, Any], predictions: Any) -> Any:
        """``documents/<split>-b<batch>.parquet`` for ``element`` scored as ``predictions``; the
        stage's accumulator over it."""
        if self._combine_fn is None:
            self.setup()
        rows, combine_input = self.analysis.apply_predictions(element, predictions)
        key = f"{element['split_key']}-b{element['batch_index']:05d}"
        with DocumentTableWriter(self.output_dir, key, self.schema) as writer:
            writer.write(rows)
        if self.checkpoints is not None and "checkpoint_key" in element and "restored_predictions" not in element:
            self.checkpoints.store_scored(element["checkpoint_key"], list(predictions))
        return self._combine_fn.add_input(self._combine_fn.create_accumulator(), combine_input)


class InProcessScorer:
    """The local engine's RunInference: the stage's own model handler, one element at a time
    (the handler scores each element on its own either way, so the scores are the Beam run's)."""

    def __init__(self, config: "AuditConfig", schema: "pa.Schema") -> None:
        self.writer = ScoredBatchWriter(config, schema)
        self.handler = self.writer.analysis.inference_handler()
        self._model: Any = None

    def score(self, element: dict[str, Any]) -> Any:
        """Score ``element``, write its rows; the stage's partial accumulator over it."""
        if self._model is None:
            self._model = self.handler.load_model()
        (result,) = self.handler.run_inference([element], self._model)
        return self.writer.write(result.example, result.inference)
