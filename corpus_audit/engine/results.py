"""From the combined aggregates to ``tables/*`` and ``summary.json`` (every engine's last step)."""

from __future__ import annotations

from typing import Any

from corpus_audit.documents import ReadAccounting
from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.engine.intervals import with_sample_intervals
from corpus_audit.rundir.summary import RunSummary
from corpus_audit.rundir.tables import write_table

__all__ = ["ACCOUNTING_KEY", "write_results"]

#: The aggregates' key of the run's `ReadAccounting` (the others are stage names).
ACCOUNTING_KEY = "__accounting__"


def write_results(config: AuditConfig, aggregates: dict[str, Any]) -> RunSummary:
    """Write every stage's tables and ``summary.json`` from ``aggregates`` (stage name → its
    CombineFn's output, `ACCOUNTING_KEY` → the run's accounting); the summary written."""
    accounting: ReadAccounting = aggregates[ACCOUNTING_KEY]
    written: list[str] = []
    for analysis in config.analyses:
        tables = analysis.tables(aggregates[analysis.name], config.context)
        for table in with_sample_intervals(tables, analysis.TABLES, config.read_config.sample_rate):
            write_table(config.output_dir, table.name, table.data, table.title, table.notes,
                        table.markdown_rows, table.markdown_columns, table.percent_columns)
            written.append(table.name)
    stages = {analysis.name: analysis.settings() for analysis in config.analyses}
    for analysis in config.analyses:  # run counts some stages report (e.g. lines truncated)
        stages[analysis.name].update(analysis.run_statistics(aggregates[analysis.name]))
    summary = RunSummary.from_aggregates(accounting, stages, written, config.run_info)
    summary.write(config.output_dir)
    return summary
