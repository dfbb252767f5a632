"""Toxicity stage throughput: pipeline lines/s vs a bare batched torch loop, same model, same run.

The model is a randomly initialised classifier of HateBERT's shape (BERT-base: 12 layers,
hidden 768, 12 heads, 30,522-token vocabulary, 512 positions), saved with safetensors in a
temporary directory, with a WordPiece vocabulary built from the lines themselves (the real
vocabulary is not available offline; line lengths in tokens are close to real ones, since
the ToxiGen lines are plain English words). Lines: ``toxigen/*.txt`` of the shared data,
repeated ``--repeat`` times, ``--lines-per-document`` lines per JSONL document.

Pipeline figure: the stage's time = wall of ``--stages toxicity`` (langid + toxicity, every
document sampled) minus wall of ``--stages langid`` on the same corpus (both in subprocesses,
each with Beam start-up and the model loads); also shown end to end. Bare figure: the
same lines sorted by token length (``--bare-unsorted``: corpus order), batches of ``--bare-batch``
lines padded to their longest,
``torch.inference_mode``, same thread count. Run on a quiet machine; the load is printed.

    python bench/toxicity.py [--repeat 4] [--rounds 2] [--int8] [--keep] [--data DIR]

Two more modes (issue 17/18), each printing its own table instead of the above:

``--compare-workers``: the corpus in two JSONL files, the toxicity run with ``--workers 1`` and
``--workers 2`` in alternated rounds (best of each); each worker process gets usable cores // N
torch threads (``cpu_threads_per_worker`` in ``summary.json``, printed).

``--compare-cpu-backends``: the bare sorted loop in plain float32 torch, with ``--toxicity-int8``'s
dynamic int8 quantisation, and with ONNX Runtime (``optimum.onnxruntime``) when it is importable
(an optional extra, never installed by this script): lines/s and the largest score difference to
plain torch.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (DEFAULT_DATA, check_quiet_machine, machine_info, make_work_dir, print_table,  # noqa: E402
                     remove_work_dir, run_pipeline, usable_cpus)

HATEBERT_VOCAB = 30_522


def load_lines(data: Path) -> list[str]:
    files = sorted(glob.glob(str(data / "toxigen" / "*.txt")))
    if not files:
        sys.exit(f"bench: no toxigen/*.txt in {data} (use --data DIR)")
    lines: list[str] = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            lines.extend(line.strip() for line in f if line.strip())
    return lines


def build_model(directory: Path, lines: list[str]) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    words = Counter(w for line in lines for w in re.findall(r"\w+|[^\w\s]", line.lower()))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [w for w, _ in words.most_common(20_000)]
    vocab += [c for c in chars if c not in vocab] + ["##" + c for c in chars]
    vocab += [f"[unused{i}]" for i in range(HATEBERT_VOCAB - len(vocab))]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(directory / "vocab.txt"), do_lower_case=True, model_max_length=512)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def write_corpus(path: Path, lines: list[str], repeat: int, per_document: int, prefix: str = "t") -> int:
    all_lines = [line for _ in range(repeat) for line in lines]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(0, len(all_lines), per_document):
            f.write(json.dumps({"id": f"{prefix}{i}", "text": "\n".join(all_lines[i:i + per_document])}) + "\n")
    return len(all_lines)


def bare_loop(model_dir: Path, lines: list[str], batch: int, int8: bool, sort: bool) -> float:
    """Seconds to score ``lines`` with a plain batched loop (no pipeline); ``sort``: by length
    first, as the stage does, so the ratio shows the pipeline's overhead rather than padding."""
    return bare_scores(model_dir, lines, batch, "int8" if int8 else "torch", sort)[0]


