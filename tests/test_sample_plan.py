"""``corpus-audit plan``: the sample rate at which every figure's 95% interval is within a margin.

Checked the way a user would rely on it: plan from a pilot, rerun at the planned rate, and every
planned figure's published interval (``*_ci_low`` / ``*_ci_high`` of the sampled run) is within
the margin.
"""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED_DATA, read_summary, run_audit
from corpus_audit.cli import main
from corpus_audit.cli.sample_plan import figure_needs, half_width, plan_rate, rate_for
from corpus_audit.stats import wilson_interval
from corpus_audit.transforms import table_spec

SHARDS = SHARED_DATA / "corpora" / "shards"
STAGES = "langid,pronouns,descriptors,gender_gap"


@settings(max_examples=200, deadline=None)
@given(successes=st.integers(0, 5000), extra=st.integers(1, 5000))
def test_half_width_is_wilsons(successes: int, extra: int) -> None:
    trials = successes + extra
    low, high = wilson_interval(successes, trials)
    assert math.isclose(half_width(successes / trials, trials), (high - low) / 2, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(share=st.floats(0, 1), population=st.integers(1, 10**9), margin=st.floats(0.001, 0.5))
def test_rate_for_is_the_smallest_rate_within_the_margin(share: float, population: int, margin: float) -> None:
    rate = rate_for(share, population, margin)
    assert 0 < rate <= 1
    if rate < 1:
        assert half_width(share, rate * population) <= margin  # within (with the safety head-room)
        needed = rate * population / 1.2
        if needed > 1.01:  # (one document is the least a rate can promise)
            assert half_width(share, 0.99 * needed) > margin * 0.999  # and not much more than needed


@pytest.mark.skipif(not SHARDS.is_dir(), reason=f"shared shards not found under {SHARDS}")
def test_a_rerun_at_the_planned_rate_is_within_the_margin(tmp_path, capsys) -> None:
    margin, pilot_rate, min_documents = 5.0, 0.2, 1000
    pilot = tmp_path / "pilot"
    assert main(["plan", str(SHARDS), "--margin", str(margin), "--pilot-rate", str(pilot_rate), "--output", str(pilot),
                 "--stages", STAGES, "--min-documents", str(min_documents)]) == 0
    printed = capsys.readouterr().out
    needs = figure_needs(str(pilot), pilot_rate, margin)
    rate = plan_rate(needs, min_documents)
    assert 0 < rate < 1 and f"--sample-rate {rate:.4g}" in printed, printed
    planned = {(n.table, n.row, n.column) for n in needs if n.population >= min_documents}
    assert len(planned) > 20
    rerun = tmp_path / "rerun"
    assert run_audit(SHARDS, "--output", rerun, "--quiet", "--stages", STAGES, "--sample-rate", f"{rate:.4g}") == 0
    checked = 0
    for table in read_summary(rerun)["tables"]:
        spec = table_spec(table)[1]
        rows = pq.read_table(rerun / "tables" / f"{table}.parquet").to_pylist()
        keys = spec.keys_for(table, rows[0].keys() if rows else ())
        for proportion in spec.proportions:
            for row in rows:
                label = ", ".join(f"{k}={row.get(k)}" for k in keys)
                if (table, label, proportion.percent) not in planned or row.get(f"{proportion.percent}_ci_low") is None:
                    continue
                width = (row[f"{proportion.percent}_ci_high"] - row[f"{proportion.percent}_ci_low"]) / 2
                assert width <= margin * proportion.scale / 100 + 1e-9, (table, label, proportion.percent, width)
                checked += 1
    assert checked > 20
