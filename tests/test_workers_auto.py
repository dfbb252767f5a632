"""``--workers auto`` (issue 17): one worker below the break-even input size, else
min(usable cores, splits); the chosen count and its rule are recorded in summary.json."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from conftest import SENTENCES, read_summary, write_jsonl
from corpus_audit.cli import main, plan
from corpus_audit.cli.plan import (
    AUTO_BREAK_EVEN_BYTES,
    COMPRESSION_FACTOR,
    WORKERS_GIVEN,
    choose_workers,
    estimate_input_bytes,
)
from corpus_audit.readers import InputFile, ReadConfig

CORES = len(os.sched_getaffinity(0))


def _records(n: int) -> list[dict]:
    return [{"id": f"d{i}", "text": SENTENCES["en" if i % 2 else "de"]} for i in range(n)]


def test_estimate_counts_plain_bytes_and_scales_compressed_files(tmp_path: Path) -> None:
    plain = write_jsonl(tmp_path / "a.jsonl", _records(4))
    packed = write_jsonl(tmp_path / "b.jsonl.gz", _records(6), compress="gz")
    # A gzip file named .jsonl is still compressed: the first bytes decide, not the suffix.
    misnamed = tmp_path / "c.jsonl"
    misnamed.write_bytes(gzip.compress(b'{"id": "x", "text": "hello"}\n'))
    inputs = [InputFile(str(plain), "jsonl"), InputFile(str(packed), "jsonl"), InputFile(str(misnamed), "jsonl")]
    expected = (plain.stat().st_size + COMPRESSION_FACTOR["compressed"] * packed.stat().st_size
                + COMPRESSION_FACTOR["compressed"] * misnamed.stat().st_size)
    assert estimate_input_bytes(inputs) == int(expected)
    assert estimate_input_bytes([InputFile("gs://bucket/a.jsonl", "jsonl")]) is None


def test_a_given_count_is_used_as_given(tmp_path: Path) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", _records(3))
    assert choose_workers(3, [InputFile(str(shard), "jsonl")], ReadConfig(), "DirectRunner", None, []) == (
        3, WORKERS_GIVEN)


def test_auto_below_break_even_is_one_worker(tmp_path: Path) -> None:
    shards = [InputFile(str(write_jsonl(tmp_path / f"{i}.jsonl", _records(3))), "jsonl") for i in range(3)]
    workers, rule = choose_workers("auto", shards, ReadConfig(), "DirectRunner", None, [])
    assert workers == 1
    assert rule.startswith("auto:") and f"{AUTO_BREAK_EVEN_BYTES / 1e6:g} MB break-even" in rule


def test_auto_above_break_even_uses_cores_and_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "AUTO_BREAK_EVEN_BYTES", 1)  # every input is "large"
    shards = [InputFile(str(write_jsonl(tmp_path / f"{i}.jsonl", _records(3))), "jsonl") for i in range(3)]
    workers, rule = choose_workers("auto", shards, ReadConfig(), "DirectRunner", None, [])
    assert workers == min(CORES, 3)  # one split per JSON-lines file
    assert f"min(usable cores {CORES}, splits 3)" in rule
    one, _ = choose_workers("auto", shards[:1], ReadConfig(), "DirectRunner", None, [])
    assert one == 1
    # Only one unit of work, or workers the runner / a Beam option chooses: 1.
    assert choose_workers("auto", shards, ReadConfig(), "DirectRunner", 5, [])[0] == 1
    assert choose_workers("auto", shards, ReadConfig(), "DataflowRunner", None, [])[0] == 1
    assert choose_workers("auto", shards, ReadConfig(), "DirectRunner", None, ["--direct_num_workers=2"])[0] == 1


def test_run_records_the_chosen_count_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", _records(4))
    assert main(["run", str(shard), "--output", str(tmp_path / "auto"), "--stages", "langid",
                 "--workers", "auto"]) == 0
    settings = read_summary(tmp_path / "auto")["settings"]
    assert settings["workers"] == 1
    assert settings["workers_rule"].startswith("auto: ~0.0 MB of input (estimated), below the")
    assert "workers 1 (auto: ~0.0 MB" in capsys.readouterr().err
    assert main(["run", str(shard), "--output", str(tmp_path / "given"), "--stages", "langid", "--quiet",
                 "--workers", "1"]) == 0
    given = read_summary(tmp_path / "given")["settings"]
    assert (given["workers"], given["workers_rule"]) == (1, WORKERS_GIVEN)


def test_workers_must_be_a_number_or_auto(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", _records(2))
    assert main(["run", str(shard), "--output", str(tmp_path / "o"), "--workers", "many"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("corpus-audit: error: ") and "expected a number or auto, got 'many'" in err


def test_an_absurd_worker_count_is_refused_before_any_process_starts(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    shard = write_jsonl(tmp_path / "a.jsonl", _records(2))
    assert main(["run", str(shard), "--output", str(tmp_path / "o"), "--workers", "99999"]) == 2
    assert "at most 256 local worker processes" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_memory_inputs_are_read_by_this_process_only() -> None:
    from corpus_audit.errors import UsageError

    inputs = [InputFile("memory://corpus/a.jsonl", "jsonl"), InputFile("memory://corpus/b.jsonl", "jsonl")]
    workers, rule = choose_workers("auto", inputs, ReadConfig(), "DirectRunner", None, [])
    assert workers == 1 and "memory://" in rule
    with pytest.raises(UsageError, match="memory:// inputs exist only in this process"):
        choose_workers(2, inputs, ReadConfig(), "DirectRunner", None, [])


def test_forked_local_workers_break_even_lower_than_beams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process engine's workers are forked (nothing imported or loaded again), so two of
    them pay off on smaller inputs than Beam's; an input between the two break-evens gets
    several local workers but one Beam worker."""
    from corpus_audit.cli.plan import LOCAL_BREAK_EVEN_BYTES

    assert LOCAL_BREAK_EVEN_BYTES < AUTO_BREAK_EVEN_BYTES
    monkeypatch.setattr(plan, "can_fork", lambda: True)
    size = (LOCAL_BREAK_EVEN_BYTES + AUTO_BREAK_EVEN_BYTES) // 2
    shards = []
    for i in range(2):
        path = tmp_path / f"{i}.jsonl"
        path.write_bytes(b'{"text": "x"}\n' * (size // 2 // 14 + 1))
        shards.append(InputFile(str(path), "jsonl"))
    local, local_rule = choose_workers("auto", shards, ReadConfig(), "auto", None, [])
    assert local == min(CORES, 2) and f"{LOCAL_BREAK_EVEN_BYTES / 1e6:g} MB break-even" in local_rule
    beam, beam_rule = choose_workers("auto", shards, ReadConfig(), "DirectRunner", None, [])
    assert beam == 1 and f"{AUTO_BREAK_EVEN_BYTES / 1e6:g} MB break-even" in beam_rule
    # A process running threads cannot fork: Beam's break-even applies.
    monkeypatch.setattr(plan, "can_fork", lambda: False)
    assert choose_workers("auto", shards, ReadConfig(), "auto", None, [])[0] == 1
