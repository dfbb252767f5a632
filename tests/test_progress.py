"""One aggregated progress line: workers' files summed by the launcher; totals from planning."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from conftest import REPO_ROOT, SENTENCES, read_summary, write_jsonl
from corpus_audit.cli import main
from corpus_audit.engine.progress import (
    PROGRESS_DIR_ENV,
    Snapshot,
    Progress,
    ProgressTotals,
    RunProgress,
    format_line,
    input_totals,
    read_worker_files,
)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_workers_files_are_summed(tmp_path) -> None:
    clock = _Clock()
    first, second = Progress(str(tmp_path), clock), Progress(str(tmp_path), clock)
    first.update(10, 1000)  # not yet due: nothing written
    assert read_worker_files(str(tmp_path)).workers == 0
    clock.now = 1.5
    first.update(5, 500)
    second.split_done("/c/b.jsonl", restored=True)
    second.update(7, 700)
    snapshot = read_worker_files(str(tmp_path))
    assert (snapshot.workers, snapshot.documents, snapshot.bytes, snapshot.splits_restored) == (2, 15, 1500, 1)
    totals = ProgressTotals({"/c/a.jsonl": 4000, "/c/b.jsonl": 1000})
    assert format_line(snapshot, totals, elapsed=3.0) == (
        "corpus-audit: files 1/2, 0.0/0.0 MB of input files, 15 documents (5 docs/s), ETA 12s; "
        "restored 1 split(s) from checkpoints")


def test_ranged_files_count_their_splits(tmp_path) -> None:
    progress = Progress(str(tmp_path))
    progress.split_done("/c/p.parquet", 0, 2)
    totals = ProgressTotals({"/c/p.parquet": 3_000_000, "/c/q.jsonl": 1_000_000}, splits={"/c/p.parquet": 3})
    line = format_line(read_worker_files(str(tmp_path)), totals, elapsed=10.0)
    assert line.startswith("corpus-audit: files 0/2, 1.0/4.0 MB of input files, 0 documents") and "ETA 30s" in line
    progress.split_done("/c/p.parquet", 2, 4)
    progress.split_done("/c/p.parquet", 4, 5)
    progress.split_done("/c/q.jsonl")
    assert format_line(read_worker_files(str(tmp_path)), totals, 10.0, final=True) == (
        "corpus-audit: files 2/2, 4.0/4.0 MB of input files, 0 documents (0 docs/s)")


def test_without_the_launcher_a_worker_prints_its_own_line(capsys, monkeypatch) -> None:
    monkeypatch.delenv(PROGRESS_DIR_ENV, raising=False)
    clock = _Clock()
    progress = Progress(clock=clock)
    clock.now = 11.0
    progress.update(1100, 2_200_000)
    assert "1,100 documents, 2.2 MB read" in capsys.readouterr().err


def test_input_totals(tmp_path) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", [{"text": "x"}])
    totals = input_totals([str(shard), str(tmp_path / "missing.jsonl")])
    assert totals.sizes == {str(shard): shard.stat().st_size, str(tmp_path / "missing.jsonl"): None}
    assert (totals.files, totals.bytes) == (2, shard.stat().st_size)


def _corpus(tmp_path, shards: int = 3, per_shard: int = 40) -> list[str]:
    paths = []
    for s in range(shards):
        records = [{"id": f"{s}-{i}", "text": SENTENCES[("en", "fr", "de")[i % 3]]} for i in range(per_shard)]
        paths.append(str(write_jsonl(tmp_path / f"s{s}.jsonl", records)))
    return paths


def test_one_line_for_a_real_run(tmp_path) -> None:
    """Workers of a real (in-process) run write their files; the launcher's last line sums them."""
    paths = _corpus(tmp_path)
    out = io.StringIO()
    with RunProgress(paths, stream=out, tty=False, poll_seconds=0.2) as progress:
        assert os.environ[PROGRESS_DIR_ENV] == progress.directory
        assert main(["run", *paths, "--output", str(tmp_path / "out"), "--stages", "langid,pronouns"]) == 0
    assert PROGRESS_DIR_ENV not in os.environ and not os.path.exists(progress.directory)
    final = progress.lines[-1]
    assert final.startswith("corpus-audit: files ") and "120 documents" in final, final
    assert out.getvalue().strip().splitlines()[-1] == final
    assert read_summary(tmp_path / "out")["documents_read"] == 120
    # Reporting costs a few small file writes: under 1% of the workers' time, or 50 ms in all for a
    # run this short (on a loaded machine a handful of writes can exceed 1% of a sub-second run).
    assert progress.last.overhead_seconds < max(0.01 * progress.last.worker_seconds, 0.05), progress.last


