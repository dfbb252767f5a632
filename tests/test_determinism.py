"""Determinism: the same input gives byte-identical tables whatever the engine (Beam's runner
modes, the in-process engine), the number of workers or the order the shards are named in (Beam may merge the per-split
accumulators in any order; tables must not show it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SENTENCES, assert_balanced, read_summary, run_audit, write_jsonl

LANGS = sorted(SENTENCES)
ROOT = Path(__file__).resolve().parent.parent


def _text(i: int) -> str:
    """A document mixing a few fixture sentences (varied lengths, newlines, several languages)."""
    first = SENTENCES[LANGS[i % len(LANGS)]]
    second = SENTENCES[LANGS[(i * 3 + 1) % len(LANGS)]]
    return first if i % 4 else f"{first}\n{first} {i}\n{second}"


def build_corpus(root: Path) -> list[Path]:
    """Several shards of every format, each with some bad records."""
    root.mkdir()
    shards: list[Path] = []
    for s in range(3):
        records: list = [{"id": f"j{s}-{i}", "text": _text(i + s), "source": f"src{i % 3}"} for i in range(30)]
        records.insert(5, b'{"id": "broken", "text": \n')
        records.insert(9, {"id": f"j{s}-missing", "body": "no text"})
        records.insert(12, {"id": f"j{s}-empty", "text": "  "})
        shards.append(write_jsonl(root / f"part-{s}.jsonl", records))
    shards.append(write_jsonl(root / "zipped.jsonl.gz",
                              [{"text": _text(i), "source": "gz"} for i in range(25)] + [b"[1, 2]\n"], "gz"))
    table = pa.table({"id": [f"p{i}" for i in range(40)],
                      "text": [_text(i) if i % 13 else None for i in range(40)],
                      "source": [f"src{i % 2}" for i in range(40)]})
    pq.write_table(table, root / "rows.parquet", row_group_size=7)
    shards.append(root / "rows.parquet")
    for i in range(3):
        (root / f"doc-{i}.txt").write_text(_text(i * 5), encoding="utf-8")
        shards.append(root / f"doc-{i}.txt")
    (root / "latin1.txt").write_bytes(b"caf\xe9 cr\xe8me")
    shards.append(root / "latin1.txt")
    return shards


def _run_fresh(*args: object) -> str:
    """``corpus-audit run ARGS --quiet`` in a new interpreter; what it printed on stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "corpus_audit", "run", *map(str, args), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def _rows(directory: Path, pattern: str) -> list[str]:
    """Every row of the files as canonical JSON, sorted (the files' split is not compared)."""
    rows: list[str] = []
    for path in sorted(directory.glob(pattern)):
        if path.suffix == ".parquet":
            rows.extend(json.dumps(r, sort_keys=True, default=str) for r in pq.read_table(path).to_pylist())
        else:
            rows.extend(json.dumps(json.loads(line), sort_keys=True) for line in path.read_text().splitlines())
    return sorted(rows)


# (name, arguments after the shards, shards reversed?)
VARIANTS = [
    ("in_memory", ["--direct_running_mode", "in_memory"], False),
    ("multi_threading", ["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"], False),
    ("multi_processing_1", ["--direct_running_mode", "multi_processing", "--direct_num_workers", "1"], False),
    ("multi_processing_2", ["--runner", "DirectRunner", "--workers", "2"], False),
    ("reversed_order", ["--direct_running_mode", "in_memory"], True),
    # Beam's portable runner, in this process: the Fn API path Flink, Spark and Dataflow Runner v2 take.
    ("portable_loopback", ["--runner", "PortableRunner", "--job_endpoint", "embed", "--environment_type", "LOOPBACK"],
     False),
    # The in-process engine (no Beam): the default for one worker, and asked for by name.
    ("local_default", ["--workers", "1"], False),
    ("local_reversed", ["--runner", "local"], True),
    ("local_2_workers", ["--workers", "2"], False),
    ("local_3_workers_reversed", ["--runner", "local", "--workers", "3"], True),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("determinism")
    shards = build_corpus(base / "corpus")
    outputs: dict[str, Path] = {}
    for name, extra, reverse in VARIANTS:
        out = base / name
        ordered = list(reversed(shards)) if reverse else shards
        if name == "multi_processing_2":
            # In a fresh process, to see everything a Beam run logs: nothing beyond the errors.
            stderr = _run_fresh(*ordered, "--output", out, "--group-by", "source", *extra)
            assert "TaggedOutput" not in stderr and "WARNING" not in stderr, stderr
        elif name.startswith("local_") and "workers" in name:
            # Forked workers: in a fresh process (this one may run Beam's threads, and the engine
            # forks only a process without threads).
            _run_fresh(*ordered, "--output", out, "--group-by", "source", *extra)
        else:
            assert run_audit(*ordered, "--output", out, "--group-by", "source", *extra) == 0, name
        outputs[name] = out
    return outputs


def test_tables_are_byte_identical_on_every_runner_mode_and_shard_order(runs: dict[str, Path]) -> None:
    reference = runs["in_memory"]
    names = sorted(p.name for p in (reference / "tables").iterdir())
    assert {Path(n).suffix for n in names} == {".csv", ".parquet", ".md"}
    assert "languages_by_source.csv" in names
    for variant, out in runs.items():
        assert sorted(p.name for p in (out / "tables").iterdir()) == names, variant
        for name in names:
            assert (out / "tables" / name).read_bytes() == (reference / "tables" / name).read_bytes(), \
                f"{variant}: tables/{name} differs"
        if (reference / "datasheet.md").exists():  # written by the reports, when present
            assert (out / "datasheet.md").read_bytes() == (reference / "datasheet.md").read_bytes(), variant


def test_documents_and_skipped_hold_the_same_rows(runs: dict[str, Path]) -> None:
    reference = runs["in_memory"]
    documents = _rows(reference / "documents", "*.parquet")
    skipped = _rows(reference / "skipped", "*.jsonl")
    summary = read_summary(reference)
    assert_balanced(summary)
    # Independent count: 3×30 + 25 + 36 (40 minus 4 nulls) + 3 text files analysed.
    assert summary["documents_analysed"] == len(documents) == 90 + 25 + 36 + 3
    assert len(skipped) == sum(summary["documents_skipped"].values()) == 3 * 3 + 1 + 4 + 1
    for variant, out in runs.items():
        assert _rows(out / "documents", "*.parquet") == documents, variant
        assert _rows(out / "skipped", "*.jsonl") == skipped, variant
        other = read_summary(out)
        for key in ("documents_read", "documents_analysed", "documents_skipped", "bytes_read", "tables"):
            assert other[key] == summary[key], (variant, key)


def test_each_run_records_the_engine_that_ran_it(runs: dict[str, Path]) -> None:
    settings = {name: read_summary(out)["settings"] for name, out in runs.items()}
    assert settings["local_default"]["runner"] == settings["local_reversed"]["runner"] == "local"
    assert settings["local_default"]["runner_rule"] == "auto: no Beam options: in this process, without Beam"
    assert settings["local_2_workers"]["runner"] == "local"
    assert settings["local_2_workers"]["runner_rule"] == (
        "auto: no Beam options: 2 worker processes forked from this one, without Beam")
    assert settings["local_reversed"]["runner_rule"] == "given: --runner local"
    assert settings["in_memory"]["runner"] == "DirectRunner"
    assert settings["in_memory"]["runner_rule"].startswith("auto: Beam's DirectRunner for Beam pipeline options")
    assert settings["multi_processing_2"]["runner_rule"] == "given: --runner"
