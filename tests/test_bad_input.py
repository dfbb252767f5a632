"""Bad input: the run finishes, each problem is counted by reason and written to skipped/,
and documents_read == documents_analysed + sum(documents_skipped)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import SENTENCES, assert_balanced, read_documents, read_skipped, read_summary, run_audit, write_jsonl

GOOD = {"id": "good", "text": SENTENCES["en"]}


def audit(tmp_path: Path, *inputs: Path, extra: tuple[str, ...] = (),
          exit_code: int = 0) -> tuple[dict, list[dict], list[dict]]:
    out = tmp_path / "out"
    assert run_audit(*inputs, "--output", out, *extra) == exit_code
    summary = read_summary(out)
    assert_balanced(summary)
    return summary, read_documents(out), read_skipped(out)


def test_every_bad_record_in_a_jsonl_shard_is_counted_by_reason(tmp_path: Path) -> None:
    shard = write_jsonl(tmp_path / "bad.jsonl", [
        GOOD,                                              # 0 analysed
        b'{"id": "broken", "text": "no closing brace"\n',  # 1 malformed_json
        {"id": "no-text", "body": "x"},                    # 2 missing_text_field
        {"id": "number", "text": 42},                      # 3 non_string_text
        {"id": "null", "text": None},                      # 4 missing_text_field (null)
        b'{"id": "latin1", "text": "caf\xe9"}\n',          # 5 invalid_utf8
        {"id": "empty", "text": ""},                       # 6 empty_text
        {"id": "blank", "text": " \n\t "},                 # 7 empty_text
        b"\n",                                             # 8 blank line: not a record
        b'["an", "array"]\n',                              # 9 not_a_json_object
        b'{"id": "surrogate", "text": "' + SENTENCES["fr"].encode() + b' \\ud800"}\n',  # 10 analysed
    ])
    summary, docs, skipped = audit(tmp_path, shard)
    assert summary["documents_read"] == 10
    assert summary["documents_analysed"] == 2
    assert summary["documents_skipped"] == {
        "empty_text": 2, "invalid_utf8": 1, "malformed_json": 1, "missing_text_field": 2,
        "non_string_text": 1, "not_a_json_object": 1,
    }
    assert summary["blank_lines_ignored"] == 1
    assert summary["lone_surrogates_replaced"] == 1
    assert [(d["id"], d["language"]) for d in docs] == [("good", "en"), ("surrogate", "fr")]
    assert [(s["position"], s["reason"]) for s in skipped] == [
        (1, "malformed_json"), (2, "missing_text_field"), (3, "non_string_text"), (4, "missing_text_field"),
        (5, "invalid_utf8"), (6, "empty_text"), (7, "empty_text"), (9, "not_a_json_object")]
    assert skipped[0]["excerpt"].startswith('{"id": "broken"')
    assert all(s["shard"] == str(shard) and s["stage"] == "read" for s in skipped)


def test_huge_document_is_skipped_not_fatal(tmp_path: Path) -> None:
    huge = {"id": "huge", "text": "word " * 4_000_000}  # 20 MB single document
    shard = write_jsonl(tmp_path / "huge.jsonl", [GOOD, huge, GOOD])
    summary, docs, skipped = audit(tmp_path, shard)
    assert summary["documents_skipped"] == {"document_too_large": 1}
    assert summary["documents_analysed"] == 2
    assert [s["position"] for s in skipped] == [1]
    assert len(skipped[0]["excerpt"]) <= 200
    # Raising the limit analyses it.
    out = tmp_path / "out-big"
    assert run_audit(shard, "--output", out, "--max-document-bytes", "30000000") == 0
    assert read_summary(out)["documents_analysed"] == 3


def test_truncated_gzip_keeps_what_was_readable_and_counts_the_rest(tmp_path: Path) -> None:
    records = [{"id": f"d{i}", "text": SENTENCES["en"] + f" Number {i}."} for i in range(2000)]
    full = write_jsonl(tmp_path / "full.jsonl.gz", records, "gz").read_bytes()
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(full[: len(full) // 2])
    summary, docs, skipped = audit(tmp_path, truncated)
    assert summary["documents_skipped"] == {"truncated_or_corrupt_file": 1}
    assert 0 < summary["documents_analysed"] < 2000
    assert [d["position"] for d in docs] == list(range(summary["documents_analysed"]))
    assert skipped[0]["reason"] == "truncated_or_corrupt_file"
    assert "EOFError" in skipped[0]["detail"]


def test_a_gz_name_holding_plain_text_is_read_as_plain_text(tmp_path: Path) -> None:
    # Issue 16: the compression is read from the magic bytes, not the suffix.
    fake = write_jsonl(tmp_path / "plain.jsonl.gz", [GOOD, GOOD])
    summary, docs, skipped = audit(tmp_path, fake)
    assert summary["documents_analysed"] == 2 and summary["documents_skipped"] == {}


def test_gzip_magic_then_garbage_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_bytes(b"\x1f\x8b" + b"this is not gzip data\n" * 10)
    summary, docs, skipped = audit(tmp_path, fake, write_jsonl(tmp_path / "ok.jsonl", [GOOD]))
    assert summary["documents_skipped"] == {"truncated_or_corrupt_file": 1}
    assert summary["documents_analysed"] == 1


def test_empty_files_are_counted(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with gzip.GzipFile(tmp_path / "empty.jsonl.gz", "wb", mtime=0):
        pass
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n")
    write_jsonl(tmp_path / "ok.jsonl", [GOOD])
    summary, docs, skipped = audit(tmp_path, tmp_path)
    assert summary["documents_skipped"] == {"empty_file": 3, "empty_text": 1}
    assert summary["documents_analysed"] == 1
    assert sorted(Path(s["shard"]).name for s in skipped) == ["blank.txt", "empty.jsonl", "empty.jsonl.gz",
                                                              "empty.txt"]


def test_invalid_utf8_text_file(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 au lait")
    # Nothing analysed: outputs are written, and the exit code says so (1).
    summary, _, skipped = audit(tmp_path, tmp_path / "bad.txt", exit_code=1)
    assert summary["documents_skipped"] == {"invalid_utf8": 1}
    assert skipped[0]["excerpt"] == "caf\\xe9 au lait"


def test_parquet_without_text_column_counts_every_row(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pq.write_table(pa.table({"id": ["n1", "n2"], "text": pa.array([1, 2], pa.int64())}), corpus / "ints.parquet")
    pq.write_table(pa.table({"text": pa.array([SENTENCES["es"], None, "  "], pa.string())}),
                   corpus / "nulls.parquet")
    (corpus / "corrupt.parquet").write_bytes(b"PAR1 definitely not parquet")
    summary, docs, skipped = audit(tmp_path, corpus)
    assert summary["documents_skipped"] == {"empty_text": 1, "missing_text_field": 1, "non_string_text": 2,
                                            "unreadable_file": 1}
    assert [d["language"] for d in docs] == ["es"]
    # A Parquet file whose schema has no --text-field column is known before reading (issue 16):
    # one line naming its columns, exit 2, nothing written.
    notext = tmp_path / "notext.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "content": ["x", "y", "z"]}), notext)
    assert run_audit(notext, "--output", tmp_path / "out2") == 2
    error = capsys.readouterr().err
    assert "content" in error and "notext.parquet" in error
    assert not (tmp_path / "out2" / "summary.json").exists()


def test_skipped_records_are_valid_json_lines(tmp_path: Path) -> None:
    shard = write_jsonl(tmp_path / "bad.jsonl", [b'{"text": "\xff\xfe"}\n', b"{oops\n", GOOD])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    lines = [line for p in sorted((out / "skipped").glob("*.jsonl")) for line in p.read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"shard", "position", "id", "stage", "reason", "detail", "excerpt"}


def test_oversized_line_is_measured_without_being_parsed(tmp_path: Path) -> None:
    big = {"id": "big", "text": "x" * 3_000_000}
    shard = write_jsonl(tmp_path / "big.jsonl", [GOOD, big, GOOD])
    summary, docs, skipped = audit(tmp_path, shard, extra=("--max-document-bytes", "1000"))
    assert summary["documents_skipped"] == {"document_too_large": 1}
    line_size = len(json.dumps(big).encode())  # the record without its "\n" (trust case 14)
    assert skipped[0]["detail"].startswith(f"{line_size} bytes > --max-document-bytes 1000")
    assert summary["bytes_read"] == shard.stat().st_size  # the skipped line's bytes are counted too
    assert [d["position"] for d in docs] == [0, 2]


def test_utf8_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\r\n" + json.dumps(GOOD).encode() + b"\r\n")
    summary, docs, _ = audit(tmp_path, path)
    assert summary["documents_analysed"] == 2 and summary["documents_skipped"] == {}


def test_parquet_undecodable_cell_skips_only_that_row(tmp_path: Path) -> None:
    good = SENTENCES["en"].encode()
    raw = pa.array([good, good, b"caf\xe9", good], pa.binary())
    table = pa.table({"id": ["a", "b", "c", "d"], "text": raw.view(pa.string())})
    pq.write_table(table, tmp_path / "bad-utf8.parquet", row_group_size=2)
    summary, docs, skipped = audit(tmp_path, tmp_path / "bad-utf8.parquet")
    assert summary["documents_read"] == 4
    assert summary["documents_skipped"] == {"invalid_utf8": 1}
    assert [d["id"] for d in docs] == ["a", "b", "d"]
    assert [(s["position"], s["id"]) for s in skipped] == [(2, "c")]
    assert summary["bytes_read"] == 3 * len(good)  # good rows of the batch with the bad cell are measured


def test_corrupt_row_group_counts_every_lost_row() -> None:
    from corpus_audit.documents import ReadAccounting
    from corpus_audit.readers import BatchBuilder, ReadConfig
    from corpus_audit.readers.arrow import read_arrow_batches

    def batches():
        yield pa.record_batch({"text": [SENTENCES["en"]] * 3})
        raise OSError("Corrupt snappy compressed data.")

    accounting = ReadAccounting()
    builder = BatchBuilder("s.parquet", ReadConfig(), accounting)
    items = list(read_arrow_batches(batches(), ["text"], 100, builder, None, expected_rows=10))
    assert accounting.documents_read == 10
    assert accounting.documents_skipped == {"truncated_or_corrupt_file": 7}
    assert items[0].position == 103 and "7 rows from here unreadable" in items[0].detail
    assert len(builder.batch) == 3


def test_string_view_and_dictionary_text_columns_are_measured(tmp_path: Path) -> None:
    text = SENTENCES["fr"]
    pq.write_table(pa.table({"text": pa.array([text, text]).dictionary_encode()}), tmp_path / "dict.parquet")
    summary, docs, _ = audit(tmp_path, tmp_path / "dict.parquet", extra=("--max-document-bytes", "20"), exit_code=1)
    assert summary["documents_skipped"] == {"document_too_large": 2}
    view = pa.table({"text": pa.array([text], pa.string_view())})
    from corpus_audit.readers.arrow import text_values

    assert text_values(view.column("text").chunk(0)) == ([text], [len(text.encode())])


def test_symlinked_directories_are_followed_and_hidden_files_listed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_jsonl(real / "a.jsonl", [GOOD])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "linked").symlink_to(real, target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)  # a cycle must not loop
    write_jsonl(corpus / "b.jsonl", [GOOD])
    (corpus / ".hidden").mkdir()
    write_jsonl(corpus / ".hidden" / "c.jsonl", [GOOD])
    summary, docs, _ = audit(tmp_path, corpus)
    assert summary["documents_analysed"] == 2
    assert summary["ignored_files"] == [str(corpus / ".hidden" / "c.jsonl")]
    assert summary["ignored_files_count"] == 1
