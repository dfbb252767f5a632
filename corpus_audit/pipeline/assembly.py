"""The Beam pipeline: inputs → splits → (read + analyse per split) → combine → tables.

Graph::

    Create(input files) → PlanSplits → [Reshuffle] → AuditWorkUnit ─┬─ skipped/*.jsonl
                                                                     ├─ documents/*.parquet (written per split)
                                                                     ├─ <stage> → CombineGlobally(stage CombineFn) ─┐
                                                                     └─ accounting → CombineGlobally(Accounting) ───┴→ WriteReport

With the toxicity model available, ``AuditWorkUnit`` emits each batch's document rows (and
its sampled documents' lines) instead of writing them: ``RunInference`` scores them and
``WriteScoredDocuments`` writes ``documents/<split>-b<batch>.parquet`` and the stage's partials
(`corpus_audit.pipeline.scoring`).

Aggregates are exact (integer) CombineFn accumulators (`corpus_audit.pipeline.combine`), so
tables do not depend on runner, worker count or order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

import apache_beam as beam

from corpus_audit.documents import ReadAccounting, WorkUnit
from corpus_audit.pipeline.checkpoint import SplitCheckpoints
from corpus_audit.pipeline.combine import AccountingCombineFn, MergeAccumulatorsFn
from corpus_audit.pipeline.readers import InputFile, ReadConfig, plan_splits
from corpus_audit.pipeline.scoring import WriteScoredDocuments
from corpus_audit.pipeline.summary import RunInfo, RunSummary
from corpus_audit.pipeline.tables import write_table
from corpus_audit.pipeline.work import ACCOUNTING_TAG, INFERENCE_TAG, SKIPPED_TAG, AuditWorkUnit
from corpus_audit.storage import join
from corpus_audit.transforms.base import Analysis, ReportContext

__all__ = ["ACCOUNTING_KEY", "AuditConfig", "WriteReport", "build_pipeline"]

ACCOUNTING_KEY = "__accounting__"


@dataclass
class AuditConfig:
    """Everything a run needs besides the Beam options."""

    inputs: list[InputFile]
    output_dir: str
    analyses: list[Analysis]
    read_config: ReadConfig = field(default_factory=ReadConfig)
    limit: int | None = None
    progress: bool = True
    #: The command line's part of summary.json (None: a pipeline built without the CLI).
    run_info: RunInfo | None = None
    #: ``--checkpoint-dir``: finished splits kept and restored (see pipeline/checkpoint.py).
    checkpoints: SplitCheckpoints | None = None

    @property
    def context(self) -> ReportContext:
        return ReportContext(group_by=self.read_config.group_by)


class WriteReport(beam.DoFn):
    """Writes ``tables/*`` and ``summary.json`` from the combined aggregates."""

    def __init__(self, config: AuditConfig) -> None:
        self.config = config

    def process(self, aggregates: dict[str, Any]) -> Iterator[RunSummary]:
        config = self.config
        accounting: ReadAccounting = aggregates[ACCOUNTING_KEY]
        written: list[str] = []
        for analysis in config.analyses:
            for table in analysis.tables(aggregates[analysis.name], config.context):
                write_table(config.output_dir, table.name, table.data, table.title, table.notes,
                            table.markdown_rows, table.markdown_columns, table.percent_columns)
                written.append(table.name)
        stages = {analysis.name: analysis.settings() for analysis in config.analyses}
        for analysis in config.analyses:  # run counts some stages report (e.g. lines truncated)
            stages[analysis.name].update(analysis.run_statistics(aggregates[analysis.name]))
        summary = RunSummary.from_aggregates(accounting, stages, written, config.run_info)
        summary.write(config.output_dir)
        yield summary


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
        | "OneLimitedUnit" >> beam.Map(
            lambda all_splits: WorkUnit(tuple(sorted(all_splits, key=lambda s: (s.path, s.split_index))), limit))
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
