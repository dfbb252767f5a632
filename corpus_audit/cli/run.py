"""``corpus-audit run INPUT... --output DIR [options] [Beam pipeline options]``.

Three steps, each in a module of its own: `corpus_audit.cli.plan` turns the arguments into
a validated `RunPlan` (nothing written yet), `corpus_audit.cli.execute` sets up and runs the
pipeline, `corpus_audit.cli.finish` times the run into ``summary.json``, writes the report
and the console summary and chooses the exit code. Options this parser does not know are
passed to Beam as pipeline options (``--runner DataflowRunner --project ...``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from corpus_audit.cli.outputs import (EXIT_OUTPUT_ERROR, EXIT_WORKER_LOST, StopSignals, locked_outputs,
                                      output_write_error)
from corpus_audit.errors import InputError, UsageError
from corpus_audit.rundir.run_directory import STATUS_INCOMPLETE, STATUS_INTERRUPTED

__all__ = ["ERRORS", "add_parser", "run_command", "run_plan"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (UsageError, InputError)


def add_parser(commands: Any) -> None:
    """Add ``run`` with its options and every stage's options to the subcommands."""
    # Here, not at module level: the readers and the stages import Apache Beam and pyarrow,
    # which ``--version``, ``report`` and ``compare`` never need.
    from corpus_audit.readers import ReadConfig
    from corpus_audit.transforms import STAGES

    run = commands.add_parser(
        "run", help="audit a corpus", allow_abbrev=False,
        description="Audit shards (.jsonl, .jsonl.gz, .jsonl.zst, .parquet, .txt, saved HF datasets). "
                    "Unknown options are passed to Apache Beam as pipeline options.")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs (local or gs://)")
    run.add_argument("--output", "-o", required=True, metavar="DIR", help="output directory (local or gs://)")
    run.add_argument("--runner", default="auto",
                     help="auto (default): in this process without Beam (local) for one worker without Beam "
                          "options, else Beam's DirectRunner; local; or a Beam runner: DirectRunner, "
                          "DataflowRunner, ... (summary.json records the choice and why)")
    run.add_argument("--workers", type=_workers, default="auto", metavar="N|auto",
                     help="DirectRunner worker processes (N > 1 uses multi_processing); auto (default): 1 below "
                          "~30 MB of input (compressed files estimated x3), where starting a second worker costs "
                          "more than it saves, else min(cores, splits); summary.json records the choice")
    run.add_argument("--stages", default=",".join(STAGES), metavar="LIST",
                     help=f"comma-separated analyses to run (default: all = {','.join(STAGES)})")
    run.add_argument("--text-field", default="text", help="record field holding the text (default: text)")
    run.add_argument("--id-field", default="id",
                     help="record field holding the document id (default: id; missing → <shard>:<record number>)")
    run.add_argument("--group-by", metavar="FIELD", help="also break tables down by this record field")
    run.add_argument("--limit", type=int, metavar="N", help="stop after N records, for a quick look")
    run.add_argument("--sample-rate", type=float, metavar="R",
                     help="analyse a stable fraction R of the documents (a hash of each id, the rule toxicity "
                          "sampling uses); the rest are counted as documents_not_sampled")
    run.add_argument("--max-document-bytes", type=int, default=ReadConfig.max_document_bytes, metavar="BYTES",
                     help="larger documents are skipped as document_too_large (default 10 MB)")
    run.add_argument("--batch-documents", type=int, default=ReadConfig.batch_documents, metavar="N",
                     help="documents per batch handed to the analyses (default 1000)")
    run.add_argument("--quiet", action="store_true", help="no progress or summary on the console")
    run.add_argument("--svg", action="store_true", help="draw each plot as SVG too (default: PNG only)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace a completed run in --output (refused without it); files a run did not write "
                          "are never deleted")
    run.add_argument("--checkpoint-dir", metavar="DIR",
                     help="keep each finished split's results here; a rerun with the same DIR and settings "
                          "restores them and analyses only the rest (local or gs://)")
    run.add_argument("--dry-run", action="store_true",
                     help="build and validate the pipeline with its runner options (e.g. Dataflow), print a job "
                          "summary, and stop: nothing is submitted, read remotely or written")
    from corpus_audit import remote
    from corpus_audit.rundir import attributes

    remote.add_arguments(run)
    attributes.add_arguments(run)
    for stage in STAGES.values():
        stage.add_arguments(run)


def _workers(value: str) -> int | str:
    """``--workers``: a whole number (checked >= 1 when the options are built) or ``auto``."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got {value!r}") from None


def run_command(args: argparse.Namespace, beam_args: list[str], argv: list[str],
                started: float | None = None) -> int:
    """Plan, execute and finish one run; its exit code. ``started``: when the command
    started (the run's wall time counts from there)."""
    from corpus_audit.cli.plan import plan_run

    return run_plan(plan_run(args, beam_args, argv), started)


def run_plan(plan: Any, started: float | None = None) -> int:
    """Run a planned audit (`corpus_audit.cli.plan.RunPlan`) to its exit code: a dry run only
    validates; a real one holds the output (and checkpoint) lock from start to end, and
    SIGTERM and SIGHUP stop it the way Ctrl-C does (`StopSignals`)."""
    if plan.dry_run:  # validated and summarised, nothing runs or is written
        from corpus_audit.cli.execute import execute

        execute(plan, started)
        return 0
    checkpoint_dir = plan.checkpoints.directory if plan.checkpoints is not None else None
    with StopSignals() as stop:
        try:
            with locked_outputs(plan.output_dir, checkpoint_dir):
                return _run_locked(plan, started, stop)
        except KeyboardInterrupt:  # while the lock was taken or given back: no manifest of this run
            print(f"corpus-audit: interrupted ({stop.name}): the run stopped", file=sys.stderr)
            return stop.exit_code


def _run_locked(plan: Any, started: float | None, stop: StopSignals) -> int:
    """Execute and finish ``plan`` while its directories are locked; the manifest records how it ended."""
    from corpus_audit.cli.execute import execute
    from corpus_audit.cli.finish import finish
    from corpus_audit.rundir.run_directory import STATUS_COMPLETE, RunDirectory

    run_directory = RunDirectory(plan.output_dir)
    try:
        code = finish(plan, execute(plan, started, run_directory))
    except KeyboardInterrupt:
        return _interrupted(plan, run_directory, stop)
    except ERRORS:
        raise  # refused before anything was written
    except Exception as exc:
        # Beam re-raises a worker's KeyboardInterrupt as RuntimeError; and once the launcher is
        # told to stop, what its stopping workers report is part of that stop, not a fault.
        if stop.signum is not None or _is_interruption(exc):
            return _interrupted(plan, run_directory, stop)
        _mark(run_directory, STATUS_INCOMPLETE, stop)
        from corpus_audit.engine.local import WorkerProcessError

        if isinstance(exc, WorkerProcessError):
            print(f"corpus-audit: error: {exc}; {_resume_hint(plan)}", file=sys.stderr)
            return EXIT_WORKER_LOST
        error = output_write_error(exc, plan.output_dir)
        if error is None:
            raise
        print(f"corpus-audit: error: {error}", file=sys.stderr)
        return EXIT_OUTPUT_ERROR
    _mark(run_directory, STATUS_COMPLETE, stop)
    return code


def _is_interruption(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt) or str(current).startswith("KeyboardInterrupt"):
            return True
        current = current.__cause__ or current.__context__
    return False


def _interrupted(plan: Any, run_directory: Any, stop: StopSignals) -> int:
    """Mark the run ``interrupted`` and say so; 130 for Ctrl-C, 128 + the signal for a stop signal."""
    _mark(run_directory, STATUS_INTERRUPTED, stop)
    print(f"corpus-audit: interrupted ({stop.name}): the run stopped; {_resume_hint(plan)}", file=sys.stderr)
    return stop.exit_code


def _mark(run_directory: Any, status: str, stop: StopSignals) -> None:
    """Record how the run ended, if it got as far as writing its manifest (best effort: the disk
    may be full; a manifest left at ``running`` is treated as not complete too). From here on a
    stop signal is only noted: the run has ended, its manifest and lock are not cut short."""
    from corpus_audit.rundir.run_directory import read_manifest

    stop.hold()
    try:
        manifest = read_manifest(run_directory.directory)
        if manifest is not None and manifest.get("run_id") == run_directory.run_id:
            run_directory.write_manifest(status, {"command": manifest.get("command")})
    except (OSError, UsageError):
        pass


def _resume_hint(plan: Any) -> str:
    if plan.checkpoints is None:
        return "without --checkpoint-dir a rerun starts again (use it to resume long runs)"
    return f"finished splits are kept in {plan.checkpoints.directory}; rerun the same command to resume"