def test_multi_worker_run_is_aggregated(tmp_path) -> None:
    """Two DirectRunner worker processes: one total (their files are summed by the launcher)."""
    paths = _corpus(tmp_path, shards=4, per_shard=30)
    code = ("import sys, io; from corpus_audit.cli import main; from corpus_audit.engine.progress import RunProgress\n"
            f"paths = {paths!r}\n"
            "with RunProgress(paths, tty=False, poll_seconds=0.2) as p:\n"
            f"    code = main(['run', *paths, '--output', {str(tmp_path / 'out')!r}, '--stages', 'langid',"
            " '--workers', '2'])\n"
            "print('LAST', p.lines[-1]); print('WORKERS', p.last.workers)\n"
            "print('OVERHEAD', p.last.overhead_seconds); print('SECONDS', p.last.worker_seconds)\n"
            "sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.split(" ", 1)[0] in
                  ("LAST", "WORKERS", "OVERHEAD", "SECONDS"))
    assert "120 documents" in report["LAST"], report
    assert int(report["WORKERS"]) >= 1
    assert float(report["OVERHEAD"]) < max(0.01 * float(report["SECONDS"]), 0.05), report


def test_restored_splits_are_reported(tmp_path) -> None:
    paths = _corpus(tmp_path, shards=3, per_shard=10)
    args = ["run", *paths, "--stages", "langid", "--checkpoint-dir", str(tmp_path / "ck")]
    assert main([*args, "--output", str(tmp_path / "first")]) == 0
    with RunProgress(paths, stream=io.StringIO(), tty=False, poll_seconds=0.2) as progress:
        assert main([*args, "--output", str(tmp_path / "second")]) == 0
    assert progress.lines[-1].endswith("; restored 3 split(s) from checkpoints"), progress.lines[-1]
    assert progress.lines[-1].startswith("corpus-audit: files 3/3, ")


def test_the_eta_leaves_out_set_up_and_waits_for_a_share_of_the_input() -> None:
    """An ETA from the first seconds (model loading, no byte read yet) was 1.5-4x too high."""
    from corpus_audit.engine.progress import ETA_AFTER_SHARE

    totals = ProgressTotals({"/c/p.parquet": 100_000_000}, splits={"/c/p.parquet": 100})
    early = Snapshot(documents=10, splits=[["/c/p.parquet", 0, 1]])  # 1% of the input
    assert ETA_AFTER_SHARE > 0.01 and "ETA" not in format_line(early, totals, elapsed=5.0)
    half = Snapshot(documents=10, splits=[["/c/p.parquet", i, i + 1] for i in range(50)])
    assert "ETA 1m40s" in format_line(half, totals, elapsed=100.0)
    assert "ETA 1m30s" in format_line(half, totals, elapsed=100.0, reading_since=10.0)


def test_a_terminal_of_unknown_width_still_gets_a_line() -> None:
    import io

    from corpus_audit.engine.progress import _make_bar

    stream = io.StringIO()  # no fileno: its width cannot be asked
    bar = _make_bar(ProgressTotals({"/c/a.jsonl": 1000}), stream)
    bar.set_description_str("files 0/1, 0.0/0.0 MB of input files", refresh=True)
    bar.close()
    assert "files 0/1" in stream.getvalue()


def test_the_console_summary_uses_the_one_decimal_rule(tmp_path, capsys) -> None:
    """Issue 29: the console printed ``en 61.0000%`` where the tables show 61.0."""
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": str(i), "text": SENTENCES["en"]} for i in range(3)]
                        + [{"id": "f", "text": SENTENCES["fr"]}])
    assert main(["run", str(shard), "--output", str(tmp_path / "out"), "--stages", "langid"]) == 0
    assert "top languages: en 75.0%, fr 25.0%" in capsys.readouterr().err
