"""The Beam pipeline: inputs → splits → (read + analyse per split) → combine → tables.

Graph::

    Create(input files) → PlanSplits → [Reshuffle] → AuditWorkUnit ─┬─ skipped/*.jsonl
                                                                     ├─ documents/*.parquet (written per split)
                                                                     ├─ <stage> → CombineGlobally(stage CombineFn) ─┐
                                                                     └─ accounting → CombineGlobally(Accounting) ───┴→ WriteReport

With the toxicity model available, ``AuditWorkUnit`` emits each batch's document rows (and
its sampled documents' lines) instead of writing them: ``RunInference`` scores them and
``WriteScoredDocuments`` writes ``documents/<split>-b<batch>.parquet`` and the stage's partials.

Reading and analysis of one split happen in one DoFn call, on batches of documents, so
the runner handles a few elements per thousand documents. Aggregates are exact
(integer) CombineFn accumulators, so tables do not depend on runner, worker count or order.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from corpus_audit import __version__
from corpus_audit.documents import (
    DocumentBatch,
    ReadAccounting,
    SkipRecord,
    WorkUnit,
    make_excerpt,
    stage_error_reason,
)
from corpus_audit.pipeline.checkpoint import SplitCheckpoints
from corpus_audit.pipeline.readers import InputFile, ReadConfig, plan_splits, read_split
from corpus_audit.pipeline.tables import write_table
from corpus_audit.storage import ensure_parent_dir, join, write_bytes
from corpus_audit.transforms.base import Analysis, ReportContext, ScoredAnalysis

LOG = logging.getLogger("corpus_audit")
ACCOUNTING_KEY = "__accounting__"
SKIPPED_TAG = "skipped"
ACCOUNTING_TAG = "accounting"
INFERENCE_TAG = "inference"
PROGRESS_EVERY_SECONDS = 10.0


@dataclass
class AuditConfig:
    """Everything a run needs besides the Beam options."""

    inputs: list[InputFile]
    output_dir: str
    analyses: list[Analysis]
    read_config: ReadConfig = field(default_factory=ReadConfig)
    limit: int | None = None
    progress: bool = True
    run_info: dict[str, Any] = field(default_factory=dict)
    #: ``--checkpoint-dir``: finished splits kept and restored (see pipeline/checkpoint.py).
    checkpoints: SplitCheckpoints | None = None

    @property
    def context(self) -> ReportContext:
        return ReportContext(group_by=self.read_config.group_by)


# ----------------------------------------------------------------------------- accounting


class MergeAccumulatorsFn(beam.CombineFn):
    """Combines partial accumulators of a stage's CombineFn (one per split) into its output.

    The worker pre-combines each split with the stage's own ``add_input``; this merges
    those partial results with the stage's ``merge_accumulators`` — so the corpus table is
    by construction the merge of the per-split tables.
    """

    def __init__(self, combine_fn: beam.CombineFn) -> None:
        self.combine_fn = combine_fn

    def create_accumulator(self):
        return self.combine_fn.create_accumulator()

    def add_input(self, accumulator, partial):
        return self.combine_fn.merge_accumulators([accumulator, partial])

    def merge_accumulators(self, accumulators):
        return self.combine_fn.merge_accumulators(list(accumulators))

    def extract_output(self, accumulator):
        return self.combine_fn.extract_output(accumulator)


class AccountingCombineFn(beam.CombineFn):
    """Merges the per-split `ReadAccounting` into the corpus total (documents read,
    analysed, skipped by reason, bytes)."""

    def create_accumulator(self) -> ReadAccounting:
        return ReadAccounting()

    def add_input(self, accumulator: ReadAccounting, split_accounting: ReadAccounting) -> ReadAccounting:
        return accumulator.merge(split_accounting)

    def merge_accumulators(self, accumulators: Iterable[ReadAccounting]) -> ReadAccounting:
        merged = ReadAccounting()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: ReadAccounting) -> ReadAccounting:
        accumulator.documents_skipped = dict(sorted(accumulator.documents_skipped.items()))
        return accumulator


# ----------------------------------------------------------------------------- per split


class DocumentTableWriter:
    """Streams the per-document columns of one split to ``documents/<split key>.parquet``.

    Written to a temporary name of its own and renamed at the end, so a retried (or
    speculatively duplicated) split replaces its file instead of adding a second one.
    """

    # Bounds the rows buffered per split (memory stays flat however large a shard is).
    ROWS_PER_GROUP = 16_384

    def __init__(self, output_dir: str, split_key: str, schema: pa.Schema) -> None:
        self.path = join(output_dir, "documents", f"{split_key}.parquet")
        self.schema = schema
        self._buffer: dict[str, list] = {name: [] for name in schema.names}
        self._buffered = 0
        self._tmp_path = f"{self.path}.{uuid.uuid4().hex}.tmp"
        self._writer: pq.ParquetWriter | None = None
        self._file = None

    def write(self, columns: dict[str, list]) -> None:
        for name in self.schema.names:
            self._buffer[name].extend(columns[name])
        self._buffered = len(self._buffer[self.schema.names[0]])
        if self._buffered >= self.ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        if self._writer is None:
            ensure_parent_dir(self.path)
            self._file = FileSystems.create(self._tmp_path)
            self._writer = pq.ParquetWriter(self._file, self.schema, compression="zstd")
        self._writer.write_table(pa.table(self._buffer, schema=self.schema))
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered = 0

    def close(self) -> None:
        self._flush()
        if self._writer is None:
            return  # no analysed document in this split: no file
        self._writer.close()
        self._file.close()
        if FileSystems.exists(self.path):
            FileSystems.delete([self.path])
        FileSystems.rename([self._tmp_path], [self.path])

    def abort(self) -> None:
        """Remove the partial file of a failed attempt (the retry writes its own)."""
        try:
            if self._writer is not None:
                self._writer.close()
                self._file.close()
        finally:
            self._writer = None
            if FileSystems.exists(self._tmp_path):
                FileSystems.delete([self._tmp_path])


class _Progress:
    """Console progress of this worker: documents and MB read, rate (logged every 10 s)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.documents = 0
        self.bytes = 0

    def update(self, documents: int, nbytes: int) -> None:
        self.documents += documents
        self.bytes += nbytes
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            elapsed = max(now - self.started, 1e-9)
            print(f"corpus-audit: {self.documents:,} documents, {self.bytes / 1e6:,.1f} MB read "
                  f"({self.bytes / 1e6 / elapsed:,.2f} MB/s, {self.documents / elapsed:,.0f} docs/s this worker)",
                  file=sys.stderr, flush=True)


