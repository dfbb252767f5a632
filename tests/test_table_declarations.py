"""Every stage declares the tables it publishes (`Analysis.TABLES`): names, key columns and the
denominator of every percentage. Compare's tests and intervals, and the intervals of a sampled
run, are computed from these declarations, so they must be true of every table a run writes:

* each table a run writes is declared by exactly the stage that wrote it;
* its key columns exist and identify each row;
* every declared proportion reproduces the published percentage on every row (count / base
  × scale, within rounding), with 0 <= count <= base.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO_ROOT, read_summary, run_audit
from corpus_audit.transforms import STAGES, table_spec

SAMPLE = REPO_ROOT / "examples" / "sample_corpus"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("declarations")
    out = {}
    for name, extra in {"grouped": ("--group-by", "source"), "all_scope": ("--english-lexicons-on", "all")}.items():
        assert run_audit(SAMPLE, "--output", base / name, "--quiet", *extra) == 0
        out[name] = base / name
    return out


def _rows(run: Path, table: str) -> list[dict]:
    return pq.read_table(run / "tables" / f"{table}.parquet").to_pylist()


def check_declarations(run: Path) -> int:
    """Assert the declarations hold for every table of ``run``; the number of proportions checked."""
    checked = 0
    summary = read_summary(run)
    for table in summary["tables"]:
        found = table_spec(table)
        assert found is not None, f"table {table} is declared by no stage"
        stage, spec = found
        assert stage.name in summary["stages"], (table, stage.name)
        rows = _rows(run, table)
        columns = pq.read_schema(run / "tables" / f"{table}.parquet").names
        keys = spec.keys_for(table, columns)
        assert set(keys) <= set(columns), (table, keys, columns)
        assert len({tuple(row[k] for k in keys) for row in rows}) == len(rows), f"{table}: keys {keys} repeat"
        for proportion in spec.proportions:
            assert {proportion.percent, proportion.count} <= set(columns), (table, proportion)

            def totals(column: str) -> int:
                return sum(row[column] or 0 for row in rows)

            def lookup(other: str, key: str, value, column: str):
                matches = [row for row in _rows(run, other) if row[key] == value]
                return matches[0][column] if matches else None

            for row in rows:
                count, base, value = row[proportion.count], proportion.base(row, totals, lookup), row[proportion.percent]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue  # not published for this row (e.g. a language without a lexicon)
                assert isinstance(count, int) and isinstance(base, int) and 0 <= count <= base, (table, row)
                expected = proportion.scale * count / base if base else 0.0
                assert abs(expected - value) <= 1e-6 * proportion.scale, (table, proportion.percent, row)
                checked += 1
    return checked


def test_every_table_is_declared_and_its_denominators_are_true(runs) -> None:
    for run in runs.values():
        assert check_declarations(run) > 100


def test_each_declared_table_name_belongs_to_one_stage() -> None:
    seen = {}
    for stage in STAGES.values():
        for spec in stage.TABLES:
            assert spec.name not in seen, f"{spec.name} declared by {seen.get(spec.name)} and {stage.name}"
            seen[spec.name] = stage.name
    assert table_spec("pronouns_by_language")[1].name == "pronouns_by_language"
    assert table_spec("pronouns_by_source")[1].name == "pronouns_by_{group}"
    assert table_spec("no_such_table") is None


def test_a_sampled_run_bounds_every_declared_percentage(tmp_path) -> None:
    """``--sample-rate R < 1``: each declared percentage gains a 95% Wilson interval over the
    sampled documents of its denominator, holding the estimate; a full run gains none."""
    from corpus_audit.stats import wilson_cc_interval

    out = tmp_path / "sampled"
    assert run_audit(SAMPLE, "--output", out, "--quiet", "--sample-rate", "0.5", "--group-by", "source") == 0
    assert check_declarations(out) > 50
    bounded = 0
    for table in read_summary(out)["tables"]:
        _, spec = table_spec(table)
        columns = pq.read_schema(out / "tables" / f"{table}.parquet").names
        for proportion in spec.proportions:
            low, high = f"{proportion.percent}_ci_low", f"{proportion.percent}_ci_high"
            assert {low, high} <= set(columns), (table, proportion.percent)
            rows = _rows(out, table)
            for row in rows:
                if row[proportion.percent] is None or row[low] is None:
                    continue
                assert 0 <= row[low] <= row[proportion.percent] + 1e-9 <= row[high] + 2e-9 <= proportion.scale + 2e-9
                bounded += 1
        assert "sample" in (out / "tables" / f"{table}.md").read_text() or not spec.proportions
    assert bounded > 50
    row = next(r for r in _rows(out, "languages") if r["language"] == "en")
    total = sum(r["documents"] for r in _rows(out, "languages"))
    low, high = wilson_cc_interval(row["documents"], total)
    assert (row["percent_ci_low"], row["percent_ci_high"]) == (round(100 * low, 4), round(100 * high, 4))


def test_a_full_run_has_no_sample_intervals(runs) -> None:
    for table in read_summary(runs["grouped"])["tables"]:
        columns = pq.read_schema(runs["grouped"] / "tables" / f"{table}.parquet").names
        assert not [c for c in columns if c.endswith("_ci_low")] or table == "toxicity_summary", table
