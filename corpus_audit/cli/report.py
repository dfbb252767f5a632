"""``corpus-audit report RUN_DIR`` and ``corpus-audit datasheet RUN_DIR``: plots and the
datasheet of a run, from its saved ``summary.json`` and tables (the corpus is not read again).
``datasheet --format hf-card`` writes a Hugging Face Hub dataset card (``README.md``) instead."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from corpus_audit.errors import ReportError, UsageError

__all__ = ["ERRORS", "add_parsers", "command"]

#: Errors shown as one ``corpus-audit: error:`` line (exit code 2).
ERRORS: tuple[type[Exception], ...] = (ReportError, UsageError, OSError)


def add_parsers(commands: Any) -> None:
    """Add ``report`` and ``datasheet`` to the subcommands."""
    report = commands.add_parser(
        "report", help="regenerate plots and datasheet of a run from its saved tables", allow_abbrev=False,
        description="Regenerate RUN_DIR/plots/ and RUN_DIR/datasheet.{md,html} from summary.json and tables/ "
                    "(the corpus is not read again).")
    report.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run (local or gs://)")
    report.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts")
    report.add_argument("--svg", action="store_true", help="draw each plot as SVG too (default: PNG only)")
    datasheet = commands.add_parser(
        "datasheet", help="write a run's datasheet, filling the author prompts from a YAML file",
        allow_abbrev=False,
        description="Write RUN_DIR/datasheet.{md,html}; questions the audit cannot answer are prompts unless "
                    "--metadata answers them (sections motivation, composition, collection, preprocessing, uses, "
                    "distribution, maintenance; see the README).")
    datasheet.add_argument("run_dir", metavar="RUN_DIR", help="output directory of a corpus-audit run")
    datasheet.add_argument("--metadata", metavar="YAML", help="answers to the datasheet's author prompts "
                           "(and, for hf-card, its hub: section: license, pretty_name, tags, task_categories, ...)")
    datasheet.add_argument("--format", choices=("datasheet", "hf-card"), default="datasheet",
                           help="datasheet: RUN_DIR/datasheet.{md,html} (default); hf-card: a Hugging Face Hub "
                                "dataset card README.md (YAML front matter and the card template's sections)")
    datasheet.add_argument("--output", "-o", metavar="FILE",
                           help="hf-card only: where to write the card (default RUN_DIR/README.md); a file "
                                "corpus-audit did not write is never overwritten")
    datasheet.add_argument("--card-language-threshold", metavar="PERCENT", type=float, default=None,
                           help="hf-card only: a language is listed in the card's language: when it holds at "
                                "least this percent of the analysed documents (default 1)")


def command(args: argparse.Namespace) -> int:
    """Run ``report`` (plots and datasheet) or ``datasheet`` (the datasheet only)."""
    from corpus_audit import report

    card = getattr(args, "format", "datasheet") == "hf-card"
    if not card and (getattr(args, "output", None) or getattr(args, "card_language_threshold", None) is not None):
        raise UsageError("--output and --card-language-threshold go with --format hf-card")
    threshold = getattr(args, "card_language_threshold", None)
    if threshold is not None and not 0 <= threshold <= 100:
        raise UsageError(f"--card-language-threshold must be a percent in [0, 100], got {threshold:g}")
    if card:
        run = report.load_run(args.run_dir)
        metadata = report.run_metadata(args.run_dir, args.metadata)
        if metadata and metadata.get("name"):
            run.name = metadata["name"]
        path = report.write_hf_card(run, metadata, args.output, threshold)
        print(f"corpus-audit: wrote the dataset card {path}", file=sys.stderr)
        return 0
    written = report.write_report(args.run_dir, args.metadata, plots=args.command == "report",
                                  svg=getattr(args, "svg", False))
    print(f"corpus-audit: wrote {len(written)} file(s) in {args.run_dir}", file=sys.stderr)
    return 0
