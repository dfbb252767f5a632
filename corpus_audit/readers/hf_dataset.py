"""Hugging Face datasets saved with ``save_to_disk``: one record per row; splits are row ranges.

Counts and skips are those of `read_arrow_batches` (positions are row numbers in the
dataset); in addition a dataset that cannot be loaded and one with no rows are one skip
each. ``datasets`` is imported only when such an input is planned or read.
Directories are recognised by `discovery`, not by suffix.
"""

from __future__ import annotations

from typing import Any

from corpus_audit.documents import SKIP_EMPTY_FILE, SKIP_UNREADABLE_FILE, ShardSplit
from corpus_audit.readers.arrow import read_arrow_batches, wanted_columns
from corpus_audit.readers.base import BatchBuilder, FormatSpec, ReadConfig, ReadItems, register_format
from corpus_audit.readers.splits import row_ranges

__all__ = ["FORMAT_HF", "load_hf_dataset", "plan_hf_dataset", "read_hf_dataset"]

FORMAT_HF = "hf_dataset"


def load_hf_dataset(path: str) -> Any:
    """``datasets.load_from_disk(path)`` (a ``datasets.Dataset``)."""
    import datasets  # imported lazily: heavy, and only needed for HF inputs

    return datasets.load_from_disk(path)


def plan_hf_dataset(path: str, config: ReadConfig) -> list[tuple[int, int]]:
    """Row ranges of ``rows_per_split`` rows."""
    return row_ranges(load_hf_dataset(path).num_rows, config.rows_per_split)


def read_hf_dataset(split: ShardSplit, builder: BatchBuilder, budget: int | None) -> ReadItems:
    """The rows of the split's range (all of them for a whole-dataset split)."""
    try:
        dataset = load_hf_dataset(split.path)
        start = split.row_start or 0
        stop = dataset.num_rows if split.row_stop is None else split.row_stop
        names = dataset.column_names
        wanted = wanted_columns(names, builder.config) or names[:1]
        table = dataset.select_columns(wanted).with_format("arrow")[start:stop]
    except Exception as exc:  # noqa: BLE001
        yield builder.skip(0, SKIP_UNREADABLE_FILE, detail=f"{type(exc).__name__}: {exc}")
        return
    if dataset.num_rows == 0:
        yield builder.skip(0, SKIP_EMPTY_FILE, detail="dataset with no rows")
        return
    batches = table.to_batches(max_chunksize=builder.config.batch_documents)
    yield from read_arrow_batches(batches, names, start, builder, budget, stop - start)


register_format(FormatSpec(FORMAT_HF, read_hf_dataset, planner=plan_hf_dataset))
