#!/usr/bin/env python
"""Fixed costs: how long corpus-audit takes before and around the first document.

Times, in ``--repeat`` interleaved rounds (rotating order), each as a subprocess from outside:

- ``import apache_beam`` alone (the floor of any ``run``);
- ``corpus-audit --version`` and ``corpus-audit compare A A`` (neither should import Beam);
- a ``--docs``-document (default 100) full CPU audit, ``--workers 1`` (target <= 2.5 s wall),
  ``--workers 2`` (what multi-worker start-up adds) and ``--runner DirectRunner`` (the same run
  on Beam's engine: what Beam's import and graph cost);
- ``corpus-audit report`` on that run (plots and datasheet).

Then one ``python -X importtime`` run of the small audit, summarised by top-level package
(cumulative import seconds), to show which libraries the fixed cost is made of.

    python bench/startup.py [--docs 100] [--repeat 3] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import _common as common
from memory import cpu_stages

TARGET_SMALL_RUN_S = 2.5


def timed(command: list[str], check: bool = True) -> tuple[float, float]:
    """(wall s, CPU s) of ``command`` in a subprocess."""
    run = common.run_timed(command, check=check)
    return run.wall, run.cpu


def small_corpus(data: str, docs: int, directory: Path) -> Path:
    """The first ``docs`` records of the dev shards, taken round-robin so every shard's mix is in."""
    documents = common.load_documents(common.shards_dir(data))
    step = max(1, len(documents) // docs)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "small.jsonl.gz"
    import json

    with gzip.open(path, "wt", encoding="utf-8") as f:
        for document in documents[::step][:docs]:
            f.write(json.dumps({"id": document.id, "text": document.text, "source": document.source},
                               ensure_ascii=False) + "\n")
    return path


def import_profile(command: list[str]) -> list[tuple[str, float]]:
    """Cumulative import seconds of each package's root module in one ``-X importtime`` run
    (where a package is imported inside another, it is counted there too)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    totals: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        name = name.strip()
        if "." in name or name.startswith("_") or not cumulative.strip().isdigit():
            continue
        totals[name] = max(totals[name], int(cumulative.strip()) / 1e6)
    return sorted(totals.items(), key=lambda item: -item[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/")
    parser.add_argument("--docs", type=int, default=100, help="documents in the small audit (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3; best of them)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--keep", action="store_true", help="keep corpus and outputs under bench/_work/")
    args = parser.parse_args(argv)
    if args.docs < 1 or args.repeat < 1:
        parser.error("--docs and --repeat must be >= 1")
    print("== corpus-audit fixed costs ==")
    for line in common.machine_info():
        print(line)
    work = common.make_work_dir("startup", args.keep)
    cli = common.corpus_audit_command()
    stages = ",".join(cpu_stages())
    try:
        corpus = small_corpus(args.data, args.docs, work / "corpus")
        run_dir = work / "run-1"

        def audit(workers: int, output: Path, runner: str = "auto"):
            def once() -> tuple[float, float]:
                shutil.rmtree(output, ignore_errors=True)
                return timed([*cli, "run", str(corpus), "--output", str(output), "--stages", stages, "--quiet",
                              "--workers", str(workers), "--runner", runner])
            return once

        audit(1, run_dir)()  # a first run: report and compare need a run directory (not timed)
        runs = {
            "import apache_beam": lambda: timed([sys.executable, "-c", "import apache_beam"]),
            "corpus-audit --version": lambda: timed([*cli, "--version"]),
            "corpus-audit compare A A": lambda: timed([*cli, "compare", str(run_dir), str(run_dir)]),
            f"{args.docs}-doc audit --workers 1": audit(1, work / "run-a"),
            f"{args.docs}-doc audit --workers 2": audit(2, work / "run-b"),
            f"{args.docs}-doc audit --runner DirectRunner": audit(1, work / "run-c", "DirectRunner"),
            "corpus-audit report": lambda: timed([*cli, "report", str(run_dir)]),
        }
        names = list(runs)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        common.check_quiet_machine("before timing")
        for round_number in range(args.repeat):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for name in order:
                times[name].append(runs[name]())
            print(f"  round {round_number + 1} done", flush=True)
        common.check_quiet_machine("after timing")
        rows = [[name, f"{min(w for w, _ in values):.2f}", f"{min(c for _, c in values):.2f}",
                 " ".join(f"{w:.2f}" for w, _ in values)] for name, values in times.items()]
        print()
        common.print_table(["command", "best wall s", "best cpu s", "all wall s"], rows)
        small = min(w for w, _ in times[f"{args.docs}-doc audit --workers 1"])
        two = min(w for w, _ in times[f"{args.docs}-doc audit --workers 2"])
        print(f"\n  {args.docs}-document full audit: {small:.2f} s wall   target <= {TARGET_SMALL_RUN_S}: "
              f"{'MET' if small <= TARGET_SMALL_RUN_S else 'MISSED'}")
        print(f"  --workers 2 start-up over --workers 1: +{two - small:.2f} s")
        beam = min(w for w, _ in times[f"{args.docs}-doc audit --runner DirectRunner"])
        print(f"  the same audit on Beam's DirectRunner: {beam:.2f} s ({beam / small:.2f}x the in-process engine)")
        print("\nimports of one small audit (cumulative s of each package, -X importtime; nested ones overlap):")
        profile = import_profile(["-m", "corpus_audit", "run", str(corpus), "--output", str(work / "run-p"),
                                  "--stages", stages, "--quiet"])
        for name, seconds in profile[:15]:
            print(f"  {name:<24} {seconds:6.2f}")
        met = small <= TARGET_SMALL_RUN_S
    finally:
        common.remove_work_dir(work, args.keep)
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
