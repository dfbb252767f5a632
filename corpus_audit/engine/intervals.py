"""95% intervals on the percentages of a sampled run (``--sample-rate R < 1``).

Under ``--sample-rate`` each document is kept by a hash of its id, independently of its content:
a Bernoulli sample. Every percentage a stage declares (`corpus_audit.transforms.base.Proportion`)
is ``count`` of ``base`` sampled documents, so its interval is the Wilson score interval of
``count / base`` with continuity correction (`corpus_audit.stats.wilson_cc_interval`: the plain
one covered only ~0.81 of small shares at rate 0.05, bench/sampling_coverage.py), in the
column's scale. Each declared
proportion ``P`` of a table gains ``P_ci_low`` and ``P_ci_high`` (unless the stage writes them
itself, as toxicity does), and the table says it is estimated from the sample.

A full run (no ``--sample-rate``) is left exactly as it is: its tables stay byte-identical.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from corpus_audit.stats import PERCENT_DECIMALS, wilson_cc_interval
from corpus_audit.transforms.base import Proportion, Table, TableSpec, find_spec, proportion_bases

__all__ = ["SAMPLED_NOTE", "with_sample_intervals"]

SAMPLED_NOTE = ("Estimated from a {rate:g} sample of the documents (--sample-rate; chosen by a hash of each id): "
                "`*_ci_low` / `*_ci_high` bound each percentage with a 95% Wilson interval (continuity-corrected) over the sampled "
                "documents of its denominator.")


def with_sample_intervals(tables: list[Table], specs: Iterable[TableSpec], rate: float | None) -> list[Table]:
    """``tables`` (one stage's, in order) with the interval columns of a sampled run added."""
    if rate is None or rate >= 1:
        return tables
    specs = list(specs)
    rows = {table.name: table.data.to_pylist() for table in tables}
    out = []
    for table in tables:
        spec = find_spec(specs, table.name)
        if spec is None or not spec.proportions:
            out.append(table)
            continue
        out.append(_with_intervals(table, spec, rows, rate))
    return out


def _with_intervals(table: Table, spec: TableSpec, rows: dict[str, list[dict[str, Any]]], rate: float) -> Table:
    import pyarrow as pa

    intervals: dict[str, list[tuple[float | None, float | None]]] = {}
    for proportion, row, count, base in proportion_bases(spec, rows[table.name], rows.get):
        intervals.setdefault(proportion.percent, []).append(_interval(proportion, row, count, base))
    data = table.data
    added: list[str] = []
    for proportion in spec.proportions:
        low_name, high_name = f"{proportion.percent}_ci_low", f"{proportion.percent}_ci_high"
        if low_name in data.column_names or proportion.percent not in data.column_names:
            continue
        lows, highs = zip(*intervals[proportion.percent]) if rows[table.name] else ((), ())
        position = data.column_names.index(proportion.percent) + 1
        data = data.add_column(position, low_name, pa.array(list(lows), pa.float64()))
        data = data.add_column(position + 1, high_name, pa.array(list(highs), pa.float64()))
        added += [low_name, high_name]
    if not added:
        return table
    markdown_columns = table.markdown_columns
    if markdown_columns is not None:
        markdown_columns = (*markdown_columns, *added)
    return dataclasses.replace(table, data=data, notes=[*table.notes, SAMPLED_NOTE.format(rate=rate)],
                               markdown_columns=markdown_columns)


def _interval(proportion: Proportion, row: dict[str, Any], count: Any, base: Any) -> tuple[float | None, float | None]:
    if row.get(proportion.percent) is None or not isinstance(count, int) or not isinstance(base, int) \
            or not 0 <= count <= base or base == 0:
        return None, None
    low, high = wilson_cc_interval(count, base)
    digits = PERCENT_DECIMALS if proportion.scale == 100 else PERCENT_DECIMALS + 2
    return round(proportion.scale * low, digits), round(proportion.scale * high, digits)
