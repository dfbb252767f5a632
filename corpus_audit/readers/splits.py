"""Units of work: each input becomes one or more `ShardSplit`s.

A format with a planner (Parquet: row-group ranges; HF datasets: row ranges) is split into
ranges of about ``rows_per_split`` rows; every other input is read whole. Plain JSONL is
not byte-split on purpose (see `ShardSplit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpus_audit.documents import ShardSplit
from corpus_audit.readers.base import ReadConfig, format_spec

if TYPE_CHECKING:  # discovery imports the formats, which import this module
    from corpus_audit.readers.discovery import InputFile

__all__ = ["group_ranges", "plan_splits", "row_ranges"]


def plan_splits(item: InputFile, config: ReadConfig) -> list[ShardSplit]:
    """Split one input into units of work with its format's planner; the whole file otherwise.

    A file whose metadata cannot be read becomes one split, so that reading it reports the
    problem as a counted skip.
    """
    try:
        planner = format_spec(item.format).planner
        ranges = planner(item.path, config) if planner is not None else []
    except Exception:  # noqa: BLE001 - reported when the split is read
        ranges = []
    if not ranges:
        return [ShardSplit(item.path, item.format)]
    return [ShardSplit(item.path, item.format, start, stop, index) for index, (start, stop) in enumerate(ranges)]


def group_ranges(group_rows: list[int], rows_per_split: int) -> list[tuple[int, int]]:
    """Consecutive row-group index ranges of about ``rows_per_split`` rows each."""
    ranges: list[tuple[int, int]] = []
    start, rows = 0, 0
    for index, count in enumerate(group_rows):
        rows += count
        if rows >= rows_per_split:
            ranges.append((start, index + 1))
            start, rows = index + 1, 0
    if start < len(group_rows):
        ranges.append((start, len(group_rows)))
    return ranges


def row_ranges(num_rows: int, rows_per_split: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of ``rows_per_split`` rows (the last one shorter)."""
    return [(start, min(start + rows_per_split, num_rows)) for start in range(0, num_rows, rows_per_split)]
