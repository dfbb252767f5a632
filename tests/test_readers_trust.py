"""Readers under hostile input (issues 14, 16, 21): fast unit tests of the public reader API,
without running a pipeline."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_audit.documents import ReadAccounting, ShardSplit, SkipRecord, group_key
from corpus_audit.errors import InputError
from corpus_audit.readers import (
    FORMAT_JSONL,
    ReadConfig,
    check_text_field,
    detect_format,
    discover_inputs,
    expand_inputs,
    read_split,
)
from corpus_audit.rundir.tables import table_to_csv, table_to_markdown
from corpus_audit.sampling import is_sampled, sample_threshold

LINES = [json.dumps({"id": f"d{i}", "text": f"document number {i}"}).encode() + b"\n" for i in range(50)]


def _read(path: Path, **config) -> tuple[list, list[SkipRecord], ReadAccounting]:
    accounting = ReadAccounting()
    documents, skips = [], []
    for item in read_split(ShardSplit(str(path), FORMAT_JSONL), ReadConfig(**config), accounting):
        if isinstance(item, SkipRecord):
            skips.append(item)
        else:
            documents.extend(zip(item.ids, item.texts, item.groups))
    accounting.documents_analysed = len(documents)
    assert accounting.is_balanced()
    return documents, skips, accounting


def test_group_keys_are_canonical_and_typed() -> None:
    assert group_key("x") == "x" and group_key("") == ""
    assert group_key(None, present=False) == "(missing)" and group_key(None) == "(null)"
    assert group_key(5) == "5 (number)" and group_key("5") == "5"
    assert group_key(True) == "true (boolean)" and group_key("True") == "True"
    assert group_key([1, 2]) == "[1,2] (array)"
    assert group_key({"b": 1, "a": [True]}) == '{"a":[true],"b":1} (object)'
    assert group_key("\ud800x") == "\ufffdx"  # always writable as UTF-8


def test_table_cells_are_safe_in_markdown_and_csv() -> None:
    table = pa.table({"group": ["a\nb|c", "=HYPERLINK(1)", "-1", "@x", "\tx", "plain"], "documents": [1, -2, 3, 4, 5, 6]})
    csv_text = table_to_csv(table).decode()
    assert "'=HYPERLINK(1)" in csv_text and "'-1" in csv_text and "'@x" in csv_text and "'\tx" in csv_text
    assert ",-2" in csv_text  # numbers are not altered
    markdown = table_to_markdown(table, "t", []).decode()
    assert "a<br>b\\|c" in markdown
    assert len([line for line in markdown.splitlines() if line.startswith("|")]) == 2 + table.num_rows
    assert "'=" not in markdown


@pytest.mark.parametrize("name, opener", [("c4.json.gz", gzip.open), ("a.json.bz2", bz2.open), ("a.jsonl.xz", lzma.open),
                                          ("a.json", open)])
def test_json_names_and_compressions_are_jsonl(tmp_path: Path, name: str, opener) -> None:
    path = tmp_path / name
    with opener(path, "wb") as f:
        f.writelines(LINES)
    assert detect_format(str(path)) == FORMAT_JSONL
    documents, skips, _ = _read(path)
    assert len(documents) == 50 and not skips


def test_compression_comes_from_the_magic_bytes(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_bytes(b"".join(LINES))
    gzipped = tmp_path / "gzipped.jsonl"
    gzipped.write_bytes(gzip.compress(b"".join(LINES)))
    for path in (plain, gzipped):
        documents, skips, _ = _read(path)
        assert len(documents) == 50 and not skips


def test_size_limit_excludes_the_line_terminator(tmp_path: Path) -> None:
    record = json.dumps({"text": "x" * 20}).encode()
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(record + b"\r\n" + record + b"\n" + record + b"x\r\n" + record)
    documents, skips, accounting = _read(path, max_document_bytes=len(record))
    assert len(documents) == 3 and [s.reason for s in skips] == ["document_too_large"]  # 1 byte over
    assert accounting.bytes_read == path.stat().st_size


def test_empty_ids_are_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_bytes(b'{"id": "", "text": "a b"}\n{"id": "k", "text": "c d"}\n')
    documents, _, accounting = _read(path)
    assert [doc[0] for doc in documents] == [f"{path}:0", "k"]
    assert accounting.empty_ids_replaced == 1


def test_sample_rate_keeps_a_stable_hash_of_id_fraction(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(LINES) + b"not json\n")
    documents, skips, accounting = _read(path, sample_rate=0.3)
    threshold = sample_threshold(0.3)
    assert [doc[0] for doc in documents] == [f"d{i}" for i in range(50) if is_sampled(f"d{i}", threshold)]
    assert 0 < len(documents) < 50
    assert accounting.documents_not_sampled == 50 - len(documents) and len(skips) == 1
    assert accounting.documents_read == accounting.documents_analysed + accounting.total_skipped + 50 - len(documents)


def test_group_by_missing_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_bytes(b'{"text": "a b", "s": null}\n{"text": "c d"}\n{"text": "e f", "s": 5}\nbroken\n')
    documents, _, accounting = _read(path, group_by="s")
    assert [doc[2] for doc in documents] == ["(null)", "(missing)", "5 (number)"]
    assert accounting.group_by_field_missing == 2  # the record without it and the unparseable line


def test_deep_json_is_a_malformed_json_skip(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n" + b"{" * 100_000 + b"\n" + LINES[0])
    documents, skips, _ = _read(path)
    assert len(documents) == 1 and [s.reason for s in skips] == ["malformed_json", "malformed_json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_listed_never_opened(tmp_path: Path) -> None:
    (tmp_path / "good.jsonl").write_bytes(LINES[0])
    os.mkfifo(tmp_path / "pipe.jsonl")
    os.symlink("/dev/zero", tmp_path / "zero.jsonl")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.jsonl")
    found = discover_inputs([str(tmp_path), str(tmp_path / "zero.jsonl")])
    assert [Path(item.path).name for item in found.inputs] == ["good.jsonl"]
    assert {Path(s.path).name: s.kind for s in found.special_files} == {
        "pipe.jsonl": "fifo", "zero.jsonl": "character device", "dangling.jsonl": "broken symbolic link"}


def test_one_file_reached_by_several_names_is_read_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.jsonl").write_bytes(LINES[0])
    os.symlink(real / "a.jsonl", real / "b.jsonl")
    os.symlink(real, tmp_path / "link")
    found = discover_inputs([str(real), str(tmp_path / "link"), str(real / "a.jsonl")])
    assert [item.path for item in found.inputs] == [str(real / "a.jsonl")]
    assert {(Path(d.path).parent.name, Path(d.path).name) for d in found.duplicates} == {
        ("real", "b.jsonl"), ("link", "a.jsonl"), ("link", "b.jsonl"), ("real", "a.jsonl")}
    assert all(d.same_as == str(real / "a.jsonl") for d in found.duplicates)


def test_non_utf8_file_names_are_found_and_named_printably(tmp_path: Path) -> None:
    odd = os.path.join(os.fsencode(tmp_path), b"bad\xffname.jsonl")
    with open(odd, "wb") as f:
        f.write(LINES[0])
    inputs, _ = expand_inputs([str(tmp_path)])
    assert len(inputs) == 1
    split = ShardSplit(inputs[0].path, FORMAT_JSONL)
    assert split.key.startswith("bad_name.jsonl-")
    documents, skips, _ = _read(Path(inputs[0].path))
    assert len(documents) == 1 and not skips


def test_a_directory_of_unsupported_files_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "b.tsv").write_text("y")
    with pytest.raises(InputError, match="2 files found, none of a supported format"):
        discover_inputs([str(tmp_path)])


@pytest.mark.parametrize("marker", ["dataset_dict.json", "state.json"])
def test_broken_dataset_markers_are_input_errors(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).write_text("{broken")
    (tmp_path / "dataset_info.json").write_text("{}")
    with pytest.raises(InputError, match="not valid JSON"):
        discover_inputs([str(tmp_path)])


@pytest.mark.parametrize("split", ["../other", "/abs", "", "a/b", 5])
def test_dataset_dict_splits_must_be_plain_names(tmp_path: Path, split) -> None:
    (tmp_path / "dataset_dict.json").write_text(json.dumps({"splits": [split]}))
    with pytest.raises(InputError, match="split"):
        discover_inputs([str(tmp_path)])


def test_check_text_field_names_the_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"body": ["x"], "id": ["1"]}), tmp_path / "a.parquet")
    inputs, _ = expand_inputs([str(tmp_path)])
    check_text_field(inputs, ReadConfig(text_field="body"))
    with pytest.raises(InputError, match="has no column 'text' .*its columns: body, id"):
        check_text_field(inputs, ReadConfig())
