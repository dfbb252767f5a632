"""The in-process engine: the audit without Beam, on the launching machine.

What a DirectRunner run does, in plain Python and in the same steps: plan each input's splits,
read and analyse each work unit (`WorkUnitAnalyser`, the code the Beam DoFn runs), merge each
stage's per-unit accumulators and the accountings, write the skip records
(``skipped/skipped-SSSSS-of-NNNNN.jsonl``, the names Beam's ``WriteToText`` gives) and the
tables and ``summary.json`` (`write_results`). Accumulators are exact and merge in any order,
so the tables are byte-identical to a Beam run's (tests/test_determinism.py).

With ``workers`` > 1 the stages are set up once here, then the process forks that many worker
processes (`ForkedWorkers`): each inherits the loaded models and lexicons instead of
importing Beam and loading them again, takes units from a queue, writes its own documents and
skip files and sends back one merged partial per stage. That start-up costs milliseconds where
Beam's multi-process DirectRunner costs seconds per worker.

A stage scored by a model (toxicity) is scored here too, one batch at a time with the stage's
own model handler and the code the Beam engine runs after ``RunInference``
(`corpus_audit.engine.scoring`), in the launching process (one worker).

Why: ``import apache_beam`` alone costs about 2 s and building and running the graph about as
much again, most of a small run's wall time. Runs that need Beam keep it: Beam pipeline
options, a distributed runner, ``--dry-run`` (it validates the Beam graph) and several workers
scoring a model — see `corpus_audit.cli.plan.choose_runner`.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from typing import IO, Any, Callable, ContextManager, Iterable, Iterator

from corpus_audit.documents import ReadAccounting, WorkUnit
from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.engine.progress import Progress
from corpus_audit.readers import plan_splits
from corpus_audit.engine.results import ACCOUNTING_KEY, write_results
from corpus_audit.engine.scoring import InProcessScorer
from corpus_audit.rundir.summary import RunSummary
from corpus_audit.engine.work import ACCOUNTING_TAG, INFERENCE_TAG, SKIPPED_TAG, Tagged, WorkUnitAnalyser, limited_unit
from corpus_audit.storage import AtomicFile, join
from corpus_audit.transforms.base import Analysis

__all__ = ["WorkerProcessError", "run_in_process", "skipped_file", "work_units"]

#: Seconds between a waiting process' checks that the other side is still alive.
POLL_SECONDS = 0.5
#: Seconds a worker gets to clean up (abort its temporary files) after being asked to stop.
STOP_GRACE_SECONDS = 10.0
#: Signals a worker handles itself (Ctrl-C and a hang-up: ignored; SIGTERM: abort and exit).
_WORKER_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class WorkerProcessError(RuntimeError):
    """A worker process of the in-process engine died without reporting (killed, out of memory)."""


def skipped_file(output_dir: str, index: int, count: int) -> str:
    """``skipped/skipped-SSSSS-of-NNNNN.jsonl``: the ``index``-th of ``count`` skip files."""
    return join(output_dir, "skipped", f"skipped-{index:05d}-of-{count:05d}.jsonl")


def work_units(config: AuditConfig) -> Iterator[WorkUnit]:
    """The run's units of work, as the Beam graph makes them: one per split, or with
    ``--limit`` one holding every split."""
    splits = (split for item in config.inputs for split in plan_splits(item, config.read_config))
    if config.limit is None:
        for split in splits:
            yield WorkUnit((split,))
    else:
        yield limited_unit(list(splits), config.limit)


def run_in_process(config: AuditConfig, workers: int = 1,
                   fork_guard: Callable[[], ContextManager[Any]] | None = None) -> RunSummary:
    """Run the audit of ``config`` here (``workers`` > 1: in forked worker processes); the
    summary written to ``summary.json``. ``fork_guard``: a context manager the forks happen in
    (`RunProgress.quiescent`, which holds the progress thread between two polls)."""
    analyser = WorkUnitAnalyser(config)
    if analyser.inference is not None and workers > 1:
        raise ValueError("a stage scored by a model runs in this process: one worker (or Beam for several)")
    analyser.setup()
    scorer = InProcessScorer(config, analyser.schema) if analyser.inference is not None else None
    totals = _Totals(config.analyses, scorer)
    if workers == 1:
        with _SkipWriter(skipped_file(config.output_dir, 0, 1)) as skipped:
            for unit in work_units(config):
                totals.add(analyser.process(unit), skipped)
    else:
        with ForkedWorkers(analyser, config.output_dir, workers, fork_guard) as pool:
            for partial in pool.run(work_units(config)):
                totals.merge(partial)
    return write_results(config, totals.aggregates())


class _Totals:
    """Each stage's accumulator and the accountings, as units' outputs come in."""

    def __init__(self, analyses: Iterable[Analysis], scorer: InProcessScorer | None = None) -> None:
        self.scorer = scorer
        self.combine_fns = {analysis.name: analysis.combine_fn() for analysis in analyses}
        self.accumulators = {name: fn.create_accumulator() for name, fn in self.combine_fns.items()}
        self.accountings: list[ReadAccounting] = []

    def add(self, outputs: Iterable[Tagged], skipped: "_SkipWriter") -> None:
        """Take one unit's outputs: skips to ``skipped``, partials and accounting merged here."""
        for output in outputs:
            if output.tag == SKIPPED_TAG:
                skipped.write(output.value)
            elif output.tag == ACCOUNTING_TAG:
                self.accountings.append(output.value)
            elif output.tag == INFERENCE_TAG:  # a batch to score (a model stage; one worker)
                assert self.scorer is not None, "inference element without a scorer"
                self._merge(self.scorer.writer.analysis.name, self.scorer.score(output.value))
            else:  # a stage's partial accumulator over the unit
                self._merge(output.tag, output.value)

    def _merge(self, name: str, accumulator: Any) -> None:
        fn = self.combine_fns[name]
        self.accumulators[name] = fn.merge_accumulators([self.accumulators[name], accumulator])

    def merge(self, other: dict[str, Any]) -> None:
        """Take a worker's totals (`partial`)."""
        for name, accumulator in other["accumulators"].items():
            fn = self.combine_fns[name]
            self.accumulators[name] = fn.merge_accumulators([self.accumulators[name], accumulator])
        self.accountings.extend(other["accountings"])

    def partial(self) -> dict[str, Any]:
        return {"accumulators": self.accumulators, "accountings": [ReadAccounting.total(self.accountings)]}

    def aggregates(self) -> dict[str, Any]:
        aggregates: dict[str, Any] = {name: self.combine_fns[name].extract_output(accumulator)
                                      for name, accumulator in self.accumulators.items()}
        aggregates[ACCOUNTING_KEY] = ReadAccounting.total(self.accountings)
        return aggregates


