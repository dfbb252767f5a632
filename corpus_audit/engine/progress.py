"""Progress of a whole run on one line: files and bytes done of the total known at planning,
documents/s, ETA, and splits restored from checkpoints.

Two halves, joined through a folder of small files, so the same code serves one worker and a
multi-process DirectRunner (whose workers are other processes on this machine):

* each worker's `Progress` (created in the audit DoFn's ``setup``) counts documents and bytes
  as it reads (`Progress.update`) and the splits it finishes (`Progress.split_done`), and when
  ``CORPUS_AUDIT_PROGRESS_DIR`` is set rewrites ``<dir>/<pid>-<id>.json`` at most once a second
  (one small atomic file write: the cost is measured in-band, ``overhead_seconds``);
* the launcher's `RunProgress` (a context manager around ``pipeline.run()``) sets that variable
  to a temporary folder, polls it every ``poll_seconds`` and prints the sum: a live line
  (tqdm) on a terminal, a plain line every 10 s otherwise, and a last line at the end.

Without the variable (Dataflow workers, a pipeline built outside the CLI) a worker prints
its own line every 10 s instead, as before.

A remote read that waits for its server (`corpus_audit.remote`'s wait listener, about once a
second) is written to the worker's file too, and the line then ends with ``waiting for HOST
(N s)`` once the wait passes `WAIT_SHOWN_SECONDS`: a stalled server is named, not silent.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator

from corpus_audit.storage import write_bytes

__all__ = ["PROGRESS_DIR_ENV", "PROGRESS_EVERY_SECONDS", "WAIT_SHOWN_SECONDS", "Progress", "ProgressTotals",
           "RunProgress", "Snapshot", "format_line", "input_totals", "read_worker_files"]

PROGRESS_EVERY_SECONDS = 10.0
#: The folder workers write their progress files to (set by `RunProgress`).
PROGRESS_DIR_ENV = "CORPUS_AUDIT_PROGRESS_DIR"
#: A worker rewrites its file at most this often.
WRITE_EVERY_SECONDS = 1.0
#: A remote read blocked this long is named on the line ("waiting for HOST (N s)").
WAIT_SHOWN_SECONDS = 3.0


class Progress:
    """One worker's counts: documents and bytes read, splits finished (analysed / restored).

    Writes them to its progress file when the launcher asked for one, else prints its own line
    every `PROGRESS_EVERY_SECONDS`.
    """

    def __init__(self, directory: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.last = self.started
        self.documents = 0
        self.bytes = 0
        #: Paths (and split ranges) finished: ``[path, row_start, row_stop]``.
        self.splits: list[list[Any]] = []
        self.splits_restored = 0
        self.overhead_seconds = 0.0
        self.directory = directory if directory is not None else os.environ.get(PROGRESS_DIR_ENV)
        self._path = (os.path.join(self.directory, f"{os.getpid()}-{uuid.uuid4().hex[:12]}.json")
                      if self.directory else None)
        #: ``(host, seconds)`` of this worker's remote read waiting for its server, or None.
        self.waiting: tuple[str, float] | None = None
        from corpus_audit import remote

        remote.set_wait_listener(self.waited)

    def waited(self, host: str | None, seconds: float) -> None:
        """A remote read has waited ``seconds`` for ``host`` (None: it has data again)."""
        self.waiting = None if host is None else (host, round(seconds, 1))
        self._report(force=host is None)

    def update(self, documents: int, nbytes: int) -> None:
        """Count ``documents`` more documents of ``nbytes`` bytes; report when due."""
        self.documents += documents
        self.bytes += nbytes
        self._report(force=False)

    def split_done(self, path: str, row_start: int | None = None, row_stop: int | None = None,
                   restored: bool = False) -> None:
        """A split of ``path`` is finished (``restored``: from its checkpoint)."""
        self.splits.append([path, row_start, row_stop])
        self.splits_restored += int(restored)
        self._report(force=True)

    def _report(self, force: bool) -> None:
        now = self._clock()
        if self._path is None:
            if now - self.last >= PROGRESS_EVERY_SECONDS:
                self.last = now
                elapsed = max(now - self.started, 1e-9)
                print(f"corpus-audit: {self.documents:,} documents, {self.bytes / 1e6:,.1f} MB read "
                      f"({self.bytes / 1e6 / elapsed:,.2f} MB/s, {self.documents / elapsed:,.0f} docs/s this worker)",
                      file=sys.stderr, flush=True)
            return
        if not force and now - self.last < WRITE_EVERY_SECONDS:
            return
        self.last = now
        began = time.perf_counter()
        self._write()
        self.overhead_seconds += time.perf_counter() - began

    def _write(self) -> None:
        payload = {"documents": self.documents, "bytes": self.bytes, "splits": self.splits,
                   "splits_restored": self.splits_restored, "overhead_seconds": round(self.overhead_seconds, 6),
                   "seconds": round(self._clock() - self.started, 3),
                   "waiting": list(self.waiting) if self.waiting else None}
        try:
            write_bytes(self._path, json.dumps(payload).encode("utf-8"), create_parents=False)
        except OSError:  # the launcher removed the folder (run over): nothing left to tell
            self._path = None if not os.path.isdir(self.directory or "") else self._path

    def flush(self) -> None:
        """Write the final counts now (the end of a bundle)."""
        if self._path is not None:
            self._write()


@dataclass(frozen=True)
class ProgressTotals:
    """What planning knows: each input file's size in bytes (None when unknown), and how many
    splits a file read in row ranges has (absent: read whole, one split)."""

    sizes: dict[str, int | None]
    splits: dict[str, int] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return len(self.sizes)

    @property
    def bytes(self) -> int:
        return sum(size or 0 for size in self.sizes.values())


def input_totals(paths: Iterable[str]) -> ProgressTotals:
    """Sizes of the input files (local ``stat``; remote: one listing each; unknown → None)."""
    sizes: dict[str, int | None] = {}
    for path in paths:
        try:
            if "://" not in path:
                sizes[path] = _dir_size(path) if os.path.isdir(path) else os.path.getsize(path)
            else:
                from corpus_audit import remote

                if remote.listed(path):  # planning listed it: no second request
                    sizes[path] = remote.known_size(path)
                elif remote.handles(path):
                    found = remote.expand(path)
                    sizes[path] = found[0].size if len(found) == 1 else None
                else:
                    from apache_beam.io.filesystems import FileSystems

                    sizes[path] = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        except Exception:  # noqa: BLE001 - progress never fails a run
            sizes[path] = None
    return ProgressTotals(sizes)


def _dir_size(path: str) -> int:
    """A saved HF dataset directory: the bytes of its files."""
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


@dataclass
class Snapshot:
    """The sum of every worker's progress file at one moment."""

    documents: int = 0
    bytes: int = 0
    splits: list[list[Any]] = field(default_factory=list)
    splits_restored: int = 0
    overhead_seconds: float = 0.0
    worker_seconds: float = 0.0
    workers: int = 0
    #: ``(host, seconds)`` of each remote read waiting for its server.
    waiting: list[tuple[str, float]] = field(default_factory=list)


