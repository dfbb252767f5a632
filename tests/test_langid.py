"""Language ID (SPEC §2) and its table: hand-built fixtures, threshold, merge == whole."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import (SENTENCES, assert_balanced, bare_language, read_csv, read_documents, read_summary, run_audit,
                      write_jsonl)
from corpus_audit.documents import DocumentBatch
from corpus_audit.transforms.base import ReportContext
from corpus_audit.transforms.langid import LanguageCountsCombineFn, LanguageIdentification


def test_fixture_sentences_are_labelled_as_expected(fasttext_model) -> None:
    for language, sentence in SENTENCES.items():
        assert bare_language(fasttext_model, sentence)[0] == language


def test_languages_table_on_hand_built_corpus(tmp_path: Path) -> None:
    # 6 en, 3 fr, 2 de, 1 ja, 2 unknown ("zzzz" style strings fall below 0.5).
    plan = ["en"] * 6 + ["fr"] * 3 + ["de"] * 2 + ["ja"]
    records = [{"id": f"d{i}", "text": SENTENCES[lang]} for i, lang in enumerate(plan)]
    records += [{"id": "u1", "text": "qx zv kk"}, {"id": "u2", "text": "12 34 56 78"}]
    shard = write_jsonl(tmp_path / "c.jsonl", records)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    docs = {d["id"]: d for d in read_documents(out)}
    assert docs["u1"]["language"] == "unknown" and docs["u1"]["language_score"] < 0.5
    assert docs["u2"]["language"] == "unknown"
    rows = read_csv(out / "tables" / "languages.csv")
    assert rows[0] == ["language", "language_name", "documents", "percent", "characters", "small_sample"]
    # Sorted by documents desc, then language code; percent of all 14 analysed, 4 decimals.
    assert [[r[0], *r[2:4]] for r in rows[1:]] == [
        ["en", "6", "42.8571"], ["fr", "3", "21.4286"], ["de", "2", "14.2857"], ["unknown", "2", "14.2857"],
        ["ja", "1", "7.1429"]]
    assert [r[1] for r in rows[1:]] == ["English", "French", "German", "unknown (no language above the threshold)",
                                        "Japanese"]
    assert {r[5] for r in rows[1:]} == {"True"}  # 14 analysed documents: under 30
    assert int(rows[1][4]) == 6 * len(SENTENCES["en"])
    md = (out / "tables" / "languages.md").read_text()
    assert "| en | English | 6 | 42.9 † |" in md and "fewer than 30 documents" in md
    assert "characters" not in md.splitlines()[2]  # compact view: the CSV keeps the character counts
    import pyarrow.parquet as pq

    table = pq.read_table(out / "tables" / "languages.parquet")
    assert table.column("language").to_pylist() == ["en", "fr", "de", "unknown", "ja"]
    assert table.column("percent").to_pylist()[0] == pytest.approx(42.8571)


def test_newlines_are_replaced_and_threshold_is_configurable(tmp_path: Path, fasttext_model) -> None:
    multi_line = SENTENCES["es"] + "\n" + SENTENCES["es"] + "\n\nfin"
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "m", "text": multi_line}])
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out) == 0
    doc = read_documents(out)[0]
    expected_language, expected_score = bare_language(fasttext_model, multi_line)
    assert doc["language"] == expected_language == "es"
    assert doc["language_score"] == pytest.approx(expected_score, abs=1e-6)
    assert run_audit(shard, "--output", tmp_path / "bad", "--langid-threshold", "1.01") == 2
    out2 = tmp_path / "out2"
    assert run_audit(shard, "--output", out2, "--langid-threshold", "0.9999999") == 0
    assert read_documents(out2)[0]["language"] == ("es" if expected_score >= 0.9999999 else "unknown")


def test_markdown_view_applies_the_paper_threshold(tmp_path: Path) -> None:
    records = [{"id": f"e{i}", "text": SENTENCES["en"]} for i in range(30)] + [{"id": "f", "text": SENTENCES["fr"]}]
    shard = write_jsonl(tmp_path / "c.jsonl", records)
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--langid-markdown-min-percent", "5") == 0
    md = (out / "tables" / "languages.md").read_text()
    assert "| en |" in md and "| fr |" not in md and "1 language(s) below 5.0%" in md
    assert len(read_csv(out / "tables" / "languages.csv")) == 3  # CSV keeps every language


def test_group_by_table(tmp_path: Path) -> None:
    records = [{"id": "a", "text": SENTENCES["en"], "source": "web"},
               {"id": "b", "text": SENTENCES["fr"], "source": "web"},
               {"id": "c", "text": SENTENCES["fr"], "source": "books"},
               {"id": "d", "text": SENTENCES["de"]}]
    out = tmp_path / "out"
    assert run_audit(write_jsonl(tmp_path / "c.jsonl", records), "--output", out, "--group-by", "source") == 0
    rows = read_csv(out / "tables" / "languages_by_source.csv")
    assert rows == [["source", "language", "language_name", "documents", "percent", "denominator", "small_sample"],
                    ["(missing)", "de", "German", "1", "100.0000", "1", "True"],
                    ["books", "fr", "French", "1", "100.0000", "1", "True"],
                    ["web", "en", "English", "1", "50.0000", "2", "True"],
                    ["web", "fr", "French", "1", "50.0000", "2", "True"]]


def _batch_input(pairs: list[tuple[str | None, str]]) -> dict:
    return {"group": [g for g, _ in pairs], "language": [lang for _, lang in pairs],
            "characters": [len(lang) * 10 for _, lang in pairs]}


def test_combine_fn_merge_equals_whole() -> None:
    rng = random.Random(7)
    docs = [(rng.choice(["web", "books", None]), rng.choice(["en", "fr", "de", "unknown", "zh"])) for _ in range(500)]
    fn = LanguageCountsCombineFn()
    whole = fn.extract_output(fn.add_input(fn.create_accumulator(), _batch_input(docs)))
    # Per-shard accumulators over an arbitrary partition, merged in a shuffled order.
    cuts = sorted(rng.sample(range(1, 500), 6))
    shards = [docs[a:b] for a, b in zip([0, *cuts], [*cuts, 500])]
    accumulators = [fn.add_input(fn.create_accumulator(), _batch_input(shard)) for shard in shards]
    rng.shuffle(accumulators)
    merged = fn.extract_output(fn.merge_accumulators(accumulators))
    assert merged == whole
    assert list(merged) == list(whole)  # same key order → same tables
    assert sum(d for d, _ in whole.values()) == 500
    analysis = LanguageIdentification()
    tables_whole = analysis.tables(whole, ReportContext("source"))
    tables_merged = analysis.tables(merged, ReportContext("source"))
    assert [t.data.equals(u.data) for t, u in zip(tables_whole, tables_merged)] == [True, True]
    # Independent count of the overall table.
    from collections import Counter

    expected = Counter(lang for _, lang in docs)
    table = tables_whole[0].data.to_pylist()
    assert {row["language"]: row["documents"] for row in table} == dict(expected)


def test_annotate_matches_bare_fasttext(fasttext_model) -> None:
    analysis = LanguageIdentification()
    analysis.setup()
    texts = list(SENTENCES.values()) + ["ok", "Tom\nbuvait du thé.\nIl pleuvait.", "12:00 — 13:00", "😀"]
    batch = DocumentBatch("s", ids=[str(i) for i in range(len(texts))], texts=texts,
                          positions=list(range(len(texts))), groups=[None] * len(texts))
    result = analysis.annotate(batch, {})
    for text, language, score in zip(texts, result["language"], result["language_score"]):
        assert (language, pytest.approx(score, abs=1e-6)) == bare_language(fasttext_model, text)


def test_shipped_sample_corpus_runs(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "examples" / "sample_corpus"
    out = tmp_path / "out"
    assert run_audit(sample, "--output", out, "--group-by", "source") == 0
    summary = read_summary(out)
    assert summary["documents_read"] == summary["documents_analysed"] >= 300
    assert_balanced(summary)
    languages = [r[0] for r in read_csv(out / "tables" / "languages.csv")[1:]]
    assert languages[0] == "en" and len(languages) >= 10


def test_pipeline_merge_of_per_split_accumulators_equals_whole() -> None:
    """What the pipeline does: each split pre-combined on its worker, then merged."""
    from corpus_audit.engine.combine import MergeAccumulatorsFn

    rng = random.Random(11)
    docs = [(None, rng.choice(["en", "fr", "sv", "unknown"])) for _ in range(300)]
    fn = LanguageCountsCombineFn()
    whole = fn.extract_output(fn.add_input(fn.create_accumulator(), _batch_input(docs)))
    partials = [fn.add_input(fn.create_accumulator(), _batch_input(docs[i:i + 70])) for i in range(0, 300, 70)]
    merge = MergeAccumulatorsFn(LanguageCountsCombineFn())
    left = merge.add_input(merge.add_input(merge.create_accumulator(), partials[0]), partials[1])
    right = merge.create_accumulator()
    for partial in partials[2:]:
        right = merge.add_input(right, partial)
    assert merge.extract_output(merge.merge_accumulators([right, left])) == whole
