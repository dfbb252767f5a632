"""The Python API: `audit` runs an audit from a notebook or script, `load_run` opens a finished one.

`audit` takes the same settings as ``corpus-audit run`` (typed keyword arguments named like
the options: ``text_field="body"`` is ``--text-field body``), fills the same typed options
(`corpus_audit.cli.run_options.RunRequest`; no command line is built or parsed) and goes
through the command line's own steps — `corpus_audit.cli.plan.plan_run`,
`corpus_audit.cli.execute.execute`, `corpus_audit.cli.finish.finish` — so a run made here is
the run the CLI would make, with the same checks (raised as `UsageError` / `InputError`
instead of printed) and the same outputs.

Both return an `AuditResult`: the run directory's paths, its accounting from ``summary.json``
and its tables, documents and skip records as pyarrow tables, read when first asked for.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from corpus_audit.errors import UsageError
from corpus_audit.storage import is_remote, join, list_files, read_bytes

if TYPE_CHECKING:
    import pyarrow as pa

    from corpus_audit.cli.run_options import RunRequest

__all__ = ["AuditResult", "audit", "audit_request", "load_run"]


def audit(inputs: Sequence[str | os.PathLike] | str | os.PathLike, output: str | os.PathLike,
          stages: Iterable[str] | str | None = None, *, quiet: bool = True, beam_args: Sequence[str] = (),
          **options: Any) -> "AuditResult":
    """Audit ``inputs`` (files, directories, globs, URLs) into the directory ``output``.

    ``inputs`` are paths, never options: ``audit("-notes.jsonl", ...)`` reads that file.
    ``stages``: names or a comma-separated string (default: every stage). ``options``: any
    ``corpus-audit run`` option by its name, typed (``limit=1000``, ``text_field="body"``,
    ``workers=4``, ``checkpoint_dir=...``, ``langid_threshold=0.4``); a name that is not an option
    or a value of the wrong type is a `UsageError`. ``beam_args``: Beam pipeline options, as
    strings (``["--runner", "DataflowRunner", ...]`` is ``runner=...`` plus these).
    ``quiet=False`` prints the progress and the summary on stderr as the CLI does.
    Raises `UsageError` / `InputError` for settings or inputs the CLI would refuse (nothing is
    written then); a run that analysed no document returns normally with ``exit_code`` 1.
    """
    from corpus_audit.cli.plan import plan_run
    from corpus_audit.cli.run import run_plan

    plan = plan_run(audit_request(inputs, output, stages, quiet=quiet, beam_args=beam_args, **options))
    code = run_plan(plan)  # the CLI's path: locked output, manifest, exit codes 0/1/3/130
    if plan.dry_run:  # validated, nothing ran
        return AuditResult(plan.output_dir, exit_code=0, dry_run=True)
    return AuditResult(plan.output_dir, exit_code=code)


def audit_request(inputs: Any, output: Any, stages: Any = None, *, quiet: bool = True, beam_args: Sequence[str] = (),
                  **options: Any) -> "RunRequest":
    """`audit`'s parameters as a checked `RunRequest` (what ``corpus-audit run`` builds from its arguments)."""
    from corpus_audit.cli.run_options import (RunOptions, RunRequest, known_option_names, normalise_inputs,
                                              stage_options_from)

    unknown = sorted(set(options) - known_option_names())
    if unknown:
        raise UsageError(f"audit() got unknown option(s) {', '.join(unknown)}; options are corpus-audit run's, "
                         "named with underscores (text_field=...)")
    if not isinstance(output, (str, os.PathLike)) or not os.fspath(output):
        raise UsageError(f"audit(): output must be a directory path or URL, got {type(output).__name__} {output!r:.60}")
    if isinstance(beam_args, str) or not all(isinstance(arg, str) for arg in beam_args):
        raise UsageError("audit(): beam_args must be a list of strings")
    values = {**options, "output": os.fspath(output), "quiet": quiet}
    if stages is not None:
        values["stages"] = stages
    return RunRequest(inputs=normalise_inputs(inputs), options=RunOptions.from_values(values),
                      stage_options=stage_options_from(values), beam_args=tuple(beam_args))


def load_run(directory: str) -> "AuditResult":
    """The finished run in ``directory`` (local or remote); FileNotFoundError without a
    ``summary.json`` there."""
    from corpus_audit.storage import exists

    if not exists(join(directory, "summary.json")):
        raise FileNotFoundError(f"no corpus-audit run in {directory!r} (summary.json not found)")
    return AuditResult(directory)


