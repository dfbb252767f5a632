"""The output directory of a run: locked for the whole run, refused unless it is safely ours to
replace, cleared of a previous run's files only, and marked with the run's status.

See `corpus_audit.rundir.run_directory` for the manifest and `corpus_audit.rundir.lock` for
the lock. Exit codes:
0 done, 1 nothing analysed, 2 unusable arguments (nothing written or deleted), 3 the outputs
could not be written (disk full, permissions; the directory is marked incomplete), 4 a worker
process died or was stopped (SIGTERM, SIGKILL, out of memory; marked incomplete), and 128 +
the signal for a run that was stopped: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP. A stopped
run ends the same way whatever the signal: the manifest says ``interrupted``, the lock is
released, finished checkpoints are kept and a rerun resumes.

SIGTERM and SIGHUP are turned into that Ctrl-C path only for the length of a run, only in the
main thread, and only where they would otherwise kill the process outright (their handler is
the default): a signal the caller ignores (``nohup``) stays ignored, a handler the caller
installed is kept. After the first stop signal the next ones are ignored until the run has
cleaned up (stopped its workers, marked the manifest, released the lock); one that arrives
once the run has ended and is recording how (manifest, lock) is ignored.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from typing import Iterator

from corpus_audit.errors import WRITE_FAILURE_MESSAGES, UsageError
from corpus_audit.rundir.run_directory import RUN_OUTPUTS, RunDirectory, lock_directory
from corpus_audit.storage import delete, is_remote, write_bytes

__all__ = ["EXIT_INTERRUPTED", "EXIT_OUTPUT_ERROR", "EXIT_WORKER_LOST", "RUN_OUTPUTS", "STOP_SIGNALS",
           "OutputWriteError", "StopSignals", "Stopped", "locked_outputs", "output_write_error", "prepare_output_dir"]

#: The outputs could not be written (disk full, permission denied, read-only file system).
EXIT_OUTPUT_ERROR = 3
#: Stopped by Ctrl-C (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130
#: A worker process of the in-process engine died without reporting (killed, out of memory).
EXIT_WORKER_LOST = 4
#: Signals that stop a run the way Ctrl-C does (exit code 128 + the signal).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}
_NOT_COMPLETE = "the run is not complete (report refuses it; a rerun replaces it)"


class OutputWriteError(Exception):
    """The run's outputs could not be written; ``str()`` is the one line shown to the user."""


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) received during a run: unwinds like Ctrl-C."""


class StopSignals:
    """While entered (main thread only), `STOP_SIGNALS` raise `Stopped`; ``signum`` is the
    first one received (None if none). The previous handlers come back on exit."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}
        self._held = False

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        try:
            for number in STOP_SIGNALS:
                if signal.getsignal(number) is signal.SIG_DFL:  # ignored (nohup) or handled: theirs
                    self._previous[number] = signal.signal(number, self._stop)
        except BaseException:  # stopped already: the handlers set so far are given back
            self.__exit__()
            raise
        return self

    def hold(self) -> None:
        """From now on a stop signal is ignored (the run has ended and is recording how)."""
        self._held = True

    def _stop(self, signum: int, frame: object) -> None:
        if self._held:
            return
        if self.signum is None:
            self.signum = signum
        for number in self._previous:  # one stop: the cleanup it starts is not cut short by the next
            signal.signal(number, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """128 + the stop signal received, or `EXIT_INTERRUPTED` (Ctrl-C)."""
        return EXIT_INTERRUPTED if self.signum is None else 128 + self.signum

    @property
    def name(self) -> str:
        """How the run was stopped, for the console line."""
        return "Ctrl-C" if self.signum is None else signal.Signals(self.signum).name

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()


@contextlib.contextmanager
def locked_outputs(output_dir: str, checkpoint_dir: str | None) -> Iterator[None]:
    """Hold the output directory's lock (and the checkpoint directory's) for a whole run."""
    if not is_remote(output_dir) and os.path.lexists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"output path exists and is not a directory: {output_dir}")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock_directory(output_dir))
            if checkpoint_dir:
                stack.enter_context(lock_directory(checkpoint_dir))
        except OSError as exc:  # e.g. a file where a parent directory should be
            raise UsageError(f"output directory not writable: {exc.filename or output_dir} "
                             f"({exc.strerror or exc})") from None
        yield


def prepare_output_dir(run_directory: RunDirectory, overwrite: bool) -> None:
    """Refuse, or clear a previous run's files from, the output directory; check it is writable.

    The last step before a run starts: nothing is deleted before every other check has passed.
    """
    run_directory.prepare(overwrite)
    if run_directory.remote:
        return
    output_dir = run_directory.directory
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, ".corpus-audit-write-test")
        write_bytes(probe, b"ok", create_parents=False)
        delete(probe)
    except OSError as exc:
        raise UsageError(f"output directory not writable: {output_dir} ({exc.strerror or exc})") from exc


def output_write_error(exc: BaseException, output_dir: str) -> OutputWriteError | None:
    """An `OutputWriteError` when ``exc`` (or an exception it wraps, or a worker's error text) is a
    failure to write: the one line to show. None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _WRITE_ERRNOS:
            where = f" ({current.filename})" if current.filename else ""
            return OutputWriteError(f"cannot write the outputs in {output_dir}: {current.strerror or current}{where}; "
                                    f"{_NOT_COMPLETE}")
        current = current.__cause__ or current.__context__
    text = str(exc)
    for message in WRITE_FAILURE_MESSAGES:
        if message in text:
            return OutputWriteError(f"cannot write the outputs in {output_dir}: {message}; {_NOT_COMPLETE}")
    return None
