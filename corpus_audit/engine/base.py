"""The `Engine` interface: what runs a planned audit, and the two engines behind it.

Every engine runs the same per-document work (`corpus_audit.engine.work.WorkUnitAnalyser`), the
same scoring (`corpus_audit.engine.scoring`) and writes the same results
(`corpus_audit.engine.results.write_results`): only how work units are spread differs.

* `LocalEngine`: in this process, or in forked worker processes (`corpus_audit.engine.local`);
  no Beam import.
* `BeamEngine`: an Apache Beam pipeline (`corpus_audit.engine.assembly`) on any runner —
  DirectRunner, PortableRunner (the Fn API path of Flink, Spark and Dataflow Runner v2),
  DataflowRunner.

The launcher calls, in order: `Engine.validate` (before any output is touched: Beam checks its
options here), then either `Engine.dry_run` or `Engine.run`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from typing import Any, Callable, ContextManager, Iterator

from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.errors import WRITE_FAILURE_MESSAGES

__all__ = ["BeamEngine", "Engine", "LocalEngine", "engine_for"]

#: The ``runner`` of the in-process engine.
LOCAL = "local"


class Engine(ABC):
    """Runs an `AuditConfig`: reads and analyses every input, merges, writes tables and summary."""

    #: How ``summary.json`` names the engine (``settings.runner``).
    runner: str

    def validate(self) -> None:
        """Check the engine can run, before the output directory is touched (`UsageError`)."""

    def dry_run(self, config: AuditConfig) -> str:
        """Build and check the job without running it; the summary to print."""
        raise NotImplementedError(f"{self.runner} has no dry run")

    @abstractmethod
    def run(self, config: AuditConfig, fork_guard: Callable[[], ContextManager[Any]] | None = None) -> None:
        """Run the audit to its end. ``fork_guard``: held while worker processes are forked."""


class LocalEngine(Engine):
    """The in-process engine: ``workers`` == 1 in this process, else forked worker processes."""

    runner = LOCAL

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, config: AuditConfig, fork_guard: Callable[[], ContextManager[Any]] | None = None) -> None:
        from corpus_audit.engine.local import run_in_process

        run_in_process(config, self.workers, fork_guard=fork_guard)


class BeamEngine(Engine):
    """An Apache Beam pipeline with the given ``PipelineOptions`` (its runner among them)."""

    def __init__(self, runner: str, options: Any, dry: bool = False) -> None:
        self.runner = runner
        self.options = options
        self.dry = dry
        self._pipeline: Any = None

    def validate(self) -> None:
        from corpus_audit.engine import dataflow

        self._pipeline = dataflow.make_pipeline(self.options, self.dry)  # Beam validates the options here

    def _build(self, config: AuditConfig) -> Any:
        from corpus_audit.engine.assembly import build_pipeline

        if self._pipeline is None:
            self.validate()
        quiet_beam_logging()
        build_pipeline(self._pipeline, config)
        return self._pipeline

    def dry_run(self, config: AuditConfig) -> str:
        from corpus_audit.engine import dataflow

        pipeline = self._build(config)
        return dataflow.format_summary(dataflow.dry_run(pipeline, self.options, config))

    def run(self, config: AuditConfig, fork_guard: Callable[[], ContextManager[Any]] | None = None) -> None:
        with private_tempdir():
            result = self._build(config).run()
            result.wait_until_finish()


@contextlib.contextmanager
def private_tempdir() -> Iterator[str]:
    """A temporary folder of this run's own as every temporary folder (``tempfile``'s, and
    ``TMPDIR`` for worker processes), removed afterwards: Beam leaves folders of its own in the
    system's (``beam-temp*``, ``beam-requirements-cache``, ...), and a run leaves nothing there."""
    previous_env, previous_default = os.environ.get("TMPDIR"), tempfile.tempdir
    directory = tempfile.mkdtemp(prefix="corpus-audit-")
    os.environ["TMPDIR"], tempfile.tempdir = directory, directory
    try:
        yield directory
    finally:
        tempfile.tempdir = previous_default
        if previous_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_env
        shutil.rmtree(directory, ignore_errors=True)  # made above: holds only what the run put there


def engine_for(runner: str, workers: int, options: Any, dry_run: bool = False) -> Engine:
    """The engine of a planned run: `LocalEngine` for the ``local`` runner, else `BeamEngine`."""
    if runner == LOCAL:
        return LocalEngine(workers)
    return BeamEngine(runner, options, dry_run)


class HandledErrorFilter(logging.Filter):
    """Drops Beam's logged tracebacks of the faults the CLI reports in one line itself
    (Ctrl-C, a full disk, a read-only output): the user sees that line, not a worker's traceback."""

    messages = WRITE_FAILURE_MESSAGES

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("apache_beam"):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt):
            return False
        text = record.getMessage()
        return not any(marker in text for marker in ("KeyboardInterrupt", *self.messages))


def quiet_beam_logging() -> None:
    """Beam's own logging down to warnings, without the tracebacks the CLI reports in one line."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # Worker start-up chatter of the multi-process DirectRunner, not about the audit.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    if not logging.getLogger().handlers:
        logging.basicConfig()  # what Beam would set up; here so the filter below sits on it
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, HandledErrorFilter) for f in handler.filters):
            handler.addFilter(HandledErrorFilter())
