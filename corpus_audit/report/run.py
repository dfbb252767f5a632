"""Loading a finished run's outputs (``summary.json`` and ``tables/*.parquet``) for the reports.

Everything is read through Beam's ``FileSystems`` and pyarrow, so a run written to ``gs://``
can be reported on like a local one. The corpus itself is never read again.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_audit.errors import ReportError
from corpus_audit.storage import exists, join, list_files, read_bytes

__all__ = ["MAX_SUMMARY_BYTES", "RunData", "check_manifest", "check_table", "load_run", "validate_summary"]

# The tables the reports present are the registered sections' (`registry.default_registry().tables()`);
# every table of the run directory is loaded, known or not (``compare`` shows them all).

#: summary.json larger than this is not a summary a run wrote.
MAX_SUMMARY_BYTES = 50 * 1024 * 1024


@dataclass
class RunData:
    """A run's ``summary.json`` and its tables (rows as dicts, in file order)."""

    run_dir: str
    summary: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    #: The corpus name the authors gave (metadata ``name``); else derived from the inputs.
    name: str | None = None
    #: Tables set aside because the report code of their section cannot read their values
    #: (table → why; `corpus_audit.report.screen`): the section is "not computed".
    unreadable: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> list[dict[str, Any]] | None:
        return self.tables.get(name)

    def has(self, *names: str) -> bool:
        return all(name in self.tables for name in names)

    @property
    def stages(self) -> dict[str, Any]:
        return self.summary.get("stages") or {}

    def stage_settings(self, name: str) -> dict[str, Any]:
        """The settings ``summary.json`` records for stage ``name`` (empty when it did not run)."""
        return self.stages.get(name) or {}

    def stage_ran(self, name: str) -> bool:
        """Whether the stage was part of the run (its settings are in summary.json)."""
        listed = (self.summary.get("settings") or {}).get("stages") or []
        return name in self.stages or name in listed

    @property
    def documents_analysed(self) -> int:
        return int(self.summary.get("documents_analysed") or 0)

    def lexicon_scope(self, stage: str) -> tuple[int, str]:
        """The documents the English lists of ``stage`` (pronouns, descriptors) were applied to:
        ``(count, "English documents")`` or ``(count, "documents")`` under ``--english-lexicons-on all``.

        The count is the table's own denominator when it has one (``pronouns`` ``any`` row,
        ``descriptor_axes`` ``denominator``), else the ``en`` row of ``languages``.
        """
        everything = self.stage_settings(stage).get("english_lexicons_on") == "all"
        noun = "documents" if everything else "English documents"
        sources = [("descriptor_axes", None)] if stage == "descriptors" else []
        for table, group in sources + [("pronouns", "any")]:
            for row in self.table(table) or []:
                if (group is None or row.get("group") == group) and row.get("denominator") is not None:
                    return int(row["denominator"]), noun
        if everything:
            return self.documents_analysed, noun
        for row in self.table("languages") or []:
            if row.get("language") == "en":
                return int(row.get("documents") or 0), noun
        return 0, noun

    @property
    def corpus_name(self) -> str:
        """A short name for titles: the authors' name, else the input(s) the run was given."""
        if self.name:
            return self.name
        # Sorted: the same inputs listed in another order are the same corpus (same datasheet).
        inputs = sorted(str(item) for item in (self.summary.get("inputs") or []))
        if not inputs:
            return "corpus"
        names = []
        for item in inputs:
            stripped = item.rstrip("/")
            # A glob says more as written ("data/*.jsonl") than as its last component.
            names.append(stripped if re.search(r"[*?\[]", stripped) else (posixpath.basename(stripped) or stripped))
        if len(names) <= 2:
            return " + ".join(names)
        return f"{names[0]} + {len(names) - 1} more inputs"


def _read_table(path: str) -> pa.Table:
    try:
        # ParquetFile.read, not pq.read_table: the latter imports pyarrow.dataset and pandas (~0.4 CPU s).
        return pq.ParquetFile(pa.BufferReader(read_bytes(path))).read()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReportError(f"cannot read table {path}: {exc}") from exc


