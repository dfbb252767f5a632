"""Finishing a run: its timings into ``summary.json``, the report (plots, datasheet), the
console summary and the exit code."""

from __future__ import annotations

import csv
import itertools
import os
import sys
from typing import TYPE_CHECKING

from corpus_audit.rundir.summary import RunSummary

if TYPE_CHECKING:
    from corpus_audit.cli.plan import RunPlan

__all__ = ["EXIT_NOTHING_ANALYSED", "exit_code", "finish", "print_summary", "write_run_report"]

#: The run finished but analysed no document (e.g. a wrong --text-field): outputs are written.
EXIT_NOTHING_ANALYSED = 1
#: Languages listed in the console summary.
CONSOLE_LANGUAGES = 5


def finish(plan: "RunPlan", wall_seconds: float) -> int:
    """Complete the finished run of ``plan`` (it took ``wall_seconds``); its exit code."""
    summary = RunSummary.read(plan.output_dir).with_timings(wall_seconds)
    summary.write(plan.output_dir)
    if plan.attributes == "dolma":
        from corpus_audit.rundir.attributes import write_dolma_attributes

        write_dolma_attributes(plan.output_dir, [item.path for item in plan.inputs], plan.analyses)
    write_run_report(plan.output_dir, svg=plan.svg)
    if not plan.quiet:
        print_summary(summary, plan.output_dir)
    return exit_code(summary)


def write_run_report(output_dir: str, svg: bool = False) -> None:
    """plots/ and datasheet.{md,html} for a finished run. A failure here leaves the tables (the
    run's result) in place, says so, and does not change the exit code."""
    from corpus_audit.report import write_report

    from corpus_audit.cli.outputs import output_write_error

    try:
        write_report(output_dir, check_complete=False, svg=svg)
    except Exception as exc:  # noqa: BLE001 - the audit itself succeeded
        if output_write_error(exc, output_dir) is not None:
            raise  # a full disk is the run's failure (exit 3), not the report's
        print(f"corpus-audit: warning: plots/datasheet not written ({type(exc).__name__}: {exc}); retry with "
              f"corpus-audit report {output_dir}", file=sys.stderr)


def exit_code(summary: RunSummary) -> int:
    """0, or `EXIT_NOTHING_ANALYSED` (with an error line saying why) when no document was analysed."""
    if summary.documents_analysed:
        return 0
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in summary.documents_skipped.items())
    print(f"corpus-audit: error: no document was analysed ({summary.documents_read:,} read; skipped: "
          f"{reasons or 'none'}); check --text-field and the inputs", file=sys.stderr)
    return EXIT_NOTHING_ANALYSED


def print_summary(summary: RunSummary, output_dir: str) -> None:
    """The console summary of a finished run (stderr)."""
    out = sys.stderr
    skipped = summary.documents_skipped
    print(f"corpus-audit: read {summary.documents_read:,} documents ({summary.bytes_read / 1e6:,.1f} MB) "
          f"in {summary.timings['wall_seconds']:.1f} s: analysed {summary.documents_analysed:,}, "
          f"skipped {sum(skipped.values()):,}", file=out)
    for reason, count in skipped.items():
        print(f"  skipped {reason}: {count:,}", file=out)
    if not summary.accounting_balanced:
        print("corpus-audit: WARNING: documents read != analysed + skipped", file=out)
    group_by = summary.run.settings.get("group_by") if summary.run is not None else None
    if group_by and summary.documents_read and summary.group_by_field_missing == summary.documents_read:
        print(f"corpus-audit: WARNING: the --group-by field {group_by!r} is absent from every "
              f"record read; every group key is (missing)", file=out)
    for name, stage in summary.stages.items():
        if stage.get("status") == "not_computed":
            print(f"corpus-audit: WARNING: {name} was NOT computed: {stage.get('reason')}", file=out)
    top = _top_languages(output_dir)
    if top:
        from corpus_audit.stats import readable_percent  # the one decimal rule of every view

        print("  top languages: " + ", ".join(f"{language} {readable_percent(float(percent))}%"
                                              for language, percent in top), file=out)
    print(f"corpus-audit: outputs in {output_dir} (summary.json, tables/, documents/, skipped/, plots/, "
          "datasheet.md)", file=out)


def _top_languages(output_dir: str) -> list[tuple[str, str]]:
    """(language, percent as written) of the first rows of a local ``tables/languages.csv``."""
    path = os.path.join(output_dir, "tables", "languages.csv")
    if "://" in output_dir or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(itertools.islice(csv.DictReader(f), CONSOLE_LANGUAGES))
    return [(row["language"], row["percent"]) for row in rows]
