"""JSON lines: one record per line.

Names: ``.jsonl``, ``.ndjson`` and ``.json`` (how C4 and dolma name JSONL), each optionally
compressed as ``.gz``, ``.zst`` / ``.zstd``, ``.bz2`` or ``.xz``; the compression actually
used is read from the file's first bytes (`open_decompressed`), so a ``.gz`` holding plain
text is read as plain text.

Counts: every non-blank line is one record read; blank lines are ignored (counted in
``blank_lines_ignored``, not as records). A record's size is its bytes without the line
terminator (``\n`` or ``\r\n``). Skips: records over ``--max-document-bytes``, invalid
UTF-8, malformed JSON (any failure of the parsers on one line: too deep, too long, ...),
JSON that is not an object, plus `BatchBuilder`'s missing/non-string/empty text; an
unreadable file, a truncated stream (the records before the break are kept) and a file
without records are one skip each.
"""

from __future__ import annotations

import json

import orjson

from corpus_audit.documents import (
    SKIP_EMPTY_FILE,
    SKIP_INVALID_UTF8,
    SKIP_MALFORMED_JSON,
    SKIP_NOT_AN_OBJECT,
    SKIP_TOO_LARGE,
    SKIP_TRUNCATED_FILE,
    SKIP_UNREADABLE_FILE,
    ReadAccounting,
    ShardSplit,
    SkipRecord,
)
from corpus_audit.readers.base import (
    BatchBuilder,
    FormatSpec,
    ReadItems,
    budget_left,
    register_format,
)
from corpus_audit.readers.compression import (
    EXCERPT_BYTES,
    OversizedLine,
    bounded_lines,
    failure_reason,
    open_decompressed,
    stream_errors,
)

__all__ = ["FORMAT_JSONL", "SUFFIXES", "parse_json_fallback", "read_jsonl", "record_size"]

FORMAT_JSONL = "jsonl"
_STEMS = (".jsonl", ".ndjson", ".json")
_COMPRESSIONS = ("", ".gz", ".zst", ".zstd", ".bz2", ".xz")
SUFFIXES = tuple(stem + compression for compression in _COMPRESSIONS for stem in _STEMS)

_UTF8_BOM = b"\xef\xbb\xbf"


def read_jsonl(split: ShardSplit, builder: BatchBuilder, budget: int | None) -> ReadItems:
    """Every line of a (compressed) JSONL file; the record number is the line number."""
    config = builder.config
    text_field, id_field, group_by = config.text_field, config.id_field, config.group_by
    start_read = builder.accounting.documents_read
    position = -1
    records = 0
    try:
        stream, raw = open_decompressed(split.path)
    except Exception as exc:  # noqa: BLE001 - any open failure is reported, not raised
        yield builder.skip(0, failure_reason(exc, SKIP_UNREADABLE_FILE), detail=f"{type(exc).__name__}: {exc}")
        return
    max_bytes = config.max_document_bytes
    try:
        with raw, stream:
            # + 2: a record of exactly max_bytes still fits with its "\r\n" (the limit excludes it).
            for position, line in enumerate(bounded_lines(stream, max_bytes + 2)):
                if not budget_left(builder, start_read, budget):
                    break
                if position == 0 and line.startswith(_UTF8_BOM):
                    line = line[len(_UTF8_BOM):]
                if line.isspace() or not line:
                    builder.accounting.blank_lines_ignored += 1
                    continue
                records += 1
                size = record_size(line)
                # bytes_read counts the whole line; the record's own bytes are counted with it below.
                builder.accounting.bytes_read += (line.line_bytes if isinstance(line, OversizedLine)
                                                  else len(line)) - size
                try:  # the common case inline; `_unusual_line` handles the rest
                    record = None if size > max_bytes else orjson.loads(line)
                except orjson.JSONDecodeError:
                    record = None
                if not isinstance(record, dict):
                    record = _unusual_line(builder, position, line, size)
                    if isinstance(record, SkipRecord):
                        yield record
                        continue
                skipped = builder.add(position, record.get(text_field), record.get(id_field),
                                      record.get(group_by) if group_by else None, size,
                                      present=text_field in record,
                                      group_present=group_by in record if group_by else True)
                if skipped is not None:
                    yield skipped
                elif builder.full():
                    yield builder.take()
    except stream_errors() as exc:  # the complete records before it are kept; the rest is one skip
        yield builder.skip(position + 1, failure_reason(exc, SKIP_TRUNCATED_FILE),
                           detail=f"{type(exc).__name__}: {exc} (after {records} records)")
        return
    if records == 0 and budget_left(builder, start_read, budget):
        yield builder.skip(0, SKIP_EMPTY_FILE, detail="no records in file")


def record_size(line: bytes) -> int:
    """The bytes of one record: its line without the ``\n`` / ``\r\n`` terminator."""
    if isinstance(line, OversizedLine):
        return line.size
    if line.endswith(b"\r\n"):
        return len(line) - 2
    if line.endswith(b"\n"):
        return len(line) - 1
    return len(line)


def _unusual_line(builder: BatchBuilder, position: int, line: bytes, size: int) -> dict | SkipRecord:
    """A line orjson did not read as an object: its skip, or the object the fallback parser read.

    Counts the skipped line (read, with its bytes) here; a returned object is counted by
    ``BatchBuilder.add``. The line is parsed again: this path is rare, and the loop stays flat.
    Any exception of a parser on this line makes it a ``malformed_json`` skip, never the run's end.
    """
    accounting = builder.accounting
    limit = builder.config.max_document_bytes
    if size > limit:
        accounting.bytes_read += size
        return builder.skip(position, SKIP_TOO_LARGE, bytes(line[:EXCERPT_BYTES]),
                            detail=f"{size} bytes > --max-document-bytes {limit}")
    try:
        record = orjson.loads(line)
    except Exception:  # noqa: BLE001 - orjson.JSONDecodeError, or anything else on a hostile line
        record, reason, detail = parse_json_fallback(line, accounting)
        if record is None:
            accounting.bytes_read += size
            return builder.skip(position, reason, line, detail=detail)
    if not isinstance(record, dict):
        accounting.bytes_read += size
        return builder.skip(position, SKIP_NOT_AN_OBJECT, line,
                            detail=f"a JSON {type(record).__name__}, not an object")
    return record


def parse_json_fallback(line: bytes, accounting: ReadAccounting) -> tuple[object | None, str, str]:
    """Tell invalid UTF-8 from malformed JSON, and accept what only orjson refuses.

    orjson rejects lone surrogate escapes (``"\\ud800"``), which are valid JSON; the standard
    parser reads them and they are replaced with U+FFFD so that later stages can encode the
    text (top-level string fields only; each replaced field counts in ``surrogates_replaced``).
    Returns ``(record, "", "")`` or ``(None, reason, detail)``.
    """
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, SKIP_INVALID_UTF8, str(exc)
    try:
        record = json.loads(decoded)
    except RecursionError:
        return None, SKIP_MALFORMED_JSON, "nested too deeply to parse"
    except ValueError as exc:
        return None, SKIP_MALFORMED_JSON, str(exc)
    except Exception as exc:  # noqa: BLE001 - ValueError, or any other failure on one line
        return None, SKIP_MALFORMED_JSON, f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(record, dict):
        for key, value in record.items():
            if isinstance(value, str):
                fixed = value.encode("utf-8", "replace").decode("utf-8")
                if fixed != value:
                    record[key] = fixed
                    accounting.surrogates_replaced += 1
    return record, "", ""


register_format(FormatSpec(FORMAT_JSONL, read_jsonl, SUFFIXES))
