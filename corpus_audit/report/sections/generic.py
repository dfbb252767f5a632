"""The report section of a stage that brings none of its own: its declared tables, as they are.

A new analysis that sets no ``REPORT_SECTION`` still gets a datasheet and Hub card section: its
``TITLE`` (or name) as the heading, its docstring's first line, and each of its fixed-name
tables (`corpus_audit.transforms.base.TableSpec`) as a table, percentages with their
denominators. Compare matches its rows by the declared keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock
from corpus_audit.report.formatting import fmt_int, fmt_number, fmt_percent
from corpus_audit.report.registry import ReportSection

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["MAX_ROWS", "generic_section"]

#: Rows of a table shown in the datasheet (the files under tables/ keep them all).
MAX_ROWS = 30


def _cell(column: str, value: Any, percents: set[str]) -> str:
    if column in percents:
        return fmt_percent(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, float):
        return fmt_number(value)
    return "" if value is None else str(value)


def generic_section(stage: Any) -> ReportSection:
    """A `ReportSection` for the analysis class ``stage`` from its declarations."""
    specs = [spec for spec in stage.TABLES if "{" not in spec.name]
    if not specs:
        raise TypeError(f"stage {stage.name!r} declares no table (Analysis.TABLES) and no report section")
    summary = ((stage.__doc__ or "").strip().splitlines() or [f"the {stage.name} analysis"])[0]

    def datasheet(builder: DatasheetBuilder) -> None:
        builder.add(Paragraph(summary))
        for spec in specs:
            rows = builder.run.table(spec.name) or []
            if not rows:
                continue
            columns = list(rows[0])
            percents = {proportion.percent for proportion in spec.proportions}
            body = [[_cell(column, row.get(column), percents) for column in columns] for row in rows[:MAX_ROWS]]
            builder.add(TableBlock(columns, body))
            if len(rows) > MAX_ROWS:
                builder.add(Paragraph(f"The first {MAX_ROWS} of {fmt_int(len(rows))} rows: all of them are in "
                                      f"tables/{spec.name}.csv."))

    return ReportSection(name=stage.name, stage=stage.name, title=stage.TITLE or stage.name,
                         description=f"the {stage.name} analysis",
                         tables={spec.name: spec.keys for spec in specs}, datasheet=datasheet)
