"""CSV cells a spreadsheet shows as text: the one copy of the formula-injection guard.

Cells hold values from the corpus (``--group-by`` keys, languages, settings), so a text cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``
(OWASP, "CSV Injection"). Numbers are never altered. Rows end in ``\n``; Python's writer then
leaves a bare carriage return inside a cell unquoted (a reader splits the row there), so
`csv_text` quotes every cell of a row that holds one. A root module, so that both the pipeline's
tables and the report's comparison use it without the report importing the pipeline.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["FORMULA_PREFIXES", "csv_safe", "csv_text"]

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: str, value: object) -> str:
    """``cell`` (the text of ``value``) with ``'`` in front when it is text a spreadsheet would
    run as a formula; numbers are left as they are."""
    if isinstance(value, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """CSV of ``rows`` (cells already text), ``\n`` line ends, minimal quoting; a row with a cell
    holding ``\r`` is quoted in full, so that it stays one record."""
    buffer = io.StringIO()
    minimal = csv.writer(buffer, lineterminator="\n")
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        (quoted if any("\r" in cell for cell in row) else minimal).writerow(row)
    return buffer.getvalue()
