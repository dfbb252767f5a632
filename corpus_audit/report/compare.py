"""Side-by-side comparison of two runs (e.g. before and after a filter), answering "did my
filter change anything, and is the change beyond noise?".

Wide format: one row per (table, key columns..., metric) with the value in run A, in run B
and the difference B − A (percentages in percentage points). Key columns stay separate
(``axis`` and ``descriptor``, not ``"gender_and_sex / trans"``). By default only rows whose
value changed are listed; ``all_rows=True`` lists every row.

Table rows are matched on their key columns (each registered report section declares its
tables' keys; other tables key on their text columns). A row only one run has is ``absent``
on the other side, with no difference, except in ``languages``: every analysed document was
identified, so a language a run lacks is 0 of its analysed documents (0 documents, 0.0
percent, 0 characters) and its percentage gets the test. A table whose stage was not computed in a run is
not compared at all (its empty or zero-filled tables are not numbers); the stage table says
why.

Significance: every percentage whose count and denominator the tables hold gets a
two-proportion test (`corpus_audit.stats.two_proportion_test`): the 95% interval of B − A
(Newcombe's hybrid score interval) and the pooled z-test's two-sided p-value; ``significant``
is ``p < 0.05``. The count and denominator of each percentage are the ones the stage that wrote
the table declares (`corpus_audit.transforms.base.TableSpec`: a column of the row, a total of the
table, or another table's row), used only when ``100 · count / denominator`` reproduces the
published percent; a table no stage declares (another version's) falls back to its
``denominator`` or ``documents`` column.
Word-token shares (Gender-GAP ``*_share``, ``*_per_100_tokens``) are not tested: words cluster
in documents, so a binomial test on them would overstate the evidence.

Order: tables in the registry's order (summary first); within a table rows are grouped by
metric (percentages first, then column order), then ordered by the size of the change ``|B − A|`` (largest first; for
percentages in percentage points), then by the row's position in run A's table (run B's new
rows after), so the output is deterministic.

CSV text cells go through `corpus_audit.csv_cells.csv_safe` (a key such as ``=HYPERLINK(...)``
is shown as text, not run as a formula); numbers are never altered.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from corpus_audit.csv_cells import csv_safe, csv_text
from corpus_audit.escape import code_span, markdown_cell, markdown_guard, markdown_inline
from corpus_audit.report.registry import COMPUTED_STATUSES, default_registry
from corpus_audit.report.run import RunData
from corpus_audit.stats import two_proportion_test

__all__ = ["ABSENT", "ALPHA", "CHANGED", "Comparison", "Row", "Shift", "StageStatus", "compare_runs", "render_csv",
           "render_markdown", "stage_status"]

#: The summary's numbers compared in the ``summary`` table.
SUMMARY_NUMBERS = ("documents_read", "documents_analysed", "bytes_read", "input_files", "ignored_files_count",
                   "blank_lines_ignored", "lone_surrogates_replaced", "documents_not_sampled", "empty_ids_replaced",
                   "group_by_field_missing", "duplicate_inputs_count")
#: The summary's fields listed under "inputs" when they differ (besides any ``*sha256*`` / fingerprint field).
INPUT_FIELDS = ("inputs", "input_files", "bytes_read", "ignored_files_count", "duplicate_inputs_count")
#: A value of a row or table one run does not have.
ABSENT = "absent"
#: Columns derived from a row's key or denominator, not measured: never compared as metrics.
DESCRIPTIVE_COLUMNS = frozenset({"language_name", "small_sample"})
#: The difference of two values that are not numbers and are not equal.
CHANGED = "changed"
#: Significance level of ``significant``.
ALPHA = 0.05
#: The value of a percentage (percent columns) or of a fraction (``fraction``) per unit share.
_PERCENT_SCALE, _FRACTION_SCALE = 100.0, 1.0
#: How far ``scale · count / base`` may lie from the published value (tables round to 4 / 6 decimals).
_TOLERANCE = 6e-6


@dataclass(frozen=True)
class Shift:
    """The two-proportion test of one percentage: counts, 95% CI of B − A and p-value.

    ``ci_low`` / ``ci_high`` are in the metric's unit (percentage points for percentages).
    """

    a_count: int
    a_base: int
    b_count: int
    b_base: int
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def significant(self) -> bool:
        """Whether the shift is beyond noise at ``ALPHA`` (two-sided)."""
        return self.p_value < ALPHA


@dataclass(frozen=True)
class Row:
    """One compared value: ``keys`` are ``(column, value)`` pairs of the table's key columns."""

    table: str
    keys: tuple[tuple[str, Any], ...]
    metric: str
    a: Any
    b: Any
    #: B − A for two numbers, `CHANGED` for two different non-numbers, ``None`` otherwise.
    difference: Any = None
    #: ``"pp"`` for percentages (the difference is in percentage points), else ``""``.
    unit: str = ""
    shift: Shift | None = None

    @property
    def changed(self) -> bool:
        """Whether A and B differ (a row or table only one run has counts as a change; NaN equals NaN)."""
        if isinstance(self.a, float) and isinstance(self.b, float) and math.isnan(self.a) and math.isnan(self.b):
            return False
        return self.a != self.b