def read_worker_files(directory: str) -> Snapshot:
    """Sum the progress files in ``directory`` (a file being replaced is skipped this time)."""
    snapshot = Snapshot()
    try:
        names = [name for name in os.listdir(directory) if name.endswith(".json")]
    except OSError:
        return snapshot
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        snapshot.documents += int(data.get("documents", 0))
        snapshot.bytes += int(data.get("bytes", 0))
        snapshot.splits.extend(data.get("splits", []))
        snapshot.splits_restored += int(data.get("splits_restored", 0))
        snapshot.overhead_seconds += float(data.get("overhead_seconds", 0.0))
        snapshot.worker_seconds += float(data.get("seconds", 0.0))
        snapshot.workers += 1
        waiting = data.get("waiting")
        if isinstance(waiting, list) and len(waiting) == 2:
            snapshot.waiting.append((str(waiting[0]), float(waiting[1])))
    return snapshot


def _files_done(snapshot: Snapshot, totals: ProgressTotals) -> tuple[int, float]:
    """(files finished, bytes done): a file read whole is done with its split; a file split
    into row ranges counts ``size * ranges done / ranges`` (`ProgressTotals.splits`, known once
    the launcher has planned them; until then one range)."""
    finished: dict[str, int] = {}
    for path, _start, _stop in snapshot.splits:
        finished[path] = finished.get(path, 0) + 1
    files, done = 0, 0.0
    for path, count in finished.items():
        if path not in totals.sizes:
            continue
        splits = max(totals.splits.get(path, 1), 1)
        fraction = min(count / splits, 1.0)
        files += fraction >= 1.0
        done += (totals.sizes[path] or 0) * fraction
    return files, done


