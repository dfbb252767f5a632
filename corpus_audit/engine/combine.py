"""The global combines: per-split partial accumulators merged into the corpus totals.

Workers pre-combine each split with the stages' own ``add_input``; these CombineFns merge
those partial results, so a corpus table is by construction the merge of its split tables.
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam

from corpus_audit.documents import ReadAccounting

__all__ = ["AccountingCombineFn", "MergeAccumulatorsFn"]


class MergeAccumulatorsFn(beam.CombineFn):
    """Combines partial accumulators of a stage's CombineFn (one per split) into its output.

    The worker pre-combines each split with the stage's own ``add_input``; this merges
    those partial results with the stage's ``merge_accumulators`` — so the corpus table is
    by construction the merge of the per-split tables.
    """

    def __init__(self, combine_fn: beam.CombineFn) -> None:
        self.combine_fn = combine_fn

    def create_accumulator(self) -> Any:
        return self.combine_fn.create_accumulator()

    def add_input(self, accumulator: Any, partial: Any) -> Any:
        return self.combine_fn.merge_accumulators([accumulator, partial])

    def merge_accumulators(self, accumulators: Iterable[Any]) -> Any:
        return self.combine_fn.merge_accumulators(list(accumulators))

    def extract_output(self, accumulator: Any) -> Any:
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
        return ReadAccounting.total([accumulator])
