"""Report of the ``langid`` stage: the ``languages`` table (Llama 2 Table 10), its plot and datasheet section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus_audit.report.blocks import Paragraph, TableBlock, code
from corpus_audit.report.formatting import fmt_int, fmt_percent, language_label, md_language, plural
from corpus_audit.report.registry import ReportSection
from corpus_audit.report.run import RunData
from corpus_audit.stats import percent

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from matplotlib.figure import Figure

    from corpus_audit.report.datasheet import DatasheetBuilder

__all__ = ["SECTION", "TOP_LANGUAGES", "datasheet", "facts", "plot", "settings", "size_rows"]

#: Languages listed one by one in the plot and the datasheet; the rest are summed as "other".
TOP_LANGUAGES = 20


def settings(run: RunData) -> dict[str, Any]:
    return run.stage_settings("langid")


def has_characters(run: RunData) -> bool:
    """Whether the table has the ``characters`` column (runs before it was added do not)."""
    return "characters" in run.columns.get("languages", [])


def plottable(run: RunData) -> bool:
    return bool(run.table("languages"))


def plot(run: RunData) -> Figure | None:
    from corpus_audit.report.plots import (BAR_COLOUR, GRID_COLOUR, OTHER_COLOUR, UNKNOWN_COLOUR, add_title,
                                           corpus_title, layout, new_figure, plain_log_ticks)

    rows = run.table("languages")
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (-int(r["documents"]), str(r["language"])))
    shown = rows[:TOP_LANGUAGES]
    rest = rows[TOP_LANGUAGES:]
    labels = ["unknown" if r["language"] == "unknown" else language_label(r["language"]) for r in shown]
    counts = [int(r["documents"]) for r in shown]
    percents = [float(r["percent"]) for r in shown]
    # "unknown" is no language: its own colour, explained in the subtitle.
    colours = [UNKNOWN_COLOUR if r["language"] == "unknown" else BAR_COLOUR for r in shown]
    if rest:
        labels.append(f"other ({plural(len(rest), 'language')})")
        counts.append(sum(int(r["documents"]) for r in rest))
        percents.append(100.0 * counts[-1] / sum(int(r["documents"]) for r in rows))
        colours.append(OTHER_COLOUR)
    figure = new_figure(8.0, 1.6 + 0.3 * len(labels))
    layout(figure, left=0.22, right=0.95, top_inches=1.1)
    ax = figure.add_subplot()
    positions = range(len(labels))
    ax.barh(positions, counts, color=colours, height=0.7)
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlim(0.7, max(counts) * 8)
    ax.set_xlabel("documents (log scale)")
    ax.grid(axis="x", color=GRID_COLOUR, linewidth=0.6, which="major")
    for y, (count, share) in enumerate(zip(counts, percents)):
        ax.text(count * 1.15, y, f"{count:,}  ({fmt_percent(share, 'short')})", va="center", fontsize=8.5)
    threshold = settings(run).get("threshold")
    rule = (f"top label kept when p ≥ {threshold}; 'unknown' (orange): no label that sure" if threshold is not None
            else "fastText lid.176")
    add_title(figure, corpus_title(run, "Languages"),
              f"fastText language ID, {rule}.\n"
              + (f"{len(rows)} labels: top {TOP_LANGUAGES}; 'other' (grey) sums the remaining {len(rest)}" if rest
                 else f"all {len(rows)} labels shown"))
    return figure


def datasheet(builder: DatasheetBuilder) -> None:
    run = builder.run
    rows = run.table("languages") or []
    stage = settings(run)
    model = stage.get("model_file") or stage.get("model") or "fastText lid.176"
    threshold = stage.get("threshold")
    rule = f", kept when its probability is ≥ {threshold}, else {code('unknown')}" if threshold is not None else ""
    builder.add(Paragraph(f"Language of each document: the top label of fastText {code(model)}{rule}. "
                          f"{len(rows):,} labels; percent of the {fmt_int(run.documents_analysed)} analysed "
                          f"documents. The top {TOP_LANGUAGES} are listed; {code('tables/languages.csv')} has all."))
    has_chars = has_characters(run)
    header = ["language", "documents", "percent"] + (["characters"] if has_chars else [])
    body = []
    for row in rows[:TOP_LANGUAGES]:
        body.append([md_language(row["language"]), fmt_int(row["documents"]),
                     fmt_percent(row["percent"], denominator=run.documents_analysed)]
                    + ([fmt_int(row["characters"])] if has_chars else []))
    rest = rows[TOP_LANGUAGES:]
    if rest:
        # Recomputed from counts: a sum of rounded percents could be off in the last decimal.
        other = sum(int(r["documents"]) for r in rest)
        body.append([f"other ({len(rest)} language{'' if len(rest) == 1 else 's'})", fmt_int(other),
                     fmt_percent(percent(other, sum(int(r["documents"]) for r in rows)),
                                 denominator=run.documents_analysed)]
                    + ([fmt_int(sum(int(r["characters"] or 0) for r in rest))] if has_chars else []))
    builder.add(TableBlock(header, body))
    builder.plot(SECTION.name, "Language distribution")


def size_rows(run: RunData) -> list[list[str]]:
    """The characters analysed, for the datasheet's Size table (when the table counts them)."""
    rows = run.table("languages")
    if not rows or not has_characters(run):
        return []
    return [["characters analysed", fmt_int(sum(int(r["characters"] or 0) for r in rows))]]


def facts(run: RunData) -> list[str]:
    languages = {str(r["language"]): r for r in run.table("languages") or []}
    if not languages:
        return []
    top = next(iter(languages.values()))
    return [f"The most frequent language is {md_language(top['language'])} with "
            f"{fmt_percent(top['percent'], 'short', run.documents_analysed)} of the {fmt_int(run.documents_analysed)} "
            f"analysed documents; {len(languages):,} labels in all."]


SECTION = ReportSection(
    name="languages",
    stage="langid",
    title="Languages (Llama 2 Table 10)",
    description="language identification",
    tables={"languages": ("language",)},
    columns={"languages": ("documents", "percent", "characters")},
    datasheet=datasheet,
    plot=plot,
    plottable=plottable,
    facts=facts,
    size_rows=size_rows,
)
