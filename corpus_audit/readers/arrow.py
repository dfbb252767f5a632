"""Arrow record batches → documents: the column helpers Parquet and HF datasets share.
Counts: every row is one record read. Skips: a cell pyarrow cannot decode (invalid UTF-8),
`BatchBuilder`'s missing/non-string/empty/too-large text, and, when a batch cannot be read
at all, every row from there to the end of the split (one skip record, counted per row).
"""

from __future__ import annotations

from typing import Iterable

from corpus_audit.documents import SKIP_INVALID_UTF8, SKIP_TRUNCATED_FILE, SkipRecord
from corpus_audit.lazy import lazy_module
from corpus_audit.readers.base import BatchBuilder, ReadConfig, ReadItems, budget_left
from corpus_audit.readers.compression import failure_reason

pa = lazy_module("pyarrow")  # imported on first use: ``run --help`` and JSONL-only planning skip it
pc = lazy_module("pyarrow.compute")

__all__ = ["UndecodableCell", "read_arrow_batches", "row_values", "text_values", "wanted_columns"]


def wanted_columns(names: list[str], config: ReadConfig) -> list[str]:
    """The text, id and group-by columns among ``names`` (in that order, each once).

    Raises `ValueError` when one of them appears more than once in the schema (which value
    is the record's would be a guess): the reader counts the file as unreadable, with this reason.
    """
    wanted = [config.text_field, config.id_field]
    if config.group_by:
        wanted.append(config.group_by)
    for name in dict.fromkeys(wanted):
        if names.count(name) > 1:
            raise ValueError(f"column {name!r} appears {names.count(name)} times in the schema "
                             f"(columns: {', '.join(names)})")
    return [name for name in dict.fromkeys(wanted) if name in names]


def text_values(array: pa.Array) -> tuple[list, list[int]]:
    """Python values of a text column and each value's UTF-8 size (0 for non-strings)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.large_string())
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        sizes = pc.fill_null(pc.binary_length(array), 0).to_pylist()
    else:
        sizes = [0] * len(array)
    return array.to_pylist(), sizes


class UndecodableCell(str):
    """Marker for a cell pyarrow could not turn into a Python value (message as text)."""


def row_values(array: pa.Array, n: int) -> list:
    """``to_pylist`` that survives undecodable cells (invalid UTF-8 in a string column):
    such a cell becomes an `UndecodableCell` the reader skips."""
    try:
        return array.to_pylist()
    except Exception:  # noqa: BLE001 - pyarrow raises UnicodeDecodeError / ArrowInvalid
        values = []
        for i in range(n):
            try:
                values.append(array[i].as_py())
            except Exception as exc:  # noqa: BLE001
                values.append(UndecodableCell(f"{type(exc).__name__}: {exc}"))
        return values


def read_arrow_batches(batches: Iterable[pa.RecordBatch], names: list[str], row_offset: int,
                       builder: BatchBuilder, budget: int | None, expected_rows: int | None = None) -> ReadItems:
    """Rows of Arrow record batches (Parquet, HF datasets) → documents and skips.

    Row positions start at ``row_offset``. A batch that cannot be read at all (corrupt row
    group) ends the split: the rows it and the rest of the split held are counted as skipped
    (``expected_rows`` comes from the file's metadata), never dropped uncounted.
    """
    has_text = builder.config.text_field in names
    has_group = bool(builder.config.group_by) and builder.config.group_by in names
    start_read = builder.accounting.documents_read
    position = row_offset
    iterator = iter(batches)
    while True:
        try:
            record_batch = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - corrupt data: count what is lost, stop this split
            skipped = _skip_unreadable_rest(builder, exc, position, position - row_offset, expected_rows,
                                            budget, start_read)
            if skipped is not None:
                yield skipped
            return
        texts, sizes, ids, groups = _batch_columns(record_batch, builder.config, has_text)
        for i in range(record_batch.num_rows):
            if not budget_left(builder, start_read, budget):
                return
            text = texts[i]
            if isinstance(text, UndecodableCell):
                skipped = builder.skip(position, SKIP_INVALID_UTF8, doc_id=None if ids[i] is None else str(ids[i]),
                                       detail=str(text))
            else:
                skipped = builder.add(position, text, ids[i], groups[i], sizes[i], present=has_text,
                                      group_present=has_group)
            position += 1
            if skipped is not None:
                yield skipped
            elif builder.full():
                yield builder.take()


def _batch_columns(record_batch: pa.RecordBatch, config: ReadConfig,
                   has_text: bool) -> tuple[list, list[int], list, list]:
    """Texts, their UTF-8 sizes, ids and groups of one batch (``None`` for absent columns)."""
    n = record_batch.num_rows
    columns = record_batch.schema.names
    ids = row_values(record_batch.column(config.id_field), n) if config.id_field in columns else [None] * n
    groups = (row_values(record_batch.column(config.group_by), n)
              if config.group_by and config.group_by in columns else [None] * n)
    if not has_text:
        return [None] * n, [0] * n, ids, groups
    text_array = record_batch.column(config.text_field)
    try:
        texts, sizes = text_values(text_array)
    except Exception:  # noqa: BLE001 - an undecodable cell: find it row by row
        texts = row_values(text_array, n)
        sizes = [len(t.encode("utf-8")) if isinstance(t, str) and not isinstance(t, UndecodableCell) else 0
                 for t in texts]
    return texts, sizes, ids, groups


def _skip_unreadable_rest(builder: BatchBuilder, exc: Exception, position: int, rows_done: int,
                          expected_rows: int | None, budget: int | None, start_read: int) -> SkipRecord | None:
    """One skip counting every row from ``position`` on (within the budget), or None if none is left."""
    lost = max(1, (expected_rows or 0) - rows_done)
    if budget is not None:
        lost = max(0, min(lost, budget - (builder.accounting.documents_read - start_read)))
    if not lost:
        return None
    return builder.skip(position, failure_reason(exc, SKIP_TRUNCATED_FILE), count=lost,
                        detail=f"{type(exc).__name__}: {exc} ({lost} rows from here unreadable)")