#: The ETA is shown once this share of the input is done (earlier, set-up time dominates it).
ETA_AFTER_SHARE = 0.02


def format_line(snapshot: Snapshot, totals: ProgressTotals, elapsed: float, final: bool = False,
                reading_since: float = 0.0) -> str:
    """``files 3/10, 120.0/512.0 MB of input files, 45,000 documents (1,234 docs/s), ETA 2m10s; ...``

    The MB are the input files' sizes as stored (compressed ones too); the run's summary counts MB
    of text. ``reading_since``: the seconds of ``elapsed`` before the first bytes were read (set-up,
    model loading), left out of the ETA's rate."""
    files, done_bytes = _files_done(snapshot, totals)
    rate = snapshot.documents / elapsed if elapsed > 0 else 0.0
    parts = [f"files {files}/{totals.files}"]
    if totals.bytes:
        parts.append(f"{done_bytes / 1e6:,.1f}/{totals.bytes / 1e6:,.1f} MB of input files")
    parts.append(f"{snapshot.documents:,} documents ({rate:,.0f} docs/s)")
    reading = max(elapsed - reading_since, 0.0)
    if not final and totals.bytes and ETA_AFTER_SHARE * totals.bytes <= done_bytes < totals.bytes and reading > 0:
        parts.append(f"ETA {_duration(reading * (totals.bytes - done_bytes) / done_bytes)}")
    line = "corpus-audit: " + ", ".join(parts)
    if snapshot.splits_restored:
        line += f"; restored {snapshot.splits_restored:,} split(s) from checkpoints"
    return line + ("" if final else _waiting_words(snapshot.waiting))


def _waiting_words(waiting: list[tuple[str, float]]) -> str:
    """``; waiting for HOST (N s)`` for the reads blocked at least `WAIT_SHOWN_SECONDS` (longest per host)."""
    longest: dict[str, float] = {}
    for host, seconds in waiting:
        if seconds >= WAIT_SHOWN_SECONDS:
            longest[host] = max(seconds, longest.get(host, 0.0))
    if not longest:
        return ""
    shown = sorted(longest.items(), key=lambda item: (-item[1], item[0]))
    return "; waiting for " + ", ".join(f"{host} ({int(seconds)} s)" for host, seconds in shown)


