"""Plain text (``.txt``): each file is one document, record 0, with the id ``<path>:0``.

Counts: one record per file read (none when the ``--limit`` budget is spent). Skips: an
unreadable or empty file, a file over ``--max-document-bytes``, invalid UTF-8, and
`BatchBuilder`'s empty text (whitespace only).
"""

from __future__ import annotations


from corpus_audit import remote
from corpus_audit.documents import (
    SKIP_EMPTY_FILE,
    SKIP_INVALID_UTF8,
    SKIP_TOO_LARGE,
    SKIP_UNREADABLE_FILE,
    ShardSplit,
)
from corpus_audit.readers.base import BatchBuilder, FormatSpec, ReadItems, register_format
from corpus_audit.readers.compression import failure_reason

__all__ = ["FORMAT_TEXT", "SUFFIXES", "read_text"]

FORMAT_TEXT = "text"
SUFFIXES = (".txt",)


def read_text(split: ShardSplit, builder: BatchBuilder, budget: int | None) -> ReadItems:
    """The whole file as one document (at most ``max_document_bytes + 1`` bytes are read)."""
    max_bytes = builder.config.max_document_bytes
    if budget is not None and budget <= 0:
        return
    try:
        with remote.open_input(split.path) as f:
            data = f.read(max_bytes + 1)
    except Exception as exc:  # noqa: BLE001
        yield builder.skip(0, failure_reason(exc, SKIP_UNREADABLE_FILE), detail=f"{type(exc).__name__}: {exc}")
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
    skipped = builder.add(0, text, None, None, len(data), group_present=False)  # a .txt file has no fields
    if skipped is not None:
        yield skipped


register_format(FormatSpec(FORMAT_TEXT, read_text, SUFFIXES))
