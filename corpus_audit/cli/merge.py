"""``corpus-audit merge RUN... --output OUT``: the audit of a corpus from audits of its parts.

Every stage's accumulator is exact and mergeable (integers only), and each run keeps its
final accumulators in ``accumulators.json`` (`corpus_audit.accumulators`). A merge loads them
(format, version and sha256 checked), refuses runs that cannot be merged exactly — different
stage options, read settings, lexicon or model digests, corpus-audit versions, or an input
read by two of them — rebuilds the stages from the recorded options, merges each stage's
accumulators with its own ``combine_fn`` and writes the tables, ``summary.json`` and
``accumulators.json`` of the union through the writer a run uses (`write_results`), then the
report. The tables equal those of one run over all the inputs, byte for byte.

A merge reads no input: ``documents/`` and ``skipped/`` stay in the merged runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, fields
from typing import Any, Iterator

from corpus_audit.accumulators import RunAccumulators, read_accumulators
from corpus_audit.errors import InputError, UsageError
from corpus_audit.storage import check_output_location, is_remote

__all__ = ["ERRORS", "LoadedRun", "add_parser", "command", "merge_key"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (UsageError, InputError)
#: Options that change how a run behaves, not its results (they may differ between merged runs).
BEHAVIOUR_OPTIONS = frozenset({"require_toxicity", "allow_pickle_weights"})
#: Read settings that size the work (batches, splits), never change a table.
WORK_SIZING = frozenset({"batch_documents", "batch_bytes", "rows_per_split"})
#: Stage settings compared between runs: what identifies lexicons and models, and a stage's status.
_IDENTIFYING = re.compile(r"(^|_)(sha256|digest|version|lexicon|name|status)$")


@dataclass(frozen=True)
class LoadedRun:
    """One run to merge: its directory, its verified accumulators and its summary."""

    path: str
    accumulators: RunAccumulators
    summary: Any  # corpus_audit.rundir.summary.RunSummary


def add_parser(commands: Any) -> None:
    """Add ``merge`` to the subcommands."""
    merge = commands.add_parser(
        "merge", help="merge separately audited runs into the audit of their union (exact)", allow_abbrev=False,
        description="Merge the runs of separately audited parts of a corpus (each run's accumulators.json) into "
                    "the audit of their union: tables byte-identical to one run over every input. The runs must "
                    "share their stage options, read settings and lexicon/model digests, and read no input twice.")
    merge.add_argument("runs", nargs="+", metavar="RUN", help="run directories (corpus-audit run --output)")
    merge.add_argument("--output", required=True, metavar="OUT", help="the merged run's directory")
    merge.add_argument("--overwrite", action="store_true", help="replace a completed run or merge in OUT")
    merge.add_argument("--svg", action="store_true", help="draw the report's plots as SVG too")
    merge.add_argument("--quiet", action="store_true", help="print nothing but errors")


def command(args: argparse.Namespace) -> int:
    """Check, merge and write; the exit code (1 when the union analysed no document)."""
    from corpus_audit.cli.outputs import locked_outputs

    started = time.time()
    output_dir = _output_dir(args.output, args.runs)
    runs = [_load_run(path) for path in args.runs]
    _check_compatible(runs)
    _check_disjoint(runs, quiet=args.quiet)
    analyses = _rebuild_analyses(runs[0])
    aggregates = _merge(runs, analyses)
    with locked_outputs(output_dir, None):
        return _write_locked(args, output_dir, runs, analyses, aggregates, started)


# ----------------------------------------------------------------------------- loading


def _output_dir(output: str, runs: list[str]) -> str:
    """OUT, absolute when local; refused when it is, holds or lies inside a RUN (a merge that
    clears OUT must never delete what it merges)."""
    check_output_location(output)
    output_dir = output if is_remote(output) else os.path.abspath(output)
    for run in runs:
        if is_remote(run) != is_remote(output_dir):
            continue
        run_dir = run if is_remote(run) else os.path.realpath(run)
        out = output_dir if is_remote(output_dir) else os.path.realpath(output_dir)
        a, b = run_dir.rstrip("/\\") + os.sep, out.rstrip("/\\") + os.sep
        if a.startswith(b) or b.startswith(a):
            raise UsageError(f"--output {output} overlaps the run {run} it merges; choose another directory")
    return output_dir


def _load_run(path: str) -> LoadedRun:
    """A completed run's verified accumulators and summary; `UsageError` naming what is wrong."""
    from corpus_audit.rundir.run_directory import STATUS_COMPLETE, read_manifest
    from corpus_audit.rundir.summary import RunSummary, summary_path

    if not is_remote(path) and not os.path.isdir(path):
        raise UsageError(f"{path} is not a directory (give run directories: corpus-audit run --output)")
    manifest = read_manifest(path)
    if manifest is None:
        raise UsageError(f"{path} is not a corpus-audit run directory (no corpus-audit-run.json)")
    if manifest.get("status") != STATUS_COMPLETE:
        raise UsageError(f"the run in {path} did not complete (status {manifest.get('status')}); "
                         "audit it again before merging it")
    accumulators = read_accumulators(path)
    try:
        summary = RunSummary.read(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{summary_path(path)} is missing or damaged ({type(exc).__name__}); "
                         "audit that run again") from None
    if summary.documents_read != accumulators.accounting.documents_read:
        raise UsageError(f"{path}: summary.json and accumulators.json disagree (documents read "
                         f"{summary.documents_read} vs {accumulators.accounting.documents_read}): not one run's files")
    return LoadedRun(path, accumulators, summary)


