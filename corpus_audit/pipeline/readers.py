"""Shard readers: find input files, split them into units of work, read them as batches.

Formats (SPEC §1): JSON lines (``.jsonl``, ``.ndjson``, optionally ``.gz`` / ``.zst``),
Parquet, plain text (one document per file) and Hugging Face datasets saved with
``save_to_disk``. Files are opened through Beam's ``FileSystems`` so ``gs://`` paths work
the same as local ones.

Every record read is either appended to a `DocumentBatch` or turned into a `SkipRecord`,
and counted in a `ReadAccounting`, so ``read == analysed + skipped`` holds by construction.
"""

from __future__ import annotations

import glob as globlib
import gzip
import io
import json
import os
import zlib
from dataclasses import dataclass
from typing import Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus_audit.errors import InputError
from corpus_audit.storage import is_remote
from corpus_audit.documents import (
    SKIP_EMPTY_FILE,
    SKIP_EMPTY_TEXT,
    SKIP_INVALID_UTF8,
    SKIP_MALFORMED_JSON,
    SKIP_MISSING_TEXT,
    SKIP_NON_STRING_TEXT,
    SKIP_NOT_AN_OBJECT,
    SKIP_TOO_LARGE,
    SKIP_TRUNCATED_FILE,
    SKIP_UNREADABLE_FILE,
    DocumentBatch,
    ReadAccounting,
    ShardSplit,
    SkipRecord,
    make_excerpt,
)

FORMAT_JSONL = "jsonl"
FORMAT_PARQUET = "parquet"
FORMAT_TEXT = "text"
FORMAT_HF = "hf_dataset"

# Longest suffix first, so ".jsonl.gz" wins over ".gz".
_SUFFIX_FORMATS: tuple[tuple[str, str], ...] = (
    (".jsonl.zstd", FORMAT_JSONL),
    (".ndjson.zst", FORMAT_JSONL),
    (".ndjson.gz", FORMAT_JSONL),
    (".jsonl.zst", FORMAT_JSONL),
    (".jsonl.gz", FORMAT_JSONL),
    (".parquet", FORMAT_PARQUET),
    (".ndjson", FORMAT_JSONL),
    (".jsonl", FORMAT_JSONL),
    (".txt", FORMAT_TEXT),
)
SUPPORTED_SUFFIXES = tuple(suffix for suffix, _ in _SUFFIX_FORMATS)
_GLOB_CHARS = set("*?[")
_HF_DATASET_MARKERS = ("state.json", "dataset_info.json")
_HF_DATASET_DICT_MARKER = "dataset_dict.json"


@dataclass(frozen=True)
class ReadConfig:
    """How records become documents. See SPEC §1."""

    text_field: str = "text"
    id_field: str = "id"
    group_by: str | None = None
    max_document_bytes: int = 10_000_000
    batch_documents: int = 1000
    batch_bytes: int = 4_000_000
    rows_per_split: int = 200_000


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str


# ----------------------------------------------------------------------------- discovery


def detect_format(path: str) -> str | None:
    """The reader format for a file name, or None when the suffix is not supported."""
    lower = path.lower()
    for suffix, fmt in _SUFFIX_FORMATS:
        if lower.endswith(suffix):
            return fmt
    return None


def _is_hf_dataset_dir(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, m)) for m in _HF_DATASET_MARKERS)


def _hf_inputs(path: str) -> list[InputFile] | None:
    """A saved HF ``Dataset`` (one input) or ``DatasetDict`` (one input per split)."""
    if _is_hf_dataset_dir(path):
        return [InputFile(path, FORMAT_HF)]
    marker = os.path.join(path, _HF_DATASET_DICT_MARKER)
    if os.path.isfile(marker):
        with open(marker, encoding="utf-8") as f:
            split_names = json.load(f).get("splits", [])
        return [InputFile(os.path.join(path, name), FORMAT_HF) for name in split_names]
    return None