def _blocked_here() -> list[tuple[str, float]]:
    """Remote reads of this process blocked now (the in-process engine's, from any client)."""
    from corpus_audit import remote

    return remote.blocked_reads()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class RunProgress:
    """The launcher's side: a temporary folder for the workers' files, a polling thread, one line.

    ``with RunProgress(input_paths, enabled=not quiet): result = pipeline.run(); result.wait_until_finish()``

    ``split_counts``: called once in the polling thread, the number of splits of each file
    read in row ranges (``{path: len(plan_splits(item, read_config))}``).
    """

    def __init__(self, input_paths: Iterable[str] | ProgressTotals, enabled: bool = True,
                 stream: IO[str] | None = None, poll_seconds: float = 1.0,
                 every_seconds: float = PROGRESS_EVERY_SECONDS, tty: bool | None = None,
                 split_counts: Callable[[], dict[str, int]] | None = None) -> None:
        self.enabled = enabled
        self._split_counts = split_counts
        self.totals = input_paths if isinstance(input_paths, ProgressTotals) else (
            input_totals(input_paths) if enabled else ProgressTotals({}))
        self.stream = stream if stream is not None else sys.stderr
        self.poll_seconds = poll_seconds
        self.every_seconds = every_seconds
        self.tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.directory: str | None = None
        self.lines: list[str] = []
        self.last: Snapshot = Snapshot()
        self._reading_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Held by the polling thread while it works (reads files, prints): see `quiescent`.
        self._busy = threading.Lock()
        self._previous_env: str | None = None
        self._bar: Any = None
        self._started = 0.0

    def __enter__(self) -> "RunProgress":
        if not self.enabled:
            return self
        self.directory = tempfile.mkdtemp(prefix="corpus-audit-progress-")
        self._previous_env = os.environ.get(PROGRESS_DIR_ENV)
        os.environ[PROGRESS_DIR_ENV] = self.directory
        self._started = time.monotonic()
        if self.tty:
            self._bar = _make_bar(self.totals, self.stream)
        self._thread = threading.Thread(target=self._poll, name="corpus-audit-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if not self.enabled or self.directory is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if exc_type is None:
            self._show(read_worker_files(self.directory), final=True)
        if self._bar is not None:
            self._bar.close()
        if self._previous_env is None:
            os.environ.pop(PROGRESS_DIR_ENV, None)
        else:
            os.environ[PROGRESS_DIR_ENV] = self._previous_env
        shutil.rmtree(self.directory, ignore_errors=True)

    @contextlib.contextmanager
    def quiescent(self) -> Iterator[None]:
        """Keep the polling thread between two polls while the block runs: the in-process
        engine forks its worker processes in one, so that no child starts with a lock (the
        console's, tqdm's) that this thread held in the middle of a line."""
        with self._busy:
            yield

    def _poll(self) -> None:
        with self._busy:
            if self._split_counts is not None:  # e.g. Parquet row-group ranges: read here, off the run's path
                try:
                    self.totals = ProgressTotals(self.totals.sizes, dict(self._split_counts()))
                except Exception:  # noqa: BLE001 - progress never fails a run
                    pass
        last_line = time.monotonic()
        while not self._stop.wait(self.poll_seconds):
            with self._busy:
                snapshot = read_worker_files(self.directory)
                snapshot.waiting.extend(_blocked_here())
                if self.tty:
                    self._show(snapshot)
                elif time.monotonic() - last_line >= self.every_seconds:
                    last_line = time.monotonic()
                    self._show(snapshot)

    def _show(self, snapshot: Snapshot, final: bool = False) -> None:
        self.last = snapshot
        elapsed = time.monotonic() - self._started
        if self._reading_since is None and (snapshot.bytes or snapshot.documents):
            self._reading_since = elapsed  # the first input read: set-up before it is not reading time
        line = format_line(snapshot, self.totals, elapsed, final, self._reading_since or 0.0)
        self.lines.append(line)
        if self._bar is not None:
            _, done_bytes = _files_done(snapshot, self.totals)
            self._bar.n = done_bytes if self.totals.bytes else snapshot.documents
            self._bar.set_description_str(line.removeprefix("corpus-audit: "), refresh=True)
        else:
            print(line, file=self.stream, flush=True)

    @property
    def overhead_fraction(self) -> float:
        """Workers' time in progress reporting over their time reading and analysing."""
        return self.last.overhead_seconds / self.last.worker_seconds if self.last.worker_seconds else 0.0


def _make_bar(totals: ProgressTotals, stream: IO[str]) -> Any:
    """A tqdm bar (bytes when sizes are known), or None without tqdm (plain lines then)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    try:  # a terminal that tells its width: follow it; one that does not (or a pipe): 100 columns
        os.get_terminal_size(stream.fileno())
        width: dict[str, Any] = {"dynamic_ncols": True}
    except (AttributeError, OSError, ValueError):
        width = {"ncols": 100}
    return tqdm(total=totals.bytes or None, file=stream, unit="B", unit_scale=True, bar_format="{desc} {bar}",
                leave=True, **width)
