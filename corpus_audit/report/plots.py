"""Drawing the plots of a run (``plots/<name>.png``, and ``.svg`` when asked) with matplotlib's Agg canvas.

Each report section (``report/sections/``) draws its own plot with the helpers here;
`render_plots` draws every registered section's plot the run has tables for. Figures are built
with ``matplotlib.figure.Figure`` (no pyplot, no global backend switch), and written without
dates and with a fixed SVG hash salt, so the same tables give byte-identical files.

This is the only report module that imports matplotlib; the others import it lazily.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from corpus_audit.report.formatting import fmt_int, fmt_percent
from corpus_audit.report.registry import default_registry
from corpus_audit.report.run import RunData

__all__ = ["BAR_COLOUR", "GRID_COLOUR", "OTHER_COLOUR", "RC", "UNKNOWN_COLOUR", "SAVE_METADATA", "add_title", "corpus_title",
           "hbar_percent", "layout", "new_figure", "percent_note", "plain_log_ticks", "render_plots"]

BAR_COLOUR = "#4C72B0"
OTHER_COLOUR = "#9AA5B1"
#: ``unknown`` (no language label above the threshold) is not a language: drawn apart.
UNKNOWN_COLOUR = "#DD8452"
GRID_COLOUR = "#DDDDDD"
#: rcParams that make output reproducible and legible.
RC = {
    "svg.hashsalt": "corpus-audit",
    "svg.fonttype": "path",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
}
SAVE_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
}


def new_figure(width: float, height: float) -> Figure:
    """A figure (inches) on its own Agg canvas."""
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def add_title(figure: Figure, title: str, subtitle: str) -> None:
    """Bold title and grey subtitle, left-aligned above the axes."""
    figure.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    figure.text(0.01, 1.0 - 0.42 / figure.get_figheight() - 0.02, subtitle, ha="left", va="top",
                fontsize=9, color="#444444")


def layout(figure: Figure, top_inches: float = 0.85, bottom_inches: float = 0.6, left: float = 0.3,
           right: float = 0.97, **kwargs: float) -> None:
    """Margins with top and bottom in inches (room for the title whatever the figure's height)."""
    height = figure.get_figheight()
    figure.subplots_adjust(top=1 - top_inches / height, bottom=bottom_inches / height, left=left, right=right,
                           **kwargs)


def plain_log_ticks(axis: Any) -> None:
    """Label a log-scale axis with plain numbers (1, 10, 1,000) and no minor labels, instead of
    matplotlib's 10^n labels: those go through mathtext, whose parser costs ~1 CPU s to build
    on a report's first log-scale plot. Call after ``set_xscale``/``set_yscale``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


def _plain_number(value: float, _position: Any = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def corpus_title(run: RunData, what: str, of: str | None = None) -> str:
    """``what — corpus (of N documents)``: ``of`` names the figure's own denominator
    (``"7,466 English documents"``, ``"2,396 scored documents"``); default all analysed documents."""
    return f"{what} — {run.corpus_name} (of {of or f'{run.documents_analysed:,} documents'})"


def percent_note(percent: Any, documents: Any) -> str:
    """A bar's annotation: ``12.3% (1,234)``."""
    return f"{fmt_percent(percent, 'short')} ({fmt_int(documents or 0)})"


def hbar_percent(ax, labels: list[str], values: list[float], annotations: list[str],
                 colour: str = BAR_COLOUR) -> None:
    """Horizontal bars of percentages (0–100, room on the right for each bar's annotation)."""
    positions = list(range(len(labels)))
    ax.barh(positions, values, color=colour, height=0.65)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 128)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("% of documents")
    ax.grid(axis="x", color=GRID_COLOUR, linewidth=0.6)
    for y, (value, text) in enumerate(zip(values, annotations)):
        ax.text(value + 1.5, y, text, va="center", fontsize=8.5)


#: The formats drawn: PNG always; SVG when asked (``--svg``): it costs about a fifth of a report.
PLOT_FORMATS = ("png", "svg")


def render_plots(run: RunData, formats: tuple[str, ...] = ("png",), processes: int | None = None) -> dict[str, bytes]:
    """``{"<name>.png": bytes, ...}`` (and ``.svg`` when in ``formats``) for every registered plot
    the run has tables for.

    Each plot is drawn on its own (a fixed figure and rcParams), so they are drawn in parallel:
    ``processes`` forked children (default: one per usable core; `forked_map` draws them here
    when this process cannot fork). The bytes do not depend on where a plot was drawn."""
    from corpus_audit.forking import forked_map, usable_cores

    unknown = set(formats) - set(PLOT_FORMATS)
    if unknown:
        raise ValueError(f"unknown plot format(s) {sorted(unknown)}; use {PLOT_FORMATS}")
    names = list(default_registry().available_plots(run))
    drawn = forked_map(_draw, names, usable_cores() if processes is None else processes, (run, formats))
    files = {filename: data for files in drawn for filename, data in files.items()}
    for name in names:  # a plot whose code failed on the tables' values: its section is set aside
        failure = files.pop(f"{name}{_FAILED}", None)
        if failure is not None:
            from corpus_audit.report.screen import set_aside

            set_aside(run, default_registry().get(name), failure.decode("utf-8"))
            files = {filename: data for filename, data in files.items() if not filename.startswith(f"{name}.")}
    return files


#: The suffix of the entry `_draw` returns for a plot its code could not draw from the run's values.
_FAILED = ".failed"


def _draw(inherited: tuple[RunData, tuple[str, ...]], name: str) -> dict[str, bytes]:
    """One plot's files (``{"<name>.<format>": bytes}``; none when it has nothing to draw)."""
    from corpus_audit.report.screen import DATA_ERRORS, describe

    run, formats = inherited
    files: dict[str, bytes] = {}
    with matplotlib.rc_context(RC):
        try:
            figure = default_registry().get(name).plot(run)
            if figure is None:  # pragma: no cover - plottable mirrors each plot's own check
                return files
            for fmt in formats:
                buffer = io.BytesIO()
                figure.savefig(buffer, format=fmt, metadata=SAVE_METADATA[fmt], dpi=110 if fmt == "png" else None)
                files[f"{name}.{fmt}"] = buffer.getvalue()
        except DATA_ERRORS as exc:  # values of the wrong kind in a table: reported, never a traceback
            return {f"{name}{_FAILED}": describe(exc).encode("utf-8")}
    return files
