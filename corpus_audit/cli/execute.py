"""Executing a `RunPlan`: set up (checkpoint directory, stage models, output directory), then
run it on its `corpus_audit.engine.base.Engine` — or, for ``--dry-run``, validate the Beam job
and print it."""

from __future__ import annotations

import dataclasses
import os
import sys
import time

from corpus_audit.cli.beam_options import pipeline_options
from corpus_audit.cli.outputs import prepare_output_dir
from corpus_audit.cli.plan import AUTO_RUNNER, LOCAL_RUNNER, RunPlan
from corpus_audit.engine import dataflow
from corpus_audit.engine.base import engine_for
from corpus_audit.engine.progress import PROGRESS_DIR_ENV, RunProgress
from corpus_audit.rundir.run_directory import STATUS_RUNNING, RunDirectory
from corpus_audit.engine.work import inference_analysis

__all__ = ["announce", "engine_for_prepared_stages", "execute", "prepare_analyses"]


def execute(plan: RunPlan, started: float | None = None, run_directory: RunDirectory | None = None) -> float | None:
    """Run ``plan`` on its `Engine` to the end; the seconds since ``started`` (default: when the
    engine starts). None for a dry run, after printing its job summary on stdout.

    ``run_directory`` (required unless a dry run) is prepared — refused or cleared — last,
    then marked ``running`` before anything is written."""
    if plan.checkpoints is not None and not plan.dry_run:
        plan.checkpoints.create_directory()
    prepare_analyses(plan)
    plan = engine_for_prepared_stages(plan)
    engine = engine_for(plan.runner, plan.workers, plan.options, plan.dry_run)
    engine.validate()  # Beam validates its options here, before the output is touched
    if not plan.dry_run:
        assert run_directory is not None
        prepare_output_dir(run_directory, plan.overwrite)  # last: nothing is deleted before every check passed
        run_directory.write_manifest(STATUS_RUNNING, {"command": list(plan.command)})
    config = plan.audit_config()
    announce(plan)
    if plan.dry_run:
        print(engine.dry_run(config))
        return None
    started = time.time() if started is None else started
    # Dataflow workers log their own progress (the launcher's line would stay at zero); a caller
    # that already shows a progress line (an outer RunProgress, e.g. a notebook's) keeps its own.
    show = not plan.quiet and not dataflow.is_dataflow(plan.runner) and PROGRESS_DIR_ENV not in os.environ
    with RunProgress([item.path for item in plan.inputs], enabled=show) as progress:
        engine.run(config, fork_guard=progress.quiescent)
    return time.time() - started


def engine_for_prepared_stages(plan: RunPlan) -> RunPlan:
    """``plan``, moved to Beam's DirectRunner when it would run on several forked local workers
    but a prepared stage scores with a model (toxicity with its model loaded): the local engine
    scores in this process, with one worker."""
    scored = inference_analysis(plan.analyses)
    if plan.runner != LOCAL_RUNNER or scored is None or plan.workers == 1:
        return plan
    if not plan.runner_rule.startswith(AUTO_RUNNER):
        from corpus_audit.errors import UsageError

        raise UsageError(f"--runner {LOCAL_RUNNER} scores {scored.name} in this process, with one worker: "
                         f"use --workers 1, or --runner DirectRunner for {plan.workers} workers")
    return dataclasses.replace(plan, runner="DirectRunner",
                               runner_rule=f"auto: Beam's DirectRunner for {plan.workers} workers scoring {scored.name}",
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
