"""What every format reader shares: read settings, the batch builder, and the format registry.

A format is one module that defines a reader (and optionally a split planner) and calls
`register_format` once; `read_split`, `plan_splits` and `detect_format` find it here, so
adding a format never means editing a dispatch table elsewhere.

Every record a reader meets goes through `BatchBuilder` (``add`` or ``skip``), which counts
it in a `ReadAccounting`, so ``read == analysed + skipped`` holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from corpus_audit.documents import (
    SKIP_EMPTY_TEXT,
    SKIP_MISSING_TEXT,
    SKIP_NON_STRING_TEXT,
    SKIP_TOO_LARGE,
    DocumentBatch,
    ReadAccounting,
    ShardSplit,
    SkipRecord,
    display_path,
    group_key,
    make_excerpt,
)
from corpus_audit.sampling import is_sampled, sample_threshold

__all__ = [
    "BatchBuilder",
    "FormatSpec",
    "ReadConfig",
    "ReadItems",
    "budget_left",
    "format_spec",
    "read_split",
    "register_format",
    "suffix_formats",
    "supported_suffixes",
]


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
    #: ``--sample-rate``: keep this stable hash-of-id fraction of the valid documents (None: all).
    sample_rate: float | None = None
    #: ``--sample-seed``: another seed draws another sample at the same rate (None: the default one).
    sample_seed: int | None = None


class BatchBuilder:
    """Validates records (SPEC §1) into a `DocumentBatch`, counting every one it is given.

    ``shard`` is the path the split was opened with; documents and skips name it by its
    `display_path` (always writable as UTF-8). Group values become `group_key`s.
    """

    def __init__(self, shard: str, config: ReadConfig, accounting: ReadAccounting) -> None:
        self.shard = display_path(shard)
        self.config = config
        self.accounting = accounting
        self.batch = DocumentBatch(self.shard)
        self._batch_chars = 0
        self._threshold = None if config.sample_rate is None else sample_threshold(config.sample_rate)

    def skip(self, position: int, reason: str, excerpt: object = "", doc_id: str | None = None,
             detail: str = "", count: int = 1) -> SkipRecord:
        """Count ``count`` records read and skipped for ``reason`` (one record describes them)."""
        self.accounting.documents_read += count
        self.accounting.skip(reason, count)
        if self.config.group_by:  # a record that could not be read has no group-by field either
            self.accounting.group_by_field_missing += count
        return SkipRecord(self.shard, position, reason, make_excerpt(excerpt), doc_id, "read", detail)

    def add(self, position: int, text: object, doc_id: object, group: object, nbytes: int,
            present: bool = True, group_present: bool = True) -> SkipRecord | None:
        """Count one record; append it to the batch, or return why it is skipped.

        ``present``: the record has the text field; ``group_present``: it has the group-by field.
        An id of ``""`` is replaced by the fallback id (counted in ``empty_ids_replaced``).
        """
        accounting = self.accounting
        accounting.documents_read += 1
        accounting.bytes_read += nbytes
        if self.config.group_by and not group_present:
            accounting.group_by_field_missing += 1
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
        if not shown_id:
            if shown_id == "":
                accounting.empty_ids_replaced += 1
            shown_id = f"{self.shard}:{position}"
        if self._threshold is not None and not is_sampled(shown_id, self._threshold, self.config.sample_seed):
            accounting.documents_not_sampled += 1
            return None
        self.batch.append(shown_id, text, position,
                          group_key(group, group_present) if self.config.group_by else None)
        self._batch_chars += len(text)
        return None

    def full(self) -> bool:
        """Whether the batch reached ``batch_documents`` documents or ``batch_bytes`` characters."""
        return len(self.batch) >= self.config.batch_documents or self._batch_chars >= self.config.batch_bytes

    def take(self) -> DocumentBatch:
        """The batch built so far; the builder starts a new, empty one."""
        batch, self.batch, self._batch_chars = self.batch, DocumentBatch(self.shard), 0
        return batch


def budget_left(builder: BatchBuilder, start_read: int, budget: int | None) -> bool:
    """Whether fewer than ``budget`` records were counted since ``start_read`` (``--limit``)."""
    return budget is None or builder.accounting.documents_read - start_read < budget


#: What a reader yields: full batches and skip records, in reading order.
ReadItems = Iterator[DocumentBatch | SkipRecord]
#: ``reader(split, builder, record_budget)``: reads one split through ``builder``.
Reader = Callable[[ShardSplit, BatchBuilder, int | None], ReadItems]
#: ``planner(path, config)``: ``(start, stop)`` ranges of one input; none means "read it whole".
Planner = Callable[[str, ReadConfig], list[tuple[int, int]]]


@dataclass(frozen=True)
class FormatSpec:
    """One input format: its name (`InputFile.format`), file suffixes, reader and split planner.

    ``suffixes`` are matched case-insensitively at the end of a file name (none for formats
    found another way, such as a saved HF dataset directory). Without a ``planner`` an input
    is one split.
    """

    name: str
    read: Reader
    suffixes: tuple[str, ...] = ()
    planner: Planner | None = None


_FORMATS: dict[str, FormatSpec] = {}
_SUFFIX_FORMATS: tuple[tuple[str, str], ...] = ()


def register_format(spec: FormatSpec) -> FormatSpec:
    """Make a format known to `read_split`, `plan_splits` and `detect_format`."""
    global _SUFFIX_FORMATS
    if spec.name in _FORMATS:
        raise ValueError(f"format {spec.name!r} is already registered")
    taken = {suffix for suffix, _ in _SUFFIX_FORMATS} & {suffix.lower() for suffix in spec.suffixes}
    if taken:
        raise ValueError(f"suffixes {sorted(taken)} of format {spec.name!r} belong to another format")
    _FORMATS[spec.name] = spec
    pairs = list(_SUFFIX_FORMATS) + [(suffix.lower(), spec.name) for suffix in spec.suffixes]
    # Longest suffix first, so ".jsonl.gz" wins over ".gz" (stable: equal lengths keep their order).
    _SUFFIX_FORMATS = tuple(sorted(pairs, key=lambda pair: -len(pair[0])))
    return spec


def format_spec(name: str) -> FormatSpec:
    """The registered format ``name`` (`KeyError` when there is none)."""
    return _FORMATS[name]


def suffix_formats() -> tuple[tuple[str, str], ...]:
    """``(suffix, format)`` pairs of every registered format, longest suffix first."""
    return _SUFFIX_FORMATS


def supported_suffixes() -> tuple[str, ...]:
    """Every file suffix a registered format reads, longest first."""
    return tuple(suffix for suffix, _ in _SUFFIX_FORMATS)


def read_split(split: ShardSplit, config: ReadConfig, accounting: ReadAccounting,
               record_budget: int | None = None) -> ReadItems:
    """Read one split with its format's reader, yielding document batches and skip records.

    ``record_budget`` caps how many records this call may still count as read (``--limit``).
    Errors that make the rest of a file unreadable are reported as one skip, never raised.
    """
    builder = BatchBuilder(split.path, config, accounting)
    yield from format_spec(split.format).read(split, builder, record_budget)
    if len(builder.batch):
        yield builder.take()
