"""Writing output tables (SPEC §7): ``tables/<name>.csv``, ``.parquet`` and ``.md``.

Files are written through Beam's ``FileSystems`` (local or ``gs://``). Output is a pure
function of the table, so the same aggregate gives byte-identical files.

Cells hold values from the corpus (``--group-by`` keys), so each format is made safe:
in Markdown a text cell is escaped as inline text (`corpus_audit.escape.markdown_inline`: ``|``,
``<``, backticks, brackets, ... never act as markup) and its line breaks become ``<br>`` (a value
never breaks a row); column names and the title are escaped the same way;
in CSV a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` (OWASP, "CSV Injection"), so that a spreadsheet shows it as text
instead of running it as a formula. Numbers are never altered; Parquet keeps every value
exactly.

CSV and Parquet keep every column at full precision (percentages with ``PERCENT_DECIMALS``).
The Markdown file is the view a person reads: only the table's ``markdown_columns`` (with a
line saying where the full table is), percentages with 1 decimal from 1% and 2 below (`markdown_percent`, the datasheet's rule),
other fractional numbers with 3 significant digits, counts with thousands separators, and the
percentages of a row whose ``small_sample`` column is true marked `SMALL_SAMPLE_MARK`.
"""

from __future__ import annotations

import math
import re

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_audit.csv_cells import FORMULA_PREFIXES, csv_safe, csv_text  # re-exported: the one copy
from corpus_audit.escape import markdown_inline
from corpus_audit.stats import PERCENT_DECIMALS, SMALL_SAMPLE_DOCUMENTS, readable_percent
from corpus_audit.storage import join, write_bytes

__all__ = ["FORMULA_PREFIXES", "SMALL_SAMPLE_COLUMN", "SMALL_SAMPLE_MARK", "csv_safe",
           "is_percent_column", "markdown_percent", "markdown_safe", "table_to_csv", "table_to_markdown", "table_to_parquet", "write_table"]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
#: The boolean column that marks rows whose percentages are over fewer than 30 documents.
SMALL_SAMPLE_COLUMN = "small_sample"
#: What follows a small sample's percentage in the Markdown view.
SMALL_SAMPLE_MARK = "\u2020"


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def markdown_safe(cell: str) -> str:
    """``cell`` (text from the inputs) for one Markdown table cell: escaped as inline text (``|``,
    ``<``, backticks, ... shown as written), line breaks as ``<br>``."""
    return "<br>".join(markdown_inline(line) for line in _LINE_BREAK.split(cell))


def _format_cell(value: object, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{PERCENT_DECIMALS}f}" if column == "percent" or column.startswith("percent_") else repr(value)
    return str(value)


def table_to_csv(table: pa.Table) -> bytes:
    columns = [table.column(name).to_pylist() for name in table.column_names]
    rows = ([csv_safe(_format_cell(value, name), value) for value, name in zip(row, table.column_names)]
            for row in zip(*columns))
    return csv_text([list(table.column_names), *rows]).encode("utf-8")


def is_percent_column(name: str, extra: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether column ``name`` holds percentages: ``percent``, ``percent_*``, ``*_share``, or one of ``extra``."""
    return name == "percent" or name.startswith("percent_") or name.endswith("_share") or name in extra


#: A percentage in a Markdown view: the one rule of every readable view (`stats.readable_percent`).
markdown_percent = readable_percent


def _markdown_cell(value: object, percent: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if percent:
            return markdown_percent(value) if math.isfinite(value) else repr(value)
        if value == 0:
            return "0"
        if not math.isfinite(value):
            return repr(value)
        if abs(value) >= 100:
            return f"{value:,.1f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return markdown_safe(str(value))  # text from the inputs (a group key, a language code, a descriptor)


def table_to_markdown(table: pa.Table, title: str, notes: list[str], rows: list[int] | None = None,
                      columns: tuple[str, ...] | list[str] | None = None, percent_columns: tuple[str, ...] = (),
                      name: str | None = None) -> bytes:
    """The Markdown view of ``table``: ``rows`` and ``columns`` (default: all) in table order
    of rows and the given order of columns, formatted for reading (module docstring).

    ``name`` (the table's file name) is used in the line that points to the full table when
    ``columns`` leaves some out. Raises ValueError for a column the table does not have.
    """
    names = list(table.column_names if columns is None else columns)
    missing = [column for column in names if column not in table.column_names]
    if missing:
        raise ValueError(f"markdown columns not in the table: {', '.join(missing)}")
    values = [table.column(column).to_pylist() for column in names]
    small = (table.column(SMALL_SAMPLE_COLUMN).to_pylist() if SMALL_SAMPLE_COLUMN in table.column_names
             and pa.types.is_boolean(table.schema.field(SMALL_SAMPLE_COLUMN).type) else None)
    percents = [is_percent_column(column, percent_columns) for column in names]
    indices = range(table.num_rows) if rows is None else rows
    lines = [f"# {markdown_inline(title)}", ""]
    lines += [f"| {' | '.join(map(markdown_inline, names))} |", f"|{'|'.join('---' for _ in names)}|"]
    marked = False
    for i in indices:
        flag = bool(small and small[i])
        cells = []
        for j, column in enumerate(names):
            cell = _markdown_cell(values[j][i], percents[j])
            if flag and percents[j] and values[j][i] is not None:
                cell, marked = f"{cell} {SMALL_SAMPLE_MARK}", True
            cells.append(cell)
        lines.append(f"| {' | '.join(cells)} |")
    footer = list(notes)
    if marked:
        footer.append(f"{SMALL_SAMPLE_MARK} fewer than {SMALL_SAMPLE_DOCUMENTS} documents in the denominator "
                      f"(column `{SMALL_SAMPLE_COLUMN}`): read that percentage with care.")
    if set(table.column_names) - set(names) - {SMALL_SAMPLE_COLUMN}:  # small_sample is shown by the mark
        where = f"`{name}.csv` / `{name}.parquet`" if name else "the CSV / Parquet files"
        footer.append(f"Compact view: {len(names)} of {table.num_columns} columns; the full table "
                      f"({table.num_columns} columns, full precision) is in {where}.")
    if footer:
        lines.append("")
        lines += [f"_{note}_" for note in footer]  # written by the stages (values from the inputs in code spans)
    return ("\n".join(lines) + "\n").encode("utf-8")


def table_to_parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_table(output_dir: str, name: str, table: pa.Table, title: str, notes: list[str],
                markdown_rows: list[int] | None = None, markdown_columns: tuple[str, ...] | None = None,
                percent_columns: tuple[str, ...] = ()) -> list[str]:
    """Write one table as CSV, Parquet and Markdown; returns the paths written."""
    if not _TABLE_NAME.match(name):  # a name from a plug-in or a field must not leave tables/
        raise ValueError(f"invalid table name {name!r}: use letters, digits and _ (not starting with _)")
    base = join(output_dir, "tables", name)
    outputs = {
        f"{base}.csv": table_to_csv(table),
        f"{base}.parquet": table_to_parquet(table),
        f"{base}.md": table_to_markdown(table, title, notes, markdown_rows, markdown_columns, percent_columns, name),
    }
    for path, data in outputs.items():
        write_bytes(path, data)
    return list(outputs)
