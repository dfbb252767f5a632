"""Toxicity (SPEC §6) with a tiny random BERT classifier built here (no hub): scores against a
direct unbatched torch computation, batch/line-order independence, sampling, tables by hand,
the unavailable-model path, pickle weights loaded weights_only."""

from __future__ import annotations

import hashlib
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest

from conftest import SENTENCES, assert_balanced, read_csv, read_documents, read_summary, run_audit, write_jsonl
from corpus_audit.transforms.toxicity import ToxicityCombineFn, nearest_rank
from corpus_audit.transforms.toxicity_model import ModelUnavailable, toxic_label_index
from corpus_audit.stats import wilson_interval

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = ("the a is of and to in you are we they he she it not good bad hate love people all this that very "
         "kind stupid nice go home").split()
MAX_TOKENS = 16  # tokenizer model_max_length: long lines are truncated
#: How far two float32 scorings of the same line may differ when only the batching changes.
#: Not a masking tolerance: in float64 the batched and the one-line-at-a-time scores of the
#: fixture agree to 2e-14 (the attention mask hides the padding exactly). In float32 the GEMMs
#: of a different batch shape (more rows, or a longer padded key axis) block and vectorise
#: their sums differently, and a reordered float32 sum moves by up to ~n*eps relative. Each
#: float32 path measured ~2.5e-6 (about 21 eps) from float64 on this fixture, whose wide
#: initialisation gives logits up to |7.4|; two paths may differ by twice that. 128 eps
#: (1.5e-5) leaves a 3x margin and is still far below what a real batching bug does:
#: attending to the padding moved line scores by up to 0.89.
BATCHING_TOLERANCE = 128 * float(np.finfo(np.float32).eps)


def _build_model(directory: Path, safetensors: bool = True) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + list("abcdefghijklmnopqrstuvwxyz")
             + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"])
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(str(directory / "vocab.txt"), do_lower_case=True, model_max_length=MAX_TOKENS)
    torch.manual_seed(0)
    # A wide initialisation so scores spread over [0, 1] (the default gives ~0.5 everywhere).
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=2, initializer_range=0.5)
    model = BertForSequenceClassification(config)
    if safetensors:
        model.save_pretrained(directory)
    else:  # what save_pretrained(safe_serialization=False) wrote (transformers 5 writes safetensors only)
        config.save_pretrained(directory)
        torch.save(model.state_dict(), directory / "pytorch_model.bin")
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return _build_model(tmp_path_factory.mktemp("toxicity") / "tiny-bert")


