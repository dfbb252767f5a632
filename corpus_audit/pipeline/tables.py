"""Writing output tables (SPEC §7): ``tables/<name>.csv``, ``.parquet`` and ``.md``.

Files are written through Beam's ``FileSystems`` (local or ``gs://``). Output is a pure
function of the table, so the same aggregate gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import re

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_audit.stats import PERCENT_DECIMALS
from corpus_audit.storage import join, write_bytes

__all__ = ["table_to_csv", "table_to_markdown", "table_to_parquet", "write_table"]

_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


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
        writer.writerow([_format_cell(value, name) for value, name in zip(row, table.column_names)])
    return buffer.getvalue().encode("utf-8")


def table_to_markdown(table: pa.Table, title: str, notes: list[str], rows: list[int] | None = None) -> bytes:
    names = table.column_names
    columns = [table.column(name).to_pylist() for name in names]
    indices = range(table.num_rows) if rows is None else rows
    lines = [f"# {title}", ""]
    lines += [f"| {' | '.join(names)} |", f"|{'|'.join('---' for _ in names)}|"]
    for i in indices:
        cells = [_format_cell(columns[j][i], name).replace("|", "\\|") for j, name in enumerate(names)]
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