@dataclass(frozen=True)
class StageStatus:
    """A stage's status in each run: ``computed``, ``not computed (reason)`` or ``not run``."""

    stage: str
    a: str
    b: str


@dataclass
class Comparison:
    """What `compare_runs` found; `render_markdown` / `render_csv` print it."""

    label_a: str
    label_b: str
    #: The compared rows, filtered (unless ``all_rows``) and ordered.
    rows: list[Row]
    #: How many rows were compared in all (before keeping only the changed ones).
    total_rows: int
    all_rows: bool
    stages: list[StageStatus]
    #: What differs in inputs (table ``inputs``) and settings (table ``settings``, keyed by ``stage``).
    differences: list[Row]
    #: Table → why it was not compared (a stage not computed in a run).
    not_compared: dict[str, str] = field(default_factory=dict)
    #: Tables compared without any changed row.
    unchanged_tables: list[str] = field(default_factory=list)
    #: Sentences about what the figures are (a run estimated from a sample).
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- values


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_percent(metric: str) -> bool:
    return metric == "percent" or metric.startswith("percent_")


def _difference(a: Any, b: Any) -> Any:
    """B − A, exact in decimal for floats (``62.5 − 80.0`` is ``-17.5``, ``34.0164 − 30.3279`` is ``3.6885``)."""
    if a is ABSENT or b is ABSENT or a is None or b is None:
        return None
    if _is_number(a) and _is_number(b):
        if _is_int(a) and _is_int(b):
            return b - a
        if not (math.isfinite(a) and math.isfinite(b)):
            return float(b) - float(a)
        try:
            return float(Decimal(repr(float(b))) - Decimal(repr(float(a))))
        except InvalidOperation:  # pragma: no cover - repr of a finite float is always a decimal
            return float(b) - float(a)
    return None if a == b else CHANGED


# ----------------------------------------------------------------------------- tables


def _section_of(table: str) -> Any:
    """The registered section presenting ``table`` (or its ``<table>_by_<x>`` / ``languages_by_<x>`` view)."""
    for section in default_registry():
        for name in (*section.tables, *section.optional_tables):
            if table == name or table.startswith(f"{name}_by_"):
                return section
    return None


