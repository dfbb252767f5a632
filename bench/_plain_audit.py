#!/usr/bin/env python
"""The plain-Python baseline of bench/peers.py: what a team would write without a framework.

One process reads ``DIR/*.jsonl.gz`` with gzip + json, runs lid.176 on every document (k=1,
newlines as spaces, threshold 0.5) and, on documents identified as English (``--lid-only``:
not at all), lower-cases and tokenises them with one regular expression and looks the tokens
(and their 2- and 3-grams) up in sets built from the same pronoun and descriptor lists the
pipeline ships. Prints the counts as one JSON line (so the work cannot be skipped).
``--processes N``: the files shared among N processes forked after the model and the lists are
loaded (``multiprocessing.Pool``, one file per task), the way a team would use N cores.

    python bench/_plain_audit.py DIR MODEL [--lid-only] [--processes N]
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

LEXICONS = Path(__file__).resolve().parent.parent / "corpus_audit" / "lexicons"
TOKEN = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")


def _lexicons() -> tuple[dict[str, str], dict[str, str]]:
    """pronoun -> group (first group listing it) and descriptor (lower case) -> bucket."""
    pronouns: dict[str, str] = {}
    for group, words in json.loads((LEXICONS / "pronouns_en.json").read_text(encoding="utf-8")).items():
        if isinstance(words, list):
            for word in words:
                pronouns.setdefault(word.lower(), group)
    descriptors: dict[str, str] = {}
    for axis, buckets in json.loads((LEXICONS / "holistic_bias_default.json").read_text(encoding="utf-8")).items():
        if axis.startswith("_") or not isinstance(buckets, dict):
            continue
        for bucket, words in buckets.items():
            for word in words if isinstance(words, list) else []:
                if isinstance(word, str):
                    descriptors.setdefault(word.lower(), f"{axis}/{bucket}")
    return pronouns, descriptors


_STATE: dict = {}  # the model and the lists, loaded before the pool forks (inherited, not pickled)


def audit_file(path: Path) -> tuple[Counter, Counter, Counter]:
    """(languages, pronoun groups, descriptor buckets) document counts of one file."""
    predict, pronouns, descriptors, lid_only = (_STATE[k] for k in ("predict", "pronouns", "descriptors", "lid_only"))
    languages: Counter[str] = Counter()
    pronoun_docs: Counter[str] = Counter()
    descriptor_docs: Counter[str] = Counter()
    with gzip.open(path, "rb") as f:
        for line in f:
            text = json.loads(line)["text"]
            labels, probabilities = predict(text.replace("\n", " "), k=1)
            language = labels[0][9:] if probabilities[0] >= 0.5 else "unknown"
            languages[language] += 1
            if lid_only or language != "en":
                continue
            tokens = TOKEN.findall(text.lower())
            pronoun_docs.update({pronouns[t] for t in tokens if t in pronouns})
            found = {descriptors[t] for t in tokens if t in descriptors}
            for n in (2, 3):
                for i in range(len(tokens) - n + 1):
                    gram = " ".join(tokens[i:i + n])
                    if gram in descriptors:
                        found.add(descriptors[gram])
            descriptor_docs.update(found)
    return languages, pronoun_docs, descriptor_docs


def main(argv: list[str]) -> int:
    import fasttext  # fasttext-predict

    directory, model_path = Path(argv[0]), argv[1]
    processes = int(argv[argv.index("--processes") + 1]) if "--processes" in argv else 1
    pronouns, descriptors = _lexicons()
    _STATE.update(predict=fasttext.load_model(model_path).predict, pronouns=pronouns, descriptors=descriptors,
                  lid_only="--lid-only" in argv)
    files = sorted(directory.glob("*.jsonl.gz"))
    if processes > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes) as pool:
            counts = pool.map(audit_file, files, chunksize=1)
    else:
        counts = [audit_file(path) for path in files]
    languages, pronoun_docs, descriptor_docs = (sum((c[i] for c in counts), Counter()) for i in range(3))
    print(json.dumps({"documents": sum(languages.values()), "languages": len(languages),
                      "pronoun_docs": sum(pronoun_docs.values()), "descriptor_docs": sum(descriptor_docs.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
