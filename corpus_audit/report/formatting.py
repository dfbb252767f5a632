"""Number formatting shared by the plots, the datasheet and the Hub card: one formatter each for
percents, integers and other numbers, so no view shows ``36.0`` beside ``25.0000``.

Rule (one for every view a person reads; CSV/Parquet keep full precision):

* a percent has 1 decimal (``36.0``), or 2 under 1% (``0.42``; ``0.9987`` is ``1.0``), so small shares such as the
  ~0.2% toxic documents of Llama 2 keep two significant digits; a share above 0 that would
  round to ``0.00`` is ``<0.01`` (never a false zero);
* any other float (rates per 100 tokens, shares, scores) has 2 decimals;
* a percent whose denominator is under `SMALL_SAMPLE` documents carries `SMALL_SAMPLE_MARK`
  (the datasheet's footnote: `SMALL_SAMPLE_NOTE`).

``style="short"`` adds the ``%`` sign (plot annotations). A missing value is ``MISSING``.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

# Language names come from one place for tables, plots, the datasheet and the card.
from corpus_audit.escape import markdown_inline as md
from corpus_audit.language_names import language_label, language_name
from corpus_audit.stats import SMALL_SAMPLE_DOCUMENTS, readable_percent
from corpus_audit.stats import is_small_sample as _is_small_sample

__all__ = ["MISSING", "PercentStyle", "SMALL_SAMPLE", "SMALL_SAMPLE_MARK", "SMALL_SAMPLE_NOTE", "as_float",
           "fmt_int", "fmt_number", "fmt_percent", "is_small_sample", "language_label", "language_name", "md",
           "md_language", "plural"]

#: A cell whose value the run did not write.
MISSING = "–"
PercentStyle = Literal["fixed", "short"]
#: A percentage over fewer documents than this is flagged as a small sample (one threshold for
#: the tables, the datasheet and the card: `corpus_audit.stats.SMALL_SAMPLE_DOCUMENTS`).
SMALL_SAMPLE = SMALL_SAMPLE_DOCUMENTS
SMALL_SAMPLE_MARK = "†"
SMALL_SAMPLE_NOTE = (f"{SMALL_SAMPLE_MARK} fewer than {SMALL_SAMPLE} documents in the denominator: "
                     "a small sample, read the percentage as indicative only.")


def fmt_int(value: Any) -> str:
    """An integer with thousands separators; ``MISSING`` for ``None``."""
    return f"{int(value):,}" if value is not None else MISSING


def md_language(code: Any) -> str:
    """A language's label (`language_label`) as Markdown text: a code from the inputs is shown, never markup."""
    return md(language_label(code))


def is_small_sample(denominator: Any) -> bool:
    """Whether a percentage over ``denominator`` documents is flagged (``None``: not known, not flagged)."""
    return denominator is not None and _is_small_sample(int(denominator))


def fmt_percent(value: Any, style: PercentStyle = "fixed", denominator: Any = None) -> str:
    """A percentage (already ×100): ``36.0``, ``0.42``, ``<0.01``, ``0.0`` (``MISSING`` for ``None``);
    ``style="short"`` adds ``%`` (and draws ``None`` as 0). With ``denominator`` under `SMALL_SAMPLE`, `SMALL_SAMPLE_MARK` follows."""
    if style not in ("fixed", "short"):
        raise ValueError(f"unknown percent style {style!r}")
    if value is None and style == "fixed":
        return MISSING
    text = readable_percent(float(value or 0.0))  # a plot annotation draws a missing share as 0
    if style == "short":
        text += "%"
    return text + (SMALL_SAMPLE_MARK if is_small_sample(denominator) else "")


def fmt_number(value: Any) -> str:
    """Integers with separators, floats with 2 decimals, booleans as yes / no."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def as_float(value: Any) -> Any:
    """An int (not a bool) as a float, so `fmt_number` gives it decimals; anything else unchanged."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


@functools.lru_cache(maxsize=4096)
def plural(count: int, word: str) -> str:
    """``"1 doc"``, ``"1,234 docs"``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")
