"""Screening a run's tables before any report is written: a table whose values the report code of
its section cannot read is set aside, and the section says "not computed: table X unreadable".

`corpus_audit.report.run.check_table` refuses what no run writes (missing columns, negative counts,
NaN, a percent over 100); a table can still hold values it lets through that a section cannot use
(a null count, a string where a number belongs, a value of another type in a column the section reads
beyond its declared ones). Rather than naming every such case, each registered section's report code
is run once on the loaded tables (its datasheet blocks, facts, size rows, plot selection, the Llama 2
rows and the Hub card's languages, never a plot's drawing); a section whose code fails on the data
gets its tables moved from ``RunData.tables`` to ``RunData.unreadable`` (table → reason), so every
report (datasheet, card, plots, compare) then treats them as not computed.
"""

from __future__ import annotations

from corpus_audit.report.registry import ReportSection, default_registry
from corpus_audit.report.run import RunData

__all__ = ["DATA_ERRORS", "screen_tables", "set_aside"]

#: What report code raises on values of the wrong kind (never an I/O error: those stay errors).
DATA_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, KeyError, IndexError, ArithmeticError,
                                            AttributeError)


def describe(exc: BaseException) -> str:
    """A short, one-line account of a data error (its type and the start of its message)."""
    message = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def set_aside(run: RunData, section: ReportSection, reason: str) -> None:
    """Move the tables of ``section`` out of ``run.tables`` into ``run.unreadable`` with ``reason``."""
    for table in (*section.tables, *section.optional_tables):
        if table in run.tables:
            del run.tables[table]
            run.unreadable[table] = reason


def _exercise(run: RunData, section: ReportSection) -> None:
    """Run the report code of ``section`` on ``run`` (no drawing); raises what it raises."""
    from corpus_audit.report.datasheet import DatasheetBuilder
    from corpus_audit.report.hf_card import card_languages
    from corpus_audit.report.llama2 import llama2_rows

    if section.plottable is not None:
        section.plottable(run)
    if not section.computed(run):
        return
    builder = DatasheetBuilder(run, {})
    section.datasheet(builder)
    section.facts(run)
    section.size_rows(run)
    llama2_rows(run, set(section.tables))
    card_languages(run)


def screen_tables(run: RunData) -> RunData:
    """Set aside the tables of every section whose report code fails on them (module docstring);
    returns ``run``. One section at a time, in registry order, then all again: a section may read
    another's tables (the English documents of ``languages``), and setting that one aside may be
    what the next needs."""
    sections = list(default_registry())
    for _ in range(len(sections) + 1):
        failed = next(((section, describe(exc)) for section in sections
                       for exc in [_failure(run, section)] if exc is not None), None)
        if failed is None:
            break
        set_aside(run, *failed)
    return run


def _failure(run: RunData, section: ReportSection) -> Exception | None:
    """The data error the report code of ``section`` raises on ``run``; None when it runs (or has no table)."""
    if not any(table in run.tables for table in (*section.tables, *section.optional_tables)):
        return None
    try:
        _exercise(run, section)
    except DATA_ERRORS as exc:
        return exc
    return None
