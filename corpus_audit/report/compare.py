"""Side-by-side comparison of two runs (e.g. before and after filtering): every number of
``summary.json`` and of every table, with the difference (B − A).

Table rows are matched on their key columns (``language``, ``group``, ``axis`` + ``descriptor``,
...: each registered report section declares its tables' keys). A row only one run has is shown
as ``absent`` on the other side, with no difference: a language missing from a run is not the
same statement as a language counted 0 times.
Percent differences are in percentage points.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from typing import Any

from corpus_audit.report.registry import default_registry
from corpus_audit.report.run import RunData

__all__ = ["ABSENT", "Row", "compare_runs", "render_csv", "render_markdown"]

SUMMARY_NUMBERS = ("documents_read", "documents_analysed", "bytes_read", "input_files", "ignored_files_count",
                   "blank_lines_ignored", "lone_surrogates_replaced")
ABSENT = "absent"


@dataclass
class Row:
    table: str
    key: str
    metric: str
    a: Any
    b: Any
    difference: Any  # number, "changed", "" (same / not comparable)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _difference(a: Any, b: Any, metric: str) -> Any:
    if a is ABSENT or b is ABSENT or a is None or b is None:
        return ""
    if _is_number(a) and _is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            return b - a
        decimals = 4 if metric == "percent" or metric.startswith("percent_") else 6
        return round(float(b) - float(a), decimals)
    return "" if a == b else "changed"


def _keys(name: str, columns: list[str], rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """Key columns: the registered section's for its tables; other tables key on their string columns."""
    table_keys = default_registry().tables()
    if name in table_keys:
        return tuple(c for c in table_keys[name] if c in columns)
    if name.startswith("languages_by_") and columns:
        return (columns[0], "language")
    sample = rows[0] if rows else {}
    return tuple(c for c in columns if not _is_number(sample.get(c)) and c not in ("percent",))


def _key_text(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    parts = []
    for key in keys:
        value = row.get(key)
        parts.append("(all)" if value is None else (f"{value:g}" if isinstance(value, float) else str(value)))
    return " / ".join(parts)


def compare_runs(run_a: RunData, run_b: RunData) -> list[Row]:
    rows: list[Row] = []
    sa, sb = run_a.summary, run_b.summary
    for name in SUMMARY_NUMBERS:
        a, b = sa.get(name, ABSENT), sb.get(name, ABSENT)
        rows.append(Row("summary", "", name, a, b, _difference(a, b, name)))
    skipped_a, skipped_b = sa.get("documents_skipped") or {}, sb.get("documents_skipped") or {}
    total_a, total_b = sum(skipped_a.values()), sum(skipped_b.values())
    rows.append(Row("summary", "", "documents_skipped", total_a, total_b, total_b - total_a))
    # A reason a run does not list was counted 0 times there (summary.json lists every reason seen).
    for reason in sorted(set(skipped_a) | set(skipped_b)):
        a, b = skipped_a.get(reason, 0), skipped_b.get(reason, 0)
        rows.append(Row("summary", reason, "documents_skipped", a, b, b - a))
    timings_a, timings_b = sa.get("timings") or {}, sb.get("timings") or {}
    for name in sorted(set(timings_a) | set(timings_b)):
        a, b = timings_a.get(name, ABSENT), timings_b.get(name, ABSENT)
        rows.append(Row("timings", "", name, a, b, _difference(a, b, name)))
    for name in _table_order(run_a, run_b):
        rows.extend(_compare_table(name, run_a, run_b))
    stages_a, stages_b = run_a.stages, run_b.stages
    for stage in sorted(set(stages_a) | set(stages_b)):
        settings_a, settings_b = stages_a.get(stage), stages_b.get(stage)
        if settings_a is None or settings_b is None:
            rows.append(Row("settings", stage, "stage", "ran" if settings_a is not None else "not run",
                            "ran" if settings_b is not None else "not run", "changed"))
            continue
        for key in sorted(set(settings_a) | set(settings_b)):
            a, b = settings_a.get(key, ABSENT), settings_b.get(key, ABSENT)
            if a != b:
                rows.append(Row("settings", stage, key, _setting(a), _setting(b), "changed"))
    return rows


def _setting(value: Any) -> Any:
    return value if value is ABSENT or not isinstance(value, (list, dict)) else json.dumps(value, sort_keys=True)


def _table_order(run_a: RunData, run_b: RunData) -> list[str]:
    names = set(run_a.tables) | set(run_b.tables)
    known = [name for name in default_registry().tables() if name in names]
    return known + sorted(names - set(known))


def _compare_table(name: str, run_a: RunData, run_b: RunData) -> list[Row]:
    rows_a, rows_b = run_a.table(name), run_b.table(name)
    columns = list(dict.fromkeys(run_a.columns.get(name, []) + run_b.columns.get(name, [])))
    keys = _keys(name, columns, rows_a or rows_b or [])
    metrics = [c for c in columns if c not in keys
               and any(_is_number(r.get(c)) for r in (rows_a or []) + (rows_b or []))]
    if rows_a is None or rows_b is None:
        present = "A" if rows_a is not None else "B"
        return [Row(name, "", "table", "present" if rows_a is not None else ABSENT,
                    "present" if rows_b is not None else ABSENT, f"only in run {present}")]
    index_a = {_key_text(r, keys): r for r in rows_a}
    index_b = {_key_text(r, keys): r for r in rows_b}
    order = list(index_a) + [k for k in index_b if k not in index_a]
    out = []
    for key in order:
        ra, rb = index_a.get(key), index_b.get(key)
        for metric in metrics:
            a = ra.get(metric) if ra is not None else ABSENT
            b = rb.get(metric) if rb is not None else ABSENT
            out.append(Row(name, key, metric, a, b, _difference(a, b, metric)))
    return out


def _cell(value: Any, metric: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if metric == "percent" or metric.startswith("percent_"):
            return f"{value:.4f}"
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _signed(value: Any, metric: str) -> str:
    if not _is_number(value):
        return str(value)
    text = _cell(value, metric)
    return text if text.startswith("-") or value == 0 else f"+{text}"


def _run_label(run: RunData) -> str:
    return os.path.basename(run.run_dir.rstrip("/")) or run.run_dir


def render_markdown(rows: list[Row], run_a: RunData, run_b: RunData) -> str:
    label_a, label_b = _run_label(run_a), _run_label(run_b)
    if label_a == label_b:
        label_a, label_b = f"A: {run_a.run_dir}", f"B: {run_b.run_dir}"
    lines = [f"# Comparison: {label_a} (A) vs {label_b} (B)", "",
             f"- A: `{run_a.run_dir}`", f"- B: `{run_b.run_dir}`", "",
             "Differences are B − A (percentage points for percent columns); `absent`: the row or table is not "
             "in that run.", ""]
    current = None
    for row in rows:
        if row.table != current:
            current = row.table
            lines += ["", f"## {current}", "", "| key | metric | A | B | B − A |", "|---|---|---|---|---|"]
        cells = [row.key, row.metric, _cell(row.a, row.metric), _cell(row.b, row.metric),
                 _signed(row.difference, row.metric)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "key", "metric", "a", "b", "difference"])
    for row in rows:
        writer.writerow([row.table, row.key, row.metric, _cell(row.a, row.metric), _cell(row.b, row.metric),
                         _cell(row.difference, row.metric)])
    return buffer.getvalue()