class AuditWorkUnit(beam.DoFn):
    """Reads the splits of a work unit and runs every analysis on each batch.

    Outputs (tagged): per stage (tag = stage name) its CombineFn accumulator over the unit,
    ``skipped`` records, and one ``accounting`` per unit; writes ``documents/<split>.parquet`` as it goes.
    A document an analysis raises on is skipped with reason ``stage_error:<stage>``.

    With a model-inference stage (one whose ``inference_handler()`` is not None: toxicity),
    each batch's document rows go out as an ``inference`` element instead (see
    `inference_analysis`), scored by RunInference and written by `WriteScoredDocuments`.
    """

    def __init__(self, config: AuditConfig) -> None:
        self.analyses = config.analyses
        self.read_config = config.read_config
        self.output_dir = config.output_dir
        fields = [pa.field("id", pa.string()), pa.field("shard", pa.string()), pa.field("position", pa.int64())]
        if self.read_config.group_by:
            fields.append(pa.field("group", pa.string()))
        for analysis in self.analyses:
            fields.extend(analysis.document_fields())
        self.schema = pa.schema(fields)
        self.documents_read = Metrics.counter("corpus_audit", "documents_read")
        self.documents_analysed = Metrics.counter("corpus_audit", "documents_analysed")
        self.bytes_read = Metrics.counter("corpus_audit", "bytes_read")
        self.show_progress = config.progress
        self.checkpoints = config.checkpoints
        self._progress: _Progress | None = None
        self._combine_fns: dict[str, beam.CombineFn] = {}
        self.inference = inference_analysis(self.analyses)

    def setup(self) -> None:
        for analysis in self.analyses:
            analysis.setup()
        self._combine_fns = {analysis.name: analysis.combine_fn() for analysis in self.analyses}
        self._progress = _Progress()
        # Models, word lists and the runner's own objects live as long as the worker: moved out
        # of the cyclic garbage collector's generations, they are not walked again by every
        # collection the per-document token lists trigger. Young collections run every 20,000
        # new container objects instead of 700: a batch's token lists are freed by reference
        # counting, and scanning them while still alive is wasted work (together ~5-10% of a run).
        gc.freeze()
        threshold0, threshold1, threshold2 = gc.get_threshold()
        gc.set_threshold(max(threshold0, 20_000), threshold1, threshold2)

    def process(self, unit: WorkUnit):
        accounting = ReadAccounting()
        # Each stage's accumulator for this unit: one small element per split leaves the
        # worker instead of one per batch (the split's partial table, merged globally).
        accumulators = {name: fn.create_accumulator() for name, fn in self._combine_fns.items()}
        budget = unit.record_budget
        for split in unit.splits:
            remaining = None if budget is None else budget - accounting.documents_read
            if remaining is not None and remaining <= 0:
                break
            if self.checkpoints is not None:
                yield from self._process_split_with_checkpoint(split, accounting, accumulators)
                continue
            # With an inference stage the documents are written after RunInference (WriteScoredDocuments).
            writer = DocumentTableWriter(self.output_dir, split.key, self.schema) if self.inference is None else None
            try:
                yield from self._process_split(split, remaining, accounting, accumulators, writer)
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is not None:
                writer.close()
            accounting.splits_analysed += 1
        self.documents_read.inc(accounting.documents_read)
        self.bytes_read.inc(accounting.bytes_read)
        self.documents_analysed.inc(accounting.documents_analysed)
        for name, accumulator in accumulators.items():
            yield beam.pvalue.TaggedOutput(name, accumulator)
        yield beam.pvalue.TaggedOutput(ACCOUNTING_TAG, accounting)

    def _process_split_with_checkpoint(self, split, accounting: ReadAccounting, accumulators: dict[str, Any]):
        """Restore ``split`` from the checkpoint directory, or analyse it and store it there."""
        identity = self.checkpoints.split_identity(split)
        writer = DocumentTableWriter(self.output_dir, split.key, self.schema)
        restored = self.checkpoints.restore(split, identity, writer.path)
        if restored is not None:
            for record in restored.skipped:
                yield beam.pvalue.TaggedOutput(SKIPPED_TAG, record)
            split_accumulators, split_accounting = restored.accumulators, restored.accounting
            split_accounting.splits_analysed, split_accounting.splits_restored = 0, 1
        else:
            split_accounting = ReadAccounting(splits_analysed=1)
            split_accumulators = {name: fn.create_accumulator() for name, fn in self._combine_fns.items()}
            skipped: list[dict] = []
            try:
                for output in self._process_split(split, None, split_accounting, split_accumulators, writer):
                    skipped.append(output.value)
                    yield output
            except BaseException:
                writer.abort()
                raise
            writer.close()
            self.checkpoints.store(identity, split_accumulators, split_accounting, skipped, writer.path)
        accounting.merge(split_accounting)
        for name, fn in self._combine_fns.items():
            accumulators[name] = fn.merge_accumulators([accumulators[name], split_accumulators[name]])

    def _process_split(self, split, remaining: int | None, accounting: ReadAccounting,
                       accumulators: dict[str, Any], writer: DocumentTableWriter | None):
        """Read and analyse one split into ``accumulators`` and ``writer``; yields skips (and,
        without a writer, one ``inference`` element per batch for RunInference)."""
        shown_read, shown_bytes = accounting.documents_read, accounting.bytes_read
        batch_index = 0
        for item in read_split(split, self.read_config, accounting, remaining):
            if self.show_progress:
                self._progress.update(accounting.documents_read - shown_read, accounting.bytes_read - shown_bytes)
                shown_read, shown_bytes = accounting.documents_read, accounting.bytes_read
            if isinstance(item, SkipRecord):
                yield beam.pvalue.TaggedOutput(SKIPPED_TAG, item.to_json_dict())
                continue
            batch, columns, stage_skips = self._analyse(item)
            for skip in stage_skips:
                accounting.skip(skip.reason)
                yield beam.pvalue.TaggedOutput(SKIPPED_TAG, skip.to_json_dict())
            if not len(batch):
                continue
            accounting.documents_analysed += len(batch)
            for analysis in self.analyses:
                if analysis is self.inference:
                    continue  # its input comes after RunInference
                accumulators[analysis.name] = self._combine_fns[analysis.name].add_input(
                    accumulators[analysis.name], analysis.combine_input(batch, columns))
            if writer is None:
                yield beam.pvalue.TaggedOutput(INFERENCE_TAG, self.inference.inference_request(
                    split.key, batch_index, batch, self._document_columns(batch, columns)))
                batch_index += 1
            else:
                writer.write(self._document_columns(batch, columns))

    def _document_columns(self, batch: DocumentBatch, columns: dict[str, list]) -> dict[str, list]:
        """The batch's ``documents/`` rows: the table's columns only. Batch-scratch columns
        (``_english_tokens``, ...) stay here: they would otherwise travel through RunInference."""
        out = {"id": batch.ids, "shard": [batch.shard] * len(batch), "position": batch.positions}
        if self.read_config.group_by:
            out["group"] = batch.groups
        out.update((name, columns[name]) for name in self.schema.names if name in columns)
        return out

    def _analyse(self, batch: DocumentBatch) -> tuple[DocumentBatch, dict[str, list], list[SkipRecord]]:
        """Run the stages in order; isolate documents a stage raises on."""
        columns: dict[str, list] = {}
        skips: list[SkipRecord] = []
        for analysis in self.analyses:
            try:
                produced = analysis.annotate(batch, columns)
            except Exception:  # noqa: BLE001 - find the offending documents, skip only those
                # One document at a time; the documents that pass keep their own results,
                # so a stage that fails intermittently cannot fail the whole bundle here.
                keep: list[int] = []
                # Document fields plus any batch-scratch ("_"-prefixed) columns the stage shares.
                produced = {f.name: [] for f in analysis.document_fields()}
                for i in range(len(batch)):
                    try:
                        single = analysis.annotate(batch.select([i]), {k: [v[i]] for k, v in columns.items()})
                    except Exception as exc:  # noqa: BLE001
                        skips.append(SkipRecord(batch.shard, batch.positions[i], stage_error_reason(analysis.name),
                                                make_excerpt(batch.texts[i]), batch.ids[i], analysis.name,
                                                f"{type(exc).__name__}: {exc}"))
                        continue
                    keep.append(i)
                    for name, values in single.items():
                        produced.setdefault(name, []).extend(values)
                batch = batch.select(keep)
                columns = {k: [v[i] for i in keep] for k, v in columns.items()}
                if not len(batch):
                    return batch, columns, skips
            columns.update(produced)
        return batch, columns, skips


