#!/usr/bin/env python
"""Memory stays flat: peak RSS of the full CPU pipeline on 1x and 10x the same corpus.

Builds two corpora from ``<data>/shards`` (repeats get new ids): about ``--mb`` MB of text
(default 20) and ten times that, each in ``--shards`` gzip JSONL shards (default 8: the 10x
shards are 10x larger, so reading and analysing inside a split must stream), then runs

    corpus-audit run CORPUS --output OUT --stages <all registered stages but toxicity> --quiet --workers N

in a subprocess on each and samples, every 50 ms, the resident memory of the subprocess and
all its descendants (Beam worker processes included). Prints, per corpus, the peak of the
summed RSS of the process tree, the largest single process, and the ratio 10x / 1x
(target <= 1.2: the corpus is streamed and combined, never collected).

    python bench/memory.py [--mb 20] [--shards 8] [--workers 1] [--keep] [--data DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import threading
from pathlib import Path

import _common as common

TARGET_RATIO = 1.2


def _langid_bench():
    """``bench/langid.py`` as a module (its corpus builder), loaded by path."""
    spec = importlib.util.spec_from_file_location("_langid_bench", common.BENCH_DIR / "langid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_stages() -> list[str]:
    """Every registered stage except toxicity (the GPU stage), in run order."""
    from corpus_audit.transforms import STAGES

    return [name for name in STAGES if name != "toxicity"]


class TreeMemorySampler:
    """Peak RSS of a process and its descendants, sampled on a thread (psutil)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_single = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            sizes = []
            for process in processes:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.Error:
                    continue
            if sizes:
                self.samples += 1
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_single = max(self.peak_single, max(sizes))
                self.peak_processes = max(self.peak_processes, len(sizes))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measured_run(corpus: Path, output: Path, stages: list[str], workers: int) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    command = [*common.corpus_audit_command(), "run", str(corpus), "--output", str(output),
               "--stages", ",".join(stages), "--quiet", "--workers", str(workers)]
    samplers: list[TreeMemorySampler] = []

    def sample(pid: int) -> TreeMemorySampler:
        samplers.append(TreeMemorySampler(pid))
        return samplers[-1]
    run = common.run_timed(command, while_running=sample)
    wall, sampler = run.wall, samplers[0]
    import json

    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    return {"wall": wall, "peak_total": sampler.peak_total, "peak_single": sampler.peak_single,
            "processes": sampler.peak_processes, "samples": sampler.samples, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(common.DEFAULT_DATA), help="folder holding shards/")
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text of the 1x corpus (default 20)")
    parser.add_argument("--shards", type=int, default=8, help="gzip JSONL shards per corpus (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="--workers of the runs (default 1)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--keep", action="store_true", help="keep corpora and outputs under bench/_work/")
    args = parser.parse_args(argv)
    try:
        import psutil  # noqa: F401
    except ImportError:
        sys.exit("bench: memory.py needs psutil (pip install psutil)")

    print("== corpus-audit memory: 1x vs 10x corpus ==")
    for line in common.machine_info():
        print(line)
    stages = cpu_stages()
    print(f"stages: {','.join(stages)} (toxicity left out: GPU stage)")
    documents = common.load_documents(common.shards_dir(args.data))
    builder = _langid_bench().build_corpus
    work = common.make_work_dir("memory-bench", args.keep)
    results = {}
    try:
        for factor in (1, 10):
            corpus = builder(documents, int(args.mb * 1e6 * factor), args.shards, work / f"corpus-{factor}x", 6)
            print(f"{factor:>2}x corpus: {corpus['documents']:,} documents, {corpus['text_bytes'] / 1e6:.1f} MB text, "
                  f"{corpus['jsonl_bytes'] / 1e6:.1f} MB JSONL, {args.shards} shards")
            del corpus["texts"]
            results[factor] = measured_run(work / f"corpus-{factor}x", work / f"out-{factor}x", stages, args.workers)
            results[factor]["corpus"] = corpus
        print()
        rows = []
        for factor, result in results.items():
            summary = result["summary"]
            rows.append([f"{factor}x", f"{summary['documents_read']:,}", f"{summary['bytes_read'] / 1e6:.1f}",
                         f"{result['wall']:.1f}", f"{result['peak_total'] / 2**20:,.0f}",
                         f"{result['peak_single'] / 2**20:,.0f}", result["processes"], result["samples"]])
        common.print_table(["corpus", "documents", "MB read", "wall s", "peak RSS tree MiB",
                            "largest process MiB", "processes", "samples"], rows)
        ratio = results[10]["peak_total"] / results[1]["peak_total"]
        single_ratio = results[10]["peak_single"] / results[1]["peak_single"]
        print(f"\npeak RSS 10x / 1x = {ratio:.3f} (largest single process: {single_ratio:.3f})"
              f"   target <= {TARGET_RATIO}: {'MET' if ratio <= TARGET_RATIO else 'MISSED'}")
        for factor, result in results.items():
            if result["summary"]["documents_read"] != result["corpus"]["documents"]:
                print(f"WARNING: {factor}x: documents_read {result['summary']['documents_read']} != "
                      f"{result['corpus']['documents']} written")
    finally:
        common.remove_work_dir(work, args.keep)
    return 0 if ratio <= TARGET_RATIO or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
