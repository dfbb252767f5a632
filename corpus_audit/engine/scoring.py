"""Model inference: the stage scored through RunInference and the DoFn that writes its rows.

With the toxicity model available, `AuditWorkUnit` emits each batch's document rows
instead of writing them; ``RunInference`` scores them and `WriteScoredDocuments` writes
``documents/<split>-b<batch>.parquet`` and emits the stage's partial accumulator. With
``--checkpoint-dir`` it also keeps each newly scored batch's predictions there
(`SplitCheckpoints.store_scored`); a batch restored from there arrives already scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import apache_beam as beam
import pyarrow as pa

from corpus_audit.rundir.document_writer import DocumentTableWriter
from corpus_audit.engine.work import inference_analysis

if TYPE_CHECKING:
    from corpus_audit.engine.audit_config import AuditConfig

__all__ = ["WriteScoredDocuments", "inference_analysis"]


class WriteScoredDocuments(beam.DoFn):
    """After RunInference: fills the scores into a batch's rows, writes them as
    ``documents/<split>-b<batch>.parquet`` and emits the stage's partial accumulator."""

    def __init__(self, config: "AuditConfig", schema: pa.Schema) -> None:
        self.output_dir = config.output_dir
        self.analysis = inference_analysis(config.analyses)
        self.schema = schema
        self.checkpoints = config.checkpoints

    def setup(self) -> None:
        self._combine_fn = self.analysis.combine_fn()

    def process(self, result: Any) -> Iterator[Any]:
        element, predictions = result.example, result.inference
        rows, combine_input = self.analysis.apply_predictions(element, predictions)
        key = f"{element['split_key']}-b{element['batch_index']:05d}"
        with DocumentTableWriter(self.output_dir, key, self.schema) as writer:
            writer.write(rows)
        if self.checkpoints is not None and "checkpoint_key" in element and "restored_predictions" not in element:
            self.checkpoints.store_scored(element["checkpoint_key"], list(predictions))
        yield self._combine_fn.add_input(self._combine_fn.create_accumulator(), combine_input)
