"""The plug-in point every analysis implements.

An analysis is one module in `corpus_audit.transforms` with one `Analysis` subclass:

* ``Options``: a frozen dataclass of its options (`corpus_audit.options.Options`: defaults,
  help, checks), which the command line and the Python API both fill; ``from_options`` builds
  the stage from them (``add_arguments`` / ``from_args`` are derived: never override them);
* ``setup``: load models or lexicons once per worker process;
* ``annotate``: per-document values for a batch (columns of ``documents/*.parquet``);
* ``combine_fn``: a Beam ``CombineFn`` whose accumulator is exact and mergeable, so the
  tables of a corpus equal the merge of its shards' tables (integers only: float sums would
  depend on merge order and break byte-identical tables);
* ``tables``: the output tables built from the combined accumulator.

A stage that scores documents with a model (toxicity) subclasses `ScoredAnalysis`, which
declares the hooks the pipeline calls around Beam's ``RunInference`` for it.

The pipeline (`corpus_audit.engine.assembly`, `corpus_audit.engine.work`) runs the registered stages in order on each
batch, isolates a document an analysis raises on (it is skipped with reason
``stage_error:<name>``), and feeds each analysis' CombineFn with its batch inputs.
"""

from __future__ import annotations

import argparse
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Mapping

from corpus_audit.documents import DocumentBatch
from corpus_audit.errors import UsageError
from corpus_audit.options import Options

if TYPE_CHECKING:  # apache_beam.ml takes ~1.2 s to import: only runs that score import it
    import pyarrow as pa
    from apache_beam.ml.inference.base import ModelHandler

__all__ = ["GROUP", "Analysis", "NoOptions", "Proportion", "find_spec", "proportion_bases", "ReportContext", "RunResources", "TableSpec", "ScoredAnalysis", "StageCombineFn", "Table", "UsageError", "snake_case"]


def snake_case(name: str) -> str:
    """A record field name as a column / table-name part: ``"Source URL"`` → ``source_url``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "group"


class StageCombineFn:
    """A stage's exact, mergeable accumulator: the four methods of Beam's ``CombineFn``.

    Not a ``beam.CombineFn`` subclass, so that the stage modules import without Beam: the
    pipeline calls ``add_input`` itself for each split (`corpus_audit.engine.work`) and
    merges the partial accumulators through `corpus_audit.engine.combine.MergeAccumulatorsFn`,
    which is the Beam ``CombineFn``."""

    def create_accumulator(self) -> Any:
        """An empty accumulator."""
        raise NotImplementedError

    def add_input(self, accumulator: Any, element: Any) -> Any:
        """``accumulator`` with one ``combine_input`` value added."""
        raise NotImplementedError

    def merge_accumulators(self, accumulators: Any) -> Any:
        """One accumulator holding all of ``accumulators``."""
        raise NotImplementedError

    def extract_output(self, accumulator: Any) -> Any:
        """What `Analysis.tables` receives."""
        return accumulator


@dataclass(frozen=True)
class NoOptions(Options):
    """The options of a stage that has none."""


@dataclass(frozen=True)
class RunResources:
    """What the engine gives an analysis: its worker processes and each one's CPU threads
    (None: each worker machine uses all of its cores)."""

    workers: int = 1
    cpu_threads_per_worker: int | None = None


@dataclass(frozen=True)
class Proportion:
    """A percentage column: ``count`` documents of a denominator, times ``scale`` (100 for a
    percent, 1 for a fraction). The denominator is one of:

    * ``denominator``: a column of the same row;
    * ``total_of``: the sum of that column over the whole table (``languages``: every analysed
      document);
    * ``lookup``: ``(table, key column, column)``: the row of another table of the same stage
      whose key equals this row's (``descriptors``: the axis' documents in ``descriptor_axes``).

    Compare tests and intervals these; a sampled run gets ``<percent>_ci_low`` / ``_ci_high``."""

    percent: str
    count: str
    denominator: str | None = None
    total_of: str | None = None
    lookup: tuple[str, str, str] | None = None
    scale: float = 100.0

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.denominator, self.total_of, self.lookup)) != 1:
            raise ValueError(f"proportion {self.percent!r}: give exactly one of denominator, total_of, lookup")

    def base(self, row: Mapping[str, Any], totals: "Callable[[str], int | None]",
             lookup: "Callable[[str, str, Any, str], Any]") -> Any:
        """This row's denominator: ``totals(column)`` sums a column of the table,
        ``lookup(table, key, value, column)`` reads another table's row."""
        if self.denominator is not None:
            return row.get(self.denominator)
        if self.total_of is not None:
            return totals(self.total_of)
        table, key, column = self.lookup  # type: ignore[misc]
        return lookup(table, key, row.get(key), column)


#: Where a table name holds the ``--group-by`` field's column name (``languages_by_{group}``).
GROUP = "{group}"