# ----------------------------------------------------------------------------- checks


def _identifying(settings: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of the settings that identify a lexicon or model, or a stage's status."""
    if not isinstance(settings, dict):
        return
    for key, value in settings.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            yield from _identifying(value, name)
        elif _IDENTIFYING.search(str(key)):
            yield name, value


def _path_options(stage: str) -> set[str]:
    """A stage's options naming a file (lexicon, model): compared by the digests its settings
    record, not by path, so that runs audited on other machines or checkouts merge."""
    from corpus_audit.options import option_fields
    from corpus_audit.transforms import STAGES

    cls = STAGES.get(stage)
    return set() if cls is None else {f.name for f in option_fields(cls.Options) if f.metadata["option"]["path"]}


def merge_key(accumulators: RunAccumulators) -> dict[str, Any]:
    """Everything two runs must share to merge exactly, by the name an error gives it: stage
    options (file options by the digests below), read settings, and the stage settings that
    identify a lexicon or model or say whether the stage was computed."""
    settings = accumulators.settings
    key: dict[str, Any] = {"corpus-audit version": settings.get("corpus_audit_version"),
                           "stages": list(accumulators.stage_options)}
    for stage, options in accumulators.stage_options.items():
        skipped = BEHAVIOUR_OPTIONS | _path_options(stage)
        for name, value in options.items():
            if name not in skipped:
                key[f"option --{name.replace('_', '-')} ({stage})"] = value
    read = settings.get("read") if isinstance(settings.get("read"), dict) else {}
    for name, value in read.items():
        if name not in WORK_SIZING:
            key[f"read setting {name}"] = value
    stages = settings.get("stages") if isinstance(settings.get("stages"), dict) else {}
    for stage in accumulators.stage_options:
        key.update(_identifying(stages.get(stage), f"{stage} setting"))
    return key


def _first_difference(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, Any, Any] | None:
    for name in [*a, *(k for k in b if k not in a)]:
        if a.get(name, "<absent>") != b.get(name, "<absent>"):
            return name, a.get(name, "<absent>"), b.get(name, "<absent>")
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_compatible(runs: list[LoadedRun]) -> None:
    """Refuse, in one line naming the setting and the runs, runs that do not share every
    result-affecting setting (`merge_key`)."""
    first = merge_key(runs[0].accumulators)
    for run in runs[1:]:
        difference = _first_difference(first, merge_key(run.accumulators))
        if difference is not None:
            name, a, b = difference
            raise UsageError(f"cannot merge {runs[0].path} and {run.path}: they differ in {name} "
                             f"({_short(a)} vs {_short(b)}); audit them with the same settings")


def _same_input(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two recorded inputs are the same data: the same path and identity (or a path
    whose identity is unknown, a remote input), or the same non-empty content."""
    digest_a, digest_b = a.get("content_sha256"), b.get("content_sha256")
    if a.get("path") == b.get("path") and (digest_a is None or digest_b is None
                                            or (digest_a == digest_b and a.get("size") == b.get("size"))):
        return True
    return digest_a is not None and digest_a == digest_b and bool(a.get("size"))


def _check_disjoint(runs: list[LoadedRun], quiet: bool = False) -> None:
    """Refuse runs that read the same input (it would be counted twice)."""
    by_path: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
    by_digest: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
    for run in runs:
        for item in run.accumulators.inputs:
            candidates = by_path.get(item.get("path"), []) + by_digest.get(item.get("content_sha256"), [])
            for other_run, other in candidates:
                if _same_input(other, item):
                    what = "" if other.get("path") == item.get("path") else f" (the same content as {other.get('path')})"
                    raise UsageError(f"cannot merge {other_run} and {run.path}: both read {item.get('path')}{what}; "
                                     "an input read twice would be counted twice")
                if not quiet and other.get("path") == item.get("path"):
                    print(f"corpus-audit: warning: {other_run} and {run.path} read {item.get('path')} with different "
                          "content (the file changed between the audits): both versions are counted", file=sys.stderr)
        for item in run.accumulators.inputs:
            by_path.setdefault(item.get("path"), []).append((run.path, item))
            if item.get("content_sha256") is not None:
                by_digest.setdefault(item.get("content_sha256"), []).append((run.path, item))


# ----------------------------------------------------------------------------- merging


def _rebuild_analyses(run: LoadedRun) -> list[Any]:
    """The stages of ``run``, built from its recorded options, in run order; refused when a
    lexicon or model they load now is not the one the runs used."""
    from corpus_audit.transforms import STAGES

    analyses = []
    recorded = run.accumulators.settings.get("stages") or {}
    where = f"{run.path}/accumulators.json"
    for name, values in run.accumulators.stage_options.items():
        cls = STAGES.get(name)
        if cls is None:
            raise UsageError(f"{where} names a stage this corpus-audit does not have: {name}")
        analysis = cls.from_options(cls.Options.from_values(values, caller=where))
        _restore_run_state(analysis, recorded.get(name) or {})
        now, then = dict(_identifying(analysis.settings(), name)), dict(_identifying(recorded.get(name), name))
        difference = _first_difference(then, now)
        if difference is not None:
            setting, old, new = difference
            raise UsageError(f"cannot merge: {setting} is {_short(new)} now but was {_short(old)} when the runs were "
                             "audited (the lexicon or model changed since); audit them again")
        analyses.append(analysis)
    return analyses


def _restore_run_state(analysis: Any, recorded: dict[str, Any]) -> None:
    """What a run learnt when it prepared a model stage (toxicity: computed or not, and why;
    the model's identity), taken from its recorded settings: a merge loads no model."""
    if not hasattr(analysis, "unavailable_reason") or "status" not in recorded:
        return
    if recorded.get("status") != "computed":
        analysis.unavailable_reason = str(recorded.get("reason") or "not computed in the merged runs")
        return
    base = set(analysis.settings())  # the keys it writes without a model
    statistics = set(analysis.run_statistics(analysis.combine_fn().create_accumulator()))
    analysis.unavailable_reason = None
    analysis.model_info = {k: v for k, v in recorded.items()
                           if k not in base and k not in statistics and k != "pickle_weights_loaded"}


def _integers_only(value: Any, depth: int = 0) -> bool:
    """Whether an accumulator holds only what exact accumulators hold: ints, str, None, containers."""
    if depth > 50:
        return False
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, dict):
        return all(_integers_only(k, depth + 1) and _integers_only(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_integers_only(item, depth + 1) for item in value)
    return False


#: What an accumulator of the wrong shape raises when merged or tabulated (pyarrow's errors
#: subclass ValueError and TypeError).
_DAMAGE = (TypeError, ValueError, KeyError, AttributeError, IndexError, ZeroDivisionError, OverflowError)


def _merge(runs: list[LoadedRun], analyses: list[Any]) -> dict[str, Any]:
    """Stage name → the merged output of its CombineFn, and the summed accounting; refused
    (one line) when an accumulator does not merge or tabulate, before OUT is touched."""
    from corpus_audit.documents import ReadAccounting
    from corpus_audit.engine.results import ACCOUNTING_KEY
    from corpus_audit.transforms.base import ReportContext

    context = ReportContext(group_by=(runs[0].accumulators.settings.get("read") or {}).get("group_by"))

    aggregates: dict[str, Any] = {}
    for analysis in analyses:
        parts = [run.accumulators.stages.get(analysis.name) for run in runs]
        bad = next((run.path for run, part in zip(runs, parts) if not _integers_only(part)), None)
        if bad is not None:
            raise UsageError(f"{bad}/accumulators.json: the {analysis.name} accumulator holds values an exact "
                             "accumulator never holds; audit that run again")
        combine_fn = analysis.combine_fn()
        try:
            aggregates[analysis.name] = combine_fn.extract_output(combine_fn.merge_accumulators(parts))
            analysis.tables(aggregates[analysis.name], context)  # built again when written; here, before OUT is touched
            analysis.run_statistics(aggregates[analysis.name])
        except _DAMAGE as exc:
            raise UsageError(f"cannot merge the {analysis.name} accumulators ({type(exc).__name__}: "
                             f"{str(exc)[:100]}); one accumulators.json is not of this corpus-audit") from None
    aggregates[ACCOUNTING_KEY] = ReadAccounting.total(run.accumulators.accounting for run in runs)
    return aggregates


# ----------------------------------------------------------------------------- writing


def _command_line(args: argparse.Namespace) -> list[str]:
    flags = [flag for flag, on in (("--overwrite", args.overwrite), ("--svg", args.svg), ("--quiet", args.quiet)) if on]
    return ["corpus-audit", "merge", *args.runs, "--output", args.output, *flags]


def _unique(items: Iterator[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _run_info(args: argparse.Namespace, output_dir: str, runs: list[LoadedRun]) -> Any:
    """The merge's part of ``summary.json``: the runs' inputs and lists together, and in
    ``settings`` the runs merged (``merged_runs``), ``runner: merge``."""
    from corpus_audit.cli.plan import package_versions
    from corpus_audit.rundir.summary import RunInfo

    infos = [run.summary.run for run in runs if run.summary.run is not None]
    settings = dict(infos[0].settings) if infos else {}
    settings.update({"runner": "merge", "runner_rule": f"corpus-audit merge of {len(runs)} runs",
                     "workers": 1, "workers_rule": "merge: no input read",
                     "merged_runs": [run.path if is_remote(run.path) else os.path.abspath(run.path) for run in runs]})
    ignored = _unique(path for info in infos for path in info.ignored_files)
    duplicates = _unique(item for info in infos for item in info.duplicate_inputs)
    # Runs whose lists are whole are counted by the union (one file ignored by two runs is one).
    whole = all(info.ignored_files_count == len(info.ignored_files) for info in infos)
    whole_duplicates = all(info.duplicate_inputs_count == len(info.duplicate_inputs) for info in infos)
    return RunInfo(command=_command_line(args), inputs=_unique(path for info in infos for path in info.inputs),
                   input_files=sum(len(run.accumulators.inputs) for run in runs),
                   ignored_files_count=len(ignored) if whole else sum(info.ignored_files_count for info in infos),
                   ignored_files=ignored[:100],
                   output=output_dir, settings=settings, package_versions=package_versions(),
                   ignored_special_files=_unique(item for info in infos for item in info.ignored_special_files),
                   duplicate_inputs_count=(len(duplicates) if whole_duplicates
                                           else sum(info.duplicate_inputs_count for info in infos)),
                   duplicate_inputs=duplicates[:100])


def _audit_config(args: argparse.Namespace, output_dir: str, runs: list[LoadedRun], analyses: list[Any]) -> Any:
    """The `AuditConfig` `write_results` writes the union with (the runs' recorded inputs)."""
    from corpus_audit.engine.audit_config import AuditConfig
    from corpus_audit.readers import InputFile, ReadConfig

    first = runs[0].accumulators
    read = first.settings.get("read") or {}
    read_config = ReadConfig(**{f.name: read[f.name] for f in fields(ReadConfig) if f.name in read})
    identities = [item for run in runs for item in run.accumulators.inputs]
    return AuditConfig(inputs=[InputFile(str(item.get("path")), str(item.get("format"))) for item in identities],
                       output_dir=output_dir, analyses=analyses, read_config=read_config, limit=read.get("limit"),
                       progress=False, run_info=_run_info(args, output_dir, runs),
                       stage_options={name: dict(options) for name, options in first.stage_options.items()},
                       input_identities=identities)


def _write_locked(args: argparse.Namespace, output_dir: str, runs: list[LoadedRun], analyses: list[Any],
                  aggregates: dict[str, Any], started: float) -> int:
    """Write the union into OUT while it is locked; the manifest records how it ended."""
    from corpus_audit.cli.finish import exit_code, write_run_report
    from corpus_audit.cli.outputs import EXIT_INTERRUPTED, EXIT_OUTPUT_ERROR, output_write_error, prepare_output_dir
    from corpus_audit.engine.results import write_results
    from corpus_audit.rundir.run_directory import (STATUS_COMPLETE, STATUS_INCOMPLETE, STATUS_INTERRUPTED,
                                                   STATUS_RUNNING, RunDirectory)

    run_directory = RunDirectory(output_dir)
    config = _audit_config(args, output_dir, runs, analyses)
    prepare_output_dir(run_directory, args.overwrite)  # last: nothing is deleted before every check passed
    command_line = {"command": _command_line(args)}
    run_directory.write_manifest(STATUS_RUNNING, command_line)
    try:
        summary = write_results(config, aggregates).with_timings(time.time() - started)
        summary.write(output_dir)
        write_run_report(output_dir, svg=args.svg)
    except KeyboardInterrupt:
        run_directory.write_manifest(STATUS_INTERRUPTED, command_line)
        print("corpus-audit: interrupted (Ctrl-C): the merge stopped; run it again", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        run_directory.write_manifest(STATUS_INCOMPLETE, command_line)
        error = output_write_error(exc, output_dir)
        if error is None:
            raise
        print(f"corpus-audit: error: {error}", file=sys.stderr)
        return EXIT_OUTPUT_ERROR
    run_directory.write_manifest(STATUS_COMPLETE, command_line)
    if not args.quiet:
        print(f"corpus-audit: merged {len(runs)} runs: {summary.documents_read:,} documents read, "
              f"{summary.documents_analysed:,} analysed; outputs in {output_dir} (summary.json, tables/, "
              "accumulators.json, plots/, datasheet.md)", file=sys.stderr)
    return exit_code(summary)
