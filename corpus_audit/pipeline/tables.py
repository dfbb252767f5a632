"""Writing output tables (SPEC §7): ``tables/<name>.csv``, ``.parquet`` and ``.md``.

Files are written through Beam's ``FileSystems`` (local or ``gs://``). Output is a pure
function of the table, so the same aggregate gives byte-identical files.

Cells hold values from the corpus (``--group-by`` keys), so each format is made safe:
in Markdown ``|`` is escaped and line breaks become ``<br>`` (a value never breaks a row);
in CSV a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` (OWASP, "CSV Injection"), so that a spreadsheet shows it as text
instead of running it as a formula. Numbers are never altered; Parquet keeps every value
exactly.
"""

from __future__ import annotations

import csv
import io
import re

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_audit.stats import PERCENT_DECIMALS
from corpus_audit.storage import join, write_bytes

__all__ = ["FORMULA_PREFIXES", "csv_safe", "markdown_safe", "table_to_csv", "table_to_markdown", "table_to_parquet",
           "write_table"]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: str, value: object) -> str:
    """``cell`` (the text of ``value``) with ``'`` in front when it is text a spreadsheet would
    run as a formula; numbers are left as they are."""
    if isinstance(value, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def markdown_safe(cell: str) -> str:
    """``cell`` for one Markdown table cell: ``|`` escaped, line breaks as ``<br>``."""
    cell = cell.replace("|", "\\|")
    if "\n" in cell or "\r" in cell:
        cell = cell.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")
    return cell


def _format_cell(value: object, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{PERCENT_DECIMALS}f}" if column == "percent" or column.startswith("percent_") else repr(value)
    return str(value)


def table_to_csv(table: pa.Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    for row in zip(*columns):
        writer.writerow([csv_safe(_format_cell(value, name), value) for value, name in zip(row, table.column_names)])
    return buffer.getvalue().encode("utf-8")


def table_to_markdown(table: pa.Table, title: str, notes: list[str], rows: list[int] | None = None) -> bytes:
    names = table.column_names
    columns = [table.column(name).to_pylist() for name in names]
    indices = range(table.num_rows) if rows is None else rows
    lines = [f"# {title}", ""]
    lines += [f"| {' | '.join(names)} |", f"|{'|'.join('---' for _ in names)}|"]
    for i in indices:
        cells = [markdown_safe(_format_cell(columns[j][i], name)) for j, name in enumerate(names)]
        lines.append(f"| {' | '.join(cells)} |")
    if notes:
        lines.append("")
        lines += [f"_{note}_" for note in notes]
    return ("\n".join(lines) + "\n").encode("utf-8")


def table_to_parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_table(output_dir: str, name: str, table: pa.Table, title: str, notes: list[str],
                markdown_rows: list[int] | None = None) -> list[str]:
    """Write one table as CSV, Parquet and Markdown; returns the paths written."""
    if not _TABLE_NAME.match(name):  # a name from a plug-in or a field must not leave tables/
        raise ValueError(f"invalid table name {name!r}: use letters, digits and _ (not starting with _)")
    base = join(output_dir, "tables", name)
    outputs = {
        f"{base}.csv": table_to_csv(table),
        f"{base}.parquet": table_to_parquet(table),
        f"{base}.md": table_to_markdown(table, title, notes, markdown_rows),
    }
    for path, data in outputs.items():
        write_bytes(path, data)
    return list(outputs)
