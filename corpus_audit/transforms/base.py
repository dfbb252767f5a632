"""The plug-in point every analysis implements.

An analysis is one module in `corpus_audit.transforms` with one `Analysis` subclass:

* ``add_arguments`` / ``from_args``: its command-line options;
* ``setup``: load models or lexicons once per worker process;
* ``annotate``: per-document values for a batch (columns of ``documents/*.parquet``);
* ``combine_fn``: a Beam ``CombineFn`` whose accumulator is exact and mergeable, so the
  tables of a corpus equal the merge of its shards' tables (integers only: float sums would
  depend on merge order and break byte-identical tables);
* ``tables``: the output tables built from the combined accumulator.

The pipeline (`corpus_audit.pipeline.audit`) runs the registered stages in order on each
batch, isolates a document an analysis raises on (it is skipped with reason
``stage_error:<name>``), and feeds each analysis' CombineFn with its batch inputs.
"""

from __future__ import annotations

import argparse
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import apache_beam as beam
import pyarrow as pa

from corpus_audit.documents import DocumentBatch
from corpus_audit.errors import UsageError

__all__ = ["Analysis", "ReportContext", "Table", "UsageError", "snake_case"]


def snake_case(name: str) -> str:
    """A record field name as a column / table-name part: ``"Source URL"`` → ``source_url``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "group"


@dataclass(frozen=True)
class ReportContext:
    """What an analysis needs to know about the run to build its tables."""

    group_by: str | None = None


@dataclass
class Table:
    """An output table (SPEC §7): written as ``tables/<name>.{csv,parquet,md}``.

    ``markdown_rows`` optionally restricts the Markdown view (e.g. the paper's 0.005%
    threshold); the CSV and Parquet files always keep every row.
    """

    name: str
    data: pa.Table
    title: str
    notes: list[str] = field(default_factory=list)
    markdown_rows: list[int] | None = None


class Analysis(ABC):
    """One analysis stage. Subclasses set ``name`` (the ``--stages`` name)."""

    name: ClassVar[str]
    #: Stages whose per-document columns this one reads (they run first).
    requires: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Register this analysis' command-line options."""

    @classmethod
    @abstractmethod
    def from_args(cls, args: argparse.Namespace) -> "Analysis":
        """Build from parsed options; raise `UsageError` for unusable settings."""

    def setup(self) -> None:
        """Load models or lexicons. Called once per worker before the first batch."""

    @abstractmethod
    def document_fields(self) -> list[pa.Field]:
        """The per-document columns ``annotate`` returns, in order."""

    @abstractmethod
    def annotate(self, batch: DocumentBatch, columns: Mapping[str, list]) -> dict[str, list]:
        """Per-document values for ``batch``: one list per field, aligned with the batch.

        ``columns`` holds the columns of earlier stages for the same documents.
        """

    def combine_input(self, batch: DocumentBatch, columns: Mapping[str, list]) -> Any:
        """What this analysis' CombineFn receives for one batch (keep it small: it is
        serialised between workers). Default: the batch's groups and all columns."""
        return {"group": batch.groups, **{f.name: columns[f.name] for f in self.document_fields()}}

    @abstractmethod
    def combine_fn(self) -> beam.CombineFn:
        """A CombineFn with an exact, mergeable accumulator over ``combine_input`` values."""

    @abstractmethod
    def tables(self, aggregate: Any, context: ReportContext) -> list[Table]:
        """The output tables from the combined accumulator (``combine_fn().extract_output``)."""

    def settings(self) -> dict[str, Any]:
        """Settings recorded in ``summary.json`` (model ids, lexicon versions, thresholds)."""
        return {}

    # -- optional hooks (defaults: nothing to do) -----------------------------------------
    def prepare_run(self) -> None:
        """Once on the launching machine, after the cheap checks and before any output is
        touched (e.g. load a model to learn whether it is usable); may raise `UsageError`."""

    def run_warning(self) -> str | None:
        """A line printed at the start of the run (e.g. "toxicity not computed: ...")."""
        return None

    def run_statistics(self, aggregate: Any) -> dict[str, Any]:
        """Counts merged into ``summary.json`` → ``stages.<name>`` at the end of the run."""
        return {}

    def inference_handler(self) -> Any:
        """A Beam RunInference ``ModelHandler`` when this stage scores documents with a model
        after the per-batch analyses (toxicity); None otherwise."""
        return None