def expand_inputs(inputs: list[str]) -> tuple[list[InputFile], list[str]]:
    """Resolve files, directories and globs into input files, sorted and de-duplicated.

    Returns the inputs and the files that were found inside directories/globs but skipped
    because their suffix is not supported (reported to the user, not silently dropped).
    Raises `InputError` when an input matches nothing usable.
    """
    found: dict[str, InputFile] = {}
    ignored: list[str] = []
    for raw in inputs:
        matched: list[InputFile] = []
        if is_remote(raw):
            try:
                if _GLOB_CHARS & set(raw):
                    results = FileSystems.match([raw])[0].metadata_list
                else:  # an object, or a "directory" prefix (with or without a trailing slash)
                    results = [] if raw.endswith("/") else FileSystems.match([raw])[0].metadata_list
                    if not results:
                        results = FileSystems.match([raw.rstrip("/") + "/**"])[0].metadata_list
            except Exception as exc:  # noqa: BLE001 - filesystem errors vary by scheme
                raise InputError(f"cannot list input {raw!r}: {exc}") from exc
            for meta in sorted(results, key=lambda m: m.path):
                fmt = detect_format(meta.path)
                (matched.append(InputFile(meta.path, fmt)) if fmt else ignored.append(meta.path))
        else:
            if _GLOB_CHARS & set(raw):
                candidates = sorted(globlib.glob(raw, recursive=True))
            else:
                candidates = [raw]
            for candidate in candidates:
                path = os.path.abspath(candidate)
                if os.path.isdir(path):
                    hf = _hf_inputs(path)
                    if hf is not None:
                        matched.extend(hf)
                        continue
                    for full in _walk_files(path):
                        hidden = any(part.startswith(".") for part in os.path.relpath(full, path).split(os.sep))
                        fmt = None if hidden else detect_format(full)
                        (matched.append(InputFile(full, fmt)) if fmt else ignored.append(full))
                elif os.path.isfile(path):
                    fmt = detect_format(path)
                    if fmt is None:
                        raise InputError(
                            f"unsupported input file {raw!r}: expected one of "
                            f"{', '.join(SUPPORTED_SUFFIXES)} or a saved Hugging Face dataset directory"
                        )
                    matched.append(InputFile(path, fmt))
        if not matched:
            raise InputError(f"no input matched {raw!r}")
        for item in matched:
            found.setdefault(item.path, item)
    return sorted(found.values(), key=lambda item: item.path), ignored


def _walk_files(top: str) -> Iterator[str]:
    """Every file below ``top`` in sorted order, following symbolic links to directories
    (each real directory once, so a link cycle cannot loop). Hidden files and directories
    are included: the caller lists them as ignored rather than dropping them unseen."""
    seen: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(root, name)


# ----------------------------------------------------------------------------- splitting


