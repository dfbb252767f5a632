"""Parquet (``.parquet``): one record per row; splits are ranges of row groups.
Counts and skips are those of `read_arrow_batches` (positions are row numbers in the whole
file); in addition an unreadable file (also one whose schema has the text, id or group-by
column more than once) and a file with no rows are one skip each. Only the text, id and
group-by columns are read.
"""

from __future__ import annotations

from corpus_audit import remote
from corpus_audit.documents import SKIP_EMPTY_FILE, SKIP_UNREADABLE_FILE, ShardSplit
from corpus_audit.lazy import lazy_module
from corpus_audit.readers.arrow import read_arrow_batches, wanted_columns
from corpus_audit.readers.base import BatchBuilder, FormatSpec, ReadConfig, ReadItems, register_format
from corpus_audit.readers.compression import failure_reason
from corpus_audit.readers.splits import group_ranges

pq = lazy_module("pyarrow.parquet")  # imported on first use

__all__ = ["FORMAT_PARQUET", "SUFFIXES", "plan_parquet", "read_parquet", "schema_names"]

FORMAT_PARQUET = "parquet"
SUFFIXES = (".parquet",)


def schema_names(path: str) -> list[str]:
    """The column names of a Parquet file (from its footer only)."""
    with remote.open_input(path) as f:
        return list(pq.ParquetFile(f).schema_arrow.names)


def plan_parquet(path: str, config: ReadConfig) -> list[tuple[int, int]]:
    """Row-group index ranges of about ``rows_per_split`` rows, from the file's metadata."""
    with remote.open_input(path) as f:
        metadata = pq.ParquetFile(f).metadata
        group_rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    return group_ranges(group_rows, config.rows_per_split)


def read_parquet(split: ShardSplit, builder: BatchBuilder, budget: int | None) -> ReadItems:
    """The rows of the split's row groups (all of them for a whole-file split)."""
    handle = None
    try:
        handle = remote.open_input(split.path)
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        groups = list(range(metadata.num_row_groups))
        if split.row_start is not None:
            groups = groups[split.row_start:split.row_stop]
        row_offset = sum(metadata.row_group(i).num_rows for i in range(groups[0] if groups else 0))
        expected_rows = sum(metadata.row_group(i).num_rows for i in groups)
        names = parquet.schema_arrow.names
        wanted = wanted_columns(names, builder.config)
        batches = parquet.iter_batches(batch_size=builder.config.batch_documents, row_groups=groups,
                                       columns=wanted or names[:1], use_threads=False)
    except Exception as exc:  # noqa: BLE001
        if handle is not None:
            handle.close()
        yield builder.skip(0, failure_reason(exc, SKIP_UNREADABLE_FILE), detail=f"{type(exc).__name__}: {exc}")
        return
    with handle:
        if metadata.num_rows == 0:
            yield builder.skip(0, SKIP_EMPTY_FILE, detail="Parquet file with no rows")
            return
        yield from read_arrow_batches(batches, names, row_offset, builder, budget, expected_rows)


register_format(FormatSpec(FORMAT_PARQUET, read_parquet, SUFFIXES, planner=plan_parquet))
