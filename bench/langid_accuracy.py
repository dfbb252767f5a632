#!/usr/bin/env python
"""Language-ID accuracy of the pipeline, next to bare fastText lid.176.

Runs ``corpus-audit run <data>/shards --output TMP --stages langid`` (a subprocess, the
real CLI), reads ``documents/*.parquet`` and compares each document's language with

(a) bare fastText lid.176 on the same text (newlines as spaces, top label kept when its
    probability is >= 0.5, else ``unknown``): the pipeline must agree on >= 99.9 % of the
    documents, or this script exits 1;
(b) the truth labels of ``shards-truth.json``: accuracy overall, per kind and per language,
    for the pipeline and for bare lid.176, with the labels lid.176 cannot output at all
    listed apart (and the accuracy without them).

    python bench/langid_accuracy.py [--data DIR] [--keep] [--workers N] [--show N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict

import _common as common

AGREEMENT_TARGET = 0.999


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "n/a"


def acc(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "n/a"


def excerpt(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA),
                        help="folder holding shards/ and shards-truth.json (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="corpus-audit --workers (default 1)")
    parser.add_argument("--show", type=int, default=10, metavar="N",
                        help="disagreements / confusions to list (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the pipeline output under bench/_work/")
    args = parser.parse_args(argv)

    shards = common.shards_dir(args.data)
    documents = common.load_documents(shards)
    truth = common.load_truth(args.data)
    labels = common.model_labels()
    print("== corpus-audit langid accuracy ==")
    for line in common.machine_info():
        print(line)
    print(f"data: {shards} ({len(documents):,} documents, "
          f"{common.text_bytes(d.text for d in documents) / 1e6:.2f} MB of UTF-8 text, "
          f"{sum(d.line_bytes for d in documents) / 1e6:.2f} MB of JSONL)")
    print(f"model: {common.model_path()} ({len(labels)} labels), threshold {common.THRESHOLD}")

    # -- the pipeline ------------------------------------------------------------------
    work = common.make_work_dir("langid-accuracy", args.keep)
    try:
        run = common.run_pipeline([shards], work / "out", "--stages", "langid", "--quiet",
                                  "--workers", str(args.workers))
        table = common.read_document_table(run.output).to_pydict()
    finally:
        common.remove_work_dir(work, args.keep)
    summary = run.summary
    print(f"pipeline: corpus-audit run {shards} --stages langid --workers {args.workers}: "
          f"{run.wall:.1f} s wall; read {summary.get('documents_read', 0):,}, "
          f"analysed {summary.get('documents_analysed', 0):,}, skipped {summary.get('documents_skipped', {})}")
    pipeline: dict[str, tuple[str, float]] = {}
    duplicates = 0
    for doc_id, language, score in zip(table["id"], table["language"], table["language_score"]):
        duplicates += doc_id in pipeline
        pipeline[doc_id] = (language, float(score))

    # -- bare fastText -----------------------------------------------------------------
    model = common.load_model()
    started = time.perf_counter()
    bare = {d.id: common.bare_predict(model, d.text) for d in documents}
    bare_seconds = time.perf_counter() - started
    print(f"bare fastText: {len(bare):,} documents in {bare_seconds:.1f} s")

    # -- (a) agreement -----------------------------------------------------------------
    n = len(documents)
    missing = [d for d in documents if d.id not in pipeline]
    disagree = [d for d in documents if d.id in pipeline and pipeline[d.id][0] != bare[d.id][0]]
    extra = len(set(pipeline) - set(bare))
    agree = n - len(missing) - len(disagree)
    score_diffs = [abs(pipeline[d.id][1] - bare[d.id][1]) for d in documents if d.id in pipeline]
    print("\n-- (a) agreement with bare fastText lid.176 (same documents, same threshold) --")
    print(f"agree: {agree:,} / {n:,} = {pct(agree, n)} (target >= {AGREEMENT_TARGET:.1%})")
    print(f"disagree: {len(disagree):,}; missing from documents/*.parquet: {len(missing):,}; "
          f"ids not in the shards: {extra:,}; duplicate ids: {duplicates:,}")
    if score_diffs:
        print(f"language_score vs bare probability: max |diff| {max(score_diffs):.2e} "
              "(the Parquet column is float32)")
    for d in disagree[: args.show]:
        (pl, ps), (bl, bs) = pipeline[d.id], bare[d.id]
        print(f"  {d.id}: pipeline {pl} {ps:.4f} / bare {bl} {bs:.4f}: {excerpt(d.text)!r}")
    for d in missing[: args.show]:
        print(f"  {d.id}: missing from the pipeline output: {excerpt(d.text)!r}")

    # -- (b) accuracy against the truth labels -----------------------------------------
    print("\n-- (b) accuracy against shards-truth.json --")
    scored = [d for d in documents if d.id in truth]
    if len(scored) != n:
        print(f"note: {n - len(scored):,} document(s) have no truth label and are not scored")
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # docs, pipeline ok, bare ok
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    wrong: dict[str, Counter] = defaultdict(Counter)  # truth -> pipeline's wrong answers
    confusions: Counter = Counter()
    for d in scored:
        expected = truth[d.id]["language"]
        got = pipeline.get(d.id, ("(missing)", 0.0))[0]
        ok_pipeline, ok_bare = got == expected, bare[d.id][0] == expected
        for counts in (by_language[expected], by_kind[truth[d.id].get("kind", "?")]):
            counts[0] += 1
            counts[1] += ok_pipeline
            counts[2] += ok_bare
        if not ok_pipeline:
            wrong[expected][got] += 1
            confusions[(expected, got)] += 1

    def totals(keys) -> tuple[int, int, int]:
        rows = [by_language[k] for k in keys]
        return sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows)

    supported = [k for k in by_language if k in labels]
    unsupported = sorted((k for k in by_language if k not in labels), key=lambda k: (-by_language[k][0], k))
    overall_rows = []
    for name, keys in (("all truth labels", list(by_language)),
                       ("excluding labels lid.176 cannot output", supported),
                       ("only labels lid.176 cannot output", unsupported),
                       ("excluding en", [k for k in by_language if k != "en"]),
                       ("excluding en and labels lid.176 cannot output", [k for k in supported if k != "en"])):
        docs, ok_p, ok_b = totals(keys)
        overall_rows.append([name, len(keys), docs, ok_p, acc(ok_p, docs), ok_b, acc(ok_b, docs)])
    common.print_table(["documents", "languages", "docs", "pipeline ok", "pipeline acc", "bare ok", "bare acc"],
                       overall_rows)

    print("\nby kind:")
    common.print_table(["kind", "docs", "pipeline ok", "pipeline acc", "bare ok", "bare acc"],
                       [[kind, c[0], c[1], acc(c[1], c[0]), c[2], acc(c[2], c[0])]
                        for kind, c in sorted(by_kind.items(), key=lambda kv: (-kv[1][0], kv[0]))])

    unknown = sum(c[common.UNKNOWN] for c in wrong.values())
    errors = sum(confusions.values())
    print(f"\npipeline errors: {errors:,} documents; {unknown:,} of them `unknown` (top-label probability "
          f"< {common.THRESHOLD}), {errors - unknown:,} another language")
    print(f"most frequent pipeline errors (truth -> pipeline answer), top {args.show}:")
    common.print_table(["truth", "answer", "docs", "in lid.176"],
                       [[t, g, c, "yes" if t in labels else "NO"]
                        for (t, g), c in confusions.most_common(args.show)], "llrl")

    print("\nper language (sorted by documents; * = label lid.176 cannot output):")
    rows = []
    for language in sorted(by_language, key=lambda k: (-by_language[k][0], k)):
        docs, ok_p, ok_b = by_language[language]
        top_wrong = ", ".join(f"{g} {c}" for g, c in wrong[language].most_common(3))
        rows.append([language + ("" if language in labels else " *"), docs, ok_p, acc(ok_p, docs), ok_b,
                     acc(ok_b, docs), top_wrong])
    common.print_table(["language", "docs", "pipeline ok", "pipeline acc", "bare ok", "bare acc",
                        "pipeline's wrong answers (top 3)"], rows, "lrrrrrl")

    print(f"\ntruth labels lid.176 cannot output ({len(unsupported)} languages, "
          f"{sum(by_language[k][0] for k in unsupported):,} documents; always wrong by construction):")
    for language in unsupported:
        answers = ", ".join(f"{g} {c}" for g, c in wrong[language].most_common(4))
        print(f"  {language:<4} {by_language[language][0]:>4} docs -> {answers}")

    rate = agree / n if n else 0.0
    verdict = "PASS" if rate >= AGREEMENT_TARGET else "FAIL"
    all_docs, all_p, all_b = totals(list(by_language))
    sup_docs, sup_p, sup_b = totals(supported)
    print(f"\n{verdict}: agreement with bare lid.176 {pct(agree, n)} (target >= {AGREEMENT_TARGET:.1%}); "
          f"accuracy pipeline {acc(all_p, all_docs)} / bare {acc(all_b, all_docs)} "
          f"({acc(sup_p, sup_docs)} / {acc(sup_b, sup_docs)} on labels lid.176 can output)")
    return 0 if rate >= AGREEMENT_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
