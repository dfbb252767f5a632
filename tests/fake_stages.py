"""Stages for fault-injection and resume tests (registered per test, never shipped).

`CountingStage` counts documents and characters exactly, so a double-counted or lost batch
shows in its table; subclasses make it fail once, or slow.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Mapping

import apache_beam as beam
import pyarrow as pa

from corpus_audit.transforms.base import Analysis, ReportContext, Table


class CountsCombineFn(beam.CombineFn):
    """[documents, characters] over every batch it is given."""

    def create_accumulator(self) -> list[int]:
        return [0, 0]

    def add_input(self, accumulator, batch_input):
        accumulator[0] += len(batch_input)
        accumulator[1] += sum(batch_input)
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = [0, 0]
        for documents, characters in accumulators:
            merged[0] += documents
            merged[1] += characters
        return merged

    def extract_output(self, accumulator):
        return tuple(accumulator)


class CountingStage(Analysis):
    """Documents and characters seen by the stage; table ``stage_counts``."""

    name = "counting"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CountingStage":
        return cls()

    def document_fields(self) -> list[pa.Field]:
        return [pa.field("characters_counted", pa.int64())]

    def annotate(self, batch, columns: Mapping[str, list]) -> dict[str, list]:
        return {"characters_counted": [len(text) for text in batch.texts]}

    def combine_input(self, batch, columns: Mapping[str, list]) -> Any:
        return columns["characters_counted"]

    def combine_fn(self) -> beam.CombineFn:
        return CountsCombineFn()

    def tables(self, aggregate, context: ReportContext) -> list[Table]:
        documents, characters = aggregate
        data = pa.table({"documents": pa.array([documents], pa.int64()),
                         "characters": pa.array([characters], pa.int64())})
        return [Table("stage_counts", data, "Documents the counting stage saw")]


class FailsOncePerShard(CountingStage):
    """Raises outside the per-document isolation (in ``combine_input``) the first time it
    sees the third batch of each shard — as a worker lost mid-bundle would — and succeeds
    when the runner retries the bundle. Attempts are remembered in this process."""

    failed: set[str] = set()
    calls: dict[str, int] = {}

    def combine_input(self, batch, columns):
        seen = self.calls.get(batch.shard, 0) + 1
        self.calls[batch.shard] = seen
        if seen == 3 and batch.shard not in self.failed:
            self.failed.add(batch.shard)
            raise ConnectionError(f"injected failure in {os.path.basename(batch.shard)}")
        return super().combine_input(batch, columns)


class SlowStage(CountingStage):
    """Sleeps per batch (``CORPUS_AUDIT_TEST_SLEEP`` seconds) so a test can stop a run mid-way."""

    def annotate(self, batch, columns):
        time.sleep(float(os.environ.get("CORPUS_AUDIT_TEST_SLEEP", "0")))
        return super().annotate(batch, columns)

    def settings(self) -> dict[str, Any]:
        return {"purpose": "resume test"}
