"""Readers: every input format gives the same documents, ids, positions and groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SENTENCES, assert_balanced, read_documents, read_summary, run_audit, write_jsonl
from corpus_audit.documents import ReadAccounting, ShardSplit
from corpus_audit.errors import InputError
from corpus_audit.readers import (
    FORMAT_HF,
    FORMAT_JSONL,
    FORMAT_PARQUET,
    FORMAT_TEXT,
    ReadConfig,
    detect_format,
    expand_inputs,
    plan_splits,
    read_split,
)

RECORDS = [
    {"id": f"doc-{i}", "text": SENTENCES[lang], "source": "web" if i % 2 else "news"}
    for i, lang in enumerate(["en", "fr", "de", "es", "ru"])
]


@pytest.mark.parametrize("suffix,compress", [(".jsonl", None), (".jsonl.gz", "gz"), (".jsonl.zst", "zst"),
                                             (".ndjson", None)])
def test_jsonl_formats_read_every_record(tmp_path: Path, suffix: str, compress: str | None) -> None:
    shard = write_jsonl(tmp_path / f"shard{suffix}", RECORDS, compress)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--group-by", "source") == 0
    docs = read_documents(out)
    assert [d["id"] for d in docs] == [r["id"] for r in RECORDS]
    assert [d["position"] for d in docs] == [0, 1, 2, 3, 4]
    assert [d["group"] for d in docs] == [r["source"] for r in RECORDS]
    assert [d["language"] for d in docs] == ["en", "fr", "de", "es", "ru"]
    summary = read_summary(out)
    assert summary["documents_read"] == 5 and summary["documents_analysed"] == 5
    # bytes_read counts the uncompressed record bytes, whatever the compression.
    assert summary["bytes_read"] == write_jsonl(tmp_path / "plain.jsonl", RECORDS).stat().st_size
    assert_balanced(summary)


def test_bytes_read_counts_uncompressed_record_bytes(tmp_path: Path) -> None:
    plain = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    write_jsonl(tmp_path / "b.jsonl.gz", RECORDS, "gz")
    accounting = ReadAccounting()
    for _ in read_split(ShardSplit(str(tmp_path / "b.jsonl.gz"), FORMAT_JSONL), ReadConfig(), accounting):
        pass
    assert accounting.bytes_read == plain.stat().st_size


def test_parquet_row_groups_become_splits_with_global_positions(tmp_path: Path) -> None:
    texts = [SENTENCES["en"], SENTENCES["fr"], SENTENCES["de"], SENTENCES["es"], SENTENCES["ru"]] * 4
    table = pa.table({"text": texts, "source": ["a", "b"] * 10})  # no id column: ids fall back
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, row_group_size=3)
    config = ReadConfig(rows_per_split=6)
    splits = plan_splits(expand_inputs([str(path)])[0][0], config)
    assert [(s.row_start, s.row_stop) for s in splits] == [(0, 2), (2, 4), (4, 6), (6, 7)]
    positions: list[int] = []
    accounting = ReadAccounting()
    for split in splits:
        for item in read_split(split, config, accounting):
            positions.extend(item.positions)
    assert positions == list(range(20))

    out = tmp_path / "out"
    assert run_audit(path, "--output", out) == 0
    docs = read_documents(out)
    assert [d["id"] for d in docs] == [f"{path}:{i}" for i in range(20)]
    assert [d["language"] for d in docs] == ["en", "fr", "de", "es", "ru"] * 4


def test_text_files_are_one_document_each(tmp_path: Path) -> None:
    corpus = tmp_path / "books"
    corpus.mkdir()
    (corpus / "a.txt").write_text(SENTENCES["de"] + "\n\n" + SENTENCES["de"] + "\n")
    (corpus / "b.txt").write_text(SENTENCES["ja"])
    (corpus / "notes.md").write_text("ignored: unsupported suffix")
    out = tmp_path / "out"
    assert run_audit(corpus, "--output", out) == 0
    docs = read_documents(out)
    assert [(Path(d["shard"]).name, d["id"], d["language"]) for d in docs] == [
        ("a.txt", f"{corpus / 'a.txt'}:0", "de"), ("b.txt", f"{corpus / 'b.txt'}:0", "ja")]
    summary = read_summary(out)
    assert summary["ignored_files"] == [str(corpus / "notes.md")]


def test_huggingface_dataset_and_dataset_dict_on_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"id": [r["id"] for r in RECORDS], "text": [r["text"] for r in RECORDS],
                                          "source": [r["source"] for r in RECORDS]})
    dataset.save_to_disk(str(tmp_path / "ds"))
    datasets.DatasetDict({"train": dataset, "test": dataset.select([0, 1])}).save_to_disk(str(tmp_path / "dd"))

    out = tmp_path / "out"
    assert run_audit(tmp_path / "ds", "--output", out) == 0
    assert [d["language"] for d in read_documents(out)] == ["en", "fr", "de", "es", "ru"]

    inputs, _ = expand_inputs([str(tmp_path / "dd")])
    assert [(Path(i.path).name, i.format) for i in inputs] == [("test", FORMAT_HF), ("train", FORMAT_HF)]
    out2 = tmp_path / "out2"
    assert run_audit(tmp_path / "dd", "--output", out2) == 0
    assert read_summary(out2)["documents_analysed"] == 7

    # Row-range splits of a HF dataset keep global positions.
    accounting = ReadAccounting()
    splits = plan_splits(inputs[1], ReadConfig(rows_per_split=2))
    assert [(s.row_start, s.row_stop) for s in splits] == [(0, 2), (2, 4), (4, 5)]
    positions = [p for s in splits for b in read_split(s, ReadConfig(), accounting) for p in b.positions]
    assert positions == [0, 1, 2, 3, 4]


def test_globs_directories_and_custom_fields(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    write_jsonl(tmp_path / "a" / "x.jsonl", [{"key": "k1", "body": SENTENCES["en"]}])
    write_jsonl(tmp_path / "a" / "y.jsonl.gz", [{"key": "k2", "body": SENTENCES["fr"]}], "gz")
    out = tmp_path / "out"
    assert run_audit(str(tmp_path / "a" / "*.jsonl*"), "--output", out, "--text-field", "body",
                     "--id-field", "key") == 0
    assert [(d["id"], d["language"]) for d in read_documents(out)] == [("k1", "en"), ("k2", "fr")]
    inputs, _ = expand_inputs([str(tmp_path / "a"), str(tmp_path / "a" / "x.jsonl")])
    assert len(inputs) == 2  # de-duplicated


def test_format_detection() -> None:
    assert detect_format("a/b.JSONL.GZ") == FORMAT_JSONL
    assert detect_format("x.jsonl.zst") == FORMAT_JSONL
    assert detect_format("x.parquet") == FORMAT_PARQUET
    assert detect_format("x.txt") == FORMAT_TEXT
    assert detect_format("x.csv") is None


def test_expand_inputs_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no input matched"):
        expand_inputs([str(tmp_path / "missing-*.jsonl")])
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="unsupported input file"):
        expand_inputs([str(tmp_path / "data.csv")])


def test_limit_stops_after_n_records_in_input_order(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", RECORDS)
    write_jsonl(tmp_path / "b.jsonl", RECORDS)
    out = tmp_path / "out"
    assert run_audit(tmp_path, "--output", out, "--limit", "7") == 0
    summary = read_summary(out)
    assert summary["documents_read"] == 7
    assert_balanced(summary)
    docs = read_documents(out)
    assert [(Path(d["shard"]).name, d["position"]) for d in docs] == (
        [("a.jsonl", i) for i in range(5)] + [("b.jsonl", 0), ("b.jsonl", 1)])
