#!/usr/bin/env python
"""Throughput of the English lexicon stages (pronouns + HolisticBias descriptors) next to
bare fastText LID on the same text, in one process run.

Text: the documents of ``<data>/shards`` that lid.176 labels ``en`` (the documents these
stages analyse by default), plus ``<data>/wikitext2/valid.txt`` split into articles,
repeated to about ``--mb`` MB. Measured, each on one core, best of ``--repeat``:

(i)   bare fastText lid.176 predict over the texts (newlines as spaces, k=1);
(ii)  the ``pronouns`` stage alone: ``annotate`` + its CombineFn ``add_input`` per 1,000-document batch;
(iii) the ``descriptors`` stage alone (same);
(iv)  both stages on the same batches, sharing one tokenisation (what a run does);
(v)   for scale, a single ``re`` alternation of every term with ``\\b`` boundaries and
      IGNORECASE over a 1 MB sample (the obvious implementation).

Target: (iv) >= 2x (i), so these stages never dominate a run.

    python bench/demographics.py [--mb 20] [--repeat 3] [--descriptors PATH] [--data DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from argparse import Namespace
from pathlib import Path

import _common as common

TARGET_VS_FASTTEXT = 2.0
BATCH = 1000


def english_texts(data: Path, model, target_bytes: int) -> list[str]:
    texts = [d.text for d in common.load_documents(common.shards_dir(data))
             if common.bare_predict(model, d.text)[0] == "en"]
    wikitext = data / "wikitext2" / "valid.txt"
    if wikitext.is_file():
        texts += [t for t in wikitext.read_text(encoding="utf-8").split("\n \n") if t.strip()]
    if not texts:
        sys.exit("bench: no English text found")
    out: list[str] = []
    total = 0
    while total < target_bytes:
        for text in texts:
            out.append(text)
            total += len(text.encode("utf-8"))
            if total >= target_bytes:
                break
    return out


def make_stages(descriptors_path: str | None):
    from corpus_audit.transforms.descriptors import Descriptors
    from corpus_audit.transforms.pronouns import Pronouns

    args = Namespace(english_lexicons_on="english", pronoun_lexicon=None, holistic_bias_descriptors=descriptors_path,
                     axes="gender_and_sex,sexual_orientation,nationality,race_ethnicity,religion",
                     exclude_terms="straight,white,black", descriptor_axis_priority="gender_and_sex",
                     descriptors_top_k=5)
    pronouns, descriptors = Pronouns.from_args(args), Descriptors.from_args(args)
    pronouns.setup()
    descriptors.setup()
    return pronouns, descriptors


def run_stages(stages, batches) -> float:
    """Seconds to annotate + pre-combine every batch with ``stages`` (in order, sharing columns)."""
    combine_fns = [stage.combine_fn() for stage in stages]
    accumulators = [fn.create_accumulator() for fn in combine_fns]
    started = time.perf_counter()
    for batch in batches:
        columns = {"language": ["en"] * len(batch)}
        for stage in stages:
            columns.update(stage.annotate(batch, columns))
        for i, (stage, fn) in enumerate(zip(stages, combine_fns)):
            accumulators[i] = fn.add_input(accumulators[i], stage.combine_input(batch, columns))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/ and wikitext2/")
    parser.add_argument("--mb", type=float, default=20.0, help="MB of English text to process (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; the best is reported (default 3)")
    parser.add_argument("--descriptors", help="descriptors.json to use (default: what a run would use)")
    args = parser.parse_args()

    from corpus_audit.documents import DocumentBatch

    for line in common.machine_info():
        print(line)
    common.check_quiet_machine("before")
    model = common.load_model()
    texts = english_texts(Path(args.data), model, int(args.mb * 1e6))
    nbytes = common.text_bytes(texts)
    batches = []
    for start in range(0, len(texts), BATCH):
        chunk = texts[start:start + BATCH]
        batches.append(DocumentBatch("bench", [str(i) for i in range(len(chunk))], chunk,
                                     list(range(len(chunk))), [None] * len(chunk)))
    pronouns, descriptors = make_stages(args.descriptors)
    print(f"text: {len(texts):,} English documents, {nbytes / 1e6:.1f} MB; descriptors: "
          f"{descriptors.lexicon.name} {descriptors.lexicon.version} ({len(descriptors.lexicon.terms)} terms)")

    predict = model.f.predict
    timings: dict[str, list[float]] = {"fasttext": [], "pronouns": [], "descriptors": [], "both": []}
    for _ in range(args.repeat):
        started = time.perf_counter()
        for text in texts:
            predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
        timings["fasttext"].append(time.perf_counter() - started)
        timings["pronouns"].append(run_stages([pronouns], batches))
        timings["descriptors"].append(run_stages([descriptors], batches))
        timings["both"].append(run_stages([pronouns, descriptors], batches))

    sample = texts[: max(1, int(len(texts) * min(1.0, 1e6 / nbytes)))]
    sample_bytes = common.text_bytes(sample)
    words = sorted({w for ws in pronouns.lexicon.words.values() for w in ws} |
                   {" ".join(t) for t in descriptors.lexicon.terms}, key=len, reverse=True)
    alternation = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    started = time.perf_counter()
    for text in sample:
        set(m.group(0).lower() for m in alternation.finditer(text))
    regex_seconds = time.perf_counter() - started

    fasttext_rate = nbytes / 1e6 / min(timings["fasttext"])
    rows = []
    for name, label in (("fasttext", "bare fastText lid.176 predict"), ("pronouns", "pronouns stage"),
                        ("descriptors", "descriptors stage"), ("both", "pronouns + descriptors (shared tokens)")):
        best = min(timings[name])
        rate = nbytes / 1e6 / best
        rows.append([label, f"{best:.2f}", f"{rate:.1f}", f"{len(texts) / best:,.0f}", f"{rate / fasttext_rate:.2f}"])
    regex_rate = sample_bytes / 1e6 / regex_seconds
    rows.append([f"re alternation, {len(words)} terms (1 MB sample)", f"{regex_seconds:.2f}", f"{regex_rate:.1f}",
                 f"{len(sample) / regex_seconds:,.0f}", f"{regex_rate / fasttext_rate:.2f}"])
    print()
    common.print_table(["one core", "seconds", "MB/s", "docs/s", "x fastText"], rows)
    ratio = (nbytes / 1e6 / min(timings["both"])) / fasttext_rate
    verdict = "meets" if ratio >= TARGET_VS_FASTTEXT else "MISSES"
    print(f"\npronouns + descriptors / bare fastText = {ratio:.2f} ({verdict} the >= {TARGET_VS_FASTTEXT:.1f}x target)")
    common.check_quiet_machine("after")


if __name__ == "__main__":
    main()
