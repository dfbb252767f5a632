"""From the combined aggregates to ``tables/*``, ``accumulators.json`` and ``summary.json``
(every engine's last step, and ``corpus-audit merge``'s)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from corpus_audit import __version__
from corpus_audit.accumulators import ACCUMULATORS_FILE, CheckpointEncodingError, RunAccumulators, input_identity
from corpus_audit.documents import ReadAccounting
from corpus_audit.engine.audit_config import AuditConfig
from corpus_audit.engine.intervals import with_sample_intervals
from corpus_audit.rundir.summary import RunSummary
from corpus_audit.rundir.tables import write_table
from corpus_audit.storage import join, write_bytes

__all__ = ["ACCOUNTING_KEY", "read_settings", "run_accumulators", "write_results"]

LOG = logging.getLogger("corpus_audit")
#: The aggregates' key of the run's `ReadAccounting` (the others are stage names).
ACCOUNTING_KEY = "__accounting__"


def write_results(config: AuditConfig, aggregates: dict[str, Any]) -> RunSummary:
    """Write every stage's tables, ``accumulators.json`` (when the config knows its stages'
    options) and ``summary.json`` from ``aggregates`` (stage name → its CombineFn's output,
    `ACCOUNTING_KEY` → the run's accounting); the summary written."""
    accounting: ReadAccounting = aggregates[ACCOUNTING_KEY]
    written: list[str] = []
    for analysis in config.analyses:
        tables = analysis.tables(aggregates[analysis.name], config.context)
        for table in with_sample_intervals(tables, analysis.TABLES, config.read_config.sample_rate):
            write_table(config.output_dir, table.name, table.data, table.title, table.notes,
                        table.markdown_rows, table.markdown_columns, table.percent_columns)
            written.append(table.name)
    stages = {analysis.name: analysis.settings() for analysis in config.analyses}
    if config.stage_options is not None:
        _write_accumulators(config, aggregates, stages)
    for analysis in config.analyses:  # run counts some stages report (e.g. lines truncated)
        stages[analysis.name].update(analysis.run_statistics(aggregates[analysis.name]))
    summary = RunSummary.from_aggregates(accounting, stages, written, config.run_info)
    summary.write(config.output_dir)
    return summary


def read_settings(config: AuditConfig) -> dict[str, Any]:
    """The read settings recorded in ``accumulators.json`` (`ReadConfig` and ``--limit``)."""
    return {**asdict(config.read_config), "limit": config.limit}


def run_accumulators(config: AuditConfig, aggregates: dict[str, Any],
                     stage_settings: dict[str, dict[str, Any]]) -> RunAccumulators:
    """What ``accumulators.json`` holds for this run. Every stage's ``extract_output`` only
    orders its accumulator (and makes count lists tuples), which its ``merge_accumulators``
    takes back: the extracted aggregates are what a merge needs."""
    identities = config.input_identities
    if identities is None:  # read each input once more for its digest, as checkpoints do
        identities = [input_identity(item.path, item.format) for item in config.inputs]
    options = config.stage_options or {}
    return RunAccumulators(
        stages={analysis.name: aggregates[analysis.name] for analysis in config.analyses},
        accounting=aggregates[ACCOUNTING_KEY],
        stage_options={analysis.name: dict(options.get(analysis.name, {})) for analysis in config.analyses},
        settings={"corpus_audit_version": __version__, "read": read_settings(config), "stages": stage_settings},
        inputs=list(identities))


def _write_accumulators(config: AuditConfig, aggregates: dict[str, Any],
                        stage_settings: dict[str, dict[str, Any]]) -> None:
    """Write ``accumulators.json``; a value the exact encoding lacks leaves the run without one
    (a warning: the run's own results are unaffected, only ``merge`` will refuse it)."""
    try:
        data = run_accumulators(config, aggregates, stage_settings).to_json()
    except (CheckpointEncodingError, ValueError, OSError) as exc:
        LOG.warning("corpus-audit: accumulators.json not written (this run cannot be merged): %s", exc)
        return
    write_bytes(join(config.output_dir, ACCUMULATORS_FILE), data)
