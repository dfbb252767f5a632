"""Number formatting shared by the plots and the datasheet: one percent, one integer, one number.

Percentages come in two styles: ``"fixed"`` (4 decimals, as the tables' percent columns, for
datasheet cells) and ``"short"`` (precision that shrinks with the value, with a ``%`` sign, for
plot annotations). A missing value is ``MISSING`` in a table cell.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

__all__ = ["MISSING", "PercentStyle", "as_float", "fmt_int", "fmt_number", "fmt_percent", "language_label",
           "language_name", "plural"]

#: A cell whose value the run did not write.
MISSING = "–"
PercentStyle = Literal["fixed", "short"]


def fmt_int(value: Any) -> str:
    """An integer with thousands separators; ``MISSING`` for ``None``."""
    return f"{int(value):,}" if value is not None else MISSING


def fmt_percent(value: Any, style: PercentStyle = "fixed") -> str:
    """A percentage (already ×100): ``"fixed"`` → ``12.3457`` (``MISSING`` for ``None``);
    ``"short"`` → ``12.3%`` / ``0.12%`` / ``0.0012%`` / ``0%`` (``None`` counts as 0)."""
    if style == "fixed":
        return f"{float(value):.4f}" if value is not None else MISSING
    if style != "short":
        raise ValueError(f"unknown percent style {style!r}")
    value = float(value or 0.0)
    if value == 0:
        return "0%"
    if value < 0.01:
        return f"{value:.4f}%"
    if value < 1:
        return f"{value:.2f}%"
    return f"{value:.1f}%"


def fmt_number(value: Any) -> str:
    """Integers with separators, floats with 4 decimals (as the tables' percent columns)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def as_float(value: Any) -> Any:
    """An int (not a bool) as a float, so `fmt_number` gives it decimals; anything else unchanged."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


@functools.lru_cache(maxsize=4096)
def language_name(code: Any) -> str | None:
    """The English name of a language code (``nds`` → ``Low German``), from ``langcodes`` (offline
    data of the ``language_data`` package); ``None`` for ``unknown`` or a code it does not know."""
    text = str(code or "").strip()
    if not text or text == "unknown":
        return None
    try:
        import langcodes

        name = langcodes.Language.get(text).display_name("en")
    except Exception:  # noqa: BLE001 - a label, never an error: an odd code keeps its code only
        return None
    return None if not name or name.startswith("Unknown language") else name


def language_label(code: Any) -> str:
    """``en — English``; the code alone when no name is known; ``unknown`` says what it means."""
    text = str(code)
    if text == "unknown":
        return "unknown (no language above the threshold)"
    name = language_name(text)
    return f"{text} — {name}" if name else text


def plural(count: int, word: str) -> str:
    """``"1 doc"``, ``"1,234 docs"``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")
