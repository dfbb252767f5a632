"""The values that flow through the pipeline: splits of shards, batches of documents, skips.

Documents travel in batches (column lists), never one Beam element per document, so the
per-element cost of the runner stays small next to the analyses themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Iterable

__all__ = [
    "EXCERPT_CHARS",
    "GROUP_MISSING",
    "GROUP_NULL",
    "SKIP_EMPTY_FILE",
    "SKIP_EMPTY_TEXT",
    "SKIP_INVALID_UTF8",
    "SKIP_MALFORMED_JSON",
    "SKIP_MISSING_TEXT",
    "SKIP_NON_STRING_TEXT",
    "SKIP_NOT_AN_OBJECT",
    "SKIP_TOO_LARGE",
    "SKIP_TRUNCATED_FILE",
    "SKIP_UNREADABLE_FILE",
    "DocumentBatch",
    "ReadAccounting",
    "ShardSplit",
    "SkipRecord",
    "WorkUnit",
    "display_path",
    "group_key",
    "make_excerpt",
    "stage_error_reason",
]

# Reasons a record of input is not analysed. Every record read ends up either analysed or
# counted under exactly one of these (or under a stage failure, see `stage_error_reason`).
SKIP_MALFORMED_JSON = "malformed_json"
SKIP_NOT_AN_OBJECT = "not_a_json_object"
SKIP_INVALID_UTF8 = "invalid_utf8"
SKIP_MISSING_TEXT = "missing_text_field"
SKIP_NON_STRING_TEXT = "non_string_text"
SKIP_EMPTY_TEXT = "empty_text"
SKIP_TOO_LARGE = "document_too_large"
SKIP_EMPTY_FILE = "empty_file"
SKIP_TRUNCATED_FILE = "truncated_or_corrupt_file"
SKIP_UNREADABLE_FILE = "unreadable_file"

EXCERPT_CHARS = 200

#: Group key of a record without the ``--group-by`` field, and of one whose value is JSON null.
GROUP_MISSING = "(missing)"
GROUP_NULL = "(null)"

_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_TYPES = ((bool, "boolean"), ((int, float), "number"), ((list, tuple), "array"), (dict, "object"))


def group_key(value: object, present: bool = True) -> str:
    """The canonical, typed ``--group-by`` key of one record's value.

    Rule (README, "Tables"): a string is its own key, unchanged (``""`` stays ``""``); a
    missing field is ``(missing)``; JSON null is ``(null)``; any other value is its compact
    JSON text (object keys sorted) and its JSON type in parentheses: ``5 (number)``,
    ``true (boolean)``, ``[1,2] (array)``, ``{"a":1} (object)``. So ``5`` and ``"5"``,
    ``true`` and ``"True"``, a missing field and ``""`` are all distinct keys. A value JSON
    cannot express (a Parquet timestamp, bytes) is its text and its Python type name.
    """
    if not present:
        return GROUP_MISSING
    if value is None:
        return GROUP_NULL
    if isinstance(value, str):
        return _encodable(value)
    for types, name in _JSON_TYPES:
        if isinstance(value, types):
            try:
                text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                  default=str)
            except (TypeError, ValueError):
                text = str(value)
            return _encodable(f"{text} ({name})")
    return _encodable(f"{value} ({type(value).__name__})")


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so that it can be written as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def display_path(path: str) -> str:
    """A path as text that can always be written as UTF-8 (names in outputs, ids, summaries).

    A file name that is not valid UTF-8 reaches Python with surrogate escapes (PEP 383); its
    undecodable bytes are shown as ``\\xNN`` here. The path used to open the file is kept as it was.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def stage_error_reason(stage: str) -> str:
    """Skip reason for a document an analysis stage raised on (e.g. ``stage_error:langid``)."""
    return f"stage_error:{stage}"


