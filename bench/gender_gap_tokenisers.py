#!/usr/bin/env python
"""Gender-GAP tokenisation: the stage's regex splitter against spaCy's blank tokenizers.

For every lexicon language written with spaces that has text in ``<data>``, the same
normalised documents are tokenised twice — by the stage (`RegexSplitter`, the shared
English tokenisation for ``eng``) and by ``spacy.blank(lang).tokenizer`` (`SpacySplitter`,
batched with ``pipe``; spaCy's ``xx`` rules where it has no such language) — and matched
against the same lexicon (`NounMatcher` with each splitter). Printed per language: word
tokens, matches (masculine + feminine + unspecified) and their differences, and the CPU time
of each tokeniser. Chinese, Japanese and Thai are left out: spaCy's blank ``zh``/``ja``/``th``
pipelines wrap the same segmenters (jieba/char, SudachiPy, pythainlp) the stage calls.

Texts, each counted once: ``<data>/tatoeba/<iso639-3>.txt`` (``--lines`` sentences a document),
``<data>/wikitext2/valid.txt`` (English, one paragraph a document) and the documents of
``<data>/shards`` not built from those two files (``shards-truth.json`` kinds ``tatoeba-eng``
and ``toxigen``: English; the ``tatoeba`` and ``wiki`` documents repeat the files' sentences).

Tolerance (the same as tests/test_gender_gap_spacy.py): word tokens within ``--token-tolerance``
percent (default 1) and matches within ``--match-tolerance`` percent (default 0.5) or one
match, whichever is larger, per language. ``--strict``: exit 1 when a language is outside it.

Needs spaCy (``pip install -e ".[test]"``; it is not a dependency of corpus-audit).

    python bench/gender_gap_tokenisers.py [--data DIR] [--lexicon DIR] [--lines 20] [--show 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import _common as common

from corpus_audit.lexicons.gender_gap import lexicon_code, load_lexicons
from corpus_audit.transforms.gender_gap import SEGMENTED, NounMatcher, SpacySplitter, normalise

#: Tatoeba file names that are not the lexicon's code.
TATOEBA_CODES = {"ara": "arb", "uzb": "uzn", "mon": "khk"}


#: Kinds of shard documents whose text is not in tatoeba/*.txt or wikitext2/ (see the docstring).
SHARD_KINDS = ("tatoeba-eng", "toxigen")


def load_texts(data: Path, lines_per_document: int, available: dict) -> dict[str, list[str]]:
    """Documents per lexicon code: Tatoeba sentences, WikiText-2 paragraphs, the other shard documents."""
    texts: dict[str, list[str]] = defaultdict(list)
    truth = common.load_truth(data)
    for document in common.load_documents(common.shards_dir(data)):
        label = truth.get(document.id, {})
        code = lexicon_code(label.get("language"), available)
        if code and label.get("kind") in SHARD_KINDS:
            texts[code].append(document.text)
    for path in sorted((data / "tatoeba").glob("*.txt")):
        code = TATOEBA_CODES.get(path.stem, path.stem)
        if code not in available:
            continue
        sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for start in range(0, len(sentences), lines_per_document):
            texts[code].append("\n".join(sentences[start:start + lines_per_document]))
    wiki = data / "wikitext2" / "valid.txt"
    if wiki.is_file() and "eng" in available:
        texts["eng"].extend(line.strip() for line in wiki.read_text(encoding="utf-8").splitlines() if line.strip())
    return texts


def within(fast: int, spacy: int, percent: float, absolute: int = 0) -> bool:
    return abs(fast - spacy) <= max(absolute, percent / 100 * max(fast, spacy))


def compare(code: str, lexicon, documents: list[str]) -> dict:
    """Token and match counts of both tokenisers on ``documents`` (plus CPU times and examples)."""
    fast_matcher = NounMatcher(lexicon)
    oracle = SpacySplitter(code)
    spacy_matcher = NounMatcher(lexicon, oracle)
    normalised = [normalise(text, code) for text in documents]
    fast_seconds, fast_tokens = common.cpu_timed(lambda: [fast_matcher.tokenise(text) for text in normalised])
    spacy_seconds, spacy_tokens = common.cpu_timed(oracle.tokens_many, normalised)
    fast_counts = [fast_matcher.count(text, tokens) for text, tokens in zip(documents, fast_tokens)]
    spacy_counts = [spacy_matcher.count(text, tokens) for text, tokens in zip(documents, spacy_tokens)]
    differences: Counter = Counter()
    for fast, spacy in zip(fast_tokens, spacy_tokens):
        if fast != spacy:
            only_fast, only_spacy = Counter(fast) - Counter(spacy), Counter(spacy) - Counter(fast)
            differences.update({f"-{t}": n for t, n in only_fast.items()})
            differences.update({f"+{t}": n for t, n in only_spacy.items()})
    return {
        "language": oracle.language, "documents": len(documents),
        "fast_tokens": sum(c[0] for c in fast_counts), "spacy_tokens": sum(c[0] for c in spacy_counts),
        "fast_matches": [sum(c[i] for c in fast_counts) for i in (1, 2, 3)],
        "spacy_matches": [sum(c[i] for c in spacy_counts) for i in (1, 2, 3)],
        "documents_differing": sum(f != s for f, s in zip(fast_counts, spacy_counts)),
        "fast_seconds": fast_seconds, "spacy_seconds": spacy_seconds, "differences": differences,
    }


def _time_import(module: str) -> tuple[float, bool]:
    """(seconds to import ``module`` in a fresh interpreter, whether that imported torch)."""
    code = (f"import sys, time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t, 'torch' in sys.modules)")
    seconds, torch = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout.split()
    return float(seconds), torch == "True"


def spacy_import_cost() -> tuple[float, float | None]:
    """(seconds to import spaCy, seconds of torch alone when spaCy imports it), each in a fresh
    interpreter: what a worker would pay on its first document tokenised with spaCy."""
    seconds, imports_torch = _time_import("spacy")
    return seconds, (_time_import("torch")[0] if imports_torch else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/, tatoeba/, wikitext2/")
    parser.add_argument("--lexicon", help="Gender-GAP lexicon directory (default: cache, else shipped default)")
    parser.add_argument("--lines", type=int, default=20, help="Tatoeba sentences per document (default 20)")
    parser.add_argument("--token-tolerance", type=float, default=1.0, help="percent (default 1)")
    parser.add_argument("--match-tolerance", type=float, default=0.5, help="percent, or 1 match (default 0.5)")
    parser.add_argument("--show", type=int, default=4, help="most frequent token differences shown per language")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a language is outside the tolerance")
    args = parser.parse_args(argv)
    try:
        import spacy
    except ImportError:
        sys.exit("bench: spaCy is not installed (pip install -e '.[test]')")

    print("== Gender-GAP tokenisation: regex splitter vs spaCy blank tokenizers ==")
    for line in common.machine_info():
        print(line)
    lexicons = load_lexicons(args.lexicon)
    print(f"spacy {spacy.__version__}; lexicons: {lexicons.name} {lexicons.version or ''} "
          f"({lexicons.source}: {lexicons.directory}), {len(lexicons.languages)} languages")
    texts = load_texts(Path(args.data), args.lines, lexicons.languages)
    rows, notes, outside = [], [], []
    totals = Counter()
    for code in sorted(texts):
        if code in SEGMENTED:
            continue
        result = compare(code, lexicons.languages[code], texts[code])
        fast_t, spacy_t = result["fast_tokens"], result["spacy_tokens"]
        fast_m, spacy_m = sum(result["fast_matches"]), sum(result["spacy_matches"])
        ok = within(fast_t, spacy_t, args.token_tolerance) and within(fast_m, spacy_m, args.match_tolerance, 1)
        if not ok:
            outside.append(code)
        totals.update(fast_t=fast_t, spacy_t=spacy_t, fast_m=fast_m, spacy_m=spacy_m,
                      fast_s=result["fast_seconds"], spacy_s=result["spacy_seconds"])
        rows.append([code, result["language"], f"{result['documents']:,}", f"{fast_t:,}", f"{spacy_t:,}",
                     f"{100 * (spacy_t - fast_t) / max(fast_t, 1):+.2f}",
                     "/".join(map(str, result["fast_matches"])), "/".join(map(str, result["spacy_matches"])),
                     f"{100 * (spacy_m - fast_m) / max(fast_m, 1):+.2f}", result["documents_differing"],
                     f"{result['spacy_seconds'] / max(result['fast_seconds'], 1e-9):.0f}", "ok" if ok else "OUTSIDE"])
        top = ", ".join(f"{token!r} {n}" for token, n in result["differences"].most_common(args.show))
        if top:
            notes.append(f"  {code}: {top}")
    print("\nper language (tokens = word tokens; matches = masculine/feminine/unspecified; "
          "spaCy x = spaCy tokenizer CPU time / regex splitter CPU time):")
    common.print_table(["lexicon", "spaCy", "docs", "tokens fast", "tokens spaCy", "diff %", "matches fast",
                        "matches spaCy", "diff %", "docs differing", "spaCy x", "within"], rows, "llrrrrrrrrrl")
    print(f"\nall: tokens {totals['fast_t']:,} vs {totals['spacy_t']:,} "
          f"({100 * (totals['spacy_t'] - totals['fast_t']) / max(totals['fast_t'], 1):+.2f} %), matches "
          f"{totals['fast_m']:,} vs {totals['spacy_m']:,} "
          f"({100 * (totals['spacy_m'] - totals['fast_m']) / max(totals['fast_m'], 1):+.2f} %); tokenising CPU "
          f"{totals['fast_s']:.2f} s vs {totals['spacy_s']:.2f} s ({totals['spacy_s'] / max(totals['fast_s'], 1e-9):.0f}x)")
    seconds, torch_seconds = spacy_import_cost()
    print(f"\nimporting spaCy in a fresh interpreter: {seconds:.2f} s"
          + (f" (it imports torch, through thinc: torch alone {torch_seconds:.2f} s)" if torch_seconds else ""))
    print("\nmost frequent token differences ('-' only the regex splitter, '+' only spaCy):")
    print("\n".join(notes) if notes else "  none")
    print(f"\ntolerance: tokens within {args.token_tolerance} %, matches within {args.match_tolerance} % or 1 match: "
          + (f"OUTSIDE for {', '.join(outside)}" if outside else "all languages within"))
    return 1 if outside and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
