"""Trust (issue 14): no input, misuse or fault loses an audit, deletes a file corpus-audit did not
write, or mixes two runs. One test per reproduced case, named after it."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SENTENCES, assert_balanced, main, read_documents, read_summary, run_audit, write_jsonl

TESTS = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "corpus_audit"]


def _shard(directory: Path, name: str = "a.jsonl", n: int = 3) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_jsonl(directory / name, [{"id": f"{name}-{i}", "text": SENTENCES["en"]} for i in range(n)])


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _one_error_line(capsys) -> str:
    lines = _error_lines(capsys)
    errors = [line for line in lines if line.startswith("corpus-audit: error:")]
    assert len(errors) == 1, lines
    assert not any("Traceback" in line for line in lines), lines
    return errors[0]


def _cli(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


# ----------------------------------------------------------------------------- data destroyed or mixed


def test_case01_files_a_run_did_not_write_under_output_subdirectories_are_never_deleted(tmp_path, capsys):
    shard = _shard(tmp_path / "in")
    out = tmp_path / "out"
    (out / "documents").mkdir(parents=True)
    precious = out / "documents" / "mine.jsonl"
    precious.write_text("precious")
    assert main(["run", str(shard), "--output", str(out), "--quiet"]) == 2
    assert "did not write" in _one_error_line(capsys)
    assert precious.read_text() == "precious"
    # ... nor after a run of ours: a file added to documents/ later is not ours either.
    out2 = tmp_path / "out2"
    assert run_audit(shard, "--output", out2) == 0
    (out2 / "documents" / "mine.jsonl").write_text("precious")
    assert main(["run", str(shard), "--output", str(out2), "--overwrite", "--quiet"]) == 2
    assert "did not write" in _one_error_line(capsys)
    assert (out2 / "documents" / "mine.jsonl").read_text() == "precious"


def test_case01_inputs_inside_output_or_checkpoint_dir_are_refused(tmp_path, capsys):
    out = tmp_path / "out"
    inside = _shard(out / "documents", "data.jsonl")
    outside = _shard(tmp_path / "in")
    assert main(["run", str(outside), str(inside), "--output", str(out), "--quiet"]) == 2
    assert "inside --output" in _one_error_line(capsys)
    assert inside.is_file()
    checkpoints = tmp_path / "ck"
    in_checkpoints = _shard(checkpoints, "x.jsonl")
    assert main(["run", str(outside), str(in_checkpoints), "--output", str(tmp_path / "o2"),
                 "--checkpoint-dir", str(checkpoints), "--quiet"]) == 2
    assert "inside --checkpoint-dir" in _one_error_line(capsys)
    assert in_checkpoints.is_file()


def test_case02_a_completed_run_is_not_replaced_without_overwrite(tmp_path, capsys):
    shard = _shard(tmp_path / "in", n=5)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    before = (out / "summary.json").read_bytes()
    assert main(["run", str(shard), "--output", str(out), "--limit", "1", "--quiet"]) == 2
    assert "--overwrite" in _one_error_line(capsys)
    assert (out / "summary.json").read_bytes() == before
    assert run_audit(shard, "--output", out, "--limit", "1", "--overwrite") == 0
    assert read_summary(out)["documents_read"] == 1


def test_case03_a_second_run_into_a_locked_output_is_refused(tmp_path, capsys):
    from corpus_audit.rundir.run_directory import LockHeld, lock_directory

    shard = _shard(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    with lock_directory(str(out)):
        assert main(["run", str(shard), "--output", str(out), "--quiet"]) == 2
        line = _one_error_line(capsys)
        assert "another corpus-audit run" in line and str(os.getpid()) in line
        with pytest.raises(LockHeld):
            with lock_directory(str(out)):
                pass
    assert run_audit(shard, "--output", out) == 0  # released


def test_case03_checkpoint_dir_is_locked_too(tmp_path, capsys):
    from corpus_audit.rundir.run_directory import lock_directory

    shard = _shard(tmp_path / "in")
    checkpoints = tmp_path / "ck"
    checkpoints.mkdir()
    with lock_directory(str(checkpoints)):
        assert main(["run", str(shard), "--output", str(tmp_path / "out"), "--checkpoint-dir", str(checkpoints),
                     "--quiet"]) == 2
        assert "another corpus-audit run" in _one_error_line(capsys)


def test_case03_a_stale_lock_of_a_dead_process_does_not_block(tmp_path):
    from corpus_audit.rundir.run_directory import LOCK_NAME

    shard = _shard(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": 0}))
    assert run_audit(shard, "--output", out) == 0
    assert not (out / LOCK_NAME).exists()


def test_case03_two_concurrent_runs_never_mix(tmp_path):
    shards = [_shard(tmp_path / "in", f"s{i}.jsonl", n=40) for i in range(6)]
    out = tmp_path / "out"
    first = subprocess.Popen([*CLI, "run", *map(str, shards), "--output", str(out), "--quiet", "--stages", "langid"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from corpus_audit.rundir.run_directory import LOCK_NAME

    lock = out / LOCK_NAME
    deadline = time.time() + 120
    while not lock.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    second = _cli("run", str(shards[0]), "--output", str(out), "--quiet", "--overwrite", "--stages", "langid")
    first.communicate(timeout=300)
    assert first.returncode == 0
    if lock.exists() or second.returncode == 2:
        assert second.returncode == 2 and "another corpus-audit run" in second.stderr
    summary = read_summary(out)
    assert summary["documents_read"] in (240, 40)
    assert len(read_documents(out)) == summary["documents_analysed"]  # one run's rows only


# ----------------------------------------------------------------------------- one record ends the run


def test_case04_a_deeply_nested_json_line_is_a_counted_skip(tmp_path):
    shard = write_jsonl(tmp_path / "deep.jsonl", [
        {"text": SENTENCES["en"]},
        b'{"text": "x", "deep": ' + b"[" * 1100 + b"]" * 1100 + b"}\n",
        b"[" * 100_000 + b"\n",
        {"text": SENTENCES["fr"]},
    ])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_analysed"] == 2
    assert summary["documents_skipped"].get("malformed_json") == 2


def test_case05_a_file_name_that_is_not_utf8_is_read(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _shard(corpus, "good.jsonl", n=2)
    odd = os.path.join(os.fsencode(corpus), b"bad\xff\xfename.jsonl")
    with open(odd, "wb") as f:
        f.write(json.dumps({"text": SENTENCES["de"]}).encode() + b"\n")
    out = tmp_path / "out"
    assert run_audit(corpus, "--output", out) == 0
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_read"] == 3 and summary["documents_analysed"] == 3


def test_case06_a_parquet_file_with_the_text_column_twice_is_an_unreadable_file(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    table = pa.Table.from_arrays([pa.array(["a b c", "d e f"]), pa.array(["x", "y"])], names=["text", "text"])
    pq.write_table(table, corpus / "twice.parquet")
    _shard(corpus, "good.jsonl", n=2)
    out = tmp_path / "out"
    assert run_audit(corpus, "--output", out) == 0
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_analysed"] == 2
    assert summary["documents_skipped"].get("unreadable_file", 0) >= 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_case07_fifos_devices_and_links_to_dev_zero_are_ignored_not_read(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _shard(corpus, "good.jsonl", n=2)
    os.mkfifo(corpus / "pipe.jsonl")
    os.symlink("/dev/zero", corpus / "zero.jsonl")
    os.symlink("/dev/null", corpus / "null.txt")
    out = tmp_path / "out"
    result = _cli("run", str(corpus), str(corpus / "zero.jsonl"), "--output", str(out), "--quiet",
                  "--stages", "langid", timeout=240)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = read_summary(out)
    assert summary["documents_analysed"] == 2
    kinds = {Path(item["path"]).name: item["kind"] for item in summary["ignored_special_files"]}
    assert kinds == {"pipe.jsonl": "fifo", "zero.jsonl": "character device", "null.txt": "character device"}


@pytest.mark.parametrize("marker", ["dataset_dict.json", "state.json"])
def test_case08_a_broken_saved_dataset_is_one_line_exit_2(tmp_path, capsys, marker):
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / marker).write_text("{broken")
    if marker == "state.json":
        (dataset / "dataset_info.json").write_text("{}")
    assert main(["run", str(dataset), "--output", str(tmp_path / "out"), "--quiet"]) == 2
    assert str(dataset) in _one_error_line(capsys)


def test_case09_zstd_reads_are_bounded(tmp_path):
    import zstandard

    from corpus_audit.readers import open_decompressed

    path = tmp_path / "bomb.jsonl.zst"
    zeros = b"0" * (1 << 20)
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as writer:
        for _ in range(256):  # 256 MB of one line, ~10 KB compressed
            writer.write(zeros)
    stream, _ = open_decompressed(str(path))  # (decompressed line stream, underlying file)
    largest = 0
    for _ in range(64):
        largest = max(largest, len(stream.read(1 << 16)))
    inner = stream.raw if hasattr(stream, "raw") else stream
    buffered = max(len(getattr(inner, "_pending", b"")), 0)
    assert largest <= 1 << 16
    assert buffered <= 8 << 20, buffered


def test_case09_a_zstd_bomb_is_skipped_with_flat_memory(tmp_path):
    import zstandard

    path = tmp_path / "bomb.jsonl.zst"
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as writer:
        writer.write(json.dumps({"text": SENTENCES["en"]}).encode() + b"\n")
        for _ in range(1024):  # one 1 GB line
            writer.write(b"0" * (1 << 20))
        writer.write(b"\n" + json.dumps({"text": SENTENCES["fr"]}).encode() + b"\n")
    out = tmp_path / "out"
    code = ("import sys, runpy; sys.argv = ['corpus-audit'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('corpus_audit', run_name='__main__')\n"
            "except SystemExit as e:\n    rc = e.code\n"
            # VmHWM, not ru_maxrss: Linux carries the forking parent's (pytest's) peak into the
            # child's ru_maxrss at exec, so a long test session would be measured instead of the run.
            "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print('maxrss_kb', hwm, file=sys.stderr); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code, "run", str(path), "--output", str(out), "--quiet",
                             "--stages", "langid"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = read_summary(out)
    assert summary["documents_analysed"] == 2 and summary["documents_skipped"] == {"document_too_large": 1}
    maxrss_mb = int(result.stderr.split("maxrss_kb")[-1].split()[0]) / 1024
    assert maxrss_mb < 900, maxrss_mb


# ----------------------------------------------------------------------------- faults the operator sees


def test_case10_disk_full_is_one_line_exit_3_and_marks_the_run_incomplete(tmp_path, capsys, monkeypatch):
    import errno

    import pyarrow.parquet as parquet

    from corpus_audit.rundir.run_directory import read_manifest

    shard = _shard(tmp_path / "in", n=4)
    out = tmp_path / "out"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(parquet.ParquetWriter, "write_table", full)
    assert main(["run", str(shard), "--output", str(out), "--quiet", "--direct_running_mode", "in_memory"]) == 3
    line = _one_error_line(capsys)
    assert "No space left on device" in line and str(out) in line
    assert read_manifest(str(out))["status"] == "incomplete"
    monkeypatch.undo()
    assert main(["report", str(out)]) == 2
    assert "incomplete" in _one_error_line(capsys)
    assert run_audit(shard, "--output", out) == 0  # an incomplete run is replaced without --overwrite


def test_case11_ctrl_c_stops_with_one_line_exit_130_and_keeps_checkpoints(tmp_path, monkeypatch):
    sys.path.insert(0, str(TESTS))
    from test_checkpoint import RUNNER, STAGES, SUBPROCESS_CLI, build_corpus

    from corpus_audit import transforms
    from fake_stages import SlowStage

    shards = build_corpus(tmp_path / "corpus")
    out, checkpoints = tmp_path / "out", tmp_path / "ck"
    args = [*map(str, shards), "--output", str(out), "--checkpoint-dir", str(checkpoints), *STAGES, *RUNNER]
    env = {**os.environ, "CORPUS_AUDIT_TEST_SLEEP": "0.4", "PYTHONPATH": str(TESTS.parent), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-c", SUBPROCESS_CLI, str(TESTS), "run", *args, "--quiet"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while len(list(checkpoints.glob("*.entry.json"))) < 2 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [line for line in err.splitlines() if line.startswith("corpus-audit: ")][-1].startswith(
        "corpus-audit: interrupted"), err
    kept = len(list(checkpoints.glob("*.entry.json")))
    assert kept >= 2
    monkeypatch.setitem(transforms.STAGES, SlowStage.name, SlowStage)
    assert run_audit(*args) == 0  # an interrupted run is resumed without --overwrite
    assert read_summary(out)["splits"]["restored_from_checkpoint"] >= kept


def test_case12_a_symlinked_tables_directory_is_refused_and_not_followed(tmp_path, capsys):
    shard = _shard(tmp_path / "in")
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.csv").write_text("keep")
    import shutil

    shutil.rmtree(out / "tables")
    os.symlink(elsewhere, out / "tables")
    assert main(["run", str(shard), "--output", str(out), "--overwrite", "--quiet"]) == 2
    assert "link" in _one_error_line(capsys)
    assert (elsewhere / "keep.csv").read_text() == "keep"


# ----------------------------------------------------------------------------- values that come out wrong


def test_case13_group_keys_are_canonical_typed_and_safe(tmp_path, capsys):
    values = [None, "", 5, "5", True, "True", [1, 2], "a\nb|c", "=HYPERLINK(1)", "+1", "-1", "@x"]
    records = []
    for i, value in enumerate(values):
        record = {"id": f"r{i}", "text": SENTENCES["en"]}
        if value is not None:
            record["source"] = value
        records.append(record)
    shard = write_jsonl(tmp_path / "g.jsonl", records)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--group-by", "source", "--stages", "langid") == 0
    with open(out / "tables" / "languages_by_source.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keys = [row["source"] for row in rows]
    assert len(keys) == len(set(keys)) == len(values), keys
    assert "(missing)" in keys and "" in keys and "5" in keys and '"5"' not in keys
    assert any(key.startswith("'=") for key in keys) and "=HYPERLINK(1)" not in keys
    assert not any(key[:1] in "=+-@" for key in keys if key)
    markdown = (out / "tables" / "languages_by_source.md").read_text()
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 + len(values)  # the newline did not break a row
    # the field absent from every record: one warning line
    assert main(["run", str(shard), "--output", str(tmp_path / "o2"), "--group-by", "nosuchfield",
                 "--stages", "langid"]) == 0
    err = capsys.readouterr().err
    assert sum("nosuchfield" in line and "WARNING" in line for line in err.splitlines()) == 1


def test_case14_the_size_limit_is_on_the_record_without_its_line_terminator(tmp_path):
    limit = 200
    body = json.dumps({"text": ""})
    record = json.dumps({"text": "x" * (limit - len(body))}).encode()
    assert len(record) == limit
    over = json.dumps({"text": "x" * (limit - len(body) + 1)}).encode()
    shard = tmp_path / "sizes.jsonl"
    shard.write_bytes(record + b"\n" + record + b"\r\n" + over + b"\n" + over + b"\r\n" + record)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--max-document-bytes", str(limit), "--stages", "langid") == 0
    summary = read_summary(out)
    assert summary["documents_analysed"] == 3
    assert summary["documents_skipped"] == {"document_too_large": 2}


def test_case15_an_empty_id_is_replaced_by_the_fallback_id_and_counted(tmp_path):
    shard = write_jsonl(tmp_path / "ids.jsonl", [{"id": "", "text": SENTENCES["en"]},
                                                 {"id": "", "text": SENTENCES["fr"]},
                                                 {"id": "keep", "text": SENTENCES["de"]}])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--stages", "langid") == 0
    ids = [row["id"] for row in read_documents(out)]
    assert ids == [f"{shard}:0", f"{shard}:1", "keep"]
    assert read_summary(out)["empty_ids_replaced"] == 2