@dataclass
class AuditResult:
    """A run directory: its paths, accounting and tables (pyarrow, read on first use).

    ``exit_code`` is the CLI's (0, or 1 when nothing was analysed) for a run made by `audit`,
    None for one opened with `load_run`.
    """

    output_dir: str
    exit_code: int | None = None
    dry_run: bool = False
    _summary: dict[str, Any] | None = field(default=None, repr=False)
    _tables: dict[str, "pa.Table"] = field(default_factory=dict, repr=False)

    # -- paths ---------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """A path inside the run directory (``result.path("tables", "languages.csv")``)."""
        return join(self.output_dir, *parts)

    @property
    def summary_path(self) -> str:
        return self.path("summary.json")

    @property
    def datasheet_path(self) -> str:
        return self.path("datasheet.md")

    @property
    def document_files(self) -> list[str]:
        """``documents/*.parquet``: one row per analysed document (shard, position, columns)."""
        return list_files(self.path("documents"), "*.parquet")

    # -- accounting ----------------------------------------------------------------------
    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json`` as a dict (see `corpus_audit.schemas.summary_schema`)."""
        if self._summary is None:
            self._summary = json.loads(read_bytes(self.summary_path).decode("utf-8"))
        return self._summary

    @property
    def documents_read(self) -> int:
        return int(self.summary["documents_read"])

    @property
    def documents_analysed(self) -> int:
        return int(self.summary["documents_analysed"])

    @property
    def documents_skipped(self) -> dict[str, int]:
        """Skip reason → count."""
        return dict(self.summary["documents_skipped"])

    @property
    def accounting(self) -> dict[str, Any]:
        """read, analysed, skipped (by reason), not sampled, and whether they balance."""
        summary = self.summary
        return {"documents_read": summary["documents_read"], "documents_analysed": summary["documents_analysed"],
                "documents_skipped": dict(summary["documents_skipped"]),
                "documents_not_sampled": summary.get("documents_not_sampled", 0),
                "accounting_balanced": summary["accounting_balanced"]}

    # -- tables --------------------------------------------------------------------------
    @property
    def table_names(self) -> list[str]:
        return list(self.summary.get("tables", []))

    def table(self, name: str) -> "pa.Table":
        """``tables/<name>.parquet`` (e.g. ``languages``, ``pronouns``, ``toxicity_summary``)."""
        if name not in self._tables:
            if name not in self.table_names:
                raise KeyError(f"no table {name!r} in this run; it has {', '.join(self.table_names) or 'none'}")
            self._tables[name] = _read_parquet(self.path("tables", f"{name}.parquet"))
        return self._tables[name]

    @property
    def tables(self) -> dict[str, "pa.Table"]:
        """Every table of the run by name."""
        return {name: self.table(name) for name in self.table_names}

    def documents(self, columns: list[str] | None = None) -> "pa.Table":
        """Every analysed document's row, ordered by (shard, position)."""
        import pyarrow as pa

        files = self.document_files
        if not files:
            return pa.table({})
        if columns is not None:
            if isinstance(columns, str) or not all(isinstance(name, str) for name in columns):
                raise UsageError("documents(columns=...) takes a list of column names")
            _check_columns(files, columns)
        parts = [_read_parquet(path, columns) for path in files]
        table = pa.concat_tables(parts, promote_options="permissive")
        if "shard" in table.column_names and "position" in table.column_names:
            table = table.sort_by([("shard", "ascending"), ("position", "ascending")])
        return table

    def skipped(self) -> "pa.Table":
        """``skipped/*.jsonl``: one row per skipped document (shard, position, reason, ...)."""
        import pyarrow as pa

        rows: list[dict[str, Any]] = []
        for path in list_files(self.path("skipped"), "*.jsonl"):
            rows.extend(json.loads(line) for line in read_bytes(path).decode("utf-8").splitlines() if line.strip())
        return pa.Table.from_pylist(rows)


def _check_columns(files: list[str], columns: list[str]) -> None:
    """KeyError naming the columns ``documents/`` does not have (from the first file's schema)."""
    import pyarrow.parquet as pq

    source = io.BytesIO(read_bytes(files[0])) if is_remote(files[0]) else files[0]
    names = pq.read_schema(source).names
    missing = [name for name in columns if name not in names]
    if missing:
        raise KeyError(f"no column(s) {', '.join(missing)} in documents/; it has {', '.join(names)} (a stage that "
                       "did not run adds no column)")


def _read_parquet(path: str, columns: list[str] | None = None) -> "pa.Table":
    import pyarrow.parquet as pq

    if is_remote(path):
        return pq.read_table(io.BytesIO(read_bytes(path)), columns=columns)
    return pq.read_table(path, columns=columns)

