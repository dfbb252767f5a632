#!/usr/bin/env python
"""corpus-audit side by side with its peers, on the same corpus, in interleaved rounds.

Builds ``--mb`` MB of text (default 10,40: one corpus per size) from ``<data>/shards`` and
times, in every round and in a rotating order (so drift on a shared machine hits all alike):

- ``bare``: fastText lid.176 ``predict`` per text, in memory, in this process (no I/O);
- ``plain-lid`` / ``plain-full``: `_plain_audit.py` in a subprocess (gzip + json + LID, and
  for ``full`` the same pronoun/descriptor lookups on English documents with Python sets);
- ``datatrove-lid``: datatrove's JsonlReader → LanguageFilter with the same lid.176.ftz and
  k=1 (`_datatrove_lid.py`), only when ``datatrove`` is importable: this script installs
  nothing (``.venv/bin/pip install datatrove`` to include it);
- ``ca-lid``: ``corpus-audit run --stages langid --workers 1 --quiet``;
- ``ca-full``: ``corpus-audit run --stages <every CPU stage> --workers 1 --quiet``;
- ``ca-same``: ``corpus-audit run --stages langid,pronouns,descriptors --workers 1 --quiet``: the
  analyses the plain script does (it has no Gender-GAP), each with its documents/ columns,
  tables, plots and datasheet, which the script does not write;
- ``ca-full-auto`` / ``ca-lid-auto``: ``ca-full`` / ``ca-lid`` with the default ``--workers auto``
  (on a multi-core machine several worker processes), compared with the peers given the same
  cores: ``plain-full-cores`` (the plain script's files shared among N forked processes) and
  ``datatrove-lid-cores`` (N datatrove tasks on N local workers), N = min(usable cores, shards).

Each one-core ratio is printed beside its *ceiling*: the same ratio for the plain LID-only script,
which reads the same files and runs the same fastText calls with nothing else (no outputs, no
framework). No one-process tool that reads and identifies every document can beat it, so a target
above the ceiling cannot be met on one core by any implementation.

Subprocesses are timed from outside, start-up included; CPU s is user + system of the
process tree. Ratios are speed ratios (their time / ours: > 1 means corpus-audit is faster),
from the best wall time of each and, less sensitive to a loaded machine, the best CPU time.

    python bench/peers.py [--mb 10,40] [--repeat 3] [--shards 4] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import _common as common
from memory import _langid_bench, cpu_stages

BENCH = Path(__file__).resolve().parent
#: (name of ours, name of theirs, target ratio their time / our time, what it compares)
TARGETS = [("ca-lid", "datatrove-lid", 1.5, "one core"),
           ("plain-lid", "datatrove-lid", None, "ceiling on one core: the plain LID script"),
           ("ca-lid-auto", "datatrove-lid-cores", 1.5, "same cores"),
           ("ca-full", "plain-full", 1.3, "one core"),
           ("plain-lid", "plain-full", None, "ceiling on one core: the plain LID script"),
           ("ca-full-auto", "plain-full-cores", 1.3, "same cores"),
           ("ca-full", "bare", 0.8, "one core"),
           ("plain-lid", "bare", None, "ceiling on one core: the plain LID script"),
           ("ca-same", "plain-full", None, "one core, the plain script's analyses"),
           ("ca-full-auto", "plain-full", None, "more cores than the one-process script"),
           ("ca-lid", "plain-lid", None, "one core"), ("ca-lid", "bare", None, "one core")]


def timed_subprocess(command: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of ``command``, start-up included; exits on failure."""
    run = common.run_timed(command)
    return run.wall, run.cpu


def measurements(corpus: Path, work: Path, model, texts: list[str], langid_bench, cores: int) -> dict:
    """name -> a function timing it once (``cores``: processes of the ``-cores`` peers)."""
    model_file = common.model_path()
    python = sys.executable
    stages = ",".join(cpu_stages())

    def ca(name: str, stage_list: str, workers: str = "1"):
        def once() -> tuple[float, float]:
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            run = common.run_pipeline([corpus], out, "--stages", stage_list, "--quiet", "--workers", workers)
            return run.wall, run.cpu
        return once

    found = {
        "bare": lambda: langid_bench.bare_wrapper(model, texts),
        "plain-lid": lambda: timed_subprocess([python, str(BENCH / "_plain_audit.py"), str(corpus), model_file,
                                               "--lid-only"]),
        "plain-full": lambda: timed_subprocess([python, str(BENCH / "_plain_audit.py"), str(corpus), model_file]),
        "plain-full-cores": lambda: timed_subprocess([python, str(BENCH / "_plain_audit.py"), str(corpus),
                                                      model_file, "--processes", str(cores)]),
        "ca-lid": ca("lid", "langid"),
        "ca-full": ca("full", stages),
        "ca-same": ca("same", "langid,pronouns,descriptors"),
        "ca-full-auto": ca("full-auto", stages, "auto"),
        "ca-lid-auto": ca("lid-auto", "langid", "auto"),
    }
    if importlib.util.find_spec("datatrove") is not None:
        def datatrove(tasks: int):
            def once() -> tuple[float, float]:
                logs = work / f"datatrove-logs-{tasks}"
                shutil.rmtree(logs, ignore_errors=True)
                return timed_subprocess([python, str(BENCH / "_datatrove_lid.py"), str(corpus), model_file,
                                         str(logs), "--k", "1", "--tasks", str(tasks)])
            return once
        found["datatrove-lid"] = datatrove(1)
        found["datatrove-lid-cores"] = datatrove(cores)
    return found


