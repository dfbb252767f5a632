"""``documents/*.parquet``: the per-document table, one file per split (or scored batch).

`DocumentTableWriter` is a context manager — ``with DocumentTableWriter(...) as writer:``
renames the finished file into place on success and removes the partial file when the
block raises — so the audit DoFn and `WriteScoredDocuments` share one open/abort/close.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from corpus_audit.readers import ReadConfig
from corpus_audit.rundir.paths import output_path
from corpus_audit.storage import AtomicFile
from corpus_audit.transforms.base import Analysis

__all__ = ["DocumentTableWriter", "document_path", "document_schema"]


def document_path(output_dir: str, key: str) -> str:
    """Where the documents file of split (or scored batch) ``key`` goes (a split key is always one
    safe file name; `output_path` checks it, and that no symbolic link is on the way)."""
    return output_path(output_dir, "documents", f"{key}.parquet")


def document_schema(read_config: ReadConfig, analyses: Iterable[Analysis]) -> pa.Schema:
    """Columns of ``documents/``: id, shard, position, [group], then each stage's fields."""
    fields = [pa.field("id", pa.string()), pa.field("shard", pa.string()), pa.field("position", pa.int64())]
    if read_config.group_by:
        fields.append(pa.field("group", pa.string()))
    for analysis in analyses:
        fields.extend(analysis.document_fields())
    return pa.schema(fields)


class DocumentTableWriter:
    """Streams the per-document columns of one split to ``documents/<split key>.parquet``.

    Written to a temporary name of its own and renamed at the end, so a retried (or
    speculatively duplicated) split replaces its file instead of adding a second one.
    Use it as a context manager: the file is closed on success, aborted on an exception.
    """

    # Bounds the rows buffered per split (memory stays flat however large a shard is).
    ROWS_PER_GROUP = 16_384

    def __init__(self, output_dir: str, split_key: str, schema: pa.Schema) -> None:
        self.path = document_path(output_dir, split_key)
        self.schema = schema
        self._buffer: dict[str, list] = {name: [] for name in schema.names}
        self._buffered = 0
        #: Opened on the first flush: a split with no analysed document writes no file.
        self._file = AtomicFile(self.path)
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> "DocumentTableWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, columns: dict[str, list]) -> None:
        """Append rows (a dict of equally long columns holding at least the schema's names)."""
        for name in self.schema.names:
            self._buffer[name].extend(columns[name])
        self._buffered = len(self._buffer[self.schema.names[0]])
        if self._buffered >= self.ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._file.open(), self.schema, compression="zstd")
        self._writer.write_table(pa.table(self._buffer, schema=self.schema))
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered = 0

    def close(self) -> None:
        """Write what is buffered and move the file to its final name (no rows: no file)."""
        try:
            self._flush()
            if self._writer is None:
                return  # no analysed document in this split: no file
            self._writer.close()
            self._writer = None
            self._file.publish()
        except BaseException:  # e.g. Ctrl-C, or a stop signal, while the file is being written
            self.abort()
            raise

    def abort(self) -> None:
        """Remove the partial file of a failed attempt (the retry writes its own)."""
        try:
            if self._writer is not None:
                with contextlib.suppress(Exception):  # the file is removed whatever state it is in
                    self._writer.close()
        finally:  # even when Ctrl-C (or a SIGTERM exit) lands in the writer's close
            self._writer = None
            self._file.abort()