def make_excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short printable excerpt of a record for `skipped/*.jsonl`."""
    if isinstance(value, bytes):
        text = value[: limit * 4].decode("utf-8", errors="backslashreplace")
    else:
        text = str(value)
    text = text[:limit]
    return text


@dataclass(frozen=True)
class ShardSplit:
    """A unit of reading: a whole file, or a range of rows of a Parquet file / HF dataset.

    ``row_start``/``row_stop`` are ``None`` for formats that are read whole (JSONL, text).
    Plain JSONL is not byte-split on purpose: the id fallback ``<shard>:<record number>``
    (SPEC §1) needs the record number, which a byte range does not know.
    """

    path: str
    format: str
    row_start: int | None = None
    row_stop: int | None = None
    split_index: int = 0

    @property
    def key(self) -> str:
        """A stable, file-name-safe name for this split (used for `documents/<key>.parquet`)."""
        # Only [A-Za-z0-9._-], no leading dot (no hidden or ".." names): never a path of its own.
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.path.rstrip("/").rsplit("/", 1)[-1])[-60:].lstrip(".") or "shard"
        # 64 bits: corpora with many same-named files in different folders must not collide.
        # surrogateescape: a file name that is not UTF-8 hashes by its bytes (never an error).
        digest = hashlib.sha1(self.path.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return f"{stem}-{digest}-{self.split_index:05d}"


@dataclass(frozen=True)
class WorkUnit:
    """What one call of the audit DoFn processes: splits in order, with an optional budget.

    Normally one split per unit (so splits spread over workers); with ``--limit`` one unit
    holds every split and ``record_budget`` stops reading after that many records.
    """

    splits: tuple[ShardSplit, ...]
    record_budget: int | None = None


@dataclass
class DocumentBatch:
    """Documents of one split, as parallel columns. ``positions`` are record numbers."""

    shard: str
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    groups: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, doc_id: str, text: str, position: int, group: str | None) -> None:
        self.ids.append(doc_id)
        self.texts.append(text)
        self.positions.append(position)
        self.groups.append(group)

    def select(self, keep: list[int]) -> "DocumentBatch":
        """The sub-batch of the documents at indices ``keep`` (in that order)."""
        return DocumentBatch(
            shard=self.shard,
            ids=[self.ids[i] for i in keep],
            texts=[self.texts[i] for i in keep],
            positions=[self.positions[i] for i in keep],
            groups=[self.groups[i] for i in keep],
        )


@dataclass(frozen=True)
class SkipRecord:
    """One record of input (or one unreadable file / tail of a file) that was not analysed."""

    shard: str
    position: int
    reason: str
    excerpt: str = ""
    doc_id: str | None = None
    stage: str = "read"
    detail: str = ""

    def to_json_dict(self) -> dict:
        return {
            "shard": self.shard,
            "position": self.position,
            "id": self.doc_id,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
            "excerpt": self.excerpt,
        }


@dataclass
class ReadAccounting:
    """Counts that prove no document was lost: read == analysed + sum(skipped) + not_sampled.

    Mergeable: the accounting of a corpus is the sum of its splits' accountings.
    ``documents_not_sampled`` counts valid documents left out by ``--sample-rate``;
    ``empty_ids_replaced`` the records whose id was ``""`` (given the fallback id);
    ``group_by_field_missing`` the records read without the ``--group-by`` field (records
    that could not be parsed included), so "absent from every record" is
    ``group_by_field_missing == documents_read``.
    """

    documents_read: int = 0
    documents_analysed: int = 0
    documents_skipped: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    blank_lines_ignored: int = 0
    surrogates_replaced: int = 0
    #: Splits read and analysed in this run, and splits restored from ``--checkpoint-dir``.
    splits_analysed: int = 0
    splits_restored: int = 0
    documents_not_sampled: int = 0
    empty_ids_replaced: int = 0
    group_by_field_missing: int = 0

    def skip(self, reason: str, count: int = 1) -> None:
        self.documents_skipped[reason] = self.documents_skipped.get(reason, 0) + count

    def merge(self, other: "ReadAccounting") -> "ReadAccounting":
        self.documents_read += other.documents_read
        self.documents_analysed += other.documents_analysed
        for reason, count in other.documents_skipped.items():
            self.skip(reason, count)
        self.bytes_read += other.bytes_read
        self.blank_lines_ignored += other.blank_lines_ignored
        self.surrogates_replaced += other.surrogates_replaced
        self.splits_analysed += other.splits_analysed
        self.splits_restored += other.splits_restored
        self.documents_not_sampled += other.documents_not_sampled
        self.empty_ids_replaced += other.empty_ids_replaced
        self.group_by_field_missing += other.group_by_field_missing
        return self

    @classmethod
    def total(cls, parts: "Iterable[ReadAccounting]") -> "ReadAccounting":
        """The sum of ``parts``, skip reasons sorted (what every runner reports)."""
        merged = cls()
        for part in parts:
            merged.merge(part)
        merged.documents_skipped = dict(sorted(merged.documents_skipped.items()))
        return merged

    @property
    def total_skipped(self) -> int:
        return sum(self.documents_skipped.values())

    def is_balanced(self) -> bool:
        return self.documents_read == self.documents_analysed + self.total_skipped + self.documents_not_sampled
