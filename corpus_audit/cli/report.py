"""``corpus-audit report RUN_DIR`` and ``corpus-audit datasheet RUN_DIR``: plots and the
datasheet of a run, from its saved ``summary.json`` and tables (the corpus is not read again)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from corpus_audit.errors import ReportError

__all__ = ["ERRORS", "add_parsers", "command"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (ReportError, OSError)


def add_parsers(commands: Any) -> None:
    """Add ``report`` and ``datasheet`` to the subcommands."""
    report = commands.add_parser(
        "report", help="regenerate plots and datasheet of a run from its saved tables", allow_abbrev=False,
        description="Regenerate RUN_DIR/plots/ and RUN_DIR/datasheet.{md,html} from summary.json and tables/ "
                    "(the corpus is not read again).")
    report.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run (local or gs://)")
    report.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts")
    datasheet = commands.add_parser(
        "datasheet", help="write a run's datasheet, filling the author prompts from a YAML file",
        allow_abbrev=False,
        description="Write RUN_DIR/datasheet.{md,html}; questions the audit cannot answer are prompts unless "
                    "--metadata answers them (sections motivation, composition, collection, preprocessing, uses, "
                    "distribution, maintenance; see the README).")
    datasheet.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run")
    datasheet.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts")


def command(args: argparse.Namespace) -> int:
    """Run ``report`` (plots and datasheet) or ``datasheet`` (the datasheet only)."""
    from corpus_audit import report

    written = report.write_report(args.run_dir, args.metadata, plots=args.command == "report")
    print(f"corpus-audit: wrote {len(written)} file(s) in {args.run_dir}", file=sys.stderr)
    return 0