@pytest.fixture(scope="session")
def direct(tiny_model):
    """Direct, unbatched scoring of one document: one forward pass per line, mean of lines."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model).eval()

    def line_score(line: str, label: int = 1) -> float:
        with torch.no_grad():
            inputs = tokenizer(line, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            return model(**inputs).logits.softmax(-1)[0, label].item()

    def document(text: str, label: int = 1) -> tuple[float | None, int, int]:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if not lines:
            return None, 0, 0
        truncated = sum(len(tokenizer(line)["input_ids"]) > MAX_TOKENS for line in lines)
        return sum(line_score(line, label) for line in lines) / len(lines), len(lines), truncated

    return document


def _random_text(rng: random.Random, lines: int) -> str:
    out = []
    for _ in range(lines):
        out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25))))
        if rng.random() < 0.2:
            out.append("   ")  # blank lines are ignored
    return "\n".join(out)


def _corpus(seed: int = 1, documents: int = 24) -> list[dict]:
    rng = random.Random(seed)
    records = [{"id": f"doc{i}", "text": _random_text(rng, rng.randint(1, 6))} for i in range(documents)]
    records.append({"id": "long", "text": "hate " * 40 + "\nyou are kind"})  # first line truncated
    records.append({"id": "english", "text": SENTENCES["en"]})  # [UNK]s, still scored
    return records


def _sampled(doc_id: str, rate: float) -> bool:
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < round(rate * 2 ** 64)


def _toxicity_by_id(out: Path) -> dict[str, tuple[float | None, int | None]]:
    return {d["id"]: (d["toxicity"], d["toxicity_lines"]) for d in read_documents(out)}


def test_scores_match_direct_computation(tmp_path: Path, tiny_model: Path, direct) -> None:
    records = _corpus()
    out = tmp_path / "out"
    assert run_audit(write_jsonl(tmp_path / "c.jsonl", records), "--output", out, "--toxicity-model", tiny_model,
                     "--toxicity-sample-rate", "1") == 0
    summary = read_summary(out)
    assert_balanced(summary)
    stage = summary["stages"]["toxicity"]
    assert stage["status"] == "computed" and stage["reason"] is None
    assert stage["weights_format"] == "safetensors" and stage["label_index"] == 1
    scored = _toxicity_by_id(out)
    expected_truncated = 0
    scores = []
    for record in records:
        score, lines, truncated = direct(record["text"])
        expected_truncated += truncated
        assert scored[record["id"]][0] == pytest.approx(score, abs=1e-5), record["id"]
        assert scored[record["id"]][1] == lines
        scores.append(score)
    assert expected_truncated >= 1
    assert stage["truncated_lines"] == expected_truncated
    assert stage["documents_scored"] == len(records)
    assert stage["lines_scored"] == sum(v[1] for v in scored.values())
    assert max(scores) - min(scores) > 0.1  # the fixture model does discriminate


def test_independent_of_batch_size_token_budget_and_line_order(tmp_path: Path, tiny_model: Path) -> None:
    records = _corpus(seed=2)
    base = tmp_path / "base"
    assert run_audit(write_jsonl(tmp_path / "a.jsonl", records), "--output", base, "--toxicity-model", tiny_model,
                     "--toxicity-sample-rate", "1") == 0
    small = tmp_path / "small"
    assert run_audit(write_jsonl(tmp_path / "a.jsonl", records), "--output", small, "--toxicity-model", tiny_model,
                     "--toxicity-sample-rate", "1", "--batch-documents", "3", "--toxicity-token-budget", "20") == 0
    rng = random.Random(5)
    shuffled_records = []
    for record in records:
        lines = record["text"].split("\n")
        rng.shuffle(lines)
        shuffled_records.append({"id": record["id"], "text": "\n".join(lines)})
    shuffled = tmp_path / "shuffled"
    assert run_audit(write_jsonl(tmp_path / "b.jsonl", shuffled_records[::-1]), "--output", shuffled,
                     "--toxicity-model", tiny_model, "--toxicity-sample-rate", "1") == 0
    expected = _toxicity_by_id(base)
    for other in (small, shuffled):
        got = _toxicity_by_id(other)
        assert got.keys() == expected.keys()
        for doc_id, (score, lines) in expected.items():
            assert got[doc_id][0] == pytest.approx(score, abs=BATCHING_TOLERANCE) and got[doc_id][1] == lines
    # 3-document batches: one documents file per batch, every document once.
    assert len(list((small / "documents").glob("*.parquet"))) == math.ceil(len(records) / 3)
    assert read_csv(small / "tables" / "toxicity_histogram.csv") == read_csv(base / "tables" / "toxicity_histogram.csv")


def test_sampling_is_a_stable_hash_of_the_id(tmp_path: Path, tiny_model: Path) -> None:
    records = [{"id": f"s{i}", "text": f"you are {WORDS[i % len(WORDS)]}"} for i in range(300)]
    shard = write_jsonl(tmp_path / "c.jsonl", records)
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name
        assert run_audit(shard, "--output", out, "--toxicity-model", tiny_model, "--toxicity-sample-rate", "0.2") == 0
        runs.append({doc_id for doc_id, (score, _) in _toxicity_by_id(out).items() if score is not None})
        assert len(_toxicity_by_id(out)) == 300  # every document has a row; unscored ones are null
    expected = {r["id"] for r in records if _sampled(r["id"], 0.2)}
    assert runs[0] == runs[1] == expected
    assert 30 <= len(expected) <= 90  # ~60 of 300
    summary = read_summary(tmp_path / "one")
    assert summary["stages"]["toxicity"]["documents_sampled"] == len(expected)
    assert read_csv(tmp_path / "one" / "tables" / "toxicity_summary.csv")[1][2] == str(len(expected))


def test_two_workers_pick_the_same_documents_and_tables(tmp_path: Path, tiny_model: Path) -> None:
    records = _corpus(seed=3, documents=40)
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", records[:20])
    write_jsonl(tmp_path / "in" / "b.jsonl", records[20:])
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        assert run_audit(tmp_path / "in", "--output", out, "--toxicity-model", tiny_model,
                         "--toxicity-sample-rate", "0.5", "--workers", workers) == 0
        outs.append(out)
    one, two = (_toxicity_by_id(out) for out in outs)
    assert one.keys() == two.keys()
    for doc_id in one:
        assert (one[doc_id][0] is None) == (two[doc_id][0] is None)
        if one[doc_id][0] is not None:
            assert two[doc_id][0] == pytest.approx(one[doc_id][0], abs=BATCHING_TOLERANCE)
    for name in ("toxicity_histogram.csv", "toxicity_summary.csv"):
        assert (outs[0] / "tables" / name).read_bytes() == (outs[1] / "tables" / name).read_bytes()
    cores = len(os.sched_getaffinity(0))
    for out, workers in zip(outs, (1, 2)):  # each worker process: cores // workers torch threads
        stage = read_summary(out)["stages"]["toxicity"]
        assert stage["workers"] == workers and stage["cpu_threads_per_worker"] == max(1, cores // workers)


def test_tables_against_hand_computation(tmp_path: Path, tiny_model: Path) -> None:
    records = _corpus(seed=4, documents=60)
    records += [{"id": f"fr{i}", "text": SENTENCES["fr"]} for i in range(3)]
    out = tmp_path / "out"
    assert run_audit(write_jsonl(tmp_path / "c.jsonl", records), "--output", out, "--toxicity-model", tiny_model,
                     "--toxicity-sample-rate", "1", "--toxicity-bins", "5") == 0
    documents = read_documents(out)
    scores = [d["toxicity"] for d in documents]
    bins = [0] * 5
    for score in scores:
        bins[min(int(score * 5), 4)] += 1
    histogram = read_csv(out / "tables" / "toxicity_histogram.csv")
    assert histogram[0] == ["bin_lower", "bin_upper", "documents", "fraction"]
    assert [int(row[2]) for row in histogram[1:]] == bins
    assert [float(row[0]) for row in histogram[1:]] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert sum(float(row[3]) for row in histogram[1:]) == pytest.approx(1.0)

    rows = read_csv(out / "tables" / "toxicity_summary.csv")
    header = rows[0]
    assert header[:13] == ["scope", "group", "documents", "lines", "toxic_documents", "percent", "mean", "p50",
                           "p90", "p99", "p99_9", "percent_ci_low", "percent_ci_high"]
    by_scope = {(r[0], r[1]): dict(zip(header, r)) for r in rows[1:]}

    def check(row: dict, docs: list[dict]) -> None:
        values = sorted(d["toxicity"] for d in docs)
        toxic = sum(v >= 0.5 for v in values)
        assert int(row["documents"]) == len(values)
        assert int(row["lines"]) == sum(d["toxicity_lines"] for d in docs)
        assert int(row["toxic_documents"]) == toxic
        assert float(row["percent"]) == pytest.approx(100 * toxic / len(values), abs=1e-4)
        assert float(row["mean"]) == pytest.approx(sum(values) / len(values), abs=2e-6)
        rounded = sorted(round(v, 4) for v in values)
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            assert float(row[name]) == pytest.approx(rounded[math.ceil(q * len(values)) - 1], abs=1e-9)
        low, high = wilson_interval(toxic, len(values))
        assert float(row["percent_ci_low"]) <= float(row["percent"]) <= float(row["percent_ci_high"])
        assert float(row["percent_ci_low"]) == pytest.approx(100 * low, abs=1e-4)

    check(by_scope[("all", "")], documents)
    for language in {d["language"] for d in documents}:
        check(by_scope[("language", language)], [d for d in documents if d["language"] == language])
    assert ("language", "fr") in by_scope


def test_combine_fn_axes_and_merge_order() -> None:
    inputs = [
        {"sampled": 3, "no_lines": 1, "errors": 0,
         "scored": [("en", ("religion",), 0.9, 2, 0), ("en", (), 0.1, 1, 1)]},
        {"sampled": 2, "no_lines": 0, "errors": 1,
         "scored": [("fr", ("religion", "nationality"), 0.55, 3, 0)]},
    ]
    fn = ToxicityCombineFn(10)
    partials = [fn.add_input(fn.create_accumulator(), i) for i in inputs]
    forward = fn.extract_output(fn.merge_accumulators(partials))
    backward = fn.extract_output(fn.merge_accumulators(partials[::-1]))
    assert forward == backward
    religion = forward["scopes"][("axis", "religion")]
    assert (religion["documents"], religion["toxic"], religion["lines"]) == (2, 2, 5)
    assert religion["score_sum"] == 900_000 + 550_000
    assert forward["scopes"][("axis", "nationality")]["documents"] == 1
    assert forward["scopes"][("all", None)]["truncated_lines"] == 1
    assert (forward["sampled"], forward["no_lines"], forward["errors"]) == (5, 1, 1)
    assert nearest_rank({1000: 1, 9000: 1, 5500: 1}, 3, 0.5) == 0.55
    low, high = wilson_interval(2, 3)
    assert low == pytest.approx(0.2077, abs=1e-4) and high == pytest.approx(0.9385, abs=1e-4)


def test_toxic_label_rule() -> None:
    assert toxic_label_index({0: "non-toxic", 1: "toxic"}) == 1
    assert toxic_label_index({0: "HATE", 1: "NOT_HATE"}) == 0
    assert toxic_label_index({0: "LABEL_0", 1: "LABEL_1"}) == 1
    with pytest.raises(ModelUnavailable):
        toxic_label_index({0: "positive", 1: "negative"})


def test_label_index_override(tmp_path: Path, tiny_model: Path, direct) -> None:
    record = {"id": "x", "text": "you are stupid\nwe love people"}
    out = tmp_path / "out"
    assert run_audit(write_jsonl(tmp_path / "c.jsonl", [record]), "--output", out, "--toxicity-model", tiny_model,
                     "--toxicity-sample-rate", "1", "--toxicity-label-index", "0") == 0
    assert _toxicity_by_id(out)["x"][0] == pytest.approx(direct(record["text"], label=0)[0], abs=1e-5)
    assert read_summary(out)["stages"]["toxicity"]["label_index"] == 0


def test_unavailable_model_is_reported_and_the_rest_finishes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never reach for the hub in tests
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": SENTENCES["en"]},
                                               {"id": "b", "text": SENTENCES["de"]}])
    for name, model_args in (("missing", ["--toxicity-model", str(tmp_path / "no-such-model")]),
                             ("default", [])):
        out = tmp_path / name
        assert run_audit(shard, "--output", out, "--toxicity-sample-rate", "1", *model_args) == 0
        stage = read_summary(out)["stages"]["toxicity"]
        assert stage["status"] == "not_computed" and stage["reason"]
        assert stage["documents_scored"] == 0
        languages = read_csv(out / "tables" / "languages.csv")[1]
        assert [languages[0], languages[2]] in (["en", "1"], ["de", "1"])
        for table in ("toxicity_histogram", "toxicity_summary"):
            assert len(read_csv(out / "tables" / f"{table}.csv")) == 1  # header only: no scores
            assert "Toxicity was NOT computed" in (out / "tables" / f"{table}.md").read_text()
        assert all(d["toxicity"] is None and d["toxicity_lines"] is None for d in read_documents(out))
    assert "no-such-model" in read_summary(tmp_path / "missing")["stages"]["toxicity"]["reason"]
    assert "tomh/toxigen_hatebert" in read_summary(tmp_path / "default")["stages"]["toxicity"]["reason"]
    assert run_audit(shard, "--output", tmp_path / "req", "--require-toxicity") == 2
    assert not (tmp_path / "req" / "summary.json").exists()


def test_unavailable_model_is_said_on_the_console(tmp_path: Path, capsys) -> None:
    from corpus_audit.cli import main

    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": SENTENCES["en"]}])
    assert main(["run", str(shard), "--output", str(tmp_path / "o"), "--toxicity-model", str(tmp_path / "nope")]) == 0
    err = capsys.readouterr().err
    assert err.count("toxicity") >= 2 and "NOT computed" in err and "nope" in err


def test_pickle_weights_load_through_the_restricted_unpickler(tmp_path: Path, direct) -> None:
    """A model with only ``pytorch_model.bin`` loads by default (torch.load weights_only=True)."""
    model_dir = _build_model(tmp_path / "pickled", safetensors=False)
    assert not (model_dir / "model.safetensors").exists() and (model_dir / "pytorch_model.bin").exists()
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "you are stupid"}])
    out = tmp_path / "loaded"
    assert run_audit(shard, "--output", out, "--toxicity-model", model_dir, "--toxicity-sample-rate", "1",
                     "--require-toxicity") == 0
    stage = read_summary(out)["stages"]["toxicity"]
    assert stage["status"] == "computed" and stage["pickle_weights_loaded"] is True
    assert stage["weights_format"] == "pickle (weights_only)"
    assert stage["weights_sha256"] == hashlib.sha256((model_dir / "pytorch_model.bin").read_bytes()).hexdigest()
    # Same seed, same weights as the safetensors fixture: same score.
    assert _toxicity_by_id(out)["a"][0] == pytest.approx(direct("you are stupid")[0], abs=1e-5)
    # The old opt-in flag still parses (it changes nothing now).
    assert run_audit(shard, "--output", tmp_path / "flag", "--toxicity-model", model_dir, "--stages",
                     "langid,toxicity", "--toxicity-sample-rate", "1", "--allow-pickle-weights") == 0


def test_bad_options_exit_2(tmp_path: Path, tiny_model: Path) -> None:
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "hi"}])
    for option in (["--toxicity-sample-rate", "1.5"], ["--toxicity-bins", "0"], ["--toxicity-token-budget", "0"]):
        assert run_audit(shard, "--output", tmp_path / "o", "--toxicity-model", tiny_model, *option) == 2


def test_checkpoint_dir_without_a_usable_model(tmp_path: Path) -> None:
    """Nothing is scored without a model, so the split checkpoints of the CPU stages are used
    (scored runs checkpoint their batches: tests/test_toxicity_checkpoint.py)."""
    shard = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "hi"}])
    assert run_audit(shard, "--output", tmp_path / "o", "--toxicity-model", tmp_path / "none",
                     "--checkpoint-dir", tmp_path / "ck") == 0
    assert len(list((tmp_path / "ck").glob("*.entry.json"))) == 1
    assert not list((tmp_path / "ck").glob("*.scored.json"))


def test_axis_rows_from_the_descriptors_column() -> None:
    """Scores regrouped per document reach the per-axis rows via ``holistic_bias_axes``."""
    from corpus_audit.transforms.base import ReportContext
    from corpus_audit.transforms.toxicity import Toxicity
    from corpus_audit.transforms.toxicity_model import ModelSettings

    analysis = Toxicity(ModelSettings(model="unused"), sample_rate=1.0)
    analysis.unavailable_reason = None  # as if the model had loaded
    rows = {"id": ["a", "b", "c"], "language": ["en", "en", "fr"],
            "holistic_bias_axes": [["religion"], [], ["religion", "nationality"]],
            "toxicity": [None] * 3, "toxicity_lines": [None] * 3}
    element = {"split_key": "s", "batch_index": 0, "rows": rows, "sampled": 3, "no_lines": 0,
               "requests": [(0, ["x"]), (1, ["y", "z"]), (2, ["w"])]}
    filled, combine_input = analysis.apply_predictions(element, [(0.75, 1, 0), (0.25, 2, 1), None])
    assert filled["toxicity"] == [0.75, 0.25, None] and filled["toxicity_lines"] == [1, 2, None]
    assert rows["toxicity"] == [None] * 3  # the RunInference input is not mutated
    fn = analysis.combine_fn()
    aggregate = fn.extract_output(fn.add_input(fn.create_accumulator(), combine_input))
    summary = next(t for t in analysis.tables(aggregate, ReportContext()) if t.name == "toxicity_summary")
    table = summary.data.to_pylist()
    assert [(r["scope"], r["group"], r["documents"], r["toxic_documents"]) for r in table] == [
        ("all", None, 2, 1), ("language", "en", 2, 1), ("axis", "religion", 1, 1)]
    assert analysis.run_statistics(aggregate)["scoring_errors"] == 1


def test_batching_is_exact_in_float64(tiny_model: Path) -> None:
    """Padding and batch shape change nothing but float32 rounding: the same model in float64
    scores lines alike one at a time and in padded, length-sorted, budgeted batches."""
    from corpus_audit.transforms.toxicity_model import ModelSettings, load_classifier

    classifier = load_classifier(ModelSettings(model=str(tiny_model)))
    classifier.model = classifier.model.double()
    rng = random.Random(7)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25))) for _ in range(40)]
    alone = [classifier.score_lines([line])[0][0] for line in lines]
    for budget in (16, 50, 100_000):
        classifier.token_budget = budget
        batched, _ = classifier.score_lines(lines)
        assert max(abs(a - b) for a, b in zip(alone, batched)) < 1e-12


def test_a_scored_run_is_the_same_on_the_local_engine_and_on_beam(tmp_path: Path, tiny_model: Path) -> None:
    """The local engine scores toxicity in process (the same handler and ``apply_predictions`` as
    Beam's RunInference path): ``--runner auto`` stays local with one worker, and its tables,
    documents and skip records are the DirectRunner's and the PortableRunner's, byte for byte."""
    import pyarrow.parquet as pq

    shard = write_jsonl(tmp_path / "c.jsonl", _corpus(documents=12))
    common = ("--toxicity-model", tiny_model, "--toxicity-sample-rate", "1", "--stages", "langid,toxicity",
              "--group-by", "source")
    runs = {"auto": (), "local": ("--runner", "local"), "direct": ("--runner", "DirectRunner"),
            "portable": ("--runner", "PortableRunner", "--job_endpoint", "embed", "--environment_type", "LOOPBACK")}
    for name, extra in runs.items():
        assert run_audit(shard, "--output", tmp_path / name, *common, *extra) == 0, name
    settings = read_summary(tmp_path / "auto")["settings"]
    assert settings["runner"] == "local" and settings["runner_rule"].startswith("auto: no Beam options")
    summary = read_summary(tmp_path / "auto")
    assert summary["stages"]["toxicity"]["documents_scored"] == summary["documents_analysed"] == 12 + 2
    reference = tmp_path / "direct"
    names = sorted(p.name for p in (reference / "tables").iterdir())
    assert any(name.startswith("toxicity") for name in names)

    def documents(run: Path) -> list:
        rows = [row for path in sorted((run / "documents").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]
        return sorted(rows, key=lambda row: (row["shard"], row["position"]))

    for name in runs:
        for table in names:
            assert (tmp_path / name / "tables" / table).read_bytes() == (reference / "tables" / table).read_bytes(), \
                (name, table)
        assert sorted(p.name for p in (tmp_path / name / "documents").iterdir()) == \
            sorted(p.name for p in (reference / "documents").iterdir()), name
        assert documents(tmp_path / name) == documents(reference), name


def test_local_engine_scores_with_one_worker_only(tmp_path: Path, tiny_model: Path, capsys) -> None:
    """Several workers scoring a model go to Beam under ``auto``; ``--runner local`` refuses them
    before writing anything, naming both ways out."""
    shard = write_jsonl(tmp_path / "c.jsonl", _corpus(documents=6))
    refused = tmp_path / "refused"
    assert run_audit(shard, "--output", refused, "--toxicity-model", tiny_model, "--runner", "local",
                     "--workers", "2", "--stages", "langid,toxicity") == 2
    error = capsys.readouterr().err
    # (Here the test process already runs threads, so the plan refuses the forks first; in a fresh
    # process the toxicity rule speaks: either way one line that names --runner DirectRunner.)
    assert error.startswith("corpus-audit: error: --runner local") and "--runner DirectRunner" in error, error
    assert not (refused / "summary.json").exists()

def test_published_tables_name_a_local_model_by_name_and_digest(tmp_path: Path, tiny_model: Path) -> None:
    """Issue 29: the toxicity tables printed the local model path; they give its folder's name and
    its weights' sha256 (summary.json keeps the path for the operator)."""
    shard = write_jsonl(tmp_path / "c.jsonl", _corpus(documents=4))
    out = tmp_path / "out"
    assert run_audit(shard, "--output", out, "--toxicity-model", tiny_model, "--toxicity-sample-rate", "1",
                     "--stages", "langid,toxicity") == 0
    digest = read_summary(out)["stages"]["toxicity"]["weights_sha256"]
    for name in ("toxicity_summary.md", "toxicity_histogram.md"):
        text = (out / "tables" / name).read_text()
        assert str(tiny_model) not in text and str(tmp_path) not in text
        assert f"Model {tiny_model.name} (weights sha256 {digest})" in text
