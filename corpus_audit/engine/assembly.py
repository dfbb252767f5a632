"""The Beam pipeline: inputs → splits → (read + analyse per split) → combine → tables.

Graph::

    Create(input files) → PlanSplits → [Reshuffle] → AuditWorkUnit ─┬─ skipped/*.jsonl
                                                                     ├─ documents/*.parquet (written per split)
                                                                     ├─ <stage> → CombineGlobally(stage CombineFn) ─┐
                                                                     └─ accounting → CombineGlobally(Accounting) ───┴→ WriteReport

With the toxicity model available, ``AuditWorkUnit`` emits each batch's document rows (and
its sampled documents' lines) instead of writing them: ``RunInference`` scores them and
``WriteScoredDocuments`` writes ``documents/<split>-b<batch>.parquet`` and the stage's partials
(`corpus_audit.engine.scoring`).

Aggregates are exact (integer) CombineFn accumulators (`corpus_audit.engine.combine`), so
tables do not depend on runner, worker count or order.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from corpus_audit.documents import ReadAccounting, WorkUnit
from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.engine.combine import AccountingCombineFn, MergeAccumulatorsFn
from corpus_audit.readers import plan_splits
from corpus_audit.engine.results import ACCOUNTING_KEY, write_results
from corpus_audit.engine.scoring import ScoredBatchWriter
from corpus_audit.rundir.summary import RunSummary
from corpus_audit.engine.work import ACCOUNTING_TAG, INFERENCE_TAG, SKIPPED_TAG, WorkUnitAnalyser, limited_unit
from corpus_audit.storage import join

__all__ = ["ACCOUNTING_KEY", "AuditConfig", "AuditWorkUnit", "WriteReport", "build_pipeline"]


class AuditWorkUnit(WorkUnitAnalyser, beam.DoFn):
    """`WorkUnitAnalyser` as a Beam DoFn: its outputs as tagged outputs, its counts as Beam metrics."""

    def __init__(self, config: AuditConfig) -> None:
        WorkUnitAnalyser.__init__(self, config)
        beam.DoFn.__init__(self)
        self.documents_read = Metrics.counter("corpus_audit", "documents_read")
        self.documents_analysed = Metrics.counter("corpus_audit", "documents_analysed")
        self.bytes_read = Metrics.counter("corpus_audit", "bytes_read")

    # No return annotation: Beam reads it as the output type hint and warns that a bare
    # TaggedOutput lacks type parameters (5 warnings per run); the outputs are tagged, untyped.
    def process(self, unit: WorkUnit):  # type: ignore[no-untyped-def]
        for output in WorkUnitAnalyser.process(self, unit):
            if output.tag == ACCOUNTING_TAG:
                accounting: ReadAccounting = output.value
                self.documents_read.inc(accounting.documents_read)
                self.bytes_read.inc(accounting.bytes_read)
                self.documents_analysed.inc(accounting.documents_analysed)
            yield beam.pvalue.TaggedOutput(output.tag, output.value)


class WriteScoredDocuments(beam.DoFn):
    """After RunInference: `ScoredBatchWriter` (the rows written, the stage's partial emitted)."""

    def __init__(self, config: AuditConfig, schema: Any) -> None:
        self.writer = ScoredBatchWriter(config, schema)

    def setup(self) -> None:
        self.writer.setup()

    def process(self, result: Any) -> Iterator[Any]:
        yield self.writer.write(result.example, result.inference)


class WriteReport(beam.DoFn):
    """Writes ``tables/*`` and ``summary.json`` from the combined aggregates (`write_results`)."""

    def __init__(self, config: AuditConfig) -> None:
        self.config = config

    def process(self, aggregates: dict[str, Any]) -> Iterator[RunSummary]:
        yield write_results(self.config, aggregates)


def build_pipeline(pipeline: beam.Pipeline, config: AuditConfig) -> beam.PCollection:
    """Add the audit to ``pipeline``; returns the PCollection holding the `RunSummary`."""
    units = _work_units(pipeline, config)
    tags = [analysis.name for analysis in config.analyses]
    work = AuditWorkUnit(config)
    results = units | "ReadAndAnalyse" >> beam.ParDo(work).with_outputs(
        SKIPPED_TAG, ACCOUNTING_TAG, INFERENCE_TAG, *tags)
    partials = {name: results[name] for name in tags}
    if work.inference is not None:
        partials[work.inference.name] = _scored_partials(results, work, config)
    _write_skipped(results[SKIPPED_TAG], config.output_dir)
    return _combine_and_report(results[ACCOUNTING_TAG], partials, config)


def _work_units(pipeline: beam.Pipeline, config: AuditConfig) -> beam.PCollection:
    """One `WorkUnit` per split, spread over workers; with ``--limit``, one unit of every split."""
    splits = (
        pipeline
        | "ListInputs" >> beam.Create(config.inputs, reshuffle=False)
        | "PlanSplits" >> beam.FlatMap(plan_splits, config.read_config)
    )
    if config.limit is None:
        return (
            splits
            | "OneSplitPerUnit" >> beam.Map(lambda split: WorkUnit((split,)))
            # Spread splits over workers (a fusion break after planning).
            | "SpreadSplits" >> beam.Reshuffle()
        )
    limit = config.limit
    return (
        splits
        | "AllSplits" >> beam.combiners.ToList()
        | "OneLimitedUnit" >> beam.Map(lambda all_splits: limited_unit(all_splits, limit))
    )


def _scored_partials(results: Any, work: AuditWorkUnit, config: AuditConfig) -> beam.PCollection:
    """RunInference on the inference stage's batches, then its documents and partials."""
    from apache_beam.ml.inference.base import RunInference

    name = work.inference.name
    scored = (
        results[INFERENCE_TAG]
        | f"RunInference_{name}" >> RunInference(work.inference.inference_handler())
        | f"WriteScoredDocuments_{name}" >> beam.ParDo(WriteScoredDocuments(config, work.schema))
    )
    return (results[name], scored) | f"Partials_{name}" >> beam.Flatten()


def _write_skipped(skipped: beam.PCollection, output_dir: str) -> None:
    """``skipped/skipped-SSSSS-of-NNNNN.jsonl``: one JSON line per skipped document."""
    (
        skipped
        | "SkipsToJson" >> beam.Map(lambda record: json.dumps(record, ensure_ascii=False, sort_keys=True))
        | "WriteSkipped" >> beam.io.WriteToText(join(output_dir, "skipped", "skipped"),
                                                 file_name_suffix=".jsonl",
                                                 shard_name_template="-SSSSS-of-NNNNN")
    )


def _combine_and_report(accounting: beam.PCollection, partials: dict[str, beam.PCollection],
                        config: AuditConfig) -> beam.PCollection:
    """Merge the accounting and each stage's partials globally, then `WriteReport`."""
    keyed = [
        accounting
        | "CombineAccounting" >> beam.CombineGlobally(AccountingCombineFn())
        | "KeyAccounting" >> beam.Map(lambda value: (ACCOUNTING_KEY, value))
    ]
    for analysis in config.analyses:
        keyed.append(
            partials[analysis.name]
            | f"Combine_{analysis.name}" >> beam.CombineGlobally(MergeAccumulatorsFn(analysis.combine_fn()))
            | f"Key_{analysis.name}" >> beam.Map(lambda value, name=analysis.name: (name, value))
        )
    return (
        keyed
        | "AllAggregates" >> beam.Flatten()
        | "AggregatesToDict" >> beam.combiners.ToDict()
        | "WriteReport" >> beam.ParDo(WriteReport(config))
    )