def _keys(name: str, columns: list[str], rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """Key columns: the registered section's for its tables; other tables key on their text columns."""
    table_keys = default_registry().tables()
    if name in table_keys:
        return tuple(c for c in table_keys[name] if c in columns)
    if name.startswith("languages_by_") and columns:
        return (columns[0], "language")
    return tuple(c for c in columns
                 if c not in ("percent",) and not any(_is_number(r.get(c)) or isinstance(r.get(c), bool) for r in rows))


def _table_order(run_a: RunData, run_b: RunData) -> list[str]:
    names = set(run_a.tables) | set(run_b.tables)
    known = [name for name in default_registry().tables() if name in names]
    return known + sorted(names - set(known))


class _Bases:
    """Finds the count and denominator behind a percentage of one run's table row."""

    def __init__(self, run: RunData) -> None:
        self.run = run
        self._cache: dict[str, Any] = {}

    @staticmethod
    def count_columns(metric: str) -> tuple[str, ...]:
        """The columns that may hold the count behind ``metric``, most specific first."""
        if metric == "percent":
            return ("toxic_documents", "documents_with_match", "documents")
        if metric.startswith("percent_"):
            suffix = metric.removeprefix("percent_")
            return (f"documents_{suffix}", f"documents_with_{suffix}", f"{suffix}_documents")
        if metric == "fraction":
            return ("documents",)
        return ()

    def bases(self, table: str, keys: tuple[str, ...], row: dict[str, Any], count_column: str) -> list[Any]:
        """The denominators ``count_column`` may be a share of in a table no stage declares (a
        run of another version): the row's ``denominator``, or its ``documents``."""
        bases = [row.get("denominator")]
        if count_column != "documents":
            bases.append(row.get("documents"))
        return bases

    def declared(self, table: str, row: dict[str, Any], metric: str) -> tuple[Any, Any, float] | None:
        """``(count, base, scale)`` of ``metric`` as the stage that wrote ``table`` declares it
        (`corpus_audit.transforms.base.Proportion`); None when it declares none."""
        from corpus_audit.transforms import table_spec

        found = table_spec(table)
        proportion = next((p for p in found[1].proportions if p.percent == metric), None) if found else None
        if proportion is None:
            return None

        def totals(column: str) -> int:
            if (table, column) not in self._cache:
                self._cache[(table, column)] = sum(v for v in (r.get(column) for r in self.run.table(table) or [])
                                                   if _is_int(v))
            return self._cache[(table, column)]

        def lookup(other: str, key: str, value: Any, column: str) -> Any:
            return next((r.get(column) for r in self.run.table(other) or [] if r.get(key) == value), None)

        return row.get(proportion.count), proportion.base(row, totals, lookup), proportion.scale

    def proportion(self, table: str, keys: tuple[str, ...], row: dict[str, Any], metric: str) -> tuple[int, int] | None:
        """``(count, base)`` whose ratio reproduces the row's ``metric``: the stage's declared
        denominator, else (tables of other versions) one found from the columns; ``None`` when none does."""
        value = row.get(metric)
        if not _is_number(value) or not math.isfinite(value):
            return None
        declared = self.declared(table, row, metric)
        if declared is not None:
            count, base, scale = declared
            if _is_int(count) and _is_int(base) and base > 0 and 0 <= count <= base \
                    and abs(scale * count / base - value) <= _TOLERANCE * scale:
                return count, base
            return None
        scale = _FRACTION_SCALE if metric == "fraction" else _PERCENT_SCALE
        for column in self.count_columns(metric):
            count = row.get(column)
            if not _is_int(count):
                continue
            for base in self.bases(table, keys, row, column):
                if _is_int(base) and base > 0 and 0 <= count <= base \
                        and abs(scale * count / base - value) <= _TOLERANCE * scale:
                    return count, base
        return None


def _shift(metric: str, proportion_a: tuple[int, int] | None, proportion_b: tuple[int, int] | None) -> Shift | None:
    if proportion_a is None or proportion_b is None:
        return None
    result = two_proportion_test(proportion_a[0], proportion_a[1], proportion_b[0], proportion_b[1])
    if result is None:
        return None
    scale = _FRACTION_SCALE if metric == "fraction" else _PERCENT_SCALE
    return Shift(proportion_a[0], proportion_a[1], proportion_b[0], proportion_b[1],
                 scale * result.ci_low, scale * result.ci_high, result.p_value)


#: The ``languages`` columns a language absent from a run has as zero there.
_ZERO_LANGUAGE_COLUMNS: dict[str, Any] = {"documents": 0, "percent": 0.0, "characters": 0}


def _zero_language(run: RunData, metrics: list[str]) -> dict[str, Any] | None:
    """The ``languages`` row of a language the run did not find: 0 documents (0.0 percent) of its
    analysed documents, for the count columns its table has (any other metric `ABSENT`); ``None``
    (every metric absent) when the run's analysed documents are unknown."""
    if not _is_int(run.summary.get("documents_analysed")):
        return None
    columns = run.columns.get("languages", [])
    return {metric: _ZERO_LANGUAGE_COLUMNS[metric] if metric in _ZERO_LANGUAGE_COLUMNS and metric in columns
            else ABSENT for metric in metrics}


def _compare_table(name: str, run_a: RunData, run_b: RunData, bases_a: _Bases, bases_b: _Bases) -> list[Row]:
    rows_a, rows_b = run_a.table(name), run_b.table(name)
    if rows_a is None or rows_b is None:
        return [Row(name, (), "table", "present" if rows_a is not None else ABSENT,
                    "present" if rows_b is not None else ABSENT)]
    columns = list(dict.fromkeys(run_a.columns.get(name, []) + run_b.columns.get(name, [])))
    keys = _keys(name, columns, rows_a + rows_b)
    # language_name and small_sample describe a row (its key's name, its denominator's size): not metrics.
    # A sampled run's interval columns bound its percentages: they are not measured values themselves.
    metrics = [c for c in columns if c not in keys and c not in DESCRIPTIVE_COLUMNS
               and not c.endswith(("_ci_low", "_ci_high"))]
    index_a = {tuple(r.get(k) for k in keys): r for r in reversed(rows_a)}  # reversed: the first row of a key wins
    index_b = {tuple(r.get(k) for k in keys): r for r in reversed(rows_b)}
    order = list(dict.fromkeys([tuple(r.get(k) for k in keys) for r in rows_a + rows_b]))
    out = []
    for key in order:
        ra, rb = index_a.get(key), index_b.get(key)
        if name == "languages":  # a language one run lacks is 0 of that run's analysed documents
            ra = _zero_language(run_a, metrics) if ra is None else ra
            rb = _zero_language(run_b, metrics) if rb is None else rb
        key_pairs = tuple(zip(keys, key))
        for metric in metrics:
            a = ra.get(metric) if ra is not None else ABSENT
            b = rb.get(metric) if rb is not None else ABSENT
            shift = None
            if ra is not None and rb is not None and (_is_percent(metric) or metric == "fraction"):
                shift = _shift(metric, bases_a.proportion(name, keys, ra, metric),
                               bases_b.proportion(name, keys, rb, metric))
            out.append(Row(name, key_pairs, metric, a, b, _difference(a, b), "pp" if _is_percent(metric) else "",
                           shift))
    return out


# ----------------------------------------------------------------------------- stages, inputs, settings


def stage_status(run: RunData, stage: str) -> str:
    """``computed``, ``not computed (reason)`` or ``not run``: from the run's recorded status and tables."""
    if not run.stage_ran(stage):
        return "not run"
    for section in default_registry():
        if section.stage == stage:
            missing = section.not_computed(run)
            return "computed" if missing is None else f"not computed ({missing[1]})"
    status = run.stage_settings(stage).get("status")
    if status is None or status in COMPUTED_STATUSES:
        return "computed"  # a stage no section presents: its recorded status is all there is
    reason = run.stage_settings(stage).get("reason")
    return f"not computed ({reason or status})"


def _stage_names(run_a: RunData, run_b: RunData) -> list[str]:
    stages = [section.stage for section in default_registry()]
    for run in (run_a, run_b):
        listed = (run.summary.get("settings") or {}).get("stages") or []
        stages += [str(s) for s in list(run.stages) + list(listed)]
    return list(dict.fromkeys(stages))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``a.b.c`` → value (lists and scalars are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in value:
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _leaf(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, (list, dict)) else value


def _setting_rows(table: str, keys: tuple[tuple[str, Any], ...], a: dict[str, Any], b: dict[str, Any],
                  skip: tuple[str, ...] = ()) -> list[Row]:
    flat_a, flat_b = _flatten(a), _flatten(b)
    rows = []
    for name in sorted(set(flat_a) | set(flat_b)):
        if name in skip or name == "":
            continue
        va, vb = _leaf(flat_a.get(name, ABSENT)), _leaf(flat_b.get(name, ABSENT))
        if va != vb:
            rows.append(Row(table, keys, name, va, vb, CHANGED))
    return rows


def _differences(run_a: RunData, run_b: RunData) -> list[Row]:
    """What differs in the inputs and the settings (stages' settings, lexicons, run settings, versions)."""
    sa, sb = run_a.summary, run_b.summary
    fields = list(INPUT_FIELDS) + sorted(k for k in set(sa) | set(sb)
                                         if ("sha256" in k or "fingerprint" in k or "digest" in k)
                                         and k not in INPUT_FIELDS)
    rows = _setting_rows("inputs", (), {k: sa.get(k, ABSENT) for k in fields}, {k: sb.get(k, ABSENT) for k in fields})
    for stage in _stage_names(run_a, run_b):
        rows += _setting_rows("settings", (("stage", stage),), run_a.stage_settings(stage),
                              run_b.stage_settings(stage), skip=("status", "reason"))
    run_settings = [{**(s.get("settings") or {}), "corpus_audit_version": s.get("corpus_audit_version", ABSENT)}
                    for s in (sa, sb)]
    rows += _setting_rows("settings", (("stage", "(run)"),), run_settings[0], run_settings[1])
    rows += _setting_rows("settings", (("stage", "(packages)"),), sa.get("package_versions") or {},
                          sb.get("package_versions") or {})
    return rows


# ----------------------------------------------------------------------------- compare


def _summary_rows(run_a: RunData, run_b: RunData) -> list[Row]:
    sa, sb = run_a.summary, run_b.summary
    rows = []
    for name in SUMMARY_NUMBERS:
        if name in sa or name in sb:
            a, b = sa.get(name, ABSENT), sb.get(name, ABSENT)
            rows.append(Row("summary", (), name, a, b, _difference(a, b)))
    skipped_a, skipped_b = sa.get("documents_skipped") or {}, sb.get("documents_skipped") or {}
    total_a, total_b = sum(skipped_a.values()), sum(skipped_b.values())
    rows.append(Row("summary", (), "documents_skipped", total_a, total_b, total_b - total_a))
    # A reason a run does not list was counted 0 times there (summary.json lists every reason seen).
    for reason in sorted(set(skipped_a) | set(skipped_b)):
        a, b = skipped_a.get(reason, 0), skipped_b.get(reason, 0)
        rows.append(Row("documents_skipped", (("reason", reason),), "documents", a, b, b - a))
    timings_a, timings_b = sa.get("timings") or {}, sb.get("timings") or {}
    for name in sorted(set(timings_a) | set(timings_b)):
        a, b = timings_a.get(name, ABSENT), timings_b.get(name, ABSENT)
        rows.append(Row("timings", (), name, a, b, _difference(a, b)))
    return rows


def _order(rows: list[Row]) -> list[Row]:
    """Per table (first-seen order): by metric (percentages first, then first-seen order), then
    |B − A| descending (numbers before `ABSENT` / `CHANGED`), then position."""
    tables = {row.table: i for i, row in reversed(list(enumerate(rows)))}
    metrics: dict[tuple[str, str], tuple[int, int]] = {}
    for i, row in enumerate(rows):
        share = _is_percent(row.metric) or row.metric == "fraction"
        metrics.setdefault((row.table, row.metric), (0 if share else 1, i))

    def key(item: tuple[int, Row]) -> tuple[Any, ...]:
        position, row = item
        numeric = _is_number(row.difference) and math.isfinite(row.difference)
        size = -abs(row.difference) if numeric else 0.0
        return tables[row.table], metrics[(row.table, row.metric)], 0 if numeric else 1, size, position

    return [row for _, row in sorted(enumerate(rows), key=key)]


def _run_label(run: RunData, parts: int = 1) -> str:
    """The last ``parts`` components of the run directory (a title, never the machine's full path)."""
    components = [c for c in run.run_dir.replace(os.sep, "/").rstrip("/").split("/") if c]
    return "/".join(components[-parts:]) or run.run_dir


def compare_runs(run_a: RunData, run_b: RunData, *, all_rows: bool = False) -> Comparison:
    """Compare run B with run A: every number of ``summary.json`` and of every table, B − A.

    Only changed rows are kept unless ``all_rows``; timings (which always differ and say nothing
    about the corpus) are kept only with ``all_rows``.
    """
    rows = _summary_rows(run_a, run_b)
    not_compared: dict[str, str] = {}
    bases_a, bases_b = _Bases(run_a), _Bases(run_b)
    compared_tables: list[str] = []
    for name in _table_order(run_a, run_b):
        section = _section_of(name)
        if section is not None:
            missing = [label for label, run in (("A", run_a), ("B", run_b)) if not section.computed(run)]
            if missing:
                not_compared[name] = f"{section.stage} not computed in {' and '.join(missing)}"
                continue
        compared_tables.append(name)
        rows.extend(_compare_table(name, run_a, run_b, bases_a, bases_b))
    total = len(rows)
    kept = rows if all_rows else [row for row in rows if row.changed and row.table != "timings"]
    changed_tables = {row.table for row in rows if row.changed}
    label_a, label_b = _run_label(run_a), _run_label(run_b)
    if label_a == label_b:  # before/run vs after/run
        label_a, label_b = _run_label(run_a, 2), _run_label(run_b, 2)
    stages = [StageStatus(stage, stage_status(run_a, stage), stage_status(run_b, stage))
              for stage in _stage_names(run_a, run_b)]
    return Comparison(label_a, label_b, _order(kept), total, all_rows, stages, _differences(run_a, run_b),
                      not_compared, [name for name in ["summary"] + compared_tables if name not in changed_tables],
                      _sample_notes(run_a, run_b))


def _sample_notes(run_a: RunData, run_b: RunData) -> list[str]:
    """One sentence per run whose figures are estimated from a sample (``--sample-rate``)."""
    notes = []
    for label, run in (("A", run_a), ("B", run_b)):
        rate = (run.summary.get("settings") or {}).get("sample_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate < 1:
            notes.append(f"{label} is estimated from a {100 * rate:g}% sample of its documents (--sample-rate {rate:g}): "
                         "its percentages are estimates, their tests here count the sampled documents.")
    return notes


# ----------------------------------------------------------------------------- rendering


def _short(value: float) -> str:
    """1–2 decimals (two significant digits under 0.01), thousands separators."""
    value = value + 0.0  # -0.0 → 0.0
    if value != 0 and abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:,.2f}"


def _md_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if _is_int(value):
        return f"{value:,}"
    if isinstance(value, float):
        return _short(value) if math.isfinite(value) else str(value)
    text = str(value)
    return markdown_inline(text if len(text) <= 80 else text[:79] + "…")  # text from the inputs


def _md_setting(value: Any) -> str:
    """A setting as recorded (``0.55``, not rounded), shortened past 80 characters."""
    text = "–" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return markdown_inline(text if len(text) <= 80 else text[:79] + "…")


def _md_difference(row: Row) -> str:
    value = row.difference
    if value is None:
        return ""
    if not _is_number(value):
        return markdown_inline(value)
    text = _md_value(value)
    sign = "+" if value > 0 else ""
    return f"{sign}{text}" + (f" {row.unit}" if row.unit else "")


def _md_p(p_value: float) -> str:
    if p_value < 0.001:
        return "<0.001"
    return f"{p_value:.3f}" if p_value < 0.01 else f"{p_value:.2f}"


def _md_key(value: Any) -> str:
    if value is None:
        return "(all)"
    return f"{value:g}" if isinstance(value, float) else markdown_inline(value)


def _md_cell(text: str) -> str:
    """One cell of a Markdown table (values in it already escaped): pipes escaped, one line, no raw HTML."""
    return markdown_guard(markdown_cell(text))


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in cells) + " |" for cells in body]
    return lines


