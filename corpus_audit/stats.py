"""The statistics every table and report shares: one percent, one Wilson interval.

Tables round percentages to ``PERCENT_DECIMALS``; the interval is returned unrounded, as
fractions, and each caller states how it publishes it.
"""

from __future__ import annotations

import math

__all__ = ["PERCENT_DECIMALS", "Z_95", "percent", "wilson_interval", "wilson_percent_interval"]

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


def wilson_percent_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """`wilson_interval` in percent, rounded as the tables' percent columns."""
    interval = wilson_interval(successes, trials, z)
    if interval is None:
        return None
    low, high = interval
    return round(100 * low, PERCENT_DECIMALS), round(100 * high, PERCENT_DECIMALS)


#: A percentage over fewer documents than this is flagged (``small_sample`` columns, `is_small_sample`).
SMALL_SAMPLE_DOCUMENTS = 30


def is_small_sample(denominator: int | None) -> bool:
    """Whether a percentage over ``denominator`` documents is a small sample (fewer than
    `SMALL_SAMPLE_DOCUMENTS`); an empty or missing denominator is one too."""
    return (denominator or 0) < SMALL_SAMPLE_DOCUMENTS


__all__ += ["SMALL_SAMPLE_DOCUMENTS", "is_small_sample"]
