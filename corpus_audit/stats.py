"""The statistics every table and report shares: one percent, one Wilson interval, one
two-proportion test.

Tables round percentages to ``PERCENT_DECIMALS``; intervals are returned unrounded, as
fractions, and each caller states how it publishes them. ``compare`` uses
`two_proportion_test` to say whether a percentage moved beyond sampling noise between two runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PERCENT_DECIMALS", "ProportionDifference", "SMALL_SAMPLE_DOCUMENTS", "Z_95", "is_small_sample", "percent",
           "readable_percent",
           "two_proportion_test", "wilson_interval", "wilson_percent_interval"]

PERCENT_DECIMALS = 4
#: Two-sided 95% normal quantile.
Z_95 = 1.959963984540054


def percent(count: int, denominator: int) -> float:
    """``100 * count / denominator`` rounded to 4 decimals (0.0 for an empty denominator)."""
    return round(100.0 * count / denominator, PERCENT_DECIMALS) if denominator else 0.0


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for ``successes / trials``, as fractions; ``None`` without trials.

    Unlike the normal approximation it stays inside [0, 1] and is informative when the
    share is near 0 — the toxic share is about 0.2% in the Llama 2 corpus.
    """
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, {trials}], got {successes}")
    share = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (share + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_cc_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson's score interval with continuity correction (Newcombe 1998, method 4), as fractions.

    For the estimates of a sampled run: with few expected successes (a descriptor in 1 of 55
    sampled documents) the plain interval's coverage dips to ~0.8 (bench/sampling_coverage.py);
    the corrected one stays at or above its level."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, {trials}], got {successes}")
    n, share, z2 = trials, successes / trials, z * z
    denominator = 2 * (n + z2)
    low = 0.0 if successes == 0 else max(0.0, (2 * n * share + z2 - 1 - z * math.sqrt(
        max(0.0, z2 - 2 - 1 / n + 4 * share * (n * (1 - share) + 1)))) / denominator)
    high = 1.0 if successes == trials else min(1.0, (2 * n * share + z2 + 1 + z * math.sqrt(
        max(0.0, z2 + 2 - 1 / n + 4 * share * (n * (1 - share) - 1)))) / denominator)
    return low, high


def wilson_percent_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """`wilson_interval` in percent, rounded as the tables' percent columns."""
    interval = wilson_interval(successes, trials, z)
    if interval is None:
        return None
    low, high = interval
    return round(100 * low, PERCENT_DECIMALS), round(100 * high, PERCENT_DECIMALS)


@dataclass(frozen=True)
class ProportionDifference:
    """B − A of two proportions, as fractions: the difference, its 95% interval and the test's p-value."""

    difference: float
    ci_low: float
    ci_high: float
    #: Two-sided p-value of the pooled two-proportion z-test (1.0 when both shares are 0 or both 1).
    p_value: float


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int,
                        z: float = Z_95) -> ProportionDifference | None:
    """Compare ``successes_b / trials_b`` with ``successes_a / trials_a`` (independent samples).

    The interval of ``p_b − p_a`` is Newcombe's hybrid score interval (his method 10, from the two
    Wilson intervals): unlike the Wald interval it is not degenerate at 0% or 100%, which matters
    for rare shares such as toxic documents. The p-value is the two-sided pooled z-test
    (the chi-square test of the 2×2 table without continuity correction), from ``math.erfc``.
    ``None`` when either side has no trials.
    """
    if trials_a <= 0 or trials_b <= 0:
        return None
    interval_a = wilson_interval(successes_a, trials_a, z)
    interval_b = wilson_interval(successes_b, trials_b, z)
    assert interval_a is not None and interval_b is not None
    share_a, share_b = successes_a / trials_a, successes_b / trials_b
    (low_a, high_a), (low_b, high_b) = interval_a, interval_b
    difference = share_b - share_a
    ci_low = difference - math.sqrt((share_b - low_b) ** 2 + (high_a - share_a) ** 2)
    ci_high = difference + math.sqrt((high_b - share_b) ** 2 + (share_a - low_a) ** 2)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        p_value = 1.0
    else:
        p_value = math.erfc(abs(difference) / math.sqrt(variance) / math.sqrt(2))
    return ProportionDifference(difference, max(-1.0, ci_low), min(1.0, ci_high), min(1.0, p_value))


#: A percentage over fewer documents than this is flagged (``small_sample`` columns, `is_small_sample`).
SMALL_SAMPLE_DOCUMENTS = 30


def is_small_sample(denominator: int | None) -> bool:
    """Whether a percentage over ``denominator`` documents is a small sample (fewer than
    `SMALL_SAMPLE_DOCUMENTS`); an empty or missing denominator is one too."""
    return (denominator or 0) < SMALL_SAMPLE_DOCUMENTS


def readable_percent(value: float) -> str:
    """A percentage (already x100) for a person to read, in every view (table Markdown, datasheet,
    card, plots): 1 decimal from 1% (``36.0``), 2 below (``0.42``; 0.995 and up round to ``1.0``),
    ``<0.01`` for a positive share under 0.005%, ``0.0`` for none. CSV/Parquet keep full precision."""
    size = abs(value)
    if size == 0:
        return "0.0"
    if size < 0.005:
        return "<0.01" if value > 0 else ">-0.01"
    if size < 0.995:
        return f"{value:.2f}"
    return f"{value:.1f}"