def render_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: stages, what differs in inputs and settings, one section per table."""
    c = comparison
    shown = "every row" if c.all_rows else "only the rows that changed (`--all` shows every row)"
    lines = [f"# Comparison: {markdown_inline(c.label_a)} (A) vs {markdown_inline(c.label_b)} (B)", "",
             f"Differences are B − A; percentages in percentage points (pp). Showing {shown}: "
             f"{len(c.rows):,} of {c.total_rows:,} compared values. Within a table, rows are grouped by metric "
             "(percentages first) and ordered by the size of the change (largest first).", "",
             "For every percentage with a known denominator: the 95% CI of B − A (Newcombe's hybrid score "
             "interval), the two-proportion z-test's p-value, and `significant` when p < 0.05 (a shift beyond "
             "sampling noise). The test treats A and B as independent samples; when B is A filtered, they share "
             "documents and the test is conservative.", "",
             *[line for note in c.notes for line in (markdown_inline(note), "")],
             "## Stages", ""]
    lines += _md_table(["stage", "A", "B"], [[markdown_inline(s.stage), markdown_inline(s.a), markdown_inline(s.b)]
                                             for s in c.stages])
    lines += ["", "## What differs in inputs and settings", ""]
    if c.differences:
        lines += _md_table(["table", "stage", "setting", "A", "B"],
                           [[markdown_inline(r.table), markdown_inline(dict(r.keys).get("stage", "")),
                             markdown_inline(r.metric), _md_setting(r.a), _md_setting(r.b)]
                            for r in c.differences])
    else:
        lines.append("Inputs and settings are the same.")
    if c.not_compared:
        lines += ["", "Not compared: " + "; ".join(f"{code_span(name)} ({markdown_inline(why)})"
                                                   for name, why in c.not_compared.items()) + "."]
    if c.unchanged_tables and not c.all_rows:
        lines += ["", "No change in: " + ", ".join(code_span(name) for name in c.unchanged_tables) + "."]
    tables: dict[str, list[Row]] = {}
    for row in c.rows:
        tables.setdefault(row.table, []).append(row)
    for name, rows in tables.items():
        keys = list(dict.fromkeys(column for row in rows for column, _ in row.keys))
        tested = any(row.shift is not None for row in rows)
        header = [markdown_inline(k) for k in keys] + ["metric", "A", "B", "B − A"] + (["95% CI of B − A", "p", "significant"] if tested else [])
        body = []
        for row in rows:
            values = dict(row.keys)
            cells = [_md_key(values.get(k)) for k in keys]
            cells += [markdown_inline(row.metric), _md_value(row.a), _md_value(row.b), _md_difference(row)]
            if tested:
                s = row.shift
                cells += ["", "", ""] if s is None else [
                    f"[{_short(s.ci_low)}, {_short(s.ci_high)}]", _md_p(s.p_value), "yes" if s.significant else "no"]
            body.append(cells)
        lines += ["", f"## {markdown_inline(name)}", ""] + _md_table(header, body)
    return "\n".join(lines) + "\n"


def _csv_value(value: Any) -> str:
    """One CSV cell: numbers as they are (floats at full precision), text guarded by `csv_safe`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return csv_safe(str(value), value)


