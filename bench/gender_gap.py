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

    python bench/gender_gap.py [--data DIR] [--lexicon DIR] [--mb 8] [--cjk-mb 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import _common as common

from corpus_audit.lexicons.gender_gap import FASTTEXT_TO_LEXICON, lexicon_code, load_lexicons
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
    started = time.process_time()
    for _, text in documents:
        predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
    return time.process_time() - started


def time_gender_gap(matchers, documents) -> tuple[float, list[tuple[int, int, int, int]]]:
    counts = []
    started = time.process_time()
    for code, text in documents:
        counts.append(matchers[code].count(text))
    return time.process_time() - started, counts


def tuple_index(matcher: NounMatcher) -> dict[str, list[tuple[tuple[str, ...], tuple[bool, bool, bool]]]]:
    """The matcher's lexicon as first token -> [(whole token tuple, genders)], longest first."""
    index: dict[str, list] = defaultdict(list)
    for key in matcher.keys:
        tokens = tuple(key.split(" "))
        genders = matcher.automaton.get(f" {key} " if matcher.separator else key)[1]
        index[tokens[0]].append((tokens, genders))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return dict(index)


def time_tuple_dict(matchers, indexes, documents) -> float:
    """Alternative matcher: a Python loop over tokens with a dict of token tuples."""
    started = time.process_time()
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
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/ and tatoeba/")
    parser.add_argument("--lexicon", help="Gender-GAP lexicon directory (default: cache, else shipped default)")
    parser.add_argument("--mb", type=float, default=8.0, help="MB of space-delimited text (default 8)")
    parser.add_argument("--cjk-mb", type=float, default=1.0, help="MB of zh/ja/th text each (default 1)")
    parser.add_argument("--lines", type=int, default=20, help="Tatoeba sentences per document (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the space-delimited target is missed")
    args = parser.parse_args(argv)

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