@dataclass(frozen=True)
class TableSpec:
    """A table a stage publishes: its name (``GROUP`` stands for the ``--group-by`` column's name),
    its key columns (which identify a row: how ``compare`` matches rows of two runs; ``GROUP`` is
    that column) and its percentage columns with their denominators."""

    name: str
    keys: tuple[str, ...]
    proportions: tuple[Proportion, ...] = ()

    def matches(self, table: str) -> dict[str, str] | None:
        """``{"group": <column>}`` when ``table`` is this spec's table (``{}`` for a fixed name)."""
        if GROUP not in self.name:
            return {} if table == self.name else None
        prefix, _, suffix = self.name.partition(GROUP)
        if table.startswith(prefix) and table.endswith(suffix) and len(table) > len(prefix) + len(suffix):
            return {"group": table[len(prefix):len(table) - len(suffix) or None]}
        return None

    def keys_for(self, table: str, columns: "Iterable[str]" = ()) -> tuple[str, ...]:
        """The key columns of ``table`` (``GROUP`` replaced by the column that is there)."""
        found = self.matches(table) or {}
        group = found.get("group")
        present = set(columns)
        out = []
        for key in self.keys:
            if key == GROUP:
                key = group if group in present or not present else "group_value"
            out.append(key)
        return tuple(out)


def find_spec(specs: Iterable[TableSpec], table: str) -> TableSpec | None:
    """The declaration of ``table`` among ``specs``: a fixed name wins over a ``{group}`` pattern
    (``pronouns_by_language`` is not a group-by view); None when none matches."""
    patterned = None
    for spec in specs:
        found = spec.matches(table)
        if found == {}:
            return spec
        if found and patterned is None:
            patterned = spec
    return patterned


def proportion_bases(spec: TableSpec, rows: list[Mapping[str, Any]],
                     rows_of: Callable[[str], list[Mapping[str, Any]] | None]
                     ) -> Iterator[tuple[Proportion, Mapping[str, Any], Any, Any]]:
    """``(proportion, row, count, base)`` for every declared proportion of a table and every row of
    it: the one reading of the declarations that intervals, compare and the planner share. A
    column's total is summed once; another table (``rows_of(name)``) is indexed once, its first
    row of a key winning."""
    totals: dict[str, int] = {}
    indexes: dict[tuple[str, str], dict[Any, Mapping[str, Any]]] = {}

    def total(column: str) -> int:
        if column not in totals:
            totals[column] = sum(v for v in (r.get(column) for r in rows)
                                 if isinstance(v, int) and not isinstance(v, bool))
        return totals[column]

    def lookup(table: str, key: str, value: Any, column: str) -> Any:
        if (table, key) not in indexes:
            index: dict[Any, Mapping[str, Any]] = {}
            for other in rows_of(table) or []:
                index.setdefault(other.get(key), other)
            indexes[(table, key)] = index
        found = indexes[(table, key)].get(value)
        return None if found is None else found.get(column)

    for proportion in spec.proportions:
        for row in rows:
            yield proportion, row, row.get(proportion.count), proportion.base(row, total, lookup)


@dataclass(frozen=True)
class ReportContext:
    """What an analysis needs to know about the run to build its tables."""

    group_by: str | None = None


@dataclass
class Table:
    """An output table (SPEC §7): written as ``tables/<name>.{csv,parquet,md}``.

    ``markdown_rows`` optionally restricts the Markdown view (e.g. the paper's 0.005%
    threshold) and ``markdown_columns`` its columns (the few a reader needs; default: all);
    the CSV and Parquet files always keep every row and column. ``percent_columns`` names
    percentage columns beyond those the Markdown view recognises by name (``percent``,
    ``percent_*``, ``*_share``), e.g. the reference Gender-GAP pipeline's ``masculine``.
    A boolean ``small_sample`` column marks the rows whose percentages are over fewer than
    `corpus_audit.stats.SMALL_SAMPLE_DOCUMENTS` documents (flagged ``†`` in the Markdown view).
    """

    name: str
    data: pa.Table
    title: str
    notes: list[str] = field(default_factory=list)
    markdown_rows: list[int] | None = None
    markdown_columns: tuple[str, ...] | None = None
    percent_columns: tuple[str, ...] = ()


