"""The README's query recipes run as written against a real run (DuckDB and pyarrow)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO_ROOT, SENTENCES, read_documents, run_audit, write_jsonl

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

RELIGIOUS = ["She prays at the Christian church every Sunday.", "The Muslim family went to the mosque.",
             "He is a Buddhist monk and a kind man."]
PLAIN = ["The weather was lovely this morning.", "We bought fresh bread at the market."]


def _recipe(name: str, language: str) -> str:
    """The fenced block that follows ``<!-- recipe: NAME ... -->`` in the README."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {re.escape(name)}\b[^>]*-->\s*```{language}\n(.*?)```", readme, re.S)
    assert match, f"README has no {name} recipe"
    return match.group(1)


def _tiny_model(directory: Path) -> Path:
    """A small random BERT classifier (no hub) whose scores spread over [0, 1]."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True)
    words = sorted({w.strip(".,").lower() for text in RELIGIOUS + PLAIN + [SENTENCES["en"]] for w in text.split()})
    (directory / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    torch.manual_seed(1)
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=2, initializer_range=1.0)
    BertForSequenceClassification(config).save_pretrained(directory)
    BertTokenizerFast(str(directory / "vocab.txt"), do_lower_case=True, model_max_length=32).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipes")
    texts = [*(RELIGIOUS * 4), *(PLAIN * 3), SENTENCES["fr"] + " Il prie à l'église chrétienne."]
    records = [{"id": f"r{i}", "text": f"{text} Number {i}."} for i, text in enumerate(texts)]
    shard = write_jsonl(root / "shard.jsonl", [records[0], b"\n", *records[1:]])
    out = root / "audit"
    assert run_audit(shard, "--output", out, "--stages", "langid,descriptors,toxicity", "--toxicity-model",
                     _tiny_model(root / "model"), "--toxicity-sample-rate", "1") == 0
    return root, out, shard


def _expected(out: Path, shard: Path) -> list[tuple]:
    lines = shard.read_bytes().split(b"\n")
    rows = [row for row in read_documents(out) if row["language"] == "en" and row["toxicity"] is not None
            and row["toxicity"] >= 0.5 and "religion" in row["holistic_bias_axes"]]
    rows.sort(key=lambda r: (-r["toxicity"], r["shard"], r["position"]))
    return [(r["shard"], r["position"], r["id"], pytest.approx(r["toxicity"]), json.loads(lines[r["position"]])["text"])
            for r in rows]


def test_the_run_has_hits_and_misses(run) -> None:
    root, out, shard = run
    rows = read_documents(out)
    expected = _expected(out, shard)
    assert 0 < len(expected) < len(rows)
    assert any(row["position"] != i for i, row in enumerate(rows))  # the blank line shifts positions


def test_duckdb_recipe(run, monkeypatch) -> None:
    duckdb = pytest.importorskip("duckdb")
    root, out, shard = run
    monkeypatch.chdir(root)  # the recipe reads audit/documents/*.parquet
    sql = _recipe("english-religion-toxic", "sql").replace("/data/corpus/*.jsonl", str(root / "*.jsonl"))
    result = duckdb.sql(sql).fetchall()
    assert result == _expected(out, shard)


def test_pyarrow_recipe(run, monkeypatch) -> None:
    root, out, shard = run
    monkeypatch.chdir(root)
    namespace: dict = {}
    exec(compile(_recipe("english-religion-toxic-pyarrow", "python"), "README recipe", "exec"), namespace)  # noqa: S102
    got = [(r["shard"], r["position"], r["id"], r["toxicity"], r["text"]) for r in namespace["rows"]]
    assert got == _expected(out, shard)
