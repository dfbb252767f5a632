"""The in-process engine (``--runner local``, the default for one worker): no Beam import, the
same outputs as Beam's DirectRunner, and clear refusals of what only Beam can run.

Byte-identical tables, documents and skip records against every DirectRunner mode are checked
in tests/test_determinism.py; this file checks what is particular to the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (SENTENCES, assert_balanced, child_processes, main, process_alive, read_skipped, read_summary,
                      run_audit, write_jsonl)

ROOT = Path(__file__).resolve().parent.parent


def _corpus(tmp_path: Path) -> Path:
    records: list = [{"id": f"d{i}", "text": SENTENCES[lang], "source": f"s{i % 2}"}
                     for i, lang in enumerate(sorted(SENTENCES) * 2)]
    records.insert(3, b'{"id": "broken", "text": \n')
    records.insert(6, {"id": "blank", "text": "   "})
    return write_jsonl(tmp_path / "corpus.jsonl", records)


def _error_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_default_run_imports_no_beam(tmp_path: Path) -> None:
    """The fixed cost of a small run: ``import apache_beam`` alone is about 2 s."""
    shard = _corpus(tmp_path)
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from corpus_audit.cli import main\n"
        f"code = main(['run', {str(shard)!r}, '--output', {str(out)!r}, '--quiet'])\n"
        "print('BEAM=' + str('apache_beam' in sys.modules) + ' CODE=' + str(code))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "BEAM=False CODE=0" in proc.stdout, proc.stdout + proc.stderr
    summary = read_summary(out)
    assert summary["settings"]["runner"] == "local"
    assert_balanced(summary)


def test_skips_are_written_where_beam_writes_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_audit(_corpus(tmp_path), "--output", out) == 0
    assert sorted(p.name for p in (out / "skipped").iterdir()) == ["skipped-00000-of-00001.jsonl"]
    assert sorted(r["reason"] for r in read_skipped(out)) == ["empty_text", "malformed_json"]
    summary = read_summary(out)
    assert summary["documents_skipped"] == {"empty_text": 1, "malformed_json": 1}
    assert summary["documents_analysed"] == 2 * len(SENTENCES)
    assert not list(out.rglob("*.tmp"))


def test_limit_reads_the_same_records_as_beam(tmp_path: Path) -> None:
    shard = _corpus(tmp_path)
    local, beam = tmp_path / "local", tmp_path / "beam"
    assert run_audit(shard, "--output", local, "--limit", "5", "--group-by", "source") == 0
    assert run_audit(shard, "--output", beam, "--limit", "5", "--group-by", "source", "--runner", "DirectRunner") == 0
    assert read_summary(local)["settings"]["runner"] == "local"
    assert read_summary(beam)["settings"]["runner"] == "DirectRunner"
    assert read_summary(local)["documents_read"] == 5
    for path in sorted((beam / "tables").iterdir()):
        assert (local / "tables" / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("extra, reason", [
    (["--dry-run"], "a --dry-run"),
    (["--direct_running_mode", "in_memory"], "Beam pipeline options (--direct_running_mode in_memory)"),
])
def test_local_refuses_what_only_beam_runs(tmp_path: Path, capsys, extra: list[str], reason: str) -> None:
    out = tmp_path / "out"
    assert main(["run", str(_corpus(tmp_path)), "--output", str(out), "--runner", "local", *extra]) == 2
    line = _error_line(capsys)
    assert f"--runner local runs in this process and cannot run {reason}" in line, line
    assert "use --runner DirectRunner" in line
    assert not out.exists()


def test_an_interrupted_local_run_leaves_no_partial_file(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C in the middle of the in-process engine: exit 130, the manifest says interrupted,
    and no temporary documents or skip file is left behind."""
    from corpus_audit.transforms.pronouns import Pronouns

    calls = {"n": 0}
    original = Pronouns.annotate

    def interrupt_on_second_batch(self, batch, columns):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, batch, columns)

    monkeypatch.setattr(Pronouns, "annotate", interrupt_on_second_batch)
    out = tmp_path / "out"
    assert main(["run", str(_corpus(tmp_path)), "--output", str(out), "--quiet", "--batch-documents", "3",
                 "--stages", "langid,pronouns"]) == 130
    assert "interrupted" in capsys.readouterr().err
    manifest = json.loads((out / "corpus-audit-run.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not list(out.rglob("*.tmp"))
    assert not (out / "summary.json").exists()


# -- forked worker processes ----------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent
#: The CLI with the slow counting stage registered, in a process of its own (to be signalled).
SLOW_CLI = ("import sys; sys.path.insert(0, sys.argv[1]); from fake_stages import SlowStage; "
            "from corpus_audit import transforms; transforms.STAGES['counting'] = SlowStage; "
            "from corpus_audit.cli import main; sys.exit(main(sys.argv[2:]))")


def _slow_corpus(root: Path, shards: int = 6) -> list[Path]:
    root.mkdir()
    return [write_jsonl(root / f"shard-{s}.jsonl", [{"id": f"{s}-{i}", "text": SENTENCES["en"] + f" {s} {i}"}
                                                   for i in range(12)]) for s in range(shards)]


def _start_slow_run(tmp_path: Path, out: Path, sleep: str = "0.3"):
    import time

    shards = _slow_corpus(tmp_path / "corpus")
    env = {**os.environ, "CORPUS_AUDIT_TEST_SLEEP": sleep, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, str(TESTS), "run", *map(str, shards), "--output", str(out),
         "--stages", "langid,counting", "--batch-documents", "3", "--workers", "2", "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(child_processes(process.pid)) >= 2 and list((out / "documents").glob("*.parquet")):
            return process  # workers forked, and at least one split finished
        time.sleep(0.05)
    raise AssertionError(f"the run did not get going: {process.poll()} {process.stderr.read()[-2000:]!r}")


pytestmark_linux = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")


@pytestmark_linux
def test_ctrl_c_stops_every_worker_and_leaves_no_partial_file(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "out"
    process = _start_slow_run(tmp_path, out)
    workers = child_processes(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    assert process.wait(timeout=60) == 130, process.stderr.read()
    assert "interrupted" in process.stderr.read()
    assert not any(process_alive(pid) for pid in workers)
    assert json.loads((out / "corpus-audit-run.json").read_text())["status"] == "interrupted"
    assert not list(out.rglob("*.tmp")) and not (out / "summary.json").exists()


@pytestmark_linux
def test_a_worker_killed_mid_run_fails_the_run_with_a_clear_line(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "out"
    process = _start_slow_run(tmp_path, out)
    victim, *others = child_processes(process.pid)
    os.kill(victim, signal.SIGKILL)
    assert process.wait(timeout=60) == 4
    error = process.stderr.read().strip().splitlines()[-1]
    assert error.startswith("corpus-audit: error: worker process ") and "exit code -9" in error, error
    assert not any(process_alive(pid) for pid in others)
    assert json.loads((out / "corpus-audit-run.json").read_text())["status"] == "incomplete"
    assert not (out / "summary.json").exists()


@pytestmark_linux
def test_workers_do_not_outlive_a_killed_launcher(tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "out"
    process = _start_slow_run(tmp_path, out)
    workers = child_processes(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(process_alive(pid) for pid in workers)


def test_two_forked_workers_give_the_tables_of_one(tmp_path: Path) -> None:
    """In a fresh interpreter (this one may run threads: the engine forks only without them)."""
    shards = _slow_corpus(tmp_path / "corpus", shards=5)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = subprocess.run([sys.executable, "-m", "corpus_audit", "run", *map(str, shards), "--output", str(out),
                               "--workers", workers, "--quiet"], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    summaries = [read_summary(out) for out in outs]
    assert [s["settings"]["runner"] for s in summaries] == ["local", "local"]
    assert [s["settings"]["workers"] for s in summaries] == [1, 2]
    assert sorted(p.name for p in (outs[1] / "skipped").iterdir()) == [
        "skipped-00000-of-00002.jsonl", "skipped-00001-of-00002.jsonl"]
    for path in sorted((outs[0] / "tables").iterdir()):
        assert (outs[1] / "tables" / path.name).read_bytes() == path.read_bytes(), path.name
    assert summaries[0]["documents_analysed"] == summaries[1]["documents_analysed"] == 60


_RECORD_STOPS = """
import sys, multiprocessing.process as mp
terminate, join = mp.BaseProcess.terminate, mp.BaseProcess.join
def recorded_terminate(self):
    print("TERMINATED", self.name, file=sys.stderr)
    terminate(self)
def recorded_join(self, timeout=None):
    join(self, timeout)
    if self.name.startswith("corpus-audit-worker") and self.exitcode is not None:
        print("EXIT", self.name, self.exitcode, file=sys.stderr)
mp.BaseProcess.terminate, mp.BaseProcess.join = recorded_terminate, recorded_join
from corpus_audit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_workers_that_finished_end_on_their_own(tmp_path: Path) -> None:
    """A run that went well lets its workers exit by themselves: no SIGTERM lands in the
    middle of a worker's exit (while it flushes its report), and every worker ends with 0."""
    shards = _slow_corpus(tmp_path / "corpus", shards=4)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _RECORD_STOPS, "run", *map(str, shards), "--output",
                           str(tmp_path / "out"), "--workers", "2", "--quiet", "--stages", "langid"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert not [line for line in lines if line.startswith("TERMINATED")], proc.stderr
    assert sorted({line for line in lines if line.startswith("EXIT")}) == [
        "EXIT corpus-audit-worker-0 0", "EXIT corpus-audit-worker-1 0"]


def _hang() -> None:
    import time

    time.sleep(600)


def test_workers_hung_after_reporting_share_one_grace_period(monkeypatch) -> None:
    """A run that went well waits for its workers to exit on their own, but once for all of
    them: four workers stuck in their exit must not cost four grace periods in turn."""
    import multiprocessing
    import time

    from corpus_audit.engine import local

    monkeypatch.setattr(local, "STOP_GRACE_SECONDS", 1.0)
    pool = local.ForkedWorkers(None, "unused", 4)  # type: ignore[arg-type]
    context = multiprocessing.get_context("fork")
    pool._processes = [context.Process(target=_hang, daemon=True) for _ in range(4)]
    for process in pool._processes:
        process.start()
    started = time.monotonic()
    pool.__exit__(None, None, None)
    elapsed = time.monotonic() - started
    assert not [process for process in pool._processes if process.is_alive()]
    assert elapsed < 3.0, f"{elapsed:.1f} s"  # one 1 s grace period, not four in turn (4 s)
