#!/usr/bin/env python
"""Gender-GAP throughput per language family, next to bare fastText LID on the same text.

Texts: the documents of ``<data>/shards`` (mostly English; each in the language its
``shards-truth.json`` label says) and the Tatoeba sentence files ``<data>/tatoeba/<iso639-3>.txt``
of every language with a lexicon, grouped into documents of ``--lines`` sentences. Each
family's texts are repeated until at least ``--mb`` MB (space-delimited) or ``--cjk-mb`` MB
(Chinese, Japanese, Thai) of UTF-8 text. Families: space-delimited (every language whose
lexicon is matched on regex word tokens), zh (jieba), ja (SudachiPy), th (pythainlp).

Measured in this process, one core, CPU time (``time.process_time``), best of ``--repeat``:

(i)   bare fastText lid.176 on each document (the binding call the ``langid`` stage makes);
(ii)  the ``gender_gap`` stage's per-document work: normalise, tokenise, match
      (``NounMatcher.count``) with the document's lexicon, segmenters loaded beforehand;
(iii) for space-delimited text, the same tokens matched with a dict of token tuples
      (a Python loop over tokens) instead of the Aho-Corasick pass, to compare the two.

MB/s = MB of UTF-8 text / CPU seconds; ratio = gender_gap MB/s / fastText MB/s (target >= 1
for space-delimited languages).

Two fixed-cost modes instead of the throughput table, each step in a fresh interpreter:

``--setup``: what the stage costs before its first document, with ``--lexicon`` (the official
files: 55 languages): loading and validating the lexicons, one Beam pickle round trip of the
stage (a DirectRunner run pickles it 8 times and unpickles it 15 times), building the English
matcher on first use; then the wall time of a 100-document English run with
``--stages langid,gender_gap`` against ``--stages langid``, interleaved, best of ``--repeat``.

``--large-lexicon MB``: a synthetic ``eng_nouns.json`` of MB megabytes (random words, singular
and plural, 10% two-word entries): load, pickle round trip, first-use build (seconds, RSS), and
a whole ``corpus-audit run`` of 3 documents with it (wall seconds, peak RSS).

    python bench/gender_gap.py [--data DIR] [--lexicon DIR] [--mb 8] [--cjk-mb 1] [--repeat 3]
    python bench/gender_gap.py --setup --lexicon DIR [--repeat 5]
    python bench/gender_gap.py --large-lexicon 12
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import _common as common

from corpus_audit.lexicons.gender_gap import FASTTEXT_TO_LEXICON, GENDERS, lexicon_code, load_lexicons
from corpus_audit.transforms.gender_gap import SEGMENTED, NounMatcher, normalise

FAMILIES = {"jieba": "zh (jieba)", "sudachipy": "ja (SudachiPy)", "pythainlp": "th (pythainlp)",
            "regex": "space-delimited"}
TARGET = 1.0


def family_of(code: str) -> str:
    return SEGMENTED.get(code, "regex")


def load_texts(data: Path, lines_per_document: int, available: dict) -> dict[str, list[tuple[str, str]]]:
    """(lexicon code, text) per family: shard documents, then Tatoeba sentences in documents."""
    texts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    truth = common.load_truth(data)
    for document in common.load_documents(common.shards_dir(data)):
        code = lexicon_code(truth.get(document.id, {}).get("language"), available)
        if code:
            texts[family_of(code)].append((code, document.text))
    three_to_code = {value: value for value in FASTTEXT_TO_LEXICON.values()}
    three_to_code.update({"ara": "arb", "uzb": "uzn", "mon": "khk"})
    for path in sorted((data / "tatoeba").glob("*.txt")):
        code = three_to_code.get(path.stem)
        if code not in available:
            continue
        sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for start in range(0, len(sentences), lines_per_document):
            texts[family_of(code)].append((code, "\n".join(sentences[start:start + lines_per_document])))
    return texts


def repeat_to(documents: list[tuple[str, str]], target_bytes: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    total = 0
    while total < target_bytes and documents:
        for item in documents:
            out.append(item)
            total += len(item[1].encode("utf-8"))
            if total >= target_bytes:
                break
    return out


def time_fasttext(model, documents) -> float:
    predict = model.f.predict

    def predict_all() -> None:
        for _, text in documents:
            predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
    return common.cpu_timed(predict_all)[0]


def time_gender_gap(matchers, documents) -> tuple[float, list[tuple[int, int, int, int]]]:
    return common.cpu_timed(lambda: [matchers[code].count(text) for code, text in documents])


def tuple_index(matcher: NounMatcher) -> dict[str, list[tuple[tuple[str, ...], tuple[bool, bool, bool]]]]:
    """The matcher's lexicon as first token -> [(whole token tuple, genders)], longest first."""
    index: dict[str, list] = defaultdict(list)
    for key, key_genders in matcher.key_genders():
        tokens = tuple(key.split(" "))
        genders = tuple(gender in key_genders for gender in GENDERS)
        index[tokens[0]].append((tokens, genders))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return dict(index)