def plan_splits(item: InputFile, config: ReadConfig) -> list[ShardSplit]:
    """Split one input into units of work: row-group ranges for Parquet, row ranges for a
    HF dataset, the whole file otherwise. A file whose metadata cannot be read becomes one
    split, so that reading it reports the problem as a counted skip."""
    try:
        if item.format == FORMAT_PARQUET:
            with FileSystems.open(item.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                metadata = pq.ParquetFile(f).metadata
                group_rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            ranges = _group_ranges(group_rows, config.rows_per_split)
        elif item.format == FORMAT_HF:
            ranges = _row_ranges(_load_hf_dataset(item.path).num_rows, config.rows_per_split)
        else:
            ranges = []
    except Exception:  # noqa: BLE001 - reported when the split is read
        ranges = []
    if not ranges:
        return [ShardSplit(item.path, item.format)]
    return [ShardSplit(item.path, item.format, start, stop, index) for index, (start, stop) in enumerate(ranges)]


def _group_ranges(group_rows: list[int], rows_per_split: int) -> list[tuple[int, int]]:
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


def _row_ranges(num_rows: int, rows_per_split: int) -> list[tuple[int, int]]:
    return [(start, min(start + rows_per_split, num_rows)) for start in range(0, num_rows, rows_per_split)]


def _load_hf_dataset(path: str):
    import datasets  # imported lazily: heavy, and only needed for HF inputs

    return datasets.load_from_disk(path)


# ----------------------------------------------------------------------------- reading


class _BatchBuilder:
    """Validates records (SPEC §1) into a `DocumentBatch`, counting every one it is given."""

    def __init__(self, shard: str, config: ReadConfig, accounting: ReadAccounting) -> None:
        self.shard = shard
        self.config = config
        self.accounting = accounting
        self.batch = DocumentBatch(shard)
        self._batch_chars = 0

    def skip(self, position: int, reason: str, excerpt: object = "", doc_id: str | None = None,
             detail: str = "", count: int = 1) -> SkipRecord:
        """Count ``count`` records read and skipped for ``reason`` (one record describes them)."""
        self.accounting.documents_read += count
        self.accounting.skip(reason, count)
        return SkipRecord(self.shard, position, reason, make_excerpt(excerpt), doc_id, "read", detail)

    def add(self, position: int, text: object, doc_id: object, group: object, nbytes: int,
            present: bool = True) -> SkipRecord | None:
        """Count one record; append it to the batch, or return why it is skipped."""
        accounting = self.accounting
        accounting.documents_read += 1
        accounting.bytes_read += nbytes
        shown_id = None if doc_id is None else str(doc_id)
        if not present or text is None:
            accounting.skip(SKIP_MISSING_TEXT)
            return SkipRecord(self.shard, position, SKIP_MISSING_TEXT, "", shown_id, "read",
                              f"no {self.config.text_field!r} field")
        if not isinstance(text, str):
            accounting.skip(SKIP_NON_STRING_TEXT)
            return SkipRecord(self.shard, position, SKIP_NON_STRING_TEXT, make_excerpt(text), shown_id,
                              "read", f"{self.config.text_field!r} is {type(text).__name__}")
        if not text or text.isspace():
            accounting.skip(SKIP_EMPTY_TEXT)
            return SkipRecord(self.shard, position, SKIP_EMPTY_TEXT, text[:20], shown_id)
        if nbytes > self.config.max_document_bytes:
            accounting.skip(SKIP_TOO_LARGE)
            return SkipRecord(self.shard, position, SKIP_TOO_LARGE, make_excerpt(text), shown_id, "read",
                              f"{nbytes} bytes > --max-document-bytes {self.config.max_document_bytes}")
        if shown_id is None:
            shown_id = f"{self.shard}:{position}"
        self.batch.append(shown_id, text, position, None if group is None else str(group))
        self._batch_chars += len(text)
        return None

    def full(self) -> bool:
        return len(self.batch) >= self.config.batch_documents or self._batch_chars >= self.config.batch_bytes

    def take(self) -> DocumentBatch:
        batch, self.batch, self._batch_chars = self.batch, DocumentBatch(self.shard), 0
        return batch


def read_split(split: ShardSplit, config: ReadConfig, accounting: ReadAccounting,
               record_budget: int | None = None) -> Iterator[DocumentBatch | SkipRecord]:
    """Read one split, yielding document batches and skip records.

    ``record_budget`` caps how many records this call may still count as read (``--limit``).
    Errors that make the rest of a file unreadable are reported as one skip, never raised.
    """
    builder = _BatchBuilder(split.path, config, accounting)
    readers = {
        FORMAT_JSONL: _read_jsonl,
        FORMAT_PARQUET: _read_parquet,
        FORMAT_TEXT: _read_text,
        FORMAT_HF: _read_hf_dataset,
    }
    yield from readers[split.format](split, builder, record_budget)
    if len(builder.batch):
        yield builder.take()


def _budget_left(builder: _BatchBuilder, start_read: int, budget: int | None) -> bool:
    return budget is None or builder.accounting.documents_read - start_read < budget


def _open_decompressed(path: str) -> tuple[io.IOBase, io.IOBase]:
    """(line stream, underlying file): decompression chosen by suffix (.gz, .zst)."""
    raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    if lower.endswith((".zst", ".zstd")):
        return io.BufferedReader(_ZstdFramesReader(raw), buffer_size=1 << 20), raw
    return raw, raw


class _ZstdFramesReader(io.RawIOBase):
    """Decompresses a (multi-frame) zstd stream and raises `EOFError` when it is truncated.

    ``zstandard``'s ``stream_reader`` ends quietly on a truncated frame, which would lose
    the tail of a shard without a trace; this reader checks each frame reached its end.
    Compressed input is fed in small pieces so that one call's output stays bounded even
    for highly compressible data.
    """

    PIECE = 1 << 14  # compressed bytes per decompress call

    def __init__(self, raw: io.IOBase) -> None:
        import zstandard

        self._raw = raw
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._frame = self._new()
        self._frame_has_input = False
        self._pending = memoryview(b"")
        self._compressed = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if not self._compressed:
                self._compressed = self._raw.read(1 << 20)
                if not self._compressed:
                    if self._frame_has_input and not self._frame.eof:
                        raise EOFError("zstd stream ended before the end of its frame (truncated file)")
                    return 0
            piece, self._compressed = self._compressed[: self.PIECE], self._compressed[self.PIECE:]
            self._pending = memoryview(self._feed(piece))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, compressed: bytes) -> bytes:
        out = []
        while compressed:
            if self._frame.eof:
                self._frame, self._frame_has_input = self._new(), False
            self._frame_has_input = True
            out.append(self._frame.decompress(compressed))
            compressed = self._frame.unused_data if self._frame.eof else b""
        return b"".join(out)


