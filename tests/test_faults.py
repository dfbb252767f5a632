"""Faults: a stage raising on one document skips only that document (tests/test_cli.py
covers the isolation itself); a bundle that fails and is retried counts each document once."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SENTENCES, assert_balanced, read_csv, read_documents, read_skipped, read_summary, run_audit, write_jsonl
from corpus_audit import transforms
from corpus_audit.engine.assembly import AuditConfig
from corpus_audit.rundir.document_writer import DocumentTableWriter
from corpus_audit.engine.assembly import AuditWorkUnit
from corpus_audit.documents import WorkUnit
from corpus_audit.readers import ReadConfig, expand_inputs, plan_splits
from fake_stages import CountingStage, FailsOncePerShard

LANGS = sorted(SENTENCES)


def _shards(root: Path, count: int = 3, size: int = 12) -> list[Path]:
    root.mkdir(exist_ok=True)
    shards = []
    for s in range(count):
        records: list = [{"id": f"s{s}-{i}", "text": SENTENCES[LANGS[(i + s) % len(LANGS)]] + f" {i}"}
                         for i in range(size)]
        records.insert(4, b"{not json\n")
        shards.append(write_jsonl(root / f"shard-{s}.jsonl", records))
    return shards


class _Unicode(CountingStage):
    """Raises on one document, as a segmenter crashing on odd Unicode would."""

    name = "unicode"

    def annotate(self, batch, columns):
        if any("\u202e" in text for text in batch.texts):
            raise UnicodeError("segmenter crashed on a bidi override")
        return super().annotate(batch, columns)


def test_any_registered_stage_raising_on_a_document_skips_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(transforms.STAGES, _Unicode.name, _Unicode)
    shard = write_jsonl(tmp_path / "u.jsonl", [{"id": "a", "text": SENTENCES["en"]},
                                                {"id": "b", "text": "odd \u202e " + SENTENCES["fr"]},
                                                {"id": "c", "text": SENTENCES["de"]}])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--stages", "langid,unicode") == 0
    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_skipped"] == {"stage_error:unicode": 1}
    assert [(s["id"], s["stage"], s["reason"]) for s in read_skipped(out)] == [("b", "unicode", "stage_error:unicode")]
    assert "UnicodeError: segmenter crashed" in read_skipped(out)[0]["detail"]
    assert [d["id"] for d in read_documents(out)] == ["a", "c"]
    # The table of the failing stage and of the others count the same two documents.
    assert read_csv(out / "tables" / "stage_counts.csv")[1][0] == "2"
    header, *rows = read_csv(out / "tables" / "languages.csv")
    assert sum(int(row[header.index("documents")]) for row in rows) == 2


def test_a_bundle_failing_once_is_retried_and_counted_once(tmp_path: Path, monkeypatch) -> None:
    """Beam's BundleBasedDirectRunner retries a failed bundle (up to 4 attempts), as
    Dataflow does; the default FnApiRunner does not retry, so this test names the former."""
    FailsOncePerShard.failed.clear()
    FailsOncePerShard.calls.clear()
    monkeypatch.setitem(transforms.STAGES, CountingStage.name, FailsOncePerShard)
    # Small Parquet row groups: the failed attempt has already written part of its file.
    monkeypatch.setattr(DocumentTableWriter, "ROWS_PER_GROUP", 4)
    shards = _shards(tmp_path / "corpus")
    out = tmp_path / "retried"
    assert run_audit(*shards, "--output", out, "--stages", "langid,counting", "--batch-documents", "3",
                     "--runner", "BundleBasedDirectRunner") == 0
    assert FailsOncePerShard.failed == {str(s) for s in shards}  # every shard failed once, then passed

    monkeypatch.setitem(transforms.STAGES, CountingStage.name, CountingStage)
    clean = tmp_path / "clean"
    assert run_audit(*shards, "--output", clean, "--stages", "langid,counting", "--batch-documents", "3") == 0

    summary = read_summary(out)
    assert_balanced(summary)
    assert summary["documents_read"] == 3 * 13 and summary["documents_analysed"] == 3 * 12
    assert summary["documents_skipped"] == {"malformed_json": 3}
    for name in sorted(p.name for p in (clean / "tables").iterdir()):
        assert (out / "tables" / name).read_bytes() == (clean / "tables" / name).read_bytes(), name
    assert read_csv(out / "tables" / "stage_counts.csv")[1][0] == "36"
    documents = read_documents(out)
    assert len(documents) == len({(d["shard"], d["position"]) for d in documents}) == 36
    assert documents == read_documents(clean)
    assert read_skipped(out) == read_skipped(clean)
    assert not [p.name for p in (out / "documents").iterdir() if not p.name.endswith(".parquet")]


def test_reprocessing_a_split_replaces_its_outputs(tmp_path: Path) -> None:
    """What a retried (or speculatively duplicated) bundle does on any runner: the DoFn
    runs again on the same split. Its per-split file is replaced, not added; its emitted
    accumulators and skips are the same (the runner keeps one attempt's outputs)."""
    shard = _shards(tmp_path / "corpus", count=1)[0]
    out = tmp_path / "out"
    analyses = [cls() if cls is CountingStage else cls.from_args(_langid_args())
                for cls in transforms.resolve_stages(["langid"]) + [CountingStage]]
    config = AuditConfig(inputs=expand_inputs([str(shard)])[0], output_dir=str(out), analyses=analyses,
                         read_config=ReadConfig(batch_documents=5), progress=False)
    dofn = AuditWorkUnit(config)
    dofn.setup()
    (split,) = plan_splits(config.inputs[0], config.read_config)
    unit = WorkUnit((split,))
    first = _outputs(dofn.process(unit))
    files_after_first = sorted(p.name for p in (out / "documents").iterdir())
    rows_first = read_documents(out)
    second = _outputs(dofn.process(unit))
    assert second == first
    assert sorted(p.name for p in (out / "documents").iterdir()) == files_after_first == [f"{split.key}.parquet"]
    assert read_documents(out) == rows_first and len(rows_first) == 12


def test_a_failed_attempt_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    FailsOncePerShard.failed.clear()
    FailsOncePerShard.calls.clear()
    monkeypatch.setattr(DocumentTableWriter, "ROWS_PER_GROUP", 2)
    shard = _shards(tmp_path / "corpus", count=1)[0]
    out = tmp_path / "out"
    config = AuditConfig(inputs=expand_inputs([str(shard)])[0], output_dir=str(out),
                         analyses=[FailsOncePerShard()], read_config=ReadConfig(batch_documents=3), progress=False)
    dofn = AuditWorkUnit(config)
    dofn.setup()
    unit = WorkUnit(tuple(plan_splits(config.inputs[0], config.read_config)))
    with pytest.raises(ConnectionError):
        _outputs(dofn.process(unit))
    assert list((out / "documents").iterdir()) == []  # the partial file of the attempt is gone
    _outputs(dofn.process(unit))
    assert [p.suffix for p in (out / "documents").iterdir()] == [".parquet"]
    assert len(read_documents(out)) == 12


def _langid_args():
    import argparse

    from corpus_audit.transforms.langid import DEFAULT_THRESHOLD, PAPER_MIN_PERCENT

    return argparse.Namespace(langid_model=None, langid_threshold=DEFAULT_THRESHOLD,
                              langid_markdown_min_percent=PAPER_MIN_PERCENT)


def _outputs(results) -> list:
    """Tagged outputs as comparable values (accounting dataclasses compare by value)."""
    return [(getattr(r, "tag", None), getattr(r, "value", r)) for r in results]
