"""Reading and analysing a work unit: its splits, read in batches, through every analysis.

`WorkUnitAnalyser` is plain Python (no Beam import): the Beam DoFn
(`corpus_audit.engine.assembly.AuditWorkUnit`) and the in-process engine
(`corpus_audit.engine.local`) both run it. Reading and analysis of one split happen in one
call, on batches of documents, so a runner handles a few elements per thousand documents. Each
unit leaves as one partial accumulator per stage (merged globally), its skip records, its
accounting, and ``documents/<split>.parquet``.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Generator, Iterable, Iterator, NamedTuple

from corpus_audit.documents import (
    DocumentBatch,
    ReadAccounting,
    ShardSplit,
    SkipRecord,
    WorkUnit,
    make_excerpt,
    stage_error_reason,
)
from corpus_audit.rundir.document_writer import DocumentTableWriter, document_path, document_schema
from corpus_audit.engine.progress import Progress
from corpus_audit.readers import read_split
from corpus_audit.transforms.base import Analysis, ScoredAnalysis

if TYPE_CHECKING:
    from corpus_audit.engine.audit_config import AuditConfig

__all__ = ["ACCOUNTING_TAG", "INFERENCE_TAG", "SKIPPED_TAG", "Tagged", "WorkUnitAnalyser", "inference_analysis",
           "limited_unit"]

SKIPPED_TAG = "skipped"
ACCOUNTING_TAG = "accounting"
INFERENCE_TAG = "inference"



class Tagged(NamedTuple):
    """One output of a work unit: ``tag`` (a stage name or one of the ``*_TAG``s) and its value
    (the attributes of Beam's ``TaggedOutput``, which the DoFn turns it into)."""

    tag: str
    value: Any


Outputs = Iterator[Tagged]


def inference_analysis(analyses: Iterable[Analysis]) -> ScoredAnalysis | None:
    """The stage that scores documents through RunInference (toxicity), when its model is usable."""
    for analysis in analyses:
        if isinstance(analysis, ScoredAnalysis) and analysis.inference_handler() is not None:
            return analysis
    return None


def limited_unit(splits: Iterable[ShardSplit], limit: int) -> WorkUnit:
    """``--limit``: one unit holding every split in (path, split) order, reading ``limit`` records."""
    return WorkUnit(tuple(sorted(splits, key=lambda s: (s.path, s.split_index))), limit)


class WorkUnitAnalyser:
    """Reads the splits of a work unit and runs every analysis on each batch.

    Outputs (tagged): per stage (tag = stage name) its CombineFn accumulator over the unit,
    ``skipped`` records, and one ``accounting`` per unit; writes ``documents/<split>.parquet`` as it goes.
    A document an analysis raises on is skipped with reason ``stage_error:<stage>``.

    With a model-inference stage (one whose ``inference_handler()`` is not None: toxicity),
    each batch's document rows go out as an ``inference`` element instead (see
    `inference_analysis`), scored by RunInference and written by `WriteScoredDocuments`.
    """

    def __init__(self, config: "AuditConfig") -> None:
        self.analyses = config.analyses
        self.read_config = config.read_config
        self.output_dir = config.output_dir
        self.schema = document_schema(self.read_config, self.analyses)
        self.show_progress = config.progress
        self.checkpoints = config.checkpoints
        self._progress: Progress | None = None
        self._combine_fns: dict[str, Any] = {}
        self.inference = inference_analysis(self.analyses)

    def setup(self) -> None:
        for analysis in self.analyses:
            analysis.setup()
        self._combine_fns = {analysis.name: analysis.combine_fn() for analysis in self.analyses}
        self._progress = Progress()
        # Models, word lists and the runner's own objects live as long as the worker: moved out
        # of the cyclic garbage collector's generations, they are not walked again by every
        # collection the per-document token lists trigger. Young collections run every 20,000
        # new container objects instead of 700: a batch's token lists are freed by reference
        # counting, and scanning them while still alive is wasted work (together ~5-10% of a run).
        gc.freeze()
        threshold0, threshold1, threshold2 = gc.get_threshold()
        gc.set_threshold(max(threshold0, 20_000), threshold1, threshold2)

    def process(self, unit: WorkUnit) -> Outputs:
        accounting = ReadAccounting()
        # Each stage's accumulator for this unit: one small element per split leaves the
        # worker instead of one per batch (the split's partial table, merged globally).
        accumulators = self._new_accumulators()
        budget = unit.record_budget
        for split in unit.splits:
            remaining = None if budget is None else budget - accounting.documents_read
            if remaining is not None and remaining <= 0:
                break
            restored_before = accounting.splits_restored
            if self.checkpoints is not None and self.inference is None:
                # (With a scored stage, scored batches are checkpointed instead: `_inference_element`.)
                yield from self._process_split_with_checkpoint(split, accounting, accumulators)
            else:
                yield from self._process_split_to_documents(split, remaining, accounting, accumulators)
                accounting.splits_analysed += 1
            if self.show_progress:  # one aggregated line (corpus_audit.engine.progress)
                self._progress.split_done(split.path, split.row_start, split.row_stop,
                                          restored=accounting.splits_restored > restored_before)
        for name, accumulator in accumulators.items():
            yield Tagged(name, accumulator)
        yield Tagged(ACCOUNTING_TAG, accounting)

    def _new_accumulators(self) -> dict[str, Any]:
        return {name: fn.create_accumulator() for name, fn in self._combine_fns.items()}

    def _process_split_to_documents(self, split: ShardSplit, remaining: int | None, accounting: ReadAccounting,
                                    accumulators: dict[str, Any]) -> Outputs:
        """Analyse ``split`` into ``documents/<split>.parquet`` (with an inference stage the
        documents are written after RunInference, by `WriteScoredDocuments`)."""
        if self.inference is not None:
            yield from self._process_split(split, remaining, accounting, accumulators, None)
            return
        with DocumentTableWriter(self.output_dir, split.key, self.schema) as writer:
            yield from self._process_split(split, remaining, accounting, accumulators, writer)

    def _process_split_with_checkpoint(self, split: ShardSplit, accounting: ReadAccounting,
                                       accumulators: dict[str, Any]) -> Outputs:
        """Restore ``split`` from the checkpoint directory, or analyse it and store it there."""
        identity = self.checkpoints.split_identity(split)
        restored = self.checkpoints.restore(split, identity, document_path(self.output_dir, split.key))
        if restored is not None:
            for record in restored.skipped:
                yield Tagged(SKIPPED_TAG, record)
            split_accumulators, split_accounting = restored.accumulators, restored.accounting
            split_accounting.splits_analysed, split_accounting.splits_restored = 0, 1
        else:
            split_accumulators, split_accounting = yield from self._analyse_and_store(split, identity)
        accounting.merge(split_accounting)
        for name, fn in self._combine_fns.items():
            accumulators[name] = fn.merge_accumulators([accumulators[name], split_accumulators[name]])

    def _analyse_and_store(self, split: ShardSplit, identity: dict[str, Any]
                           ) -> Generator[Tagged, None, tuple[dict[str, Any], ReadAccounting]]:
        """Analyse a whole split and keep its results in the checkpoint directory."""
        split_accounting = ReadAccounting(splits_analysed=1)
        split_accumulators = self._new_accumulators()
        skipped: list[dict] = []
        with DocumentTableWriter(self.output_dir, split.key, self.schema) as writer:
            for output in self._process_split(split, None, split_accounting, split_accumulators, writer):
                skipped.append(output.value)
                yield output
        self.checkpoints.store(identity, split_accumulators, split_accounting, skipped, writer.path)
        return split_accumulators, split_accounting

    def _process_split(self, split: ShardSplit, remaining: int | None, accounting: ReadAccounting,
                       accumulators: dict[str, Any], writer: DocumentTableWriter | None) -> Outputs:
        """Read and analyse one split into ``accumulators`` and ``writer``; yields skips (and,
        without a writer, one ``inference`` element per batch for RunInference)."""
        shown_read, shown_bytes = accounting.documents_read, accounting.bytes_read
        batch_index = 0
        for item in read_split(split, self.read_config, accounting, remaining):
            if self.show_progress:
                self._progress.update(accounting.documents_read - shown_read, accounting.bytes_read - shown_bytes)
                shown_read, shown_bytes = accounting.documents_read, accounting.bytes_read
            if isinstance(item, SkipRecord):
                yield Tagged(SKIPPED_TAG, item.to_json_dict())
                continue
            batch, columns, stage_skips = self._analyse(item)
            for skip in stage_skips:
                accounting.skip(skip.reason)
                yield Tagged(SKIPPED_TAG, skip.to_json_dict())
            if not len(batch):
                continue
            accounting.documents_analysed += len(batch)
            self._add_to_accumulators(batch, columns, accumulators)
            if writer is None:
                yield Tagged(INFERENCE_TAG, self._inference_element(
                    split.key, batch_index, batch, self._document_columns(batch, columns)))
                batch_index += 1
            else:
                writer.write(self._document_columns(batch, columns))

    def _inference_element(self, split_key: str, batch_index: int, batch: DocumentBatch,
                           rows: dict[str, list]) -> dict[str, Any]:
        """The scored stage's RunInference element of one batch. With ``--checkpoint-dir`` it
        carries ``checkpoint_key`` (content, settings and model hash) and, when that batch was
        scored by an earlier run, its ``restored_predictions`` (the handler then skips it)."""
        element = self.inference.inference_request(split_key, batch_index, batch, rows)
        model_sha256 = getattr(self.inference, "model_sha256", None)
        if self.checkpoints is None or not model_sha256:
            return element
        key = self.checkpoints.scored_key(self.inference.name, [element["rows"], element["requests"]], model_sha256)
        if key is None:
            return element
        element["checkpoint_key"] = key
        stored = self.checkpoints.restore_scored(key, len(element["requests"]))
        if stored is not None:
            element["restored_predictions"] = stored
        return element

    def _add_to_accumulators(self, batch: DocumentBatch, columns: dict[str, list],
                             accumulators: dict[str, Any]) -> None:
        for analysis in self.analyses:
            if analysis is self.inference:
                continue  # its input comes after RunInference
            accumulators[analysis.name] = self._combine_fns[analysis.name].add_input(
                accumulators[analysis.name], analysis.combine_input(batch, columns))

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
                batch, columns, produced = _isolate_failures(analysis, batch, columns, skips)
                if not len(batch):
                    return batch, columns, skips
            columns.update(produced)
        return batch, columns, skips


def _isolate_failures(analysis: Analysis, batch: DocumentBatch, columns: dict[str, list],
                      skips: list[SkipRecord]) -> tuple[DocumentBatch, dict[str, list], dict[str, list]]:
    """Run ``analysis`` one document at a time after it raised on ``batch``.

    The documents that pass keep their own results, so a stage that fails intermittently
    cannot fail the whole bundle here; the others are added to ``skips``. Returns the kept
    batch, its columns so far and the stage's columns for it.
    """
    keep: list[int] = []
    # Document fields plus any batch-scratch ("_"-prefixed) columns the stage shares.
    produced: dict[str, list] = {f.name: [] for f in analysis.document_fields()}
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
    return batch.select(keep), {k: [v[i] for i in keep] for k, v in columns.items()}, produced
