"""Executing a `RunPlan`: set up (checkpoint directory, stage models, output directory),
build the Beam pipeline and run it — or, for ``--dry-run``, validate it and print the job."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time

from corpus_audit.cli.beam_options import pipeline_options
from corpus_audit.cli.outputs import _WRITE_MESSAGES, prepare_output_dir
from corpus_audit.cli.plan import AUTO_RUNNER, LOCAL_RUNNER, RunPlan
from corpus_audit.engine import dataflow
from corpus_audit.engine.progress import PROGRESS_DIR_ENV, RunProgress
from corpus_audit.rundir.run_directory import STATUS_RUNNING, RunDirectory
from corpus_audit.engine.work import inference_analysis

__all__ = ["announce", "engine_for_prepared_stages", "execute", "prepare_analyses"]


def execute(plan: RunPlan, started: float | None = None, run_directory: RunDirectory | None = None) -> float | None:
    """Run ``plan``'s pipeline to the end; the seconds since ``started`` (default: when the
    pipeline is built). None for a dry run, after printing its job summary on stdout.

    ``run_directory`` (required unless a dry run) is prepared — refused or cleared — last,
    then marked ``running`` before anything is written."""
    if plan.checkpoints is not None and not plan.dry_run:
        plan.checkpoints.create_directory()
    prepare_analyses(plan)
    plan = engine_for_prepared_stages(plan)
    pipeline = None
    if plan.runner != LOCAL_RUNNER:
        pipeline = dataflow.make_pipeline(plan.options, plan.dry_run)  # Beam validates the options here
    if not plan.dry_run:
        assert run_directory is not None
        prepare_output_dir(run_directory, plan.overwrite)  # last: nothing is deleted before every check passed
        run_directory.write_manifest(STATUS_RUNNING, {"command": list(plan.command)})
    config = plan.audit_config()
    announce(plan)
    started = time.time() if started is None else started
    # Dataflow workers log their own progress (the launcher's line would stay at zero); a caller
    # that already shows a progress line (an outer RunProgress, e.g. a notebook's) keeps its own.
    show = not plan.quiet and not dataflow.is_dataflow(plan.runner) and PROGRESS_DIR_ENV not in os.environ
    if pipeline is None:
        from corpus_audit.engine.local import run_in_process

        with RunProgress([item.path for item in plan.inputs], enabled=show) as progress:
            run_in_process(config, plan.workers, fork_guard=progress.quiescent)
        return time.time() - started
    from corpus_audit.engine.assembly import build_pipeline

    _quiet_beam_logging()
    build_pipeline(pipeline, config)
    if plan.dry_run:
        print(dataflow.format_summary(dataflow.dry_run(pipeline, plan.options, config)))
        return None
    with RunProgress([item.path for item in plan.inputs], enabled=show):
        result = pipeline.run()
        result.wait_until_finish()
    return time.time() - started


def engine_for_prepared_stages(plan: RunPlan) -> RunPlan:
    """``plan``, moved to Beam's DirectRunner when it would run in process but a prepared stage
    scores through RunInference (toxicity with its model loaded), which needs Beam."""
    scored = inference_analysis(plan.analyses)
    if plan.runner != LOCAL_RUNNER or scored is None:
        return plan
    if not plan.runner_rule.startswith(AUTO_RUNNER):
        from corpus_audit.errors import UsageError

        raise UsageError(f"--runner {LOCAL_RUNNER} cannot score {scored.name} (RunInference needs Beam): "
                         "use --runner DirectRunner")
    return dataclasses.replace(plan, runner="DirectRunner",
                               runner_rule=f"auto: Beam's DirectRunner for {scored.name}'s RunInference",
                               options=pipeline_options("DirectRunner", plan.workers, list(plan.beam_args)))


def prepare_analyses(plan: RunPlan) -> None:
    """Each stage's run-wide preparation (e.g. load the toxicity model: may raise
    `UsageError` with --require-toxicity), and what a prepared stage rules out."""
    for analysis in plan.analyses:
        analysis.prepare_run()


def announce(plan: RunPlan) -> None:
    """The console lines before the run: files not read, what runs where, stage warnings."""
    if plan.quiet:
        return
    if plan.ignored:
        print(f"corpus-audit: not reading {len(plan.ignored)} file(s) with unsupported suffixes or in hidden "
              f"directories (listed in summary.json), e.g. {plan.ignored[0]}",
              file=sys.stderr)
    print(f"corpus-audit: {len(plan.inputs)} input file(s), stages {','.join(plan.stage_names)}, "
          f"runner {plan.runner}" + (f" ({plan.workers} workers)" if plan.workers > 1 else "")
          + (f"; workers {plan.workers} ({plan.workers_rule})" if plan.workers_rule.startswith("auto") else ""),
          file=sys.stderr, flush=True)
    for analysis in plan.analyses:
        warning = analysis.run_warning()
        if warning:
            print(f"corpus-audit: WARNING: {warning}", file=sys.stderr, flush=True)


class _HandledErrorFilter(logging.Filter):
    """Drops Beam's logged tracebacks of the faults the CLI reports in one line itself
    (Ctrl-C, a full disk, a read-only output): the user sees that line, not a worker's traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("apache_beam"):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt):
            return False
        text = record.getMessage()
        return not any(marker in text for marker in ("KeyboardInterrupt", *_WRITE_MESSAGES))


def _quiet_beam_logging() -> None:
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # Worker start-up chatter of the multi-process DirectRunner, not about the audit.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    if not logging.getLogger().handlers:
        logging.basicConfig()  # what Beam would set up; here so the filter below sits on it
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _HandledErrorFilter) for f in handler.filters):
            handler.addFilter(_HandledErrorFilter())
