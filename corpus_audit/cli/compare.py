"""``corpus-audit compare RUN_A RUN_B``: every metric of two runs side by side, with B - A."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from corpus_audit.errors import ReportError

__all__ = ["ERRORS", "add_parser", "command"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (ReportError, OSError)


def add_parser(commands: Any) -> None:
    """Add ``compare`` to the subcommands."""
    compare = commands.add_parser(
        "compare", help="side-by-side table of every metric of two runs, with differences", allow_abbrev=False,
        description="Compare two runs (e.g. before/after filtering): every number of summary.json and the tables, "
                    "with B - A. Markdown on stdout, or --output FILE (.md, or .csv for CSV).")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--output", "-o", metavar="FILE", help="write here (.csv → CSV, else Markdown)")


def command(args: argparse.Namespace) -> int:
    """Compare the two runs: Markdown on stdout, or ``--output`` (.csv → CSV, else Markdown)."""
    from corpus_audit import report
    from corpus_audit.report.compare import compare_runs, render_csv, render_markdown
    from corpus_audit.storage import write_bytes

    run_a, run_b = report.load_run(args.run_a), report.load_run(args.run_b)
    rows = compare_runs(run_a, run_b)
    if args.output and args.output.lower().endswith(".csv"):
        text = render_csv(rows)
    else:
        text = render_markdown(rows, run_a, run_b)
    if args.output:
        write_bytes(args.output, text.encode("utf-8"))
        print(f"corpus-audit: comparison of {len(rows):,} metrics written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