class Analysis(ABC):
    """One analysis stage. Subclasses set ``name`` (the ``--stages`` name)."""

    name: ClassVar[str]
    #: Stages whose per-document columns this one reads (they run first).
    requires: ClassVar[tuple[str, ...]] = ()

    #: Its options (a frozen `corpus_audit.options.Options` dataclass); `NoOptions` by default.
    Options: ClassVar[type[Options]] = NoOptions
    #: The tables it publishes (names, keys, denominators): compare, intervals and the reports
    #: read these, never a list of their own.
    TABLES: ClassVar[tuple[TableSpec, ...]] = ()
    #: Its report section: a `corpus_audit.report.registry.ReportSection`, or the dotted name of a
    #: module defining one as ``SECTION``; None: a section showing its tables as they are.
    REPORT_SECTION: ClassVar[Any] = None
    #: The datasheet's heading for a stage without a section of its own.
    TITLE: ClassVar[str] = ""

    def dolma_attributes(self, row: Mapping[str, Any]) -> dict[str, float]:
        """Its per-document values as dolma attributes (``name -> value``; the prefix and the
        whole-document span are added by `corpus_audit.rundir.attributes`), from a
        ``documents/`` row. Default: each of its `document_fields` that holds a number or a flag
        (1.0 / 0.0) in the row, under the column's name."""
        out: dict[str, float] = {}
        for field_ in self.document_fields():
            value = row.get(field_.name)
            if isinstance(value, bool):
                out[field_.name] = 1.0 if value else 0.0
            elif isinstance(value, (int, float)) and value == value:
                out[field_.name] = float(value)
        return out

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Register this analysis' command-line options (those ``Options`` declares)."""
        cls.Options.add_arguments(parser)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Analysis":
        """Build from parsed command-line options (`from_options` of ``Options.from_namespace``)."""
        return cls.from_options(cls.Options.from_namespace(args))

    @classmethod
    def from_options(cls, options: Options) -> "Analysis":
        """Build from its checked options; raise `UsageError` for unusable settings (a lexicon
        that does not load, a model file that is not there)."""
        return cls()

    def use_resources(self, resources: RunResources) -> None:
        """What the engine gives each worker (cores, worker count), before `prepare_run`. An
        analysis sizes itself from this, never from the engine's settings."""

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
    def combine_fn(self) -> StageCombineFn:
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


class ScoredAnalysis(Analysis):
    """A stage whose per-document values come from a model, scored by Beam ``RunInference``.

    Every hook the pipeline (`corpus_audit.engine.assembly`, `corpus_audit.engine.work`) calls for such a stage, in the
    order it calls them (the stage is found by ``isinstance`` and a handler that is not None):

    1. on the launcher, `inference_handler`: the ``ModelHandler`` given to ``RunInference``;
       None means this run does not score, and the stage runs like any `Analysis`
       (``annotate`` rows written with the others, ``combine_input`` into its CombineFn);
    2. per batch, ``annotate`` as for every stage (placeholders: the scores come later); its
       ``combine_input`` is **not** called while a handler is used;
    3. per batch, `inference_request`: the element ``RunInference`` scores, instead of the
       batch's rows being written by the reading DoFn;
    4. per scored element, `apply_predictions`: the rows to write (``documents/<split>-b<batch>``)
       and the input for this stage's ``combine_fn`` (the only input it gets in a scored run);
    5. at the end, ``tables``, ``run_statistics`` and ``settings`` as for every stage.

    The handler and the elements travel between workers: keep them picklable, and the
    elements small (document rows without text, plus only what the model needs).
    """

    @abstractmethod
    def inference_handler(self) -> "ModelHandler | None":
        """The ``ModelHandler`` scoring this stage's elements, or None when the model is not
        usable this run (e.g. it could not be loaded in ``prepare_run``).

        Called on the launcher after ``prepare_run``, several times: to find the scored stage
        (the CLI, to refuse ``--checkpoint-dir`` with one; the DoFns, as they are built) and to
        build ``RunInference``. Every call of a run must agree on None or not None; import heavy
        modules here, not at module level, so runs that do not score stay fast.
        """

    @abstractmethod
    def inference_request(self, split_key: str, batch_index: int, batch: DocumentBatch,
                          rows: dict[str, list]) -> dict[str, Any]:
        """The ``RunInference`` element for one batch, after every stage's ``annotate``.

        Called by the reading DoFn once per batch with documents left, ``batch_index``
        counting those batches within the split ``split_key``. ``rows`` are the batch's
        ``documents/`` columns (every stage's fields, this one's still placeholders). Must
        return a dict with at least ``split_key`` and ``batch_index`` (as given: they name the
        documents file) and whatever `apply_predictions` needs (typically ``rows``).
        """

    @abstractmethod
    def apply_predictions(self, element: dict[str, Any], predictions: Any) -> tuple[dict[str, list], Any]:
        """The scored element as ``(rows, combine_input)``.

        Called once per element after ``RunInference``, with the element `inference_request`
        built and the handler's prediction for it (``PredictionResult.inference``). ``rows``
        are the ``documents/`` columns to write, the scores filled in (same columns as the
        ``rows`` given to `inference_request`; do not mutate the element, copy it);
        ``combine_input`` is added to a fresh accumulator of ``combine_fn()``.
        """