class ForkedWorkers:
    """``count`` forked worker processes that analyse units from a queue.

    Each child ignores Ctrl-C and SIGHUP (the launcher handles them and stops it), turns
    SIGTERM into an exit that aborts its open files (a second SIGTERM cannot cut that short),
    leaves when the launcher is gone, and reports once: its merged totals, or its exception —
    a `WorkerProcessError` when it was stopped by SIGTERM. The launcher notices a child that
    dies without reporting.
    """

    def __init__(self, analyser: WorkUnitAnalyser, output_dir: str, count: int,
                 fork_guard: Callable[[], ContextManager[Any]] | None = None) -> None:
        self.analyser = analyser
        self.output_dir = output_dir
        self.count = count
        self.fork_guard = fork_guard or contextlib.nullcontext
        self._context = multiprocessing.get_context("fork")
        self._tasks: Any = None
        self._results: Any = None
        self._processes: list[Any] = []

    def __enter__(self) -> "ForkedWorkers":
        self._tasks = self._context.Queue()
        self._results = self._context.Queue()
        parent = os.getpid()
        # Forked with the stop signals blocked: a child holds them until it has its own
        # handlers (else a SIGTERM just after the fork would run the launcher's handler there).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
        try:
            with self.fork_guard():
                for index in range(self.count):
                    process = self._context.Process(target=self._child, args=(index, parent, mask),
                                                    name=f"corpus-audit-worker-{index}", daemon=True)
                    process.start()
                    self._processes.append(process)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal that came meanwhile is handled here
        except BaseException:  # e.g. stopped while forking: stop the workers already started
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self.__exit__(*sys.exc_info())
            raise
        return self

    def run(self, units: Iterable[WorkUnit]) -> Iterator[dict[str, Any]]:
        """Hand out ``units``; yield each worker's totals as it finishes."""
        for unit in units:
            self._tasks.put(unit)
        for _ in self._processes:
            self._tasks.put(None)  # one "no more work" per worker
        pending = set(range(self.count))
        quiet_polls_after_end = dict.fromkeys(pending, 0)
        while pending:
            try:
                kind, index, payload = self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._check_alive(pending, quiet_polls_after_end)
                continue
            pending.discard(index)
            if kind == "error":
                exception, text = payload
                if hasattr(exception, "add_note"):
                    exception.add_note(f"in worker process {index}:\n{text}")
                raise exception
            yield payload

    def _check_alive(self, pending: set[int], quiet_polls_after_end: dict[int, int]) -> None:
        """Raise for a pending worker that ended and whose report did not follow: a report is
        flushed before a worker exits, so it arrives within a poll of the end."""
        for index in sorted(pending):
            code = self._processes[index].exitcode
            if code is None:
                continue
            quiet_polls_after_end[index] += 1
            if quiet_polls_after_end[index] >= 2:
                raise WorkerProcessError(
                    f"worker process {index} of {self.count} ended with exit code {code} before finishing "
                    f"(killed, or out of memory?); the run is incomplete")

    def __exit__(self, exc_type: Any, exc: Any, traceback_: Any) -> None:
        if exc_type is None:
            # Every worker has reported and is ending on its own: a SIGTERM now would land in
            # the middle of its exit (flushing its queue) instead of stopping any work.
            self._join_within(STOP_GRACE_SECONDS)
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the child exits through its context managers
        self._join_within(STOP_GRACE_SECONDS)
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()
        for channel in (self._tasks, self._results):
            if channel is None:
                continue
            if exc_type is not None:
                channel.cancel_join_thread()  # never wait on items nobody will read
            channel.close()
            if exc_type is None:
                channel.join_thread()  # every unit was taken: its feeder thread ends now

    def _join_within(self, seconds: float) -> None:
        """Wait up to ``seconds`` in all (one grace period for every worker, not one each)."""
        deadline = time.monotonic() + seconds
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))

    # -- in the child --------------------------------------------------------------------------
    def _child(self, index: int, parent: int, mask: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a hang-up reaches the whole group: the launcher stops us
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # blocked since the fork: now ours to handle
        _terminate_with_parent()
        analyser = self.analyser
        analyser._progress = Progress()  # its own progress file (the launcher's was created before the fork)
        totals = _Totals(analyser.analyses)
        try:
            with _SkipWriter(skipped_file(self.output_dir, index, self.count)) as skipped:
                while True:
                    try:
                        unit = self._tasks.get(timeout=POLL_SECONDS)
                    except queue.Empty:
                        if os.getppid() != parent:
                            os._exit(1)  # the launcher is gone: nobody will read the results
                        continue
                    if unit is None:
                        break
                    if os.getppid() != parent:
                        os._exit(1)
                    totals.add(analyser.process(unit), skipped)
            report: tuple[str, int, Any] = ("done", index, totals.partial())
        except _Stopped as exc:
            stopped = WorkerProcessError(f"worker process {index} of {self.count} was stopped by {exc.name} before "
                                         "finishing; the run is incomplete")
            report = ("error", index, (stopped, traceback.format_exc()))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the launcher
            report = ("error", index, (_portable(exc), traceback.format_exc()))
        self._results.put(report)
        self._results.close()
        self._results.join_thread()  # flushed before the process ends


class _Stopped(SystemExit):
    """A worker's SIGTERM: unwinds the worker (its files are aborted), exit code 128 + 15."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.name = signal.Signals(signum).name


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signum, signal.SIG_IGN)  # once: the aborts it starts are not interrupted by the next
    raise _Stopped(signum)


def _terminate_with_parent() -> None:
    """Linux: have the kernel send this process SIGTERM when the launcher dies (``kill -9``
    included), so no orphan goes on writing into the run directory. Elsewhere the worker checks
    its parent between units."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the between-units check remains
        pass


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling to the launcher, else a RuntimeError naming it."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class _SkipWriter:
    """Streams skip records (one sorted-keys JSON object per line, as the Beam graph writes
    them) to a temporary name, renamed to ``path`` when reading is done."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._atomic = AtomicFile(path)
        self._file: IO[bytes] | None = None

    def __enter__(self) -> "_SkipWriter":
        self._file = self._atomic.open()
        return self

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")

    def __exit__(self, exc_type: Any, exc: Any, traceback_: Any) -> None:
        if exc_type is None:
            self._atomic.publish()
        else:
            self._atomic.abort()