#: The CSV's columns after the key columns.
CSV_COLUMNS = ("metric", "a", "b", "difference", "unit", "a_count", "a_base", "b_count", "b_base", "ci_low", "ci_high",
               "p_value", "significant")


def render_csv(comparison: Comparison) -> str:
    """The comparison as CSV, full precision: ``table``, the key columns (each its own column, empty
    where a table does not have it), then `CSV_COLUMNS`. Stage statuses (table ``stages``) and the
    inputs and settings that differ (tables ``inputs``, ``settings``) follow the compared rows."""
    status_rows = [Row("stages", (("stage", s.stage),), "status", s.a, s.b, None if s.a == s.b else CHANGED)
                   for s in comparison.stages]
    rows = comparison.rows + status_rows + comparison.differences
    keys = list(dict.fromkeys(column for row in rows for column, _ in row.keys))
    lines = [["table", *keys, *CSV_COLUMNS]]
    for row in rows:
        values = dict(row.keys)
        s = row.shift
        test = ["", "", "", "", "", "", "", ""] if s is None else [
            str(s.a_count), str(s.a_base), str(s.b_count), str(s.b_base), repr(s.ci_low), repr(s.ci_high),
            repr(s.p_value), str(s.significant).lower()]
        lines.append([_csv_value(row.table), *(_csv_value(values.get(k)) for k in keys), _csv_value(row.metric),
                      _csv_value(row.a), _csv_value(row.b), _csv_value(row.difference), _csv_value(row.unit),
                      *test])
    return csv_text(lines)
