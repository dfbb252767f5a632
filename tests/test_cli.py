"""Command line: clear one-line errors, output directory handling, determinism, isolation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, read_documents, read_skipped, read_summary, run_audit, write_jsonl
from corpus_audit.engine.assembly import AuditConfig
from corpus_audit.engine.assembly import AuditWorkUnit
from corpus_audit.cli import main
from corpus_audit.documents import DocumentBatch
from corpus_audit.transforms.langid import LanguageIdentification


def _shard(tmp_path: Path, name: str = "c.jsonl", n: int = 3) -> Path:
    langs = list(SENTENCES)
    return write_jsonl(tmp_path / name, [{"id": f"{name}-{i}", "text": SENTENCES[langs[i % len(langs)]]}
                                         for i in range(n)])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("corpus-audit: error: ")
    return err[0]


def test_no_input_matched(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nothing-*.jsonl"), "--output", str(tmp_path / "o")]) == 2
    assert "no input matched" in _error_line(capsys)


def test_unreadable_model_path(tmp_path: Path, capsys) -> None:
    shard = _shard(tmp_path)
    assert main(["run", str(shard), "--output", str(tmp_path / "o"), "--langid-model", str(tmp_path / "nope.bin")]) == 2
    assert "language-ID model not found" in _error_line(capsys)
    garbage = tmp_path / "garbage.ftz"
    garbage.write_bytes(b"not a model")
    assert main(["run", str(shard), "--output", str(tmp_path / "o"), "--langid-model", str(garbage)]) == 2
    assert "cannot load fastText model" in _error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permissions cannot be tested")
def test_output_dir_not_writable(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["run", str(_shard(tmp_path)), "--output", str(locked / "out")]) == 2
    assert "not writable" in _error_line(capsys)


def test_output_path_is_a_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["run", str(_shard(tmp_path)), "--output", str(target)]) == 2
    assert "not a directory" in _error_line(capsys)


def test_output_under_a_read_only_parent(tmp_path: Path, capsys) -> None:
    # Works as root too: a regular file where a parent directory should be.
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["run", str(_shard(tmp_path)), "--output", str(blocker / "out")]) == 2
    assert "not writable" in _error_line(capsys)


def test_unknown_stage_and_bad_numbers(tmp_path: Path, capsys) -> None:
    shard = str(_shard(tmp_path))
    assert main(["run", shard, "--output", str(tmp_path / "o"), "--stages", "langid,bogus"]) == 2
    assert "unknown stage(s) bogus" in _error_line(capsys)
    assert main(["run", shard, "--output", str(tmp_path / "o"), "--limit", "0"]) == 2
    assert "--limit" in _error_line(capsys)


def test_refuses_non_empty_foreign_output_dir_but_reruns_over_own(tmp_path: Path, capsys) -> None:
    shard = _shard(tmp_path, n=5)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    assert main(["run", str(shard), "--output", str(foreign)]) == 2
    assert "did not write" in _error_line(capsys)
    assert (foreign / "precious.txt").read_text() == "keep me"

    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    first = sorted(p.name for p in (out / "documents").iterdir())
    other = _shard(tmp_path, "other.jsonl", n=2)
    assert main(["run", str(other), "--output", str(out), "--quiet"]) == 2  # a completed run is kept...
    assert "--overwrite" in _error_line(capsys)
    assert run_audit(other, "--output", out, "--overwrite") == 0  # ...or replaced when asked, not mixed
    assert sorted(p.name for p in (out / "documents").iterdir()) != first
    assert read_summary(out)["documents_read"] == 2


def test_output_inside_input_dir_is_not_read_back(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _shard(corpus, n=4)
    write_jsonl(corpus / "bad.jsonl", [b"{broken\n"])
    out = corpus / "audit"
    assert run_audit(corpus, "--output", out) == 0
    assert run_audit(corpus, "--output", out, "--overwrite") == 0  # skipped/*.jsonl of run 1 is not an input
    assert read_summary(out)["documents_read"] == 5


def test_tables_identical_across_workers_and_shard_order(tmp_path: Path) -> None:
    shards = [_shard(tmp_path, f"s{i}.jsonl", n=40 + i) for i in range(4)]
    outputs = []
    for name, args in [("in_memory", [*shards]), ("reversed", [*reversed(shards)]),
                       ("two_workers", [*shards, "--workers", "2"])]:
        out = tmp_path / name
        assert run_audit(*args, "--output", out, "--group-by", "id") == 0
        outputs.append(out)
    for table in sorted(p.name for p in (outputs[0] / "tables").iterdir()):
        contents = {(out / "tables" / table).read_bytes() for out in outputs}
        assert len(contents) == 1, table
    assert [read_documents(o) for o in outputs[1:]] == [read_documents(outputs[0])] * 2


class _FailsOnMarker(LanguageIdentification):
    """LID that raises on one document, as a crashing analysis would."""

    name = "langid"

    def annotate(self, batch, columns):
        if any("BOOM" in text for text in batch.texts):
            raise RuntimeError("analysis crashed on this document")
        return super().annotate(batch, columns)


def test_a_document_an_analysis_raises_on_is_skipped_with_its_stage(tmp_path: Path) -> None:
    analysis = _FailsOnMarker()
    analysis.setup()
    dofn = AuditWorkUnit(AuditConfig(inputs=[], output_dir=str(tmp_path), analyses=[analysis]))
    texts = [SENTENCES["en"], "BOOM " + SENTENCES["fr"], SENTENCES["de"]]
    batch = DocumentBatch("shard", ["a", "b", "c"], texts, [0, 1, 2], [None] * 3)
    kept, columns, skips = dofn._analyse(batch)
    assert kept.ids == ["a", "c"] and columns["language"] == ["en", "de"]
    assert [(s.doc_id, s.reason, s.stage, s.position) for s in skips] == [("b", "stage_error:langid", "langid", 1)]
    assert "RuntimeError" in skips[0].detail


def test_stage_failure_end_to_end_keeps_the_accounting_identity(tmp_path: Path) -> None:
    import apache_beam as beam

    from corpus_audit.engine.assembly import build_pipeline
    from corpus_audit.readers import expand_inputs

    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": SENTENCES["en"]},
                                                {"id": "b", "text": "BOOM " + SENTENCES["fr"]},
                                                {"id": "c", "text": SENTENCES["de"]}])
    out = tmp_path / "out"
    out.mkdir()
    config = AuditConfig(inputs=expand_inputs([str(shard)])[0], output_dir=str(out), analyses=[_FailsOnMarker()])
    with beam.Pipeline() as pipeline:
        build_pipeline(pipeline, config)
    summary = read_summary(out)
    assert summary["documents_skipped"] == {"stage_error:langid": 1}
    assert summary["documents_analysed"] == 2
    assert_balanced(summary)
    assert [(s["id"], s["stage"]) for s in read_skipped(out)] == [("b", "langid")]


def test_mistyped_options_are_rejected_not_passed_to_beam(tmp_path: Path, capsys) -> None:
    shard = str(_shard(tmp_path))
    assert main(["run", shard, "--output", str(tmp_path / "o"), "--limt", "5"]) == 2
    assert "unrecognised argument(s): --limt 5" in _error_line(capsys)
    assert main(["run", shard, "--output", str(tmp_path / "o"), "--text", "body"]) == 2  # no abbreviations
    assert "--text" in _error_line(capsys)
    # Real Beam options pass through.
    assert run_audit(shard, "--output", tmp_path / "o", "--direct_running_mode", "multi_threading") == 0


def test_invalid_arguments_leave_a_previous_run_untouched(tmp_path: Path, capsys) -> None:
    shard = _shard(tmp_path)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert main(["run", str(shard), "--output", str(out), "--workers", "0"]) == 2
    assert "--workers" in _error_line(capsys)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before


def test_dataflow_needs_remote_paths(tmp_path: Path, capsys) -> None:
    assert main(["run", str(_shard(tmp_path)), "--output", "gs://bucket/out", "--runner", "DataflowRunner"]) == 2
    assert "must be gs:// paths" in _error_line(capsys)


def test_nothing_analysed_exits_1_with_a_reason(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(_shard(tmp_path)), "--output", str(out), "--text-field", "body", "--quiet"]) == 1
    assert "no document was analysed (3 read; skipped: missing_text_field 3)" in _error_line(capsys)
    assert read_summary(out)["documents_skipped"] == {"missing_text_field": 3}


def test_isolation_keeps_results_when_the_stage_fails_only_on_whole_batches(tmp_path: Path) -> None:
    class FailsOnBatches(LanguageIdentification):
        def annotate(self, batch, columns):
            if len(batch) > 1:
                raise RuntimeError("flaky on batches")
            return super().annotate(batch, columns)

    analysis = FailsOnBatches()
    analysis.setup()
    dofn = AuditWorkUnit(AuditConfig(inputs=[], output_dir=str(tmp_path), analyses=[analysis]))
    batch = DocumentBatch("s", ["a", "b"], [SENTENCES["en"], SENTENCES["de"]], [0, 1], [None, None])
    kept, columns, skips = dofn._analyse(batch)
    assert kept.ids == ["a", "b"] and columns["language"] == ["en", "de"] and skips == []