# ----------------------------------------------------------------------------- model inference


def inference_analysis(analyses: list[Analysis]) -> ScoredAnalysis | None:
    """The stage that scores documents through RunInference (toxicity), when its model is usable."""
    for analysis in analyses:
        if isinstance(analysis, ScoredAnalysis) and analysis.inference_handler() is not None:
            return analysis
    return None


class WriteScoredDocuments(beam.DoFn):
    """After RunInference: fills the scores into a batch's rows, writes them as
    ``documents/<split>-b<batch>.parquet`` and emits the stage's partial accumulator."""

    def __init__(self, config: AuditConfig, schema: pa.Schema) -> None:
        self.output_dir = config.output_dir
        self.analysis = inference_analysis(config.analyses)
        self.schema = schema

    def setup(self) -> None:
        self._combine_fn = self.analysis.combine_fn()

    def process(self, result):
        element, predictions = result.example, result.inference
        rows, combine_input = self.analysis.apply_predictions(element, predictions)
        writer = DocumentTableWriter(self.output_dir, f"{element['split_key']}-b{element['batch_index']:05d}",
                                     self.schema)
        writer.write(rows)
        writer.close()
        yield self._combine_fn.add_input(self._combine_fn.create_accumulator(), combine_input)


# ----------------------------------------------------------------------------- report