def _stream_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [EOFError, OSError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


def _read_jsonl(split: ShardSplit, builder: _BatchBuilder, budget: int | None):
    config = builder.config
    text_field, id_field, group_by = config.text_field, config.id_field, config.group_by
    max_bytes = config.max_document_bytes
    start_read = builder.accounting.documents_read
    position = -1
    records = 0
    try:
        stream, raw = _open_decompressed(split.path)
    except Exception as exc:  # noqa: BLE001 - any open failure is reported, not raised
        yield builder.skip(0, SKIP_UNREADABLE_FILE, detail=f"{type(exc).__name__}: {exc}")
        return
    try:
        with raw, stream:
            for position, line in enumerate(_bounded_lines(stream, max_bytes + 1)):
                if not _budget_left(builder, start_read, budget):
                    break
                if position == 0 and line.startswith(_UTF8_BOM):
                    line = line[len(_UTF8_BOM):]
                if line.isspace() or not line:
                    builder.accounting.blank_lines_ignored += 1
                    continue
                records += 1
                if isinstance(line, _OversizedLine):
                    builder.accounting.bytes_read += line.size
                    yield builder.skip(position, SKIP_TOO_LARGE, bytes(line),
                                       detail=f"{line.size} bytes > --max-document-bytes {max_bytes}")
                    continue
                nbytes = len(line)
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    record, reason, detail = _parse_json_fallback(line, builder.accounting)
                    if record is None:
                        builder.accounting.bytes_read += nbytes
                        yield builder.skip(position, reason, line, detail=detail)
                        continue
                if not isinstance(record, dict):
                    builder.accounting.bytes_read += nbytes
                    yield builder.skip(position, SKIP_NOT_AN_OBJECT, line,
                                       detail=f"a JSON {type(record).__name__}, not an object")
                    continue
                skipped = builder.add(position, record.get(text_field), record.get(id_field),
                                      record.get(group_by) if group_by else None, nbytes,
                                      present=text_field in record)
                if skipped is not None:
                    yield skipped
                elif builder.full():
                    yield builder.take()
    except _stream_errors() as exc:
        yield builder.skip(position + 1, SKIP_TRUNCATED_FILE,
                           detail=f"{type(exc).__name__}: {exc} (after {records} records)")
        return
    if records == 0 and _budget_left(builder, start_read, budget):
        yield builder.skip(0, SKIP_EMPTY_FILE, detail="no records in file")


_UTF8_BOM = b"\xef\xbb\xbf"
EXCERPT_BYTES = 1024  # head of an oversized line kept for its skip record


class _OversizedLine(bytes):
    """The first bytes of a line longer than the limit; ``size`` is the whole line's size."""

    size: int


def _bounded_lines(stream: io.IOBase, limit: int) -> Iterator[bytes]:
    """Lines of ``stream``, never holding more than ``limit`` bytes of one line in memory.

    A longer line is drained in chunks and yielded as an `_OversizedLine` (its head, and its
    size), so one huge record cannot exhaust a worker's memory.
    """
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) < limit:
            yield line
            continue
        size = len(line)  # ``limit`` bytes and more: too large, with or without its newline
        if not line.endswith(b"\n"):
            while True:
                chunk = readline(1 << 20)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
        oversized = _OversizedLine(line[:EXCERPT_BYTES])
        oversized.size = size
        yield oversized


