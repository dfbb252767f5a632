#!/usr/bin/env python
"""Coverage of the sampled-run intervals: is the full run's value inside the interval 95% of the time?

One full audit of the corpus (no ``--sample-rate``) gives every declared percentage's true value
(the corpus is the population). Then ``--seeds`` sampled audits at ``--rate`` (``--sample-seed``
0, 1, ...: independent hash samples) each publish ``<percent>_ci_low`` / ``_ci_high``. Per
figure (table, row key, column) the bench prints how often the full value lies inside the
sampled run's interval, over the seeds whose sampled run has that row, and the lowest coverage
of the figures over at least ``--min-documents`` documents. Target: >= 0.93 for every figure.

    python bench/sampling_coverage.py [--data DIR] [--rate 0.05] [--seeds 200] [--min-documents 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import _common as common
import pyarrow.parquet as pq

from corpus_audit import audit
from corpus_audit.transforms import table_spec
from corpus_audit.transforms.base import proportion_bases

STAGES = "langid,pronouns,descriptors,gender_gap"


def figures(run: Path) -> dict[tuple[str, str, str], tuple[float, float | None, float | None, int]]:
    """(table, row key, column) -> (value, ci_low, ci_high, denominator) of every declared percentage."""
    import json

    out = {}
    summary = json.loads((run / "summary.json").read_text())
    tables = {table: pq.read_table(run / "tables" / f"{table}.parquet").to_pylist() for table in summary["tables"]}
    for table, rows in tables.items():
        spec = table_spec(table)[1]
        keys = spec.keys_for(table, rows[0].keys() if rows else ())
        for proportion, row, _count, base in proportion_bases(spec, rows, tables.get):
            if row.get(proportion.percent) is None:
                continue
            label = ", ".join(f"{k}={row.get(k)}" for k in keys)
            out[(table, label, proportion.percent)] = (row[proportion.percent], row.get(f"{proportion.percent}_ci_low"),
                                                       row.get(f"{proportion.percent}_ci_high"), base or 0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--min-documents", type=int, default=200,
                        help="figures whose full denominator is below this are listed, not held to the target")
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    shards = args.data / "shards"
    if not shards.is_dir():
        print(f"no shards under {shards}", file=sys.stderr)
        return 2
    print("== Sampled-run interval coverage ==")
    print("\n".join(common.machine_info()))
    work = Path(tempfile.mkdtemp(prefix="corpus-audit-coverage-"))
    try:
        audit(str(shards), work / "full", STAGES)
        truth = figures(work / "full")
        inside: dict[tuple, int] = defaultdict(int)
        present: dict[tuple, int] = defaultdict(int)
        started = time.time()
        for seed in range(args.seeds):
            out = work / f"seed-{seed}"
            audit(str(shards), out, STAGES, sample_rate=args.rate, sample_seed=seed)
            for key, (value, low, high, _) in figures(out).items():
                if key in truth and low is not None:
                    present[key] += 1
                    inside[key] += low - 1e-9 <= truth[key][0] <= high + 1e-9
            shutil.rmtree(out)
        elapsed = time.time() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    held = {key: inside[key] / present[key] for key in present
            if truth[key][3] >= args.min_documents and present[key] >= args.seeds // 2}
    print(f"rate {args.rate:g}, {args.seeds} seeds ({elapsed:.0f} s), {len(truth)} figures in the full run, "
          f"{len(held)} over >= {args.min_documents} documents")
    for key, coverage in sorted(held.items(), key=lambda item: item[1])[:args.show]:
        print(f"  {coverage:.3f}  {key[0]} [{key[1]}] {key[2]} (denominator {truth[key][3]:,}; in {present[key]} runs)")
    worst = min(held.values(), default=float("nan"))
    print(f"lowest coverage over the held figures: {worst:.3f} (target >= 0.93): {'ok' if worst >= 0.93 else 'BELOW'}")
    return 0 if worst >= 0.93 else 1


if __name__ == "__main__":
    sys.exit(main())