class WriteReport(beam.DoFn):
    """Writes ``tables/*`` and ``summary.json`` from the combined aggregates."""

    def __init__(self, config: AuditConfig) -> None:
        self.config = config

    def process(self, aggregates: dict[str, Any]):
        config = self.config
        accounting: ReadAccounting = aggregates[ACCOUNTING_KEY]
        written: list[str] = []
        for analysis in config.analyses:
            for table in analysis.tables(aggregates[analysis.name], config.context):
                write_table(config.output_dir, table.name, table.data, table.title, table.notes,
                            table.markdown_rows)
                written.append(table.name)
        summary = build_summary(config, accounting, written)
        for analysis in config.analyses:  # run counts some stages report (e.g. lines truncated)
            summary["stages"][analysis.name].update(analysis.run_statistics(aggregates[analysis.name]))
        write_bytes(join(config.output_dir, "summary.json"), summary_json(summary))
        yield summary


def summary_json(summary: dict[str, Any]) -> bytes:
    return (json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def build_summary(config: AuditConfig, accounting: ReadAccounting, tables: list[str]) -> dict[str, Any]:
    return {
        "corpus_audit_version": __version__,
        "documents_read": accounting.documents_read,
        "documents_analysed": accounting.documents_analysed,
        "documents_skipped": dict(sorted(accounting.documents_skipped.items())),
        "accounting_balanced": accounting.is_balanced(),
        "bytes_read": accounting.bytes_read,
        "blank_lines_ignored": accounting.blank_lines_ignored,
        "lone_surrogates_replaced": accounting.surrogates_replaced,
        "splits": {"analysed": accounting.splits_analysed, "restored_from_checkpoint": accounting.splits_restored},
        "stages": {analysis.name: analysis.settings() for analysis in config.analyses},
        "tables": sorted(tables),
        **config.run_info,
    }


# ----------------------------------------------------------------------------- assembly


def build_pipeline(pipeline: beam.Pipeline, config: AuditConfig) -> beam.PCollection:
    """Add the audit to ``pipeline``; returns the PCollection holding the summary dict."""
    read_config = config.read_config
    splits = (
        pipeline
        | "ListInputs" >> beam.Create(config.inputs, reshuffle=False)
        | "PlanSplits" >> beam.FlatMap(plan_splits, read_config)
    )
    if config.limit is None:
        units = (
            splits
            | "OneSplitPerUnit" >> beam.Map(lambda split: WorkUnit((split,)))
            # Spread splits over workers (a fusion break after planning).
            | "SpreadSplits" >> beam.Reshuffle()
        )
    else:
        limit = config.limit
        units = (
            splits
            | "AllSplits" >> beam.combiners.ToList()
            | "OneLimitedUnit" >> beam.Map(
                lambda all_splits: WorkUnit(tuple(sorted(all_splits, key=lambda s: (s.path, s.split_index))), limit))
        )
    tags = [analysis.name for analysis in config.analyses]
    work = AuditWorkUnit(config)
    results = units | "ReadAndAnalyse" >> beam.ParDo(work).with_outputs(
        SKIPPED_TAG, ACCOUNTING_TAG, INFERENCE_TAG, *tags)
    partials = {name: results[name] for name in tags}
    if work.inference is not None:
        from apache_beam.ml.inference.base import RunInference

        name = work.inference.name
        scored = (
            results[INFERENCE_TAG]
            | f"RunInference_{name}" >> RunInference(work.inference.inference_handler())
            | f"WriteScoredDocuments_{name}" >> beam.ParDo(WriteScoredDocuments(config, work.schema))
        )
        partials[name] = (results[name], scored) | f"Partials_{name}" >> beam.Flatten()

    (
        results[SKIPPED_TAG]
        | "SkipsToJson" >> beam.Map(lambda record: json.dumps(record, ensure_ascii=False, sort_keys=True))
        | "WriteSkipped" >> beam.io.WriteToText(join(config.output_dir, "skipped", "skipped"),
                                                 file_name_suffix=".jsonl",
                                                 shard_name_template="-SSSSS-of-NNNNN")
    )
    keyed = [
        results[ACCOUNTING_TAG]
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