def _parse_json_fallback(line: bytes, accounting: ReadAccounting) -> tuple[object | None, str, str]:
    """Tell invalid UTF-8 from malformed JSON, and accept what only orjson refuses.

    orjson rejects lone surrogate escapes (``"\\ud800"``), which are valid JSON; the standard
    parser reads them and they are replaced with U+FFFD so that later stages can encode the
    text (top-level string fields only). Returns ``(record, "", "")`` or
    ``(None, reason, detail)``.
    """
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, SKIP_INVALID_UTF8, str(exc)
    try:
        record = json.loads(decoded)
    except ValueError as exc:
        return None, SKIP_MALFORMED_JSON, str(exc)
    if isinstance(record, dict):
        for key, value in record.items():
            if isinstance(value, str):
                fixed = value.encode("utf-8", "replace").decode("utf-8")
                if fixed != value:
                    record[key] = fixed
                    accounting.surrogates_replaced += 1
    return record, "", ""


def _read_text(split: ShardSplit, builder: _BatchBuilder, budget: int | None):
    """A ``.txt`` file is one document (record 0); its id is ``<path>:0``."""
    max_bytes = builder.config.max_document_bytes
    if budget is not None and budget <= 0:
        return
    try:
        with FileSystems.open(split.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            data = f.read(max_bytes + 1)
    except Exception as exc:  # noqa: BLE001
        yield builder.skip(0, SKIP_UNREADABLE_FILE, detail=f"{type(exc).__name__}: {exc}")
        return
    if not data:
        yield builder.skip(0, SKIP_EMPTY_FILE, detail="empty file")
        return
    if len(data) > max_bytes:
        builder.accounting.bytes_read += len(data)
        yield builder.skip(0, SKIP_TOO_LARGE, data, detail=f"more than --max-document-bytes {max_bytes}")
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        builder.accounting.bytes_read += len(data)
        yield builder.skip(0, SKIP_INVALID_UTF8, data, detail=str(exc))
        return
    skipped = builder.add(0, text, None, None, len(data))
    if skipped is not None:
        yield skipped


def _read_parquet(split: ShardSplit, builder: _BatchBuilder, budget: int | None):
    handle = None
    try:
        handle = FileSystems.open(split.path, compression_type=CompressionTypes.UNCOMPRESSED)
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        groups = list(range(metadata.num_row_groups))
        if split.row_start is not None:
            groups = groups[split.row_start:split.row_stop]
        row_offset = sum(metadata.row_group(i).num_rows for i in range(groups[0] if groups else 0))
        expected_rows = sum(metadata.row_group(i).num_rows for i in groups)
        names = parquet.schema_arrow.names
        wanted = _wanted_columns(names, builder.config)
        batches = parquet.iter_batches(batch_size=builder.config.batch_documents, row_groups=groups,
                                       columns=wanted or names[:1], use_threads=False)
    except Exception as exc:  # noqa: BLE001
        if handle is not None:
            handle.close()
        yield builder.skip(0, SKIP_UNREADABLE_FILE, detail=f"{type(exc).__name__}: {exc}")
        return
    with handle:
        if metadata.num_rows == 0:
            yield builder.skip(0, SKIP_EMPTY_FILE, detail="Parquet file with no rows")
            return
        yield from _read_arrow_batches(batches, names, row_offset, builder, budget, expected_rows)


def _read_hf_dataset(split: ShardSplit, builder: _BatchBuilder, budget: int | None):
    try:
        dataset = _load_hf_dataset(split.path)
        start = split.row_start or 0
        stop = dataset.num_rows if split.row_stop is None else split.row_stop
        names = dataset.column_names
        wanted = _wanted_columns(names, builder.config) or names[:1]
        table = dataset.select_columns(wanted).with_format("arrow")[start:stop]
    except Exception as exc:  # noqa: BLE001
        yield builder.skip(0, SKIP_UNREADABLE_FILE, detail=f"{type(exc).__name__}: {exc}")
        return
    if dataset.num_rows == 0:
        yield builder.skip(0, SKIP_EMPTY_FILE, detail="dataset with no rows")
        return
    batches = table.to_batches(max_chunksize=builder.config.batch_documents)
    yield from _read_arrow_batches(batches, names, start, builder, budget, stop - start)


def _wanted_columns(names: list[str], config: ReadConfig) -> list[str]:
    wanted = [config.text_field, config.id_field]
    if config.group_by:
        wanted.append(config.group_by)
    return [name for name in dict.fromkeys(wanted) if name in names]


def _text_values(array: pa.Array) -> tuple[list, list[int]]:
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


def _row_values(array: pa.Array, n: int) -> list:
    """``to_pylist`` that survives undecodable cells (invalid UTF-8 in a string column):
    such a cell becomes an `_UndecodableCell` the batch builder skips."""
    try:
        return array.to_pylist()
    except Exception:  # noqa: BLE001 - pyarrow raises UnicodeDecodeError / ArrowInvalid
        values = []
        for i in range(n):
            try:
                values.append(array[i].as_py())
            except Exception as exc:  # noqa: BLE001
                values.append(_UndecodableCell(f"{type(exc).__name__}: {exc}"))
        return values


class _UndecodableCell(str):
    """Marker for a cell pyarrow could not turn into a Python value (message as text)."""


def _read_arrow_batches(batches: Iterator[pa.RecordBatch], names: list[str], row_offset: int,
                        builder: _BatchBuilder, budget: int | None, expected_rows: int | None = None):
    """Rows of Arrow record batches (Parquet, HF datasets) → documents and skips.

    A batch that cannot be read at all (corrupt row group) ends the split: the rows it and
    the rest of the split held are counted as skipped (``expected_rows`` comes from the file's
    metadata), never dropped uncounted.
    """
    config = builder.config
    has_text = config.text_field in names
    start_read = builder.accounting.documents_read
    position = row_offset
    iterator = iter(batches)
    while True:
        try:
            record_batch = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - corrupt data: count what is lost, stop this split
            lost = max(1, (expected_rows or 0) - (position - row_offset))
            if budget is not None:
                lost = max(0, min(lost, budget - (builder.accounting.documents_read - start_read)))
            if lost:
                yield builder.skip(position, SKIP_TRUNCATED_FILE, count=lost,
                                   detail=f"{type(exc).__name__}: {exc} ({lost} rows from here unreadable)")
            return
        n = record_batch.num_rows
        columns = record_batch.schema.names
        ids = _row_values(record_batch.column(config.id_field), n) if config.id_field in columns else [None] * n
        groups = (_row_values(record_batch.column(config.group_by), n)
                  if config.group_by and config.group_by in columns else [None] * n)
        if has_text:
            text_array = record_batch.column(config.text_field)
            try:
                texts, sizes = _text_values(text_array)
            except Exception:  # noqa: BLE001 - an undecodable cell: find it row by row
                texts = _row_values(text_array, n)
                sizes = [len(t.encode("utf-8")) if isinstance(t, str) and not isinstance(t, _UndecodableCell) else 0
                         for t in texts]
        else:
            texts, sizes = [None] * n, [0] * n
        for i in range(n):
            if not _budget_left(builder, start_read, budget):
                return
            text = texts[i]
            if isinstance(text, _UndecodableCell):
                yield builder.skip(position, SKIP_INVALID_UTF8, doc_id=None if ids[i] is None else str(ids[i]),
                                   detail=str(text))
                position += 1
                continue
            skipped = builder.add(position, text, ids[i], groups[i], sizes[i], present=has_text)
            position += 1
            if skipped is not None:
                yield skipped
            elif builder.full():
                yield builder.take()
