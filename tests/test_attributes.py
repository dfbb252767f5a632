"""dolma attribute files: one line per input line, ids and order aligned with the input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from conftest import SENTENCES, read_documents, run_audit, write_jsonl
from corpus_audit.rundir.attributes import (
    ATTRIBUTE_PREFIX,
    add_arguments,
    attribute_path,
    document_attributes,
    write_dolma_attributes,
)

TEXT = {"en": SENTENCES["en"] + " She told him about the Christian church and her daughter.",
        "fr": SENTENCES["fr"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A dolma-style tree: documents/cc/part-0.json(l).gz (with blank, malformed, id-less lines)."""
    root = tmp_path_factory.mktemp("dolma")
    docs = root / "dataset" / "documents" / "cc"
    docs.mkdir(parents=True)
    records = [{"id": "a0", "text": TEXT["en"]}, b"\n", {"id": "a1", "text": TEXT["fr"]}, b"{broken\n",
               {"text": TEXT["en"]}, {"id": "a3", "text": ""}, {"id": "a4", "text": TEXT["en"]}]
    write_jsonl(docs / "part-0.jsonl.gz", records, compress="gz")
    write_jsonl(docs / "part-1.jsonl", [{"id": f"b{i}", "text": TEXT["fr" if i % 2 else "en"]} for i in range(5)])
    out = root / "out"
    assert run_audit(root / "dataset", "--output", out, "--stages", "langid,pronouns,descriptors,gender_gap") == 0
    written = write_dolma_attributes(str(out))
    return root, out, written


def _input_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.splitlines()


def _attribute_lines(path: Path) -> list[dict]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [json.loads(line) for line in data.splitlines()]


def test_files_mirror_the_inputs_relative_paths(run) -> None:
    root, out, written = run
    base = out / "attributes" / "corpus-audit"
    assert sorted(Path(item.path).relative_to(base).as_posix() for item in written) == [
        "cc/part-0.jsonl.gz", "cc/part-1.jsonl"]
    assert gzip.decompress((base / "cc" / "part-0.jsonl.gz").read_bytes())  # compressed like its input


def test_lines_align_with_the_input(run) -> None:
    root, out, written = run
    documents = {(row["shard"], row["position"]): row for row in read_documents(out)}
    for item in written:
        source = _input_lines(Path(item.input))
        attributes = _attribute_lines(Path(item.path))
        assert len(attributes) == len(source) == item.lines
        for position, (line, attribute) in enumerate(zip(source, attributes)):
            row = documents.get((item.input, position))
            if row is None:  # blank, malformed or empty-text line: present, without attributes
                assert attribute["attributes"] == {}
                continue
            assert attribute["id"] == row["id"]
            record = json.loads(line)
            assert attribute["id"] == record.get("id", f"{item.input}:{position}")
            spans = attribute["attributes"]
            assert all(name.startswith(ATTRIBUTE_PREFIX) for name in spans)
            assert all(span == [[0, len(record["text"]), span[0][2]]] for span in spans.values())
            assert spans[f"{ATTRIBUTE_PREFIX}language_{row['language']}"][0][2] == pytest.approx(
                row["language_score"], abs=1e-4)


def test_part0_content(run) -> None:
    root, out, written = run
    part0 = next(item for item in written if item.input.endswith("part-0.jsonl.gz"))
    lines = _attribute_lines(Path(part0.path))
    assert [line["id"] for line in lines] == ["a0", None, "a1", None, f"{part0.input}:4", "a3", "a4"]
    assert part0.documents == 4
    a0 = lines[0]["attributes"]
    assert a0[ATTRIBUTE_PREFIX + "doc_has_she_pronoun"][0][2] == 1.0
    assert a0[ATTRIBUTE_PREFIX + "holistic_bias_religion"][0][2] == 1.0
    assert a0[ATTRIBUTE_PREFIX + "gender_gap_feminine"][0][2] >= 1.0
    assert ATTRIBUTE_PREFIX + "language_fr" in lines[2]["attributes"]


def test_document_attributes_of_a_row() -> None:
    row = {"id": "x", "language": "en", "language_score": 0.91234, "doc_has_he_pronoun": False,
           "holistic_bias_axes": ["age", "religion"], "gender_gap_masculine": 2, "toxicity": 0.75}
    from corpus_audit.transforms import STAGES

    analyses = [stage.from_options(stage.Options()) for stage in STAGES.values()]
    assert document_attributes(row, 10, analyses) == {
        "corpus_audit__language_en": [[0, 10, 0.9123]], "corpus_audit__doc_has_he_pronoun": [[0, 10, 0.0]],
        "corpus_audit__holistic_bias_age": [[0, 10, 1.0]], "corpus_audit__holistic_bias_religion": [[0, 10, 1.0]],
        "corpus_audit__gender_gap_masculine": [[0, 10, 2.0]], "corpus_audit__toxicity": [[0, 10, 0.75]]}


def test_attribute_path_and_option() -> None:
    assert attribute_path("/o", "/data/x/documents/cc/p.json.gz", "/data") == "/o/attributes/corpus-audit/cc/p.json.gz"
    assert attribute_path("/o", "gs://b/c4/en/p.json.gz", "gs://b/c4") == "/o/attributes/corpus-audit/en/p.json.gz"
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--attributes", "dolma"]).attributes == "dolma"
