"""Resume: ``--checkpoint-dir`` keeps finished splits; a run killed mid-way and run again
with the same directory analyses only the rest, and its tables equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, read_documents, read_skipped, read_summary, run_audit, write_jsonl
from corpus_audit import transforms
from corpus_audit.engine.checkpoint import CheckpointEncodingError, decode_value, encode_value
from fake_stages import SlowStage

TESTS = Path(__file__).resolve().parent
LANGS = sorted(SENTENCES)
SHARDS = 12
STAGES = ("--stages", "langid,counting", "--batch-documents", "3", "--group-by", "source")
RUNNER = ("--direct_running_mode", "in_memory")
# The CLI with the slow counting stage registered, in a process of its own (to be killed).
SUBPROCESS_CLI = ("import sys; sys.path.insert(0, sys.argv[1]); from fake_stages import SlowStage; "
                  "from corpus_audit import transforms; transforms.STAGES['counting'] = SlowStage; "
                  "from corpus_audit.cli import main; sys.exit(main(sys.argv[2:]))")


def build_corpus(root: Path) -> list[Path]:
    root.mkdir()
    shards = []
    for s in range(SHARDS):
        records: list = [{"id": f"{s}-{i}", "text": SENTENCES[LANGS[(s + i) % len(LANGS)]] + f" {s} {i}",
                          "source": f"src{(s + i) % 3}"} for i in range(6)]
        records.insert(2, b"{broken\n")
        shards.append(write_jsonl(root / f"shard-{s:02d}.jsonl", records))
    return shards


@pytest.fixture
def counting_stage(monkeypatch):
    monkeypatch.setitem(transforms.STAGES, SlowStage.name, SlowStage)


def _tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "tables").iterdir())}


def _entries(checkpoints: Path) -> list[Path]:
    return sorted(checkpoints.glob("*.entry.json"))


def test_killed_run_resumes_and_equals_an_uninterrupted_run(tmp_path: Path, counting_stage) -> None:
    shards = build_corpus(tmp_path / "corpus")
    reference = tmp_path / "reference"
    assert run_audit(*shards, "--output", reference, *STAGES, *RUNNER) == 0
    summary = read_summary(reference)
    assert summary["splits"] == {"analysed": SHARDS, "restored_from_checkpoint": 0}

    checkpoints = tmp_path / "checkpoints"
    interrupted = tmp_path / "interrupted"
    env = {**os.environ, "CORPUS_AUDIT_TEST_SLEEP": "0.4", "PYTHONPATH": str(TESTS.parent)}
    process = subprocess.Popen(
        [sys.executable, "-c", SUBPROCESS_CLI, str(TESTS), "run", *map(str, shards), "--output", str(interrupted),
         "--checkpoint-dir", str(checkpoints), *STAGES, *RUNNER, "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(_entries(checkpoints)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(_entries(checkpoints))
    assert 3 <= finished < SHARDS, f"killed after {finished} splits (stderr: {process.stderr.read()[-2000:]!r})"
    assert not (interrupted / "summary.json").exists()

    resumed = tmp_path / "resumed"
    assert run_audit(*shards, "--output", resumed, "--checkpoint-dir", checkpoints, *STAGES, *RUNNER) == 0
    splits = read_summary(resumed)["splits"]
    assert splits["restored_from_checkpoint"] >= finished and splits["analysed"] <= SHARDS - finished
    assert splits["analysed"] + splits["restored_from_checkpoint"] == SHARDS
    _assert_same_outputs(resumed, reference)

    # Once every split is stored, nothing is analysed again, and the tables are unchanged.
    again = tmp_path / "again"
    assert run_audit(*reversed(shards), "--output", again, "--checkpoint-dir", checkpoints, *STAGES, *RUNNER) == 0
    assert read_summary(again)["splits"] == {"analysed": 0, "restored_from_checkpoint": SHARDS}
    _assert_same_outputs(again, reference)


def _assert_same_outputs(out: Path, reference: Path) -> None:
    assert _tables(out) == _tables(reference)
    assert read_documents(out) == read_documents(reference)
    assert read_skipped(out) == read_skipped(reference)
    summary, expected = read_summary(out), read_summary(reference)
    assert_balanced(summary)
    for key in ("documents_read", "documents_analysed", "documents_skipped", "bytes_read"):
        assert summary[key] == expected[key], key


def test_changed_settings_or_content_are_analysed_again(tmp_path: Path, counting_stage) -> None:
    shards = build_corpus(tmp_path / "corpus")[:3]
    checkpoints = tmp_path / "checkpoints"
    first = tmp_path / "first"
    assert run_audit(*shards, "--output", first, "--checkpoint-dir", checkpoints, *STAGES, *RUNNER) == 0
    assert len(_entries(checkpoints)) == 3

    # Another threshold changes results: nothing is restored.
    out = tmp_path / "threshold"
    assert run_audit(*shards, "--output", out, "--checkpoint-dir", checkpoints, *STAGES, *RUNNER,
                     "--langid-threshold", "0.9") == 0
    assert read_summary(out)["splits"] == {"analysed": 3, "restored_from_checkpoint": 0}

    # Same size and modification time, other content: that shard is analysed again.
    stat = shards[0].stat()
    data = shards[0].read_bytes()
    shards[0].write_bytes(data.replace(b'"0-0"', b'"0-X"'))
    os.utime(shards[0], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert shards[0].stat().st_size == stat.st_size
    out = tmp_path / "edited"
    assert run_audit(*shards, "--output", out, "--checkpoint-dir", checkpoints, *STAGES, *RUNNER) == 0
    assert read_summary(out)["splits"] == {"analysed": 1, "restored_from_checkpoint": 2}
    assert "0-X" in {d["id"] for d in read_documents(out)}

    # A damaged or tampered entry is ignored (and the split analysed again), never trusted.
    fresh = tmp_path / "fresh-checkpoints"
    assert run_audit(*shards, "--output", tmp_path / "fill", "--checkpoint-dir", fresh, *STAGES, *RUNNER) == 0
    entries = _entries(fresh)
    assert len(entries) == 3
    entries[0].write_text(entries[0].read_text().replace('"accounting"', '"accountin"'))
    tampered = Path(str(entries[1]).replace(".entry.json", ".skipped.ckpt"))
    tampered.write_bytes(tampered.read_bytes() + b'{"shard": "forged"}\n')
    out = tmp_path / "damaged"
    assert run_audit(*shards, "--output", out, "--checkpoint-dir", fresh, *STAGES, *RUNNER) == 0
    assert read_summary(out)["splits"] == {"analysed": 2, "restored_from_checkpoint": 1}
    assert "forged" not in {s["shard"] for s in read_skipped(out)}
    clean = tmp_path / "clean"
    assert run_audit(*shards, "--output", clean, *STAGES, *RUNNER) == 0
    assert _tables(out) == _tables(clean)


def test_checkpoint_option_errors(tmp_path: Path, capsys) -> None:
    shard = build_corpus(tmp_path / "corpus")[0]
    from corpus_audit.cli import main

    out = tmp_path / "out"
    assert main(["run", str(shard), "--output", str(out), "--checkpoint-dir", str(out / "ck")]) == 2
    assert "must not be inside --output" in capsys.readouterr().err
    assert main(["run", str(shard), "--output", str(out), "--checkpoint-dir", str(tmp_path / "ck"),
                 "--limit", "3"]) == 2
    assert "cannot be combined with --limit" in capsys.readouterr().err


def test_accumulator_encoding_round_trips_exactly() -> None:
    import numpy as np

    value = {
        ("group", "en"): [3, 120],
        (None, "fr"): (1, 2),
        "counter": Counter({"she": 2, ("he", 1): 5}),
        "set": {("a", 1), ("b", 2)},
        "float": 0.1 + 0.2,
        "big": 2**80,
        "bytes": b"\x00\xff",
        "array": np.arange(6, dtype=np.int64).reshape(2, 3),
        "nested": [{"x": [True, None, -1]}],
    }
    decoded = decode_value(json.loads(json.dumps(encode_value(value))))
    array = decoded.pop("array")
    expected = dict(value)
    assert array.dtype == np.int64 and array.tolist() == expected.pop("array").tolist()
    assert decoded == expected
    assert type(decoded["counter"]) is Counter and type(decoded[(None, "fr")]) is tuple
    assert decoded["float"] == 0.1 + 0.2


def test_encoding_refuses_unknown_types_and_tags() -> None:
    class Custom:
        pass

    with pytest.raises(CheckpointEncodingError):
        encode_value({"x": Custom()})
    for bad in ({"pickle": "gASV"}, {"nd": ["|O", [1], [1]]}, {"t": 1, "d": []}):
        with pytest.raises(ValueError):
            decode_value(bad)