def check_table(name: str, table: pa.Table, keys: tuple[str, ...], columns: tuple[str, ...],
                path: str | None = None) -> None:
    """Refuse a registered table whose values no run writes (a ReportError naming table, column and row).

    ``keys`` are the section's key columns (no two rows may share them); ``columns`` every column the
    reports read (keys included), which must exist, the non-key ones as numbers. Integer columns are
    counts (never negative); float columns hold no NaN or infinity (null is "not measured"); a
    ``percent*`` column lies within [0, 100]. Signed figures (``feminine_minus_masculine_*``, ``*_se``)
    are only checked for being finite.
    """
    import math

    where = f"table {name} ({path or f'tables/{name}.parquet'})"
    for column in columns:
        if column not in table.column_names:
            raise ReportError(f"{where} is damaged: it has no column {column!r}, which the report reads")
        kind = table.schema.field(column).type
        if column not in keys and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise ReportError(f"{where} is damaged: column {column!r} holds {kind}, not numbers")
    for field_ in table.schema:
        if not (pa.types.is_integer(field_.type) or pa.types.is_floating(field_.type)):
            continue
        integer = pa.types.is_integer(field_.type)
        bounded = field_.name.startswith("percent")
        for row, value in enumerate(table.column(field_.name).to_pylist(), start=1):
            if value is None:
                continue
            problem = None
            if integer and value < 0:
                problem = f"a negative count ({value})"
            elif not integer and not math.isfinite(value):
                problem = f"{value} (not a finite number)"
            elif bounded and not 0 <= value <= 100:
                problem = f"{value:g}, outside [0, 100] percent"
            if problem:
                raise ReportError(f"{where} is damaged: column {field_.name!r}, row {row}: {problem}")
    if keys:
        seen: dict[tuple[Any, ...], int] = {}
        values = [table.column(key).to_pylist() for key in keys]
        for row, key in enumerate(zip(*values), start=1):
            if key in seen:
                shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key))
                raise ReportError(f"{where} is damaged: row {row} repeats the key of row {seen[key]} ({shown})")
            seen[key] = row


@functools.lru_cache(maxsize=1)
def _summary_validator() -> Any:
    """The shipped ``summary.schema.json``, requiring only ``documents_read`` (older runs lack later fields)."""
    from importlib import resources

    import jsonschema

    schema = json.loads((resources.files("corpus_audit.schemas") / "summary.schema.json").read_text("utf-8"))
    schema = copy.deepcopy(schema)
    schema["required"] = ["documents_read"]
    return jsonschema.Draft202012Validator(schema)


def validate_summary(summary: Any, path: str) -> dict[str, Any]:
    """``summary`` if it has the shape of a run's summary (types of the known fields); else ReportError."""
    if not isinstance(summary, dict) or "documents_read" not in summary:
        raise ReportError(f"{path} is not a corpus-audit summary (no documents_read)")
    import jsonschema

    error = jsonschema.exceptions.best_match(_summary_validator().iter_errors(summary))
    if error is not None:
        where = error.json_path.replace("$", "", 1).lstrip(".") or "top level"
        raise ReportError(f"{path} is damaged: {where}: {error.message[:200]}")
    return summary


def check_manifest(run_dir: str) -> None:
    """Refuse a run whose manifest says it did not complete (runs without a manifest are accepted)."""
    from corpus_audit.errors import UsageError
    from corpus_audit.rundir.run_directory import STATUS_COMPLETE, read_manifest

    try:
        manifest = read_manifest(run_dir)
    except UsageError as exc:
        raise ReportError(str(exc)) from None
    if manifest is not None and manifest.get("status") != STATUS_COMPLETE:
        raise ReportError(f"{run_dir} holds an incomplete run (status {str(manifest.get('status'))[:40]!r} in its "
                          "manifest); finish it (corpus-audit finish / run again) before reporting on it")


def load_run(run_dir: str, *, check_complete: bool = True) -> RunData:
    """Read ``summary.json`` and every ``tables/*.parquet`` of a run directory.

    A run whose manifest says it is not complete, a summary whose fields have the wrong
    types, and a registered table with values no run writes (`check_table`) are ReportErrors
    (one line naming the file).
    """
    run_dir = run_dir if "://" in run_dir else os.path.abspath(run_dir)
    summary_path = join(run_dir, "summary.json")
    if "://" not in run_dir and not os.path.isdir(run_dir):
        raise ReportError(f"run directory not found: {run_dir}")
    if check_complete:  # False only for the run's own report, written before it marks itself complete
        check_manifest(run_dir)
    if not exists(summary_path):
        raise ReportError(f"{run_dir} is not a corpus-audit run directory (no summary.json)")
    data = read_bytes(summary_path, MAX_SUMMARY_BYTES)
    if len(data) > MAX_SUMMARY_BYTES:
        raise ReportError(f"{summary_path} is larger than {MAX_SUMMARY_BYTES // (1024 * 1024)} MB")
    try:
        summary = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{summary_path} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise ReportError(f"{summary_path} is nested too deeply to be a corpus-audit summary") from None
    summary = validate_summary(summary, summary_path)
    run = RunData(run_dir=run_dir, summary=summary)
    from corpus_audit.report.registry import default_registry

    registered = default_registry().table_columns()
    for path in list_files(join(run_dir, "tables"), "*.parquet"):
        name = posixpath.basename(path) if "://" in path else os.path.basename(path)
        name = name[: -len(".parquet")]
        table = _read_table(path)
        if name in registered:
            section_columns = registered[name]
            keys = next(keys for table_name, keys in default_registry().tables().items() if table_name == name)
            check_table(name, table, keys, section_columns, path)
        run.tables[name] = table.to_pylist()
        run.columns[name] = list(table.column_names)
    from corpus_audit.report.screen import screen_tables

    return screen_tables(run)