def interleaved(runs: dict, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Every measurement ``repeat`` times; round r starts at the r-th measurement."""
    names = list(runs)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_number in range(repeat):
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for name in order:
            times[name].append(runs[name]())
        print(f"  round {round_number + 1}: " + ", ".join(f"{n} {times[n][-1][0]:.1f}" for n in names), flush=True)
    return times


def report(times: dict[str, list[tuple[float, float]]], mb: float, n: int) -> list[str]:
    """Print the table and the ratios; returns the targets missed."""
    best = {name: (min(w for w, _ in values), min(c for _, c in values)) for name, values in times.items()}
    rows = [[name, f"{wall:.2f}", f"{cpu:.2f}", f"{mb / wall:.2f}", f"{n / wall:,.0f}",
             " ".join(f"{w:.1f}" for w, _ in times[name])] for name, (wall, cpu) in best.items()]
    common.print_table(["measurement", "best wall s", "best cpu s", "MB/s", "docs/s", "all wall s"], rows)
    missed = []
    print()
    for ours, theirs, target, compares in TARGETS:
        if ours not in best or theirs not in best:
            print(f"  {ours} vs {theirs}: skipped ({theirs if theirs not in best else ours} not measured"
                  + ("; pip install datatrove to include it)" if theirs.startswith("datatrove") else ")"))
            continue
        wall_ratio = best[theirs][0] / best[ours][0]
        cpu_ratio = best[theirs][1] / best[ours][1]
        verdict = ""
        if target is not None:
            verdict = f"   target >= {target}: {'MET' if wall_ratio >= target else 'MISSED'} (wall)"
            if wall_ratio < target:
                missed.append(f"{ours}/{theirs} {mb:.0f} MB")
        print(f"  {theirs} time / {ours} time = {wall_ratio:.3f} wall, {cpu_ratio:.3f} cpu  [{compares}]{verdict}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/")
    parser.add_argument("--mb", default="10,40", help="comma-separated corpus sizes in MB of text (default 10,40)")
    parser.add_argument("--shards", type=int, default=4, help="gzip JSONL shards per corpus (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3; best of them)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep corpora and outputs under bench/_work/")
    args = parser.parse_args(argv)
    sizes = [float(size) for size in args.mb.split(",") if size.strip()]
    if not sizes or min(sizes) <= 0 or args.repeat < 1 or args.shards < 1:
        parser.error("--mb sizes must be > 0, --repeat and --shards >= 1")
    print("== corpus-audit and its peers ==")
    for line in common.machine_info():
        print(line)
    if importlib.util.find_spec("datatrove") is None:
        print("datatrove: not importable, left out (.venv/bin/pip install datatrove to include it)")
    langid_bench = _langid_bench()
    documents = common.load_documents(common.shards_dir(args.data))
    model = common.load_model()
    work = common.make_work_dir("peers", args.keep)
    missed: list[str] = []
    try:
        for size in sizes:
            corpus = langid_bench.build_corpus(documents, int(size * 1e6), args.shards, work / "corpus", 6)
            mb, n = corpus["text_bytes"] / 1e6, corpus["documents"]
            print(f"\n-- {mb:.1f} MB of text, {n:,} documents, {args.shards} shards; {args.repeat} rounds --")
            common.check_quiet_machine("before timing")
            cores = max(1, min(common.usable_cpus(), args.shards))
            print(f"-cores peers: {cores} processes (min(usable cores, shards)); -auto: --workers auto")
            times = interleaved(measurements(work / "corpus", work, model, corpus["texts"], langid_bench, cores),
                                args.repeat)
            common.check_quiet_machine("after timing")
            missed += report(times, mb, n)
            shutil.rmtree(work / "corpus", ignore_errors=True)
    finally:
        common.remove_work_dir(work, args.keep)
    if missed:
        print("\nmissed: " + "; ".join(missed))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
