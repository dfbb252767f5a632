"""``summary.json``: one type, `RunSummary`, owns the file — its fields, bytes and patches.

The pipeline's last step builds it from the combined accounting and the stages
(`RunSummary.from_aggregates`, with the command line's `RunInfo`); once the job has
finished, the command line reads it back and adds the wall-clock timings
(`RunSummary.with_timings`). `RunSummary.to_json` is the file's exact bytes: keys in a
fixed order, two-space indent, UTF-8, a final newline.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from corpus_audit import __version__
from corpus_audit.documents import ReadAccounting
from corpus_audit.storage import join, read_bytes, write_bytes

__all__ = ["SUMMARY_FILE", "RunInfo", "RunSummary", "summary_path"]

SUMMARY_FILE = "summary.json"


def summary_path(output_dir: str) -> str:
    """Where a run in ``output_dir`` keeps its summary."""
    return join(output_dir, SUMMARY_FILE)


@dataclass(frozen=True)
class RunInfo:
    """How the run was invoked: the command line's part of ``summary.json``.

    ``settings`` holds text_field, id_field, group_by, max_document_bytes, limit, stages,
    runner and workers; ``checkpoint_dir`` is written only when the run had one.
    ``ignored_special_files`` (``{"path", "kind"}``: FIFOs, devices, sockets, broken links,
    never opened) and ``duplicate_inputs`` (``{"path", "same_as"}``: names reaching a local
    file already read) come from `corpus_audit.readers.discover_inputs`.
    """

    command: list[str]
    inputs: list[str]
    input_files: int
    ignored_files_count: int
    ignored_files: list[str]
    output: str
    settings: dict[str, Any]
    package_versions: dict[str, str]
    checkpoint_dir: str | None = None
    ignored_special_files: list[dict[str, str]] = field(default_factory=list)
    duplicate_inputs_count: int = 0
    duplicate_inputs: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        if self.checkpoint_dir is None:
            del data["checkpoint_dir"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunInfo":
        return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls) if field.name in data})


#: Counts added after the first release: a summary without them reads them as 0.
_ADDED_COUNTS = ("documents_not_sampled", "empty_ids_replaced", "group_by_field_missing")

#: Keys of `RunInfo` in ``summary.json`` (after the audit's own keys, before ``timings``).
_RUN_INFO_KEYS = tuple(field.name for field in dataclasses.fields(RunInfo))


@dataclass(frozen=True)
class RunSummary:
    """The whole of ``summary.json``: accounting, stages, tables, the run's invocation, timings.

    ``run`` is None for a pipeline built without the command line (tests, notebooks);
    ``timings`` is None until the finished run has been timed.
    """

    corpus_audit_version: str
    documents_read: int
    documents_analysed: int
    documents_skipped: dict[str, int]
    #: Valid documents left out by ``--sample-rate``: read == analysed + skipped + not_sampled.
    documents_not_sampled: int
    accounting_balanced: bool
    bytes_read: int
    blank_lines_ignored: int
    lone_surrogates_replaced: int
    #: Records whose id was ``""``, given the fallback id ``<shard>:<record number>``.
    empty_ids_replaced: int
    #: Records read without the ``--group-by`` field (equal to documents_read: absent everywhere).
    group_by_field_missing: int
    #: ``{"analysed": n, "restored_from_checkpoint": n}``
    splits: dict[str, int]
    #: Per stage: its settings and run statistics.
    stages: dict[str, dict[str, Any]]
    tables: list[str]
    run: RunInfo | None = None
    #: ``{"wall_seconds": s, "mb_per_second": x | None, "documents_per_second": x | None}``
    timings: dict[str, float | None] | None = None

    @classmethod
    def from_aggregates(cls, accounting: ReadAccounting, stages: dict[str, dict[str, Any]],
                        tables: Iterable[str], run: RunInfo | None = None) -> "RunSummary":
        """The summary of a finished pipeline: corpus accounting, each stage's settings and
        statistics (``stages``), the names of the tables written."""
        return cls(
            corpus_audit_version=__version__,
            documents_read=accounting.documents_read,
            documents_analysed=accounting.documents_analysed,
            documents_skipped=dict(sorted(accounting.documents_skipped.items())),
            documents_not_sampled=accounting.documents_not_sampled,
            accounting_balanced=accounting.is_balanced(),
            bytes_read=accounting.bytes_read,
            blank_lines_ignored=accounting.blank_lines_ignored,
            lone_surrogates_replaced=accounting.surrogates_replaced,
            empty_ids_replaced=accounting.empty_ids_replaced,
            group_by_field_missing=accounting.group_by_field_missing,
            splits={"analysed": accounting.splits_analysed, "restored_from_checkpoint": accounting.splits_restored},
            stages=stages,
            tables=sorted(tables),
            run=run,
        )

    def with_timings(self, wall_seconds: float) -> "RunSummary":
        """This summary with the run's wall-clock time and the rates it gives."""
        wall = wall_seconds
        return dataclasses.replace(self, timings={
            "wall_seconds": round(wall, 3),
            "mb_per_second": round(self.bytes_read / 1e6 / wall, 3) if wall > 0 else None,
            "documents_per_second": round(self.documents_read / wall, 1) if wall > 0 else None,
        })

    # -- the file ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in file order."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                if field.name not in ("run", "timings")}
        if self.run is not None:
            data.update(self.run.to_dict())
        if self.timings is not None:
            data["timings"] = self.timings
        return data

    def to_json(self) -> bytes:
        """The bytes of ``summary.json``."""
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSummary":
        """The summary `to_dict` gave; a key this version does not write is an error."""
        own = [field.name for field in dataclasses.fields(cls) if field.name not in ("run", "timings")]
        unknown = sorted(set(data) - set(own) - set(_RUN_INFO_KEYS) - {"timings"})
        if unknown:
            raise ValueError(f"not a summary.json of corpus-audit {__version__}: unknown key(s) {', '.join(unknown)}")
        run = RunInfo.from_dict(data) if "command" in data else None
        values = {name: data.get(name, 0) if name in _ADDED_COUNTS else data[name] for name in own}
        return cls(**values, run=run, timings=data.get("timings"))

    @classmethod
    def from_json(cls, data: bytes) -> "RunSummary":
        """Parse the bytes of a ``summary.json`` (`to_json` of the result gives them back)."""
        return cls.from_dict(json.loads(data.decode("utf-8")))

    @classmethod
    def read(cls, output_dir: str) -> "RunSummary":
        """The summary of the run in ``output_dir`` (local or remote)."""
        return cls.from_json(read_bytes(summary_path(output_dir)))

    def write(self, output_dir: str) -> None:
        """Write (or replace) ``summary.json`` in ``output_dir``."""
        write_bytes(summary_path(output_dir), self.to_json())