def bare_scores(model_dir: Path, lines: list[str], batch: int, backend: str, sort: bool = True
                ) -> tuple[float, list[float]]:
    """(seconds, toxic-class scores in the order of ``lines``) of the bare loop with ``backend``:
    ``torch`` (float32), ``int8`` (dynamic int8 linear layers) or ``onnxruntime`` (optimum)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(usable_cpus())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if backend == "onnxruntime":
        from optimum.onnxruntime import ORTModelForSequenceClassification

        model = ORTModelForSequenceClassification.from_pretrained(model_dir, export=True)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, use_safetensors=True).eval()
    if backend == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    order = list(range(len(lines)))
    started = time.perf_counter()
    if sort:
        lengths = [len(ids) for ids in tokenizer(lines)["input_ids"]]
        order.sort(key=lambda i: -lengths[i])
    scores = [0.0] * len(lines)
    with torch.inference_mode():
        for i in range(0, len(order), batch):
            chunk = order[i:i + batch]
            inputs = tokenizer([lines[j] for j in chunk], padding=True, truncation=True, max_length=512,
                               return_tensors="pt")
            logits = model(**inputs).logits
            for j, score in zip(chunk, torch.as_tensor(logits).double().softmax(-1)[:, 1].tolist()):
                scores[j] = score
    return time.perf_counter() - started, scores


def compare_cpu_backends(model_dir: Path, lines: list[str], batch: int, rounds: int) -> None:
    """Plain torch vs int8 (vs ONNX Runtime when importable): lines/s and the largest score difference."""
    import importlib.util

    backends = ["torch", "int8"]
    if importlib.util.find_spec("optimum") and importlib.util.find_spec("onnxruntime"):
        backends.append("onnxruntime")
    else:
        print("ONNX Runtime: not measured (optimum[onnxruntime] is not installed; it is an optional extra)")
    times: dict[str, list[float]] = {name: [] for name in backends}
    scores: dict[str, list[float]] = {}
    for _ in range(rounds):  # alternated rounds, best of each kept
        for name in backends:
            seconds, scores[name] = bare_scores(model_dir, lines, batch, name)
            times[name].append(seconds)
    plain = min(times["torch"])
    rows = []
    for name in backends:
        best = min(times[name])
        difference = max(abs(a - b) for a, b in zip(scores[name], scores["torch"]))
        rows.append([name, f"{best:.1f}", f"{len(lines) / best:,.1f}", f"{plain / best:.2f}", f"{difference:.2e}"])
    print_table(["bare sorted loop, CPU", "seconds", "lines/s", "speed-up", "max |score - torch|"], rows)


def compare_workers(work: Path, corpus_lines: list[str], per_document: int, extra: list[str], rounds: int,
                    total_lines: int) -> None:
    """The toxicity run with --workers 1 and --workers 2 over two input files, alternated rounds."""
    inputs = work / "two-files"
    inputs.mkdir(exist_ok=True)
    half = len(corpus_lines) // 2 // per_document * per_document
    write_corpus(inputs / "a.jsonl", corpus_lines[:half], 1, per_document)
    write_corpus(inputs / "b.jsonl", corpus_lines[half:], 1, per_document, prefix="u")
    runs: dict[int, list] = {1: [], 2: []}
    for attempt in range(rounds):
        for workers in (1, 2):
            runs[workers].append(run_pipeline([inputs], work / f"out-w{workers}-{attempt}", "--stages", "toxicity",
                                              "--workers", str(workers), *extra))
    best = {workers: min(found, key=lambda run: run.wall) for workers, found in runs.items()}
    rows = []
    for workers, run in best.items():
        stage = run.summary["stages"]["toxicity"]
        assert stage["status"] == "computed" and stage["lines_scored"] == total_lines, stage
        rows.append([str(workers), str(stage.get("cpu_threads_per_worker")), f"{run.wall:.1f}",
                     f"{total_lines / run.wall:,.1f}", f"{best[1].wall / run.wall:.2f}"])
    print_table(["--workers", "torch threads per worker", "wall s (end to end)", "lines/s", "speed-up"], rows)
    print("runs: " + "; ".join(f"{w} worker(s): {', '.join(f'{r.wall:.1f}' for r in found)} s"
                               for w, found in runs.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder holding toxigen/ (default: shared data)")
    parser.add_argument("--repeat", type=int, default=4, help="times the lines are repeated (default 4)")
    parser.add_argument("--lines-per-document", type=int, default=4)
    parser.add_argument("--bare-batch", type=int, default=32, help="lines per batch of the bare loop")
    parser.add_argument("--int8", action="store_true", help="dynamic int8 quantisation in both")
    parser.add_argument("--bare-unsorted", action="store_true",
                        help="bare loop in corpus order (default: lines sorted by length, like the stage)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated bare/pipeline rounds (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep the model and outputs in bench/_work")
    parser.add_argument("--compare-workers", action="store_true", help="--workers 2 vs 1 (see the docstring)")
    parser.add_argument("--compare-cpu-backends", action="store_true",
                        help="plain torch vs int8 (vs ONNX Runtime if installed), bare loop")
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    for line in machine_info():
        print(line)
    check_quiet_machine("before")
    base_lines = load_lines(Path(args.data))
    work = make_work_dir("toxicity", args.keep)
    try:
        model_dir = work / "bert-base-random"
        build_model(model_dir, base_lines)
        corpus = work / "corpus.jsonl"
        total_lines = write_corpus(corpus, base_lines, args.repeat, args.lines_per_document)
        lines = [line for _ in range(args.repeat) for line in base_lines]
        from transformers import AutoTokenizer

        lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(model_dir)(lines)["input_ids"]]
        print(f"lines: {total_lines:,} ({len(base_lines)} toxigen lines x {args.repeat}), tokens per line "
              f"mean {sum(lengths) / len(lengths):.1f}, max {max(lengths)}; model BERT-base shape, random, CPU, "
              f"{usable_cpus()} threads" + (", int8" if args.int8 else ""))

        sort = not args.bare_unsorted
        extra = ["--quiet", "--toxicity-model", str(model_dir), "--toxicity-sample-rate", "1"]
        if args.int8:
            extra.append("--toxicity-int8")
        if args.compare_cpu_backends:
            compare_cpu_backends(model_dir, lines, args.bare_batch, args.rounds)
        if args.compare_workers:
            compare_workers(work, lines, args.lines_per_document, extra, args.rounds, total_lines)
        if args.compare_cpu_backends or args.compare_workers:
            check_quiet_machine("after")
            print("load average %.2f %.2f %.2f" % os.getloadavg())
            return
        # Alternated, best of each kept: a load spike from other processes cannot favour either.
        langid_only = run_pipeline([corpus], work / "out-langid", "--stages", "langid", "--quiet")
        bare_times, pipeline_runs = [], []
        for attempt in range(args.rounds):
            bare_times.append(bare_loop(model_dir, lines, args.bare_batch, args.int8, sort))
            pipeline_runs.append(run_pipeline([corpus], work / f"out-toxicity-{attempt}", "--stages", "toxicity",
                                              *extra))
        with_toxicity = min(pipeline_runs, key=lambda run: run.wall)
        stage = with_toxicity.summary["stages"]["toxicity"]
        assert stage["status"] == "computed" and stage["lines_scored"] == total_lines, stage
        stage_seconds = with_toxicity.wall - langid_only.wall
        bare_seconds = min(bare_times)
        rows = [
            [f"bare batched torch loop ({'sorted by length' if sort else 'corpus order'}, {args.bare_batch}/batch)", f"{bare_seconds:.1f}", f"{total_lines / bare_seconds:,.1f}", "1.00"],
            ["pipeline stage (toxicity run - langid run)", f"{stage_seconds:.1f}",
             f"{total_lines / stage_seconds:,.1f}", f"{bare_seconds / stage_seconds:.2f}"],
            ["pipeline end to end (incl. Beam start, langid, 2 model loads)", f"{with_toxicity.wall:.1f}",
             f"{total_lines / with_toxicity.wall:,.1f}", f"{bare_seconds / with_toxicity.wall:.2f}"],
        ]
        print_table(["", "seconds", "lines/s", "ratio to bare"], rows)
        print(f"bare runs: {', '.join(f'{t:.1f}' for t in bare_times)} s; toxicity pipeline runs: "
              f"{', '.join(f'{run.wall:.1f}' for run in pipeline_runs)} s; langid-only pipeline {langid_only.wall:.1f} s "
              "(best of each used)")
        check_quiet_machine("after")
        print("load average %.2f %.2f %.2f" % os.getloadavg())
    finally:
        remove_work_dir(work, args.keep)


if __name__ == "__main__":
    main()
