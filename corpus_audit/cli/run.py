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
    """Add ``run`` with its options (`RunOptions`) and every stage's options to the subcommands."""
    # Here, not at module level: the readers and the stages import Apache Beam and pyarrow,
    # which ``--version``, ``report`` and ``compare`` never need.
    from corpus_audit.cli.run_options import RunOptions
    from corpus_audit.transforms import STAGES

    run = commands.add_parser(
        "run", help="audit a corpus", allow_abbrev=False,
        description="Audit shards (.jsonl, .jsonl.gz, .jsonl.zst, .parquet, .txt, saved HF datasets). "
                    "Unknown options are passed to Apache Beam as pipeline options.")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs (local or remote)")
    RunOptions.add_arguments(run)
    run._option_string_actions["--output"].required = True
    run._option_string_actions["--stages"].help = (f"comma-separated analyses to run (default: all = "
                                                   f"{','.join(STAGES)})")
    for stage in STAGES.values():
        stage.add_arguments(run)


def run_command(args: argparse.Namespace, beam_args: list[str], argv: list[str],
                started: float | None = None) -> int:
    """Plan, execute and finish one run; its exit code. ``started``: when the command
    started (the run's wall time counts from there)."""
    from corpus_audit.cli.plan import plan_run
    from corpus_audit.cli.run_options import RunRequest

    return run_plan(plan_run(RunRequest.from_namespace(args, beam_args, argv)), started)


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
