"""On the real multilingual shards in ../shared: the pipeline agrees with bare lid.176."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import (SHARED_SHARDS, SHARED_TRUTH, assert_balanced, bare_language, needs_shared_corpora,
                      read_documents, read_summary, run_audit)


@needs_shared_corpora
def test_pipeline_language_equals_bare_fasttext_on_shared_shards(tmp_path: Path, fasttext_model) -> None:
    out = tmp_path / "out"
    assert run_audit(SHARED_SHARDS, "--output", out, "--workers", "2") == 0
    summary = read_summary(out)
    assert_balanced(summary)
    truth = json.loads(SHARED_TRUTH.read_text())
    assert summary["documents_read"] == len(truth)

    expected: dict[str, str] = {}
    for shard in sorted(SHARED_SHARDS.glob("*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                expected[record["id"]] = bare_language(fasttext_model, record["text"])[0]
    docs = read_documents(out)
    assert len(docs) == len(expected) == summary["documents_analysed"]
    agree = sum(expected[d["id"]] == d["language"] for d in docs)
    assert agree / len(docs) >= 0.999, f"{agree}/{len(docs)} agree with bare fastText"

    # Accuracy against the labels is a property of lid.176, not a bar we set; keep it sane.
    correct = sum(truth[d["id"]]["language"] == d["language"] for d in docs)
    assert correct / len(docs) > 0.8
