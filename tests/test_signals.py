"""Stop signals (issue 28): SIGTERM and SIGHUP end a run the way Ctrl-C does, and a worker
stopped by SIGTERM ends the run with one clear line.

However a run is stopped, what it leaves is clean: the manifest is no longer ``running``, the
lock is gone, and no temporary file (``*.tmp``) is left anywhere under ``--output``.

The runs here use the slow counting stage (tests/fake_stages.py: it sleeps per batch), so a
run is still going when the signal arrives; the tests wait for what they need (the manifest
``running``, the workers forked), never for a fixed time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SENTENCES, child_processes, process_alive, write_jsonl

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: ``corpus-audit`` with the slow counting stage registered, in a process of its own.
SLOW_CLI = ("import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
            "sys.path.insert(0, sys.argv[1]); from fake_stages import SlowStage; "
            "from corpus_audit import transforms; transforms.STAGES['counting'] = SlowStage; "
            "from corpus_audit.cli import main; sys.exit(main(sys.argv[2:]))")
MANIFEST = "corpus-audit-run.json"
LOCK = "corpus-audit.lock"

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")


def _status(out: Path) -> str | None:
    try:
        return json.loads((out / MANIFEST).read_text()).get("status")
    except (OSError, ValueError):
        return None


def _start(tmp_path: Path, workers: int) -> tuple[subprocess.Popen, Path]:
    """A slow run into ``tmp_path/out``, once it has marked its output ``running`` (and, with
    ``workers`` > 1, forked them)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shards = [write_jsonl(corpus / f"shard-{s}.jsonl", [{"id": f"{s}-{i}", "text": SENTENCES["en"] + f" {s} {i}"}
                                                         for i in range(12)]) for s in range(6)]
    out = tmp_path / "out"
    env = {**os.environ, "CORPUS_AUDIT_TEST_SLEEP": "0.25", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, str(TESTS), "run", *map(str, shards), "--output", str(out),
         "--stages", "langid,counting", "--batch-documents", "3", "--workers", str(workers), "--runner", "local",
         "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _status(out) == "running" and len(child_processes(process.pid)) >= (workers if workers > 1 else 0):
            return process, out
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"the run did not get going: {process.poll()} {process.stderr.read()[-2000:]!r}")


def _wait(process: subprocess.Popen, timeout: float = 60) -> str:
    """The stopped run's stderr once it has ended; if it hangs, fail with every process'
    Python stacks (faulthandler, on SIGUSR1) so the hang can be diagnosed."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *child_processes(process.pid)]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)
        time.sleep(2)  # for the dumps to be written (diagnostics only, after the failure)
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"the run did not end after the signal:\n{process.communicate()[1][-20000:]}") from None


def _assert_clean(out: Path, status: str) -> None:
    assert _status(out) == status
    assert not (out / LOCK).exists()
    assert not list(out.rglob("*.tmp")), list(out.rglob("*.tmp"))
    assert not (out / "summary.json").exists()


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("corpus-audit: ")]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    return lines[-1]


@pytest.mark.parametrize("signum, workers, group", [
    (signal.SIGTERM, 1, False),  # kill PID
    (signal.SIGTERM, 2, False),  # the launcher stops its workers
    (signal.SIGTERM, 2, True),  # a service manager: every process of the run at once
    (signal.SIGHUP, 2, True),  # the terminal went away: its whole process group
], ids=["SIGTERM", "SIGTERM-workers", "SIGTERM-group", "SIGHUP-group"])
def test_a_stop_signal_ends_the_run_like_ctrl_c(tmp_path: Path, signum: int, workers: int, group: bool) -> None:
    process, out = _start(tmp_path, workers)
    forked = child_processes(process.pid)
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stderr = _wait(process)
    assert process.returncode == 128 + signum, stderr  # 143 SIGTERM, 129 SIGHUP
    assert _last_line(stderr).startswith(f"corpus-audit: interrupted ({signal.Signals(signum).name})"), stderr
    _assert_clean(out, "interrupted")
    assert not any(process_alive(pid) for pid in forked)


def test_a_worker_stopped_by_sigterm_fails_the_run_with_one_clear_line(tmp_path: Path) -> None:
    process, out = _start(tmp_path, workers=2)
    victim, *others = child_processes(process.pid)
    os.kill(victim, signal.SIGTERM)
    stderr = _wait(process)
    assert process.returncode == 4, stderr
    line = _last_line(stderr)
    assert line.startswith("corpus-audit: error: worker process ") and "SIGTERM" in line, stderr
    _assert_clean(out, "incomplete")
    assert not any(process_alive(pid) for pid in others)


def test_a_run_refused_after_locking_leaves_no_directory(tmp_path: Path) -> None:
    """``--require-toxicity`` without a model is refused once the directories are locked
    (the model is loaded then): neither the output nor the checkpoint directory stays."""
    shard = write_jsonl(tmp_path / "a.jsonl", [{"id": "1", "text": SENTENCES["en"]}])
    out, checkpoints = tmp_path / "new" / "out", tmp_path / "ck" / "deep"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "corpus_audit", "run", str(shard), "--output", str(out), "--checkpoint-dir",
         str(checkpoints), "--stages", "langid,toxicity", "--require-toxicity", "--toxicity-model",
         str(tmp_path / "no-model"), "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--require-toxicity" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]


def test_an_interruption_just_after_a_temporary_file_is_created_removes_it(tmp_path: Path, monkeypatch) -> None:
    """A stop signal lands once ``open`` has created the temporary file, before AtomicFile
    holds it: the file is removed all the same (it is this writer's: a name of its own)."""
    import builtins

    from corpus_audit import storage

    def open_then_interrupted(*args, **kwargs):
        handle = builtins.open(*args, **kwargs)
        handle.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(storage, "open", open_then_interrupted, raising=False)
    for attempt in range(2):
        with pytest.raises(KeyboardInterrupt):
            if attempt == 0:
                storage.AtomicFile(str(tmp_path / "a.csv")).open()
            else:
                with storage.AtomicFile(str(tmp_path / "b.csv")):
                    pytest.fail("entered")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signals_unwind_once_then_give_the_handlers_back(signum: int) -> None:
    from corpus_audit.cli.outputs import StopSignals, Stopped

    before = signal.getsignal(signum)
    assert before is signal.SIG_DFL
    with StopSignals() as stop:
        with pytest.raises(Stopped):
            signal.raise_signal(signum)
        signal.raise_signal(signum)  # the second one is ignored while the run cleans up
        assert stop.signum == signum and stop.exit_code == 128 + signum
    assert signal.getsignal(signum) is before


def test_a_signal_the_caller_ignores_or_handles_is_left_alone() -> None:
    """``nohup`` (SIGHUP ignored) keeps working; a handler of the embedding program is kept."""
    import threading

    from corpus_audit.cli.outputs import StopSignals

    seen = []
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN), signal.signal(signal.SIGTERM, lambda *a: seen.append(a))
    try:
        with StopSignals() as stop:
            signal.raise_signal(signal.SIGHUP)
            signal.raise_signal(signal.SIGTERM)
        assert stop.signum is None and len(seen) == 1
    finally:
        signal.signal(signal.SIGHUP, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(StopSignals().__enter__()._previous))
    thread.start()
    thread.join()
    assert outcome == [{}]  # no handler can be set outside the main thread: nothing is tried
