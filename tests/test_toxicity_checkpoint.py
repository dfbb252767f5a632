"""Scored toxicity with ``--checkpoint-dir``: each scored batch is kept (type-tagged JSON, no
pickle) under a key of its content, the settings and the model's sha256; a run killed mid-way
and run again scores only the rest, and its tables and documents equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SENTENCES, read_documents, read_summary, run_audit, write_jsonl
from corpus_audit.transforms.toxicity_model import LoadedClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

TESTS = Path(__file__).resolve().parent
WORDS = "you are we they kind stupid nice hate love people good bad the a".split()
SHARDS = 4
ARGS = ("--stages", "langid,toxicity", "--toxicity-sample-rate", "1", "--batch-documents", "2",
        "--direct_running_mode", "in_memory")
# The CLI in a process of its own (to be killed), each scoring call slowed down.
SLOW_CLI = ("import sys, time; from corpus_audit.transforms.toxicity_model import LoadedClassifier as C; "
            "score = C.score_lines; C.score_lines = lambda self, lines: (time.sleep(float(sys.argv[1])), "
            "score(self, lines))[1]; from corpus_audit.cli import main; sys.exit(main(sys.argv[2:]))")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory = tmp_path_factory.mktemp("toxicity-ckpt") / "tiny-bert"
    directory.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(str(directory / "vocab.txt"), model_max_length=16).save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, initializer_range=0.5)
    BertForSequenceClassification(config).save_pretrained(directory)
    return directory


def _corpus(root: Path) -> list[Path]:
    root.mkdir()
    shards = []
    for s in range(SHARDS):
        records = [{"id": f"{s}-{i}", "text": "\n".join(" ".join(WORDS[(s * 7 + i * 3 + k * j) % len(WORDS)]
                                                                 for k in range(1 + (i + j) % 9))
                                                        for j in range(1 + i % 4)) + "\n" + SENTENCES["en"]}
                   for i in range(6)]
        shards.append(write_jsonl(root / f"shard-{s}.jsonl", records))
    return shards


def _scored_entries(checkpoints: Path) -> list[Path]:
    return sorted(checkpoints.glob("*.scored.json"))


def _tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "tables").iterdir())}


def test_killed_scored_run_resumes_and_equals_an_uninterrupted_run(tmp_path: Path, model_dir: Path,
                                                                  monkeypatch) -> None:
    shards = _corpus(tmp_path / "corpus")
    model = ("--toxicity-model", str(model_dir))
    reference = tmp_path / "reference"
    assert run_audit(*shards, "--output", reference, *model, *ARGS) == 0
    batches = SHARDS * 3  # 6 documents per shard, 2 per batch

    checkpoints = tmp_path / "checkpoints"
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, "0.5", "run", *map(str, shards), "--output", str(tmp_path / "killed"),
         "--checkpoint-dir", str(checkpoints), *model, *ARGS, "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # start-up alone can take a minute on a loaded 2-core machine
    while len(_scored_entries(checkpoints)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(_scored_entries(checkpoints))
    assert 3 <= finished < batches, f"killed after {finished} batches ({process.stderr.read()[-2000:]!r})"
    entry = json.loads(_scored_entries(checkpoints)[0].read_text())
    assert set(entry) == {"format_version", "settings", "key", "predictions"}  # type-tagged JSON, no pickle

    scored_lines: list[int] = []
    score = LoadedClassifier.score_lines

    def counting(self, lines):
        scored_lines.append(len(lines))
        return score(self, lines)

    monkeypatch.setattr(LoadedClassifier, "score_lines", counting)
    resumed = tmp_path / "resumed"
    assert run_audit(*shards, "--output", resumed, "--checkpoint-dir", checkpoints, *model, *ARGS) == 0
    stage, expected = read_summary(resumed)["stages"]["toxicity"], read_summary(reference)["stages"]["toxicity"]
    assert stage["batches_restored_from_checkpoint"] >= finished
    restored = stage["batches_restored_from_checkpoint"]
    assert len(scored_lines) == batches - restored  # one scoring call per batch not restored
    assert sum(scored_lines) < expected["lines_scored"]
    assert _tables(resumed) == _tables(reference)
    assert read_documents(resumed) == read_documents(reference)
    for key in ("documents_scored", "lines_scored", "truncated_lines", "toxic_documents"):
        assert stage[key] == expected[key], key

    # Everything stored now: nothing is scored again.
    scored_lines.clear()
    assert run_audit(*shards, "--output", tmp_path / "again", "--checkpoint-dir", checkpoints, *model, *ARGS) == 0
    assert scored_lines == [] and _tables(tmp_path / "again") == _tables(reference)


def test_damaged_or_foreign_scored_entries_are_scored_again(tmp_path: Path, model_dir: Path, monkeypatch) -> None:
    shards = _corpus(tmp_path / "corpus")[:1]
    checkpoints = tmp_path / "checkpoints"
    model = ("--toxicity-model", str(model_dir))
    first = tmp_path / "first"
    assert run_audit(*shards, "--output", first, "--checkpoint-dir", checkpoints, *model, *ARGS) == 0
    entries = _scored_entries(checkpoints)
    assert len(entries) == 3
    entries[0].write_text("not json")
    forged = json.loads(entries[1].read_text())
    forged["predictions"] = [{"t": [{"f": (2.0).hex()}, 1, 0]}] * len(forged["predictions"])  # score 2: invalid
    entries[1].write_text(json.dumps(forged))
    calls: list[int] = []
    score = LoadedClassifier.score_lines
    monkeypatch.setattr(LoadedClassifier, "score_lines", lambda self, lines: (calls.append(1), score(self, lines))[1])
    second = tmp_path / "second"
    assert run_audit(*shards, "--output", second, "--checkpoint-dir", checkpoints, *model, *ARGS) == 0
    assert len(calls) == 2 and read_summary(second)["stages"]["toxicity"]["batches_restored_from_checkpoint"] == 1
    assert _tables(second) == _tables(first)
