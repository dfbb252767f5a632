"""``corpus-audit compare RUN_A RUN_B``: what changed between two runs (B - A), and whether each
percentage moved beyond noise. The parser imports nothing heavy; the comparison is loaded on use."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import os

from corpus_audit.errors import ReportError, UsageError
from corpus_audit.storage import is_remote

__all__ = ["ERRORS", "add_parser", "check_output_file", "command"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (ReportError, UsageError, OSError)


def add_parser(commands: Any) -> None:
    """Add ``compare`` to the subcommands."""
    compare = commands.add_parser(
        "compare", help="what changed between two runs (B - A), with a significance test per percentage",
        allow_abbrev=False,
        description="Compare two runs (e.g. before/after filtering): one row per table key and metric with A, B "
                    "and B - A (percentages in percentage points), the changed rows only (largest change first), "
                    "a two-proportion test (95% CI of the difference, p-value) for every percentage, the stages' "
                    "status and what differs in inputs and settings. Markdown on stdout (or --output -), or "
                    "--output FILE (.md, or .csv for CSV): a new file, unless --overwrite; never inside a "
                    "corpus-audit run directory, never through a symlink.")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--output", "-o", metavar="FILE",
                         help="write here (.csv → CSV, else Markdown; '-': stdout); refused if it exists")
    compare.add_argument("--overwrite", action="store_true",
                         help="replace an existing --output file (never one inside a run directory)")
    compare.add_argument("--all", dest="all_rows", action="store_true",
                         help="list every compared row (and the timings), not only the rows that changed")


def command(args: argparse.Namespace) -> int:
    """Compare the two runs: Markdown on stdout, or ``--output`` (.csv → CSV, else Markdown)."""
    from corpus_audit import report
    from corpus_audit.report.compare import compare_runs, render_csv, render_markdown
    from corpus_audit.storage import write_bytes

    output = None if args.output in (None, "", "-") else args.output
    if output:  # before any work: refuse early
        check_output_file(output, [args.run_a, args.run_b], overwrite=getattr(args, "overwrite", False))
    run_a, run_b = report.load_run(args.run_a), report.load_run(args.run_b)
    comparison = compare_runs(run_a, run_b, all_rows=getattr(args, "all_rows", False))
    if output and output.lower().endswith(".csv"):
        text = render_csv(comparison)
    else:
        text = render_markdown(comparison)
    if output:
        write_bytes(output, text.encode("utf-8", "replace"), create_parents=False)
        what = "every row" if comparison.all_rows else "the changed rows"
        print(f"corpus-audit: comparison ({what}: {len(comparison.rows):,} of {comparison.total_rows:,} values) "
              f"written to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def check_output_file(path: str, inputs: list[str], *, overwrite: bool = False) -> None:
    """Refuse an output path that is a directory, a symlink, lies in a missing folder, is (or is
    inside) an input run or any corpus-audit run directory (a folder above it holds the run
    manifest), or is an existing file without ``overwrite``: a command writes only a file of its
    own, and never deletes or replaces another's."""
    from corpus_audit.rundir.run_directory import MANIFEST_NAME

    if is_remote(path):
        if any(path.rstrip("/") == run.rstrip("/") or path.startswith(run.rstrip("/") + "/") for run in inputs):
            raise UsageError(f"--output {path} is inside an input run; write the comparison elsewhere")
        return
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise UsageError(f"--output {path} is a directory; give a file name (e.g. comparison.md)")
    if os.path.islink(path):
        raise UsageError(f"--output {path} is a symlink; give a plain file name")
    real = os.path.realpath(path)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise UsageError(f"--output {path}: the folder {folder} does not exist (it is not created)")
    for run in inputs:
        if is_remote(run):
            continue
        run_real = os.path.realpath(run)
        if real == run_real or real.startswith(run_real.rstrip(os.sep) + os.sep):
            raise UsageError(f"--output {path} is inside the input run {run}; write the comparison elsewhere")
    for start in {folder, os.path.abspath(os.path.dirname(path) or ".")}:
        current = start
        while True:
            if os.path.lexists(os.path.join(current, MANIFEST_NAME)):
                raise UsageError(f"--output {path} is inside the corpus-audit run directory {current}; "
                                 "write the comparison elsewhere")
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    if os.path.lexists(path) and not overwrite:
        raise UsageError(f"--output {path} exists; give a new file name, or --overwrite to replace it")