def time_tuple_dict(matchers, indexes, documents) -> float:
    """Alternative matcher: a Python loop over tokens with a dict of token tuples."""
    return common.cpu_timed(_tuple_dict_counts, matchers, indexes, documents)[0]


def _tuple_dict_counts(matchers, indexes, documents) -> None:
    for code, text in documents:
        matcher = matchers[code]
        tokens = matcher.tokenise(normalise(text, code))
        get = indexes[code].get
        masculine = feminine = unspecified = 0
        i, n = 0, len(tokens)
        while i < n:
            entries = get(tokens[i])
            if entries:
                for words, (is_m, is_f, is_u) in entries:
                    if tuple(tokens[i:i + len(words)]) == words:
                        masculine += is_m
                        feminine += is_f
                        unspecified += is_u
                        i += len(words) - 1
                        break
            i += 1


# ----------------------------------------------------------------------------- fixed costs

#: Run in a fresh interpreter: load the lexicons, one Beam pickle round trip, build the English
#: matcher; prints JSON. Uses only what every version of the stage has (for before/after).
PHASES = """
import json, resource, sys, time
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096 / 2**20
from apache_beam.internal import pickler
from corpus_audit.transforms.gender_gap import GenderGap
base = rss()
t = time.perf_counter(); stage = GenderGap(sys.argv[1]); load = time.perf_counter() - t; loaded = rss()
t = time.perf_counter(); blob = pickler.dumps(stage); dumps = time.perf_counter() - t
t = time.perf_counter(); clone = pickler.loads(blob); loads = time.perf_counter() - t
t = time.perf_counter(); clone.matcher('eng'); build = time.perf_counter() - t
print(json.dumps({"load": load, "load_mb": loaded - base, "dumps": dumps, "loads": loads, "pickled_kb": len(blob) / 1e3,
                  "build": build, "rss_mb": rss(), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


#: The CLI of the corpus_audit that PYTHONPATH (or the installed package) gives, run by this
#: interpreter: the same code as the in-process steps, whatever console script is installed.
CLI = [sys.executable, "-m", "corpus_audit"]


def run_child(command: list[str]) -> tuple[float, float, common.ChildRun]:
    """(wall seconds, peak RSS MB of the child, the run) of a command, checked. It runs in the
    file system root, so that ``python -c`` imports corpus_audit from PYTHONPATH or the
    installed package, never from the current directory."""
    run = common.run_timed(command, cwd="/")
    return run.wall, run.peak_rss_mb, run


def phases(lexicon: str) -> dict:
    return json.loads(run_child([sys.executable, "-c", PHASES, lexicon])[2].stdout)


def write_large_lexicon(directory: Path, megabytes: float) -> tuple[Path, int]:
    """A synthetic ``eng_nouns.json`` of about ``megabytes`` MB; returns (path, forms)."""
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    genders: dict[str, list] = {"masculine": [], "feminine": [], "unspecified": []}
    names = list(genders)
    size = forms = index = 0
    while size < megabytes * 1e6:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(5, 12)))
        if rng.random() < 0.1:
            word += " " + "".join(rng.choice(letters) for _ in range(rng.randint(3, 8)))
        genders[names[index % 3]].append({"singular": word, "plural": word + "s"})
        index += 1
        forms += 2
        size += 2 * len(word) + 33
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "eng_nouns.json"
    path.write_text(json.dumps(genders), encoding="utf-8")
    return path, forms


def large_lexicon(megabytes: float) -> int:
    work = common.make_work_dir("gender-gap-lexicon", keep=False)
    try:
        path, forms = write_large_lexicon(work / "lexicon", megabytes)
        print(f"synthetic lexicon: {path.stat().st_size / 1e6:.1f} MB, {forms:,} forms")
        measured = phases(str(path.parent))
        print(f"load {measured['load']:.2f} s (+{measured['load_mb']:.0f} MB kept); Beam pickle {measured['dumps']:.2f} s "
              f"+ unpickle {measured['loads']:.2f} s ({measured['pickled_kb']:,.0f} KB); English matcher built in "
              f"{measured['build']:.2f} s; RSS {measured['rss_mb']:.0f} MB, peak {measured['peak_mb']:.0f} MB")
        corpus = work / "c.jsonl"
        corpus.write_text("".join(json.dumps({"id": str(i), "text": text}) + "\n" for i, text in enumerate(
            ["My mother and my father met a woman.", "The boy and his sister.", "A doctor spoke to the men."])))
        wall, peak, _ = run_child([*CLI, "run", str(corpus), "--stages", "langid,gender_gap",
                                   "--gender-gap-lexicon", str(path.parent), "--output", str(work / "out"), "--quiet"])
        print(f"corpus-audit run, 3 documents, --stages langid,gender_gap: {wall:.1f} s wall, peak RSS {peak:.0f} MB")
    finally:
        common.remove_work_dir(work, keep=False)
    return 0


def english_documents(data: Path, count: int) -> list[dict]:
    truth = common.load_truth(data)
    documents = [d for d in common.load_documents(common.shards_dir(data))
                 if truth.get(d.id, {}).get("language") == "en"][:count]
    return [{"id": d.id, "text": d.text} for d in documents]


def setup_cost(data: Path, lexicon: str | None, repeat: int) -> int:
    if not lexicon:
        sys.exit("bench: --setup needs --lexicon DIR (e.g. the official Gender-GAP v1.0 files)")
    runs = [phases(lexicon) for _ in range(repeat)]
    best = {key: min(run[key] for run in runs) for key in runs[0]}
    print(f"lexicons {lexicon} (best of {repeat}, fresh interpreters): load {best['load'] * 1e3:.0f} ms; Beam pickle "
          f"{best['dumps'] * 1e3:.1f} ms + unpickle {best['loads'] * 1e3:.1f} ms ({best['pickled_kb']:.0f} KB); "
          f"English matcher on first use {best['build'] * 1e3:.1f} ms")
    print(f"  per DirectRunner run (8 pickles, 15 unpickles): "
          f"{(8 * best['dumps'] + 15 * best['loads']) * 1e3:.0f} ms of pickling")
    work = common.make_work_dir("gender-gap-setup", keep=False)
    try:
        corpus = work / "en100.jsonl"
        corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in english_documents(data, 100)),
                          encoding="utf-8")
        times: dict[str, list[float]] = {"langid": [], "langid,gender_gap": []}
        for round_ in range(repeat):
            for index, stages in enumerate(times):
                # a directory per run: corpus-audit refuses to replace a completed audit
                output = work / f"out{round_}-{index}"
                wall, _, _ = run_child([*CLI, "run", str(corpus), "--stages", stages,
                                        "--gender-gap-lexicon", lexicon, "--output", str(output), "--quiet"])
                times[stages].append(wall)
        base, full = min(times["langid"]), min(times["langid,gender_gap"])
        print(f"100 English documents, wall, best of {repeat} interleaved: --stages langid {base:.2f} s, "
              f"langid,gender_gap {full:.2f} s: gender_gap adds {full - base:+.2f} s")
    finally:
        common.remove_work_dir(work, keep=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/ and tatoeba/")
    parser.add_argument("--lexicon", help="Gender-GAP lexicon directory (default: cache, else shipped default)")
    parser.add_argument("--mb", type=float, default=8.0, help="MB of space-delimited text (default 8)")
    parser.add_argument("--cjk-mb", type=float, default=1.0, help="MB of zh/ja/th text each (default 1)")
    parser.add_argument("--lines", type=int, default=20, help="Tatoeba sentences per document (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the space-delimited target is missed")
    parser.add_argument("--setup", action="store_true", help="fixed costs before the first document (see above)")
    parser.add_argument("--large-lexicon", type=float, metavar="MB", help="cost of a synthetic lexicon of MB megabytes")
    args = parser.parse_args(argv)
    if args.large_lexicon:
        return large_lexicon(args.large_lexicon)
    if args.setup:
        return setup_cost(Path(args.data), args.lexicon, args.repeat)

    print("== corpus-audit gender_gap throughput ==")
    for line in common.machine_info():
        print(line)
    lexicons = load_lexicons(args.lexicon)
    print(f"lexicons: {lexicons.name} {lexicons.version or ''} ({lexicons.source}: {lexicons.directory}), "
          f"{len(lexicons.languages)} languages")
    texts = load_texts(Path(args.data), args.lines, lexicons.languages)
    model = common.load_model()
    rows = []
    met = True
    common.check_quiet_machine("before timing")
    for family in ("regex", "jieba", "sudachipy", "pythainlp"):
        if not texts.get(family):
            print(f"{FAMILIES[family]}: no text with a lexicon in {args.data}; skipped")
            continue
        target = args.mb if family == "regex" else args.cjk_mb
        documents = repeat_to(texts[family], int(target * 1e6))
        mb = common.text_bytes(text for _, text in documents) / 1e6
        codes = sorted({code for code, _ in documents})
        started = time.perf_counter()
        matchers = {code: NounMatcher(lexicons.languages[code]) for code in codes}
        for code in codes:  # first call loads lazy dictionaries (jieba, Sudachi, pythainlp)
            matchers[code].count("warm up")
        load_seconds = time.perf_counter() - started
        fasttext_times, gender_times, tuple_times = [], [], []
        indexes = {code: tuple_index(matchers[code]) for code in codes} if family == "regex" else {}
        counts = None
        for _ in range(args.repeat):
            fasttext_times.append(time_fasttext(model, documents))
            seconds, counts = time_gender_gap(matchers, documents)
            gender_times.append(seconds)
            if indexes:
                tuple_times.append(time_tuple_dict(matchers, indexes, documents))
        ft, gg = min(fasttext_times), min(gender_times)
        ratio = ft / gg
        tokens = sum(c[0] for c in counts)
        matches = sum(sum(c[1:]) for c in counts)
        row = [FAMILIES[family], len(codes), f"{len(documents):,}", f"{mb:.2f}", f"{tokens:,}", f"{matches:,}",
               f"{mb / ft:.2f}", f"{mb / gg:.2f}", f"{ratio:.2f}",
               f"{mb / min(tuple_times):.2f}" if tuple_times else "", f"{load_seconds:.1f}"]
        rows.append(row)
        if family == "regex" and ratio < TARGET:
            met = False
    common.check_quiet_machine("after timing")
    print(f"\nMB/s per core (MB of UTF-8 text / CPU seconds, best of {args.repeat}):")
    common.print_table(["family", "langs", "docs", "MB", "tokens", "matches", "fastText MB/s",
                        "gender_gap MB/s", "ratio", "tuple-dict MB/s", "load s"], rows, "lrrrrrrrrrr")
    print(f"\nratio = gender_gap / bare fastText lid.176 on the same documents; target >= {TARGET} for "
          f"space-delimited: {'MET' if met else 'MISSED'}")
    print("tuple-dict = the same regex tokens matched by a Python loop with a dict of token tuples "
          "(the Aho-Corasick pass is what the stage uses); load s = building matchers and loading segmenters")
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
